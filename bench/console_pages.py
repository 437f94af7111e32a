"""Benchmark (not a test): time to first byte of the console's main pages on the whole stack, with 1,000
projects in onboarding, beside baselines measured in the same run.

    python bench/console_pages.py [--requests 200] [--projects 1000]

Starts the six services and the console (gunicorn, PostgreSQL, RabbitMQ) on ports 29000+, plays the demo
story (so there is a cohort, a roster, a payroll run), adds ``--projects`` projects, signs in one console
user per role through the real sign-in form, then requests each page ``--requests`` times, one at a time
over a keep-alive connection, and prints p50/p95/max time to first byte for:

* the console's ``/healthz`` (the console's own per-request floor: no session, no service call);
* each page — the vendor's board, a project page (funnel), a training cohort, the payroll runs, the agent's
  shifts — next to the service's own GET of the same data with a token of the same role (what the page
  adds on top: session, token minting, the parallel calls, rendering).

Target (issue 14): every page ≤ 150 ms p95. Everything created (seven databases, the broker objects, the
folder) is deleted at the end however the run ends (``bench/_support.Scratch``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import re
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench._support import Scratch  # noqa: E402
from bench.http_api import project_payload  # noqa: E402
from devtools.stack import Api, Stack, StackConfig, generate_stack_keys  # noqa: E402
from shared.auth import SigningKey, mint_token  # noqa: E402
from shared.config import SERVICES, Settings  # noqa: E402
from shared.db import Database  # noqa: E402
from shared.service import CONSOLE  # noqa: E402
from shared.uow import Actor, unit_of_work  # noqa: E402

TARGET_P95_MS = 150.0
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Timing:
    p50: float
    p95: float
    worst: float
    errors: int


def ttfb(port: int, path: str, headers: dict[str, str], count: int, warmup: int = 10) -> Timing:
    """Sequential GETs on one keep-alive connection; the clock stops when the status line and headers
    have arrived (the first byte the browser can act on), the body is then read and discarded."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    samples: list[float] = []
    errors = 0
    try:
        for n in range(warmup + count):
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            first_byte = time.perf_counter() - started
            response.read()
            if response.status != 200:
                errors += 1
            if n >= warmup:
                samples.append(first_byte * 1000)
    finally:
        conn.close()
    samples.sort()
    return Timing(
        p50=samples[len(samples) // 2],
        p95=samples[min(len(samples) - 1, int(len(samples) * 0.95))],
        worst=samples[-1],
        errors=errors,
    )


def sign_in(console_url: str, email: str, password: str) -> str:
    """The session cookie of a user signed in through the real form (CSRF token included)."""
    with httpx.Client(base_url=console_url, follow_redirects=False, timeout=30) as client:
        page = client.get("/sign-in")
        token = CSRF.search(page.text)
        if token is None:
            raise SystemExit("the sign-in page has no CSRF token")
        answer = client.post(
            "/sign-in", data={"email": email, "password": password, "csrf_token": token.group(1)}
        )
        if answer.status_code != 302:
            raise SystemExit(f"could not sign in {email}: {answer.status_code}")
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def page_urls(config: StackConfig, ids: dict[str, str]) -> dict[str, str]:
    """The pages' paths from the console's own URL map (whatever prefixes the blueprints chose)."""
    from flask import url_for

    from services.console.app import create_app

    app = create_app(settings=config.settings(CONSOLE))
    with app.test_request_context():
        return {
            "board": url_for("vendor.board"),
            "project": url_for("vendor.project", project_id=ids["project"]),
            "cohort": url_for("trainer.cohort", cohort_id=ids["cohort"]),
            "runs": url_for("finance.runs"),
            "shifts": url_for("agent.shifts"),
        }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200, help="measured requests per page")
    parser.add_argument("--projects", type=int, default=1000, help="projects added to onboarding")
    args = parser.parse_args()
    with Scratch("consolebench") as scratch:
        return measure(args, scratch)


