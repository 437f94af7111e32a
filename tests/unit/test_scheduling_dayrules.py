"""The day-of-operation rules: declared availability and leave, what the clock makes of a shift."""

from __future__ import annotations

import datetime as dt

import pytest

from services.scheduling.dayrules import (
    Availability,
    ShiftTimes,
    adherence,
    hours_of,
    judge,
    merge_windows,
    window_problems,
)
from services.scheduling.rostering import Assignment, RosterAgent, Rules, ShiftTemplate, agent_violations
from shared.workdays import SHANGHAI

MONDAY = dt.date(2026, 11, 9)
NIGHT = ShiftTemplate("night", 22 * 60, 8 * 60)
MORNING = ShiftTemplate("morning", 8 * 60, 8 * 60)


def test_windows_merge_and_malformed_ones_are_named() -> None:
    assert merge_windows([(600, 720), (480, 600), (900, 960)]) == ((480, 720), (900, 960))
    assert window_problems([(480, 1080)]) == []
    assert "ends before it starts" in window_problems([(1080, 480)])[0]
    assert "not within" in window_problems([(-10, 60)])[0]


def test_without_a_pattern_an_agent_is_always_available() -> None:
    assert Availability().allows(MONDAY, 0, 1440)


def test_the_weekly_pattern_holds_on_its_weekday_only() -> None:
    mornings = Availability(weekly=((0, 7 * 60, 16 * 60),))  # Mondays 07:00-16:00
    assert mornings.allows(MONDAY, MORNING.start_minute, MORNING.minutes)
    assert mornings.refusal(MONDAY + dt.timedelta(days=1), 480, 480) == (
        "not available 08:00-16:00 on 2026-11-10 (available: none)"
    )
    assert not mornings.allows(MONDAY, 15 * 60, 8 * 60)


def test_a_night_shift_needs_both_days_it_touches() -> None:
    late = Availability(weekly=((0, 20 * 60, 1440), (1, 0, 8 * 60)))
    assert late.allows(MONDAY, NIGHT.start_minute, NIGHT.minutes)
    monday_only = Availability(weekly=((0, 20 * 60, 1440),))
    assert "on 2026-11-10" in (monday_only.refusal(MONDAY, NIGHT.start_minute, NIGHT.minutes) or "")


def test_an_exception_replaces_the_pattern_and_leave_blocks_the_day() -> None:
    a = Availability(weekly=((0, 0, 1440),), exceptions=((MONDAY, ()),))
    assert "available: none" in (a.refusal(MONDAY, 480, 60) or "")
    b = Availability(exceptions=((MONDAY, ((600, 900),)),))
    assert b.allows(MONDAY, 600, 300) and not b.allows(MONDAY, 480, 480)
    assert b.allows(MONDAY + dt.timedelta(days=1), 480, 480)  # no pattern: free other days
    c = Availability(leave=frozenset({MONDAY}))
    assert c.refusal(MONDAY, 480, 480) == "on approved leave on 2026-11-09"


def test_rostering_treats_availability_and_leave_as_hard_rules() -> None:
    agent = RosterAgent(
        "a", frozenset({"morning", "night"}), availability=Availability(leave=frozenset({MONDAY}))
    )
    assert not agent.can_work(MONDAY, MORNING)
    assert agent.can_work(MONDAY + dt.timedelta(days=1), MORNING)
    [violation] = agent_violations(agent, [Assignment.of("a", MONDAY, MORNING)], Rules())
    assert violation.rule == "on-leave"
    busy = RosterAgent("b", frozenset({"morning"}), availability=Availability(weekly=((1, 0, 1440),)))
    assert [v.rule for v in agent_violations(busy, [Assignment.of("b", MONDAY, MORNING)], Rules())] == [
        "declared-availability"
    ]


def shift(start: str = "08:00", hours: int = 8) -> ShiftTimes:
    begin = dt.datetime.combine(MONDAY, dt.time.fromisoformat(start), SHANGHAI)
    return ShiftTimes(begin, begin + dt.timedelta(hours=hours))


def t(hhmm: str) -> dt.datetime:
    return dt.datetime.combine(MONDAY, dt.time.fromisoformat(hhmm), SHANGHAI)


@pytest.mark.parametrize(
    ("now", "status"),
    [("07:59", "on_duty"), ("08:15", "on_duty"), ("08:15:01", "no_show"), ("08:16", "no_show")],
)
def test_nobody_clocked_in_is_a_no_show_only_past_the_tolerance(now: str, status: str) -> None:
    assert judge(shift(), None, None, 15, t(now)).status == status


def test_lateness_within_the_tolerance_is_grace_past_it_the_whole_delay_counts() -> None:
    assert judge(shift(), t("08:15"), None, 15, t("09:00")).late_minutes == 0
    v = judge(shift(), t("08:16"), None, 15, t("09:00"))
    assert (v.status, v.late_minutes, v.worked_minutes) == ("late", 16, 44)


@pytest.mark.parametrize(
    ("clock_in", "clock_out", "status", "late", "early", "worked"),
    [
        ("07:50", "16:05", "present", 0, 0, 480),
        ("08:30", "16:00", "late", 30, 0, 450),
        ("08:00", "15:30", "early_leave", 0, 30, 450),
        ("08:40", "15:00", "late_early_leave", 40, 60, 380),
        ("08:00", "15:50", "present", 0, 0, 470),
    ],
)
def test_a_finished_shift(
    clock_in: str, clock_out: str, status: str, late: int, early: int, worked: int
) -> None:
    v = judge(shift(), t(clock_in), t(clock_out), 15, t("23:00"))
    assert (v.status, v.late_minutes, v.early_minutes, v.worked_minutes) == (status, late, early, worked)


def test_adherence_and_paid_hours() -> None:
    assert adherence(240, 220) == pytest.approx(0.9167)
    assert adherence(240, 300) == 1.0
    assert adherence(0, 0) is None
    assert hours_of(460) == "7.50"  # 7 h 40: a started quarter is not paid
    assert hours_of(480) == "8.00"
