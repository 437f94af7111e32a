"""Attrition (人员流失): departures, and the reserve agents who take over the departed agents' shifts.

One departure or many on the same date make one new roster version; a departed active agent with no
reserve left to replace them is a reserve.shortfall recruitment answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from services.scheduling import alerts
from services.scheduling.config import SchedulingSettings
from services.scheduling.models import PoolAgent, Roster, RosterAssignment
from services.scheduling.queries import agent_names
from services.scheduling.roster import (
    CONTEXT_DAYS,
    RosterDraft,
    carried_slot,
    effective_assignments,
    effective_slots,
    end_hhmm,
    get_project,
    hhmm,
    hours_text,
    pool_members,
    roster_agents,
    save_roster,
    to_assignment,
)
from services.scheduling.rostering import Assignment, reassign
from shared.errors import BusinessRuleViolation, NotFound
from shared.uow import UnitOfWork
from shared.workdays import SHANGHAI, today_shanghai


def register_departures(
    uow: UnitOfWork,
    project_id: str,
    agent_ids: Sequence[str],
    day: dt.date,
    reason: str | None,
    *,
    cfg: SchedulingSettings,
) -> dict[str, Any]:
    """Agents leave from ``day``; the best reserve agents take over their future shifts."""
    session = uow.session
    today = today_shanghai(uow.now())
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
    agents = roster_agents(members)
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
        context, chosen = effective_assignments(
            session, project.id, start - dt.timedelta(days=CONTEXT_DAYS), last
        )
    current = [to_assignment(r) for r in context]
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
        slots_now = [s for s in effective_slots(session, chosen) if s.date >= start]
        draft = RosterDraft(
            project_id=project.id,
            start=start,
            end=last,
            slots=[carried_slot(s, s.needed) for s in slots_now],
            assignments=[a for a in current if start <= a.day <= last],
            roles={**{r.agent_id: r.role for r in context}, **{k: "reserve" for k in used}},
            reason="departure",
            method="reassignment",
            solver_status="n/a",
        )
        roster = save_roster(uow, draft, publish=True)
    for outcome in outcomes:
        uow.emit(
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
            uow.emit(
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
        uow.emit(
            "reserve.shortfall",
            {
                "project_id": project.id,
                "missing": shortfall,
                "reason": f"{shortfall} departed agent(s) on {day.isoformat()} without a reserve agent "
                "to take over",
            },
        )
        alerts.raise_alert(
            uow,
            project_id=project.id,
            kind="reserve_shortfall",
            title=f"备岗不足：{shortfall} 人离职无人接替",
            body=f"{project.company_name or project.id} 于 {day.isoformat()} 有 {shortfall} 名客服离职，"
            "备岗池已无人可接替，已通知招聘补人；如离职超过备岗，可启动全员上岗。",
            data={"date": day.isoformat(), "missing": shortfall, "departed": list(agent_ids)},
            dedup_key=f"reserve_shortfall:departure:{project.id}:{day.isoformat()}:{','.join(sorted(agent_ids))}",
        )
    names = agent_names(session, project.id)
    version = roster.version if roster else 0

    def shift_out(a: Assignment) -> dict[str, Any]:
        return {
            "date": a.day,
            "shift": a.shift,
            "start": hhmm(a.start_minute),
            "end": end_hhmm(a.start_minute, a.minutes),
            "hours": hours_text(a.minutes),
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
