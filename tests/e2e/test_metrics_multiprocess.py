"""/metrics under gunicorn with two workers counts every request, whichever worker answers the scrape.

One onboarding web process (gunicorn, 2 gthread workers, ``deploy/gunicorn.conf.py``) on PostgreSQL. The
test keeps sending ``GET /healthz`` on fresh connections until both workers have answered some (read from
the per-worker sample files in ``PROMETHEUS_MULTIPROC_DIR``), then scrapes /metrics repeatedly: every
scrape, whichever worker serves it, must report all of them.
"""

from __future__ import annotations

import re
import socket
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prometheus_client.multiprocess import MultiProcessCollector

from devtools.stack import Stack, StackConfig, generate_stack_keys
from shared.config import SERVICES
from shared.migrate import upgrade
from shared.service import load_spec

#: Concurrent /healthz requests per burst.
BURST = 16
HEALTHZ_SAMPLE = re.compile(
    r'^http_requests_total\{(?=[^}]*endpoint="/healthz")(?=[^}]*status="200")[^}]*\} (\S+)$', re.M
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        return response.read().decode()


def _healthz_by_worker(directory: Path) -> dict[str, float]:
    """The /healthz count in each worker's own sample file (counter_<pid>.db)."""
    counts: dict[str, float] = {}
    for path in directory.glob("counter_*.db"):
        for metric in MultiProcessCollector.merge([str(path)]):
            for sample in metric.samples:
                if sample.name == "http_requests_total" and sample.labels.get("endpoint") == "/healthz":
                    counts[path.stem] = counts.get(path.stem, 0.0) + sample.value
    return counts


def test_metrics_sum_the_requests_of_every_gunicorn_worker(
    make_database: Callable[[str], str], amqp_url: str, broker_prefix: str, tmp_path: Path
) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    url = make_database(f"metrics_{uuid.uuid4().hex[:6]}")
    upgrade(load_spec("onboarding"), url)
    config = StackConfig(
        database_urls={"onboarding": url},
        amqp_url=amqp_url,
        broker_prefix=f"{broker_prefix}-metrics",
        keys_dir=generate_stack_keys(tmp_path / "keys"),
        var_dir=tmp_path,
        port_offset=_free_port() - SERVICES["onboarding"],
        gunicorn_workers=2,
        extra_env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
    )
    stack = Stack(config, tmp_path / "logs")
    try:
        stack.spawn("onboarding:web")
        stack.wait_ready(["onboarding"], timeout=90)
        base = config.base_url("onboarding")
        sent = 0
        # Bursts of concurrent connections: while one worker is busy accepting, the other takes some (one
        # request at a time can land on the same idle worker every time). Bounded either way.
        with ThreadPoolExecutor(max_workers=BURST) as pool:
            while sent < 100 * BURST and (
                sent < 20 or len([n for n in _healthz_by_worker(metrics_dir).values() if n]) < 2
            ):
                list(pool.map(_get, [base + "/healthz"] * BURST))
                sent += BURST
        per_worker = _healthz_by_worker(metrics_dir)
        assert len([n for n in per_worker.values() if n]) == 2, (
            f"one worker answered everything: {per_worker}"
        )
        assert sum(per_worker.values()) == sent
        for _ in range(10):
            scraped = HEALTHZ_SAMPLE.findall(_get(base + "/metrics"))
            assert [float(v) for v in scraped] == [sent]
    finally:
        stack.stop()
