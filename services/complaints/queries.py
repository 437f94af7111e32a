"""The read side of the complaints service: what a caller may see, lists, one complaint, staff lists,
stats, and the shape the views answer with.

Every query takes the unit of work: the caller (``uow.actor``) scopes what is visible, ``uow.now()`` is
the time the answer is computed at (overdue, effective promise).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, func, or_, select

from services.complaints import domain
from services.complaints.domain import ACTIVE_STATUSES, SlaClock
from services.complaints.models import Complaint, HistoryEntry, Project, ProjectAgent, ProjectStaff
from shared.db import is_postgres
from shared.errors import NotFound
from shared.pagination import Page, paginate_args
from shared.uow import Actor, UnitOfWork
from shared.workdays import SHANGHAI

COMPLAINT_NOT_FOUND = "There is no complaint with this id or number."
PROJECT_NOT_FOUND = "The complaints service has no record of this project."


# --- pages ------------------------------------------------------------------------------------------------


# --- access -----------------------------------------------------------------------------------------------


def visible_query(actor: Actor) -> Select[tuple[Complaint]]:
    """Complaints the actor may see: a merchant its own merchant's, an agent those assigned to or recorded
    by them, the vendor's side everything."""
    return _scoped(select(Complaint), actor)


def _scoped(stmt: Select[Any], actor: Actor) -> Select[Any]:
    if actor.role == "merchant":
        stmt = stmt.where(Complaint.merchant_id == actor.merchant_id)
    elif actor.role == "agent":
        stmt = stmt.where(or_(Complaint.assignee == actor.sub, Complaint.created_by == actor.sub))
    return stmt


def get_complaint(uow: UnitOfWork, key: str, *, for_update: bool = False) -> Complaint:
    """By id or by number (``TS20261111-0001``); 404 for a complaint the actor may not see."""
    stmt = visible_query(uow.actor)
    key = key.strip()
    stmt = (
        stmt.where(Complaint.number == key) if domain.parse_number(key) else stmt.where(Complaint.id == key)
    )
    if for_update and is_postgres(uow.session):
        stmt = stmt.with_for_update(of=Complaint)
    complaint = uow.session.scalars(stmt).first()
    if complaint is None:
        raise NotFound(COMPLAINT_NOT_FOUND)
    return complaint


def agent_on_project(uow: UnitOfWork, project_id: str, agent_id: str) -> ProjectAgent | None:
    return uow.session.get(ProjectAgent, (project_id, agent_id))


def clock_of(complaint: Any) -> SlaClock:
    """The complaint's promise as the domain's clock."""
    return SlaClock(
        started_at=complaint.sla_started_at,
        due_at=complaint.due_at,
        paused_seconds=complaint.paused_seconds or 0.0,
        paused_since=complaint.paused_since,
    )


# --- project staff ----------------------------------------------------------------------------------------


def known_project(uow: UnitOfWork, project_id: str) -> Project:
    project = uow.session.get(Project, project_id)
    if project is None or not project.confirmed:
        raise NotFound(PROJECT_NOT_FOUND)
    return project


def get_staff(uow: UnitOfWork, project_id: str) -> dict[str, Any]:
    """The project's staff lists, read with the project in one query."""
    rows = uow.session.execute(
        select(Project.confirmed, ProjectStaff.role, ProjectStaff.user_id, ProjectStaff.name)
        .outerjoin(ProjectStaff, ProjectStaff.project_id == Project.project_id)
        .where(Project.project_id == project_id)
        .order_by(ProjectStaff.role, ProjectStaff.position, ProjectStaff.user_id)
    ).all()
    if not rows or not rows[0].confirmed:
        raise NotFound(PROJECT_NOT_FOUND)
    return {
        "project_id": project_id,
        "supervisors": [{"user_id": r.user_id, "name": r.name} for r in rows if r.role == "supervisor"],
        "managers": [{"user_id": r.user_id, "name": r.name} for r in rows if r.role == "manager"],
    }


def staffed_projects(uow: UnitOfWork) -> dict[str, Any]:
    """The projects listing the caller as supervisor or manager (what a supervisor's console shows as
    "my projects"), with how many of their complaints are still to be worked, in one query."""
    active = (
        select(func.count())
        .select_from(Complaint)
        .where(Complaint.project_id == ProjectStaff.project_id, Complaint.status.in_(ACTIVE_STATUSES))
        .correlate(ProjectStaff)
        .scalar_subquery()
    )
    rows = uow.session.execute(
        select(ProjectStaff.project_id, ProjectStaff.role, Project.company_name, Project.closed, active)
        .join(Project, Project.project_id == ProjectStaff.project_id)
        .where(ProjectStaff.user_id == uow.actor.sub)
        .order_by(ProjectStaff.project_id, ProjectStaff.role)
    ).all()
    projects: dict[str, dict[str, Any]] = {}
    for project_id, role, company_name, closed, count in rows:
        entry = projects.setdefault(
            project_id,
            {
                "project_id": project_id,
                "company_name": company_name,
                "roles": [],
                "closed": bool(closed),
                "active_complaints": int(count or 0),
            },
        )
        entry["roles"].append(role)
    items = list(projects.values())
    return {"items": items, "total": len(items)}


