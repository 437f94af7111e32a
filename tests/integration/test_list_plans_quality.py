"""Query plans of the quality service's lists on 100,000 rows: figures, conversations, reviews, KPI scores
and scorecards, for every filter combination a caller can send (each list but the scorecards' is of one
project: ``project_id`` is required), every value of an enumerated filter, and each caller's scope (the
vendor's side; a merchant limited to its own projects), on the first page and on an ``after`` page. The
statements are the service's own (``queries.*_query``), sorted and limited exactly as ``paginate`` does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from services.quality import domain, queries
from services.quality.config import QualitySettings
from services.quality.machine_qa import FLAGS
from shared.db import Database
from shared.uow import Actor
from tests.plans import assert_pages_use_index, fill, filter_subsets, migrated

ROWS = 100_000
PROJECTS = 100  # the projects the rows belong to: a thousand rows each per table
ALL_PROJECTS = 20_000  # the projects table: every project the vendor ever ran
MERCHANTS = 50
AGENTS = 50
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
FIRST_DAY = START.date()
OUTCOMES = ["ordered", "lost", "none", "none"]
METHODS = ["chat_sampling", "chat_sampling", "review_back_check", "data_analysis"]
TIERS = ["team_leader", "team_leader", "supervisor", "manager"]

VENDOR = Actor("v-1", "vendor")
MERCHANT = Actor("mu-7", "merchant", merchant_id="m7")
PROJECT = "p00007"  # m7's
TABLES = {"agent_days", "conversations", "reviews", "kpi_scores", "scorecards", "project_agents", "projects"}


def _project(i: int) -> str:
    return f"p{i % PROJECTS:05d}"


def _agent_day(i: int) -> dict[str, Any]:
    # i = 5,000·day + 100·agent + project: unique (project, date, agent)
    return {
        "project_id": _project(i),
        "agent_id": f"a{(i // PROJECTS) % AGENTS}",
        "date": FIRST_DAY + dt.timedelta(days=i // (PROJECTS * AGENTS)),
        "receptions": 100,
        "inquiries": 60,
        "orders": 18,
        "first_response_seconds": Decimal("12"),
        "avg_response_seconds": Decimal("25"),
        "sales_amount": Decimal("3600.00"),
        "votes_very_satisfied": 18,
        "votes_satisfied": 1,
        "votes_neutral": 1,
        "votes_unsatisfied": 0,
        "votes_very_unsatisfied": 0,
        "quality_refunds": 0,
        "help_requests": 0,
        "import_id": "imp",
        "updated_at": START,
    }


def _conversation(i: int) -> dict[str, Any]:
    started = START + dt.timedelta(minutes=3 * i)
    flagged = i % 7 == 0
    return {
        "id": f"c{i:06d}",
        "project_id": _project(i),
        "external_id": f"e{i}",
        "agent_id": f"a{(i // PROJECTS) % AGENTS}",
        "customer": None,
        "date": started.date(),
        "started_at": started,
        "outcome": OUTCOMES[i % len(OUTCOMES)],
        "messages": [],
        "message_count": 2,
        "first_response_seconds": 10.0,
        "avg_response_seconds": 20.0,
        "unanswered": 0,
        "sentiment": None,
        "flags": [FLAGS[i // 7 % len(FLAGS)]] if flagged else [],
        "findings": [],
        "needs_review": flagged,
        "reviewed": i % 21 == 0,
        "import_id": "imp",
        "created_at": started,
        "updated_at": started,
    }


def _review(i: int) -> dict[str, Any]:
    created = START + dt.timedelta(minutes=3 * i)
    return {
        "id": f"r{i:06d}",
        "project_id": _project(i),
        "agent_id": f"a{(i // PROJECTS) % AGENTS}",
        "conversation_id": f"c{i:06d}",
        "scorecard_id": "sc-1",
        "date": created.date(),
        "method": METHODS[i % len(METHODS)],
        "tier": TIERS[(i // 3) % len(TIERS)],
        "reviewer": "qa-1",
        "points": {},
        "areas": {},
        "total": 90,
        "max_total": 100,
        "percent": Decimal("90.00"),
        "problems": [],
        "good_cases": [],
        "note": None,
        "created_at": created,
    }


def _period(m: int) -> str:
    return f"{2024 + m // 12}-{m % 12 + 1:02d}"


def _kpi(i: int) -> dict[str, Any]:
    # i = 2,400·agent + 100·month + project: unique (project, period, agent); 24 months, 41 agents
    return {
        "project_id": _project(i),
        "period": _period((i // PROJECTS) % 24),
        "agent_id": f"a{i // (PROJECTS * 24)}",
        "score": Decimal("81.50"),
        "data": Decimal("80"),
        "performance": Decimal("90"),
        "execution": Decimal("70"),
        "weights": {},
        "missing": [],
        "indicators": [],
        "targets": {},
        "targets_met": True,
        "reviews": 1,
        "below_threshold_streak": 2 if i % 13 == 0 else 0,
        "version": 1,
        "scored_at": START,
    }


def _scorecard(i: int) -> dict[str, Any]:
    # the vendor's default now and then (every 1,000th version), else five versions of each project's own
    return {
        "id": f"s{i:06d}",
        "project_id": None if i % 1000 == 0 else f"p{i % ALL_PROJECTS:05d}",
        "source": "vendor" if i % 1000 == 0 else "merchant",
        "name": "scorecard",
        "items": [],
        "max_points": 100,
        "version": i // ALL_PROJECTS + 1,
        "created_at": START + dt.timedelta(minutes=i),
        "created_by": "qa-1",
    }


@pytest.fixture(scope="module")
def database(make_database: Callable[[str], str]) -> Iterator[Database]:
    db = migrated(make_database, "quality")
    fill(
        db,
        "projects",
        ALL_PROJECTS,
        lambda i: {
            "project_id": f"p{i:05d}",
            "merchant_id": f"m{i % MERCHANTS}",
            "company_name": f"shop {i}",
            "qa_merchant_standard": False,
            "confirmed": True,
            "closed": False,
            "updated_at": START,
        },
    )
    fill(
        db,
        "project_agents",
        PROJECTS * AGENTS,
        lambda i: {
            "project_id": _project(i),
            "agent_id": f"a{i // PROJECTS}",
            "name": f"agent {i}",
            "updated_at": START,
        },
    )
    fill(db, "agent_days", ROWS, _agent_day)
    fill(db, "conversations", ROWS, _conversation)
    fill(db, "reviews", ROWS, _review)
    fill(db, "kpi_scores", ROWS, _kpi)
    fill(db, "scorecards", ROWS, _scorecard)
    yield db
    db.dispose()


def _cursor(row: dict[str, Any], order_by: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(row[getattr(o, "element", o).key] for o in order_by)


ACTORS = pytest.mark.parametrize("actor", [VENDOR, MERCHANT], ids=["vendor", "merchant"])
RANGE = {
    "agent_id": "a7",
    "from_": FIRST_DAY + dt.timedelta(days=5),
    "to": FIRST_DAY + dt.timedelta(days=200),
}


@ACTORS
@pytest.mark.parametrize("args", filter_subsets(RANGE))
def test_agent_day_lists_read_an_index(database: Database, actor: Actor, args: dict[str, Any]) -> None:
    stmt = queries.agent_day_query(actor, {"project_id": PROJECT, **args})
    row = _agent_day(ROWS // 2 + 7)
    assert_pages_use_index(
        database, stmt, queries.AGENT_DAY_ORDER, _cursor(row, queries.AGENT_DAY_ORDER), TABLES
    )


CONVERSATION_FILTERS = {
    **RANGE,
    "needs_review": True,
    "reviewed": False,
    "outcome": "lost",
    "flag": "slow_first_response",
}


@ACTORS
@pytest.mark.parametrize("args", filter_subsets(CONVERSATION_FILTERS))
def test_conversation_lists_read_an_index(database: Database, actor: Actor, args: dict[str, Any]) -> None:
    stmt = queries.conversation_query(actor, {"project_id": PROJECT, **args})
    row = _conversation(ROWS // 2 + 7)
    order = queries.CONVERSATION_ORDER
    assert_pages_use_index(database, stmt, order, _cursor(row, order), TABLES)


REVIEW_FILTERS = {**RANGE, "method": "data_analysis", "tier": "manager"}


@ACTORS
@pytest.mark.parametrize("args", filter_subsets(REVIEW_FILTERS))
def test_review_lists_read_an_index(database: Database, actor: Actor, args: dict[str, Any]) -> None:
    stmt = queries.review_query(actor, {"project_id": PROJECT, **args})
    row = _review(ROWS // 2 + 7)
    assert_pages_use_index(database, stmt, queries.REVIEW_ORDER, _cursor(row, queries.REVIEW_ORDER), TABLES)


KPI_FILTERS = {"period": "2025-06", "agent_id": "a7", "warning": True}


@ACTORS
@pytest.mark.parametrize("args", filter_subsets(KPI_FILTERS))
def test_kpi_lists_read_an_index(database: Database, actor: Actor, args: dict[str, Any]) -> None:
    stmt = queries.kpi_query(actor, {"project_id": PROJECT, **args}, QualitySettings())
    row = _kpi(ROWS // 2 + 7)
    assert_pages_use_index(database, stmt, queries.KPI_ORDER, _cursor(row, queries.KPI_ORDER), TABLES)


@ACTORS
@pytest.mark.parametrize("args", filter_subsets({"project_id": PROJECT}))
def test_scorecard_lists_read_an_index(database: Database, actor: Actor, args: dict[str, Any]) -> None:
    stmt = queries.scorecard_query(actor, args)
    row = _scorecard(ROWS // 2 + 7)
    order = queries.SCORECARD_ORDER
    assert_pages_use_index(database, stmt, order, _cursor(row, order), TABLES)


#: every value a caller can send of the enumerated filters, alone: (list, filter)
EVERY_VALUE = (
    [pytest.param("conversations", {"flag": f}, id=f"flag={f}") for f in FLAGS]
    + [pytest.param("conversations", {"outcome": o}, id=f"outcome={o}") for o in domain.OUTCOMES]
    + [
        pytest.param("conversations", {name: flag}, id=f"{name}={flag}")
        for name in ("needs_review", "reviewed")
        for flag in (True, False)
    ]
    + [pytest.param("reviews", {"method": m}, id=f"method={m}") for m in domain.METHODS]
    + [pytest.param("reviews", {"tier": t}, id=f"tier={t}") for t in domain.TIERS]
    + [pytest.param("kpi_scores", {"warning": flag}, id=f"warning={flag}") for flag in (True, False)]
)


@ACTORS
@pytest.mark.parametrize(("table", "args"), EVERY_VALUE)
def test_every_value_of_a_filter_reads_an_index(
    database: Database, actor: Actor, table: str, args: dict[str, Any]
) -> None:
    args = {"project_id": PROJECT, **args}
    if table == "conversations":
        stmt, order, row = queries.conversation_query(actor, args), queries.CONVERSATION_ORDER, _conversation
    elif table == "reviews":
        stmt, order, row = queries.review_query(actor, args), queries.REVIEW_ORDER, _review
    else:
        stmt, order, row = queries.kpi_query(actor, args, QualitySettings()), queries.KPI_ORDER, _kpi
    assert_pages_use_index(database, stmt, order, _cursor(row(ROWS // 2 + 7), order), TABLES)
