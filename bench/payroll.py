"""Benchmark (not a test): billing's payroll run on PostgreSQL at 1,000 / 2,500 / 5,000 agents × 30 days.

For each size the billing database is loaded (COPY, not timed) with one project, its agents (some joining
mid-month), 30 days of performance and of worked hours per agent, a penalty for one agent in ten, and a
mix of plans (the project's default base + commission, per-agent hourly / commission / monthly overrides).
Then, in the same run:

- baseline: the time to just read the month's performance and worked-hours rows (SELECT, all fetched);
- the payroll run: ``POST /payroll-runs`` as the service does it (load, compute every payslip, write the
  payslips and their lines, commit), best of 3 (the draft is recalculated for the 2nd and 3rd).

Target (issue 9): 5,000 agents ≤ 10 s, growing near linearly with the number of agents.

    python bench/payroll.py [--sizes 1000,2500,5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._support import Scratch
from services.billing import payroll as billing_payroll
from services.billing.models import Performance, WorkedHours
from shared.db import Database, utcnow
from shared.migrate import upgrade
from shared.service import load_spec
from shared.uow import Actor, unit_of_work

PERIOD = "2026-09"
DAYS = [dt.date(2026, 9, d) for d in range(1, 31)]
# every billing table, emptied between sizes (whatever tables later releases add)
TABLES = tuple(table.name for table in load_spec("billing").metadata.sorted_tables)


def load(database: Database, agents: int, seed: int = 7) -> str:
    """Fill the database for one size; returns the project id."""
    rng = random.Random(seed)
    project = str(uuid.uuid4())
    now = utcnow()
    ids = [str(uuid.uuid4()) for _ in range(agents)]
    raw = database.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(
            "INSERT INTO projects (project_id, merchant_id, company_name, status, updated_at) "
            "VALUES (%s, %s, %s, 'confirmed', %s)",
            (project, str(uuid.uuid4()), "bench shop", now),
        )
        with cur.copy("COPY agents (agent_id, project_id, name, admitted_on, updated_at) FROM STDIN") as copy:
            for i, agent in enumerate(ids):
                joined = dt.date(2026, 9, 16) if i % 20 == 0 else dt.date(2026, 6, 1)
                copy.write_row((agent, project, f"agent {i}", joined, now))
        columns = (
            "agent_id, project_id, date, sales_amount, avg_response_seconds, response_rate, consultations"
        )
        with cur.copy(f"COPY performance ({columns}, updated_at) FROM STDIN") as copy:
            for agent in ids:
                for day in DAYS:
                    copy.write_row(
                        (
                            agent,
                            project,
                            day,
                            Decimal(rng.randint(0, 800_000)) / 100,
                            Decimal(rng.randint(1500, 4500)) / 100,
                            Decimal(rng.randint(900_000, 1_000_000)) / 1_000_000,
                            rng.randint(50, 300),
                            now,
                        )
                    )
        with cur.copy("COPY worked_hours (agent_id, project_id, date, hours, updated_at) FROM STDIN") as copy:
            for agent in ids:
                for day in DAYS:
                    copy.write_row((agent, project, day, Decimal(rng.choice((4, 6, 8, 8, 8, 10))), now))
        with cur.copy(
            "COPY deductions (complaint_id, number, agent_id, project_id, amount, resolved_on, period, "
            "updated_at) FROM STDIN"
        ) as copy:
            for i, agent in enumerate(ids[::10]):
                copy.write_row(
                    (
                        str(uuid.uuid4()),
                        f"TS20260915-{i + 1:04d}",
                        agent,
                        project,
                        Decimal("200.00"),
                        dt.date(2026, 9, 15),
                        PERIOD,
                        now,
                    )
                )
        plan_columns = (
            "id, project_id, agent_id, scope_key, type, hourly_rate, monthly_base, commission_rate, "
            "max_avg_response_seconds, min_response_rate, base_factor_when_unmet, effective_from, "
            "created_at, created_by"
        )
        with cur.copy(f"COPY pay_plans ({plan_columns}) FROM STDIN") as copy:
            start = dt.date(2026, 1, 1)
            copy.write_row(
                (
                    str(uuid.uuid4()),
                    project,
                    None,
                    "*",
                    "base_commission",
                    None,
                    Decimal("4000.00"),
                    Decimal("0.01"),
                    Decimal("30"),
                    Decimal("0.95"),
                    Decimal("0.5"),
                    start,
                    now,
                    "bench",
                )
            )
            for i, agent in enumerate(ids):
                kind = i % 4
                if kind == 1:
                    row = ("hourly", Decimal("20.00"), None, None)
                elif kind == 2:
                    row = ("commission", None, None, Decimal("0.05"))
                elif kind == 3 and i % 8 == 3:
                    row = ("monthly", None, Decimal("4000.00"), None)
                else:
                    continue
                copy.write_row(
                    (str(uuid.uuid4()), project, agent, agent, *row, None, None, None, start, now, "bench")
                )
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    return project


def read_month(database: Database) -> tuple[float, int]:
    """The baseline: fetch every performance and worked-hours row of the month, nothing else."""
    t0 = time.perf_counter()
    rows = 0
    with database.engine.connect() as conn:
        for model in (Performance, WorkedHours):
            rows += len(
                conn.execute(select(model.__table__).where(model.date.between(DAYS[0], DAYS[-1]))).all()
            )
    return time.perf_counter() - t0, rows


def payroll(database: Database, repeat: int) -> tuple[float, int, Decimal]:
    actor = Actor(sub="bench-finance", role="finance")
    best = float("inf")
    run_id = ""
    count, total = 0, Decimal(0)
    for attempt in range(repeat):
        t0 = time.perf_counter()
        with unit_of_work(database, actor=actor) as uow:
            if attempt == 0:
                run = billing_payroll.create_run(uow, PERIOD, None)
                run_id = run.id
            else:
                run = billing_payroll.recalculate_run(uow, run_id)
            count, total = run.payslip_count, run.total
        best = min(best, time.perf_counter() - t0)
    return best, count, total


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,2500,5000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    with Scratch("bench_payroll") as scratch:
        url = scratch.database("billing")
        upgrade(load_spec("billing"), url)
        database = Database(url)
        try:
            return measure(database, sizes, args.repeat)
        finally:
            database.dispose()


def measure(database: Database, sizes: list[int], repeat: int) -> int:
    print(f"# payroll run benchmark on PostgreSQL: {PERIOD}, 30 days of performance + hours per agent")
    print(
        f"{'agents':>7} {'rows read':>10} {'baseline read':>14} {'payroll run':>12} {'per agent':>10} "
        f"{'payslips':>9} {'run total':>16}"
    )
    results: list[tuple[int, float, float]] = []
    for size in sizes:
        with database.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(TABLES)}"))
        load(database, size)
        baseline, rows = min((read_month(database) for _ in range(repeat)), key=lambda r: r[0])
        seconds, count, total = payroll(database, repeat)
        results.append((size, baseline, seconds))
        print(
            f"{size:>7} {rows:>10} {baseline:>12.3f} s {seconds:>10.3f} s "
            f"{seconds / size * 1000:>7.2f} ms {count:>9} {total:>16,.2f}"
        )
    first_size, first_base, first_run = results[0]
    print("growth against the smallest size (linear = the agents ratio):")
    for size, baseline, seconds in results[1:]:
        print(
            f"  {size:>5} agents: x{size / first_size:.2f} agents -> payroll x{seconds / first_run:.2f}, "
            f"baseline read x{baseline / first_base:.2f}"
        )
    largest, _, largest_run = results[-1]
    linear = all(seconds / first_run <= 1.5 * size / first_size for size, _, seconds in results[1:])
    print(
        f"target: {largest} agents <= 10 s: {largest_run:.2f} s "
        f"{'MET' if largest_run <= 10 else 'MISSED'}; "
        f"near linear (<= 1.5x the agents ratio): {'MET' if linear else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
