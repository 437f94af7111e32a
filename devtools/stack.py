"""The whole product as real processes: six gunicorn web servers and six ``yunkefu worker`` processes.

Used by ``make demo`` (``yunkefu demo``) and the end-to-end and fault tests. Each process gets its own
environment (database URL, broker prefix, token keys, media root); ``start`` migrates every database
first and waits until every ``/readyz`` answers 200. With ``with_console`` the web console runs beside
them (``console:web``), the only process given the private key tokens are signed with. Processes can be
killed (``kill -9``) and restarted one by one, which is what the fault tests do.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from shared.config import SERVICES, Settings, project_root
from shared.service import CONSOLE

ROOT = project_root()
#: the console's port before ``port_offset`` (the seven services use 8001…8007)
CONSOLE_PORT = 8000


@dataclass
class StackConfig:
    database_urls: dict[str, str]
    amqp_url: str
    broker_prefix: str
    #: holds the stack's key pair (``generate_stack_keys``): services get the public key, the console
    #: alone the private one
    keys_dir: Path
    var_dir: Path
    port_offset: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)
    gunicorn_workers: int = 1
    #: also run the web console (``console:web`` on 8000 + port_offset; needs ``database_urls["console"]``)
    with_console: bool = False
    #: the console's session-cookie key, random per stack
    console_secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    #: ``yunkefu worker`` processes per service (the scale-out test runs three: they share the queue, the
    #: outbox and the periodic jobs)
    workers_per_service: int = 1

    @property
    def private_key_file(self) -> Path:
        return self.keys_dir / STACK_PRIVATE_KEY

    @property
    def public_keys(self) -> Path:
        return self.keys_dir / "public"

    @property
    def services(self) -> list[str]:
        """Every web process the stack runs: the six services, and the console when configured."""
        return [*SERVICES, CONSOLE] if self.with_console else list(SERVICES)

    def worker_names(self, service: str) -> list[str]:
        """The worker processes of ``service``: ``<service>:worker`` alone, or ``<service>:worker:<n>``
        (n from 1) with several. The console has none."""
        if service == CONSOLE:
            return []
        if self.workers_per_service <= 1:
            return [f"{service}:worker"]
        return [f"{service}:worker:{n}" for n in range(1, self.workers_per_service + 1)]

    def port(self, service: str) -> int:
        return (CONSOLE_PORT if service == CONSOLE else SERVICES[service]) + self.port_offset

    def base_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.port(service)}"

    def settings(self, service: str) -> Settings:
        """What the processes of ``service`` run with."""
        return Settings.from_env(service, self.env(service))

    def env(self, service: str) -> dict[str, str]:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            f"{service.upper()}_DATABASE_URL": self.database_urls[service],
            "AMQP_URL": self.amqp_url,
            "BROKER_PREFIX": self.broker_prefix,
            "JWT_PUBLIC_KEYS": str(self.public_keys),
            "VAR_DIR": str(self.var_dir),
            "MEDIA_ROOT": str(self.var_dir / "media"),  # the parent: each service uses media/<service>
            "PORT": str(self.port(service)),
            "GUNICORN_BIND": f"127.0.0.1:{self.port(service)}",
            "GUNICORN_WORKERS": str(self.gunicorn_workers),
            "GUNICORN_ACCESSLOG": "",
            "RELAY_POLL_INTERVAL": "0.02",
            "RETRY_DELAY_MS": "500",
            "RETRY_TOTAL_SECONDS": "4",
            **self.extra_env,
        }
        env.pop("DATABASE_URL", None)
        env.pop("JWT_PRIVATE_KEY_FILE", None)  # a service never holds the private key
        if service == CONSOLE:
            env.update(
                {f"CONSOLE_{s.upper()}_URL": self.base_url(s) for s in SERVICES},
                JWT_PRIVATE_KEY_FILE=str(self.private_key_file),
                CONSOLE_SECRET_KEY=self.console_secret_key,
                CONSOLE_COOKIE_SECURE="0",  # plain http on 127.0.0.1
            )
        return env


STACK_PRIVATE_KEY = "stack.key.pem"


def generate_stack_keys(keys_dir: Path) -> Path:
    """A fresh key pair for one stack: ``<keys_dir>/stack.key.pem`` and ``<keys_dir>/public/*.pem``.

    The public key goes into a folder of its own because ``JWT_PUBLIC_KEYS`` refuses a private key.
    Returns ``keys_dir`` (what :class:`StackConfig` takes).
    """
    from shared.auth import generate_key_pair

    _private, public = generate_key_pair(keys_dir, STACK_PRIVATE_KEY.removesuffix(".key.pem"))
    (keys_dir / "public").mkdir(parents=True, exist_ok=True)
    public.rename(keys_dir / "public" / public.name)
    return keys_dir


class PortsBusy(RuntimeError):
    """Another process listens where the stack would: starting would play against that one instead."""


def busy_ports(ports: list[int], host: str = "127.0.0.1") -> list[int]:
    """The ports among ``ports`` that something already listens on (a bind on ``host`` is refused)."""
    busy = []
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # as gunicorn does: a port whose last connections linger in TIME_WAIT is free
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                busy.append(port)
    return busy


def delete_broker_objects(settings: Settings) -> None:
    """Delete the exchange and every queue the processes of a stack with these settings declared."""
    import pika

    from shared.events.topology import QueueNames, declared_queues, exchange_name

    legacy = [QueueNames(settings.broker_prefix, s).legacy_retry for s in SERVICES]
    connection = pika.BlockingConnection(pika.URLParameters(settings.amqp_url))
    try:
        channel = connection.channel()
        for queue in [*declared_queues(settings, SERVICES), *legacy]:
            channel.queue_delete(queue)  # deleting a queue that was never declared is not an error
        channel.exchange_delete(exchange_name(settings.broker_prefix))
    finally:
        connection.close()


class Stack:
    def __init__(self, config: StackConfig, log_dir: Path) -> None:
        self.config = config
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: dict[str, IO[bytes]] = {}
        log_dir.mkdir(parents=True, exist_ok=True)

    # --- processes -----------------------------------------------------------------------------------

    def _command(self, name: str) -> list[str]:
        service, _, kind = name.partition(":")
        if kind.partition(":")[0] == "worker":  # also <service>:worker:<n>
            return [sys.executable, "-m", "shared.cli", "worker", service]
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "deploy" / "gunicorn.conf.py"),
            f"services.{service}.app:create_app()",
        ]

    def spawn(self, name: str) -> None:
        """Start ``<service>:web``, ``<service>:worker`` or ``<service>:worker:<n>``."""
        service = name.partition(":")[0]
        log = self._logs.get(name)
        if log is None:
            log = open(self.log_dir / f"{name.replace(':', '-')}.log", "ab")  # noqa: SIM115 - kept open
            self._logs[name] = log
        self.processes[name] = subprocess.Popen(
            self._command(name),
            env=self.config.env(service),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self, services: list[str] | None = None, timeout: float = 90.0) -> Stack:
        from shared.events.topology import setup
        from shared.migrate import upgrade
        from shared.service import load_spec

        names = services or self.config.services
        busy = busy_ports([self.config.port(s) for s in names])
        if busy:
            raise PortsBusy(
                f"port(s) {', '.join(map(str, busy))} already in use: another stack (or `make run`) is "
                "listening there; stop it or choose other ports"
            )
        for service in names:
            upgrade(load_spec(service), self.config.database_urls[service])
        # what `yunkefu broker setup` does before a deployment's processes start: they only check
        setup(self.config.settings(names[0]))
        for service in names:
            self.spawn(f"{service}:web")
            for worker in self.config.worker_names(service):  # the console has no events, so no worker
                self.spawn(worker)
        self.wait_ready(names, timeout)
        return self

    def wait_ready(self, services: list[str], timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        pending = list(services)
        while pending:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}; see {self.log_dir}")
            pending = [s for s in pending if not self._ready(s)]
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout}s: {', '.join(pending)}; see {self.log_dir}")
            if pending:
                time.sleep(0.2)

    def _ready(self, service: str) -> bool:
        try:
            with urllib.request.urlopen(self.config.base_url(service) + "/readyz", timeout=3) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes[name]
        if process.poll() is None:
            os.killpg(process.pid, sig)
            process.wait(30)

    def pids(self) -> set[int]:
        """Every live process of the stack: each spawned one leads a session of its own (gunicorn's
        workers are in it too)."""
        groups = {p.pid for p in self.processes.values() if p.poll() is None}
        found = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after its end
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) in groups:
                found.add(int(entry.name))
        return found

    def broker_connections(self) -> list[str]:
        """The broker connections of this stack's processes, as the Erlang pids ``rabbitmqctl
        close_connection`` takes (found by their local ports; Linux only). Other users of the broker are
        left out."""
        ports = _broker_ports(self.pids(), _amqp_port(self.config.amqp_url))
        rows = rabbitmqctl_rows("list_connections", "pid", "peer_port")
        return [pid for pid, port in rows if port.strip().isdigit() and int(port) in ports]

    def queue_depths(self) -> dict[str, int]:
        """Messages (ready + unacknowledged) in each queue of this stack's prefix."""
        prefix = self.config.broker_prefix + "."
        rows = rabbitmqctl_rows("list_queues", "name", "messages")
        return {name: int(count) for name, count in rows if name.startswith(prefix)}

    def close_broker_connections(self, reason: str) -> int:
        """Close (``rabbitmqctl close_connection``) every broker connection of this stack, as a broker
        restart or a network cut would; returns how many were closed."""
        closed = 0
        for pid in self.broker_connections():
            done = subprocess.run(
                ["rabbitmqctl", "-q", "close_connection", pid, reason],
                capture_output=True,
                text=True,
                timeout=120,
            )
            # a connection that closed by itself meanwhile is not an error
            closed += done.returncode == 0
        return closed

    def restart(self, name: str) -> None:
        self.kill(name, signal.SIGTERM)
        self.spawn(name)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        for log in self._logs.values():
            log.close()

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def rabbitmqctl_rows(command: str, *columns: str) -> list[list[str]]:
    """``rabbitmqctl -q <command> <columns>`` (the local broker's) as rows of strings, split at the tabs
    from the right, so that only the first column may hold a tab."""
    out = subprocess.run(
        ["rabbitmqctl", "-q", command, *columns], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    return [line.rsplit("\t", len(columns) - 1) for line in out.splitlines() if line.strip()]


def _amqp_port(amqp_url: str) -> int:
    return urllib.parse.urlsplit(amqp_url).port or 5672


def _broker_ports(pids: set[int], broker_port: int) -> set[int]:
    """The local ports of the TCP connections to ``broker_port`` that the processes ``pids`` hold."""
    inodes = set()
    for pid in pids:
        try:
            links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:  # gone meanwhile, or not ours to read
            continue
        inodes |= {link[8:-1] for link in links if link.startswith("socket:[")}
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            local, remote, inode = cols[1], cols[2], cols[9]
            if inode in inodes and int(remote.rpartition(":")[2], 16) == broker_port:
                ports.add(int(local.rpartition(":")[2], 16))
    return ports


class Api:
    """A tiny JSON-over-HTTP client for the stack (urllib, no extra dependency)."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        content_type: str | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", content_type or "application/json")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, _decode(response.read(), response.headers), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, _decode(error.read(), error.headers), dict(error.headers)

    def get(self, path: str, **kwargs: Any) -> tuple[int, Any, dict[str, str]]:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any, dict[str, str]]:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any, dict[str, str]]:
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any, dict[str, str]]:
        return self.request("PATCH", path, body, **kwargs)

    def upload(
        self,
        path: str,
        filename: str,
        content: bytes,
        *,
        field: str = "file",
        content_type: str = "text/plain",
    ) -> tuple[int, Any, dict[str, str]]:
        """POST one file as multipart/form-data."""
        boundary = f"yunkefu-{uuid.uuid4().hex}"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        body = head + content + f"\r\n--{boundary}--\r\n".encode()
        return self.request("POST", path, raw=body, content_type=f"multipart/form-data; boundary={boundary}")


def _decode(payload: bytes, headers: Any) -> Any:
    content_type = headers.get("Content-Type", "") if headers else ""
    if "json" in content_type:
        return json.loads(payload or b"null")
    return payload.decode("utf-8", errors="replace")
