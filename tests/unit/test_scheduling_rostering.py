"""Every roster hard rule holds on generated rosters (hypothesis), whatever the pool and the demand."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.scheduling.rostering import (
    SHIFT_NAMES,
    Assignment,
    RosterAgent,
    RosterProblem,
    Rules,
    Slot,
    check_roster,
    greedy,
    reassign,
    solve,
    split_service_hours,
)

MONDAY = dt.date(2026, 11, 2)
HOURS = [("09:00", "17:00"), ("09:00", "21:00"), ("00:00", "24:00"), ("08:00", "02:00"), ("06:00", "22:00")]


@st.composite
def problems(draw: st.DrawFn) -> RosterProblem:
    start, end = draw(st.sampled_from(HOURS))
    templates = split_service_hours(start, end)
    offset = draw(st.integers(0, 6))
    days = draw(st.integers(1, 10))
    n = draw(st.integers(1, 9))
    agents = []
    for i in range(n):
        shifts = draw(st.sets(st.sampled_from(SHIFT_NAMES), min_size=1))
        departs = draw(st.none() | st.integers(0, days).map(lambda d: MONDAY + dt.timedelta(days=offset + d)))
        agents.append(
            RosterAgent(f"a{i}", frozenset(shifts), reserve=draw(st.booleans()), departs_on=departs, order=i)
        )
    first = MONDAY + dt.timedelta(days=offset)
    slots = [
        Slot(first + dt.timedelta(days=d), t, draw(st.integers(0, 4))) for d in range(days) for t in templates
    ]
    rules = Rules(
        min_rest_minutes=draw(st.sampled_from([8 * 60, 11 * 60, 12 * 60])),
        max_consecutive_days=draw(st.integers(2, 6)),
        max_weekly_minutes=draw(st.sampled_from([16 * 60, 30 * 60, 44 * 60])),
    )
    # shifts already rostered the day before the window count for rest, streaks and weekly hours
    fixed = [
        Assignment.of(a.agent_id, first - dt.timedelta(days=1), templates[-1])
        for a in agents
        if draw(st.booleans()) and templates[-1].name in a.shifts_available
    ]
    return RosterProblem(agents, slots, fixed, rules)


def _counts(assignments: list[Assignment]) -> dict[tuple[dt.date, str], int]:
    out: dict[tuple[dt.date, str], int] = {}
    for a in assignments:
        out[(a.day, a.shift)] = out.get((a.day, a.shift), 0) + 1
    return out


def _assert_sound(problem: RosterProblem, assignments: list[Assignment], gaps: list) -> None:
    assert check_roster(problem.agents, [*problem.fixed, *assignments], problem.rules) == []
    counts = _counts(assignments)
    for slot in problem.slots:
        # never over-staffed, and every missing agent is listed as a gap with a rule
        assert counts.get((slot.day, slot.shift.name), 0) <= slot.needed
    listed = {(g.day, g.shift): g.missing for g in gaps}
    for slot in problem.slots:
        missing = slot.needed - counts.get((slot.day, slot.shift.name), 0)
        assert listed.get((slot.day, slot.shift.name), 0) == missing
    assert all(g.rule for g in gaps)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_cp_sat_rosters_keep_every_hard_rule(problem: RosterProblem) -> None:
    result = solve(problem, time_limit=2, workers=1)
    _assert_sound(problem, result.assignments, result.gaps)
    # the solver never leaves more open than the greedy baseline it starts from
    assert result.missing <= greedy(problem).missing


@settings(max_examples=60, deadline=None)
@given(problems())
def test_greedy_rosters_keep_every_hard_rule(problem: RosterProblem) -> None:
    result = greedy(problem)
    _assert_sound(problem, result.assignments, result.gaps)


@settings(max_examples=40, deadline=None)
@given(problems(), st.data())
def test_handing_over_a_departed_agents_shifts_keeps_every_hard_rule(
    problem: RosterProblem, data: st.DataObject
) -> None:
    roster = greedy(problem).assignments
    leaver = data.draw(st.sampled_from([a.agent_id for a in problem.agents]))
    candidates = [a.agent_id for a in problem.agents if a.agent_id != leaver]
    kept, taken, left = reassign(
        problem.agents, [*problem.fixed, *roster], [leaver], candidates, problem.rules
    )
    assert check_roster(problem.agents, kept, problem.rules) == []
    assert all(a.agent_id != leaver for a in kept)
    orphaned = [a for a in [*problem.fixed, *roster] if a.agent_id == leaver]
    assert sum(len(v) for v in taken.values()) + len(left) == len(orphaned)


def test_the_rules_checker_names_each_broken_rule() -> None:
    templates = {t.name: t for t in split_service_hours("00:00", "24:00")}
    agent = RosterAgent("a", frozenset({"morning", "afternoon"}), departs_on=MONDAY + dt.timedelta(days=9))
    afternoon, morning, night = templates["afternoon"], templates["morning"], templates["night"]
    items = [
        Assignment.of("a", MONDAY, afternoon),  # 16–24, then 08:00 next day: 8 h rest
        Assignment.of("a", MONDAY + dt.timedelta(days=1), morning),
        Assignment.of("a", MONDAY + dt.timedelta(days=1), afternoon),  # two shifts on one day
        *[Assignment.of("a", MONDAY + dt.timedelta(days=d), morning) for d in range(2, 7)],  # 7 days running
        Assignment.of("a", MONDAY + dt.timedelta(days=7), night),  # not available for nights
        Assignment.of("a", MONDAY + dt.timedelta(days=9), morning),  # after the departure
    ]
    rules = {v.rule for v in check_roster([agent], items, Rules())}
    assert rules == {
        "min-rest",
        "one-shift-per-day",
        "max-consecutive-days",
        "max-weekly-hours",
        "availability",
        "departed",
    }
