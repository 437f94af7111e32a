"""Combining the calendar sources: official schedules, statutory holidays by rule (provisional), overrides.

chinese_calendar knows 2004–2026 only; from 2027-01-01 every holiday would count as a working day. The
``holidays`` package carries the State Council's schedule (with 调休) for the years published, and the
statutory holidays by rule for the others, which the calendar flags as provisional.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path

import pytest

from shared import workdays
from shared.workdays import OFFICIAL, OPERATOR, PROVISIONAL, Calendar
from tests.unit.test_workdays import fresh_default_calendar  # noqa: F401  (autouse: a fresh default calendar)

LOGGER = "shared.workdays"


@pytest.fixture
def without_chinese_calendar(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if chinese_calendar had never heard of any year: the holidays package must carry the day."""
    monkeypatch.setattr(workdays, "_chinese_calendar_knows", lambda year: False)


def test_2025_national_day_from_the_holidays_package_alone(without_chinese_calendar: None) -> None:
    cal = Calendar()
    assert cal.schedule_kind(2025) == OFFICIAL
    for day in range(1, 9):
        assert cal.is_workday(date(2025, 10, day)) is False, f"2025-10-{day:02d} is off"
    assert cal.is_workday(date(2025, 9, 28)) is True  # Sunday, 调休上班
    assert cal.is_workday(date(2025, 10, 11)) is True  # Saturday, 调休上班
    assert cal.is_workday(date(2025, 10, 9)) is True
    assert cal.add_workdays(date(2025, 9, 30), 1) == date(2025, 10, 9)


def test_both_official_sources_agree_on_every_day_of_2025_and_2026(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    package = Calendar()
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(730)]
    from_chinese_calendar = [package.is_workday(d) for d in days]
    monkeypatch.setattr(workdays, "_chinese_calendar_knows", lambda year: False)
    holidays_only = Calendar()
    from_holidays = [holidays_only.is_workday(d) for d in days]
    assert from_holidays == from_chinese_calendar
    assert from_holidays.count(False) > 2 * 104  # weekends plus the holidays, not just weekends


def test_2027_is_provisional_with_its_statutory_holidays(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    cal = Calendar()
    assert cal.schedule_kind(2027) == PROVISIONAL
    assert date(2027, 1, 1).weekday() == 4  # a Friday: a Monday–Friday fallback would call it worked
    assert cal.is_workday(date(2027, 1, 1)) is False
    assert cal.is_workday(date(2027, 10, 1)) is False  # National Day, a Friday
    assert cal.is_workday(date(2027, 2, 8)) is False  # Spring Festival, a Monday
    assert cal.is_workday(date(2027, 1, 4)) is True
    # no make-up working days are invented: every weekend stays off
    year = [date(2027, 1, 1) + timedelta(days=i) for i in range(365)]
    assert not any(cal.is_workday(d) for d in year if d.weekday() >= 5)
    warned = [r for r in caplog.records if r.name == LOGGER and "2027" in r.getMessage()]
    assert len(warned) == 1
    assert "provisional" in warned[0].getMessage() and "WORKDAYS_FILE" in warned[0].getMessage()


def test_the_operator_file_still_overrides_and_owns_its_year(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    f = tmp_path / "w.toml"
    # the official 2027 schedule as an operator would type it (here: a made-up one)
    f.write_text('holidays = ["2027-01-01", "2027-02-09"]\nworkdays = ["2027-02-20"]\n', encoding="utf-8")
    cal = Calendar.from_file(f)
    assert cal.schedule_kind(2027) == OPERATOR
    assert cal.is_workday(date(2027, 2, 9)) is False
    assert cal.is_workday(date(2027, 2, 20)) is True  # a Saturday worked
    assert cal.is_workday(date(2027, 2, 10)) is True  # the rule's guess is not applied to an operator year
    assert cal.outlook(date(2026, 12, 2)).ok
    assert [r for r in caplog.records if r.name == LOGGER] == []


def test_outlook_warns_while_the_next_60_days_rest_on_a_provisional_schedule() -> None:
    cal = Calendar()
    quiet = cal.outlook(date(2026, 6, 1))
    assert quiet.ok and quiet.weak_days == 0 and quiet.message() == "ok"

    soon = cal.outlook(date(2026, 12, 2))
    assert not soon.ok
    assert soon.provisional_years == (2027,)
    assert soon.first_weak_day == date(2027, 1, 1)
    assert soon.weak_days == (date(2027, 1, 30) - date(2027, 1, 1)).days + 1
    assert "2027" in soon.message() and "provisional" in soon.message()


def test_missing_holidays_package_falls_back_to_monday_to_friday(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workdays, "_holidays_pkg", None)
    monkeypatch.setattr(workdays, "_ChinaStatic", None)
    cal = Calendar()
    assert cal.schedule_kind(2027) == workdays.MISSING
    assert cal.is_workday(date(2027, 1, 1)) is True
    outlook = cal.outlook(date(2026, 12, 2))
    assert outlook.missing_years == (2027,) and "missing" in outlook.message()


def test_start_up_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    assert workdays.log_schedule_outlook(date(2026, 6, 1)).ok
    assert [r for r in caplog.records if r.name == LOGGER] == []
    workdays.log_schedule_outlook(date(2026, 12, 2))
    assert any("holiday calendar" in r.getMessage() for r in caplog.records)
