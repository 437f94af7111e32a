"""Benchmark (not a test): onboarding's reads under gunicorn on PostgreSQL with a real token, driven by wrk
(an external load generator), beside a bare Flask "hello" under the same gunicorn settings, in the same run.

    python bench/http_api.py [--seconds 10] [--connections 32] [--projects 10000] [--rounds 1]
                             [--configs default | --configs sync:2:1,gthread:2:4,...]

Measures (each reported through ``bench._support.report``, p50/p99 in the detail):

- ``GET /api/v1/projects/{id}`` over random ids: target ≥ 40% of the bare Flask hello's req/s;
- ``GET /api/v1/projects?per_page=50|100``, the first page and an ``after`` page (the cursor the first page
  handed out), 10,000 projects in the table, as the vendor (every merchant's projects): target ≥ 25%.

wrk is installed with apt-get when missing. The database, the folder (keys, hello app, logs) and both
gunicorn process groups go away however the run ends (``Scratch`` plus ``finally``). The web processes need
no broker (reads write no event), so the bench declares none.

The demo-story timing the former in-process bench printed is gone: it needs the six services, their
workers and the broker, minutes of set-up for a figure that belongs to the consumer benches.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._support import Result, Scratch, report  # noqa: E402

HELLO = """
from flask import Flask
app = Flask(__name__)

@app.get("/hello")
def hello():
    return {"hello": "world"}
"""

#: wrk picks a random project id per request from ids.txt (one per line)
RANDOM_PATH_LUA = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = "%s" .. line end
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
"""

ONE_TARGET = 0.40
LIST_TARGET = 0.25


def project_payload(i: int) -> dict[str, Any]:
    """A complete enough project for the API (bench/console_pages.py creates its own with it)."""
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