def measure(args: argparse.Namespace, scratch: Scratch) -> int:
    database_urls = {s: scratch.database(s) for s in [*SERVICES, CONSOLE]}
    var = scratch.folder()
    config = StackConfig(
        database_urls=database_urls,
        amqp_url=scratch.amqp_url,
        broker_prefix=f"yk-consolebench-{scratch.run}",
        keys_dir=generate_stack_keys(var / "keys"),
        var_dir=var,
        port_offset=21000,
        gunicorn_workers=2,
        with_console=True,
        # one user hammers one page: the services' per-client budget would measure 429s, not pages
        extra_env={"RATE_LIMIT_ENABLED": "0"},
    )
    for service in SERVICES:
        scratch.broker(Settings.from_env(service, config.env(service)))
    stack = Stack(config, var / "logs")
    try:
        stack.start()
        key = SigningKey.load(config.private_key_file)
        ids = prepare_data(config, key, args.projects)
        people = create_console_users(database_urls[CONSOLE], ids["agent"])
        console_url = config.base_url(CONSOLE)
        cookies = {role: sign_in(console_url, email, password) for role, (email, password) in people.items()}
        urls = page_urls(config, ids)
        today = dt.date.today()
        month_end = (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        baselines = {
            "board": ("onboarding", "vendor", "/api/v1/projects?per_page=10"),
            "project": ("onboarding", "vendor", f"/api/v1/projects/{ids['project']}"),
            "cohort": ("training", "trainer", f"/api/v1/cohorts/{ids['cohort']}"),
            "runs": ("billing", "finance", "/api/v1/payroll-runs?page=1&per_page=20"),
            "shifts": (
                "scheduling",
                "agent",
                f"/api/v1/agents/{ids['agent']}/shifts?from={today.replace(day=1)}&to={month_end}",
            ),
        }
        page_roles = {
            "board": "vendor",
            "project": "vendor",
            "cohort": "trainer",
            "runs": "finance",
            "shifts": "agent",
        }

        console_port = config.port(CONSOLE)
        floor = ttfb(console_port, "/healthz", {}, args.requests)
        print(
            f"# console pages, time to first byte: gunicorn gthread, 2 workers, PostgreSQL, "
            f"{args.projects} + demo projects, {args.requests} sequential requests each (after 10 warm-up)"
        )
        print(f"{'console GET /healthz (floor)':44} p50 {floor.p50:6.1f} ms  p95 {floor.p95:6.1f} ms")
        missed = 0
        for name, path in urls.items():
            role = page_roles[name]
            service, token_role, api_path = baselines[name]
            sub = ids["agent"] if token_role == "agent" else None
            token = mint_token(key, token_role, sub=sub, ttl_seconds=3600)
            base = ttfb(config.port(service), api_path, {"Authorization": f"Bearer {token}"}, args.requests)
            page = ttfb(console_port, path, {"Cookie": cookies[role]}, args.requests)
            verdict = "MET" if page.p95 <= TARGET_P95_MS and not page.errors else "MISSED"
            missed += verdict == "MISSED"
            print(
                f"{name + ' ' + path[:36]:44} p50 {page.p50:6.1f} ms  p95 {page.p95:6.1f} ms  "
                f"max {page.worst:6.1f} ms  errors {page.errors}  "
                f"(target p95 <= {TARGET_P95_MS:.0f} ms: {verdict})"
            )
            print(
                f"{'  ' + service + ' ' + api_path.split('?')[0][:34]:44} p50 {base.p50:6.1f} ms  "
                f"p95 {base.p95:6.1f} ms  (the service alone; errors {base.errors})"
            )
        return 1 if missed else 0
    finally:
        stack.stop()


def prepare_data(config: StackConfig, key: SigningKey, projects: int) -> dict[str, str]:
    """The demo story (a confirmed project with its cohort, roster and payroll run), then ``projects``
    more projects from another merchant; returns the ids the pages show."""
    from devtools.demo import Story

    story = Story({s: config.base_url(s) for s in SERVICES}, key, say=lambda _line: None, pool=7)
    outcome = story.run()
    if outcome.failures:
        print(f"# the demo story had {len(outcome.failures)} failure(s): {outcome.failures[:3]}")
    merchant = Api(config.base_url("onboarding"), mint_token(key, "merchant", merchant_id="m-bench"))

    def create(i: int) -> None:
        status, body, _ = merchant.post("/api/v1/projects", project_payload(i))
        if status != 201:
            raise SystemExit(f"could not create a project: {status} {body}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(create, range(projects)))

    trainer = Api(config.base_url("training"), mint_token(key, "trainer"))
    status, cohorts, _ = trainer.get(f"/api/v1/cohorts?project_id={outcome.project_id}&per_page=1")
    if status != 200 or not cohorts.get("items"):
        raise SystemExit(f"the demo story left no cohort: {status} {cohorts}")
    active = [agent for agent, role in outcome.agents.items() if role == "active"]
    if not active:
        raise SystemExit("the demo story left no active agent")
    return {"project": outcome.project_id, "cohort": cohorts["items"][0]["id"], "agent": sorted(active)[0]}


def create_console_users(database_url: str, agent_id: str) -> dict[str, tuple[str, str]]:
    from services.console import accounts

    database = Database(database_url)
    people: dict[str, tuple[str, str]] = {}
    try:
        with unit_of_work(database, actor=Actor.system("bench")) as uow:
            for role in ("vendor", "trainer", "finance", "agent"):
                email, password = f"bench-{role}@example.com", secrets.token_urlsafe(16)
                accounts.create_user(
                    uow,
                    email=email,
                    role=role,
                    password=password,
                    candidate_id=agent_id if role == "agent" else None,
                )
                people[role] = (email, password)
    finally:
        database.dispose()
    return people


if __name__ == "__main__":
    raise SystemExit(main())