def listed_staff(uow: UnitOfWork, project_id: str, role: str) -> list[str]:
    """The project's supervisors or managers, in the order listed."""
    return list(
        uow.session.scalars(
            select(ProjectStaff.user_id)
            .where(ProjectStaff.project_id == project_id, ProjectStaff.role == role)
            .order_by(ProjectStaff.position, ProjectStaff.user_id)
        ).all()
    )


def active_load(uow: UnitOfWork, assignees: Sequence[str]) -> dict[str, int]:
    """How many active complaints each of these people holds."""
    return dict(
        uow.session.execute(
            select(Complaint.assignee, func.count())
            .where(Complaint.assignee.in_(assignees), Complaint.status.in_(ACTIVE_STATUSES))
            .group_by(Complaint.assignee)
        ).all()
    )


# --- views ------------------------------------------------------------------------------------------------


def _named(stmt: Select[Any]) -> Select[Any]:
    """``stmt`` with the concerned agent's name (the project's read model of its agents) as ``agent_name``."""
    return stmt.add_columns(ProjectAgent.name.label("agent_name")).outerjoin(
        ProjectAgent,
        and_(ProjectAgent.project_id == Complaint.project_id, ProjectAgent.agent_id == Complaint.agent_id),
    )


def complaint_view(complaint: Any, now: dt.datetime, agent_name: str | None = None) -> dict[str, Any]:
    """``complaint`` is a Complaint or a row carrying its columns (the list selects columns)."""
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


def _detail(uow: UnitOfWork, stmt: Select[Any]) -> dict[str, Any]:
    rows = uow.session.execute(
        _named(stmt)
        .add_columns(HistoryEntry)
        .outerjoin(HistoryEntry, HistoryEntry.complaint_id == Complaint.id)
        .order_by(HistoryEntry.id)
    ).all()
    if not rows:
        raise NotFound(COMPLAINT_NOT_FOUND)
    complaint, agent_name = rows[0][0], rows[0][1]
    view = complaint_view(complaint, uow.now(), agent_name)
    view["history"] = [row[2] for row in rows if row[2] is not None]
    return view


def complaint_detail(uow: UnitOfWork, complaint: Complaint) -> dict[str, Any]:
    """A complaint the caller has just changed, with its agent's name and full history (one query; not
    scoped again: a hand-over may take it out of the caller's sight, and the answer still shows it)."""
    return _detail(uow, select(Complaint).where(Complaint.id == complaint.id))


def complaint_detail_by_key(uow: UnitOfWork, key: str) -> dict[str, Any]:
    """One complaint by id or number with its agent's name and full history, in one query; 404 for one
    the caller may not see."""
    key = key.strip()
    match = Complaint.number == key if domain.parse_number(key) else Complaint.id == key
    return _detail(uow, visible_query(uow.actor).where(match))


#: the list's sort: newest first; the number (unique) breaks ties and makes the key unique for ``after``
COMPLAINT_ORDER = (Complaint.created_at.desc(), Complaint.number.desc())


def list_query(actor: Actor, args: Mapping[str, Any]) -> Select[Any]:
    """The list's statement (sorted by ``paginate`` with COMPLAINT_ORDER): the complaint's columns and its
    agent's name in one query."""
    stmt = _scoped(_named(select(*Complaint.__table__.columns)), actor)  # type: ignore[attr-defined]
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
    return _created_between(stmt, args.get("from_"), args.get("to"))


def list_complaints(uow: UnitOfWork, args: Mapping[str, Any]) -> Page:
    """One page of the complaints the caller may see, newest first, shaped for the view."""
    page = paginate_args(uow.session, list_query(uow.actor, args), args, order_by=COMPLAINT_ORDER)
    now = uow.now()
    return page.with_items([complaint_view(row, now, row.agent_name) for row in page.items])


def _created_between(stmt: Select[Any], start: dt.date | None, end: dt.date | None) -> Select[Any]:
    """Shanghai calendar days, both ends included."""
    if start is not None:
        stmt = stmt.where(Complaint.created_at >= dt.datetime.combine(start, dt.time(), SHANGHAI))
    if end is not None:
        stmt = stmt.where(
            Complaint.created_at < dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), SHANGHAI)
        )
    return stmt


def stats(uow: UnitOfWork, args: Mapping[str, Any]) -> dict[str, Any]:
    """Counts, promise keeping, response and resolution times, upheld complaints per agent."""
    session = uow.session
    stmt = _created_between(visible_query(uow.actor), args.get("from_"), args.get("to"))
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
