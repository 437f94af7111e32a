"""Use cases of the scheduling service: load, apply the rules, save and stage events in one transaction.

Every public function here takes the caller's session and commits it (or raises before writing). The
event handlers are the exception: they run inside the consumer's inbox transaction and never commit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from services.scheduling import domain
from services.scheduling.domain import PoolCandidate, SchedulingSettings
from services.scheduling.models import (
    PoolAgent,
    Project,
    Roster,
    RosterAssignment,
    RosterSlot,
    Surge,
    TimesheetEntry,
)
from services.scheduling.rostering import (
    DAY_MINUTES,
    Assignment,
    Gap,
    RosterAgent,
    RosterProblem,
    ShiftTemplate,
    Slot,
    binding_rules,
    reassign,
    solve,
    split_service_hours,
)
from shared.db import utcnow
from shared.errors import BusinessRuleViolation, Conflict, NotFound, ValidationFailed
from shared.events.outbox import add_event
from shared.tabular import Column
from shared.workdays import SHANGHAI

PROJECT_NOT_FOUND = "There is no confirmed project with this id in scheduling."
#: Days of already-rostered shifts either side of a window that the rules look at (rest, streaks, weeks).
CONTEXT_DAYS = 7


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def _hhmm(minute: int) -> str:
    minute %= DAY_MINUTES
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _end_hhmm(start_minute: int, minutes: int) -> str:
    end = start_minute + minutes
    return "24:00" if end == DAY_MINUTES else _hhmm(end)


def _hours(minutes: int) -> str:
    return str((Decimal(minutes) / 60).quantize(Decimal("0.01")))


# --- read models (event handlers call these inside the inbox transaction; they never commit) -----------


def _occurred(value: str | None) -> dt.datetime:
    if not value:
        return utcnow()
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _newer(project: Project, occurred: dt.datetime) -> bool:
    return project.last_event_at is None or occurred >= project.last_event_at


def apply_project_confirmed(session: Session, data: dict[str, Any], occurred_at: str | None) -> None:
    occurred = _occurred(occurred_at)
    project = session.get(Project, data["project_id"])
    if project is None:
        project = Project(id=data["project_id"], status="confirmed")
        session.add(project)
    values = {
        "merchant_id": data["merchant_id"],
        "seats": data["seats"],
        "service_type": data["service_type"],
        "service_start": data["service_hours"]["start"],
        "service_end": data["service_hours"]["end"],
        "go_live_date": dt.date.fromisoformat(str(data["go_live_date"])),
        "company_name": data.get("company_name") or (data.get("merchant") or {}).get("company_name"),
    }
    newer = _newer(project, occurred)
    for key, value in values.items():
        # a later project.updated that arrived first keeps its values; a confirmation only fills gaps
        if newer or getattr(project, key) is None:
            setattr(project, key, value)
    if newer:
        project.last_event_at = occurred
    project.updated_at = utcnow()


def apply_project_updated(session: Session, data: dict[str, Any], occurred_at: str | None) -> None:
    occurred = _occurred(occurred_at)
    project = session.get(Project, data["project_id"])
    if project is None:
        project = Project(id=data["project_id"], status="confirmed")
        session.add(project)
    if project.merchant_id is None:
        project.merchant_id = data["merchant_id"]
    if not _newer(project, occurred):
        return
    if "seats" in data:
        project.seats = data["seats"]
    if "service_hours" in data:
        project.service_start = data["service_hours"]["start"]
        project.service_end = data["service_hours"]["end"]
    if "go_live_date" in data:
        project.go_live_date = dt.date.fromisoformat(str(data["go_live_date"]))
    if "service_type" in data:
        project.service_type = data["service_type"]
    project.last_event_at = occurred
    project.updated_at = utcnow()


def apply_project_closed(session: Session, data: dict[str, Any], occurred_at: str | None) -> None:
    project = session.get(Project, data["project_id"])
    if project is None:
        project = Project(id=data["project_id"])
        session.add(project)
    if project.merchant_id is None and data.get("merchant_id"):
        project.merchant_id = data["merchant_id"]
    project.status = "closed"  # final whatever the order: a closed project never reopens
    project.updated_at = utcnow()


def apply_agent_admitted(session: Session, data: dict[str, Any], occurred_at: str | None) -> None:
    """Upsert the agent into the project's pool; a departure recorded earlier is kept."""
    row = session.scalars(
        select(PoolAgent).where(
            PoolAgent.project_id == data["project_id"], PoolAgent.agent_id == data["candidate_id"]
        )
    ).one_or_none()
    if row is None:
        row = PoolAgent(project_id=data["project_id"], agent_id=data["candidate_id"])
        session.add(row)
    row.cohort_id = data["cohort_id"]
    row.name = data["name"]
    row.phone = data.get("phone")
    row.skills = list(data["skills"])
    row.shifts_available = list(data["shifts_available"])
    row.quiz_score = float(data["quiz_score"])
    row.simulation_score = float(data["simulation_score"])
    row.rank = int(data["rank"])
    admitted = data.get("admitted_at")
    row.admitted_at = _occurred(str(admitted) if admitted else occurred_at)
    if data.get("merchant_id"):
        project = session.get(Project, data["project_id"])
        if project is None:
            session.add(Project(id=data["project_id"], merchant_id=data["merchant_id"], status="confirmed"))
        elif project.merchant_id is None:
            project.merchant_id = data["merchant_id"]
    session.flush()


# --- projects and the pool --------------------------------------------------------------------------------


def get_project(session: Session, project_id: str, *, for_update: bool = False) -> Project:
    project = session.get(Project, project_id, with_for_update=for_update or None)
    if project is None:
        raise NotFound(PROJECT_NOT_FOUND)
    return project


