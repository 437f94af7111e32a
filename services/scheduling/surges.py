"""Surges (咨询量暴涨): the notice rule, accepting or refusing a surge, staffing it, cancelling it.

Extra seats are covered by reserve agents first, then by active agents with room; what stays open is the
surge's ``uncovered``, announced once with surge.accepted.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from services.scheduling import swaps
from services.scheduling.config import SchedulingSettings
from services.scheduling.domain import decide_surge, extra_seats
from services.scheduling.models import Project, Roster, RosterAssignment, RosterSlot, Surge
from services.scheduling.roster import (
    CONTEXT_DAYS,
    RosterDraft,
    accepted_surges,
    carried_slot,
    effective,
    effective_assignments,
    effective_slots,
    get_project,
    pool_members,
    require_schedulable,
    roster_agents,
    save_roster,
    shift_templates,
    solver_report,
    to_assignment,
)
from services.scheduling.rostering import (
    SHIFT_NAMES,
    Assignment,
    Gap,
    RosterProblem,
    ShiftTemplate,
    Slot,
    solve,
)
from shared.errors import BusinessRuleViolation, NotFound, ValidationFailed
from shared.uow import UnitOfWork
from shared.workdays import today_shanghai


@dataclass
class SurgeOutcome:
    surge: Surge
    roster: Roster | None
    #: a refused surge is kept and announced (surge.rejected), then the caller answers with this 422
    refusal: BusinessRuleViolation | None = None


def _rostered_days(session: Session, project_id: str, start: dt.date, end: dt.date) -> list[dt.date]:
    return sorted(effective(session, project_id, start, end))


def request_surge(
    uow: UnitOfWork, project_id: str, data: dict[str, Any], *, cfg: SchedulingSettings
) -> SurgeOutcome:
    """Accept or refuse under the notice rule; a refusal is recorded and announced, and returned as the
    422 the caller answers with once it is kept (``SurgeOutcome.refusal``)."""
    session = uow.session
    today = today_shanghai(uow.now())
    start, end, pct = data["start_date"], data["end_date"], Decimal(data["increase_pct"])
    if (end - start).days + 1 > cfg.max_roster_days:
        raise ValidationFailed(
            {"end_date": [f"a surge lasts at most {cfg.max_roster_days} days; longer needs a new order"]}
        )
    project = get_project(session, project_id, for_update=True)
    seats, _, _ = require_schedulable(project, "a surge")
    overlapping = session.scalars(accepted_surges(project.id, start, end)).first()
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
    decision = decide_surge(pct, start, today, seats, cfg)
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
        requested_by=uow.actor.label[:100],
        created_at=uow.now(),
    )
    session.add(surge)
    session.flush()
    if not decision.accepted:
        uow.emit("surge.rejected", _surge_event(surge))
        refusal = BusinessRuleViolation(
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
        return SurgeOutcome(surge, None, refusal)
    roster = _staff_surge(uow, project, surge, cfg, today)
    if roster is not None and surge.uncovered:
        # what neither reserve nor active agents could take is offered to every eligible agent, first come
        swaps.open_version_gaps(uow, roster, "surge")
    # ``uncovered`` is the surge's whole shortage: recruitment asks for people from this one event. Also
    # sending reserve.shortfall for the same seats made it open a second requisition for the same agents.
    uow.emit("surge.accepted", _surge_event(surge))
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
    uow: UnitOfWork, project: Project, surge: Surge, cfg: SchedulingSettings, today: dt.date
) -> Roster | None:
    """Extra seats go to reserve agents first, then to active agents with room; the rest stays open.

    Already rostered dates get a new roster version (the existing shifts stay as they are); for dates
    not rostered yet, the count is arithmetic: each extra seat needs one reserve agent per shift a day.
    """
    session = uow.session
    members = pool_members(session, project, cfg)
    templates = shift_templates(project, cfg)
    reserves = [m for m in members if m.role == "reserve"]
    days = _rostered_days(session, project.id, max(surge.start_date, today), surge.end_date)
    if not days:
        covered = min(surge.extra_seats, len(reserves) // max(1, len(templates)))
        surge.covered, surge.uncovered = covered, surge.extra_seats - covered
        return None
    start, end = days[0], days[-1]
    context, chosen = effective_assignments(
        session, project.id, start - dt.timedelta(days=CONTEXT_DAYS), end + dt.timedelta(days=CONTEXT_DAYS)
    )
    slots_now = [s for s in effective_slots(session, chosen) if start <= s.date <= end]
    fixed = [to_assignment(r) for r in context]
    by_name = {t.name: t for t in templates}
    extra_slots = [
        Slot(
            s.date,
            by_name.get(s.shift) or ShiftTemplate(s.shift, s.start_minute, s.minutes),
            _extra_for(s, surge),
        )
        for s in slots_now
    ]
    extra_slots = [s for s in extra_slots if s.needed > 0]
    agents = roster_agents(members)
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
    uncovered = max((s.needed - filled[(s.day, s.shift.name)] for s in extra_slots), default=0)
    surge.uncovered = max(0, uncovered)
    surge.covered = max(0, surge.extra_seats - surge.uncovered)
    kept = [to_assignment(r) for r in context if start <= r.date <= end]
    roles = {m.agent.agent_id: m.role for m in members}
    draft = RosterDraft(
        project_id=project.id,
        start=start,
        end=end,
        slots=[carried_slot(s, s.needed + _extra_for(s, surge), by_name.get(s.shift)) for s in slots_now],
        assignments=[*kept, *first.assignments, *second_assignments],
        roles=roles,
        reason="surge",
        method=first.method,
        solver_status=first.status,
        solve_seconds=seconds,
        gaps=gaps,
        solver_report=solver_report(first, cfg),
    )
    return save_roster(uow, draft, publish=True)


def cancel_surge(uow: UnitOfWork, project_id: str, surge_id: str, *, cfg: SchedulingSettings) -> SurgeOutcome:
    """The vendor withdraws an accepted surge: rostered dates go back to the seats, extras stand down."""
    session = uow.session
    today = today_shanghai(uow.now())
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
    surge.cancelled_at = uow.now()
    surge.cancelled_by = uow.actor.label[:100]
    session.flush()
    roster: Roster | None = None
    days = _rostered_days(session, project.id, max(surge.start_date, today), surge.end_date)
    if days and project.seats:
        start, end = days[0], days[-1]
        rows, chosen = effective_assignments(session, project.id, start, end)
        slots_now = effective_slots(session, chosen)
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
            kept += [to_assignment(r) for r in people[: _without(s, surge)]]
        draft = RosterDraft(
            project_id=project.id,
            start=start,
            end=end,
            slots=[carried_slot(s, _without(s, surge)) for s in slots_now],
            assignments=kept,
            roles={r.agent_id: r.role for r in rows},
            reason="surge-cancelled",
            method="trim",
            solver_status="n/a",
        )
        roster = save_roster(uow, draft, publish=True)
    return SurgeOutcome(surge, roster)


def _extra_for(slot: RosterSlot, surge: Surge) -> int:
    """What a surge adds to a shift: a seat-based shift gets the surge's extra seats; a planned shift
    (人力规划, named by its times and skill, one of many a day) the surge's percentage of its own
    headcount, so that the surge follows the demand's shape instead of adding the seats to every shift."""
    if slot.shift in SHIFT_NAMES:
        return surge.extra_seats
    return extra_seats(slot.needed, surge.increase_pct)


