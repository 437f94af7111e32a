"""The late-data journal (迟到数据): which agent-periods received pay data since a run last looked.

Every write of pay data (hours, performance, a penalty, an adjustment, a join or departure) marks the
agent's (project, period) in ``pending_changes``. A payroll run for period Q recomputes, for each marked
agent and each earlier period P that is already approved (closed), what P comes to now, and pays the
difference against what approved runs already paid for P as an adjustment line naming P. Approving Q
clears the marks it accounted for; a mark written after Q was calculated makes the approval refuse
(recalculate first), so nothing that arrives in between is lost.

Also the bulk-write helpers the pay data and payslips are stored with (chunked ``IN`` lists, upserts,
plain inserts that COPY on PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.billing.models import PendingChange

Key = tuple[str, str]  # (agent_id, project_id)
T = TypeVar("T")

#: rows per statement: keeps ``IN`` lists and multi-row inserts under the drivers' parameter limits
CHUNK = 1000
CENT = Decimal("0.01")


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


def mark_changed(session: Session, marks: Iterable[tuple[str, str, str]], now: dt.datetime) -> None:
    """Journal (project_id, agent_id, period) as touched: see the module docstring."""
    rows = [{"project_id": p, "agent_id": a, "period": per, "changed_at": now} for p, a, per in set(marks)]
    upsert(
        session,
        PendingChange,
        sorted(rows, key=lambda r: (r["project_id"], r["agent_id"], r["period"])),
        ("project_id", "agent_id", "period"),
    )