def _require_schedulable(project: Project, what: str) -> tuple[int, str, str]:
    if project.status == "closed":
        raise BusinessRuleViolation(
            f"Project {project.id} is closed; {what} is only possible for a running project.",
            rule="project-closed",
            status=409,
        )
    if not project.seats or not project.service_start or not project.service_end:
        raise BusinessRuleViolation(
            f"Project {project.id}'s seats and service hours are not known yet (scheduling has not received "
            f"its project.confirmed event); {what} is possible once they are.",
            rule="project-incomplete",
            status=409,
        )
    return project.seats, project.service_start, project.service_end


@dataclass(frozen=True)
class PoolMember:
    agent: PoolAgent
    role: str
    position: int

    @property
    def score(self) -> float:
        return (self.agent.quiz_score + self.agent.simulation_score) / 2


def pool_members(
    session: Session, project: Project, cfg: SchedulingSettings, *, include_departed: bool = False
) -> list[PoolMember]:
    """The pool, best first: the first ceil(1.5 × seats) present agents are active, the rest reserve."""
    rows = session.scalars(select(PoolAgent).where(PoolAgent.project_id == project.id)).all()
    present = [r for r in rows if r.departed_on is None]
    by_id = {r.agent_id: r for r in present}
    candidates = [PoolCandidate(r.agent_id, r.quiz_score, r.simulation_score, r.rank) for r in present]
    active, reserve = domain.split_pool(candidates, project.seats or 0, cfg.active_ratio)
    members = [PoolMember(by_id[c.agent_id], "active", i + 1) for i, c in enumerate(active)]
    members += [PoolMember(by_id[c.agent_id], "reserve", len(active) + i + 1) for i, c in enumerate(reserve)]
    if include_departed:
        gone = sorted(
            (r for r in rows if r.departed_on is not None), key=lambda r: (r.departed_on, r.agent_id)
        )
        members += [PoolMember(r, "departed", 0) for r in gone]
    return members


def pool_view(
    session: Session, project: Project, cfg: SchedulingSettings, args: dict[str, Any]
) -> dict[str, Any]:
    members = pool_members(session, project, cfg, include_departed=args.get("include_departed", False))
    counts = {"active": 0, "reserve": 0}
    for m in members:
        if m.role in counts:
            counts[m.role] += 1
    if args.get("role"):
        members = [m for m in members if m.role == args["role"]]
    page, per_page = args["page"], args["per_page"]
    chunk = members[(page - 1) * per_page : page * per_page]
    from shared.pagination import set_total_count

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
        "admitted_at": a.admitted_at,
        "departed_on": a.departed_on,
        "replaced_by": a.replaced_by,
    }


def _roster_agents(members: Sequence[PoolMember]) -> list[RosterAgent]:
    return [
        RosterAgent(
            m.agent.agent_id,
            frozenset(m.agent.shifts_available),
            reserve=m.role == "reserve",
            departs_on=m.agent.departed_on,
            order=m.position,
        )
        for m in members
    ]


# --- the roster in force ----------------------------------------------------------------------------------


def _effective(session: Session, project_id: str, start: dt.date, end: dt.date) -> dict[dt.date, Roster]:
    """For each date, the newest published version covering it."""
    rosters = session.scalars(
        select(Roster)
        .where(
            Roster.project_id == project_id,
            Roster.status == "published",
            Roster.date_from <= end,
            Roster.date_to >= start,
        )
        .order_by(Roster.version.desc())
    ).all()
    chosen: dict[dt.date, Roster] = {}
    for roster in rosters:
        for day in _days(max(start, roster.date_from), min(end, roster.date_to)):
            chosen.setdefault(day, roster)
    return chosen


def _by_roster(chosen: dict[dt.date, Roster]) -> dict[str, list[dt.date]]:
    groups: dict[str, list[dt.date]] = defaultdict(list)
    for day, roster in chosen.items():
        groups[roster.id].append(day)
    return groups


def _effective_assignments(
    session: Session,
    project_id: str,
    start: dt.date,
    end: dt.date,
    *,
    agent_id: str | None = None,
    shift: str | None = None,
) -> tuple[list[RosterAssignment], dict[dt.date, Roster]]:
    chosen = _effective(session, project_id, start, end)
    if not chosen:
        return [], chosen
    stmt = select(RosterAssignment).where(
        or_(
            *(
                and_(RosterAssignment.roster_id == rid, RosterAssignment.date.in_(days))
                for rid, days in _by_roster(chosen).items()
            )
        )
    )
    if agent_id is not None:
        stmt = stmt.where(RosterAssignment.agent_id == agent_id)
    if shift is not None:
        stmt = stmt.where(RosterAssignment.shift == shift)
    rows = session.scalars(stmt).all()
    return sorted(rows, key=lambda r: (r.date, r.start_minute, r.agent_id)), chosen


def _effective_slots(session: Session, chosen: dict[dt.date, Roster]) -> list[RosterSlot]:
    if not chosen:
        return []
    rows = session.scalars(
        select(RosterSlot).where(
            or_(
                *(
                    and_(RosterSlot.roster_id == rid, RosterSlot.date.in_(days))
                    for rid, days in _by_roster(chosen).items()
                )
            )
        )
    ).all()
    return sorted(rows, key=lambda r: (r.date, r.start_minute))


def _to_assignment(row: RosterAssignment) -> Assignment:
    return Assignment(row.agent_id, row.date, row.shift, row.start_minute, row.minutes)


def _next_version(session: Session, project_id: str) -> int:
    current = session.scalar(select(func.max(Roster.version)).where(Roster.project_id == project_id))
    return (current or 0) + 1


@dataclass
class SlotPlan:
    """A slot of a roster version about to be saved."""

    day: dt.date
    template: ShiftTemplate
    needed: int
    rule: str | None = None
    detail: str | None = None