def _without(slot: RosterSlot, surge: Surge) -> int:
    """A slot's headcount once ``surge`` is withdrawn: its own (perhaps per-shift) demand less what the
    surge added to it in every version made while it stood."""
    if slot.shift in SHIFT_NAMES:
        return max(0, slot.needed - surge.extra_seats)
    # a planned shift had base + ceil(base × pct): the largest base that comes back to its headcount
    for base in range(slot.needed, -1, -1):
        if base + extra_seats(base, surge.increase_pct) <= slot.needed:
            return base
    return 0


def surge_rule(uow: UnitOfWork, settings: SchedulingSettings, increase_pct: Decimal | None) -> dict[str, Any]:
    """The notice rule in force and, for a given increase, whether it is allowed and from when.

    Decided by the same ``decide_surge`` a surge request goes through, for a surge starting today: the
    earliest acceptable start is then today plus the notice the increase needs.
    """
    today = today_shanghai(uow.now())
    rule: dict[str, Any] = {
        "small_pct": settings.surge_small_pct,
        "small_notice_days": settings.surge_small_notice_days,
        "large_pct": settings.surge_large_pct,
        "large_notice_days": settings.surge_large_notice_days,
        "max_roster_days": settings.max_roster_days,
        "today": today,
        "increase_pct": increase_pct,
        "allowed": None,
        "required_notice_days": None,
        "earliest_start": None,
    }
    if increase_pct is not None:
        # the seats only size the extra headcount, which the rule does not report
        decision = decide_surge(increase_pct, today, today, 1, settings)
        rule["allowed"] = decision.rule != "surge-above-limit"
        rule["required_notice_days"] = decision.required_notice_days
        rule["earliest_start"] = decision.earliest_start
    return rule
