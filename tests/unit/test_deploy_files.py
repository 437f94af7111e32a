"""The Procfile and docker-compose.yml describe the same processes (compose cannot run here)."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from shared.config import SERVICES

ROOT = Path(__file__).resolve().parents[2]


def _procfile() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


def test_procfile_has_one_web_and_one_worker_per_service() -> None:
    procs = _procfile()
    assert set(procs) == set(SERVICES) | {f"{s}_worker" for s in SERVICES}
    for service, port in SERVICES.items():
        assert f"PORT={port}" in procs[service]
        assert f"'services.{service}.app:create_app()'" in procs[service]
        assert procs[f"{service}_worker"] == f"yunkefu worker {service}"


def test_compose_mirrors_the_procfile() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"rabbitmq", "postgres", "migrate"} <= set(services)
    assert "15672:15672" in services["rabbitmq"]["ports"]  # the management UI
    procs = _procfile()
    for service, port in SERVICES.items():
        web = services[service]
        assert web["command"][-1] == shlex.split(procs[service])[-1]
        assert web["environment"]["PORT"] == str(port)
        assert f"{port}:{port}" in web["ports"]
        assert web["build"]["dockerfile"] == "deploy/Dockerfile"
        assert services[f"{service}_worker"]["command"] == shlex.split(procs[f"{service}_worker"])
    init = (ROOT / "deploy" / "postgres-init.sql").read_text()
    for service in SERVICES:
        assert f"CREATE DATABASE yunkefu_{service};" in init
