"""Recruitment's reads are index range reads on 100,000 rows (issue 16).

- Matching: each skill slot's ranking (``requisitions.ranking_query``) reads ``ix_candidates_matching`` in
  rank order and stops at its LIMIT; nothing sorts the pool. Checked as the statement is compiled for
  PostgreSQL with literal values, and as it is really sent (bound parameters), for a project with a
  platform and categories, with one of them, with neither, and with people passed over.
- The lists: the talent pool for every combination of its nine filters, and requisitions for every
  combination of theirs, on the first page and on an ``after`` page. The statements are the service's own
  (``queries.*_query``), sorted and limited exactly as ``paginate`` does.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Select
from sqlalchemy.dialects import postgresql

from services.recruitment import domain, queries, requisitions
from shared.db import Database
from tests.plans import (
    assert_index_plan,
    fill,
    filter_subsets,
    list_statement,
    migrated,
)

ROWS = 100_000
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
CITIES = ["杭州", "上海", "成都", "武汉", "合肥", "南京", "苏州", "西安", "长沙", "郑州"]
PLATFORMS = [[], ["taobao"], ["jd"], ["pinduoduo"], ["douyin"], ["taobao", "jd"], ["jd", "douyin"]]
CATEGORIES = [[], ["服装"], ["美妆"], ["数码"], ["食品"], ["服装", "美妆"], ["数码", "家居"]]
#: a pool that has been used for a while: most people are free, some are reserved, working or retired
CANDIDATE_STATUSES = ["available"] * 14 + ["matched", "in_training", "assigned", "assigned", "inactive"]
REQUISITION_STATUSES = ["filled"] * 12 + ["closed"] * 6 + ["short", "overdue"]
REASONS = ["project_confirmed"] * 6 + ["training_shortfall", "reserve_shortfall", "surge"]
PROJECTS = 5_000


def _tags(values: list[str]) -> str:
    return "|" + "".join(f"{v}|" for v in values)


def _candidate(i: int) -> dict[str, Any]:
    platforms = PLATFORMS[i * 3 % len(PLATFORMS)]
    categories = CATEGORIES[i * 5 % len(CATEGORIES)]
    return {
        "id": str(uuid.UUID(int=i)),
        "name": f"候选人{i}",
        "phone": f"13{i:09d}",
        "skill_mask": [1, 1, 1, 2, 3][i % 5],
        "shift_mask": 1 + i * 11 % 7,
        "categories": categories,
        "platforms": platforms,
        "category_tags": _tags(categories),
        "platform_tags": _tags(platforms),
        "basic_training_passed": i % 5 != 0,
        "basic_score": Decimal(4000 + i * 37 % 6001) / 100,
        "city": CITIES[i * 7 % len(CITIES)],
        "experience_months": i * 13 % 49,
        "notes": "夜班优先" if i % 50 == 0 else None,
        "status": CANDIDATE_STATUSES[i * 3 % len(CANDIDATE_STATUSES)],
        "created_at": START + dt.timedelta(minutes=i),
        "updated_at": START + dt.timedelta(minutes=i),
    }


def _requisition(i: int) -> dict[str, Any]:
    created = START + dt.timedelta(minutes=7 * i)
    return {
        "id": str(uuid.UUID(int=i)),
        "project_id": f"p{i % PROJECTS:05d}",
        "merchant_id": f"m{i % 50}",
        "reason": REASONS[i * 7 % len(REASONS)],
        "source_ref": f"ref:{i}",
        "cohort_id": None,
        "seats": 10,
        "ratio": Decimal(3),
        "target": 30,
        "matched": 30,
        "due_date": created.date(),
        "status": REQUISITION_STATUSES[i * 3 % len(REQUISITION_STATUSES)],
        "created_at": created,
        "updated_at": created,
    }


def _match(i: int) -> dict[str, Any]:
    return {
        "id": str(uuid.UUID(int=i)),
        "requisition_id": str(uuid.UUID(int=i // 30)),
        "candidate_id": str(uuid.UUID(int=i * 7 % ROWS)),
        "project_id": f"p{i // 30 % PROJECTS:05d}",
        "skill": "presale",
        "score": Decimal(80),
        "rank": i % 30 + 1,
        "matched_at": START,
        "outcome": ["admitted", "not_admitted", "released"][i % 3],
    }


@pytest.fixture(scope="module")
def database(make_database: Callable[[str], str]) -> Iterator[Database]:
    db = migrated(make_database, "recruitment")
    fill(db, "candidates", ROWS, _candidate)
    fill(db, "requisitions", ROWS, _requisition)
    fill(db, "matches", 30_000, _match)
    yield db
    db.dispose()


# --- matching ------------------------------------------------------------------------------------------


def _plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


def _bound_plan(database: Database, stmt: Select[Any]) -> dict[str, Any]:
    """EXPLAIN of the statement as the application sends it: bound parameters, not literals."""
    compiled = stmt.compile(
        dialect=postgresql.psycopg.dialect(),  # type: ignore[attr-defined]
        compile_kwargs={"render_postcompile": True},
    )
    with database.engine.connect() as conn:
        raw = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar_one()
    plan = raw if isinstance(raw, list) else json.loads(raw)
    return plan[0]["Plan"]


REQUIREMENTS = {
    "platform+categories": domain.Requirement(
        shifts=frozenset({"morning", "afternoon"}),
        platform="taobao",
        categories=frozenset({"服装", "母婴"}),
        project_id="p00007",
    ),
    "platform": domain.Requirement(shifts=frozenset({"night"}), platform="jd", project_id="p00007"),
    "categories": domain.Requirement(
        shifts=frozenset({"morning"}), categories=frozenset({"数码"}), project_id="p00007"
    ),
    "neither": domain.Requirement(shifts=frozenset(domain.SHIFTS), project_id="p00007"),
}


@pytest.mark.parametrize("passed_over", [False, True], ids=["first-pass", "passing-over"])
@pytest.mark.parametrize("skill", domain.SKILLS)
@pytest.mark.parametrize("name", list(REQUIREMENTS))
def test_matching_reads_the_ranking_index_in_order_and_stops_at_the_limit(
    database: Database, name: str, skill: str, passed_over: bool
) -> None:
    count = 1_500
    skipped = [str(uuid.UUID(int=i)) for i in range(1, 200, 3)] if passed_over else []
    stmt = requisitions.ranking_query(skill, count, REQUIREMENTS[name], skipped)
    assert_index_plan(database, stmt, {"candidates", "matches"})
    for plan in (_bound_plan(database, stmt),):
        nodes = list(_plan_nodes(plan))
        pretty = json.dumps(plan, indent=1)
        reads = [n for n in nodes if n.get("Relation Name") == "candidates"]
        assert reads, pretty
        for node in reads:
            # every read of the pool is the ranking index, in order (a forward scan of its DESC keys)
            assert node["Node Type"] in ("Index Scan", "Index Only Scan"), pretty
            assert node["Index Name"] == "ix_candidates_matching", pretty
            assert node["Scan Direction"] == "Forward", pretty
        # each class is cut at the LIMIT before anything is sorted; only those rows are merged
        assert plan["Node Type"] == "Limit", pretty
        for node in nodes:
            if node["Node Type"] == "Sort":
                # at most the three bonus classes' LIMITs
                assert node["Plan Rows"] <= 3 * count, pretty
        assert not [n for n in nodes if n["Node Type"] == "Seq Scan"], pretty


# --- the lists -----------------------------------------------------------------------------------------

CANDIDATE_FILTERS = {
    "skill": "aftersale",
    "shift": "night",
    "category": "服装",
    "platform": "淘宝",
    "status": "inactive",
    "basic_training_passed": False,
    "city": "合肥",
    "min_score": Decimal(90),
    "q": "1234",
}


@pytest.mark.parametrize("args", filter_subsets(CANDIDATE_FILTERS))
def test_candidate_lists_read_an_index(database: Database, args: dict[str, Any]) -> None:
    stmt = queries.candidate_query(args)
    mid = _candidate(ROWS // 2)
    order = queries.CANDIDATE_ORDER
    assert_index_plan(database, list_statement(stmt, order), {"candidates"})
    assert_index_plan(
        database, list_statement(stmt, order, after=(mid["created_at"], mid["id"])), {"candidates"}
    )


REQUISITION_FILTERS = {"project_id": "p00070", "status": "short", "reason": "surge"}


@pytest.mark.parametrize("args", filter_subsets(REQUISITION_FILTERS))
def test_requisition_lists_read_an_index(database: Database, args: dict[str, Any]) -> None:
    stmt = queries.requisition_query(args)
    mid = _requisition(ROWS // 2)
    order = queries.REQUISITION_ORDER
    # the page's matches (and their candidates) are loaded by requisition id through an index too
    tables = {"requisitions"}
    assert_index_plan(database, list_statement(stmt, order), tables)
    assert_index_plan(database, list_statement(stmt, order, after=(mid["created_at"], mid["id"])), tables)
