"""Working a complaint after intake (处理): notes, status, escalation, assignment, resolution, closing and
reopening, and the history and events every step leaves.

Each use case runs in the caller's unit of work and never commits; a refusal raises a ``shared.errors``
problem before anything is written. The acting user is ``uow.actor`` and the time ``uow.now()``; the
internal steps take both explicitly because the periodic jobs (``deadlines``) act as ``system``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from services.complaints import domain, queries, staff
from services.complaints.domain import (
    ACTIVE_STATUSES,
    CLOSED,
    IN_PROGRESS,
    OPEN,
    REOPENED,
    RESOLVED,
    WAITING_CUSTOMER,
    IllegalTransition,
    Policy,
    RuleViolation,
    SlaClock,
)
from services.complaints.models import Complaint, HistoryEntry
from shared.errors import (
    BusinessRuleViolation,
    Conflict,
    Forbidden,
    ValidationFailed,
    problem_type,
)
from shared.money import format_money
from shared.uow import Actor, UnitOfWork

# --- rules, history and events (shared by every step, intake and the jobs) ---------------------------------


def _require_assignee_if_agent(complaint: Complaint, actor: Actor, action: str) -> None:
    if actor.role == "agent" and complaint.assignee != actor.sub:
        raise Forbidden(
            f"Only the complaint's assignee may {action} it as an agent; it is assigned to "
            f"{complaint.assignee or 'nobody'} at the {complaint.level} level."
        )


def _state_conflict(detail: str, status: str, allowed: Sequence[str] = ()) -> Conflict:
    """409 naming the state rule, the current status and the statuses it may move to."""
    return Conflict(
        detail,
        type=problem_type("business-rule/complaint-state"),
        extra={"rule": "complaint-state", "current_status": status, "allowed": list(allowed)},
    )


def _transition(complaint: Complaint, target: str) -> None:
    try:
        domain.check_transition(complaint.status, target)
    except IllegalTransition as exc:
        raise _state_conflict(str(exc), exc.current, exc.allowed) from exc


def _rule(exc: RuleViolation) -> Exception:
    if exc.forbidden:
        return Forbidden(str(exc), extra={"rule": exc.rule})
    if exc.field:
        return ValidationFailed({exc.field: [str(exc)]}, detail=str(exc), extra={"rule": exc.rule})
    return BusinessRuleViolation(str(exc), rule=exc.rule)


# --- history and events -----------------------------------------------------------------------------------


def add_history(
    uow: UnitOfWork,
    complaint: Complaint,
    kind: str,
    actor: Actor,
    now: dt.datetime,
    **fields: Any,
) -> HistoryEntry:
    """One line of the complaint's history (what ``GET /complaints/{id}`` shows)."""
    entry = HistoryEntry(
        complaint_id=complaint.id, kind=kind, at=now, actor=actor.sub, actor_role=actor.role, **fields
    )
    uow.session.add(entry)
    return entry


def emit_complaint_event(
    uow: UnitOfWork, event_type: str, complaint: Complaint, reason: str | None = None
) -> None:
    """complaint.opened / .escalated / .resolved: the complaint as it is now, in this transaction."""
    data: dict[str, Any] = {
        "complaint_id": complaint.id,
        "number": complaint.number,
        "project_id": complaint.project_id,
        "agent_id": complaint.agent_id,
        "level": complaint.level,
        "status": complaint.status,
    }
    if reason is not None:
        data["reason"] = reason
    uow.emit(event_type, data)


def set_clock(complaint: Complaint, clock: SlaClock) -> None:
    """Store the promise's clock, with the half-time the escalation job looks for."""
    complaint.sla_started_at = clock.started_at
    complaint.due_at = clock.due_at
    complaint.half_time_at = clock.started_at + clock.window / 2
    complaint.paused_seconds = clock.paused_seconds
    complaint.paused_since = clock.paused_since


def mark_breached(uow: UnitOfWork, complaint: Complaint, actor: Actor, now: dt.datetime) -> None:
    if complaint.breached:
        return
    complaint.breached = True
    complaint.breached_at = now
    add_history(
        uow,
        complaint,
        "breached",
        actor,
        now,
        text="The time promised to the customer has passed without a resolution.",
        details={
            "due_at": complaint.due_at.isoformat(),
            "effective_due_at": queries.clock_of(complaint).effective_due_at(now).isoformat(),
        },
    )


