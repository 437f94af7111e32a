"""Query-plan checks for the list endpoints: on a table of 100,000 rows, every list query a user can send
must be served by an index (no sequential scan of the listed table, no sort of the whole table).

    database = migrated(make_database, "training")
    fill(database, "cohorts", 100_000, lambda i: {...})          # bulk rows, then ANALYZE
    assert_index_plan(database, stmt, {"cohorts"})               # stmt as paginate() would run it

``list_statement`` builds the statement ``paginate`` runs for a first page or an ``after`` page, so a
test checks exactly what production sends.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

import pytest
from sqlalchemy import ColumnElement, Select, insert, text
from sqlalchemy.dialects import postgresql

from shared.db import Database
from shared.migrate import upgrade
from shared.pagination import _after, _sort_keys
from shared.service import load_spec

BATCH = 5_000


def migrated(make_database: Callable[[str], str], service: str, name: str = "plans") -> Database:
    """A fresh PostgreSQL database with ``service``'s migrations applied."""
    url = make_database(f"{service}_{name}")
    upgrade(load_spec(service), url)
    return Database(url)


def fill(
    database: Database,
    table: str,
    rows: int,
    values: Callable[[int], dict[str, Any]],
    *,
    analyze: bool = True,
) -> None:
    """Insert ``rows`` rows made by ``values(i)`` in batches of executemany, then ANALYZE the table."""
    from sqlalchemy import MetaData, Table

    target = Table(table, MetaData(), autoload_with=database.engine)
    with database.engine.begin() as conn:
        for first in range(0, rows, BATCH):
            conn.execute(insert(target), [values(i) for i in range(first, min(first + BATCH, rows))])
    if analyze:
        with database.engine.begin() as conn:
            conn.execute(text(f'ANALYZE "{table}"'))


def list_statement(
    stmt: Select[Any], order_by: Sequence[ColumnElement[Any] | Any], after: Sequence[Any] | None = None
) -> Select[Any]:
    """The statement ``paginate`` runs: sorted, optionally after a cursor's values, one page + 1 row."""
    keys = _sort_keys(order_by)
    stmt = stmt.order_by(*order_by)
    if after is not None:
        stmt = stmt.where(_after(keys, list(after)))
    return stmt.limit(21)


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def explain(database: Database, stmt: Select[Any]) -> dict[str, Any]:
    compiled = stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    with database.engine.connect() as conn:
        raw = conn.execute(text(f"EXPLAIN (FORMAT JSON) {compiled}")).scalar_one()
    plan = raw if isinstance(raw, list) else json.loads(raw)
    return plan[0]["Plan"]


def assert_index_plan(database: Database, stmt: Select[Any], tables: Collection[str]) -> None:
    """Fails when the plan reads one of ``tables`` sequentially or sorts rows it did not limit first."""
    plan = explain(database, stmt)
    nodes = list(_nodes(plan))
    pretty = json.dumps(plan, indent=1)
    seq = [n for n in nodes if n.get("Node Type") == "Seq Scan" and n.get("Relation Name") in tables]
    assert not seq, f"sequential scan of {seq[0]['Relation Name']}:\n{pretty}"
    used = [n for n in nodes if n.get("Relation Name") in tables or n.get("Index Name")]
    assert any("Index" in n.get("Node Type", "") for n in used), f"no index used:\n{pretty}"
    # a Sort is fine on a few rows already narrowed by an index (e.g. a top-N of a filtered set);
    # it is not on the table's whole size
    for node in nodes:
        if node.get("Node Type") == "Sort":
            assert node.get("Plan Rows", 0) <= 5_000, f"sort of {node['Plan Rows']} rows:\n{pretty}"


def assert_pages_use_index(
    database: Database,
    stmt: Select[Any],
    order_by: Sequence[Any],
    after: Sequence[Any],
    tables: Collection[str],
) -> None:
    """``assert_index_plan`` for a list's first page and for the page after the cursor values ``after``."""
    assert_index_plan(database, list_statement(stmt, order_by), tables)
    assert_index_plan(database, list_statement(stmt, order_by, after=tuple(after)), tables)


def filter_subsets(filters: Mapping[str, Any]) -> list[Any]:
    """Every combination of a list's filters (none, each alone, each pair, …, all) as pytest parameters
    named after the filters: each is a query a user can send, and each must find an index."""
    return [
        pytest.param({k: filters[k] for k in keys}, id="+".join(keys) or "no-filter")
        for size in range(len(filters) + 1)
        for keys in itertools.combinations(filters, size)
    ]
