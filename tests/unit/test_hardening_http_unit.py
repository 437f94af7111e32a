"""Issue 13 guards that need no database: gunicorn's own refusals as problem+json, the limit settings."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.config import Settings
from shared.ratelimit import RateLimitConfigError, RateLimits
from tests.support import wait_until

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "deploy" / "gunicorn.conf.py"


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """What gunicorn serves in the test below; requests it refuses never reach it."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def gunicorn_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = _free_port()
    env = {
        **os.environ,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_ACCESSLOG": "",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path_factory.mktemp("metrics")),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(CONF), "tests.unit.test_hardening_http_unit:wsgi_app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _answers(port), timeout=60, what="a gunicorn worker answering")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def _answers(port: int) -> bool:
    # a worker that answers, not just the master's listening socket
    try:
        return _raw(port, b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")[0] == 200
    except (OSError, IndexError, ValueError):
        return False


def _raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


def test_gunicorn_serves_normal_requests(gunicorn_port: int) -> None:
    status, _, body = _raw(gunicorn_port, b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert (status, body) == (200, b"ok")


@pytest.mark.parametrize(
    ("request_bytes", "status", "title"),
    [
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414, "URI too long"),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n",
            431,
            "Request header fields too large",
        ),
        (
            b"GET / HTTP/1.1\r\n" + b"".join(b"X-H%d: 1\r\n" % i for i in range(150)) + b"\r\n",
            431,
            "Request header fields too large",
        ),
        (b"G\x00T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "Bad request"),
    ],
)
def test_gunicorns_refusals_are_problem_json(
    gunicorn_port: int, request_bytes: bytes, status: int, title: str
) -> None:
    got, headers, body = _raw(gunicorn_port, request_bytes)
    assert got == status
    assert headers["content-type"] == "application/problem+json"
    assert int(headers["content-length"]) == len(body)
    problem = json.loads(body)
    assert problem["status"] == status and problem["title"] == title and problem["detail"]
    assert problem["type"].startswith("https://yunkefu.dev/problems/")


def test_the_limits_are_settings() -> None:
    env = {"MAX_JSON_BYTES": "4096", "RATE_LIMIT_ENABLED": "0", "RATE_LIMIT_DEFAULT": "10/second"}
    settings = Settings.from_env(
        "onboarding", {**env, "RATE_LIMIT_STORAGE_URI": "memory://", "TRUSTED_PROXY_HOPS": "1"}
    )
    assert settings.max_json_bytes == 4096
    assert settings.rate_limit_enabled is False
    assert settings.rate_limit_default == "10/second"
    assert settings.trusted_proxy_hops == 1
    defaults = Settings.from_env("onboarding", {})
    assert defaults.rate_limit_enabled is True
    assert defaults.max_json_bytes == 1024 * 1024
    assert defaults.rate_limit_storage_uri == "memory://"
    limits = RateLimits.from_settings(defaults)
    assert [str(item) for item in limits.per_client] == ["3000 per 1 minute"]
    assert [str(item) for item in limits.auth_failures] == ["30 per 1 minute", "300 per 1 hour"]


def test_an_unavailable_storage_is_named() -> None:
    settings = Settings.from_env("onboarding", {"RATE_LIMIT_STORAGE_URI": "nosuch://x"})
    with pytest.raises(RateLimitConfigError, match="RATE_LIMIT_STORAGE_URI='nosuch://x'"):
        RateLimits.from_settings(settings)
