"""Shift swaps (换班) and open shifts (开放班次).

A swap: agent A offers a shift (to one colleague or to anyone), agent B accepts it, a supervisor approves.
Every labour rule is checked again at approval against the roster as it is then (it may have changed
since the offer), and a refusal names the rule. An approved swap is a new roster version for that day.

An open shift is a shift the roster could not fill (a gap, a surge, a leave or a no-show nobody took):
eligible agents claim it, first come. Claims on one project are serialised by a lock on the project's
row, so concurrent claims can never take more places than there are, nor give one agent two shifts a day.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select

from services.scheduling.config import SchedulingSettings
from services.scheduling.dayrules import hhmm, instant
from services.scheduling.models import OpenShift, OpenShiftClaim, PoolAgent, Roster, RosterSlot, SwapRequest
from services.scheduling.queries import agent_names, page_of, project_for
from services.scheduling.revisions import DayRoster, load_days, publish_days, refuse, rule_violations
from services.scheduling.roster import accepted_surges, end_hhmm, get_project, require_schedulable
from services.scheduling.rostering import Assignment
from shared.errors import BusinessRuleViolation, Forbidden, NotFound, ValidationFailed
from shared.uow import UnitOfWork
from shared.workdays import today_shanghai

SWAP_STATUSES = ("offered", "accepted", "approved", "refused", "cancelled")
OPEN_SHIFT_STATUSES = ("open", "filled", "closed")


def _not_started(uow: UnitOfWork, day: dt.date, start_minute: int, what: str) -> None:
    if uow.now() >= instant(day, start_minute):
        raise BusinessRuleViolation(
            f"The shift on {day.isoformat()} at {hhmm(start_minute)} has already started; {what} is only "
            "possible for a shift that has not started (ask the on-duty supervisor).",
            rule="shift-started",
            status=409,
        )


def _present(uow: UnitOfWork, project_id: str, agent_id: str) -> PoolAgent:
    row = uow.session.scalar(
        select(PoolAgent).where(PoolAgent.project_id == project_id, PoolAgent.agent_id == agent_id)
    )
    if row is None or row.departed_on is not None:
        raise NotFound(f"Agent {agent_id} is not a present agent of project {project_id}'s pool.")
    return row


# --- swaps ----------------------------------------------------------------------------------------------


def swap_dict(s: SwapRequest, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": s.id,
        "project_id": s.project_id,
        "date": s.date,
        "shift": s.shift,
        "start": hhmm(s.start_minute),
        "end": end_hhmm(s.start_minute, s.minutes),
        "skill": s.skill,
        "from_agent_id": s.from_agent_id,
        "from_agent_name": names.get(s.from_agent_id),
        "to_agent_id": s.to_agent_id,
        "to_agent_name": names.get(s.to_agent_id) if s.to_agent_id else None,
        "status": s.status,
        "note": s.note,
        "rule": s.rule,
        "detail": s.detail,
        "roster_version": s.roster_version,
        "created_at": s.created_at,
        "accepted_at": s.accepted_at,
        "decided_at": s.decided_at,
        "decided_by": s.decided_by,
    }


def _swap(uow: UnitOfWork, project_id: str, swap_id: str) -> SwapRequest:
    swap = uow.session.get(SwapRequest, swap_id, with_for_update=True)
    if swap is None or swap.project_id != project_id:
        raise NotFound(f"There is no swap {swap_id} in project {project_id}.")
    return swap


def _expect(swap: SwapRequest, *statuses: str, action: str) -> None:
    if swap.status not in statuses:
        raise BusinessRuleViolation(
            f"Swap {swap.id} is {swap.status}; it can be {action} only when {' or '.join(statuses)}.",
            rule="swap-status",
            status=409,
        )


def offer_swap(
    uow: UnitOfWork, project_id: str, data: dict[str, Any], cfg: SchedulingSettings
) -> dict[str, Any]:
    """Agent A offers their shift on ``date`` to ``to_agent_id`` (or to anyone when absent)."""
    project = project_for(uow, project_id)
    require_schedulable(project, "a swap")
    actor = uow.actor
    from_id = actor.sub if actor.role == "agent" else data.get("from_agent_id")
    if not from_id:
        raise ValidationFailed({"from_agent_id": ["required when a supervisor offers an agent's shift"]})
    _present(uow, project.id, from_id)
    day: dt.date = data["date"]
    days = load_days(uow, project, day, day, cfg)
    mine = days.shifts(agent_id=from_id, day=day)
    if not mine:
        raise NotFound(f"Agent {from_id} has no shift on {day.isoformat()} in the roster in force.")
    shift = mine[0]
    _not_started(uow, day, shift.start_minute, "offering it")
    to_id = data.get("to_agent_id")
    if to_id is not None:
        if to_id == from_id:
            raise BusinessRuleViolation("A shift cannot be offered to oneself.", rule="swap-self")
        _present(uow, project.id, to_id)
    pending = uow.session.scalar(
        select(SwapRequest.id).where(
            SwapRequest.project_id == project.id,
            SwapRequest.from_agent_id == from_id,
            SwapRequest.date == day,
            SwapRequest.status.in_(("offered", "accepted")),
        )
    )
    if pending is not None:
        raise BusinessRuleViolation(
            f"The shift on {day.isoformat()} is already offered (swap {pending}); cancel that offer first.",
            rule="swap-pending",
            status=409,
        )
    swap = SwapRequest(
        id=str(uuid.uuid4()),
        project_id=project.id,
        date=day,
        shift=shift.shift,
        start_minute=shift.start_minute,
        minutes=shift.minutes,
        skill=shift.skill,
        from_agent_id=from_id,
        to_agent_id=to_id,
        status="offered",
        note=data.get("note"),
        created_at=uow.now(),
    )
    uow.session.add(swap)
    uow.session.flush()
    return swap_dict(swap, agent_names(uow.session, project.id))


def _taker_violations(
    uow: UnitOfWork, swap: SwapRequest, taker: str, cfg: SchedulingSettings
) -> tuple[DayRoster, Assignment, list[Any]]:
    project = get_project(uow.session, swap.project_id, for_update=True)
    days = load_days(uow, project, swap.date, swap.date, cfg)
    current = [a for a in days.shifts(agent_id=swap.from_agent_id, day=swap.date) if a.shift == swap.shift]
    if not current:
        raise BusinessRuleViolation(
            f"Agent {swap.from_agent_id} no longer has the {swap.shift} shift on {swap.date.isoformat()} "
            "(the roster changed since the offer); the swap can't go ahead.",
            rule="shift-changed",
            status=409,
        )
    new = Assignment(taker, swap.date, swap.shift, swap.start_minute, swap.minutes, swap.skill)
    return days, current[0], rule_violations(days, taker, new, cfg.rules)


def accept_swap(uow: UnitOfWork, project_id: str, swap_id: str, cfg: SchedulingSettings) -> dict[str, Any]:
    """Agent B takes the offer; the rules are checked now (and again at approval)."""
    project_for(uow, project_id)
    swap = _swap(uow, project_id, swap_id)
    _expect(swap, "offered", action="accepted")
    taker = uow.actor.sub
    if uow.actor.role != "agent":
        raise Forbidden("Only an agent accepts a swap offer, for themselves.")
    if taker == swap.from_agent_id:
        raise BusinessRuleViolation("A shift cannot be taken by the agent who offers it.", rule="swap-self")
    if swap.to_agent_id is not None and swap.to_agent_id != taker:
        raise Forbidden(f"Swap {swap.id} is offered to another agent.")
    _present(uow, project_id, taker)
    _not_started(uow, swap.date, swap.start_minute, "accepting it")
    _, _, violations = _taker_violations(uow, swap, taker, cfg)
    if violations:
        raise refuse(violations, f"agent {taker}")
    swap.to_agent_id = taker
    swap.status = "accepted"
    swap.accepted_at = uow.now()
    return swap_dict(swap, agent_names(uow.session, project_id))


def decide_swap(
    uow: UnitOfWork, project_id: str, swap_id: str, approve: bool, note: str | None, cfg: SchedulingSettings
) -> dict[str, Any]:
    """The supervisor approves (every rule re-checked: a breach refuses it, naming the rule) or refuses."""
    project_for(uow, project_id)
    swap = _swap(uow, project_id, swap_id)
    _expect(swap, "accepted", action="approved or refused")
    swap.decided_at = uow.now()
    swap.decided_by = uow.actor.label[:100]
    if note:
        swap.note = f"{swap.note}\n{note}" if swap.note else note
    if not approve:
        swap.status = "refused"
        swap.rule, swap.detail = "supervisor", note or "refused by the supervisor"
        return swap_dict(swap, agent_names(uow.session, project_id))
    assert swap.to_agent_id is not None
    _not_started(uow, swap.date, swap.start_minute, "approving the swap")
    days, given, violations = _taker_violations(uow, swap, swap.to_agent_id, cfg)
    if violations:
        error = refuse(violations, f"agent {swap.to_agent_id}")
        swap.status = "refused"
        swap.rule, swap.detail = violations[0].rule, error.detail
        raise error
    taken = Assignment(
        swap.to_agent_id, given.day, given.shift, given.start_minute, given.minutes, given.skill
    )
    others = [a for a in days.shifts() if a != given]
    roster = publish_days(uow, days, [*others, taken], reason="swap")
    swap.status = "approved"
    swap.roster_version = roster.version
    return swap_dict(swap, agent_names(uow.session, project_id))


def cancel_swap(uow: UnitOfWork, project_id: str, swap_id: str) -> dict[str, Any]:
    """The offering agent (or a supervisor) withdraws an offer not yet decided."""
    project_for(uow, project_id)
    swap = _swap(uow, project_id, swap_id)
    if uow.actor.role == "agent" and uow.actor.sub != swap.from_agent_id:
        raise Forbidden("Only the agent who offered the shift can withdraw the offer.")
    _expect(swap, "offered", "accepted", action="cancelled")
    swap.status = "cancelled"
    swap.decided_at = uow.now()
    swap.decided_by = uow.actor.label[:100]
    return swap_dict(swap, agent_names(uow.session, project_id))


def swaps(uow: UnitOfWork, project_id: str, args: dict[str, Any]) -> dict[str, Any]:
    """Swaps newest first; an agent sees offers to anyone, to them, and their own."""
    project_for(uow, project_id)
    stmt = select(SwapRequest).where(SwapRequest.project_id == project_id)
    if args.get("status"):
        stmt = stmt.where(SwapRequest.status == args["status"])
    if uow.actor.role == "agent":
        me = uow.actor.sub
        stmt = stmt.where(
            (SwapRequest.from_agent_id == me)
            | (SwapRequest.to_agent_id == me)
            | SwapRequest.to_agent_id.is_(None)
        )
    names = agent_names(uow.session, project_id)
    return page_of(
        uow, stmt, args, (SwapRequest.created_at.desc(), SwapRequest.id.desc()), lambda s: swap_dict(s, names)
    )


def get_swap(uow: UnitOfWork, project_id: str, swap_id: str) -> dict[str, Any]:
    project_for(uow, project_id)
    swap = uow.session.get(SwapRequest, swap_id)
    if swap is None or swap.project_id != project_id:
        raise NotFound(f"There is no swap {swap_id} in project {project_id}.")
    me = uow.actor.sub
    if uow.actor.role == "agent" and swap.to_agent_id not in (None, me) and swap.from_agent_id != me:
        raise NotFound(f"There is no swap {swap_id} in project {project_id}.")
    return swap_dict(swap, agent_names(uow.session, project_id))


# --- open shifts ----------------------------------------------------------------------------------------


def open_shift_dict(o: OpenShift, eligible: tuple[bool, str | None] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": o.id,
        "project_id": o.project_id,
        "date": o.date,
        "shift": o.shift,
        "start": hhmm(o.start_minute),
        "end": end_hhmm(o.start_minute, o.minutes),
        "skill": o.skill,
        "places": o.places,
        "claimed": o.claimed,
        "left": max(0, o.places - o.claimed),
        "status": o.status,
        "source": o.source,
        "created_at": o.created_at,
    }
    if eligible is not None:
        out["eligible"], out["not_eligible_because"] = eligible
    return out


def offer_open(
    uow: UnitOfWork, project_id: str, day: dt.date, shift: Assignment, places: int, source: str
) -> OpenShift:
    """Open (or top up) the places of a shift nobody could take."""
    session = uow.session
    row = session.scalar(
        select(OpenShift).where(
            OpenShift.project_id == project_id, OpenShift.date == day, OpenShift.shift == shift.shift
        )
    )
    if row is None:
        row = OpenShift(
            id=str(uuid.uuid4()),
            project_id=project_id,
            date=day,
            shift=shift.shift,
            start_minute=shift.start_minute,
            minutes=shift.minutes,
            skill=shift.skill,
            places=0,
            claimed=0,
            source=source,
            created_by=uow.actor.label[:100],
            created_at=uow.now(),
            status="open",
        )
        session.add(row)
    if row.status != "open":
        row.status, row.places, row.claimed, row.source = "open", 0, 0, source
    row.places = row.claimed + places
    session.flush()
    return row


def publish_open_shifts(
    uow: UnitOfWork, project_id: str, start: dt.date, end: dt.date, cfg: SchedulingSettings
) -> dict[str, Any]:
    """Every uncovered shift from today on in ``start``..``end`` becomes an open shift (surge or gap)."""
    project = project_for(uow, project_id, for_update=True)
    require_schedulable(project, "publishing open shifts")
    start = max(start, today_shanghai(uow.now()))
    if end < start:
        return {"items": [], "total": 0}
    days = load_days(uow, project, start, end, cfg)
    surged = {
        d
        for s in uow.session.scalars(accepted_surges(project.id, start, end))
        for d in (s.start_date + dt.timedelta(days=i) for i in range((s.end_date - s.start_date).days + 1))
    }
    out = []
    for slot in days.slots:
        if slot.missing <= 0 or uow.now() >= instant(slot.date, slot.start_minute):
            continue
        shift = Assignment("", slot.date, slot.shift, slot.start_minute, slot.minutes, None)
        row = offer_open(
            uow, project.id, slot.date, shift, slot.missing, "surge" if slot.date in surged else "gap"
        )
        out.append(open_shift_dict(row))
    return {"items": out, "total": len(out)}


def open_version_gaps(uow: UnitOfWork, roster: Roster, source: str) -> int:
    """Publish the not-yet-started shifts a new roster version left short (an accepted surge's) as open."""
    slots = uow.session.scalars(
        select(RosterSlot).where(RosterSlot.roster_id == roster.id, RosterSlot.missing > 0)
    ).all()
    opened = 0
    for slot in slots:
        if uow.now() >= instant(slot.date, slot.start_minute):
            continue
        shift = Assignment("", slot.date, slot.shift, slot.start_minute, slot.minutes, None)
        offer_open(uow, roster.project_id, slot.date, shift, slot.missing, source)
        opened += slot.missing
    return opened


def open_shifts(
    uow: UnitOfWork, project_id: str, args: dict[str, Any], cfg: SchedulingSettings
) -> dict[str, Any]:
    """Open shifts by date; for an agent, whether they may claim each one and, if not, why."""
    project = project_for(uow, project_id)
    stmt = select(OpenShift).where(OpenShift.project_id == project_id)
    status = args.get("status", "open")
    if status != "all":
        stmt = stmt.where(OpenShift.status == status)
    if args.get("from_"):
        stmt = stmt.where(OpenShift.date >= args["from_"])
    if args.get("to"):
        stmt = stmt.where(OpenShift.date <= args["to"])
    if uow.actor.role != "agent":
        return page_of(
            uow, stmt, args, (OpenShift.date, OpenShift.start_minute, OpenShift.id), open_shift_dict
        )
    me = uow.actor.sub

    def mine(o: OpenShift) -> dict[str, Any]:
        return open_shift_dict(o, _eligibility(uow, project, o, me, cfg))

    return page_of(uow, stmt, args, (OpenShift.date, OpenShift.start_minute, OpenShift.id), mine)


def _eligibility(
    uow: UnitOfWork, project: Any, o: OpenShift, agent_id: str, cfg: SchedulingSettings
) -> tuple[bool, str | None]:
    if o.status != "open":
        return False, f"the shift is {o.status}"
    days = load_days(uow, project, o.date, o.date, cfg)
    violations = rule_violations(
        days, agent_id, Assignment(agent_id, o.date, o.shift, o.start_minute, o.minutes, o.skill), cfg.rules
    )
    if violations:
        return False, f"{violations[0].rule}: {violations[0].detail}"
    return True, None


def claim_open_shift(
    uow: UnitOfWork, project_id: str, open_shift_id: str, cfg: SchedulingSettings
) -> dict[str, Any]:
    """First come: the agent takes a place if one is left and every labour rule allows it."""
    if uow.actor.role != "agent":
        raise Forbidden("Only an agent claims an open shift, for themselves.")
    me = uow.actor.sub
    # the project's row lock serialises claims (and every roster change) of one project
    project = project_for(uow, project_id, for_update=True)
    row = uow.session.get(OpenShift, open_shift_id, with_for_update=True)
    if row is None or row.project_id != project.id:
        raise NotFound(f"There is no open shift {open_shift_id} in project {project_id}.")
    _present(uow, project.id, me)
    if row.status != "open" or row.claimed >= row.places:
        state = "filled" if row.status == "open" else row.status
        raise BusinessRuleViolation(
            f"Open shift {row.id} ({row.date.isoformat()} {row.shift}) is {state}: no place is left "
            f"({row.claimed} of {row.places} taken).",
            rule="open-shift-filled",
            status=409,
        )
    _not_started(uow, row.date, row.start_minute, "claiming it")
    days = load_days(uow, project, row.date, row.date, cfg)
    new = Assignment(me, row.date, row.shift, row.start_minute, row.minutes, row.skill)
    violations = rule_violations(days, me, new, cfg.rules)
    if violations:
        raise refuse(violations, f"agent {me}")
    roster = publish_days(uow, days, [*days.shifts(), new], reason="open-shift")
    row.claimed += 1
    if row.claimed >= row.places:
        row.status = "filled"
    claim = OpenShiftClaim(
        id=str(uuid.uuid4()),
        open_shift_id=row.id,
        project_id=project.id,
        date=row.date,
        agent_id=me,
        roster_version=roster.version,
        claimed_at=uow.now(),
    )
    uow.session.add(claim)
    uow.session.flush()
    return {"claim_id": claim.id, "roster_version": roster.version, "open_shift": open_shift_dict(row)}


def close_open_shift(uow: UnitOfWork, project_id: str, open_shift_id: str) -> dict[str, Any]:
    project_for(uow, project_id, for_update=True)
    row = uow.session.get(OpenShift, open_shift_id, with_for_update=True)
    if row is None or row.project_id != project_id:
        raise NotFound(f"There is no open shift {open_shift_id} in project {project_id}.")
    if row.status == "open":
        row.status = "closed"
    return open_shift_dict(row)
