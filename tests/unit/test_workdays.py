"""Working days with China's holidays and 调休, checked on the real 2025 National Day calendar.

Official 2025 arrangement (国务院办公厅): 10-01..10-08 off; Sunday 09-28 and Saturday 10-11 worked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared import workdays
from shared.workdays import (
    Calendar,
    add_workdays,
    is_workday,
    next_workday_on_or_after,
    today_shanghai,
    workdays_between,
)

LOGGER = "shared.workdays"


@pytest.fixture(autouse=True)
def fresh_default_calendar(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with a default calendar built without overrides and with no warnings logged yet."""
    monkeypatch.delenv(workdays.WORKDAYS_FILE_ENV, raising=False)
    workdays.reset_default_calendar()
    yield
    workdays.reset_default_calendar()


def fallback_warnings(caplog: pytest.LogCaptureFixture, year: int) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == LOGGER and r.levelno == logging.WARNING and str(year) in r.getMessage()
    ]


# --- the 2025 National Day holiday ---------------------------------------------------------------------


@pytest.mark.parametrize("day", range(1, 9))
def test_national_day_2025_is_not_a_workday(day: int) -> None:
    assert is_workday(date(2025, 10, day)) is False


def test_make_up_weekend_days_are_workdays() -> None:
    assert date(2025, 9, 28).weekday() == 6  # Sunday
    assert date(2025, 10, 11).weekday() == 5  # Saturday
    assert is_workday(date(2025, 9, 28)) is True
    assert is_workday(date(2025, 10, 11)) is True


def test_ordinary_weekend_and_weekday() -> None:
    assert is_workday(date(2025, 9, 27)) is False  # Saturday, not a make-up day
    assert is_workday(date(2025, 10, 12)) is False  # Sunday
    assert is_workday(date(2025, 10, 9)) is True  # Thursday, first day back


def test_add_zero_returns_the_date_even_on_a_holiday() -> None:
    assert add_workdays(date(2025, 10, 3), 0) == date(2025, 10, 3)


def test_add_one_across_national_day() -> None:
    assert add_workdays(date(2025, 9, 30), 1) == date(2025, 10, 9)


def test_add_from_friday_counts_the_make_up_sunday() -> None:
    # Fri 09-26 → Sat 27 off, Sun 28 worked (1), Mon 29 (2), Tue 30 (3); then 10-01..08 off, Thu 10-09 (4).
    start = date(2025, 9, 26)
    assert add_workdays(start, 1) == date(2025, 9, 28)
    assert add_workdays(start, 3) == date(2025, 9, 30)
    assert add_workdays(start, 4) == date(2025, 10, 9)
    assert add_workdays(start, 6) == date(2025, 10, 11)  # Thu 9, Fri 10, Sat 11 (调休)
    assert add_workdays(start, 7) == date(2025, 10, 13)


def test_add_from_inside_the_holiday() -> None:
    assert add_workdays(date(2025, 10, 4), 1) == date(2025, 10, 9)


def test_add_backwards_across_national_day() -> None:
    assert add_workdays(date(2025, 10, 9), -1) == date(2025, 9, 30)
    assert add_workdays(date(2025, 10, 9), -3) == date(2025, 9, 28)
    assert add_workdays(date(2025, 10, 9), -4) == date(2025, 9, 26)
    assert add_workdays(date(2025, 10, 13), -2) == date(2025, 10, 10)  # Sun 12 off, Sat 11 (调休) counts
    assert add_workdays(date(2025, 10, 5), -1) == date(2025, 9, 30)


def test_workdays_between_over_national_day() -> None:
    assert workdays_between(date(2025, 9, 30), date(2025, 10, 9)) == 1
    assert workdays_between(date(2025, 9, 26), date(2025, 10, 9)) == 4
    # (09-26, 10-12]: 28, 29, 30, 10-09, 10, 11
    assert workdays_between(date(2025, 9, 26), date(2025, 10, 12)) == 6
    assert workdays_between(date(2025, 10, 1), date(2025, 10, 8)) == 0


def test_workdays_between_is_half_open_and_antisymmetric() -> None:
    d = date(2025, 10, 9)
    assert workdays_between(d, d) == 0
    assert workdays_between(d - timedelta(days=1), d) == 1  # end included
    assert workdays_between(d, d + timedelta(days=1)) == 1  # start excluded: only Fri 10-10
    assert workdays_between(date(2025, 10, 9), date(2025, 9, 26)) == -4


def test_next_workday_on_or_after() -> None:
    assert next_workday_on_or_after(date(2025, 10, 1)) == date(2025, 10, 9)
    assert next_workday_on_or_after(date(2025, 9, 28)) == date(2025, 9, 28)
    assert next_workday_on_or_after(date(2025, 9, 27)) == date(2025, 9, 28)


def test_datetime_is_refused() -> None:
    with pytest.raises(TypeError):
        is_workday(datetime(2025, 10, 9, 12, tzinfo=UTC))


# --- today in Shanghai ---------------------------------------------------------------------------------


def test_today_shanghai_is_ahead_of_utc_in_the_evening() -> None:
    assert today_shanghai(datetime(2026, 11, 26, 17, 0, tzinfo=UTC)) == date(2026, 11, 27)
    assert today_shanghai(datetime(2026, 11, 26, 15, 59, tzinfo=UTC)) == date(2026, 11, 26)


def test_today_shanghai_refuses_naive_datetime() -> None:
    with pytest.raises(ValueError, match="aware"):
        today_shanghai(datetime(2026, 11, 26, 17, 0))


