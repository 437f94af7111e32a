"""Performance data (绩效数据) and manual adjustments: what finance feeds the payroll by hand or by file.

Days of performance (sales, average response, response rate, consultations) are stored all or nothing,
every problem reported at once; a day sent again replaces the earlier one. Each write marks the
agent-period in the late-data journal (``changes``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, tuple_

from services.billing.changes import mark_changed
from services.billing.domain import Period
from services.billing.models import Adjustment, Performance
from services.billing.projections import known_agents
from shared.bulk import chunks, upsert
from shared.errors import ValidationFailed
from shared.uow import UnitOfWork
from shared.workdays import today_shanghai


def _at(label: str, name: str) -> str:
    return f"{label}.{name}" if label else name


def record_performance(
    uow: UnitOfWork,
    items: Sequence[Mapping[str, Any]],
    labels: Sequence[str],
    *,
    earlier_errors: Mapping[str, list[str]] | None = None,
) -> dict[str, int]:
    """Store days of performance, all or nothing: every item's problem is reported together, with the
    ``earlier_errors`` found while parsing the other items (so a file is fixed in one go).

    A day sent again (same agent, project and date) replaces the earlier one; the same day twice in one
    request is refused as ambiguous. ``labels`` name the items in error keys ("0", "line 3", or "" for a
    single object).
    """
    session = uow.session
    today = today_shanghai(uow.now())
    errors: dict[str, list[str]] = defaultdict(list)
    for name, messages in (earlier_errors or {}).items():
        errors[name].extend(messages)
    first_seen: dict[tuple[str, str, dt.date], str] = {}
    for label, item in zip(labels, items, strict=True):
        if item["date"] > today:
            errors[_at(label, "date")].append(
                f"{item['date'].isoformat()} is in the future (today is {today.isoformat()} in "
                "Asia/Shanghai); send a day once it is over"
            )
        key = (item["agent_id"], item["project_id"], item["date"])
        if key in first_seen:
            errors[label or "_schema"].append(
                f"the same agent, project and date as {first_seen[key]}; send each day once"
            )
        else:
            first_seen[key] = label
    known = known_agents(uow, {(i["agent_id"], i["project_id"]) for i in items})
    for label, item in zip(labels, items, strict=True):
        if (item["agent_id"], item["project_id"]) not in known:
            errors[_at(label, "agent_id")].append(
                f"unknown agent {item['agent_id']!r} in project {item['project_id']!r}: billing learns "
                "agents from training's agent.admitted; check the ids"
            )
    if errors:
        raise ValidationFailed(
            dict(errors),
            detail=f"{len(errors)} problem(s) in the performance data; nothing was stored. Fix them and send "
            "the whole batch again.",
        )
    existing = 0
    keys = list(first_seen)
    for chunk in chunks(keys):
        existing += session.execute(
            select(func.count()).where(
                tuple_(Performance.agent_id, Performance.project_id, Performance.date).in_(list(chunk))
            )
        ).scalar_one()
    now = uow.now()
    upsert(
        session,
        Performance,
        [
            {
                "agent_id": i["agent_id"],
                "project_id": i["project_id"],
                "date": i["date"],
                "sales_amount": i["sales_amount"],
                "avg_response_seconds": Decimal(i["avg_response_seconds"]),
                "response_rate": i["response_rate"],
                "consultations": i["consultations"],
                "updated_at": now,
            }
            for i in items
        ],
        ("agent_id", "project_id", "date"),
    )
    mark_changed(session, [(i["project_id"], i["agent_id"], str(Period.of(i["date"]))) for i in items], now)
    return {"received": len(items), "created": len(items) - existing, "replaced": existing}


def add_adjustment(uow: UnitOfWork, data: Mapping[str, Any]) -> Adjustment:
    """A manual adjustment; one for a period already approved is paid in the next run as late data."""
    if (data["agent_id"], data["project_id"]) not in known_agents(
        uow, {(data["agent_id"], data["project_id"])}
    ):
        raise ValidationFailed(
            {
                "agent_id": [
                    f"unknown agent {data['agent_id']!r} in project {data['project_id']!r}: billing learns "
                    "agents from training's agent.admitted"
                ]
            }
        )
    session, now = uow.session, uow.now()
    adjustment = Adjustment(
        id=str(uuid.uuid4()),
        agent_id=data["agent_id"],
        project_id=data["project_id"],
        period=data["period"],
        amount=data["amount"],
        reason=data["reason"].strip(),
        created_at=now,
        created_by=uow.actor.sub,
    )
    session.add(adjustment)
    mark_changed(session, [(data["project_id"], data["agent_id"], data["period"])], now)
    return adjustment
