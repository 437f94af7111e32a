"""Processes and the CLI (issue 13 items 1, 20, 21): unknown services, start-up refusals, `yunkefu run`,
the demo's busy ports and broker clean-up."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pika
import pika.exceptions
import pytest
from click.testing import CliRunner

from devtools.demo import run_demo
from devtools.stack import PortsBusy, Stack, StackConfig, delete_broker_objects
from shared.auth import generate_key_pair
from shared.cli import main as cli
from shared.config import SERVICES
from shared.events import topology
from tests.support import wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "args",
    [
        ["dlq", "list", "nosuch"],
        ["dlq", "replay", "nosuch"],
        ["migrate", "nosuch"],
        ["outbox", "status", "nosuch"],
        ["worker", "nosuch"],
        ["web", "nosuch"],
    ],
)
def test_an_unknown_service_is_one_line_exit_2_and_creates_nothing(
    args: list[str], tmp_path: Path, amqp_url: str, unique_prefix: str
) -> None:
    env = {"VAR_DIR": str(tmp_path), "DATABASE_URL": "", "AMQP_URL": amqp_url, "BROKER_PREFIX": unique_prefix}
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"yunkefu {' '.join(args[:-1])}: unknown service 'nosuch'; one of: {', '.join(SERVICES)}"
        + (", console" if args[0] == "migrate" else "")
        + (", all" if args[0] in ("migrate", "outbox") else "")
    ]
    assert list(tmp_path.iterdir()) == []  # no SQLite file, no media folder
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        with pytest.raises(pika.exceptions.ChannelClosedByBroker):
            connection.channel().queue_declare(f"{unique_prefix}.nosuch.dlq", passive=True)
    finally:
        connection.close()


def _without_dev_mode(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("YUNKEFU_ENV", "JWT_PUBLIC_KEYS", "JWT_PRIVATE_KEY_FILE")
    }
    return {**env, **extra}


def test_a_worker_without_a_public_key_refuses_to_start_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "shared.cli", "worker", "onboarding"],
        env=_without_dev_mode(VAR_DIR=str(tmp_path), AMQP_URL="amqp://guest:guest@127.0.0.1:1/%2F"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("yunkefu: refusing to start onboarding: JWT_PUBLIC_KEYS is not set")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_gunicorn_stops_with_the_reason_when_a_service_is_given_the_private_key(tmp_path: Path) -> None:
    private, _public = generate_key_pair(tmp_path / "keys", "console")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "deploy" / "gunicorn.conf.py"),
            "--bind",
            "127.0.0.1:0",
            "--workers",
            "1",
            "services.onboarding.app:create_app()",
        ],
        env=_without_dev_mode(VAR_DIR=str(tmp_path), JWT_PUBLIC_KEYS=str(private.parent)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "refusing to start onboarding: " in result.stderr
    assert f"{private} holds a PRIVATE key: JWT_PUBLIC_KEYS must name public keys only" in result.stderr


# --- yunkefu run (make run) ---------------------------------------------------------------------------

CHILD = """
import pathlib, signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(int(sys.argv[2])))
pathlib.Path(sys.argv[1]).touch()
while True:
    time.sleep(1)
"""


def _procfile(tmp_path: Path, codes: dict[str, int]) -> Path:
    (tmp_path / "child.py").write_text(CHILD)
    lines = [f"{name}: exec {sys.executable} child.py {name}.up {code}" for name, code in codes.items()]
    procfile = tmp_path / "Procfile"
    procfile.write_text("\n".join(lines) + "\n")
    return procfile


@pytest.fixture()
def start_run(tmp_path: Path) -> Iterator[object]:
    started: list[subprocess.Popen[bytes]] = []

    def start(codes: dict[str, int]) -> subprocess.Popen[bytes]:
        procfile = _procfile(tmp_path, codes)
        process = subprocess.Popen(
            [sys.executable, "-m", "shared.cli", "run", "--procfile", str(procfile)],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        started.append(process)
        wait_until(lambda: all((tmp_path / f"{n}.up").exists() for n in codes), 60, "the processes to start")
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_normal_stop_of_run_exits_0(start_run, sig: signal.Signals) -> None:  # type: ignore[no-untyped-def]
    process = start_run({"web": 0, "worker": 0})
    os.kill(process.pid, sig)  # what Ctrl-C (or a supervisor) sends
    assert process.wait(60) == 0


def test_run_exits_non_zero_when_a_process_did_not_stop_cleanly(start_run) -> None:  # type: ignore[no-untyped-def]
    process = start_run({"web": 0, "worker": 3})
    os.kill(process.pid, signal.SIGINT)
    assert process.wait(60) == 1


def test_run_refuses_a_process_the_procfile_does_not_have(tmp_path: Path) -> None:
    procfile = _procfile(tmp_path, {"web": 0})
    result = CliRunner().invoke(cli, ["run", "--procfile", str(procfile), "nosuch"])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"yunkefu run: not in {procfile}: nosuch"


# --- the demo's stack ---------------------------------------------------------------------------------


def test_a_stack_refuses_to_start_on_busy_ports(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        config = StackConfig(
            database_urls={s: "sqlite://" for s in SERVICES},
            amqp_url="amqp://unused",
            broker_prefix="unused",
            keys_dir=tmp_path / "keys",
            var_dir=tmp_path,
            port_offset=port - SERVICES["training"],
        )
        with Stack(config, tmp_path / "logs") as stack, pytest.raises(PortsBusy, match=f"port.*{port}"):
            stack.start()
        assert stack.processes == {}  # nothing was started against the other listener


def test_the_demo_refuses_busy_ports_with_exit_2_and_leaves_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    said: list[str] = []
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        monkeypatch.setenv("DEMO_PORT_OFFSET", str(other.getsockname()[1] - SERVICES["onboarding"]))
        assert run_demo(say=said.append) == 2
    assert any("already in use" in line for line in said), said
    assert list(tmp_path.iterdir()) == []


def test_delete_broker_objects_removes_the_exchange_and_every_queue_of_a_stack(
    amqp_url: str, unique_prefix: str, tmp_path: Path
) -> None:
    config = StackConfig(
        database_urls={s: "sqlite://" for s in SERVICES},
        amqp_url=amqp_url,
        broker_prefix=unique_prefix,
        keys_dir=tmp_path / "keys",
        var_dir=tmp_path,
    )
    settings = config.settings("onboarding")
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        topology.declare_all(connection.channel(), settings)  # what the stack's relays declare
        delete_broker_objects(settings)
        for name in topology.declared_queues(settings, SERVICES):
            with pytest.raises(pika.exceptions.ChannelClosedByBroker):
                connection.channel().queue_declare(name, passive=True)
        with pytest.raises(pika.exceptions.ChannelClosedByBroker):
            connection.channel().exchange_declare(topology.exchange_name(unique_prefix), passive=True)
    finally:
        connection.close()
