"""Use cases of the complaints service: load, apply the rules of ``domain``, save, stage events.

Each function runs inside the caller's transaction (a web request's session, the consumer's inbox
transaction or a job's) and never commits: the caller commits, so the complaint, its history and its
outbox rows land together or not at all. Refusals raise ``shared.errors`` problems before anything is
written. Time comes in as ``now`` (the API's injectable clock, the job's argument), never from the wall.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.complaints import domain
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
from services.complaints.models import (
    Complaint,
    DailyCounter,
    HistoryEntry,
    Project,
    ProjectAgent,
    ProjectStaff,
)
from shared.db import is_postgres
from shared.errors import (
    BusinessRuleViolation,
    Conflict,
    Forbidden,
    NotFound,
    ValidationFailed,
    problem_type,
)
from shared.events import add_event
from shared.money import format_money
from shared.workdays import SHANGHAI

log = logging.getLogger(__name__)

COMPLAINT_NOT_FOUND = "There is no complaint with this id or number."
PROJECT_NOT_FOUND = "The complaints service has no record of this project."
#: roles on the vendor's side that work every complaint (the supervisor, the managers, admin)
HANDLER_ROLES = frozenset({"supervisor", "vendor", "admin"})
#: how many complaints one job run looks at (the rest wait for the next run)
JOB_BATCH = 500


def load_policy(extra: Mapping[str, str] | None = None) -> Policy:
    """The ``COMPLAINTS_*`` settings: from the app's ``settings.extra``, or the process env (worker)."""
    if extra is None:
        extra = {k: v for k, v in os.environ.items() if k.startswith("COMPLAINTS_")}
    return Policy.from_env(extra)


@dataclass(frozen=True)
class Actor:
    """Who is acting: a token's principal, or the periodic job (``system``)."""

    sub: str
    role: str
    merchant_id: str | None = None

    @property
    def is_handler(self) -> bool:
        return self.role in HANDLER_ROLES


SYSTEM = Actor(sub="system", role="system")


# --- read models (handlers) -------------------------------------------------------------------------------


def _project(session: Session, project_id: str, now: dt.datetime) -> Project:
    project = session.get(Project, project_id, with_for_update=is_postgres(session))
    if project is None:
        project = Project(project_id=project_id, confirmed=False, closed=False, updated_at=now)
        session.add(project)
    return project


def project_confirmed(session: Session, data: Mapping[str, Any], now: dt.datetime) -> Project:
    project = _project(session, data["project_id"], now)
    project.merchant_id = data["merchant_id"]
    company = data.get("company_name") or (data.get("merchant") or {}).get("company_name")
    if company:
        project.company_name = str(company)[:200]
    project.confirmed = True
    project.updated_at = now
    return project


def project_updated(session: Session, data: Mapping[str, Any], now: dt.datetime) -> Project:
    # An update implies the project was confirmed (onboarding only updates confirmed projects).
    project = _project(session, data["project_id"], now)
    project.merchant_id = data["merchant_id"]
    project.confirmed = True
    project.updated_at = now
    return project


def project_closed(session: Session, data: Mapping[str, Any], now: dt.datetime) -> Project:
    project = _project(session, data["project_id"], now)
    if data.get("merchant_id") and project.merchant_id is None:
        project.merchant_id = data["merchant_id"]
    project.closed = True
    project.updated_at = now
    return project


def agent_admitted(session: Session, data: Mapping[str, Any], now: dt.datetime) -> ProjectAgent:
    project = _project(session, data["project_id"], now)
    if data.get("merchant_id") and project.merchant_id is None:
        project.merchant_id = data["merchant_id"]
    key = (data["project_id"], data["candidate_id"])
    agent = session.get(ProjectAgent, key)
    if agent is None:
        agent = ProjectAgent(project_id=key[0], agent_id=key[1])
        session.add(agent)
    agent.name = str(data["name"])[:100]
    agent.admitted_at = data.get("admitted_at") or agent.admitted_at or now
    agent.updated_at = now
    return agent


