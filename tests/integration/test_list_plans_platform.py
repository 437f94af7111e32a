"""The plan checker itself (tests/plans.py): it must fail on a scan or a whole-table sort, or the
per-service plan tests would prove nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, select, text

from shared.db import Database
from tests.plans import assert_index_plan, fill, list_statement

metadata = MetaData()
rows_table = Table(
    "plan_rows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("owner", String(20), nullable=False),
    Column("created_at", DateTime, nullable=False),
)
START = dt.datetime(2026, 1, 1)


@pytest.fixture(scope="module")
def database(make_database: Callable[[str], str]) -> Database:
    db = Database(make_database("plan_checker"))
    metadata.create_all(db.engine)
    fill(
        db,
        "plan_rows",
        100_000,
        lambda i: {"id": i + 1, "owner": f"m{i % 50}", "created_at": START + dt.timedelta(minutes=i)},
    )
    return db


def test_the_checker_rejects_a_scan_and_accepts_the_index(database: Database) -> None:
    order = (rows_table.c.created_at.desc(), rows_table.c.id.desc())
    stmt = list_statement(select(rows_table).where(rows_table.c.owner == "m7"), order)
    with pytest.raises(AssertionError, match=r"sequential scan|sort of"):
        assert_index_plan(database, stmt, {"plan_rows"})
    with database.engine.begin() as conn:
        conn.execute(text("CREATE INDEX ix_plan_rows_owner_created ON plan_rows (owner, created_at, id)"))
        conn.execute(text("ANALYZE plan_rows"))
    assert_index_plan(database, stmt, {"plan_rows"})
    after = list_statement(
        select(rows_table).where(rows_table.c.owner == "m7"), order, after=(START + dt.timedelta(days=9), 500)
    )
    assert_index_plan(database, after, {"plan_rows"})
