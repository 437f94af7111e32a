"""Which PostgreSQL and RabbitMQ the suite uses (tests/conftest.py): local, docker-compose, or a failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from tests.conftest import COMPOSE_SERVICE, HOW_TO_START, ServersUnavailable, choose_test_servers

ROOT = Path(__file__).resolve().parents[2]


class DockerProbe:
    def __init__(self, answers: bool) -> None:
        self.answers = answers
        self.asked = 0

    def __call__(self) -> bool:
        self.asked += 1
        return self.answers


def test_local_servers_that_answer_are_used_and_docker_is_not_even_asked() -> None:
    docker = DockerProbe(answers=True)
    assert choose_test_servers({"postgresql": True, "rabbitmq": True}, docker) == []
    assert docker.asked == 0


def test_without_local_servers_a_docker_engine_brings_both_up_from_compose() -> None:
    docker = DockerProbe(answers=True)
    assert choose_test_servers({"postgresql": False, "rabbitmq": False}, docker) == ["postgres", "rabbitmq"]
    assert docker.asked == 1


def test_only_the_server_that_does_not_answer_comes_from_compose() -> None:
    # the local PostgreSQL holds 5432: starting compose's as well would fight it for the port
    assert choose_test_servers({"postgresql": True, "rabbitmq": False}, DockerProbe(True)) == ["rabbitmq"]


def test_neither_local_servers_nor_docker_fails_with_the_how_to_start_message() -> None:
    with pytest.raises(ServersUnavailable) as failed:
        choose_test_servers({"postgresql": False, "rabbitmq": True}, DockerProbe(answers=False))
    assert str(failed.value) == f"postgresql not reachable and no Docker engine answers. {HOW_TO_START}"


def test_the_compose_services_exist_with_healthchecks_and_the_credentials_the_fixtures_use() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert set(COMPOSE_SERVICE.values()) <= set(services)
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "postgres"
    assert "5432:5432" in services["postgres"]["ports"] and "5672:5672" in services["rabbitmq"]["ports"]
    for name in COMPOSE_SERVICE.values():
        assert "healthcheck" in services[name]  # `up --wait` waits for it


def test_the_session_runs_in_development_mode() -> None:
    assert os.environ["YUNKEFU_ENV"] == "development"
