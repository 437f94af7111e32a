"""Rosters (排班): the pool's roles, the roster in force, and generating and publishing versions.

``rostering.py`` is the pure CP-SAT solver; this module loads its inputs, saves its answer as a roster
version and announces it. The surge and attrition use cases build their versions with the same pieces.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from services.scheduling import domain
from services.scheduling.availability import load_availability
from services.scheduling.config import SchedulingSettings
from services.scheduling.dayrules import Availability
from services.scheduling.domain import PoolCandidate
from services.scheduling.models import PoolAgent, Project, Roster, RosterAssignment, RosterSlot, Surge
from services.scheduling.rostering import (
    DAY_MINUTES,
    Assignment,
    Demand,
    Gap,
    RosterAgent,
    RosterProblem,
    RosterResult,
    ShiftTemplate,
    binding_rules,
    demand_slots,
    solve,
    split_service_hours,
)
from shared.errors import BusinessRuleViolation, Conflict, NotFound, ValidationFailed
from shared.uow import UnitOfWork
from shared.workdays import today_shanghai

PROJECT_NOT_FOUND = "There is no confirmed project with this id in scheduling."


#: Days of already-rostered shifts either side of a window that the rules look at (rest, streaks, weeks).
CONTEXT_DAYS = 7


def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def hhmm(minute: int) -> str:
    minute %= DAY_MINUTES
    return f"{minute // 60:02d}:{minute % 60:02d}"


def end_hhmm(start_minute: int, minutes: int) -> str:
    end = start_minute + minutes
    return "24:00" if end == DAY_MINUTES else hhmm(end)


def hours_text(minutes: int) -> str:
    return str((Decimal(minutes) / 60).quantize(Decimal("0.01")))


def get_project(session: Session, project_id: str, *, for_update: bool = False) -> Project:
    project = session.get(Project, project_id, with_for_update=for_update or None)
    if project is None:
        raise NotFound(PROJECT_NOT_FOUND)
    return project


def require_schedulable(project: Project, what: str) -> tuple[int, str, str]:
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
    #: the declared availability and approved leave (None: nothing declared)
    availability: Availability | None = None

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
    declared = load_availability(session, by_id)
    members = [
        PoolMember(by_id[c.agent_id], "active", i + 1, declared.get(c.agent_id)) for i, c in enumerate(active)
    ]
    members += [
        PoolMember(by_id[c.agent_id], "reserve", len(active) + i + 1, declared.get(c.agent_id))
        for i, c in enumerate(reserve)
    ]
    if include_departed:
        gone = sorted(
            (r for r in rows if r.departed_on is not None), key=lambda r: (r.departed_on, r.agent_id)
        )
        members += [PoolMember(r, "departed", 0) for r in gone]
    return members


def roster_agents(members: Sequence[PoolMember]) -> list[RosterAgent]:
    return [
        RosterAgent(
            m.agent.agent_id,
            frozenset(m.agent.shifts_available),
            reserve=m.role == "reserve",
            departs_on=m.agent.departed_on,
            order=m.position,
            skills=frozenset(m.agent.skills or ()),
            part_time=bool(m.agent.part_time),
            availability=m.availability,
        )
        for m in members
    ]


def effective(session: Session, project_id: str, start: dt.date, end: dt.date) -> dict[dt.date, Roster]:
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
        for day in days_between(max(start, roster.date_from), min(end, roster.date_to)):
            chosen.setdefault(day, roster)
    return chosen


def _by_roster(chosen: dict[dt.date, Roster]) -> dict[str, list[dt.date]]:
    groups: dict[str, list[dt.date]] = defaultdict(list)
    for day, roster in chosen.items():
        groups[roster.id].append(day)
    return groups


def effective_assignments(
    session: Session,
    project_id: str,
    start: dt.date,
    end: dt.date,
    *,
    agent_id: str | None = None,
    shift: str | None = None,
) -> tuple[list[RosterAssignment], dict[dt.date, Roster]]:
    chosen = effective(session, project_id, start, end)
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


def effective_slots(session: Session, chosen: dict[dt.date, Roster]) -> list[RosterSlot]:
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


def to_assignment(row: RosterAssignment) -> Assignment:
    return Assignment(row.agent_id, row.date, row.shift, row.start_minute, row.minutes, row.skill)


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


def carried_slot(slot: RosterSlot, needed: int, template: ShiftTemplate | None = None) -> SlotPlan:
    """A slot of the version in force carried into a new version (its gap reason kept) needing ``needed``."""
    shift = template or ShiftTemplate(slot.shift, slot.start_minute, slot.minutes)
    return SlotPlan(slot.date, shift, needed, slot.rule, slot.detail)


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
    solver_report: dict[str, Any] | None = None
    demand: dict[str, Any] | None = None


def save_roster(uow: UnitOfWork, draft: RosterDraft, *, publish: bool) -> Roster:
    """Save a roster version as a draft (published at once when ``publish``), its gaps explained."""
    session = uow.session
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
        solver_report=draft.solver_report,
        demand=draft.demand,
        binding_rules=[],
        created_by=uow.actor.label[:100],
        created_at=uow.now(),
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
                skill=item.skill,
            )
        )
    roster.binding_rules = binding_rules(gaps)
    session.flush()
    if publish:
        _publish(uow, roster)
    return roster


def version_shifts(session: Session, roster_id: str) -> Sequence[RosterAssignment]:
    """A version's shifts by date, start and agent."""
    return session.scalars(
        select(RosterAssignment)
        .where(RosterAssignment.roster_id == roster_id)
        .order_by(RosterAssignment.date, RosterAssignment.start_minute, RosterAssignment.agent_id)
    ).all()