# --- progress ---------------------------------------------------------------------------------------------


def add_note(uow: UnitOfWork, key: str, values: Mapping[str, Any]) -> Complaint:
    """A note: internal, or progress told to the customer (the first one meets the first-response deadline;
    with ``new_due_at`` it moves the promised time)."""
    actor, now = uow.actor, uow.now()
    complaint = queries.get_complaint(uow, key, for_update=True)
    if complaint.status == CLOSED:
        raise _state_conflict("A closed complaint takes no more notes; it is final.", CLOSED)
    visibility = values.get("visibility") or "internal"
    new_due: dt.datetime | None = values.get("new_due_at")
    if new_due is not None:
        problems = []
        if visibility != "customer":
            problems.append(
                "The promised time moves only with a note telling the customer: visibility 'customer'."
            )
        if new_due <= now:
            problems.append(f"The new promised time must be in the future (now is {now.isoformat()}).")
        if complaint.status not in ACTIVE_STATUSES:
            problems.append(
                f"A {complaint.status} complaint has no running promise to move; reopen it first."
            )
        if problems:
            raise ValidationFailed({"new_due_at": problems})
    add_history(uow, complaint, "note", actor, now, visibility=visibility, text=values["body"])
    if visibility == "customer":
        if complaint.first_responded_at is None:
            complaint.first_responded_at = now
            met = now <= complaint.first_response_due_at
            add_history(
                uow,
                complaint,
                "first_response",
                actor,
                now,
                text="First reply to the customer "
                + ("within" if met else "after")
                + f" the first-response deadline ({complaint.first_response_due_at.isoformat()}).",
                details={"met": met, "due_at": complaint.first_response_due_at.isoformat()},
            )
        if complaint.status in (OPEN, REOPENED):
            _change_status(uow, complaint, IN_PROGRESS, actor, now, "work started: the customer was answered")
    if new_due is not None:
        old = complaint.due_at
        clock = queries.clock_of(complaint)
        set_clock(
            complaint,
            SlaClock(clock.started_at, new_due.astimezone(dt.UTC), clock.paused_seconds, clock.paused_since),
        )
        complaint.due_at_source = "moved"
        add_history(
            uow,
            complaint,
            "due_moved",
            actor,
            now,
            text=values["body"],
            details={"from": old.isoformat(), "to": complaint.due_at.isoformat()},
        )
    complaint.updated_at = now
    return complaint


def _change_status(
    uow: UnitOfWork, complaint: Complaint, target: str, actor: Actor, now: dt.datetime, reason: str | None
) -> None:
    _transition(complaint, target)
    clock = queries.clock_of(complaint)
    if target == WAITING_CUSTOMER:
        clock = clock.pause(now)
    elif complaint.status == WAITING_CUSTOMER:
        clock = clock.resume(now)
    set_clock(complaint, clock)
    previous = complaint.status
    complaint.status = target
    complaint.updated_at = now
    add_history(uow, complaint, "status", actor, now, from_status=previous, to_status=target, text=reason)


def change_status(uow: UnitOfWork, key: str, target: str, reason: str | None) -> Complaint:
    """Start work (``in_progress``) or wait for the customer (``waiting_customer``, the clock pauses)."""
    actor, now = uow.actor, uow.now()
    complaint = queries.get_complaint(uow, key, for_update=True)
    _require_assignee_if_agent(complaint, actor, "change the status of")
    _change_status(uow, complaint, target, actor, now, reason)
    return complaint


# --- escalation and assignment ----------------------------------------------------------------------------


def escalate_one_level(
    uow: UnitOfWork,
    complaint: Complaint,
    reason: str,
    actor: Actor,
    policy: Policy,
    now: dt.datetime,
    assignee: str | None = None,
) -> None:
    to_level = domain.next_level(complaint.level)
    if to_level is None:
        raise BusinessRuleViolation(
            "The complaint is already at the manager level, the top of agent → supervisor → manager; "
            "reassign it instead.",
            rule="escalation-top",
        )
    from_level = complaint.level
    complaint.level = to_level
    complaint.assignee = assignee or staff.pick_assignee(uow, complaint.project_id, to_level, policy)
    complaint.updated_at = now
    add_history(
        uow,
        complaint,
        "escalated",
        actor,
        now,
        from_level=from_level,
        to_level=to_level,
        assignee=complaint.assignee,
        text=reason,
    )
    add_history(
        uow,
        complaint,
        "assigned",
        actor,
        now,
        to_level=to_level,
        assignee=complaint.assignee,
        text=f"Escalated to the {to_level} level; assigned to {complaint.assignee or 'nobody yet'}.",
    )
    emit_complaint_event(uow, "complaint.escalated", complaint, reason)


