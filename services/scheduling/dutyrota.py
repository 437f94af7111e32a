"""The on-duty desk's pure arithmetic (值班): daily windows, the service minutes no duty covers, and an
agent's settlement authority (客服处理权限, seed 000 §5.2).

A time of day is minutes from the midnight of a business day (Asia/Shanghai). A window that runs past
midnight simply goes beyond 1440, so a duty shift of Monday 20:00–02:00 is ``(1200, 1560)`` from Monday
and ``(-240, 120)`` from Tuesday: intervals on different days compare by shifting one of them by whole
days. No SQL and no Flask here; ``duty.py`` loads the rows and calls these.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

DAY_MINUTES = 1440
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")

#: a half-open interval of minutes ``[start, end)`` from some day's midnight
Interval = tuple[int, int]


def parse_hhmm(text: str) -> int:
    """``"08:30"`` → 510; ``"24:00"`` → 1440 (the end of the day). Anything else is a ValueError."""
    if not _HHMM.match(text):
        raise ValueError(f"{text!r} is not a time of day HH:MM (00:00 to 24:00)")
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def hhmm(minute: int) -> str:
    """The time of day of a minute offset (past midnight wraps: 1560 → ``"02:00"``)."""
    minute %= DAY_MINUTES
    return f"{minute // 60:02d}:{minute % 60:02d}"


def end_hhmm(start_minute: int, minutes: int) -> str:
    """The end of a window as a time of day; a window ending exactly at midnight ends at ``"24:00"``."""
    end = start_minute + minutes
    return "24:00" if end == DAY_MINUTES else hhmm(end)


def daily_window(start: str, end: str) -> tuple[int, int]:
    """``(start_minute, minutes)`` of a window from ``start`` to ``end`` (HH:MM).

    ``end`` after ``start`` is the same day; ``end`` ≤ ``start`` runs past midnight into the next day
    (20:00–02:00 is six hours), so ``end == start`` is a whole day, as is ``00:00``–``24:00``. A window
    starting at ``24:00`` is a ValueError (it is the next day's ``00:00``).
    """
    first, last = parse_hhmm(start), parse_hhmm(end)
    if first == DAY_MINUTES:
        raise ValueError("a window cannot start at 24:00; start at 00:00 of the next day")
    if last > first:
        return first, last - first
    return first, last + DAY_MINUTES - first


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of intervals, as disjoint intervals in order (touching ones are joined)."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def subtract(base: Interval, cuts: Iterable[Interval]) -> list[Interval]:
    """The parts of ``base`` that none of ``cuts`` covers."""
    left: list[Interval] = []
    cursor, stop = base
    for start, end in merge(cuts):
        if end <= cursor:
            continue
        if start >= stop:
            break
        if start > cursor:
            left.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < stop:
        left.append((cursor, stop))
    return left


@dataclass(frozen=True)
class Span:
    """A duty shift's time: it starts on ``day`` at ``start_minute`` and lasts ``minutes``."""

    day: dt.date
    start_minute: int
    minutes: int

    def on(self, origin: dt.date) -> Interval:
        """This span as minutes from ``origin``'s midnight."""
        offset = (self.day - origin).days * DAY_MINUTES + self.start_minute
        return offset, offset + self.minutes


def overlaps(a: Span, b: Span) -> bool:
    """Whether two spans share at least one minute (one ending as the other starts does not)."""
    first, second = a.on(a.day), b.on(a.day)
    return first[0] < second[1] and second[0] < first[1]


def service_gaps(day: dt.date, service: tuple[int, int], duties: Iterable[Span]) -> list[Interval]:
    """The minutes of ``day``'s service window ``(start_minute, minutes)`` that no duty span covers, from
    ``day``'s midnight (a gap in a past-midnight window may end beyond 1440). Spans of other days count
    where they reach into the window (yesterday's night duty covers this morning)."""
    start, length = service
    return subtract((start, start + length), (s.on(day) for s in duties))


def gap_minutes(gaps: Iterable[Interval]) -> int:
    return sum(end - start for start, end in gaps)


# --- settlement authority (客服处理权限) --------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorityCheck:
    """Whether a customer dispute goes to the supervisor, and why (or why the agent settles it alone)."""

    exceeds: bool
    #: each reason in words, for the refusal's detail and the help request's record
    reasons: tuple[str, ...]
    #: the percentage limit as an amount of this order (``None`` when no percentage is set)
    pct_cap: Decimal | None


def _money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), "f")


def cap_text(value: Decimal) -> str:
    """A percentage of an order in fen, or exactly when it falls between fen (10% of 99.99 is 9.999:
    printing 10.00 would hide why 10.00 is above it)."""
    fen = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return _money(value) if fen == value else format(value.normalize(), "f")


def check_authority(
    amount: Decimal,
    order_amount: Decimal,
    limit_amount: Decimal | None,
    limit_pct: Decimal | None,
) -> AuthorityCheck:
    """Seed 000 §5.2: during a promotion an agent may settle a dispute up to an amount, or up to a
    percentage of the order; above either the supervisor (主管/店长) decides. A dispute exceeds the
    authority when ``amount > limit_amount`` or ``amount > limit_pct % × order_amount``; a limit that is
    not set does not apply, and with neither set every dispute goes to the supervisor. The comparison is
    exact (10.00 on a 99.99 order with a 10 % limit exceeds 9.999)."""
    if limit_amount is None and limit_pct is None:
        return AuthorityCheck(
            True,
            ("no settlement authority is set for this project, so every dispute goes to the supervisor",),
            None,
        )
    reasons: list[str] = []
    within: list[str] = []
    if limit_amount is not None:
        if amount > limit_amount:
            reasons.append(f"{_money(amount)} is above the agent's limit of {_money(limit_amount)}")
        else:
            within.append(f"at most {_money(limit_amount)}")
    cap: Decimal | None = None
    if limit_pct is not None:
        cap = order_amount * limit_pct / Decimal(100)
        pct = format(limit_pct.normalize(), "f")
        if amount > cap:
            reasons.append(
                f"{_money(amount)} is above {pct}% of the order's {_money(order_amount)} ({cap_text(cap)})"
            )
        else:
            within.append(f"at most {pct}% of the order ({cap_text(cap)})")
    if reasons:
        return AuthorityCheck(True, tuple(reasons), cap)
    return AuthorityCheck(False, tuple(within), cap)
