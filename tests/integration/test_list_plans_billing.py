"""Every billing list is served by an index on 100,000 rows: each filter combination a user can send, its
first page and a page ``after`` a cursor, as ``services.billing.queries`` builds them (issue 16 part 1)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Select

from services.billing import queries
from services.billing.models import AttendanceDay, Performance, WorkedHours
from shared.db import Database
from tests.plans import assert_index_plan, fill, list_statement, migrated

ROWS = 100_000
PROJECTS = 100
AGENTS = 2_000
START = dt.date(2020, 1, 1)
NOW = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
KINDS = ("hourly", "monthly", "base_commission", "commission")


def project(i: int) -> str:
    return f"p-{i % PROJECTS:04d}"


def agent(i: int) -> str:
    return f"a-{i % AGENTS:05d}"


def period(i: int) -> str:
    month = START.month - 1 + i
    return f"{START.year + month // 12:04d}-{month % 12 + 1:02d}"


def day(i: int) -> dt.date:
    return START + dt.timedelta(days=i)


@pytest.fixture(scope="module")
def database(make_database: Callable[[str], str]) -> Iterator[Database]:
    db = migrated(make_database, "billing")
    fill(
        db,
        "projects",
        ROWS,
        lambda i: {
            "project_id": f"p-{i:06d}",
            "merchant_id": "m",
            # some without a name: the sort puts them first
            "company_name": None if i % 50 == 0 else f"shop {i % 997}",
            "status": ("confirmed", "live", "closed")[i % 3],
            "updated_at": NOW,
        },
    )
    fill(
        db,
        "agents",
        ROWS,
        lambda i: {
            "agent_id": f"a-{i:06d}",
            "project_id": project(i),
            "name": None if i % 40 == 0 else f"agent {i % 4999}",
            "admitted_on": START,
            "updated_at": NOW,
        },
    )
    fill(
        db,
        "pay_plans",
        ROWS,
        lambda i: {
            "id": f"plan-{i:06d}",
            "project_id": project(i),
            # one default per project and month, the rest agents' overrides
            "agent_id": None if i % 20 == 0 else agent(i),
            "scope_key": "*" if i % 20 == 0 else agent(i),
            "type": KINDS[i % 4],
            "effective_from": day(i // PROJECTS),
            "created_at": NOW,
            "created_by": "finance",
        },
    )
    for table in ("performance", "worked_hours"):
        # AGENTS agents × 50 days (each agent in one project)
        extra: Callable[[int], dict[str, Any]] = (
            (
                lambda i: {
                    "sales_amount": Decimal("100.00"),
                    "avg_response_seconds": Decimal("20"),
                    "response_rate": Decimal("0.97"),
                    "consultations": 100,
                }
            )
            if table == "performance"
            else (lambda i: {"hours": Decimal("8")})
        )
        fill(
            db,
            table,
            ROWS,
            lambda i, extra=extra: {
                "agent_id": agent(i),
                "project_id": project(i),
                "date": day(i // AGENTS),
                "updated_at": NOW,
                **extra(i),
            },
        )
    fill(
        db,
        "attendance_days",
        ROWS,
        lambda i: {
            "agent_id": agent(i),
            "project_id": project(i),
            "date": day(i // AGENTS),
            "status": ("present", "late", "no_show")[i % 3],
            "late_minutes": 0,
            "early_minutes": 0,
            "corrected": False,
            "source": "attendance",
            "recorded_at": NOW,
            "updated_at": NOW,
        },
    )
    fill(
        db,
        "deductions",
        ROWS,
        lambda i: {
            "complaint_id": f"c-{i:06d}",
            "number": f"TS-{i:06d}",
            "agent_id": agent(i),
            "project_id": project(i),
            "amount": Decimal("50.00"),
            "resolved_on": day(i // 60),
            "period": period(i // 2000),
            "updated_at": NOW,
        },
    )
    fill(
        db,
        "adjustments",
        ROWS,
        lambda i: {
            "id": f"adj-{i:06d}",
            "agent_id": agent(i),
            "project_id": project(i),
            "period": period(i // 2000),
            "amount": Decimal("10.00"),
            "reason": "correction",
            "created_at": NOW + dt.timedelta(minutes=i),
            "created_by": "finance",
        },
    )
    # one run per period and project (1,000 projects here, so that 100 periods make 100,000 runs)
    fill(
        db,
        "payroll_runs",
        ROWS,
        lambda i: {
            "id": f"run-{i:06d}",
            "period": period(i // 1000),
            "project_id": f"p-{i % 1000:04d}",
            "scope_key": f"p-{i % 1000:04d}",
            "status": "approved" if i < 90_000 else "draft",
            "total": Decimal("0"),
            "payslip_count": 0,
            "without_plan": [],
            "warnings": [],
            "created_at": NOW + dt.timedelta(minutes=i),
            "created_by": "finance",
            "calculated_at": NOW,
        },
    )
    # 1,000 runs of 100 payslips
    fill(
        db,
        "payslips",
        ROWS,
        lambda i: {
            "id": f"slip-{i:06d}",
            "run_id": f"run-{i // 100:06d}",
            "period": period(i // 100 // 1000),
            "agent_id": agent(i),
            "project_id": f"p-{i // 100 % 1000:04d}",
            "total": Decimal("1000.00"),
        },
    )
    try:
        yield db
    finally:
        db.dispose()


def combinations(filters: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every subset of ``filters`` (the empty one too)."""
    names = list(filters)
    for size in range(len(names) + 1):
        for chosen in itertools.combinations(names, size):
            yield {name: filters[name] for name in chosen}