@dataclass
class RosterDraft:
    project_id: str
    start: dt.date
    end: dt.date
    slots: list[SlotPlan]
    assignments: list[Assignment]
    roles: dict[str, str]
    reason: str
    method: str
    solver_status: str
    solve_seconds: float = 0.0
    gaps: dict[tuple[dt.date, str], Gap] = field(default_factory=dict)


def _save_roster(session: Session, draft: RosterDraft, *, actor: str | None, publish: bool) -> Roster:
    assigned: dict[tuple[dt.date, str], int] = defaultdict(int)
    for item in draft.assignments:
        assigned[(item.day, item.shift)] += 1
    roster = Roster(
        id=str(uuid.uuid4()),
        project_id=draft.project_id,
        version=_next_version(session, draft.project_id),
        date_from=draft.start,
        date_to=draft.end,
        status="draft",
        reason=draft.reason,
        method=draft.method,
        solver_status=draft.solver_status,
        solve_seconds=round(draft.solve_seconds, 3),
        binding_rules=[],
        created_by=actor,
        created_at=utcnow(),
    )
    session.add(roster)
    session.flush()
    gaps: list[Gap] = []
    for plan in draft.slots:
        missing = max(0, plan.needed - assigned[(plan.day, plan.template.name)])
        rule, detail = plan.rule, plan.detail
        gap = draft.gaps.get((plan.day, plan.template.name))
        if missing and gap is not None:
            rule, detail = gap.rule, gap.detail
        if missing and rule is None:
            rule, detail = (
                "reserve-exhausted",
                "no agent in the pool can take this shift within the hard rules",
            )
        if not missing:
            rule = detail = None
        else:
            gaps.append(Gap(plan.day, plan.template.name, plan.needed, missing, rule or "", detail or ""))
        session.add(
            RosterSlot(
                roster_id=roster.id,
                date=plan.day,
                shift=plan.template.name,
                start_minute=plan.template.start_minute,
                minutes=plan.template.minutes,
                needed=plan.needed,
                missing=missing,
                rule=rule,
                detail=detail,
            )
        )
    for item in draft.assignments:
        session.add(
            RosterAssignment(
                id=str(uuid.uuid4()),
                roster_id=roster.id,
                date=item.day,
                shift=item.shift,
                start_minute=item.start_minute,
                minutes=item.minutes,
                agent_id=item.agent_id,
                role=draft.roles.get(item.agent_id, "active"),
            )
        )
    roster.binding_rules = binding_rules(gaps)
    session.flush()
    if publish:
        _publish(session, roster)
    return roster


def _publish(session: Session, roster: Roster) -> None:
    roster.status = "published"
    roster.published_at = utcnow()
    rows = session.scalars(
        select(RosterAssignment)
        .where(RosterAssignment.roster_id == roster.id)
        .order_by(RosterAssignment.date, RosterAssignment.start_minute, RosterAssignment.agent_id)
    ).all()
    slots = session.scalars(
        select(RosterSlot)
        .where(RosterSlot.roster_id == roster.id, RosterSlot.missing > 0)
        .order_by(RosterSlot.id)
    ).all()
    add_event(
        session,
        "roster.published",
        {
            "project_id": roster.project_id,
            "from": roster.date_from,
            "to": roster.date_to,
            "roster_id": roster.id,
            "version": roster.version,
            "shifts": [
                {
                    "date": r.date,
                    "shift": r.shift,
                    "start": _hhmm(r.start_minute),
                    "end": _end_hhmm(r.start_minute, r.minutes),
                    "hours": _hours(r.minutes),
                    "agent_id": r.agent_id,
                    "role": r.role,
                }
                for r in rows
            ],
            "uncovered": [
                {"date": s.date, "shift": s.shift, "needed": s.needed, "missing": s.missing, "rule": s.rule}
                for s in slots
            ],
        },
    )


