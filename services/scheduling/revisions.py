"""Small roster changes of the day of operation (swaps, claims, leave, no-shows) as new roster versions.

Every change to a published roster is a new published version covering just the days it touches, so the
history stays whole and every reader (the roster views, an agent's calendar, ``roster.published``) sees
the change without knowing about swaps or claims.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from services.scheduling.config import SchedulingSettings
from services.scheduling.models import Project, Roster, RosterAssignment, RosterSlot
from services.scheduling.roster import (
    CONTEXT_DAYS,
    PoolMember,
    RosterDraft,
    carried_slot,
    effective_assignments,
    effective_slots,
    pool_members,
    roster_agents,
    save_roster,
    to_assignment,
)
from services.scheduling.rostering import Assignment, RosterAgent, Rules, Violation, agent_violations
from shared.errors import BusinessRuleViolation
from shared.uow import UnitOfWork

#: why a labour rule refuses a change, in words a supervisor reads (the rule slug stays in ``rule``)
RULE_TEXT = {
    "min-rest": "the minimum rest between two shifts",
    "max-weekly-hours": "the maximum weekly hours",
    "max-consecutive-days": "the maximum number of days in a row",
    "one-shift-per-day": "one shift a day",
    "availability": "the agent's shift preferences (morning/afternoon/night)",
    "declared-availability": "the agent's declared availability",
    "on-leave": "approved leave",
    "departed": "the agent has left the project",
    "skill": "the shift's skill",
    "part-time": "part-time shifts",
}


@dataclass
class DayRoster:
    """The roster in force for ``start``..``end`` and the days around it that the rules look at."""

    project: Project
    start: dt.date
    end: dt.date
    rows: list[RosterAssignment]
    context: list[Assignment]
    slots: list[RosterSlot]
    members: list[PoolMember]

    @property
    def agents(self) -> list[RosterAgent]:
        return roster_agents(self.members)

    @property
    def roles(self) -> dict[str, str]:
        return {m.agent.agent_id: m.role for m in self.members}

    def shifts(self, *, agent_id: str | None = None, day: dt.date | None = None) -> list[Assignment]:
        """The window's shifts (one agent's, one day's)."""
        return [
            to_assignment(r)
            for r in self.rows
            if (agent_id is None or r.agent_id == agent_id) and (day is None or r.date == day)
        ]

    def member(self, agent_id: str) -> PoolMember | None:
        return next((m for m in self.members if m.agent.agent_id == agent_id), None)


def load_days(
    uow: UnitOfWork, project: Project, start: dt.date, end: dt.date, cfg: SchedulingSettings
) -> DayRoster:
    session = uow.session
    context_rows, _ = effective_assignments(
        session, project.id, start - dt.timedelta(days=CONTEXT_DAYS), end + dt.timedelta(days=CONTEXT_DAYS)
    )
    rows, chosen = effective_assignments(session, project.id, start, end)
    slots = effective_slots(session, chosen)
    return DayRoster(
        project=project,
        start=start,
        end=end,
        rows=list(rows),
        context=[to_assignment(r) for r in context_rows if not start <= r.date <= end],
        slots=slots,
        members=pool_members(session, project, cfg),
    )


def rule_violations(days: DayRoster, agent_id: str, new: Assignment, rules: Rules) -> list[Violation]:
    """What breaks if ``agent_id`` also works ``new``: every hard rule, with skill and part-time too."""
    member = days.member(agent_id)
    if member is None:
        return [Violation("departed", agent_id, new.day, "not a present agent of this project's pool")]
    agent = next(a for a in days.agents if a.agent_id == agent_id)
    out: list[Violation] = []
    if new.skill and new.skill not in (member.agent.skills or []) and new.skill != "triage":
        out.append(
            Violation("skill", agent_id, new.day, f"the shift needs {new.skill} and the agent has not got it")
        )
    if new.skill == "triage" and "aftersale" not in (member.agent.skills or []):
        out.append(Violation("skill", agent_id, new.day, "after-sales triage needs the aftersale skill"))
    items = [*days.context, *days.shifts(agent_id=agent_id)]
    mine = [a for a in items if a.agent_id == agent_id]
    out += agent_violations(agent, [*mine, new], rules)
    return out


def refuse(violations: Iterable[Violation], who: str) -> BusinessRuleViolation:
    first = next(iter(violations))
    rule_text = RULE_TEXT.get(first.rule, first.rule)
    return BusinessRuleViolation(
        f"Refused by the rule '{first.rule}' ({rule_text}): {who} {first.detail} on {first.day.isoformat()}.",
        rule=first.rule,
        status=409,
    )


def publish_days(
    uow: UnitOfWork,
    days: DayRoster,
    assignments: list[Assignment],
    *,
    reason: str,
    roles: dict[str, str] | None = None,
) -> Roster:
    """A new published version for ``days.start``..``days.end`` with ``assignments``; slots carried over."""
    draft = RosterDraft(
        project_id=days.project.id,
        start=days.start,
        end=days.end,
        slots=[carried_slot(s, s.needed) for s in days.slots],
        assignments=assignments,
        roles={**days.roles, **{r.agent_id: r.role for r in days.rows}, **(roles or {})},
        reason=reason,
        method="change",
        solver_status="n/a",
    )
    return save_roster(uow, draft, publish=True)
