"""Benchmark (not a test): onboarding's read endpoints under gunicorn on PostgreSQL, with auth, beside a bare
Flask "hello" app under the same gunicorn settings, measured in the same run.

    python bench/http.py [--seconds 10] [--connections 8] [--projects 200]

Prints requests/s and p50/p99 latency for: the bare baseline, ``GET /api/v1/projects/{id}`` and
``GET /api/v1/projects?page=1``. Target (issue 10): the real endpoints ≥ 40% of the baseline's throughput.
The load generator is a bounded Python client on loopback (keep-alive connections, one thread each).

Before that it plays the demo story on all six services (PostgreSQL) and prints how long the flow from the
vendor's confirmation to 20 admitted agents in the scheduling pool spent waiting for events (target ≤ 5 s).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._support import Scratch  # noqa: E402
from devtools.stack import Api, Stack, StackConfig, generate_stack_keys  # noqa: E402
from shared.auth import SigningKey, mint_token  # noqa: E402
from shared.config import SERVICES, Settings  # noqa: E402

HELLO = """
from flask import Flask
app = Flask(__name__)

@app.get("/hello")
def hello():
    return {"hello": "world"}
"""


def load(port: int, paths: list[str], headers: dict[str, str], seconds: float, connections: int) -> dict:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine: list[float] = []
        bad = 0
        while time.perf_counter() < stop_at:
            path = random.choice(paths)
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    bad += 1
            except (OSError, http.client.HTTPException):
                bad += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            mine.append(time.perf_counter() - t0)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=run) for _ in range(connections)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    n = len(latencies)
    return {
        "rps": n / elapsed,
        "p50": latencies[n // 2] * 1000 if n else float("nan"),
        "p99": latencies[min(n - 1, int(n * 0.99))] * 1000 if n else float("nan"),
        "errors": errors[0],
        "requests": n,
    }


def project_payload(i: int) -> dict:
    return {
        "merchant": {
            "company_name": f"压测旗舰店 {i}",
            "contact_name": "王经理",
            "contact_phone": "13800138000",
            "liaison": "李对接",
        },
        "service": {
            "type": "presale",
            "hours": {"start": "08:00", "end": "24:00"},
            "seats": 10,
            "platform": "tmall",
        },
        "notes": "benchmark",
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--projects", type=int, default=200)
    args = parser.parse_args()

    with Scratch("httpbench") as scratch:
        return measure(args, scratch)


def measure(args: argparse.Namespace, scratch: Scratch) -> int:
    """Everything it creates is deleted by ``scratch`` at the end, however the run ends: the six
    databases, the folder (logs, media, the hello app), and the stack's queues and exchange."""
    database_urls = {s: scratch.database(s) for s in SERVICES}
    var = scratch.folder()
    config = StackConfig(
        database_urls=database_urls,
        amqp_url=scratch.amqp_url,
        broker_prefix=f"yk-httpbench-{scratch.run}",
        keys_dir=generate_stack_keys(var / "keys"),
        var_dir=var,
        port_offset=20000,
        gunicorn_workers=2,
        # wrk drives thousands of requests a second with one token: the per-client limit would measure 429s
        extra_env={"RATE_LIMIT_ENABLED": os.environ.get("RATE_LIMIT_ENABLED", "0")},
    )
    for service in SERVICES:  # every worker declares the whole topology under the stack's prefix
        scratch.broker(Settings.from_env(service, config.env(service)))
    (var / "hello_app.py").write_text(HELLO)
    hello_port = 28999
    hello: subprocess.Popen[bytes] | None = None
    stack = Stack(config, var / "logs")
    try:
        hello = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(ROOT / "deploy" / "gunicorn.conf.py"),
                "hello_app:app",
            ],
            cwd=var,
            env={**os.environ, "PORT": str(hello_port), "GUNICORN_WORKERS": "2", "GUNICORN_ACCESSLOG": ""},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        stack.start()
        from devtools.demo import Story

        key = SigningKey.load(config.private_key_file)

        story = Story({s: config.base_url(s) for s in SERVICES}, key, say=lambda _line: None, pool=7)
        story.run()
        flow = (
            "the requisition's 30 matches",
            "a cohort of 30 trainees",
            "20 admitted agents in the scheduling pool",
        )
        confirmation_to_admitted = sum(story.waits.get(w, 0.0) for w in flow)
        print(
            f"# demo story on PostgreSQL: {len(story.outcome.failures)} failures; event waits "
            f"confirmation → 20 admitted {confirmation_to_admitted:.2f} s (target <= 5 s: "
            f"{'MET' if confirmation_to_admitted <= 5 else 'MISSED'}), whole story {story.event_wait:.2f} s"
        )
        for name in list(stack.processes):
            if name != "onboarding:web":  # measure the web process alone, not six idle workers beside it
                stack.kill(name, signal.SIGTERM)
        merchant = mint_token(key, "merchant", merchant_id="m-bench")
        api = Api(config.base_url("onboarding"), mint_token(key, "merchant", merchant_id="m-bench"))
        ids = []
        for i in range(args.projects):
            status, body, _ = api.post("/api/v1/projects", project_payload(i))
            if status != 201:
                raise SystemExit(
                    f"could not create a project: {status} {json.dumps(body, ensure_ascii=False)}"
                )
            ids.append(body["id"])
        headers = {"Authorization": f"Bearer {merchant}"}
        port = config.port("onboarding")
        time.sleep(0.5)
        baseline = load(hello_port, ["/hello"], {}, args.seconds, args.connections)
        # the same app's /healthz: the platform's own per-request cost (hooks, metrics, log line), no auth/DB
        platform = load(port, ["/healthz"], {}, args.seconds, args.connections)
        one = load(port, [f"/api/v1/projects/{i}" for i in ids], headers, args.seconds, args.connections)
        page = load(port, ["/api/v1/projects?page=1"], headers, args.seconds, args.connections)
        print(
            f"# HTTP benchmark: gunicorn gthread, 2 workers × 4 threads, {args.connections} keep-alive "
            f"connections, {args.seconds:.0f} s each, PostgreSQL, {args.projects} projects"
        )
        for name, r in (
            ("bare Flask hello (baseline)", baseline),
            ("onboarding GET /healthz (reference)", platform),
            ("GET /api/v1/projects/{id}", one),
            ("GET /api/v1/projects?page=1", page),
        ):
            ratio = r["rps"] / baseline["rps"]
            met = "MET" if ratio >= 0.4 else "MISSED"
            verdict = f"  {ratio:5.0%} of baseline" if r is platform else ""
            if r in (one, page):
                verdict = f"  {ratio:5.0%} of baseline (target >= 40%: {met})"
            print(
                f"{name:36} {r['rps']:8.0f} req/s  p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms"
                f"  errors {r['errors']}{verdict}"
            )
        return 0
    finally:
        stack.stop()
        if hello is not None and hello.poll() is None:
            os.killpg(hello.pid, signal.SIGTERM)
            hello.wait(10)


if __name__ == "__main__":
    raise SystemExit(main())
