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
        if kind == "worker":
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
        """Start ``<service>:web`` or ``<service>:worker``."""
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
        for service in names:
            self.spawn(f"{service}:web")
            if service != CONSOLE:  # the console has no events, so no worker
                self.spawn(f"{service}:worker")
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
