"""The on-duty desk's pure rules: daily windows, rota gaps (past midnight, all day), overlaps, and an agent's
settlement authority by amount and by percentage of the order (seed 000 §5.2)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.scheduling.dutyrota import (
    Span,
    check_authority,
    daily_window,
    end_hhmm,
    gap_minutes,
    hhmm,
    merge,
    overlaps,
    parse_hhmm,
    service_gaps,
    subtract,
)

MON = dt.date(2026, 11, 9)
TUE = MON + dt.timedelta(days=1)
SUN = MON - dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("start", "end", "window"),
    [
        ("09:00", "17:00", (540, 480)),
        ("00:00", "24:00", (0, 1440)),
        ("08:00", "02:00", (480, 1080)),  # past midnight: 18 h
        ("20:00", "00:00", (1200, 240)),
        ("08:00", "08:00", (480, 1440)),  # equal: a whole day
        ("00:00", "00:00", (0, 1440)),
        ("23:30", "24:00", (1410, 30)),
    ],
)
def test_a_daily_window_runs_past_midnight_when_the_end_is_not_after_the_start(
    start: str, end: str, window: tuple[int, int]
) -> None:
    assert daily_window(start, end) == window


@pytest.mark.parametrize("bad", ["24:01", "7:00", "25:00", "12:60", "noon", ""])
def test_times_of_day_are_hh_mm_up_to_24_00(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_hhmm(bad)


def test_a_window_cannot_start_at_24_00() -> None:
    with pytest.raises(ValueError, match="24:00"):
        daily_window("24:00", "08:00")


def test_times_print_back_with_midnight_as_24_00_only_at_the_end() -> None:
    assert (hhmm(1560), hhmm(0), end_hhmm(1200, 240), end_hhmm(480, 1080)) == (
        "02:00",
        "00:00",
        "24:00",
        "02:00",
    )


def test_merge_and_subtract() -> None:
    assert merge([(5, 10), (0, 3), (3, 4), (8, 12), (20, 20)]) == [(0, 4), (5, 12)]
    assert subtract((0, 100), [(10, 20), (15, 30), (90, 120)]) == [(0, 10), (30, 90)]
    assert subtract((0, 100), []) == [(0, 100)]
    assert subtract((0, 100), [(-50, 200)]) == []


def test_gaps_of_day_service_hours() -> None:
    service = daily_window("09:00", "17:00")
    duties = [Span(MON, 540, 180), Span(MON, 780, 120)]  # 09–12, 13–15
    gaps = service_gaps(MON, service, duties)
    assert gaps == [(720, 780), (900, 1020)]  # 12–13, 15–17
    assert gap_minutes(gaps) == 180
    assert service_gaps(MON, service, [Span(MON, 480, 600)]) == []  # 08–18 covers it all


def test_past_midnight_service_is_covered_by_the_next_days_duty() -> None:
    service = daily_window("08:00", "02:00")  # Monday 08:00 to Tuesday 02:00
    duties = [Span(MON, 480, 960), Span(TUE, 0, 60)]  # Mon 08–24, Tue 00–01
    assert service_gaps(MON, service, duties) == [(1500, 1560)]  # Tuesday 01:00–02:00
    # Monday's service hours do not reach Tuesday's morning duty after 02:00
    assert service_gaps(MON, service, [Span(MON, 480, 960), Span(TUE, 0, 120), Span(TUE, 480, 60)]) == []


def test_all_day_service_is_covered_across_midnight_by_yesterdays_night_duty() -> None:
    service = daily_window("00:00", "24:00")
    duties = [Span(SUN, 1200, 600), Span(MON, 480, 480)]  # Sun 20:00–Mon 06:00, Mon 08–16
    assert service_gaps(MON, service, duties) == [(360, 480), (960, 1440)]  # 06–08, 16–24
    full = [Span(SUN, 1320, 480), Span(MON, 360, 480), Span(MON, 840, 600)]  # 22–06, 06–14, 14–24
    assert service_gaps(MON, service, full) == []


def test_overlaps_compare_instants_across_days() -> None:
    night = Span(MON, 1200, 480)  # Mon 20:00 – Tue 04:00
    assert overlaps(night, Span(TUE, 180, 120))  # Tue 03:00–05:00
    assert not overlaps(night, Span(TUE, 240, 120))  # starts as the night ends
    assert not overlaps(Span(MON, 540, 180), Span(MON, 720, 60))
    assert overlaps(Span(MON, 540, 180), Span(MON, 600, 30))
    assert overlaps(Span(TUE, 0, 60), night)


# --- settlement authority (seed 000 §5.2: by amount or by % of the order) ---------------------------------


D = Decimal


def test_a_dispute_above_the_amount_limit_goes_to_the_supervisor() -> None:
    check = check_authority(D("60.00"), D("500.00"), D("50.00"), None)
    assert check.exceeds
    assert check.reasons == ("60.00 is above the agent's limit of 50.00",)
    assert not check_authority(D("50.00"), D("500.00"), D("50.00"), None).exceeds  # at the limit: alone


def test_a_dispute_above_the_percentage_of_the_order_goes_to_the_supervisor() -> None:
    check = check_authority(D("31.00"), D("300.00"), None, D("10"))
    assert check.exceeds and check.pct_cap == D("30")
    assert check.reasons == ("31.00 is above 10% of the order's 300.00 (30.00)",)
    within = check_authority(D("30.00"), D("300.00"), None, D("10"))
    assert not within.exceeds and within.reasons == ("at most 10% of the order (30.00)",)


def test_either_limit_exceeded_is_enough() -> None:
    # 40 is within 50 but above 10% of 300
    assert check_authority(D("40.00"), D("300.00"), D("50.00"), D("10")).exceeds
    # 40 is within 10% of 1000 but above 30
    assert check_authority(D("40.00"), D("1000.00"), D("30.00"), D("10")).exceeds
    both = check_authority(D("25.00"), D("1000.00"), D("30.00"), D("10"))
    assert not both.exceeds and both.reasons == ("at most 30.00", "at most 10% of the order (100.00)")


def test_the_percentage_comparison_is_exact_not_rounded() -> None:
    # 10% of 99.99 is 9.999: 10.00 is above it (rounded to the fen the cap would be 10.00)
    check = check_authority(D("10.00"), D("99.99"), None, D("10"))
    assert check.exceeds and check.pct_cap == D("9.999")
    assert check.reasons == ("10.00 is above 10% of the order's 99.99 (9.999)",)
    assert check_authority(D("2.50"), D("12.34"), None, D("12.5")).reasons == (
        "2.50 is above 12.5% of the order's 12.34 (1.5425)",
    )


def test_with_no_limit_set_every_dispute_goes_to_the_supervisor() -> None:
    check = check_authority(D("0.01"), D("10.00"), None, None)
    assert check.exceeds and "every dispute goes to the supervisor" in check.reasons[0]
