"""The complaint list is an index range read on 100,000 complaints (issue 16) for each caller's scope
(vendor side: everything; merchant: its own; agent: assigned to or recorded by them) and the filters a
caller sends: every value of each filter alone, and every pair and triple of filters, on the first page
and on an ``after`` page. The statement is the service's own (``queries.list_query``), sorted and limited
exactly as ``paginate`` does."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from services.complaints import domain, queries
from shared.db import Database
from shared.uow import Actor
from tests.plans import assert_index_plan, fill, list_statement, migrated

ROWS = 100_000
PROJECTS = 500
MERCHANTS = 50
AGENTS = 2_000
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
STEP = dt.timedelta(minutes=5)
#: a long-lived service: most complaints are closed, a few percent are being worked
STATUSES = ["closed"] * 80 + ["resolved"] * 12 + ["open"] * 2 + ["in_progress"] * 3 + ["waiting_customer"] * 2
STATUSES += ["reopened"]
LEVELS = ["agent"] * 16 + ["supervisor"] * 3 + ["manager"]
SEVERITIES = ["low"] * 6 + ["normal"] * 11 + ["high"] * 2 + ["urgent"]
CHANNELS = ["chat"] * 8 + ["phone"] * 6 + ["email"] * 3 + ["platform"] * 2 + ["in_person"]

VENDOR = Actor("v-1", "vendor")
MERCHANT = Actor("mu-7", "merchant", merchant_id="m7")
AGENT = Actor("a70", "agent")
SCOPES = {"vendor": VENDOR, "merchant": MERCHANT, "agent": AGENT}


def _pick(values: list[str], i: int, stride: int) -> str:
    # different strides keep the columns from moving in lockstep
    return values[(i * stride) % len(values)]


def _complaint(i: int) -> dict[str, Any]:
    created = START + STEP * i
    level = _pick(LEVELS, i, 7)
    agent = f"a{i % AGENTS}" if i % 10 else None
    assignee = {"agent": agent or f"a{(i + 1) % AGENTS}", "supervisor": f"s{i % 50}", "manager": f"g{i % 10}"}
    creator = [agent or f"a{i % AGENTS}", f"v{i % 5}", f"mu-{i % MERCHANTS}"][i % 10 // 7 + (i % 10 == 9)]
    return {
        "id": f"cmp{i:06d}",
        "number": f"TS{created:%Y%m%d}-{i % 288 + 1:04d}",
        "project_id": f"p{i % PROJECTS:04d}",
        "merchant_id": f"m{i % PROJECTS % MERCHANTS}",
        "channel": _pick(CHANNELS, i, 3),
        "category": domain.CATEGORIES[i % len(domain.CATEGORIES)],
        "about_staff": i % 10 < 3,
        "agent_id": agent,
        "customer_ref": f"C{i * 7 % 60_000}" if i % 5 < 3 else None,
        "description": "customer complaint",
        "severity": _pick(SEVERITIES, i, 11),
        "status": _pick(STATUSES, i, 13),
        "level": level,
        "assignee": assignee[level],
        "due_at": created + dt.timedelta(days=1),
        "due_at_source": "policy",
        "sla_started_at": created,
        "half_time_at": created + dt.timedelta(hours=12),
        "paused_seconds": 0.0,
        "breached": i % 20 == 0,
        "first_response_due_at": created + dt.timedelta(hours=2),
        "agent_at_fault": False,
        "reopen_count": 0,
        "created_by": creator,
        "created_by_role": "agent",
        "created_at": created,
        "updated_at": created,
    }


@pytest.fixture(scope="module")
def database(make_database: Callable[[str], str]) -> Iterator[Database]:
    db = migrated(make_database, "complaints")
    fill(
        db,
        "project_agents",
        AGENTS,
        lambda i: {
            "project_id": f"p{i % PROJECTS:04d}",
            "agent_id": f"a{i % AGENTS}",
            "name": f"agent {i}",
            "updated_at": START,
        },
    )
    fill(db, "complaints", ROWS, _complaint)
    yield db
    db.dispose()


MIDDLE = _complaint(ROWS // 2)
#: a representative value of each filter (``dates`` stands for the from/to pair)
FILTERS: dict[str, dict[str, Any]] = {
    "project_id": {"project_id": "p0007"},
    "status": {"status": "in_progress"},
    "level": {"level": "supervisor"},
    "category": {"category": "refund"},
    "severity": {"severity": "high"},
    "channel": {"channel": "email"},
    "agent_id": {"agent_id": "a70"},
    "assignee": {"assignee": "s7"},
    "breached": {"breached": True},
    "about_staff": {"about_staff": False},
    "number": {"number": MIDDLE["number"]},
    "customer_ref": {"customer_ref": "C1234"},
    "active": {"active": True},
    "dates": {"from_": dt.date(2025, 6, 1), "to": dt.date(2025, 6, 30)},
}
#: every value a caller can send of the enumerated filters
EVERY_VALUE = (
    [{"status": s} for s in domain.STATUSES]
    + [{"level": v} for v in domain.LEVELS]
    + [{"category": v} for v in domain.CATEGORIES]
    + [{"severity": v} for v in domain.SEVERITIES]
    + [{"channel": v} for v in domain.CHANNELS]
    + [{name: flag} for name in ("breached", "about_staff", "active") for flag in (True, False)]
)


def _failures(database: Database, actor: Actor, combos: list[dict[str, Any]]) -> list[str]:
    failed = []
    for args in combos:
        stmt = queries.list_query(actor, args)
        for after in (None, (MIDDLE["created_at"], MIDDLE["number"])):
            try:
                assert_index_plan(
                    database, list_statement(stmt, queries.COMPLAINT_ORDER, after=after), {"complaints"}
                )
            except AssertionError as exc:
                failed.append(f"{args} after={after is not None}: {str(exc)[:3000]}")
    return failed


def _combos(size: int) -> list[dict[str, Any]]:
    combos = []
    for names in itertools.combinations(FILTERS, size):
        args: dict[str, Any] = {}
        for name in names:
            args.update(FILTERS[name])
        combos.append(args)
    return combos


@pytest.mark.parametrize("scope", SCOPES)
def test_no_filter_and_every_value_of_one_filter(database: Database, scope: str) -> None:
    combos = [{}, *EVERY_VALUE, *_combos(1)]
    failed = _failures(database, SCOPES[scope], combos)
    assert not failed, f"{len(failed)} of {2 * len(combos)} plans read no index:\n" + "\n".join(failed[:3])


@pytest.mark.parametrize("size", [2, 3])
@pytest.mark.parametrize("scope", SCOPES)
def test_every_combination_of_filters(database: Database, scope: str, size: int) -> None:
    combos = _combos(size)
    failed = _failures(database, SCOPES[scope], combos)
    assert not failed, f"{len(failed)} of {2 * len(combos)} plans read no index:\n" + "\n".join(failed[:3])
