"""Onboarding's lists are index reads on 100,000 rows (issue 16): the project list for each caller's scope
(the vendor side: every merchant; a merchant: its own) and every filter a caller sends (status, one or
several; merchant; go-live range; company-name text), alone and in pairs, on the first page and on an
``after`` page; a project's history and its materials likewise. The statements are the service's own
(``queries.list_statement`` and the orders ``paginate`` is given), sorted and limited as ``paginate`` does."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from services.onboarding import queries
from services.onboarding.models import Material, ProjectHistory
from services.onboarding.queries import ProjectFilters
from shared.db import Database
from shared.uow import Actor, UnitOfWork
from tests.plans import assert_index_plan, fill, list_statement, migrated

ROWS = 100_000
MERCHANTS = 200
START = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
STEP = dt.timedelta(minutes=15)
#: a service some years old: most orders are live or closed, a few are being prepared
STATUSES = ["closed"] * 40 + ["live"] * 35 + ["cancelled"] * 10 + ["confirmed"] * 6 + ["draft"] * 5
STATUSES += ["submitted"] * 3 + ["returned"]

VENDOR = Actor("v-1", "vendor")
MERCHANT = Actor("mu-7", "merchant", merchant_id="m7")
SCOPES = {"vendor": VENDOR, "merchant": MERCHANT}
#: a project near the middle of the list: where an ``after`` page continues from
MIDDLE = ROWS // 2


def _project(i: int) -> dict[str, Any]:
    created = START + STEP * i
    return {
        "id": f"p{i:06d}",
        "merchant_id": f"m{i % MERCHANTS}",
        "status": STATUSES[(i * 13) % len(STATUSES)],
        "version": 1,
        "faq_version": 0,
        "company_name": f"旗舰店 {i % 5000} shop",
        "hours_overnight": False,
        "materials_complete": False,
        "go_live_date": (created + dt.timedelta(days=14)).date(),
        "created_by": "merchant:u",
        "created_at": created,
        "updated_at": created,
    }


def _history(i: int) -> dict[str, Any]:
    return {
        "id": i + 1,
        "project_id": f"p{i // 5:06d}",  # five changes a project
        "at": START + STEP * i,
        "actor_sub": "u",
        "actor_role": "merchant",
        "action": "updated",
    }


def _material(i: int) -> dict[str, Any]:
    return {
        "id": f"mat{i:06d}",
        "project_id": f"p{i // 4:06d}",  # four files a project
        "filename": "manual.pdf",
        "kind": "pdf",
        "content_type": "application/pdf",
        "size": 1000,
        "sha256": f"{i:064x}",
        "uploaded_by": "u",
        "uploaded_by_role": "merchant",
        "uploaded_at": START + STEP * i,
    }


@pytest.fixture(scope="module")
def database(make_database: Callable[[str], str]) -> Database:
    db = migrated(make_database, "onboarding")
    fill(db, "projects", ROWS, _project)
    fill(db, "project_history", ROWS, _history)
    fill(db, "materials", ROWS, _material)
    return db


def _filters() -> list[tuple[str, dict[str, Any]]]:
    """Each filter a caller sends, alone, then every pair of different filters."""
    single: list[tuple[str, dict[str, Any]]] = [
        *((f"status={s}", {"statuses": (s,)}) for s in sorted(set(STATUSES))),
        ("status=draft,submitted,returned", {"statuses": ("draft", "submitted", "returned")}),
        ("status=confirmed,live", {"statuses": ("confirmed", "live")}),
        ("merchant", {"merchant_id": "m42"}),
        ("go_live, one month", {"go_live_from": dt.date(2024, 3, 1), "go_live_to": dt.date(2024, 3, 31)}),
        ("go_live_from", {"go_live_from": dt.date(2025, 6, 1)}),
        ("go_live_to", {"go_live_to": dt.date(2023, 6, 1)}),
        ("q", {"text": "旗舰店 42"}),
    ]
    pairs = [
        (f"{a} & {b}", {**fa, **fb})
        for (a, fa), (b, fb) in itertools.combinations(single, 2)
        if not set(fa) & set(fb)
    ]
    return [("no filter", {}), *single, *pairs]


FILTERS = _filters()


@pytest.mark.parametrize("scope", list(SCOPES))
@pytest.mark.parametrize(("name", "given"), FILTERS, ids=[name for name, _ in FILTERS])
def test_the_project_list_reads_an_index(
    database: Database, scope: str, name: str, given: dict[str, Any]
) -> None:
    uow = UnitOfWork(None, actor=SCOPES[scope])  # type: ignore[arg-type]  # the statement reads no session
    stmt = queries.list_statement(uow, ProjectFilters(**given))
    middle = _project(MIDDLE)
    assert_index_plan(database, list_statement(stmt, queries.LIST_ORDER), {"projects"})
    after = (middle["created_at"], middle["id"])
    assert_index_plan(database, list_statement(stmt, queries.LIST_ORDER, after=after), {"projects"})


def test_a_project_history_reads_an_index(database: Database) -> None:
    stmt = select(ProjectHistory).where(ProjectHistory.project_id == "p001234")
    assert_index_plan(database, list_statement(stmt, queries.HISTORY_ORDER), {"project_history"})
    after = list_statement(stmt, queries.HISTORY_ORDER, after=(1234 * 5 + 2,))
    assert_index_plan(database, after, {"project_history"})


def test_a_project_materials_read_an_index(database: Database) -> None:
    stmt = select(Material).where(Material.project_id == "p001234")
    assert_index_plan(database, list_statement(stmt, queries.MATERIAL_ORDER), {"materials"})
    after = list_statement(stmt, queries.MATERIAL_ORDER, after=(START + STEP * (1234 * 4 + 1), "mat004937"))
    assert_index_plan(database, after, {"materials"})
