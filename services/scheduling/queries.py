"""The read side of scheduling: projects as the caller may see them, the pool, rosters, surges and
timesheets, shaped for the views. Tenant scoping is by ``uow.actor``; "today" is the Shanghai date of
``uow.now()``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from services.scheduling import domain
from services.scheduling.config import SchedulingSettings
from services.scheduling.models import (
    KpiStanding,
    PoolAgent,
    Project,
    Roster,
    RosterAssignment,
    RosterSlot,
    Surge,
    TimesheetEntry,
)
from services.scheduling.roster import (
    PROJECT_NOT_FOUND,
    PoolMember,
    effective_assignments,
    effective_slots,
    end_hhmm,
    get_project,
    hhmm,
    hours_text,
    pool_members,
    version_shifts,
)
from shared.errors import NotFound, ValidationFailed
from shared.pagination import Page, paginate_args, set_total_count
from shared.uow import UnitOfWork
from shared.workdays import today_shanghai

SURGE_NOT_FOUND = "There is no surge with this id in this project."


def page_of(
    uow: UnitOfWork,
    stmt: Select[Any],
    args: dict[str, Any],
    order_by: Sequence[Any],
    shape: Callable[[Any], Any],
) -> dict[str, Any]:
    """One page of ``stmt`` sorted by ``order_by``: ``?after=`` walks on by keyset, ``?page=`` numbers."""
    result = paginate_args(uow.session, stmt, args, order_by=order_by)
    return {
        "items": [shape(row) for row in result.items],
        "total": result.total,
        "page": result.page,
        "per_page": result.per_page,
        "pages": result.pages,
        "next_after": result.next_after,
    }


def project_for(uow: UnitOfWork, project_id: str, *, for_update: bool = False) -> Project:
    """The project, or the same 404 for a missing one and another merchant's."""
    project = get_project(uow.session, project_id, for_update=for_update)
    actor = uow.actor
    if actor.is_merchant and project.merchant_id != actor.merchant_id:
        raise NotFound(PROJECT_NOT_FOUND)
    return project


def agent_scope(uow: UnitOfWork, project_id: str) -> str | None:
    """An agent's token sees only its own shifts, and only in a project whose pool it belongs to."""
    actor = uow.actor
    if actor.role != "agent":
        return None
    member = uow.session.scalars(
        select(PoolAgent.id).where(PoolAgent.project_id == project_id, PoolAgent.agent_id == actor.sub)
    ).first()
    if member is None:
        raise NotFound(PROJECT_NOT_FOUND)
    return actor.sub


def roster_version(uow: UnitOfWork, project_id: str, roster_id: str) -> dict[str, Any]:
    """One roster version of the project with all its shifts and gaps."""
    roster = uow.session.get(Roster, roster_id)
    if roster is None or roster.project_id != project_id:
        raise NotFound("There is no roster version with this id in this project.")
    return roster_detail(uow, roster)


#: newest first; the id breaks ties and makes the key unique (ix_surges_project[_status]_created)
SURGE_ORDER = (Surge.created_at.desc(), Surge.id.desc())


def surge_list_query(project_id: str, args: dict[str, Any]) -> Select[Any]:
    stmt = select(Surge).where(Surge.project_id == project_id)
    if args.get("status"):
        stmt = stmt.where(Surge.status == args["status"])
    return stmt


def surges(uow: UnitOfWork, project_id: str, args: dict[str, Any]) -> dict[str, Any]:
    """The project's surges, newest first."""
    return page_of(uow, surge_list_query(project_id, args), args, SURGE_ORDER, surge_dict)


def surge(uow: UnitOfWork, project_id: str, surge_id: str) -> dict[str, Any]:
    row = uow.session.get(Surge, surge_id)
    if row is None or row.project_id != project_id:
        raise NotFound(SURGE_NOT_FOUND)
    return surge_dict(row)


