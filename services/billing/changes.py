"""The late-data journal (迟到数据): which agent-periods received pay data since a run last looked.

Every write of pay data (hours, performance, a penalty, an adjustment, a join or departure) marks the
agent's (project, period) in ``pending_changes``. A payroll run for period Q recomputes, for each marked
agent and each earlier period P that is already approved (closed), what P comes to now, and pays the
difference against what approved runs already paid for P as an adjustment line naming P. Approving Q
clears the marks it accounted for; a mark written after Q was calculated makes the approval refuse
(recalculate first), so nothing that arrives in between is lost.

The bulk-write helpers the pay data and payslips are stored with live in ``shared.bulk``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import TypeVar

from sqlalchemy.orm import Session

from services.billing.models import PendingChange
from shared.bulk import upsert

Key = tuple[str, str]  # (agent_id, project_id)
T = TypeVar("T")

CENT = Decimal("0.01")


def mark_changed(session: Session, marks: Iterable[tuple[str, str, str]], now: dt.datetime) -> None:
    """Journal (project_id, agent_id, period) as touched: see the module docstring."""
    rows = [{"project_id": p, "agent_id": a, "period": per, "changed_at": now} for p, a, per in set(marks)]
    upsert(
        session,
        PendingChange,
        sorted(rows, key=lambda r: (r["project_id"], r["agent_id"], r["period"])),
        ("project_id", "agent_id", "period"),
    )