# --- project staff (supervisors and managers) -------------------------------------------------------------


def _known_project(session: Session, project_id: str) -> Project:
    project = session.get(Project, project_id)
    if project is None or not project.confirmed:
        raise NotFound(PROJECT_NOT_FOUND)
    return project


def get_staff(session: Session, project_id: str) -> dict[str, Any]:
    _known_project(session, project_id)
    rows = session.scalars(
        select(ProjectStaff)
        .where(ProjectStaff.project_id == project_id)
        .order_by(ProjectStaff.role, ProjectStaff.position, ProjectStaff.user_id)
    ).all()
    return {
        "project_id": project_id,
        "supervisors": [{"user_id": r.user_id, "name": r.name} for r in rows if r.role == "supervisor"],
        "managers": [{"user_id": r.user_id, "name": r.name} for r in rows if r.role == "manager"],
    }


def put_staff(session: Session, project_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Replace the project's supervisor and manager lists (order matters: first listed wins ties)."""
    _known_project(session, project_id)
    session.execute(delete(ProjectStaff).where(ProjectStaff.project_id == project_id))
    for role, key in (("supervisor", "supervisors"), ("manager", "managers")):
        for position, person in enumerate(values.get(key, [])):
            session.add(
                ProjectStaff(
                    project_id=project_id,
                    role=role,
                    user_id=person["user_id"],
                    name=person.get("name"),
                    position=position,
                )
            )
    session.flush()
    return get_staff(session, project_id)


def staffed_projects(session: Session, user_id: str) -> dict[str, Any]:
    """The projects listing ``user_id`` as supervisor or manager (what a supervisor's console shows as
    "my projects"), with how many of their complaints are still to be worked."""
    rows = session.execute(
        select(ProjectStaff.project_id, ProjectStaff.role, Project.company_name, Project.closed)
        .join(Project, Project.project_id == ProjectStaff.project_id)
        .where(ProjectStaff.user_id == user_id)
        .order_by(ProjectStaff.project_id, ProjectStaff.role)
    ).all()
    projects: dict[str, dict[str, Any]] = {}
    for project_id, role, company_name, closed in rows:
        entry = projects.setdefault(
            project_id,
            {"project_id": project_id, "company_name": company_name, "roles": [], "closed": bool(closed)},
        )
        entry["roles"].append(role)
    counts: dict[str, int] = {}
    if projects:
        counts = dict(
            session.execute(
                select(Complaint.project_id, func.count())
                .where(
                    Complaint.project_id.in_(projects),
                    Complaint.status.in_(domain.ACTIVE_STATUSES),
                )
                .group_by(Complaint.project_id)
            ).all()
        )
    items = [{**p, "active_complaints": counts.get(p["project_id"], 0)} for p in projects.values()]
    return {"items": items, "total": len(items)}


def _pick_assignee(session: Session, project_id: str, level: str, policy: Policy) -> str | None:
    """Who takes a supervisor- or manager-level complaint: the project's listed person with the fewest
    active complaints, else the configured default, else nobody (the complaint waits unassigned)."""
    listed = list(
        session.scalars(
            select(ProjectStaff.user_id)
            .where(ProjectStaff.project_id == project_id, ProjectStaff.role == level)
            .order_by(ProjectStaff.position, ProjectStaff.user_id)
        ).all()
    )
    if listed:
        load = dict(
            session.execute(
                select(Complaint.assignee, func.count())
                .where(Complaint.assignee.in_(listed), Complaint.status.in_(ACTIVE_STATUSES))
                .group_by(Complaint.assignee)
            ).all()
        )
        return domain.pick_least_loaded(listed, load)
    return policy.default_supervisor if level == "supervisor" else policy.default_manager


# --- access -----------------------------------------------------------------------------------------------


def visible_query(actor: Actor) -> Select[tuple[Complaint]]:
    """Complaints the actor may see: a merchant its own merchant's, an agent those assigned to or recorded
    by them, the vendor's side everything."""
    stmt = select(Complaint)
    if actor.role == "merchant":
        stmt = stmt.where(Complaint.merchant_id == actor.merchant_id)
    elif actor.role == "agent":
        stmt = stmt.where(or_(Complaint.assignee == actor.sub, Complaint.created_by == actor.sub))
    return stmt


def get_complaint(session: Session, key: str, actor: Actor, *, for_update: bool = False) -> Complaint:
    """By id or by number (``TS20261111-0001``); 404 for a complaint the actor may not see."""
    stmt = visible_query(actor)
    key = key.strip()
    stmt = (
        stmt.where(Complaint.number == key) if domain.parse_number(key) else stmt.where(Complaint.id == key)
    )
    if for_update and is_postgres(session):
        stmt = stmt.with_for_update(of=Complaint)
    complaint = session.scalars(stmt).first()
    if complaint is None:
        raise NotFound(COMPLAINT_NOT_FOUND)
    return complaint


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


def _history(
    session: Session,
    complaint: Complaint,
    kind: str,
    actor: Actor,
    now: dt.datetime,
    **fields: Any,
) -> HistoryEntry:
    entry = HistoryEntry(
        complaint_id=complaint.id, kind=kind, at=now, actor=actor.sub, actor_role=actor.role, **fields
    )
    session.add(entry)
    return entry


def _event(session: Session, event_type: str, complaint: Complaint, reason: str | None = None) -> None:
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
    add_event(session, event_type, data)


def clock_of(complaint: Complaint) -> SlaClock:
    return SlaClock(
        started_at=complaint.sla_started_at,
        due_at=complaint.due_at,
        paused_seconds=complaint.paused_seconds or 0.0,
        paused_since=complaint.paused_since,
    )


def _set_clock(complaint: Complaint, clock: SlaClock) -> None:
    complaint.sla_started_at = clock.started_at
    complaint.due_at = clock.due_at
    complaint.half_time_at = clock.started_at + clock.window / 2
    complaint.paused_seconds = clock.paused_seconds
    complaint.paused_since = clock.paused_since


def _mark_breached(session: Session, complaint: Complaint, actor: Actor, now: dt.datetime) -> None:
    if complaint.breached:
        return
    complaint.breached = True
    complaint.breached_at = now
    _history(
        session,
        complaint,
        "breached",
        actor,
        now,
        text="The time promised to the customer has passed without a resolution.",
        details={
            "due_at": complaint.due_at.isoformat(),
            "effective_due_at": clock_of(complaint).effective_due_at(now).isoformat(),
        },
    )


# --- numbering --------------------------------------------------------------------------------------------


def next_number(session: Session, now: dt.datetime) -> str:
    """Take the day's next number. The upsert locks the day's counter row until the transaction ends, so
    concurrent intakes queue on it and a rolled-back intake gives its number back: no gaps, no repeats."""
    day = domain.business_day(now)
    table = DailyCounter.__table__
    insert = postgresql.insert if is_postgres(session) else sqlite.insert
    stmt = (
        insert(table)
        .values(day=day, last=1)
        .on_conflict_do_update(index_elements=[table.c.day], set_={"last": table.c.last + 1})
        .returning(table.c.last)
    )
    seq = int(session.execute(stmt).scalar_one())
    return domain.complaint_number(day, seq)


# --- intake -----------------------------------------------------------------------------------------------


def _agent_on_project(session: Session, project_id: str, agent_id: str) -> ProjectAgent | None:
    return session.get(ProjectAgent, (project_id, agent_id))


def create_complaint(
    session: Session, values: Mapping[str, Any], actor: Actor, policy: Policy, now: dt.datetime
) -> Complaint:
    errors: dict[str, list[str]] = {}
    project = session.get(Project, values["project_id"])
    if (
        project is None
        or not project.confirmed
        or (actor.role == "merchant" and project.merchant_id != actor.merchant_id)
    ):
        # the same answer for another merchant's project: its existence is not revealed
        errors["project_id"] = [
            "Unknown project: complaints are taken on projects the vendor has confirmed (project.confirmed)."
        ]
        project = None
    agent_id: str | None = values.get("agent_id")
    assignee: str | None = values.get("assignee")
    about_staff = values.get("about_staff")
    if about_staff is None:
        about_staff = domain.default_about_staff(values["category"])
    level = domain.initial_level(about_staff)
    if project is not None:
        if agent_id and _agent_on_project(session, project.project_id, agent_id) is None:
            errors["agent_id"] = [
                f"Agent {agent_id} is not an admitted agent of project {project.project_id}."
            ]
        if assignee and level == "agent" and _agent_on_project(session, project.project_id, assignee) is None:
            errors["assignee"] = [
                f"At the agent level the assignee must be an admitted agent of project {project.project_id}."
            ]
    due_at: dt.datetime | None = values.get("due_at")
    if due_at is not None and due_at <= now:
        errors["due_at"] = [f"The promised time must be in the future (now is {now.isoformat()})."]
    if errors or project is None:
        raise ValidationFailed(errors)
    if project.closed:
        raise BusinessRuleViolation(
            f"Project {project.project_id} is closed: complaints are taken on running projects only; "
            "refer the customer to the merchant.",
            rule="project-closed",
        )
    if actor.role == "agent" and _agent_on_project(session, project.project_id, actor.sub) is None:
        raise Forbidden("An agent may only record complaints on a project they were admitted to.")

    if level == "agent":
        # the agent who received the complaint handles it (seed 004 ②), else the agent concerned
        assignee = assignee or (actor.sub if actor.role == "agent" else None) or agent_id
    else:
        assignee = assignee or _pick_assignee(session, project.project_id, level, policy)

    severity = values.get("severity") or "normal"
    due_source = "given" if due_at is not None else "policy"
    due = due_at.astimezone(dt.UTC) if due_at is not None else policy.promised_due_at(now, severity)
    complaint = Complaint(
        id=str(uuid.uuid4()),
        project_id=project.project_id,
        merchant_id=project.merchant_id,
        channel=values["channel"],
        category=values["category"],
        about_staff=about_staff,
        agent_id=agent_id,
        customer_ref=values.get("customer_ref"),
        description=values["description"],
        severity=severity,
        status=OPEN,
        level=level,
        assignee=assignee,
        due_at_source=due_source,
        breached=False,
        first_response_due_at=policy.first_response_due_at(now),
        agent_at_fault=False,
        reopen_count=0,
        created_by=actor.sub,
        created_by_role=actor.role,
        created_at=now,
        updated_at=now,
    )
    _set_clock(complaint, SlaClock(started_at=now, due_at=due))
    # taken last: the counter row stays locked until commit, so everything refusable is checked before
    complaint.number = next_number(session, now)
    session.add(complaint)
    session.flush()
    _history(
        session,
        complaint,
        "created",
        actor,
        now,
        to_status=OPEN,
        to_level=level,
        assignee=assignee,
        details={
            "channel": complaint.channel,
            "category": complaint.category,
            "severity": severity,
            "about_staff": about_staff,
            "due_at": due.isoformat(),
            "due_at_source": due_source,
        },
    )
    _history(
        session,
        complaint,
        "assigned",
        actor,
        now,
        to_level=level,
        assignee=assignee,
        text=_routing_text(level, about_staff, assignee),
    )
    _event(session, "complaint.opened", complaint)
    return complaint


def _routing_text(level: str, about_staff: bool, assignee: str | None) -> str:
    why = (
        "about an agent's attitude or service quality: straight to the project supervisor"
        if about_staff
        else "handled first at the agent level"
    )
    who = assignee or "nobody yet (no supervisor or manager listed for the project, no default set)"
    return f"Routed to the {level} level ({why}); assigned to {who}."


# --- progress ---------------------------------------------------------------------------------------------


def add_note(
    session: Session, key: str, values: Mapping[str, Any], actor: Actor, policy: Policy, now: dt.datetime
) -> Complaint:
    complaint = get_complaint(session, key, actor, for_update=True)
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
    _history(session, complaint, "note", actor, now, visibility=visibility, text=values["body"])
    if visibility == "customer":
        if complaint.first_responded_at is None:
            complaint.first_responded_at = now
            met = now <= complaint.first_response_due_at
            _history(
                session,
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
            _change_status(
                session, complaint, IN_PROGRESS, actor, now, "work started: the customer was answered"
            )
    if new_due is not None:
        old = complaint.due_at
        clock = clock_of(complaint)
        _set_clock(
            complaint,
            SlaClock(clock.started_at, new_due.astimezone(dt.UTC), clock.paused_seconds, clock.paused_since),
        )
        complaint.due_at_source = "moved"
        _history(
            session,
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
    session: Session, complaint: Complaint, target: str, actor: Actor, now: dt.datetime, reason: str | None
) -> None:
    _transition(complaint, target)
    clock = clock_of(complaint)
    if target == WAITING_CUSTOMER:
        clock = clock.pause(now)
    elif complaint.status == WAITING_CUSTOMER:
        clock = clock.resume(now)
    _set_clock(complaint, clock)
    previous = complaint.status
    complaint.status = target
    complaint.updated_at = now
    _history(session, complaint, "status", actor, now, from_status=previous, to_status=target, text=reason)


def change_status(
    session: Session, key: str, target: str, reason: str | None, actor: Actor, now: dt.datetime
) -> Complaint:
    """Start work (``in_progress``) or wait for the customer (``waiting_customer``, the clock pauses)."""
    complaint = get_complaint(session, key, actor, for_update=True)
    _require_assignee_if_agent(complaint, actor, "change the status of")
    _change_status(session, complaint, target, actor, now, reason)
    return complaint


# --- escalation and assignment ----------------------------------------------------------------------------


def _escalate(
    session: Session,
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
    complaint.assignee = assignee or _pick_assignee(session, complaint.project_id, to_level, policy)
    complaint.updated_at = now
    _history(
        session,
        complaint,
        "escalated",
        actor,
        now,
        from_level=from_level,
        to_level=to_level,
        assignee=complaint.assignee,
        text=reason,
    )
    _history(
        session,
        complaint,
        "assigned",
        actor,
        now,
        to_level=to_level,
        assignee=complaint.assignee,
        text=f"Escalated to the {to_level} level; assigned to {complaint.assignee or 'nobody yet'}.",
    )
    _event(session, "complaint.escalated", complaint, reason)


def escalate(
    session: Session,
    key: str,
    reason: str,
    assignee: str | None,
    actor: Actor,
    policy: Policy,
    now: dt.datetime,
) -> Complaint:
    complaint = get_complaint(session, key, actor, for_update=True)
    if complaint.status not in ACTIVE_STATUSES:
        raise _state_conflict(
            f"Only an unresolved complaint ({', '.join(ACTIVE_STATUSES)}) can be escalated; this one is "
            f"{complaint.status}.",
            complaint.status,
            domain.allowed_transitions(complaint.status),
        )
    _require_assignee_if_agent(complaint, actor, "escalate")
    _escalate(session, complaint, reason, actor, policy, now, assignee)
    return complaint


def assign(
    session: Session, key: str, assignee: str, reason: str | None, actor: Actor, now: dt.datetime
) -> Complaint:
    """Hand the complaint to another named user at the same level."""
    complaint = get_complaint(session, key, actor, for_update=True)
    if complaint.status == CLOSED:
        raise _state_conflict("A closed complaint cannot be reassigned; it is final.", CLOSED)
    if complaint.level == "agent" and _agent_on_project(session, complaint.project_id, assignee) is None:
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
    _history(
        session,
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


def resolve(
    session: Session, key: str, values: Mapping[str, Any], actor: Actor, policy: Policy, now: dt.datetime
) -> Complaint:
    complaint = get_complaint(session, key, actor, for_update=True)
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
        and _agent_on_project(session, complaint.project_id, values["agent_id"]) is None
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
        _history(
            session,
            complaint,
            "agent_named",
            actor,
            now,
            text=f"The investigation names agent {agent_id}.",
            details={"from": complaint.agent_id, "to": agent_id},
        )
        complaint.agent_id = agent_id
    previous = complaint.status
    _set_clock(complaint, clock_of(complaint).resume(now))
    if clock_of(complaint).overdue(now):
        _mark_breached(session, complaint, actor, now)
    complaint.status = RESOLVED
    complaint.resolution = values["resolution"]
    complaint.agent_at_fault = agent_at_fault
    complaint.penalty = penalty if agent_at_fault else None
    complaint.resolved_at = now
    complaint.resolved_by = actor.sub
    complaint.updated_at = now
    _history(
        session,
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
    _event(session, "complaint.resolved", complaint)
    if agent_at_fault and complaint.upheld_at is None:
        complaint.upheld_at = now
        add_event(
            session,
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


def close(session: Session, key: str, note: str | None, actor: Actor, now: dt.datetime) -> Complaint:
    """The customer accepted the resolution."""
    complaint = get_complaint(session, key, actor, for_update=True)
    _require_assignee_if_agent(complaint, actor, "close")
    _close(session, complaint, "accepted", note or "The customer accepted the resolution.", actor, now)
    return complaint


def _close(
    session: Session, complaint: Complaint, reason: str, text: str, actor: Actor, now: dt.datetime
) -> None:
    _transition(complaint, CLOSED)
    complaint.status = CLOSED
    complaint.closed_at = now
    complaint.close_reason = reason
    complaint.updated_at = now
    _history(
        session,
        complaint,
        "closed",
        actor,
        now,
        from_status=RESOLVED,
        to_status=CLOSED,
        text=text,
        details={"close_reason": reason},
    )


def reopen(
    session: Session,
    key: str,
    reason: str,
    due_at: dt.datetime | None,
    actor: Actor,
    policy: Policy,
    now: dt.datetime,
) -> Complaint:
    """The customer did not accept the resolution: the complaint runs again under a new promise."""
    complaint = get_complaint(session, key, actor, for_update=True)
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
    _set_clock(complaint, SlaClock(started_at=now, due_at=due))
    complaint.due_at_source = "reopened"
    complaint.status = REOPENED
    complaint.reopen_count += 1
    complaint.resolved_at = None
    complaint.resolved_by = None
    complaint.resolution = None
    complaint.updated_at = now
    _history(
        session,
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


# --- periodic jobs ----------------------------------------------------------------------------------------


def run_escalations(session: Session, now: dt.datetime, policy: Policy) -> int:
    """The automatic escalation (the worker's job): agent-level complaints half-way to their promise go to
    the supervisor, supervisor-level ones past it go to the manager, and every one past it is flagged
    breached. Returns how many steps were taken."""
    stmt = (
        select(Complaint)
        .where(
            Complaint.status.in_(ACTIVE_STATUSES),
            or_(
                and_(Complaint.level == "agent", Complaint.half_time_at <= now),
                and_(
                    Complaint.due_at <= now,
                    or_(Complaint.level == "supervisor", Complaint.breached.is_(False)),
                ),
            ),
        )
        .order_by(Complaint.due_at, Complaint.id)
        .limit(JOB_BATCH)
    )
    if is_postgres(session):
        # a complaint being changed by a request right now is looked at again on the next run
        stmt = stmt.with_for_update(skip_locked=True)
    steps = 0
    for complaint in session.scalars(stmt).all():
        for step in domain.auto_steps(
            complaint.level, complaint.status, clock_of(complaint), complaint.breached, now
        ):
            if step.kind == "escalate":
                _escalate(session, complaint, step.reason, SYSTEM, policy, now)
            else:
                _mark_breached(session, complaint, SYSTEM, now)
                complaint.updated_at = now
            steps += 1
    if steps:
        log.info("complaint escalation job took %d step(s)", steps)
    return steps


def run_auto_close(session: Session, now: dt.datetime, policy: Policy) -> int:
    """Close resolved complaints nobody reopened within the window (default 7 days)."""
    cutoff = now - dt.timedelta(days=policy.auto_close_days)
    stmt = (
        select(Complaint)
        .where(Complaint.status == RESOLVED, Complaint.resolved_at <= cutoff)
        .order_by(Complaint.resolved_at, Complaint.id)
        .limit(JOB_BATCH)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    closed = 0
    for complaint in session.scalars(stmt).all():
        _close(
            session,
            complaint,
            "auto",
            f"Closed automatically: not reopened within {policy.auto_close_days:g} days of the resolution.",
            SYSTEM,
            now,
        )
        closed += 1
    return closed


# --- views ------------------------------------------------------------------------------------------------


def agent_names(
    session: Session, pairs: Iterable[tuple[str, str | None]]
) -> dict[tuple[str, str], str | None]:
    wanted = {(p, a) for p, a in pairs if a}
    if not wanted:
        return {}
    rows = session.execute(
        select(ProjectAgent.project_id, ProjectAgent.agent_id, ProjectAgent.name).where(
            ProjectAgent.agent_id.in_({a for _p, a in wanted})
        )
    ).all()
    return {(p, a): n for p, a, n in rows if (p, a) in wanted}


def complaint_view(complaint: Complaint, now: dt.datetime, agent_name: str | None = None) -> dict[str, Any]:
    clock = clock_of(complaint)
    active = complaint.status in ACTIVE_STATUSES
    responded = complaint.first_responded_at
    if responded is not None:
        first_met: bool | None = responded <= complaint.first_response_due_at
    else:
        first_met = False if now > complaint.first_response_due_at else None
    return {
        "id": complaint.id,
        "number": complaint.number,
        "project_id": complaint.project_id,
        "merchant_id": complaint.merchant_id,
        "channel": complaint.channel,
        "category": complaint.category,
        "about_staff": complaint.about_staff,
        "agent_id": complaint.agent_id,
        "agent_name": agent_name,
        "customer_ref": complaint.customer_ref,
        "description": complaint.description,
        "severity": complaint.severity,
        "status": complaint.status,
        "level": complaint.level,
        "assignee": complaint.assignee,
        "allowed_transitions": list(domain.allowed_transitions(complaint.status)),
        "due_at": complaint.due_at,
        "due_at_source": complaint.due_at_source,
        "effective_due_at": clock.effective_due_at(now) if active else None,
        "paused": complaint.paused_since is not None,
        "paused_seconds": round(clock.paused(now).total_seconds(), 1),
        "overdue": active and clock.overdue(now),
        "breached": complaint.breached,
        "breached_at": complaint.breached_at,
        "first_response_due_at": complaint.first_response_due_at,
        "first_responded_at": responded,
        "first_response_met": first_met,
        "resolution": complaint.resolution,
        "agent_at_fault": complaint.agent_at_fault,
        "penalty": complaint.penalty,
        "resolved_at": complaint.resolved_at,
        "resolved_by": complaint.resolved_by,
        "closed_at": complaint.closed_at,
        "close_reason": complaint.close_reason,
        "reopen_count": complaint.reopen_count,
        "created_by": complaint.created_by,
        "created_at": complaint.created_at,
        "updated_at": complaint.updated_at,
    }


def complaint_views(
    session: Session, complaints: Sequence[Complaint], now: dt.datetime
) -> list[dict[str, Any]]:
    names = agent_names(session, [(c.project_id, c.agent_id) for c in complaints])
    return [complaint_view(c, now, names.get((c.project_id, c.agent_id or ""))) for c in complaints]


def complaint_detail(session: Session, complaint: Complaint, now: dt.datetime) -> dict[str, Any]:
    view = complaint_views(session, [complaint], now)[0]
    history = session.scalars(
        select(HistoryEntry).where(HistoryEntry.complaint_id == complaint.id).order_by(HistoryEntry.id)
    ).all()
    view["history"] = history
    return view


def list_query(actor: Actor, args: Mapping[str, Any]) -> Select[tuple[Complaint]]:
    stmt = visible_query(actor)
    for name in ("project_id", "status", "level", "category", "severity", "channel", "agent_id", "assignee"):
        if args.get(name):
            stmt = stmt.where(getattr(Complaint, name) == args[name])
    for name in ("breached", "about_staff"):
        if args.get(name) is not None:
            stmt = stmt.where(getattr(Complaint, name).is_(args[name]))
    if args.get("number"):
        stmt = stmt.where(Complaint.number == args["number"])
    if args.get("customer_ref"):
        stmt = stmt.where(Complaint.customer_ref == args["customer_ref"])
    if args.get("active") is not None:
        active = Complaint.status.in_(domain.ACTIVE_STATUSES)
        stmt = stmt.where(active if args["active"] else ~active)
    stmt = _created_between(stmt, args.get("from_"), args.get("to"))
    return stmt.order_by(Complaint.created_at.desc(), Complaint.number.desc())


def _created_between(
    stmt: Select[tuple[Complaint]], start: dt.date | None, end: dt.date | None
) -> Select[tuple[Complaint]]:
    """Shanghai calendar days, both ends included."""
    if start is not None:
        stmt = stmt.where(Complaint.created_at >= dt.datetime.combine(start, dt.time(), SHANGHAI))
    if end is not None:
        stmt = stmt.where(
            Complaint.created_at < dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), SHANGHAI)
        )
    return stmt


def stats(session: Session, actor: Actor, args: Mapping[str, Any]) -> dict[str, Any]:
    stmt = _created_between(visible_query(actor), args.get("from_"), args.get("to"))
    if args.get("project_id"):
        stmt = stmt.where(Complaint.project_id == args["project_id"])
    rows = [
        domain.StatRow(
            category=c.category,
            level=c.level,
            status=c.status,
            created_at=c.created_at,
            first_responded_at=c.first_responded_at,
            resolved_at=c.resolved_at,
            breached=c.breached,
            agent_id=c.agent_id,
            agent_at_fault=c.agent_at_fault,
            penalty=c.penalty,
        )
        for c in session.scalars(stmt).all()
    ]
    result = domain.summarize(rows)
    names = (
        dict(
            session.execute(
                select(ProjectAgent.agent_id, func.max(ProjectAgent.name))
                .where(ProjectAgent.agent_id.in_([u.agent_id for u in result.upheld]))
                .group_by(ProjectAgent.agent_id)
            ).all()
        )
        if result.upheld
        else {}
    )
    return {
        "project_id": args.get("project_id"),
        "from": args.get("from_"),
        "to": args.get("to"),
        "total": result.total,
        "by_category": result.by_category,
        "by_level": result.by_level,
        "by_status": result.by_status,
        "resolved": result.resolved,
        "resolved_within_promise": result.resolved_within_promise,
        "within_promise_share": result.within_promise_share,
        "first_response": {
            "count": sum(1 for r in rows if r.first_responded_at is not None),
            "avg_seconds": result.first_response_avg_seconds,
            "p90_seconds": result.first_response_p90_seconds,
        },
        "resolution": {
            "count": result.resolved,
            "avg_seconds": result.resolution_avg_seconds,
            "p90_seconds": result.resolution_p90_seconds,
        },
        "upheld": [
            {
                "agent_id": u.agent_id,
                "name": names.get(u.agent_id),
                "upheld": u.upheld,
                "penalties": u.penalties,
            }
            for u in result.upheld
        ],
        "upheld_total": sum(u.upheld for u in result.upheld),
        "penalties_total": sum((u.penalties for u in result.upheld), Decimal("0.00")),
    }