def check(
    database: Database,
    stmt: Select[Any],
    order: Sequence[Any],
    cursor: Sequence[Any],
    tables: set[str],
) -> None:
    assert_index_plan(database, list_statement(stmt, order), tables)
    assert_index_plan(database, list_statement(stmt, order, after=cursor), tables)


def test_pay_plans(database: Database) -> None:
    filters = {"project_id": project(7), "agent_id": agent(7), "type": "monthly", "defaults_only": True}
    for args in combinations(filters):
        check(
            database,
            queries._plans_query(args),
            queries.PLANS_ORDER,
            (project(7), agent(7), day(300), "plan-030007"),
            {"pay_plans"},
        )


@pytest.mark.parametrize("model", [Performance, WorkedHours], ids=["performance", "worked_hours"])
def test_performance_and_worked_hours(database: Database, model: Any) -> None:
    filters = {"project_id": project(3), "agent_id": agent(3), "from_": day(10), "to": day(40)}
    build = queries._performance_query if model is Performance else queries._worked_hours_query
    for args in combinations(filters):
        check(
            database,
            build(args),
            queries.range_order(model),
            (day(20), project(3), agent(3)),
            {model.__tablename__},
        )


def test_attendance(database: Database) -> None:
    """As finance, an agent (its own id forced into the filters) and a merchant (its projects only) list."""
    filters = {"project_id": project(3), "agent_id": agent(3), "from_": day(10), "to": day(40)}
    for args in combinations(filters):
        for merchant_id in (None, "m"):
            check(
                database,
                queries._attendance_query(args, merchant_id),
                queries.range_order(AttendanceDay),
                (day(20), project(3), agent(3)),
                {"attendance_days"},
            )


def test_deductions_and_adjustments(database: Database) -> None:
    filters = {"project_id": project(5), "agent_id": agent(5), "period": period(20)}
    for args in combinations(filters):
        check(
            database,
            queries._deductions_query(args),
            queries.DEDUCTIONS_ORDER,
            (day(800), "c-048000"),
            {"deductions"},
        )
        check(
            database,
            queries._adjustments_query(args),
            queries.ADJUSTMENTS_ORDER,
            (NOW + dt.timedelta(minutes=48_000), "adj-048000"),
            {"adjustments"},
        )


def test_payroll_runs(database: Database) -> None:
    filters = {"period": period(50), "project_id": "p-0042", "status": "approved"}
    for args in combinations(filters):
        check(
            database,
            queries._runs_query(args),
            queries.RUNS_ORDER,
            (period(50), NOW + dt.timedelta(minutes=50_042), "run-050042"),
            {"payroll_runs"},
        )


def test_payslips_of_a_run(database: Database) -> None:
    for args in combinations({"agent_id": agent(4242), "project_id": "p-0042"}):
        check(
            database,
            queries._payslips_query(args, run_id="run-000042"),
            queries.RUN_PAYSLIPS_ORDER,
            (agent(4242), "p-0042"),
            {"payslips"},
        )


def test_payslips_across_runs(database: Database) -> None:
    cursor = (period(50), "p-0042", agent(4242), "slip-004242")
    for args in combinations({"agent_id": agent(4242), "project_id": "p-0042", "period": period(50)}):
        check(database, queries._payslips_query(args), queries.PAYSLIPS_ORDER, cursor, {"payslips"})
    # an agent's own: its approved runs only, whatever else it filters on
    for args in combinations({"project_id": "p-0042", "period": period(50)}):
        stmt = queries._payslips_query({**args, "agent_id": agent(4242)}, approved_only=True)
        check(database, stmt, queries.PAYSLIPS_ORDER, cursor, {"payslips", "payroll_runs"})


def test_projects_and_agents(database: Database) -> None:
    for args in combinations({"status": "live"}):
        check(
            database,
            queries._projects_query(args),
            queries.PROJECTS_ORDER,
            ("shop 500", "p-000500"),
            {"projects"},
        )
    for args in combinations({"project_id": project(9), "agent_id": "a-000109"}):
        check(
            database,
            queries._agents_query(args),
            queries.AGENTS_ORDER,
            (project(9), "agent 109", "a-000109"),
            {"agents"},
        )