@dataclass(frozen=True)
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int

    def detail(self) -> str:
        latency = f"p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms"
        return f"{latency}, {self.requests} requests, {self.errors} errors"


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    subprocess.run([*sudo, "apt-get", "install", "-y", "wrk"], check=True, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and apt-get could not install it")
    return found


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk(
    binary: str,
    url: str,
    *,
    seconds: float,
    connections: int,
    headers: dict[str, str],
    script: Path | None = None,
) -> Load:
    command = [binary, "-t2", f"-c{connections}", f"-d{seconds:.0f}s", "--latency", "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(bad.group(1)) if bad else 0
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return Load(rps=rps, p50_ms=p50, p99_ms=p99, requests=requests, errors=errors)


def fill_projects(url: str, count: int) -> list[str]:
    """``count`` projects of 20 merchants straight into the table (the API's create path is not measured
    here), a few materials each on every tenth; VACUUM ANALYZE. Returns the ids."""
    from sqlalchemy import insert, text

    from services.onboarding.models import Material, Project
    from shared.db import Database

    database = Database(url)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    ids = [str(uuid.UUID(int=i + 1)) for i in range(count)]
    rows = []
    for i, pid in enumerate(ids):
        payload = project_payload(i)
        at = start + dt.timedelta(minutes=i)
        rows.append(
            {
                "id": pid,
                "merchant_id": f"m-{i % 20}",
                "status": ("draft", "submitted", "confirmed", "live")[i % 4],
                "version": 1,
                "faq_version": 0,
                "company_name": payload["merchant"]["company_name"],
                "contact_name": payload["merchant"]["contact_name"],
                "contact_phone": payload["merchant"]["contact_phone"],
                "liaison": payload["merchant"]["liaison"],
                "service_type": "presale",
                "hours_start": "08:00",
                "hours_end": "24:00",
                "hours_overnight": False,
                "seats": 10,
                "platform": "tmall",
                "materials_complete": False,
                "notes": "benchmark",
                "created_by": "bench",
                "created_at": at,
                "updated_at": at,
            }
        )
    materials = [
        {
            "id": str(uuid.uuid4()),
            "project_id": pid,
            "filename": f"manual-{n}.pdf",
            "kind": "pdf",
            "content_type": "application/pdf",
            "size": 1000,
            "sha256": f"{i:032x}{n:032x}",
            "uploaded_by": "bench",
            "uploaded_by_role": "merchant",
            "uploaded_at": start,
        }
        for i, pid in enumerate(ids)
        if i % 10 == 0
        for n in range(3)
    ]
    try:
        with database.engine.begin() as conn:
            for first in range(0, len(rows), 2000):
                conn.execute(insert(Project), rows[first : first + 2000])
            if materials:
                conn.execute(insert(Material), materials)
        # as autovacuum does within a minute of this many inserts: the visibility map lets the first page's
        # count read an index alone, as it does in production, instead of every row of the table
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE projects, materials"))
    finally:
        database.dispose()
    return ids


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


def get_json(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@dataclass(frozen=True)
class Config:
    """gunicorn's worker class, workers and threads; ``None`` leaves deploy/gunicorn.conf.py's default."""

    worker_class: str | None = None
    workers: int | None = None
    threads: int | None = None

    @classmethod
    def parse(cls, text: str) -> Config:
        """``gthread:2:4`` (class:workers:threads); ``default`` is gunicorn.conf.py's own choice."""
        if text == "default":
            return cls()
        worker_class, workers, threads = text.split(":")
        return cls(worker_class, int(workers), int(threads))

    def env(self) -> dict[str, str]:
        env = {}
        if self.worker_class is not None:
            env["GUNICORN_WORKER_CLASS"] = self.worker_class
        if self.workers is not None:
            env["GUNICORN_WORKERS"] = str(self.workers)
        if self.threads is not None:
            env["GUNICORN_THREADS"] = str(self.threads)
        return env

    def label(self) -> str:
        if self.worker_class is None:
            return "gunicorn.conf.py defaults"
        return f"{self.worker_class} -w{self.workers} threads {self.threads}"


def gunicorn(app: str, *, port: int, cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"), app],
            cwd=cwd,
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_ACCESSLOG": ""},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument(
        "--configs",
        default="default",
        help="comma-separated gunicorn settings to measure in turn, each class:workers:threads "
        "(e.g. sync:2:1,gthread:2:4), or default (deploy/gunicorn.conf.py's); with several, the "
        "measures are named after them",
    )
    parser.add_argument("--rounds", type=int, default=1, help="repeat the measures (each reported)")
    args = parser.parse_args()
    with Scratch("httpbench") as scratch:
        return measure(args, scratch)


@dataclass(frozen=True)
class Setup:
    wrk: str
    env: dict[str, str]
    var: Path
    token: str
    one_script: Path


def measure(args: argparse.Namespace, scratch: Scratch) -> int:
    from devtools.stack import generate_stack_keys
    from shared.auth import SigningKey, mint_token
    from shared.migrate import upgrade
    from shared.service import load_spec

    binary = ensure_wrk()
    url = scratch.database("onboarding")
    var = scratch.folder()
    upgrade(load_spec("onboarding"), url)
    ids = fill_projects(url, args.projects)
    keys = generate_stack_keys(var / "keys")
    key = SigningKey.load(keys / "stack.key.pem")
    (var / "hello_app.py").write_text(HELLO)
    (var / "ids.txt").write_text("\n".join(ids) + "\n")
    one_script = var / "one.lua"
    one_script.write_text(RANDOM_PATH_LUA % (var / "ids.txt", "/api/v1/projects/"))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ONBOARDING_DATABASE_URL": url,
        "JWT_PUBLIC_KEYS": str(keys / "public"),
        "VAR_DIR": str(var),
        "MEDIA_ROOT": str(var / "media"),
        # wrk sends thousands of requests a second with one token: the per-client limit would measure 429s
        "RATE_LIMIT_ENABLED": os.environ.get("RATE_LIMIT_ENABLED", "0"),
    }
    for name in ("DATABASE_URL", "JWT_PRIVATE_KEY_FILE", "GUNICORN_WORKER_CLASS", "GUNICORN_THREADS"):
        env.pop(name, None)
    env.setdefault("GUNICORN_WORKERS", "2")  # the figures: gunicorn -w2 on this 2-core machine
    setup = Setup(binary, env, var, mint_token(key, "vendor", sub="bench-vendor"), one_script)
    configs = [Config.parse(c.strip()) for c in args.configs.split(",") if c.strip()]
    for config in configs:
        measure_config(args, setup, config, named=len(configs) > 1)
    return 0


def measure_config(args: argparse.Namespace, setup: Setup, config: Config, *, named: bool) -> None:
    env = {**setup.env, **config.env()}
    hello_port, port = 28999, 28001
    hello = service = None
    try:
        hello = gunicorn(
            "hello_app:app", port=hello_port, cwd=setup.var, env=env, log=setup.var / "hello.log"
        )
        service = gunicorn(
            "services.onboarding.app:create_app()",
            port=port,
            cwd=ROOT,
            env=env,
            log=setup.var / "onboarding.log",
        )
        wait_ready(f"http://127.0.0.1:{hello_port}/hello", hello)
        wait_ready(f"http://127.0.0.1:{port}/healthz", service)
        base = f"http://127.0.0.1:{port}/api/v1/projects"
        cursors = {n: get_json(f"{base}?per_page={n}", setup.token)["next_after"] for n in (50, 100)}
        headers = {"Authorization": f"Bearer {setup.token}"}
        settings = (
            f"gunicorn {config.label()}, wrk -t2 -c{args.connections} {args.seconds:.0f} s, "
            f"{args.projects} projects"
        )
        print(f"# {settings}; load average {os.getloadavg()}", flush=True)

        def run(url: str, script: Path | None = None, with_token: bool = True) -> Load:
            return wrk(
                setup.wrk,
                url,
                seconds=args.seconds,
                connections=args.connections,
                headers=headers if with_token else {},
                script=script,
            )

        # a short warm-up of each process (imports, pools, caches) so that the first measure is not charged
        for warm in (f"http://127.0.0.1:{hello_port}/hello", f"{base}?per_page=50"):
            wrk(setup.wrk, warm, seconds=2, connections=4, headers=headers)
        paths: list[tuple[str, str, Path | None, float]] = [
            ("GET one project", f"{base}/x", setup.one_script, ONE_TARGET)
        ]
        for n in (50, 100):
            paths.append(
                (f"GET project list, {n} a page, first page", f"{base}?per_page={n}", None, LIST_TARGET)
            )
            after = f"{base}?per_page={n}&after={cursors[n]}"
            paths.append((f"GET project list, {n} a page, after page", after, None, LIST_TARGET))

        def hello_run() -> Load:
            load = run(f"http://127.0.0.1:{hello_port}/hello", with_token=False)
            print(f"# bare Flask hello: {load.rps:,.0f} req/s, {load.detail()}", flush=True)
            return load

        for _ in range(args.rounds):
            # The machine's load moves during a run (it is shared): each measure is framed by a hello run
            # before and after it, and compared with their mean.
            before = hello_run()
            for name, url, script, target in paths:
                load = run(url, script)
                after = hello_run()
                baseline = (before.rps + after.rps) / 2
                report(
                    Result(
                        bench="http",
                        measure=f"{name} [{config.label()}]" if named else name,
                        product=load.rps,
                        unit="req/s",
                        baseline=baseline,
                        target=f">= {target:.0%} of bare Flask",
                        met=load.errors == 0 and load.rps >= target * baseline,
                        detail=f"{load.detail()}; baseline (mean of the hello runs before and after) "
                        f"p50 {(before.p50_ms + after.p50_ms) / 2:.1f} ms "
                        f"p99 {(before.p99_ms + after.p99_ms) / 2:.1f} ms; {settings}; "
                        f"load average {os.getloadavg()[0]:.1f}",
                    )
                )
                before = after
        print(f"# load average after {os.getloadavg()}", flush=True)
    finally:
        stop(service)
        stop(hello)


if __name__ == "__main__":
    raise SystemExit(main())
