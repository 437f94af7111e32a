"""Benchmark (not a test): billing's payroll run on PostgreSQL, 5,000 agents × 30 days (issue 16, part 5).

The billing database is loaded (COPY, not timed) with one project, its agents (some joining mid-month), 30
days of performance and of worked hours per agent, a penalty for one agent in ten, and a mix of plans (the
project's default base + commission, per-agent hourly / commission / monthly overrides). Then, in the same
run and interleaved so that the machine's load hits both alike, ``--repeat`` times:

- baseline: the plain SQL aggregate of the same rows — ``GROUP BY agent_id, project_id`` summing the month's
  hours, and the same summing its sales, every row fetched;
- create: ``POST /payroll-runs`` as the service does it (read the inputs, compute every payslip, write the
  payslips and their lines, commit);
- recalculation: ``POST /payroll-runs/{id}/recalculate`` of that draft (the old payslips go, new ones are
  written, commit); then the draft is deleted (not timed) for the next round.

Reported (``bench._support.report``): create and recalculation separately, each the median of the rounds
against the median baseline. Target: ≤ 3× the SQL aggregate.

    python bench/payroll.py [--sizes 5000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._support import Result, Scratch, report
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


TARGET = 3.0


def sql_aggregate(database: Database) -> float:
    """The baseline: per agent and project, the month's hours and sales summed by PostgreSQL, all fetched."""
    t0 = time.perf_counter()
    with database.engine.connect() as conn:
        for model, measure in ((WorkedHours, WorkedHours.hours), (Performance, Performance.sales_amount)):
            conn.execute(
                select(model.agent_id, model.project_id, func.sum(measure))
                .where(model.date.between(DAYS[0], DAYS[-1]))
                .group_by(model.agent_id, model.project_id)
            ).all()
    return time.perf_counter() - t0


@dataclass
class Rounds:
    baseline: list[float] = field(default_factory=list)
    create: list[float] = field(default_factory=list)
    recalc: list[float] = field(default_factory=list)
    payslips: int = 0
    total: Decimal = Decimal(0)


def one_round(database: Database, rounds: Rounds) -> None:
    actor = Actor(sub="bench-finance", role="finance")
    rounds.baseline.append(sql_aggregate(database))
    t0 = time.perf_counter()
    with unit_of_work(database, actor=actor) as uow:
        run = billing_payroll.create_run(uow, PERIOD, None)
        run_id, created = run.id, (run.payslip_count, run.total)
    rounds.create.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    with unit_of_work(database, actor=actor) as uow:
        run = billing_payroll.recalculate_run(uow, run_id)
        recalculated = (run.payslip_count, run.total)
    rounds.recalc.append(time.perf_counter() - t0)
    if created != recalculated:
        raise AssertionError(f"recalculation changed the run: {created} -> {recalculated}")
    rounds.payslips, rounds.total = created
    with unit_of_work(database, actor=actor) as uow:
        billing_payroll.delete_run(uow, run_id)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="5000", help="comma-separated numbers of agents")
    parser.add_argument("--repeat", type=int, default=5, help="rounds per size (medians are reported)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    with Scratch("bench_payroll") as scratch:
        url = scratch.database("billing")
        upgrade(load_spec("billing"), url)
        database = Database(url)
        try:
            for size in sizes:
                measure(database, size, args.repeat)
        finally:
            database.dispose()
    return 0


def measure(database: Database, size: int, repeat: int) -> None:
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)}"))
    load(database, size)
    sql_aggregate(database)  # warm: the first read of a freshly loaded table pays for its hint bits
    rounds = Rounds()
    for _ in range(repeat):
        one_round(database, rounds)
    baseline = statistics.median(rounds.baseline)
    load_average = " ".join(f"{x:.2f}" for x in os.getloadavg())
    for name, times in (("create", rounds.create), ("recalculation", rounds.recalc)):
        product = statistics.median(times)
        report(
            Result(
                bench="payroll",
                measure=f"payroll {name}, {size:,} agents × 30 days",
                product=product * 1000,
                unit="ms",
                baseline=baseline * 1000,
                target=f"≤ {TARGET:g}× SQL aggregate",
                met=product <= TARGET * baseline,
                higher_is_better=False,
                detail=f"x{product / baseline:.2f} of the aggregate; median of {repeat} "
                f"(min {min(times) * 1000:,.0f} ms, aggregate min {min(rounds.baseline) * 1000:,.0f} ms); "
                f"{rounds.payslips} payslips, total {rounds.total:,.2f}; load average {load_average}",
            )
        )


if __name__ == "__main__":
    raise SystemExit(main())