def escalate(uow: UnitOfWork, key: str, reason: str, assignee: str | None, policy: Policy) -> Complaint:
    """Escalate one level (agent → supervisor → manager) with a reason; reassigns and emits
    complaint.escalated."""
    actor, now = uow.actor, uow.now()
    complaint = queries.get_complaint(uow, key, for_update=True)
    if complaint.status not in ACTIVE_STATUSES:
        raise _state_conflict(
            f"Only an unresolved complaint ({', '.join(ACTIVE_STATUSES)}) can be escalated; this one is "
            f"{complaint.status}.",
            complaint.status,
            domain.allowed_transitions(complaint.status),
        )
    _require_assignee_if_agent(complaint, actor, "escalate")
    escalate_one_level(uow, complaint, reason, actor, policy, now, assignee)
    return complaint


def assign(uow: UnitOfWork, key: str, assignee: str, reason: str | None) -> Complaint:
    """Hand the complaint to another named user at the same level."""
    actor, now = uow.actor, uow.now()
    complaint = queries.get_complaint(uow, key, for_update=True)
    if complaint.status == CLOSED:
        raise _state_conflict("A closed complaint cannot be reassigned; it is final.", CLOSED)
    if complaint.level == "agent" and queries.agent_on_project(uow, complaint.project_id, assignee) is None:
        raise ValidationFailed(
            {
                "assignee": [
                    "At the agent level the assignee must be an admitted agent of project "
                    f"{complaint.project_id}."
                ]
            }
        )
    previous = complaint.assignee
    complaint.assignee = assignee
    complaint.updated_at = now
    add_history(
        uow,
        complaint,
        "assigned",
        actor,
        now,
        to_level=complaint.level,
        assignee=assignee,
        text=reason or f"Reassigned from {previous or 'nobody'} to {assignee}.",
        details={"from": previous},
    )
    return complaint


# --- resolution, closing, reopening -----------------------------------------------------------------------


def resolve(uow: UnitOfWork, key: str, values: Mapping[str, Any], policy: Policy) -> Complaint:
    """The resolution, whether the agent was at fault and the penalty; at fault → complaint.upheld for
    billing and training (once: the ruling is final)."""
    actor, now = uow.actor, uow.now()
    complaint = queries.get_complaint(uow, key, for_update=True)
    _transition(complaint, RESOLVED)
    if actor.role == "agent":
        _require_assignee_if_agent(complaint, actor, "resolve")
        if complaint.level != "agent":
            raise Forbidden(
                f"The complaint is at the {complaint.level} level: an agent resolves only agent-level "
                "complaints."
            )
    agent_at_fault: bool = bool(values.get("agent_at_fault", False))
    penalty: Decimal = values.get("penalty") if values.get("penalty") is not None else Decimal("0.00")
    agent_id: str | None = values.get("agent_id") or complaint.agent_id
    try:
        domain.check_ruling(actor.role, agent_at_fault, penalty, policy.penalty_cap, agent_id)
    except RuleViolation as exc:
        raise _rule(exc) from exc
    if (
        values.get("agent_id")
        and queries.agent_on_project(uow, complaint.project_id, values["agent_id"]) is None
    ):
        raise ValidationFailed(
            {
                "agent_id": [
                    f"Agent {values['agent_id']} is not an admitted agent of project {complaint.project_id}."
                ]
            }
        )
    if complaint.upheld_at is not None and (
        not agent_at_fault or agent_id != complaint.agent_id or penalty != (complaint.penalty or Decimal("0"))
    ):
        raise BusinessRuleViolation(
            f"The ruling on this complaint was already sent to billing and training on "
            f"{complaint.upheld_at.isoformat()} (agent {complaint.agent_id} at fault, penalty "
            f"{format_money(complaint.penalty or Decimal('0'))}); resolve it again with the same ruling.",
            rule="ruling-final",
        )
    if agent_id != complaint.agent_id:
        add_history(
            uow,
            complaint,
            "agent_named",
            actor,
            now,
            text=f"The investigation names agent {agent_id}.",
            details={"from": complaint.agent_id, "to": agent_id},
        )
        complaint.agent_id = agent_id
    previous = complaint.status
    set_clock(complaint, queries.clock_of(complaint).resume(now))
    if queries.clock_of(complaint).overdue(now):
        mark_breached(uow, complaint, actor, now)
    complaint.status = RESOLVED
    complaint.resolution = values["resolution"]
    complaint.agent_at_fault = agent_at_fault
    complaint.penalty = penalty if agent_at_fault else None
    complaint.resolved_at = now
    complaint.resolved_by = actor.sub
    complaint.updated_at = now
    add_history(
        uow,
        complaint,
        "resolved",
        actor,
        now,
        from_status=previous,
        to_status=RESOLVED,
        text=values["resolution"],
        details={
            "agent_at_fault": agent_at_fault,
            "agent_id": agent_id,
            "penalty": format_money(penalty) if agent_at_fault else None,
            "within_promise": not complaint.breached,
        },
    )
    emit_complaint_event(uow, "complaint.resolved", complaint)
    if agent_at_fault and complaint.upheld_at is None:
        complaint.upheld_at = now
        uow.emit(
            "complaint.upheld",
            {
                "complaint_id": complaint.id,
                "number": complaint.number,
                "project_id": complaint.project_id,
                "agent_id": agent_id,
                "penalty": format_money(penalty),
                "resolved_at": now.isoformat(),
            },
        )
    return complaint


