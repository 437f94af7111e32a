"""Every list the scheduling service serves from a table is an index range read on 100,000 rows (issue 16):
a project's roster versions, a project's surges (all, or by status) and timesheet entries (every
combination of project, agent, period and history, as a vendor, a merchant and an agent), on the first
page and on an ``after`` page. The statements and sorts are the service's own (``queries.*``), sorted and
limited exactly as ``paginate`` does.

The pool and the roster in force are not table lists: they are computed per project (the pool's order,
the newest published version of each date) and paged in memory."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

import pytest

from services.scheduling import queries
from shared.db import Database
from shared.uow import Actor
from tests.plans import (
    assert_pages_use_index,
    fill,
    filter_subsets,
    migrated,
)

ROWS = 100_000
PROJECTS = 2_000
MERCHANTS = 50
AGENTS = 5_000
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
FIRST_DAY = dt.date(2025, 1, 1)
#: most surges are decided and done; a few are cancelled or refused
SURGE_STATUSES = ["accepted"] * 6 + ["rejected"] * 3 + ["cancelled"]

VENDOR = Actor("v-1", "vendor")
MERCHANT = Actor("mu-7", "merchant", merchant_id="m7")
AGENT = Actor("a70", "agent")


def _project(i: int) -> str:
    return f"p{i % PROJECTS:05d}"


def _roster(i: int) -> dict[str, Any]:
    day = FIRST_DAY + dt.timedelta(days=i // PROJECTS)
    return {
        "id": f"r{i:07d}",
        "project_id": _project(i),
        "version": i // PROJECTS + 1,
        "date_from": day,
        "date_to": day + dt.timedelta(days=6),
        "status": "published",
        "reason": "generated",
        "method": "cp-sat",
        "solver_status": "OPTIMAL",
        "solve_seconds": 0.5,
        "binding_rules": [],
        "created_at": START + dt.timedelta(minutes=i),
    }


def _surge(i: int) -> dict[str, Any]:
    day = FIRST_DAY + dt.timedelta(days=i // PROJECTS)
    return {
        "id": f"s{i:07d}",
        "project_id": _project(i),
        "start_date": day,
        "end_date": day + dt.timedelta(days=3),
        "increase_pct": Decimal("20"),
        "status": SURGE_STATUSES[i % len(SURGE_STATUSES)],
        "notice_days": 5,
        "extra_seats": 2,
        "covered": 2,
        "uncovered": 0,
        "rule": "surge-small",
        "reason": "ok",
        "created_at": START + dt.timedelta(minutes=i),
    }


def _timesheet(i: int) -> dict[str, Any]:
    # a year of days, 200 projects, 5,000 agents; one entry in 20 was re-entered (superseded)
    return {
        "id": f"t{i:07d}",
        "project_id": f"p{i % 200:05d}",
        "agent_id": f"a{i % AGENTS}",
        "date": FIRST_DAY + dt.timedelta(days=i % 365),
        "hours": Decimal("8.00"),
        "recorded_at": START + dt.timedelta(minutes=i),
        "superseded_at": START + dt.timedelta(minutes=i + 1) if i % 20 == 0 else None,
    }


@pytest.fixture(scope="module")
def database(make_database: Callable[[str], str]) -> Iterator[Database]:
    db = migrated(make_database, "scheduling")
    fill(
        db,
        "projects",
        PROJECTS,
        lambda i: {
            "id": _project(i),
            "merchant_id": f"m{i % MERCHANTS}",
            "seats": 10,
            "service_start": "09:00",
            "service_end": "21:00",
            "status": "confirmed",
            "updated_at": START,
        },
    )
    fill(db, "rosters", ROWS, _roster)
    fill(db, "surges", ROWS, _surge)
    fill(db, "timesheet_entries", ROWS, _timesheet)
    fill(db, "kpi_standings", ROWS, _standing)
    yield db
    db.dispose()


def _standing(i: int) -> dict[str, Any]:
    # five agents a project; one in twenty flagged
    return {
        "project_id": _project(i // 5),
        "agent_id": f"a{i:06d}",
        "period": "2026-11",
        "score": Decimal("55.00") if i % 20 == 0 else Decimal("80.00"),
        "below_threshold_streak": 2 if i % 20 == 0 else 0,
        "warning": i % 20 == 0,
        "version": 1,
        "updated_at": START,
    }


def _cursor(row: Mapping[str, Any], order_by: tuple[Any, ...]) -> tuple[Any, ...]:
    """The values an ``after`` cursor holds: the sort key of a row in the middle of the table."""
    return tuple(row[getattr(o, "element", o).key] for o in order_by)


def _check_both_pages(
    database: Database, stmt: Any, order_by: tuple[Any, ...], row: Mapping[str, Any]
) -> None:
    tables = {"rosters", "surges", "timesheet_entries", "kpi_standings"}
    assert_pages_use_index(database, stmt, order_by, _cursor(row, order_by), tables)


def test_roster_versions_read_an_index(database: Database) -> None:
    stmt = queries.roster_version_query(_project(7))
    _check_both_pages(database, stmt, queries.ROSTER_VERSION_ORDER, _roster(ROWS // 2 + 7))


@pytest.mark.parametrize("status", [None, "accepted", "rejected", "cancelled"])
def test_surge_lists_read_an_index(database: Database, status: str | None) -> None:
    stmt = queries.surge_list_query(_project(7), {"status": status})
    _check_both_pages(database, stmt, queries.SURGE_ORDER, _surge(ROWS // 2 + 7))


@pytest.mark.parametrize("every", [False, True], ids=["flagged", "all"])
def test_kpi_warning_lists_read_an_index(database: Database, every: bool) -> None:
    stmt = queries.kpi_warning_query(_project(7), {"all": every})
    _check_both_pages(database, stmt, queries.KPI_ORDER, _standing(37))


TIMESHEET_FILTERS = {
    "project_id": "p00070",
    "agent_id": "a70",
    "from_": FIRST_DAY + dt.timedelta(days=30),
    "to": FIRST_DAY + dt.timedelta(days=200),
}


@pytest.mark.parametrize("include_history", [False, True], ids=["current", "history"])
@pytest.mark.parametrize("actor", [VENDOR, MERCHANT, AGENT], ids=["vendor", "merchant", "agent"])
@pytest.mark.parametrize("args", filter_subsets(TIMESHEET_FILTERS))
def test_timesheet_lists_read_an_index(
    database: Database, args: dict[str, Any], actor: Actor, include_history: bool
) -> None:
    args = {**args, "include_history": include_history}
    agent_only = actor.sub if actor.role == "agent" else None
    stmt = queries.timesheet_query(args, merchant_id=actor.merchant_id, agent_only=agent_only)
    order = queries.timesheet_order(args, agent_only=agent_only)
    _check_both_pages(database, stmt, order, _timesheet(ROWS // 2 + 70))
