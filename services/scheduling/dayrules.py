"""The day of operation as pure rules: when an agent can work, what a clock-in makes of a shift, adherence.

No Flask, no SQL. Times are minutes after a date's 00:00 in Asia/Shanghai; a shift belongs to the date it
starts on and may run past midnight, so its availability is checked on both dates it touches.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shared.workdays import SHANGHAI

DAY_MINUTES = 24 * 60
Window = tuple[int, int]

#: whole-day reasons for a leave request (请假)
LEAVE_KINDS = ("sick", "personal", "annual", "other")
ATTENDANCE_STATUSES = ("on_duty", "present", "late", "early_leave", "late_early_leave", "no_show")


def merge_windows(windows: Iterable[Window]) -> tuple[Window, ...]:
    """Sorted windows, with overlapping or touching ones joined (08:00-12:00 + 12:00-18:00 = 08:00-18:00)."""
    out: list[list[int]] = []
    for start, end in sorted(windows):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return tuple((s, e) for s, e in out)


def window_problems(windows: Sequence[Window]) -> list[str]:
    """Why a day's windows are malformed: each within 00:00–24:00, ending after it starts."""
    problems = []
    for start, end in windows:
        if not (0 <= start < DAY_MINUTES and 0 < end <= DAY_MINUTES):
            problems.append(f"{hhmm(start)}-{hhmm(end)} is not within 00:00-24:00")
        elif end <= start:
            problems.append(
                f"{hhmm(start)}-{hhmm(end)} ends before it starts; split a window past midnight in two "
                "(22:00-24:00 and 00:00-06:00 the next day)"
            )
    return problems


def instant(day: dt.date, minute: int) -> dt.datetime:
    """``minute`` minutes after ``day``'s midnight in Beijing, as a UTC instant (Shanghai keeps no DST)."""
    return (dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI) + dt.timedelta(minutes=minute)).astimezone(
        dt.UTC
    )


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@dataclass(frozen=True)
class Availability:
    """When an agent can work (可上班时间): a weekly pattern, dated exceptions and approved leave.

    ``weekly`` holds (weekday, start, end) windows, Monday = 0; a weekday without a window is a day off.
    An exception replaces the pattern on its date (no window: not available that day). A date on
    approved leave (请假) is never available. With no weekly pattern at all the agent is available every
    day but for exceptions and leave.
    """

    weekly: tuple[tuple[int, int, int], ...] = ()
    exceptions: tuple[tuple[dt.date, tuple[Window, ...]], ...] = ()
    leave: frozenset[dt.date] = frozenset()

    def windows(self, day: dt.date) -> tuple[Window, ...]:
        for date, windows in self.exceptions:
            if date == day:
                return merge_windows(windows)
        if not self.weekly:
            return ((0, DAY_MINUTES),)
        return merge_windows((s, e) for w, s, e in self.weekly if w == day.weekday())

    def refusal(self, day: dt.date, start_minute: int, minutes: int) -> str | None:
        """Why the agent cannot work ``minutes`` from ``start_minute`` on ``day``; None when it can."""
        if day in self.leave:
            return f"on approved leave on {day.isoformat()}"
        end = start_minute + minutes
        segments = [(day, start_minute, min(end, DAY_MINUTES))]
        if end > DAY_MINUTES:
            segments.append((day + dt.timedelta(days=1), 0, end - DAY_MINUTES))
        for date, seg_start, seg_end in segments:
            if not any(s <= seg_start and seg_end <= e for s, e in self.windows(date)):
                have = ", ".join(f"{hhmm(s)}-{hhmm(e)}" for s, e in self.windows(date)) or "none"
                return (
                    f"not available {hhmm(seg_start)}-{hhmm(seg_end)} on {date.isoformat()} "
                    f"(available: {have})"
                )
        return None

    def allows(self, day: dt.date, start_minute: int, minutes: int) -> bool:
        return self.refusal(day, start_minute, minutes) is None


# --- attendance (考勤) --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShiftTimes:
    """A rostered shift as two instants."""

    starts_at: dt.datetime
    ends_at: dt.datetime


@dataclass(frozen=True)
class Verdict:
    status: str
    late_minutes: int
    early_minutes: int
    worked_minutes: int


def _minutes(delta: dt.timedelta) -> int:
    return max(0, math.floor(delta.total_seconds() / 60))


def judge(
    shift: ShiftTimes,
    clock_in: dt.datetime | None,
    clock_out: dt.datetime | None,
    tolerance_minutes: int,
    now: dt.datetime,
) -> Verdict:
    """What the clock says of a shift: late past the tolerance, early leave, no-show, or still on duty.

    Lateness within the tolerance is not late (the tolerance is the grace a project allows); past it the
    whole delay counts. Worked time is the part of the shift between clock-in and clock-out (or now, while
    on duty): time before the start or after the end is not paid by default.
    """
    if clock_in is None:
        overdue = now > shift.starts_at + dt.timedelta(minutes=tolerance_minutes)
        return Verdict("no_show" if overdue else "on_duty", 0, 0, 0)
    late = _minutes(clock_in - shift.starts_at)
    late = late if late > tolerance_minutes else 0
    end = clock_out if clock_out is not None else min(now, shift.ends_at)
    early = _minutes(shift.ends_at - clock_out) if clock_out is not None else 0
    early = early if early > tolerance_minutes else 0
    worked = _minutes(min(end, shift.ends_at) - max(clock_in, shift.starts_at))
    if clock_out is None:
        status = "late" if late else "on_duty"
    elif late and early:
        status = "late_early_leave"
    elif late:
        status = "late"
    elif early:
        status = "early_leave"
    else:
        status = "present"
    return Verdict(status, late, early, worked)


def adherence(scheduled_minutes: int, worked_minutes: int) -> float | None:
    """Schedule adherence (在岗率): the share of the scheduled time so far the agent was clocked in."""
    if scheduled_minutes <= 0:
        return None
    return round(min(worked_minutes, scheduled_minutes) / scheduled_minutes, 4)


def hours_of(minutes: int) -> str:
    """Worked minutes as timesheet hours, to a quarter of an hour below (a started quarter is not paid)."""
    quarters = minutes // 15
    return f"{quarters * 0.25:.2f}"