def _demand(session: Session, project: Project, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    """Agents each shift needs per date: the seats plus the extra seats of accepted surges (叠加 refused)."""
    needed = dict.fromkeys(_days(start, end), project.seats or 0)
    surges = session.scalars(
        select(Surge).where(
            Surge.project_id == project.id,
            Surge.status == "accepted",
            Surge.start_date <= end,
            Surge.end_date >= start,
        )
    ).all()
    for surge in surges:
        for day in _days(max(start, surge.start_date), min(end, surge.end_date)):
            needed[day] += surge.extra_seats
    return needed


def _templates(project: Project, cfg: SchedulingSettings) -> list[ShiftTemplate]:
    assert project.service_start and project.service_end
    return split_service_hours(
        project.service_start, project.service_end, max_shift_hours=cfg.max_shift_hours, peaks=cfg.peaks
    )


def generate_roster(
    session: Session,
    project_id: str,
    start: dt.date,
    end: dt.date,
    *,
    publish: bool,
    actor: str | None,
    cfg: SchedulingSettings,
    today: dt.date,
) -> Roster:
    """Solve and save a new roster version for ``start``..``end`` (≤ 31 days, from today on)."""
    problems: dict[str, list[str]] = {}
    if (end - start).days + 1 > cfg.max_roster_days:
        problems["to"] = [
            f"a roster covers at most {cfg.max_roster_days} days; {start.isoformat()}..{end.isoformat()} "
            f"is {(end - start).days + 1}"
        ]
    if start < today:
        problems["from"] = [f"must be today ({today.isoformat()}, Asia/Shanghai) or later: the past is kept"]
    if problems:
        raise ValidationFailed(problems)
    project = get_project(session, project_id, for_update=True)
    _require_schedulable(project, "a roster")
    members = pool_members(session, project, cfg)
    agents = _roster_agents(members)
    templates = _templates(project, cfg)
    demand = _demand(session, project, start, end)
    slots = [Slot(day, t, demand[day]) for day in _days(start, end) for t in templates]
    context, _ = _effective_assignments(
        session, project.id, start - dt.timedelta(days=CONTEXT_DAYS), end + dt.timedelta(days=CONTEXT_DAYS)
    )
    fixed = [_to_assignment(r) for r in context if not start <= r.date <= end]
    result = solve(
        RosterProblem(agents, slots, fixed, cfg.rules),
        time_limit=cfg.solver_time_limit,
        workers=cfg.solver_workers,
    )
    draft = RosterDraft(
        project_id=project.id,
        start=start,
        end=end,
        slots=[SlotPlan(s.day, s.shift, s.needed) for s in slots],
        assignments=result.assignments,
        roles={m.agent.agent_id: m.role for m in members},
        reason="generated",
        method=result.method,
        solver_status=result.status,
        solve_seconds=result.solve_seconds,
        gaps={(g.day, g.shift): g for g in result.gaps},
    )
    roster = _save_roster(session, draft, actor=actor, publish=publish)
    session.commit()
    return roster


def get_roster(session: Session, project_id: str, roster_id: str) -> Roster:
    roster = session.get(Roster, roster_id)
    if roster is None or roster.project_id != project_id:
        raise NotFound("There is no roster version with this id in this project.")
    return roster


def publish_roster(session: Session, project_id: str, roster_id: str) -> Roster:
    get_project(session, project_id, for_update=True)
    roster = get_roster(session, project_id, roster_id)
    if roster.status == "published":
        raise Conflict(
            f"Roster version {roster.version} is already published.", extra={"rule": "already-published"}
        )
    _publish(session, roster)
    session.commit()
    return roster


def roster_versions(session: Session, project_id: str) -> Any:
    return select(Roster).where(Roster.project_id == project_id).order_by(Roster.version.desc())


def _agent_names(session: Session, project_id: str) -> dict[str, str]:
    rows = session.execute(
        select(PoolAgent.agent_id, PoolAgent.name).where(PoolAgent.project_id == project_id)
    )
    return {agent_id: name for agent_id, name in rows}


def _shift_dict(row: RosterAssignment, version: int, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "roster_id": row.roster_id,
        "version": version,
        "date": row.date,
        "shift": row.shift,
        "start": _hhmm(row.start_minute),
        "end": _end_hhmm(row.start_minute, row.minutes),
        "hours": _hours(row.minutes),
        "agent_id": row.agent_id,
        "agent_name": names.get(row.agent_id),
        "role": row.role,
    }


def _gap_dict(slot: RosterSlot) -> dict[str, Any]:
    return {
        "date": slot.date,
        "shift": slot.shift,
        "start": _hhmm(slot.start_minute),
        "end": _end_hhmm(slot.start_minute, slot.minutes),
        "needed": slot.needed,
        "assigned": slot.needed - slot.missing,
        "missing": slot.missing,
        "rule": slot.rule,
        "detail": slot.detail,
    }


def roster_detail(session: Session, roster: Roster) -> dict[str, Any]:
    names = _agent_names(session, roster.project_id)
    rows = session.scalars(
        select(RosterAssignment)
        .where(RosterAssignment.roster_id == roster.id)
        .order_by(RosterAssignment.date, RosterAssignment.start_minute, RosterAssignment.agent_id)
    ).all()
    slots = session.scalars(
        select(RosterSlot)
        .where(RosterSlot.roster_id == roster.id)
        .order_by(RosterSlot.date, RosterSlot.start_minute)
    ).all()
    needed = sum(s.needed for s in slots)
    assigned = needed - sum(s.missing for s in slots)
    out = _roster_dict(roster)
    out.update(
        needed=needed,
        assigned=assigned,
        coverage_pct=str((Decimal(100 * assigned) / needed).quantize(Decimal("0.1"))) if needed else "100.0",
        uncovered=[_gap_dict(s) for s in slots if s.missing],
        shifts=[_shift_dict(r, roster.version, names) for r in rows],
    )
    return out


def _roster_dict(roster: Roster) -> dict[str, Any]:
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
    session: Session,
    project_id: str,
    args: dict[str, Any],
    *,
    today: dt.date,
    agent_only: str | None,
    paginate_items: bool = True,
) -> dict[str, Any]:
    if args.get("date"):
        start = end = args["date"]
    else:
        start, end = _default_range(session, project_id, args.get("from_"), args.get("to"), today)
    if (end - start).days > 366:
        raise ValidationFailed({"to": ["a roster query covers at most 367 days"]})
    agent_id = agent_only or args.get("agent_id")
    rows, chosen = _effective_assignments(
        session, project_id, start, end, agent_id=agent_id, shift=args.get("shift")
    )
    names = _agent_names(session, project_id)
    versions = {r.id: r for r in chosen.values()}
    items = [_shift_dict(r, versions[r.roster_id].version, names) for r in rows]
    uncovered = [] if agent_only else [_gap_dict(s) for s in _effective_slots(session, chosen) if s.missing]
    if args.get("shift"):
        uncovered = [g for g in uncovered if g["shift"] == args["shift"]]
    from shared.pagination import set_total_count

    total = len(items)
    set_total_count(total)
    page, per_page = args.get("page", 1), args.get("per_page", total or 1)
    if paginate_items:
        items = items[(page - 1) * per_page : page * per_page]
    return {
        "project_id": project_id,
        "from_": start,
        "to": end,
        "versions": [_roster_dict(r) for r in sorted(versions.values(), key=lambda r: r.version)],
        "uncovered": uncovered,
        "items": items,
        "total": total,
        "page": page,
        "per_page": per_page,
        "pages": -(-total // per_page) if per_page else 0,
    }


ROSTER_COLUMNS: tuple[Column, ...] = (
    Column("date", "日期", kind="date"),
    Column("shift", "班次"),
    Column("start", "开始"),
    Column("end", "结束"),
    Column("hours", "工时(小时)", kind="number"),
    Column("agent_id", "坐席编号"),
    Column("agent_name", "坐席姓名"),
    Column("role", "岗位"),
    Column("version", "排班版本", kind="integer"),
    Column("uncovered", "缺员人数", kind="integer"),
    Column("rule", "缺员原因"),
)


def roster_rows(view: dict[str, Any]) -> list[list[Any]]:
    """One row per shift, then one per uncovered shift: its missing headcount and the rule that left it
    short, in columns of their own (the agent columns stay empty)."""
    rows: list[list[Any]] = [
        [s["date"], s["shift"], s["start"], s["end"], Decimal(s["hours"]), s["agent_id"], s["agent_name"],
         s["role"], s["version"], None, None]
        for s in view["items"]
    ]  # fmt: skip
    rows += [
        [g["date"], g["shift"], g["start"], g["end"], None, None, None, None, None, g["missing"], g["rule"]]
        for g in view["uncovered"]
    ]
    return rows


def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _ics_fold(line: str) -> list[str]:
    """RFC 5545 §3.1: lines longer than 75 octets continue on the next line after a space."""
    out: list[str] = []
    data = line.encode()
    while len(data) > 75:
        cut = 75 if not out else 74
        while cut > 0 and (data[cut] & 0xC0) == 0x80:  # never split a UTF-8 sequence
            cut -= 1
        out.append(data[:cut].decode())
        data = data[cut:]
    out.append(data.decode())
    return [out[0], *(" " + part for part in out[1:])]


def roster_ics(view: dict[str, Any], project: Project) -> str:
    """The shifts as an iCalendar feed (times in UTC, so any calendar shows them in its own zone)."""
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    title = project.company_name or project.id
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//yunkefu//scheduling//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_ics_text(f'{title} roster')}",
        "X-WR-TIMEZONE:Asia/Shanghai",
    ]
    for s in view["items"]:
        start_local = dt.datetime.combine(s["date"], dt.time(), SHANGHAI) + dt.timedelta(
            minutes=int(s["start"][:2]) * 60 + int(s["start"][3:])
        )
        end_utc = start_local + dt.timedelta(hours=float(s["hours"]))
        shift, start, end, who = s["shift"], s["start"], s["end"], s["agent_name"] or s["agent_id"]
        fmt = "%Y%m%dT%H%M%SZ"
        lines += [
            "BEGIN:VEVENT",
            # stable across roster versions: one shift a day per agent per project
            f"UID:{project.id}-{s['agent_id']}-{s['date'].isoformat()}@yunkefu",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{start_local.astimezone(dt.UTC).strftime(fmt)}",
            f"DTEND:{end_utc.astimezone(dt.UTC).strftime(fmt)}",
            "SUMMARY:" + _ics_text(f"{title}: {shift} shift ({start}-{end})"),
            "DESCRIPTION:" + _ics_text(f"agent {who}, {s['role']}, roster v{s['version']}"),
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(part for line in lines for part in _ics_fold(line)) + "\r\n"


# --- surges -----------------------------------------------------------------------------------------------


@dataclass
class SurgeOutcome:
    surge: Surge
    roster: Roster | None


def _rostered_days(session: Session, project_id: str, start: dt.date, end: dt.date) -> list[dt.date]:
    return sorted(_effective(session, project_id, start, end))


def request_surge(
    session: Session,
    project_id: str,
    data: dict[str, Any],
    *,
    actor: str | None,
    cfg: SchedulingSettings,
    today: dt.date,
) -> SurgeOutcome:
    """Accept or refuse under the notice rule; a refusal is recorded, announced, then raised as 422."""
    start, end, pct = data["start_date"], data["end_date"], Decimal(data["increase_pct"])
    if (end - start).days + 1 > cfg.max_roster_days:
        raise ValidationFailed(
            {"end_date": [f"a surge lasts at most {cfg.max_roster_days} days; longer needs a new order"]}
        )
    project = get_project(session, project_id, for_update=True)
    seats, _, _ = _require_schedulable(project, "a surge")
    overlapping = session.scalars(
        select(Surge).where(
            Surge.project_id == project.id,
            Surge.status == "accepted",
            Surge.start_date <= end,
            Surge.end_date >= start,
        )
    ).first()
    if overlapping is not None:
        raise BusinessRuleViolation(
            f"An accepted surge (+{overlapping.increase_pct:g}%, {overlapping.start_date.isoformat()} to "
            f"{overlapping.end_date.isoformat()}) already covers some of these dates; "
            "surges are not added up. "
            "Cancel it and request one surge for the combined increase, or choose dates outside it.",
            rule="surge-overlap",
            status=409,
            extra={"overlapping_surge_id": overlapping.id},
        )
    decision = domain.decide_surge(pct, start, today, seats, cfg)
    surge = Surge(
        id=str(uuid.uuid4()),
        project_id=project.id,
        start_date=start,
        end_date=end,
        increase_pct=pct,
        status="accepted" if decision.accepted else "rejected",
        notice_days=decision.notice_days,
        extra_seats=decision.extra_seats,
        covered=0,
        uncovered=0,
        rule=decision.rule,
        reason=decision.reason,
        earliest_start=decision.earliest_start,
        note=data.get("note"),
        requested_by=actor,
        created_at=utcnow(),
    )
    session.add(surge)
    session.flush()
    if not decision.accepted:
        add_event(session, "surge.rejected", _surge_event(surge))
        session.commit()
        raise BusinessRuleViolation(
            decision.reason,
            rule=decision.rule,
            extra={
                "surge_id": surge.id,
                "notice_days": decision.notice_days,
                "required_notice_days": decision.required_notice_days,
                "earliest_start_date": decision.earliest_start.isoformat()
                if decision.earliest_start
                else None,
            },
        )
    roster = _staff_surge(session, project, surge, cfg, today, actor)
    # ``uncovered`` is the surge's whole shortage: recruitment asks for people from this one event. Also
    # sending reserve.shortfall for the same seats made it open a second requisition for the same agents.
    add_event(session, "surge.accepted", _surge_event(surge))
    session.commit()
    return SurgeOutcome(surge, roster)


def _surge_event(surge: Surge) -> dict[str, Any]:
    return {
        "project_id": surge.project_id,
        "surge_id": surge.id,
        "increase_pct": float(surge.increase_pct),
        "start_date": surge.start_date,
        "end_date": surge.end_date,
        "extra_seats": surge.extra_seats,
        "covered": surge.covered,
        "uncovered": surge.uncovered,
        "reason": surge.reason,
    }


def _staff_surge(
    session: Session,
    project: Project,
    surge: Surge,
    cfg: SchedulingSettings,
    today: dt.date,
    actor: str | None,
) -> Roster | None:
    """Extra seats go to reserve agents first, then to active agents with room; the rest stays open.

    Already rostered dates get a new roster version (the existing shifts stay as they are); for dates
    not rostered yet, the count is arithmetic: each extra seat needs one reserve agent per shift a day.
    """
    members = pool_members(session, project, cfg)
    templates = _templates(project, cfg)
    reserves = [m for m in members if m.role == "reserve"]
    days = _rostered_days(session, project.id, max(surge.start_date, today), surge.end_date)
    if not days:
        covered = min(surge.extra_seats, len(reserves) // max(1, len(templates)))
        surge.covered, surge.uncovered = covered, surge.extra_seats - covered
        return None
    start, end = days[0], days[-1]
    context, chosen = _effective_assignments(
        session, project.id, start - dt.timedelta(days=CONTEXT_DAYS), end + dt.timedelta(days=CONTEXT_DAYS)
    )
    slots_now = [s for s in _effective_slots(session, chosen) if start <= s.date <= end]
    fixed = [_to_assignment(r) for r in context]
    by_name = {t.name: t for t in templates}
    extra_slots = [
        Slot(
            s.date,
            by_name.get(s.shift) or ShiftTemplate(s.shift, s.start_minute, s.minutes),
            surge.extra_seats,
        )
        for s in slots_now
    ]
    agents = _roster_agents(members)
    first = solve(
        RosterProblem([a for a in agents if a.reserve], extra_slots, fixed, cfg.rules),
        time_limit=cfg.solver_time_limit,
        workers=cfg.solver_workers,
    )
    filled: dict[tuple[dt.date, str], int] = defaultdict(int)
    for item in first.assignments:
        filled[(item.day, item.shift)] += 1
    rest = [Slot(s.day, s.shift, s.needed - filled[(s.day, s.shift.name)]) for s in extra_slots]
    rest = [s for s in rest if s.needed > 0]
    second_assignments: list[Assignment] = []
    gaps: dict[tuple[dt.date, str], Gap] = {}
    seconds = first.solve_seconds
    if rest:
        second = solve(
            RosterProblem(
                [a for a in agents if not a.reserve], rest, [*fixed, *first.assignments], cfg.rules
            ),
            time_limit=cfg.solver_time_limit,
            workers=cfg.solver_workers,
        )
        second_assignments = second.assignments
        seconds += second.solve_seconds
        gaps = {(g.day, g.shift): g for g in second.gaps}
        for item in second.assignments:
            filled[(item.day, item.shift)] += 1
    uncovered = max((surge.extra_seats - filled[(s.day, s.shift.name)] for s in extra_slots), default=0)
    surge.uncovered = max(0, uncovered)
    surge.covered = surge.extra_seats - surge.uncovered
    kept = [_to_assignment(r) for r in context if start <= r.date <= end]
    roles = {m.agent.agent_id: m.role for m in members}
    draft = RosterDraft(
        project_id=project.id,
        start=start,
        end=end,
        slots=[
            SlotPlan(
                s.date,
                by_name.get(s.shift) or ShiftTemplate(s.shift, s.start_minute, s.minutes),
                s.needed + surge.extra_seats,
                s.rule,
                s.detail,
            )
            for s in slots_now
        ],
        assignments=[*kept, *first.assignments, *second_assignments],
        roles=roles,
        reason="surge",
        method=first.method,
        solver_status=first.status,
        solve_seconds=seconds,
        gaps=gaps,
    )
    return _save_roster(session, draft, actor=actor, publish=True)


def cancel_surge(
    session: Session,
    project_id: str,
    surge_id: str,
    *,
    actor: str | None,
    cfg: SchedulingSettings,
    today: dt.date,
) -> SurgeOutcome:
    """The vendor withdraws an accepted surge: rostered dates go back to the seats, extras stand down."""
    project = get_project(session, project_id, for_update=True)
    surge = session.get(Surge, surge_id)
    if surge is None or surge.project_id != project.id:
        raise NotFound("There is no surge with this id in this project.")
    if surge.status != "accepted":
        raise BusinessRuleViolation(
            f"Only an accepted surge can be cancelled; this one is {surge.status}.",
            rule="surge-not-accepted",
            status=409,
        )
    surge.status = "cancelled"
    surge.cancelled_at = utcnow()
    surge.cancelled_by = actor
    session.flush()
    roster: Roster | None = None
    days = _rostered_days(session, project.id, max(surge.start_date, today), surge.end_date)
    if days and project.seats:
        start, end = days[0], days[-1]
        rows, chosen = _effective_assignments(session, project.id, start, end)
        slots_now = _effective_slots(session, chosen)
        demand = _demand(session, project, start, end)
        members = pool_members(session, project, cfg, include_departed=True)
        position = {m.agent.agent_id: (m.role != "reserve", -m.position) for m in members}
        per_slot: dict[tuple[dt.date, str], list[RosterAssignment]] = defaultdict(list)
        for r in rows:
            per_slot[(r.date, r.shift)].append(r)
        kept: list[Assignment] = []
        for s in slots_now:
            people = per_slot[(s.date, s.shift)]
            # reserve agents stand down first, then the lowest-placed active ones
            people.sort(key=lambda r: position.get(r.agent_id, (True, 0)), reverse=True)
            kept += [_to_assignment(r) for r in people[: demand[s.date]]]
        draft = RosterDraft(
            project_id=project.id,
            start=start,
            end=end,
            slots=[
                SlotPlan(
                    s.date,
                    ShiftTemplate(s.shift, s.start_minute, s.minutes),
                    demand[s.date],
                    s.rule,
                    s.detail,
                )
                for s in slots_now
            ],
            assignments=kept,
            roles={r.agent_id: r.role for r in rows},
            reason="surge-cancelled",
            method="trim",
            solver_status="n/a",
        )
        roster = _save_roster(session, draft, actor=actor, publish=True)
    session.commit()
    return SurgeOutcome(surge, roster)


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


# --- attrition (人员流失) ----------------------------------------------------------------------------------


def register_departures(
    session: Session,
    project_id: str,
    agent_ids: Sequence[str],
    day: dt.date,
    reason: str | None,
    *,
    actor: str | None,
    cfg: SchedulingSettings,
    today: dt.date,
) -> dict[str, Any]:
    """Agents leave from ``day``; the best reserve agents take over their future shifts."""
    project = get_project(session, project_id, for_update=True)
    rows = {
        r.agent_id: r
        for r in session.scalars(
            select(PoolAgent).where(PoolAgent.project_id == project.id, PoolAgent.agent_id.in_(agent_ids))
        ).all()
    }
    unknown = [a for a in agent_ids if a not in rows]
    if unknown:
        raise NotFound(f"Not in this project's pool: {', '.join(unknown)}.")
    gone = [a for a in agent_ids if rows[a].departed_on is not None]
    if gone:
        raise BusinessRuleViolation(
            "Already departed: "
            + ", ".join(f"{a} (on {rows[a].departed_on.isoformat()})" for a in gone)  # type: ignore[union-attr]
            + ".",
            rule="already-departed",
            status=409,
        )
    early = [a for a in agent_ids if day < rows[a].admitted_at.astimezone(SHANGHAI).date()]
    if early:
        raise BusinessRuleViolation(
            "A departure cannot be dated before the admission: "
            + ", ".join(
                f"{a} was admitted on {rows[a].admitted_at.astimezone(SHANGHAI).date().isoformat()}"
                for a in early
            )
            + f"; date the departure on or after that day (asked {day.isoformat()}).",
            rule="departure-before-admission",
        )
    members = pool_members(session, project, cfg)
    role_before = {m.agent.agent_id: m.role for m in members}
    leaving = list(agent_ids)
    reserves = [m.agent.agent_id for m in members if m.role == "reserve" and m.agent.agent_id not in leaving]
    agents = _roster_agents(members)
    for agent_id in leaving:
        rows[agent_id].departed_on = day
        rows[agent_id].departure_reason = reason
    start = max(day, today)
    last = session.scalar(
        select(func.max(Roster.date_to)).where(Roster.project_id == project.id, Roster.status == "published")
    )
    context: list[RosterAssignment] = []
    chosen: dict[dt.date, Roster] = {}
    if last is not None and last >= start:
        context, chosen = _effective_assignments(
            session, project.id, start - dt.timedelta(days=CONTEXT_DAYS), last
        )
    current = [_to_assignment(r) for r in context]
    used: set[str] = set()
    outcomes: list[dict[str, Any]] = []
    shortfall = 0
    touched = False
    for agent_id in leaving:
        orphans = [a for a in current if a.agent_id == agent_id and a.day >= start]
        replacement: str | None = None
        takeovers: list[dict[str, Any]] = []
        left: list[Assignment] = []
        if orphans:
            touched = True
            earlier = [a for a in current if a.agent_id == agent_id and a.day < start]
            others = [a for a in current if a.agent_id != agent_id]
            candidates = [r for r in reserves if r not in used] + [r for r in reserves if r in used]
            kept, taken, left = reassign(agents, [*others, *orphans], [agent_id], candidates, cfg.rules)
            current = [*kept, *earlier]
            if taken:
                replacement = max(taken, key=lambda k: (len(taken[k]), -candidates.index(k)))
                used.update(taken)
                takeovers = [{"replacement_id": k, "shifts": v} for k, v in taken.items()]
        elif role_before.get(agent_id) == "active":
            # nothing rostered to hand over: the best unused reserve moves up to active
            free = [r for r in reserves if r not in used]
            if free:
                replacement = free[0]
                used.add(replacement)
                takeovers = [{"replacement_id": replacement, "shifts": []}]
        if left or (role_before.get(agent_id) == "active" and replacement is None):
            shortfall += 1
        rows[agent_id].replaced_by = replacement
        outcomes.append(
            {
                "agent_id": agent_id,
                "project_id": project.id,
                "date": day,
                "role": role_before.get(agent_id, "reserve"),
                "replacement_id": replacement,
                "takeovers": takeovers,
                "uncovered": left,
            }
        )
    roster: Roster | None = None
    if touched and last is not None:
        slots_now = [s for s in _effective_slots(session, chosen) if s.date >= start]
        draft = RosterDraft(
            project_id=project.id,
            start=start,
            end=last,
            slots=[
                SlotPlan(
                    s.date, ShiftTemplate(s.shift, s.start_minute, s.minutes), s.needed, s.rule, s.detail
                )
                for s in slots_now
            ],
            assignments=[a for a in current if start <= a.day <= last],
            roles={**{r.agent_id: r.role for r in context}, **{k: "reserve" for k in used}},
            reason="departure",
            method="reassignment",
            solver_status="n/a",
        )
        roster = _save_roster(session, draft, actor=actor, publish=True)
    for outcome in outcomes:
        add_event(
            session,
            "agent.departed",
            {
                "project_id": project.id,
                "agent_id": outcome["agent_id"],
                "replacement_id": outcome["replacement_id"],
                "date": day,
                "reason": reason,
            },
        )
        for takeover in outcome["takeovers"]:
            add_event(
                session,
                "agent.replaced",
                {
                    "project_id": project.id,
                    "agent_id": outcome["agent_id"],
                    "replacement_id": takeover["replacement_id"],
                    "date": day,
                    "reason": reason,
                },
            )
    if shortfall:
        add_event(
            session,
            "reserve.shortfall",
            {
                "project_id": project.id,
                "missing": shortfall,
                "reason": f"{shortfall} departed agent(s) on {day.isoformat()} without a reserve agent "
                "to take over",
            },
        )
    session.commit()
    names = _agent_names(session, project.id)
    version = roster.version if roster else 0

    def shift_out(a: Assignment) -> dict[str, Any]:
        return {
            "date": a.day,
            "shift": a.shift,
            "start": _hhmm(a.start_minute),
            "end": _end_hhmm(a.start_minute, a.minutes),
            "hours": _hours(a.minutes),
            "agent_id": a.agent_id,
            "agent_name": names.get(a.agent_id),
            "role": "reserve" if a.agent_id in used else role_before.get(a.agent_id, "active"),
            "version": version,
        }

    for outcome in outcomes:
        outcome["takeovers"] = [
            {"replacement_id": t["replacement_id"], "shifts": [shift_out(a) for a in t["shifts"]]}
            for t in outcome["takeovers"]
        ]
        outcome["uncovered"] = [shift_out(a) for a in outcome["uncovered"]]
    return {
        "project_id": project.id,
        "date": day,
        "departures": outcomes,
        "roster_version": roster.version if roster else None,
        "reserve_shortfall": shortfall,
    }


# --- timesheets (工时) -------------------------------------------------------------------------------------


def record_timesheets(
    session: Session, entries: Sequence[dict[str, Any]], *, actor: str | None, today: dt.date
) -> dict[str, Any]:
    """All or none: each needs a known project, an agent in its pool that day, 0 < h ≤ 24, no future."""
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
    now = utcnow()
    for e in entries:
        entry = TimesheetEntry(
            id=str(uuid.uuid4()),
            project_id=e["project_id"],
            agent_id=e["agent_id"],
            date=e["date"],
            hours=Decimal(e["hours"]).quantize(Decimal("0.01")),
            note=e.get("note"),
            recorded_by=actor,
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
        add_event(
            session,
            "shift.worked",
            {
                "project_id": entry.project_id,
                "agent_id": entry.agent_id,
                "date": entry.date,
                "hours": entry.hours,
            },
        )
    session.commit()
    return {"items": [timesheet_dict(t) for t in saved], "replaced": replaced}


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


def timesheet_query(args: dict[str, Any], *, merchant_id: str | None, agent_only: str | None) -> Any:
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
    return stmt.order_by(
        TimesheetEntry.date, TimesheetEntry.project_id, TimesheetEntry.agent_id, TimesheetEntry.recorded_at
    )


TIMESHEET_COLUMNS: tuple[Column, ...] = (
    Column("date", "日期", kind="date"),
    Column("project_id", "项目编号"),
    Column("agent_id", "坐席编号"),
    Column("hours", "工时(小时)", kind="number"),
    Column("current", "当前有效", kind="bool"),
    Column("recorded_at", "录入时间", kind="datetime"),
    Column("recorded_by", "录入人"),
    Column("note", "备注"),
)


def timesheet_rows(rows: Iterable[TimesheetEntry]) -> list[list[Any]]:
    return [
        [t.date, t.project_id, t.agent_id, Decimal(t.hours).quantize(Decimal("0.01")),
         t.superseded_at is None, t.recorded_at, t.recorded_by, t.note]
        for t in rows
    ]  # fmt: skip


# --- staffing estimate ------------------------------------------------------------------------------------


def staffing_estimate(data: dict[str, Any], cfg: SchedulingSettings) -> dict[str, Any]:
    out: dict[str, Any] = {"presale": None, "aftersale": None}
    total = 0
    try:
        if data.get("presale"):
            p = {k: v for k, v in data["presale"].items() if v is not None}
            p.setdefault("receptions_per_hour", cfg.receptions_per_hour)
            out["presale"] = domain.presale_estimate(**p)
            total += out["presale"]["headcount"]
        if data.get("aftersale"):
            out["aftersale"] = domain.aftersale_estimate(
                **{k: v for k, v in data["aftersale"].items() if v is not None}
            )
            total += out["aftersale"]["headcount"]
    except InvalidOperation as exc:
        # Huge counts over tiny rates overflow Decimal's 28 significant digits: bad input, not a crash.
        raise ValidationFailed(
            {"_schema": ["the figures are out of range: the result does not fit 28 significant digits"]},
            detail="The estimate cannot be computed from these figures; check the magnitudes sent.",
        ) from exc
    out["headcount"] = total
    out["funnel"] = domain.funnel(total, cfg.active_ratio)
    return out
