"""The scheduling rules with the seeds' own numbers (DOMAIN.md §3–6 and the staffing arithmetic)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.scheduling import domain
from services.scheduling.config import SchedulingSettings
from services.scheduling.domain import PoolCandidate
from services.scheduling.rostering import split_service_hours

TODAY = dt.date(2026, 11, 1)


def test_twenty_admitted_for_ten_seats_are_fifteen_active_and_five_reserve() -> None:
    candidates = [PoolCandidate(f"a{i:02d}", 90 - i, 80 - i, i + 1) for i in range(20)]
    active, reserve = domain.split_pool(candidates, seats=10)
    assert (len(active), len(reserve)) == (15, 5)
    assert [c.agent_id for c in active] == [f"a{i:02d}" for i in range(15)]
    assert [c.agent_id for c in reserve] == [f"a{i:02d}" for i in range(15, 20)]


def test_the_pool_is_ordered_by_admission_score_then_rank() -> None:
    low = PoolCandidate("low", 60, 60, 1)
    high = PoolCandidate("high", 90, 70, 9)
    tie_b = PoolCandidate("tie-b", 80, 80, 3)
    tie_a = PoolCandidate("tie-a", 80, 80, 2)
    assert [c.agent_id for c in domain.pool_order([low, tie_b, high, tie_a])] == [
        "tie-a",
        "tie-b",
        "high",
        "low",
    ]


def test_the_active_ratio_is_a_setting() -> None:
    assert domain.active_target(10) == 15
    assert domain.active_target(7) == 11  # ceil(10.5)
    assert domain.active_target(10, Decimal("1.2")) == 12
    assert SchedulingSettings.from_env({"SCHEDULING_ACTIVE_RATIO": "1.2"}).active_ratio == Decimal("1.2")


@pytest.mark.parametrize(
    ("pct", "notice", "accepted", "rule"),
    [
        (30, 3, True, "surge-notice"),
        (30, 2, False, "surge-notice"),
        (31, 6, False, "surge-notice"),
        (60, 7, True, "surge-notice"),
        (61, 30, False, "surge-above-limit"),
    ],
)
def test_the_surge_notice_table(pct: int, notice: int, accepted: bool, rule: str) -> None:
    decision = domain.decide_surge(Decimal(pct), TODAY + dt.timedelta(days=notice), TODAY, seats=10)
    assert (decision.accepted, decision.rule, decision.notice_days) == (accepted, rule, notice)


def test_a_refused_surge_names_the_earliest_acceptable_start() -> None:
    short = domain.decide_surge(Decimal(30), TODAY + dt.timedelta(days=2), TODAY, seats=10)
    assert short.earliest_start == dt.date(2026, 11, 4) and short.required_notice_days == 3
    assert "2026-11-04" in short.reason and "3 days' notice" in short.reason
    week = domain.decide_surge(Decimal(31), TODAY + dt.timedelta(days=6), TODAY, seats=10)
    assert week.earliest_start == dt.date(2026, 11, 8) and week.required_notice_days == 7
    over = domain.decide_surge(Decimal(61), TODAY + dt.timedelta(days=30), TODAY, seats=10)
    assert over.earliest_start is None and "new order" in over.reason


def test_surge_thresholds_are_settings() -> None:
    cfg = SchedulingSettings.from_env({"SCHEDULING_SURGE_SMALL_NOTICE_DAYS": "5"})
    assert not domain.decide_surge(Decimal(30), TODAY + dt.timedelta(days=4), TODAY, 10, cfg).accepted


def test_extra_seats_round_up() -> None:
    assert domain.extra_seats(10, Decimal(30)) == 3
    assert domain.extra_seats(10, Decimal(31)) == 4
    assert domain.extra_seats(10, Decimal(60)) == 6


def test_seed_003_two_thousand_consultations_at_220_a_day_need_ten_agents() -> None:
    out = domain.presale_estimate(total_receptions=Decimal(2000), agent_daily_capacity=Decimal(220))
    assert (out["exact"], out["headcount"], out["reception_gap"]) == ("9.0909", 10, "2000.00")


def test_presale_from_orders_minus_bot_and_own_agents_at_100_an_hour() -> None:
    # 10,000 orders × 1.5 receptions = 15,000; the bot solves 4,000 × 50% = 2,000; 5 own agents × 8 h × 100
    # = 4,000; the gap of 9,000 ÷ (8 h × 100) = 11.25 → 12
    out = domain.presale_estimate(
        forecast_orders=Decimal(10_000),
        receptions_per_order=Decimal("1.5"),
        bot_receptions=Decimal(4000),
        bot_resolution_rate=Decimal("0.5"),
        own_agents=Decimal(5),
    )
    assert out["total_receptions"] == "15000.00" and out["bot_receptions"] == "2000.00"
    assert out["own_agents_receptions"] == "4000.00" and out["reception_gap"] == "9000.00"
    assert (out["agent_daily_capacity"], out["exact"], out["headcount"]) == ("800.00", "11.2500", 12)


def test_presale_from_uv_times_call_in_rate() -> None:
    out = domain.presale_estimate(uv=Decimal(50_000), call_in_rate=Decimal("0.04"))
    assert (out["total_receptions"], out["total_receptions_source"], out["headcount"]) == ("2000.00", "uv", 3)


def test_aftersale_refunds_by_the_seed_formula() -> None:
    # 100,000 orders × 5% ÷ 7 days = 714.29 a day; 3600 ÷ 120 s × 8 h × 90% = 216; × 7 ÷ 5 → 4.6296 → 5
    out = domain.aftersale_estimate(
        orders=Decimal(100_000),
        refund_rate=Decimal("0.05"),
        aftersale_days=Decimal(7),
        seconds_per_refund=Decimal(120),
    )
    assert (out["daily_refunds"], out["agent_daily_capacity"], out["week_factor"]) == (
        "714.29",
        "216.00",
        "1.4000",
    )
    assert (out["exact"], out["headcount"]) == ("4.6296", 5)


def test_the_funnel_from_ten_seats() -> None:
    assert domain.funnel(10) == {"seats": 10, "match": 30, "admit": 20, "schedule": 15, "reserve": 5}


def test_timesheet_hours_and_dates() -> None:
    assert domain.timesheet_problems(Decimal("7.5"), TODAY, TODAY) == []
    assert domain.timesheet_problems(Decimal(24), TODAY, TODAY) == []
    assert len(domain.timesheet_problems(Decimal(0), TODAY, TODAY)) == 1
    assert len(domain.timesheet_problems(Decimal("24.01"), TODAY + dt.timedelta(days=1), TODAY)) == 2


def test_service_hours_split_into_at_most_three_shifts() -> None:
    day = split_service_hours("09:00", "17:00")
    assert [(s.name, s.starts, s.ends) for s in day] == [("morning", "09:00", "17:00")]
    full = split_service_hours("00:00", "24:00")
    assert [(s.name, s.starts, s.ends) for s in full] == [
        ("night", "00:00", "08:00"),
        ("morning", "08:00", "16:00"),
        ("afternoon", "16:00", "24:00"),
    ]
    late = split_service_hours("08:00", "02:00")  # past midnight, covering the 0–2 peak
    assert [(s.name, s.starts, s.ends) for s in late] == [
        ("morning", "08:00", "14:00"),
        ("afternoon", "14:00", "20:00"),
        ("night", "20:00", "02:00"),
    ]
    # the seed's peaks 0–2, 8–10, 12–16, 20–22 weigh each shift
    assert [s.peak_minutes for s in full] == [120, 360, 120]


def test_a_malformed_setting_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="SCHEDULING_SOLVER_TIME_LIMIT"):
        SchedulingSettings.from_env({"SCHEDULING_SOLVER_TIME_LIMIT": "soon"})
    with pytest.raises(ValueError, match="SCHEDULING_PEAK_HOURS"):
        SchedulingSettings.from_env({"SCHEDULING_PEAK_HOURS": "22-2"})
