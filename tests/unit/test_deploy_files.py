"""The Procfile and docker-compose.yml describe the same processes (compose cannot run here)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
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
    for service in SERVICES:
        assert f"'services.{service}.app:create_app()'" in procs[service]
        assert procs[f"{service}_worker"] == f"exec yunkefu worker {service}"


def _gunicorn_args(command: str, env: dict[str, str]) -> list[str]:
    """The arguments the shell honcho starts would pass to gunicorn, with this environment."""
    assert command.startswith("exec gunicorn ")
    shown = "exec printf '%s\\n' " + command.removeprefix("exec gunicorn ")
    out = subprocess.run(["sh", "-c", shown], env={"PATH": os.environ["PATH"], **env}, capture_output=True)
    return out.stdout.decode().splitlines()


def _bind(args: list[str]) -> str:
    return args[args.index("--bind") + 1]


def test_make_run_binds_loopback_by_default_and_bind_host_and_port_offset_move_it() -> None:
    procs = _procfile()
    for service, port in SERVICES.items():
        assert _bind(_gunicorn_args(procs[service], {})) == f"127.0.0.1:{port}"
        moved = _gunicorn_args(procs[service], {"BIND_HOST": "0.0.0.0", "PORT_OFFSET": "100"})
        assert _bind(moved) == f"0.0.0.0:{port + 100}"


def test_the_readme_gives_the_procfiles_gunicorn_workers_default() -> None:
    procs = _procfile()
    pattern = re.compile(r"--workers \$\{GUNICORN_WORKERS:-(\d+)\}")
    defaults = {m.group(1) for s in SERVICES if (m := pattern.search(procs[s]))}
    assert len(defaults) == 1
    row = next(line for line in (ROOT / "README.md").read_text().splitlines() if "`GUNICORN_WORKERS`" in line)
    assert f"`{defaults.pop()}` with `make run`" in row


def test_make_run_uses_the_wrapper_that_exits_0_on_a_normal_stop_in_development_mode() -> None:
    makefile = (ROOT / "Makefile").read_text()
    run = makefile[makefile.index("\nrun: install") :].split("\n\n")[0]
    assert "yunkefu run" in run and "honcho start" not in run
    assert "run: export YUNKEFU_ENV = development" in makefile
    assert "demo: export YUNKEFU_ENV = development" in makefile


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
        assert services[f"{service}_worker"]["command"] == shlex.split(
            procs[f"{service}_worker"].removeprefix("exec ")
        )
    init = (ROOT / "deploy" / "postgres-init.sql").read_text()
    for service in SERVICES:
        assert f"CREATE DATABASE yunkefu_{service};" in init


def test_compose_ships_no_usable_jwt_secret_and_reads_it_from_env() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    compose = yaml.safe_load(text)
    assert "dev-only-secret" not in text
    for name, service in compose["services"].items():
        assert "JWT_SECRET" not in (service.get("environment") or {}), name
    assert compose["services"]["onboarding"]["env_file"] == [{"path": ".env", "required": False}]
    example = dict(
        line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines() if line[:1].isalpha()
    )
    assert example == {"JWT_SECRET": ""}  # the user fills it in; the services refuse an empty one
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
    assert "test -f .env" in (ROOT / "Makefile").read_text()


def test_compose_gives_each_service_a_media_volume_of_its_own() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    mounts = {}
    for service in SERVICES:
        (volume,) = services[service]["volumes"]
        name, _, target = volume.partition(":")
        media_root = services[service]["environment"]["MEDIA_ROOT"]
        assert target == f"{media_root}/{service}"  # where Settings puts this service's files
        mounts[service] = name
    assert len(set(mounts.values())) == len(SERVICES)
    assert set(mounts.values()) <= set(compose["volumes"])
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    for service in SERVICES:
        assert f"/data/media/{service}" in dockerfile  # a fresh volume inherits the non-root owner
