"""Roster generation, publishing and attrition on the fake unit of work (a small project so the CP-SAT
solver answers in milliseconds: 2 seats, 09:00–17:00, one shift a day; ceil(1.5 × 2) = 3 active)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from services.scheduling import attrition, projections, queries, roster
from services.scheduling.config import SchedulingSettings
from services.scheduling.models import Base, PoolAgent, RosterSlot
from shared.errors import BusinessRuleViolation, ValidationFailed
from shared.uow import Actor
from tests.unit.fakes import FakeUnitOfWork
from tests.unit.usecases.test_scheduling_projections import PROJECT, T0, admitted, confirmed
from tests.unit.usecases.test_scheduling_surges import TODAY

SETTINGS = SchedulingSettings(solver_time_limit=2, solver_workers=1)
SUPERVISOR = Actor("s-zhao", "supervisor")


def small_project(agents: int = 5) -> FakeUnitOfWork:
    u = FakeUnitOfWork(Base.metadata, actor=SUPERVISOR)
    projections.project_confirmed(u, confirmed(seats=2), T0)
    for i in range(agents):
        projections.agent_admitted(u, admitted(i), T0)
    return u


def day(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


def test_a_generated_roster_covers_every_shift_and_is_announced() -> None:
    u = small_project()
    made = roster.generate_roster(u, PROJECT, day(1), day(3), publish=True, cfg=SETTINGS)
    detail = queries.roster_detail(u, made)
    assert (made.version, made.status, made.created_by) == (1, "published", "supervisor:s-zhao")
    assert (detail["needed"], detail["assigned"], detail["uncovered"]) == (6, 6, [])
    [event] = u.emitted("roster.published")
    assert (event["roster_id"], event["version"], len(event["shifts"])) == (made.id, 1, 6)
    assert {s["role"] for s in event["shifts"]} == {"active"}


def test_a_draft_is_announced_only_when_published() -> None:
    u = small_project()
    draft = roster.generate_roster(u, PROJECT, day(1), day(1), publish=False, cfg=SETTINGS)
    assert draft.status == "draft" and u.emitted("roster.published") == []
    roster.publish_roster(u, PROJECT, draft.id)
    assert draft.published_at == u.now() and len(u.emitted("roster.published")) == 1


def test_a_roster_in_the_past_is_refused_and_nothing_is_announced() -> None:
    u = small_project()
    with pytest.raises(ValidationFailed):
        roster.generate_roster(u, PROJECT, day(-1), day(2), publish=True, cfg=SETTINGS)
    assert u.events == []


def test_a_departed_active_agent_is_replaced_by_the_best_reserve() -> None:
    u = small_project(agents=5)  # a-00..a-02 active, a-03 and a-04 reserve
    roster.generate_roster(u, PROJECT, day(1), day(3), publish=True, cfg=SETTINGS)
    gone = next(
        a
        for a in ("a-00", "a-01", "a-02")
        if any(s["agent_id"] == a for s in u.emitted("roster.published")[0]["shifts"])
    )
    result = attrition.register_departures(u, PROJECT, [gone], day(1), "resigned", cfg=SETTINGS)
    [departure] = result["departures"]
    assert (departure["role"], departure["replacement_id"]) == ("active", "a-03")
    assert result["roster_version"] == 2 and result["reserve_shortfall"] == 0
    assert [e["agent_id"] for e in u.emitted("agent.departed")] == [gone]
    assert [e["replacement_id"] for e in u.emitted("agent.replaced")] == ["a-03"]
    row = u.session.scalars(select(PoolAgent).where(PoolAgent.agent_id == gone)).one()
    assert (row.departed_on, row.replaced_by) == (day(1), "a-03")


def test_a_second_departure_of_the_same_agent_is_refused_without_events() -> None:
    u = small_project(agents=5)
    attrition.register_departures(u, PROJECT, ["a-04"], day(1), None, cfg=SETTINGS)
    before = list(u.events)
    with pytest.raises(BusinessRuleViolation):
        attrition.register_departures(u, PROJECT, ["a-04"], day(2), None, cfg=SETTINGS)
    assert u.events == before


def test_per_shift_demand_sets_each_shifts_headcount_and_is_recorded() -> None:
    u = small_project(agents=5)  # one 09:00–17:00 shift, "morning", 2 seats
    demand = {
        "multipliers": {"morning": Decimal("1.5")},  # ceil(2 × 1.5) = 3 agents
        "peak_multiplier": None,
        "shifts": [{"shift": "morning", "needed": 4, "date": day(2)}],
    }
    made = roster.generate_roster(u, PROJECT, day(1), day(3), publish=True, cfg=SETTINGS, demand=demand)
    slots = u.session.scalars(select(RosterSlot).where(RosterSlot.roster_id == made.id)).all()
    assert sorted((s.date, s.needed) for s in slots) == [(day(1), 3), (day(2), 4), (day(3), 3)]
    detail = queries.roster_detail(u, made)
    assert detail["needed"] == 10 and detail["assigned"] == 10
    assert detail["demand"]["shifts"] == [{"date": day(2).isoformat(), "shift": "morning", "needed": 4}]
    report = detail["solver_report"]
    assert report["kept"] == made.method and made.method in ("cp-sat", "greedy")
    assert set(report["compared"]) == {"cp-sat", "greedy"} and report["compared"][made.method]["missing"] == 0
    assert report["bound"] <= report["objective"]


def test_a_roster_without_demand_needs_the_seats_on_every_shift() -> None:
    u = small_project()
    made = roster.generate_roster(u, PROJECT, day(1), day(2), publish=False, cfg=SETTINGS)
    slots = u.session.scalars(select(RosterSlot).where(RosterSlot.roster_id == made.id)).all()
    assert {s.needed for s in slots} == {2} and made.demand is None


def test_demand_for_a_shift_the_project_does_not_have_is_refused() -> None:
    u = small_project()
    with pytest.raises(ValidationFailed) as refused:
        roster.generate_roster(
            u, PROJECT, day(1), day(2), publish=True, cfg=SETTINGS, demand={"multipliers": {"night": 2}}
        )
    assert "night" in str(refused.value.errors) and u.events == []
    with pytest.raises(ValidationFailed):
        roster.generate_roster(
            u,
            PROJECT,
            day(1),
            day(2),
            publish=True,
            cfg=SETTINGS,
            demand={"shifts": [{"shift": "morning", "needed": 1, "date": day(9)}]},
        )
