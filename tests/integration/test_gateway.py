"""The gateway (deploy/Caddyfile) run by a real caddy in front of two stand-in upstreams, and `yunkefu run`
on a machine without caddy."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from shared.config import SERVICES
from tests.support import wait_until

ROOT = Path(__file__).resolve().parents[2]
CADDY = shutil.which("caddy")


class _Upstream(ThreadingHTTPServer):
    """Answers every request with what it received: its own name, the request line's target, the headers
    and the body's length."""

    daemon_threads = True

    def __init__(self, name: str) -> None:
        self.name = name
        self.requests: list[dict[str, Any]] = []
        super().__init__(("127.0.0.1", 0), _Echo)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class _Echo(BaseHTTPRequestHandler):
    server: _Upstream

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = {"upstream": self.server.name, "target": self.path, "headers": dict(self.headers)}
        self.server.requests.append(seen)
        out = json.dumps({**seen, "length": len(body)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _closed_address() -> str:
    return f"127.0.0.1:{_free_port()}"  # nothing listens there: a route to it would answer 502


class Gateway:
    def __init__(self, port: int) -> None:
        self.port = port

    def request(
        self, method: str, target: str, headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, target, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def get(self, target: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        status, _, body = self.request("GET", target, headers)
        return status, json.loads(body)


@pytest.fixture()
def upstreams() -> Iterator[dict[str, _Upstream]]:
    servers = {name: _Upstream(name) for name in ("console", "onboarding")}
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers.values()]
    for thread in threads:
        thread.start()
    yield servers
    for server in servers.values():
        server.shutdown()
        server.server_close()


@pytest.fixture()
def gateway(tmp_path: Path, upstreams: dict[str, _Upstream]) -> Iterator[Gateway]:
    if CADDY is None:
        pytest.fail(
            "caddy is not installed (sudo apt-get install caddy, or make install as root)", pytrace=False
        )
    port = _free_port()
    env = {
        "PATH": os.environ["PATH"],
        # caddy writes its autosaved config (and would write certificates) under these
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path),
        "GATEWAY_PORT": str(port),
        "CONSOLE_UPSTREAM": upstreams["console"].address,
        **{f"{service.upper()}_UPSTREAM": _closed_address() for service in SERVICES},
        "ONBOARDING_UPSTREAM": upstreams["onboarding"].address,
    }
    log = (tmp_path / "caddy.log").open("wb")
    process = subprocess.Popen(
        [CADDY, "run", "--config", str(ROOT / "deploy" / "Caddyfile"), "--adapter", "caddyfile"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    gateway = Gateway(port)

    def answers() -> bool:
        assert process.poll() is None, (tmp_path / "caddy.log").read_text()
        try:
            return gateway.request("GET", "/")[0] == 200
        except OSError:
            return False

    try:
        wait_until(answers, 30, "caddy to answer")
        yield gateway
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def test_an_api_path_reaches_its_service_as_api_v1_and_everything_else_the_console(
    gateway: Gateway, upstreams: dict[str, _Upstream]
) -> None:
    status, seen = gateway.get("/api/onboarding/v1/x")
    assert (status, seen["upstream"], seen["target"]) == (200, "onboarding", "/api/v1/x")

    for target in ("/", "/projects/42?tab=funnel", "/static/app.css"):
        status, seen = gateway.get(target)
        assert (status, seen["upstream"], seen["target"]) == (200, "console", target)


def test_the_path_and_query_reach_the_service_as_the_client_escaped_them(gateway: Gateway) -> None:
    # a rewrite through the decoded path would turn %2F into a new segment and %3F into a query
    target = "/api/onboarding/v1/files/a%2Fb%3Fc/%E4%B8%AD?q=%E4%B8%AD&next=%2Fx"
    status, seen = gateway.get(target)
    assert (status, seen["target"]) == (200, "/api/v1/files/a%2Fb%3Fc/%E4%B8%AD?q=%E4%B8%AD&next=%2Fx")


def test_the_service_sees_the_client_address_and_scheme_and_no_client_can_forge_them(
    gateway: Gateway,
) -> None:
    # with one trusted hop (TRUSTED_PROXY_HOPS=1) the service takes the last X-Forwarded-For entry
    _, seen = gateway.get("/api/onboarding/v1/x", {"X-Forwarded-For": "203.0.113.9"})
    assert seen["headers"]["X-Forwarded-For"].split(",")[-1].strip() == "127.0.0.1"
    assert seen["headers"]["X-Forwarded-Proto"] == "http"
    assert seen["headers"]["Host"] == f"127.0.0.1:{gateway.port}"


def test_each_service_publishes_its_spec_docs_and_probes_but_not_its_metrics(
    gateway: Gateway, upstreams: dict[str, _Upstream]
) -> None:
    for path in ("/openapi.json", "/docs", "/docs/assets/swagger-ui.css", "/healthz", "/readyz"):
        status, seen = gateway.get(f"/api/onboarding{path}")
        assert (status, seen["upstream"], seen["target"]) == (200, "onboarding", path)
    before = len(upstreams["onboarding"].requests)
    for target in ("/api/onboarding/metrics", "/api/onboarding/v2/x", "/api/onboarding/v1"):
        status, headers, body = gateway.request("GET", target)
        assert status == 404
        assert headers["Content-Type"] == "application/problem+json"
        assert json.loads(body)["status"] == 404
    assert len(upstreams["onboarding"].requests) == before


def test_an_upload_the_services_accept_passes_and_a_larger_declared_body_is_refused_with_413(
    gateway: Gateway, upstreams: dict[str, _Upstream]
) -> None:
    twenty_mib = b"x" * (20 * 1024 * 1024 + 4096)  # the services' limit and some multipart framing
    status, _, body = gateway.request("POST", "/api/onboarding/v1/materials", body=twenty_mib)
    assert (status, json.loads(body)["length"]) == (200, len(twenty_mib))

    before = len(upstreams["onboarding"].requests)
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    try:  # the headers alone: the gateway answers before a byte of the body is sent
        connection.putrequest("POST", "/api/onboarding/v1/materials")
        connection.putheader("Content-Length", str(64 * 1024 * 1024))
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 413
        assert response.getheader("Content-Type") == "application/problem+json"
        assert json.loads(response.read())["status"] == 413
    finally:
        connection.close()
    assert len(upstreams["onboarding"].requests) == before


# --- yunkefu run without caddy --------------------------------------------------------------------------


def _run_without_caddy(tmp_path: Path, *processes: str) -> subprocess.CompletedProcess[str]:
    """`yunkefu run` with a Procfile of a gateway and one process that exits at once, on a PATH with no
    caddy (nor anything else: every command in the Procfile is absolute)."""
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        "gateway: exec env GATEWAY_PORT=1 caddy run --config deploy/Caddyfile --adapter caddyfile\n"
        f"web: exec {sys.executable} -c \"import pathlib; pathlib.Path('web.ran').touch()\"\n"
    )
    empty = tmp_path / "empty-path"
    empty.mkdir()
    return subprocess.run(
        [sys.executable, "-m", "shared.cli", "run", "--procfile", str(procfile), *processes],
        cwd=tmp_path,
        env={**os.environ, "PATH": str(empty), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_without_caddy_skips_the_gateway_with_one_warning_and_runs_the_rest(tmp_path: Path) -> None:
    result = _run_without_caddy(tmp_path)
    warnings = [line for line in result.stderr.splitlines() if "caddy" in line]
    assert warnings == [
        "yunkefu run: skipping gateway: caddy is not installed (install it with "
        "`sudo apt-get install caddy`, or `make install` as root); everything else runs"
    ]
    assert (tmp_path / "web.ran").exists()
    assert result.returncode == 0  # the only process started exited 0
    assert "gateway" not in result.stdout  # honcho never started it


def test_run_refuses_the_gateway_by_name_without_caddy(tmp_path: Path) -> None:
    result = _run_without_caddy(tmp_path, "gateway", "web")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "yunkefu run: cannot start gateway: caddy is not installed (install it with "
        "`sudo apt-get install caddy`, or `make install` as root)"
    )
    assert not (tmp_path / "web.ran").exists()