def close(uow: UnitOfWork, key: str, note: str | None) -> Complaint:
    """The customer accepted the resolution."""
    actor, now = uow.actor, uow.now()
    complaint = queries.get_complaint(uow, key, for_update=True)
    _require_assignee_if_agent(complaint, actor, "close")
    close_complaint(uow, complaint, "accepted", note or "The customer accepted the resolution.", actor, now)
    return complaint


def close_complaint(
    uow: UnitOfWork, complaint: Complaint, reason: str, text: str, actor: Actor, now: dt.datetime
) -> None:
    _transition(complaint, CLOSED)
    complaint.status = CLOSED
    complaint.closed_at = now
    complaint.close_reason = reason
    complaint.updated_at = now
    add_history(
        uow,
        complaint,
        "closed",
        actor,
        now,
        from_status=RESOLVED,
        to_status=CLOSED,
        text=text,
        details={"close_reason": reason},
    )


def reopen(uow: UnitOfWork, key: str, reason: str, due_at: dt.datetime | None, policy: Policy) -> Complaint:
    """The customer did not accept the resolution: the complaint runs again under a new promise."""
    actor, now = uow.actor, uow.now()
    complaint = queries.get_complaint(uow, key, for_update=True)
    _require_assignee_if_agent(complaint, actor, "reopen")
    _transition(complaint, REOPENED)
    assert complaint.resolved_at is not None
    if not policy.may_reopen(complaint.resolved_at, now):
        raise BusinessRuleViolation(
            f"A complaint may be reopened within {policy.auto_close_days:g} days of its resolution "
            f"(until {policy.auto_close_at(complaint.resolved_at).isoformat()}); record a new complaint "
            "instead.",
            rule="reopen-window",
        )
    if due_at is not None and due_at <= now:
        raise ValidationFailed(
            {"due_at": [f"The promised time must be in the future (now is {now.isoformat()})."]}
        )
    due = due_at.astimezone(dt.UTC) if due_at is not None else policy.promised_due_at(now, complaint.severity)
    set_clock(complaint, SlaClock(started_at=now, due_at=due))
    complaint.due_at_source = "reopened"
    complaint.status = REOPENED
    complaint.reopen_count += 1
    complaint.resolved_at = None
    complaint.resolved_by = None
    complaint.resolution = None
    complaint.updated_at = now
    add_history(
        uow,
        complaint,
        "reopened",
        actor,
        now,
        from_status=RESOLVED,
        to_status=REOPENED,
        text=reason,
        details={"due_at": due.isoformat()},
    )
    return complaint
