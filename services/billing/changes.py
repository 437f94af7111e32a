"""The late-data journal (迟到数据): which agent-periods received pay data since a run last looked.

Every write of pay data (hours, performance, a penalty, an adjustment, a join or departure) marks the
agent's (project, period) in ``pending_changes``. A payroll run for period Q recomputes, for each marked
agent and each earlier period P that is already approved (closed), what P comes to now, and pays the
difference against what approved runs already paid for P as an adjustment line naming P. Approving Q
clears the marks it accounted for; a mark written after Q was calculated makes the approval refuse
(recalculate first), so nothing that arrives in between is lost.

Also the two bulk-write helpers the pay data is stored with (chunked ``IN`` lists, upserts).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

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


def mark_changed(session: Session, marks: Iterable[tuple[str, str, str]], now: dt.datetime) -> None:
    """Journal (project_id, agent_id, period) as touched: see the module docstring."""
    rows = [{"project_id": p, "agent_id": a, "period": per, "changed_at": now} for p, a, per in set(marks)]
    upsert(
        session,
        PendingChange,
        sorted(rows, key=lambda r: (r["project_id"], r["agent_id"], r["period"])),
        ("project_id", "agent_id", "period"),
    )
