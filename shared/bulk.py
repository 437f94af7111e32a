"""Bulk writes and reads in one transaction: chunked ``IN`` lists, upserts, plain inserts that COPY on
PostgreSQL. For use cases that store hundreds or thousands of rows at once (pay data, payslips, imported
platform figures and conversations), where one ORM object per row costs more than the rows themselves."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

T = TypeVar("T")

#: rows per statement: keeps ``IN`` lists and multi-row inserts under the drivers' parameter limits
CHUNK = 1000


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def upsert(session: Session, model: Any, rows: list[dict[str, Any]], keys: Sequence[str]) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE every other column: a re-sent row replaces the earlier one."""
    if not rows:
        return
    table = model.__table__
    dialect = session.get_bind().dialect.name
    builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for chunk in chunks(rows):
        stmt = builder(table).values(list(chunk))
        updates = {c: getattr(stmt.excluded, c) for c in chunk[0] if c not in keys}
        session.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=updates))


def insert_rows(session: Session, model: Any, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order) in the session's transaction.

    On PostgreSQL through COPY: a payroll writes tens of thousands of payslip lines, and COPY streams them
    in one statement where a multi-row INSERT pays parsing and parameter binding per chunk.
    """
    if not rows:
        return
    table = model.__table__
    if session.get_bind().dialect.name == "postgresql":
        # the session's own DBAPI connection, so the rows belong to the use case's transaction
        driver = session.connection().connection.driver_connection
        assert driver is not None
        names = ", ".join(f'"{table.c[name].name}"' for name in columns)
        with driver.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
        return
    for chunk in chunks(rows):
        session.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in chunk])


def next_in_sequence(session: Session, model: Any, key: dict[str, Any], column: str = "last") -> int:
    """Take the next value of a counter row (the key's ``column`` + 1, 1 for a new key) — gap-free numbering.

    The upsert locks the counter row until the transaction ends, so concurrent takers queue on it, and a
    rolled-back transaction gives its number back: no gaps, no repeats (complaint numbers, invoice numbers).
    """
    table = model.__table__
    builder = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (
        builder(table)
        .values(**key, **{column: 1})
        .on_conflict_do_update(index_elements=list(key), set_={column: table.c[column] + 1})
        .returning(table.c[column])
    )
    return int(session.execute(stmt).scalar_one())