def accepted_surges(project_id: str, start: dt.date, end: dt.date) -> Select[tuple[Surge]]:
    """The project's accepted surges touching start..end."""
    return select(Surge).where(
        Surge.project_id == project_id,
        Surge.status == "accepted",
        Surge.start_date <= end,
        Surge.end_date >= start,
    )


def _publish(uow: UnitOfWork, roster: Roster) -> None:
    session = uow.session
    roster.status = "published"
    roster.published_at = uow.now()
    rows = version_shifts(session, roster.id)
    slots = session.scalars(
        select(RosterSlot)
        .where(RosterSlot.roster_id == roster.id, RosterSlot.missing > 0)
        .order_by(RosterSlot.id)
    ).all()
    uow.emit(
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
                    "start": hhmm(r.start_minute),
                    "end": end_hhmm(r.start_minute, r.minutes),
                    "hours": hours_text(r.minutes),
                    "agent_id": r.agent_id,
                    "role": r.role,
                    "skill": r.skill,
                }
                for r in rows
            ],
            "uncovered": [
                {"date": s.date, "shift": s.shift, "needed": s.needed, "missing": s.missing, "rule": s.rule}
                for s in slots
            ],
        },
    )


def seat_demand(session: Session, project: Project, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    """Agents each shift needs per date: the seats plus the extra seats of accepted surges (叠加 refused)."""
    needed = dict.fromkeys(days_between(start, end), project.seats or 0)
    surges = session.scalars(accepted_surges(project.id, start, end)).all()
    for surge in surges:
        for day in days_between(max(start, surge.start_date), min(end, surge.end_date)):
            needed[day] += surge.extra_seats
    return needed


def shift_templates(project: Project, cfg: SchedulingSettings) -> list[ShiftTemplate]:
    assert project.service_start and project.service_end
    return split_service_hours(
        project.service_start, project.service_end, max_shift_hours=cfg.max_shift_hours, peaks=cfg.peaks
    )


def solver_report(result: RosterResult, cfg: SchedulingSettings) -> dict[str, Any]:
    """What a roster version records of its solve: which roster was kept and what the solver proved."""
    quality = result.quality
    return {
        "kept": result.method,
        "status": result.status,
        "hint": result.hint,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "time_limit": cfg.solver_time_limit,
        "workers": cfg.solver_workers,
        "hours_spread": quality.hours_spread if quality else None,
        "night_spread": quality.night_spread if quality else None,
        "reserve_shifts": quality.reserve_shifts if quality else None,
        "compared": result.compared,
    }


def parse_demand(spec: dict[str, Any] | None, start: dt.date, end: dt.date) -> Demand:
    """A roster request's ``demand`` (the schema's shape) as the solver's :class:`Demand`."""
    if not spec:
        return Demand()
    explicit: dict[tuple[dt.date | None, str], int] = {}
    problems: list[str] = []
    for item in spec.get("shifts") or []:
        day = item.get("date")
        if day is not None and not start <= day <= end:
            problems.append(
                f"{day.isoformat()} is outside the roster's dates {start.isoformat()}..{end.isoformat()}"
            )
        key = (day, item["shift"])
        if key in explicit:
            problems.append(f"{item['shift']} on {day.isoformat() if day else 'every day'} is listed twice")
        explicit[key] = item["needed"]
    if problems:
        raise ValidationFailed({"demand": problems})
    return Demand(
        multipliers=dict(spec.get("multipliers") or {}),
        peak_multiplier=spec.get("peak_multiplier") or Decimal(1),
        explicit=explicit,
    )


def demand_record(spec: dict[str, Any] | None) -> dict[str, Any] | None:
    """The request's demand as stored on the version (JSON: decimals and dates as strings)."""
    if not spec:
        return None
    return {
        "multipliers": {k: str(v) for k, v in (spec.get("multipliers") or {}).items()},
        "peak_multiplier": str(spec.get("peak_multiplier") or Decimal(1)),
        "shifts": [
            {
                "date": item["date"].isoformat() if item.get("date") else None,
                "shift": item["shift"],
                "needed": item["needed"],
            }
            for item in spec.get("shifts") or []
        ],
    }


def generate_roster(
    uow: UnitOfWork,
    project_id: str,
    start: dt.date,
    end: dt.date,
    *,
    publish: bool,
    cfg: SchedulingSettings,
    demand: dict[str, Any] | None = None,
) -> Roster:
    """Solve and save a new roster version for ``start``..``end`` (≤ 31 days, from today on).

    ``demand`` (the request's per-shift demand, see :class:`Demand`) sets how many agents each shift needs;
    without it every shift needs the seats, plus accepted surges' extra seats.
    """
    session = uow.session
    today = today_shanghai(uow.now())
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
    require_schedulable(project, "a roster")
    wanted = parse_demand(demand, start, end)
    templates = shift_templates(project, cfg)
    unknown = wanted.unknown_shifts(templates)
    if unknown:
        names = ", ".join(t.name for t in templates)
        raise ValidationFailed(
            {
                "demand": [
                    f"the project's service hours have no {', '.join(unknown)} shift (its shifts: {names})"
                ]
            }
        )
    members = pool_members(session, project, cfg)
    agents = roster_agents(members)
    seats = project.seats or 0
    extra = {day: needed - seats for day, needed in seat_demand(session, project, start, end).items()}
    slots = demand_slots(days_between(start, end), templates, seats, extra, wanted)
    context, _ = effective_assignments(
        session, project.id, start - dt.timedelta(days=CONTEXT_DAYS), end + dt.timedelta(days=CONTEXT_DAYS)
    )
    fixed = [to_assignment(r) for r in context if not start <= r.date <= end]
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
        solver_report=solver_report(result, cfg),
        demand=demand_record(demand),
    )
    return save_roster(uow, draft, publish=publish)


def get_roster(session: Session, project_id: str, roster_id: str) -> Roster:
    roster = session.get(Roster, roster_id)
    if roster is None or roster.project_id != project_id:
        raise NotFound("There is no roster version with this id in this project.")
    return roster


def publish_roster(uow: UnitOfWork, project_id: str, roster_id: str) -> Roster:
    """Publish a draft version: it takes over its dates and roster.published is emitted."""
    session = uow.session
    get_project(session, project_id, for_update=True)
    roster = get_roster(session, project_id, roster_id)
    if roster.status == "published":
        raise Conflict(
            f"Roster version {roster.version} is already published.", extra={"rule": "already-published"}
        )
    _publish(uow, roster)
    return roster
