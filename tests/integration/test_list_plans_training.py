"""Every list the training service serves is an index range read on 100,000 rows (issue 16): cohorts,
a cohort's trainees and retraining records, for every filter combination a caller can send and each
caller's scope, on the first page and on an ``after`` page. The statements are the services' own
(``queries.*_list_query``), sorted and limited exactly as ``paginate`` does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from services.training import queries
from shared.db import Database
from shared.uow import Actor
from tests.plans import (
    assert_pages_use_index,
    fill,
    filter_subsets,
    migrated,
)

ROWS = 100_000
PROJECTS = 20_000
MERCHANTS = 50
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
#: completed cohorts dominate a long-lived service; the open ones are the few being worked
COHORT_STATUSES = ["completed"] * 17 + ["cancelled", "planned", "in_training", "assessing"]
TRAINEE_STATUSES = ["admitted"] * 4 + ["failed", "passed_waitlisted", "withdrawn", "enrolled", "not_assessed"]
TRAINEES_PER_COHORT = 50

VENDOR = Actor("v-1", "vendor")
MERCHANT = Actor("mu-7", "merchant", merchant_id="m7")
AGENT = Actor("a70", "agent")


def _project(i: int) -> str:
    return f"p{i % PROJECTS:05d}"


def _merchant(i: int) -> str:
    return f"m{i % PROJECTS % MERCHANTS}"


def _cohort(i: int) -> dict[str, Any]:
    created = START + dt.timedelta(minutes=5 * i)
    return {
        "id": f"c{i:06d}",
        "project_id": _project(i),
        "merchant_id": _merchant(i),
        "sequence": i // PROJECTS + 1,
        "status": COHORT_STATUSES[i % len(COHORT_STATUSES)],
        "target": 20,
        "training_days": 3,
        "start_date": created.date(),
        "end_date": created.date() + dt.timedelta(days=3),
        "pass_mark_quiz": Decimal("60"),
        "pass_mark_simulation": Decimal("60"),
        "courseware_status": "confirmed",
        "created_at": created,
    }


def _trainee(i: int) -> dict[str, Any]:
    cohort = i // TRAINEES_PER_COHORT
    return {
        "id": f"t{i:06d}",
        "cohort_id": f"c{cohort:06d}",
        "project_id": _project(cohort),
        "candidate_id": f"a{i % 30_000}",
        "name": f"trainee {i}",
        "skills": [],
        "shifts_available": [],
        "enrolment_seq": i % TRAINEES_PER_COHORT + 1,
        "enrolled_at": START + dt.timedelta(minutes=i),
        "status": TRAINEE_STATUSES[i % len(TRAINEE_STATUSES)],
    }


def _retraining(i: int) -> dict[str, Any]:
    # a third opened by QA findings (no complaint), the rest by upheld complaints
    qa = i % 3 == 0
    return {
        "id": f"r{i:06d}",
        "source": "qa" if qa else "complaint",
        "complaint_id": None if qa else f"cmp{i:06d}",
        "complaint_number": None if qa else f"TS{i:08d}",
        "project_id": _project(i),
        "merchant_id": _merchant(i),
        "agent_id": f"a{i % 20_000}",
        "penalty": None if qa else Decimal("50.00"),
        "findings": [{"review_id": f"rv{i}", "problems": ["slow"], "good_cases": []}] if qa else None,
        # records close within days of opening: the open ones are the newest few
        "status": "open" if i % 10 == 0 else "closed",
        "opened_at": START + dt.timedelta(minutes=5 * i),
    }


@pytest.fixture(scope="module")
def database(make_database: Callable[[str], str]) -> Iterator[Database]:
    db = migrated(make_database, "training")
    fill(
        db,
        "projects",
        PROJECTS,
        lambda i: {
            "project_id": _project(i),
            "merchant_id": _merchant(i),
            "company_name": f"shop {i}",
            "assessor": "merchant" if i % 3 == 0 else "vendor",
            "confirmed": True,
            "closed": False,
            "created_at": START,
            "updated_at": START,
        },
    )
    fill(db, "cohorts", ROWS, _cohort)
    fill(db, "trainees", ROWS, _trainee)
    fill(db, "retrainings", ROWS, _retraining)
    yield db
    db.dispose()


COHORT_FILTERS = {"merchant_id": "m7", "project_id": _project(7), "status": "completed"}


@pytest.mark.parametrize("actor", [VENDOR, MERCHANT], ids=["vendor", "merchant"])
@pytest.mark.parametrize("args", filter_subsets(COHORT_FILTERS))
def test_cohort_lists_read_an_index(database: Database, actor: Actor, args: dict[str, Any]) -> None:
    stmt = queries.cohort_list_query(actor, args)
    mid = _cohort(ROWS // 2)
    # the trainee counts of each listed cohort are read through an index too
    assert_pages_use_index(
        database, stmt, queries.COHORT_ORDER, (mid["created_at"], mid["id"]), {"cohorts", "trainees"}
    )


@pytest.mark.parametrize("actor", [VENDOR, MERCHANT], ids=["vendor", "merchant"])
@pytest.mark.parametrize("status", [None, "admitted", "withdrawn"])
def test_trainee_lists_read_an_index(database: Database, actor: Actor, status: str | None) -> None:
    cohort_id = _cohort(7)["id"]
    stmt = queries.trainee_list_query(actor, cohort_id, {"status": status})
    assert_pages_use_index(database, stmt, queries.TRAINEE_ORDER, (10, "t000359"), {"trainees", "cohorts"})


RETRAINING_FILTERS = {"project_id": _project(70), "agent_id": "a70", "status": "open", "source": "qa"}


@pytest.mark.parametrize("actor", [VENDOR, MERCHANT, AGENT], ids=["vendor", "merchant", "agent"])
@pytest.mark.parametrize("args", filter_subsets(RETRAINING_FILTERS))
def test_retraining_lists_read_an_index(database: Database, actor: Actor, args: dict[str, Any]) -> None:
    stmt = queries.retraining_list_query(actor, args)
    mid = _retraining(ROWS // 2)
    assert_pages_use_index(
        database, stmt, queries.RETRAINING_ORDER, (mid["opened_at"], mid["id"]), {"retrainings"}
    )
