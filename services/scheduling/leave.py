"""Leave (请假): an agent asks for whole days off with a reason; a supervisor approves or refuses.

Approval frees the agent's shifts in every project they work in: reserve agents take what they can within
the labour rules (as for a departure), and what nobody can take is published as an open shift. From then
on rosters, swaps and claims treat the days as unavailable.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from services.scheduling.config import SchedulingSettings
from services.scheduling.models import LeaveRequest, PoolAgent, Project
from services.scheduling.queries import page_of
from services.scheduling.revisions import load_days, publish_days
from services.scheduling.roster import get_project
from services.scheduling.rostering import reassign
from services.scheduling.swaps import offer_open
from shared.errors import BusinessRuleViolation, Forbidden, NotFound, ValidationFailed
from shared.uow import UnitOfWork
from shared.workdays import today_shanghai

#: one request covers at most this many days (a longer absence is a departure)
MAX_LEAVE_DAYS = 60


def leave_dict(r: LeaveRequest) -> dict[str, Any]:
    return {
        "id": r.id,
        "agent_id": r.agent_id,
        "date_from": r.date_from,
        "date_to": r.date_to,
        "days": (r.date_to - r.date_from).days + 1,
        "kind": r.kind,
        "reason": r.reason,
        "status": r.status,
        "decided_by": r.decided_by,
        "decided_at": r.decided_at,
        "decision_note": r.decision_note,
        "effects": r.effects or [],
        "created_at": r.created_at,
    }


def _projects_of(uow: UnitOfWork, agent_id: str) -> list[str]:
    return list(
        uow.session.scalars(
            select(PoolAgent.project_id)
            .where(PoolAgent.agent_id == agent_id, PoolAgent.departed_on.is_(None))
            .order_by(PoolAgent.project_id)
        ).all()
    )


def request_leave(uow: UnitOfWork, data: dict[str, Any]) -> dict[str, Any]:
    actor = uow.actor
    agent_id = actor.sub if actor.role == "agent" else data.get("agent_id")
    if not agent_id:
        raise ValidationFailed({"agent_id": ["required when a supervisor asks leave for an agent"]})
    if not _projects_of(uow, agent_id):
        raise NotFound(f"Agent {agent_id} is not a present agent of any project.")
    start, end = data["date_from"], data["date_to"]
    today = today_shanghai(uow.now())
    errors = []
    if start < today:
        errors.append(f"leave starts today ({today.isoformat()}) or later")
    if end < start:
        errors.append("date_to must be on or after date_from")
    elif (end - start).days + 1 > MAX_LEAVE_DAYS:
        errors.append(f"one request covers at most {MAX_LEAVE_DAYS} days; a longer absence is a departure")
    if errors:
        raise BusinessRuleViolation("; ".join(errors) + ".", rule="leave-dates")
    clash = uow.session.scalar(
        select(LeaveRequest).where(
            LeaveRequest.agent_id == agent_id,
            LeaveRequest.status.in_(("pending", "approved")),
            LeaveRequest.date_from <= end,
            LeaveRequest.date_to >= start,
        )
    )
    if clash is not None:
        raise BusinessRuleViolation(
            f"Leave {clash.id} ({clash.date_from.isoformat()}..{clash.date_to.isoformat()}, {clash.status}) "
            "already covers some of these days; cancel it or ask for the other days only.",
            rule="leave-overlap",
            status=409,
        )
    row = LeaveRequest(
        id=str(uuid.uuid4()),
        agent_id=agent_id,
        date_from=start,
        date_to=end,
        kind=data["kind"],
        reason=data["reason"],
        status="pending",
        effects=[],
        created_at=uow.now(),
    )
    uow.session.add(row)
    uow.session.flush()
    return leave_dict(row)


def _leave(uow: UnitOfWork, leave_id: str) -> LeaveRequest:
    row = uow.session.get(LeaveRequest, leave_id, with_for_update=True)
    if row is None or (uow.actor.role == "agent" and row.agent_id != uow.actor.sub):
        raise NotFound(f"There is no leave request {leave_id}.")
    return row


def get_leave(uow: UnitOfWork, leave_id: str) -> dict[str, Any]:
    return leave_dict(_leave(uow, leave_id))


def leave_requests(uow: UnitOfWork, args: dict[str, Any]) -> dict[str, Any]:
    """Newest first; an agent sees its own; filters: status, agent_id, project_id (its agents)."""
    stmt = select(LeaveRequest)
    if uow.actor.role == "agent":
        stmt = stmt.where(LeaveRequest.agent_id == uow.actor.sub)
    elif args.get("agent_id"):
        stmt = stmt.where(LeaveRequest.agent_id == args["agent_id"])
    if args.get("project_id"):
        stmt = stmt.where(
            LeaveRequest.agent_id.in_(
                select(PoolAgent.agent_id).where(PoolAgent.project_id == args["project_id"])
            )
        )
    if args.get("status"):
        stmt = stmt.where(LeaveRequest.status == args["status"])
    return page_of(uow, stmt, args, (LeaveRequest.created_at.desc(), LeaveRequest.id.desc()), leave_dict)


def decide_leave(
    uow: UnitOfWork, leave_id: str, approve: bool, note: str | None, cfg: SchedulingSettings
) -> dict[str, Any]:
    row = _leave(uow, leave_id)
    if row.status != "pending":
        raise BusinessRuleViolation(
            f"Leave {row.id} is {row.status}; only a pending request is approved or refused.",
            rule="leave-status",
            status=409,
        )
    row.decided_at = uow.now()
    row.decided_by = uow.actor.label[:100]
    row.decision_note = note
    if not approve:
        row.status = "refused"
        return leave_dict(row)
    row.status = "approved"
    uow.session.flush()  # the roster changes below must see the leave as approved
    row.effects = [
        effect
        for project_id in _projects_of(uow, row.agent_id)
        if (effect := _free_shifts(uow, project_id, row, cfg)) is not None
    ]
    return leave_dict(row)


def _free_shifts(
    uow: UnitOfWork, project_id: str, row: LeaveRequest, cfg: SchedulingSettings
) -> dict[str, Any] | None:
    """Hand the agent's shifts in the leave to reserve agents; open what nobody can take."""
    project: Project = get_project(uow.session, project_id, for_update=True)
    now = uow.now()
    start = max(row.date_from, today_shanghai(now))
    if start > row.date_to:
        return None
    days = load_days(uow, project, start, row.date_to, cfg)
    theirs = days.shifts(agent_id=row.agent_id)
    if not theirs:
        return None
    reserves = [
        m.agent.agent_id for m in days.members if m.role == "reserve" and m.agent.agent_id != row.agent_id
    ]
    # the agent's own shifts outside the leave stay theirs: only the window's are handed over
    others = [a for a in days.context if a.agent_id != row.agent_id]
    kept, taken, left = reassign(days.agents, [*others, *days.shifts()], [row.agent_id], reserves, cfg.rules)
    window = [a for a in kept if start <= a.day <= row.date_to]
    roster = publish_days(uow, days, window, reason="leave", roles=dict.fromkeys(taken, "reserve"))
    for shift in left:
        offer_open(uow, project.id, shift.day, shift, 1, "leave")
    return {
        "project_id": project.id,
        "roster_version": roster.version,
        "shifts": len(theirs),
        "taken_over": [{"agent_id": k, "dates": [a.day.isoformat() for a in v]} for k, v in taken.items()],
        "opened": [{"date": a.day.isoformat(), "shift": a.shift} for a in left],
    }


def cancel_leave(uow: UnitOfWork, leave_id: str) -> dict[str, Any]:
    """The agent withdraws a pending request (an approved one is changed by a supervisor only)."""
    row = _leave(uow, leave_id)
    if uow.actor.role == "agent" and row.status != "pending":
        raise Forbidden("An approved or decided leave is changed by a supervisor.")
    if row.status not in ("pending", "approved"):
        raise BusinessRuleViolation(
            f"Leave {row.id} is {row.status}; nothing to cancel.", rule="leave-status", status=409
        )
    row.status = "cancelled"
    row.decided_at = uow.now()
    row.decided_by = uow.actor.label[:100]
    return leave_dict(row)
