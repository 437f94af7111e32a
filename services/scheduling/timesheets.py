"""Timesheets (工时): hours worked per agent, project and day; a new entry replaces (and keeps) the old."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from services.scheduling import domain
from services.scheduling.models import PoolAgent, Project, TimesheetEntry
from services.scheduling.queries import timesheet_dict
from shared.errors import NotFound, ValidationFailed
from shared.uow import UnitOfWork
from shared.workdays import today_shanghai


def record_timesheets(uow: UnitOfWork, entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """All or none: each needs a known project, an agent in its pool that day, 0 < h ≤ 24, no future."""
    session = uow.session
    today = today_shanghai(uow.now())
    project_ids = {e["project_id"] for e in entries}
    known = set(session.scalars(select(Project.id).where(Project.id.in_(project_ids))).all())
    unknown = sorted(project_ids - known)
    if unknown:
        raise NotFound(f"Unknown project(s): {', '.join(unknown)}.")
    pool = {
        (r.project_id, r.agent_id): r
        for r in session.scalars(
            select(PoolAgent).where(
                PoolAgent.project_id.in_(project_ids),
                PoolAgent.agent_id.in_({e["agent_id"] for e in entries}),
            )
        ).all()
    }
    errors: dict[str, list[str]] = {}
    seen: dict[tuple[str, str, dt.date], int] = {}
    for i, e in enumerate(entries):
        prefix = f"entries.{i}." if len(entries) > 1 else ""
        key = (e["project_id"], e["agent_id"], e["date"])
        for problem in domain.timesheet_problems(Decimal(e["hours"]), e["date"], today):
            errors.setdefault(f"{prefix}{'hours' if 'hours' in problem else 'date'}", []).append(problem)
        member = pool.get((e["project_id"], e["agent_id"]))
        if member is None:
            errors.setdefault(f"{prefix}agent_id", []).append(
                f"agent {e['agent_id']} is not in project {e['project_id']}'s pool"
            )
        elif member.departed_on is not None and e["date"] >= member.departed_on:
            errors.setdefault(f"{prefix}date", []).append(
                f"agent {e['agent_id']} left the project on {member.departed_on.isoformat()}"
            )
        if key in seen:
            errors.setdefault(f"{prefix}date", []).append(
                f"the same agent, project and date as entry {seen[key]}"
            )
        seen[key] = i
    if errors:
        raise ValidationFailed(
            errors, detail=f"{len(errors)} problem(s) in the timesheet; nothing was recorded."
        )
    saved: list[TimesheetEntry] = []
    replaced = 0
    now = uow.now()
    for e in entries:
        entry = TimesheetEntry(
            id=str(uuid.uuid4()),
            project_id=e["project_id"],
            agent_id=e["agent_id"],
            date=e["date"],
            hours=Decimal(e["hours"]).quantize(Decimal("0.01")),
            note=e.get("note"),
            recorded_by=uow.actor.label[:100],
            recorded_at=now,
        )
        previous = session.scalars(
            select(TimesheetEntry).where(
                TimesheetEntry.project_id == e["project_id"],
                TimesheetEntry.agent_id == e["agent_id"],
                TimesheetEntry.date == e["date"],
                TimesheetEntry.superseded_at.is_(None),
            )
        ).all()
        for old in previous:
            old.superseded_at = now
            old.superseded_by = entry.id
            replaced += 1
        session.add(entry)
        saved.append(entry)
        uow.emit(
            "shift.worked",
            {
                "project_id": entry.project_id,
                "agent_id": entry.agent_id,
                "date": entry.date,
                "hours": entry.hours,
            },
        )
    return {"items": [timesheet_dict(t) for t in saved], "replaced": replaced}
