"""Zero-downtime rollout: SIGTERM drains a web process under deploy/gunicorn.conf.py.

On SIGTERM gunicorn (the settings of every service) lets each worker finish the request in hand, within
GUNICORN_GRACEFUL_TIMEOUT, and then exits 0. The workers keep the listening socket open until they exit, so
a connection made after the signal could still be queued and then reset: new requests must no longer be
sent to a stopping pod, which is what the chart's preStop pause is for (Kubernetes takes the pod out of
the Service's endpoints before the SIGTERM; docs/operations.md, "Rollout").
The worker side of a rollout is tested in tests/integration/test_event_bus.py (a worker stops on SIGTERM
and loses nothing) and test_hardening_events.py (prefetched deliveries go back to the queue).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str, results: list[tuple[int, bytes]]) -> None:
    with urllib.request.urlopen(url, timeout=30) as response:
        results.append((response.status, response.read()))


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited at start"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not listen")


def test_sigterm_lets_the_requests_in_flight_finish_then_exits_cleanly(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_GRACEFUL_TIMEOUT": "20",
        "GUNICORN_ACCESSLOG": "",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "deploy" / "gunicorn.conf.py"),
            "tests.fault.slowapp:app",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_listening(port, process)
        results: list[tuple[int, bytes]] = []
        in_flight = [
            threading.Thread(target=_get, args=(f"http://127.0.0.1:{port}/?sleep=3", results))
            for _ in range(2)
        ]
        for thread in in_flight:
            thread.start()
        time.sleep(1.0)  # both are being served (one per sync worker), two seconds from their answer
        process.send_signal(signal.SIGTERM)
        for thread in in_flight:
            thread.join(30)
        assert results == [(200, b"slept 3"), (200, b"slept 3")]  # finished, not cut off
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0, stderr.decode()[-2000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