def pool_view(
    uow: UnitOfWork, project: Project, cfg: SchedulingSettings, args: dict[str, Any]
) -> dict[str, Any]:
    """The project's pool: active agents (first ceil(1.5 × seats) by admission score) and reserve."""
    members = pool_members(uow.session, project, cfg, include_departed=args.get("include_departed", False))
    counts = {"active": 0, "reserve": 0}
    for m in members:
        if m.role in counts:
            counts[m.role] += 1
    if args.get("role"):
        members = [m for m in members if m.role == args["role"]]
    page, per_page = args["page"], args["per_page"]
    chunk = members[(page - 1) * per_page : page * per_page]
    set_total_count(len(members))
    return {
        "project_id": project.id,
        "seats": project.seats or 0,
        "active_ratio": str(cfg.active_ratio),
        "active_target": domain.active_target(project.seats or 0, cfg.active_ratio),
        "active": counts["active"],
        "reserve": counts["reserve"],
        "items": [_member_dict(m) for m in chunk],
        "total": len(members),
        "page": page,
        "per_page": per_page,
        "pages": -(-len(members) // per_page),
    }


def _member_dict(m: PoolMember) -> dict[str, Any]:
    a = m.agent
    return {
        "agent_id": a.agent_id,
        "name": a.name,
        "role": m.role,
        "position": m.position,
        "score": round(m.score, 2),
        "quiz_score": a.quiz_score,
        "simulation_score": a.simulation_score,
        "rank": a.rank,
        "cohort_id": a.cohort_id,
        "skills": a.skills,
        "shifts_available": a.shifts_available,
        "part_time": bool(a.part_time),
        "admitted_at": a.admitted_at,
        "departed_on": a.departed_on,
        "replaced_by": a.replaced_by,
    }


def agent_names(session: Session, project_id: str) -> dict[str, str]:
    rows = session.execute(
        select(PoolAgent.agent_id, PoolAgent.name).where(PoolAgent.project_id == project_id)
    )
    return {agent_id: name for agent_id, name in rows}


def shift_dict(row: RosterAssignment, version: int, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "roster_id": row.roster_id,
        "version": version,
        "date": row.date,
        "shift": row.shift,
        "start": hhmm(row.start_minute),
        "end": end_hhmm(row.start_minute, row.minutes),
        "hours": hours_text(row.minutes),
        "agent_id": row.agent_id,
        "agent_name": names.get(row.agent_id),
        "role": row.role,
    }


def _gap_dict(slot: RosterSlot) -> dict[str, Any]:
    return {
        "date": slot.date,
        "shift": slot.shift,
        "start": hhmm(slot.start_minute),
        "end": end_hhmm(slot.start_minute, slot.minutes),
        "needed": slot.needed,
        "assigned": slot.needed - slot.missing,
        "missing": slot.missing,
        "rule": slot.rule,
        "detail": slot.detail,
    }


def roster_detail(uow: UnitOfWork, roster: Roster) -> dict[str, Any]:
    """One roster version with all its shifts and gaps."""
    session = uow.session
    names = agent_names(session, roster.project_id)
    rows = version_shifts(session, roster.id)
    slots = session.scalars(
        select(RosterSlot)
        .where(RosterSlot.roster_id == roster.id)
        .order_by(RosterSlot.date, RosterSlot.start_minute)
    ).all()
    needed = sum(s.needed for s in slots)
    assigned = needed - sum(s.missing for s in slots)
    out = roster_dict(roster)
    out.update(
        needed=needed,
        assigned=assigned,
        coverage_pct=str((Decimal(100 * assigned) / needed).quantize(Decimal("0.1"))) if needed else "100.0",
        uncovered=[_gap_dict(s) for s in slots if s.missing],
        shifts=[shift_dict(r, roster.version, names) for r in rows],
    )
    return out


def roster_dict(roster: Roster) -> dict[str, Any]:
    return {
        "id": roster.id,
        "project_id": roster.project_id,
        "version": roster.version,
        "date_from": roster.date_from,
        "date_to": roster.date_to,
        "status": roster.status,
        "reason": roster.reason,
        "method": roster.method,
        "solver_status": roster.solver_status,
        "solve_seconds": roster.solve_seconds,
        "solver_report": roster.solver_report,
        "demand": roster.demand,
        "binding_rules": roster.binding_rules,
        "created_by": roster.created_by,
        "created_at": roster.created_at,
        "published_at": roster.published_at,
    }


def _default_range(
    session: Session, project_id: str, start: dt.date | None, end: dt.date | None, today: dt.date
) -> tuple[dt.date, dt.date]:
    """Without dates: from today to the last published date (at least today)."""
    if start is None:
        start = today if end is None or end >= today else end
    if end is None:
        last = session.scalar(
            select(func.max(Roster.date_to)).where(
                Roster.project_id == project_id, Roster.status == "published"
            )
        )
        end = max(start, last) if last else start
    return start, end


def roster_view(
    uow: UnitOfWork,
    project_id: str,
    args: dict[str, Any],
    *,
    agent_only: str | None,
    paginate_items: bool = True,
) -> dict[str, Any]:
    """The roster in force (newest published version per date), filtered by date, shift and agent.

    Without dates: from today (Shanghai) to the last rostered day. ``agent_only``: that agent's shifts only.
    """
    session = uow.session
    today = today_shanghai(uow.now())
    if args.get("date"):
        start = end = args["date"]
    else:
        start, end = _default_range(session, project_id, args.get("from_"), args.get("to"), today)
    if (end - start).days > 366:
        raise ValidationFailed({"to": ["a roster query covers at most 367 days"]})
    agent_id = agent_only or args.get("agent_id")
    rows, chosen = effective_assignments(
        session, project_id, start, end, agent_id=agent_id, shift=args.get("shift")
    )
    names = agent_names(session, project_id)
    versions = {r.id: r for r in chosen.values()}
    items = [shift_dict(r, versions[r.roster_id].version, names) for r in rows]
    uncovered = [] if agent_only else [_gap_dict(s) for s in effective_slots(session, chosen) if s.missing]
    if args.get("shift"):
        uncovered = [g for g in uncovered if g["shift"] == args["shift"]]
    total = len(items)
    set_total_count(total)
    page, per_page = args.get("page", 1), args.get("per_page", total or 1)
    if paginate_items:
        items = items[(page - 1) * per_page : page * per_page]
    return {
        "project_id": project_id,
        "from_": start,
        "to": end,
        "versions": [roster_dict(r) for r in sorted(versions.values(), key=lambda r: r.version)],
        "uncovered": uncovered,
        "items": items,
        "total": total,
        "page": page,
        "per_page": per_page,
        "pages": -(-total // per_page) if per_page else 0,
    }


#: newest version first (ix_rosters_project_version); the id only makes the key unique
ROSTER_VERSION_ORDER = (Roster.version.desc(), Roster.id.desc())


def roster_version_query(project_id: str) -> Select[Any]:
    return select(Roster).where(Roster.project_id == project_id)


def roster_versions(uow: UnitOfWork, project_id: str, args: dict[str, Any]) -> dict[str, Any]:
    """Every roster version of the project, newest first (history is kept)."""
    return page_of(uow, roster_version_query(project_id), args, ROSTER_VERSION_ORDER, roster_dict)


def surge_dict(surge: Surge, roster: Roster | None = None) -> dict[str, Any]:
    return {
        "id": surge.id,
        "project_id": surge.project_id,
        "start_date": surge.start_date,
        "end_date": surge.end_date,
        "increase_pct": surge.increase_pct,
        "status": surge.status,
        "notice_days": surge.notice_days,
        "extra_seats": surge.extra_seats,
        "covered": surge.covered,
        "uncovered": surge.uncovered,
        "rule": surge.rule,
        "reason": surge.reason,
        "earliest_start": surge.earliest_start,
        "note": surge.note,
        "requested_by": surge.requested_by,
        "created_at": surge.created_at,
        "cancelled_at": surge.cancelled_at,
        "roster_version": roster.version if roster else None,
    }


def timesheet_dict(t: TimesheetEntry) -> dict[str, Any]:
    return {
        "id": t.id,
        "project_id": t.project_id,
        "agent_id": t.agent_id,
        "date": t.date,
        "hours": t.hours,
        "note": t.note,
        "recorded_by": t.recorded_by,
        "recorded_at": t.recorded_at,
        "current": t.superseded_at is None,
        "superseded_at": t.superseded_at,
        "superseded_by": t.superseded_by,
    }


def timesheets(uow: UnitOfWork, args: dict[str, Any]) -> dict[str, Any]:
    """Timesheet entries by project, agent and period: an agent sees its own, a merchant its projects'."""
    stmt, order = _scoped_timesheets(uow, args)
    return page_of(uow, stmt, args, order, timesheet_dict)


#: by date, project, agent and recording time; the id makes the key unique
TIMESHEET_SORT = (
    TimesheetEntry.date,
    TimesheetEntry.project_id,
    TimesheetEntry.agent_id,
    TimesheetEntry.recorded_at,
    TimesheetEntry.id,
)


def timesheet_order(args: dict[str, Any], *, agent_only: str | None) -> tuple[Any, ...]:
    """The list's sort without the columns a filter fixes: the same order, and the key that the index for
    that filter set (fixed columns first, then the rest of the sort) serves, cursor included."""
    fixed = set()
    if args.get("project_id"):
        fixed.add("project_id")
    if agent_only is not None or args.get("agent_id"):
        fixed.add("agent_id")
    return tuple(column for column in TIMESHEET_SORT if column.key not in fixed)


def timesheet_query(args: dict[str, Any], *, merchant_id: str | None, agent_only: str | None) -> Select[Any]:
    stmt = select(TimesheetEntry)
    if args.get("project_id"):
        stmt = stmt.where(TimesheetEntry.project_id == args["project_id"])
    if agent_only is not None:
        stmt = stmt.where(TimesheetEntry.agent_id == agent_only)
    elif args.get("agent_id"):
        stmt = stmt.where(TimesheetEntry.agent_id == args["agent_id"])
    if args.get("from_"):
        stmt = stmt.where(TimesheetEntry.date >= args["from_"])
    if args.get("to"):
        stmt = stmt.where(TimesheetEntry.date <= args["to"])
    if not args.get("include_history"):
        stmt = stmt.where(TimesheetEntry.superseded_at.is_(None))
    if merchant_id is not None:
        stmt = stmt.where(
            TimesheetEntry.project_id.in_(select(Project.id).where(Project.merchant_id == merchant_id))
        )
    return stmt


#: an export is one file: more rows than this is a filter to narrow, not a spreadsheet to build
EXPORT_LIMIT = 100_000


def timesheet_entries(uow: UnitOfWork, args: dict[str, Any]) -> list[TimesheetEntry]:
    """The entries the list shows, unpaginated (for the exports), with the same scoping."""
    stmt, order = _scoped_timesheets(uow, args)
    return list(uow.session.scalars(stmt.order_by(*order).limit(EXPORT_LIMIT)).all())


def _scoped_timesheets(uow: UnitOfWork, args: dict[str, Any]) -> tuple[Select[Any], tuple[Any, ...]]:
    """An agent sees its own entries, a merchant its projects' ones; the statement and its sort."""
    actor = uow.actor
    agent_only = actor.sub if actor.role == "agent" else None
    stmt = timesheet_query(
        args, merchant_id=actor.merchant_id if actor.is_merchant else None, agent_only=agent_only
    )
    return stmt, timesheet_order(args, agent_only=agent_only)


#: the early-warning list, by agent id; the index (project_id, warning, agent_id) serves both filters
KPI_ORDER = (KpiStanding.agent_id,)


def kpi_warning_query(project_id: str, args: Mapping[str, Any]) -> Select[Any]:
    stmt = select(KpiStanding).where(KpiStanding.project_id == project_id)
    if not args.get("all"):
        stmt = stmt.where(KpiStanding.warning.is_(True))
    return stmt


def kpi_warning_page(uow: UnitOfWork, project_id: str, args: Mapping[str, Any]) -> Page:
    """The project's agents whose KPI is below quality's warning threshold for several months in a row
    (all agents with a KPI when ``all``), with their pool names."""
    project = project_for(uow, project_id)
    page = paginate_args(uow.session, kpi_warning_query(project.id, args), args, order_by=KPI_ORDER)
    names = agent_names(uow.session, project.id)
    return page.with_items(
        [
            {
                "agent_id": row.agent_id,
                "name": names.get(row.agent_id),
                "period": row.period,
                "score": row.score,
                "below_threshold_streak": row.below_threshold_streak,
                "warning": row.warning,
                "updated_at": row.updated_at,
            }
            for row in page.items
        ]
    )