def test_today_shanghai_default_is_a_date() -> None:
    assert isinstance(today_shanghai(), date)


# --- years chinese_calendar does not cover -------------------------------------------------------------


def test_uncovered_year_falls_back_to_monday_to_friday(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    assert date(2031, 3, 3).weekday() == 0
    assert date(2031, 3, 8).weekday() == 5
    for _ in range(50):
        assert is_workday(date(2031, 3, 3)) is True
        assert is_workday(date(2031, 3, 8)) is False
    add_workdays(date(2031, 1, 1), 200)  # hundreds of other 2031 dates
    assert add_workdays(date(2031, 3, 7), 1) == date(2031, 3, 10)  # Fri → Mon
    warnings = fallback_warnings(caplog, 2031)
    assert len(warnings) == 1
    assert "WORKDAYS_FILE" in warnings[0].getMessage()


def test_warning_is_once_per_year_not_once_overall(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    is_workday(date(2031, 3, 3))
    is_workday(date(2032, 3, 3))
    is_workday(date(2031, 3, 4))
    is_workday(date(2032, 3, 4))
    assert len(fallback_warnings(caplog, 2031)) == 1
    assert len(fallback_warnings(caplog, 2032)) == 1


def test_covered_year_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    add_workdays(date(2025, 1, 1), 250)
    assert [r for r in caplog.records if r.name == LOGGER] == []


# --- operator overrides --------------------------------------------------------------------------------


def test_overrides_file_from_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    f = tmp_path / "workdays.toml"
    f.write_text('holidays = ["2031-01-01"]\nworkdays = ["2031-01-04"]\n', encoding="utf-8")
    monkeypatch.setenv(workdays.WORKDAYS_FILE_ENV, str(f))
    workdays.reset_default_calendar()

    assert date(2031, 1, 1).weekday() == 2  # a Wednesday, off by override
    assert date(2031, 1, 4).weekday() == 5  # a Saturday, worked by override
    assert is_workday(date(2031, 1, 1)) is False
    assert is_workday(date(2031, 1, 4)) is True
    assert is_workday(date(2031, 3, 3)) is True  # rest of the year: Monday–Friday
    assert is_workday(date(2031, 3, 8)) is False
    assert add_workdays(date(2030, 12, 31), 1) == date(2031, 1, 2)
    assert add_workdays(date(2031, 1, 3), 1) == date(2031, 1, 4)
    assert fallback_warnings(caplog, 2031) == []


def test_overrides_win_over_the_package(tmp_path: Path) -> None:
    f = tmp_path / "w.toml"
    f.write_text("holidays = [2025-10-09]\nworkdays = [2025-10-04]\n", encoding="utf-8")  # TOML dates
    cal = Calendar.from_file(f)
    workdays.set_default_calendar(cal)
    assert is_workday(date(2025, 10, 9)) is False
    assert is_workday(date(2025, 10, 4)) is True
    assert is_workday(date(2025, 10, 10)) is True  # untouched dates still come from chinese_calendar


def test_calendar_constructed_directly() -> None:
    cal = Calendar(holidays=[date(2031, 1, 1)], workdays=[date(2031, 1, 4)])
    assert cal.is_workday(date(2031, 1, 1)) is False
    assert cal.is_workday(date(2031, 1, 4)) is True
    assert cal.operator_years == frozenset({2031})
    with pytest.raises(ValueError, match="2031-01-01"):
        Calendar(holidays=[date(2031, 1, 1)], workdays=[date(2031, 1, 1)])


@pytest.mark.parametrize(
    ("content", "bad"),
    [
        ('holidays = ["2031-01-01"\n', "TOML"),
        ('holidays = ["2031-13-01"]\n', "2031-13-01"),
        ('holidays = ["20310101"]\n', "20310101"),
        ('workdays = ["next monday"]\n', "next monday"),
        ('holidays = ["2031-01-01"]\nworkdays = ["2031-01-01"]\n', "2031-01-01"),
        ('holidays = "2031-01-01"\n', "holidays"),
        ('holiday = ["2031-01-01"]\n', "holiday"),
        ("workdays = [2031-01-04T09:00:00]\n", "workdays[0]"),
    ],
)
def test_invalid_file_raises_value_error_naming_file_and_entry(
    tmp_path: Path, content: str, bad: str
) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError) as excinfo:
        Calendar.from_file(f)
    assert str(f) in str(excinfo.value)
    assert bad in str(excinfo.value)


def test_missing_file_named_in_env_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nope.toml"
    monkeypatch.setenv(workdays.WORKDAYS_FILE_ENV, str(missing))
    workdays.reset_default_calendar()
    with pytest.raises(ValueError, match=r"nope\.toml"):
        is_workday(date(2025, 10, 9))


# --- properties ----------------------------------------------------------------------------------------

_PROPERTY_CALENDAR = Calendar()


@settings(max_examples=300, deadline=None)
@given(d=st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)), n=st.integers(0, 30))
def test_add_and_between_are_inverse(d: date, n: int) -> None:
    cal = _PROPERTY_CALENDAR
    e = cal.add_workdays(d, n)
    assert cal.workdays_between(d, e) == n
    assert cal.workdays_between(e, d) == -n
    back = cal.add_workdays(e, -n)
    assert back <= d
    if cal.is_workday(d):
        assert back == d
    if n > 0:
        assert cal.is_workday(e)
