"""Business days (工作日) in Asia/Shanghai, with China's public holidays (法定节假日) and make-up days (调休).

Deadlines in this product — a merchant's onboarding SLA, the days a complaint may stay open, the pay
date of the agents — are counted in Chinese working days, not in calendar days and not Monday–Friday:
around National Day (国庆) and Spring Festival (春节) the State Council moves weekend days into the week
(调休上班), so a Sunday can be a working day and a Wednesday a holiday. The official calendar comes from
the ``chinese_calendar`` package, which is published a year at a time; for a year it does not know yet,
we fall back to Monday–Friday and say so once in the log, and the operator can list the missing days in
a TOML file (env var ``WORKDAYS_FILE``) without waiting for a package release::

    # workdays.toml
    holidays = ["2027-01-01", "2027-02-06"]   # 放假
    workdays = ["2027-02-07"]                 # 调休上班 (a weekend day that is worked)

Overrides win over both the package and the fallback. A year with any date in the file counts as covered
by the operator, so no fallback warning is logged for it.

The module-level functions use a default :class:`Calendar` built lazily from ``WORKDAYS_FILE``; tests
swap it with :func:`set_default_calendar` / :func:`reset_default_calendar`.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import tomllib
import zoneinfo
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path

import chinese_calendar

__all__ = [
    "SHANGHAI",
    "WORKDAYS_FILE_ENV",
    "Calendar",
    "add_workdays",
    "get_default_calendar",
    "is_workday",
    "next_workday_on_or_after",
    "reset_default_calendar",
    "set_default_calendar",
    "today_shanghai",
    "workdays_between",
]

logger = logging.getLogger(__name__)

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
WORKDAYS_FILE_ENV = "WORKDAYS_FILE"

_ONE_DAY = timedelta(days=1)
# date.fromisoformat also accepts "20270101" and "2027-W01-1"; an operator file must say YYYY-MM-DD.
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_FILE_KEYS = ("holidays", "workdays")


def today_shanghai(now: datetime | None = None) -> date:
    """Today's date in Shanghai (北京时间), whatever the server's time zone.

    Servers run in UTC; between 16:00 and 24:00 UTC it is already tomorrow in China, and a deadline
    computed from the UTC date would be a day short. ``now`` must be time-zone aware (a naive datetime
    says nothing about which day it is in Shanghai, so it is refused with ValueError).
    """
    if now is None:
        return datetime.now(SHANGHAI).date()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"today_shanghai needs a time-zone-aware datetime, got naive {now.isoformat()}")
    return now.astimezone(SHANGHAI).date()


class Calendar:
    """Decides which dates are working days: operator overrides, then chinese_calendar, then Mon–Fri.

    Lookups are cached per date (deadline code calls :meth:`add_workdays` in loops), and the fallback
    warning is logged once per year per calendar. Instances are safe to share between threads.
    """

    def __init__(
        self,
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
        *,
        source: str | None = None,
    ) -> None:
        """``holidays`` are dates off (放假), ``workdays`` are dates worked (调休上班); ``source`` names
        where they came from, for error and log messages."""
        self.source = source
        self._holidays: frozenset[date] = frozenset(holidays)
        self._workdays: frozenset[date] = frozenset(workdays)
        both = self._holidays & self._workdays
        if both:
            listed = ", ".join(sorted(d.isoformat() for d in both))
            where = f"{source}: " if source else ""
            raise ValueError(f"{where}date(s) listed both as holiday and as workday: {listed}")
        self._operator_years: frozenset[int] = frozenset(d.year for d in self._holidays | self._workdays)
        self._cache: dict[date, bool] = {}
        self._warned_years: set[int] = set()
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Calendar:
        """Reads operator overrides from a TOML file with ``holidays`` and ``workdays`` lists.

        Dates may be strings ("2027-01-01") or TOML dates (2027-01-01 unquoted). Anything else — bad
        TOML, an unknown key (a typo such as ``holiday`` would otherwise be silently ignored), a date
        that is not YYYY-MM-DD, a date both holiday and workday — raises ValueError naming the file and
        the entry, so that a wrong file stops the service at start-up instead of shifting deadlines.
        """
        p = Path(path)
        try:
            with p.open("rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise ValueError(f"{p}: cannot read the workdays file: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{p}: not valid TOML: {exc}") from exc

        unknown = sorted(set(data) - set(_FILE_KEYS))
        if unknown:
            raise ValueError(f"{p}: unknown key(s) {', '.join(unknown)}; only 'holidays' and 'workdays'")
        parsed = {key: _parse_dates(p, key, data.get(key, [])) for key in _FILE_KEYS}
        return cls(parsed["holidays"], parsed["workdays"], source=str(p))

    @property
    def operator_years(self) -> frozenset[int]:
        """Years with at least one operator override: no fallback warning is logged for them."""
        return self._operator_years

    def is_workday(self, d: date) -> bool:
        """True when ``d`` is a working day in mainland China (weekends that are 调休 count as worked)."""
        if isinstance(d, datetime):  # a datetime is a date subclass; its date in *which* zone?
            raise TypeError("is_workday takes a date; convert datetimes with today_shanghai() first")
        cached = self._cache.get(d)
        if cached is None:
            cached = self._lookup(d)
            self._cache[d] = cached
        return cached

    def _lookup(self, d: date) -> bool:
        if d in self._holidays:
            return False
        if d in self._workdays:
            return True
        try:
            return bool(chinese_calendar.is_workday(d))
        except NotImplementedError:
            self._warn_fallback(d.year)
            return d.weekday() < 5

    def _warn_fallback(self, year: int) -> None:
        if year in self._operator_years:
            return
        with self._lock:
            if year in self._warned_years:
                return
            self._warned_years.add(year)
        logger.warning(
            "chinese_calendar %s has no holiday data for %d: treating Monday-Friday as working days in %d. "
            "Upgrade chinese_calendar, or list that year's holidays and make-up working days (调休) in "
            'the TOML file named by %s (holidays = ["%d-01-01", ...], workdays = [...]).',
            getattr(chinese_calendar, "__version__", "?"),
            year,
            year,
            WORKDAYS_FILE_ENV,
            year,
        )

    def add_workdays(self, d: date, n: int) -> date:
        """The ``n``-th working day strictly after ``d`` (``n`` > 0) or strictly before it (``n`` < 0).

        ``n == 0`` returns ``d`` unchanged, even when ``d`` is not a working day: "zero days later" is
        today; use :meth:`next_workday_on_or_after` to move onto a working day.
        """
        step = _ONE_DAY if n > 0 else -_ONE_DAY
        remaining = abs(n)
        current = d
        while remaining:
            current += step
            if self.is_workday(current):
                remaining -= 1
        return current

    def workdays_between(self, start: date, end: date) -> int:
        """Number of working days in the half-open interval (start, end] — start excluded, end included.

        This is the inverse of :meth:`add_workdays` for n > 0: ``add_workdays(d, n) == e`` implies
        ``workdays_between(d, e) == n`` ("the deadline is n working days after the order"). When
        ``end < start`` the result is ``-workdays_between(end, start)`` (antisymmetric), and 0 when equal.
        """
        if end < start:
            return -self.workdays_between(end, start)
        count = 0
        current = start
        while current < end:
            current += _ONE_DAY
            if self.is_workday(current):
                count += 1
        return count

    def next_workday_on_or_after(self, d: date) -> date:
        """``d`` itself when it is a working day, otherwise the first working day after it (e.g. an order
        placed during 国庆 starts counting on the first day back)."""
        return d if self.is_workday(d) else self.add_workdays(d, 1)


def _parse_dates(path: Path, key: str, raw: object) -> list[date]:
    if not isinstance(raw, list):
        raise ValueError(f"{path}: '{key}' must be a list of dates (YYYY-MM-DD), got {raw!r}")
    out: list[date] = []
    for i, item in enumerate(raw):
        if isinstance(item, date) and not isinstance(item, datetime):
            out.append(item)
            continue
        if isinstance(item, str) and _ISO_DATE.fullmatch(item.strip()):
            try:
                out.append(date.fromisoformat(item.strip()))
                continue
            except ValueError:
                pass
        raise ValueError(f"{path}: {key}[{i}] = {item!r} is not an ISO date (YYYY-MM-DD)")
    return out


_default: Calendar | None = None
_default_lock = threading.Lock()


def get_default_calendar() -> Calendar:
    """The process-wide calendar: overrides from ``$WORKDAYS_FILE`` if set, read on first use."""
    global _default
    cal = _default
    if cal is None:
        with _default_lock:
            cal = _default
            if cal is None:
                path = os.environ.get(WORKDAYS_FILE_ENV, "").strip()
                cal = Calendar.from_file(path) if path else Calendar()
                _default = cal
    return cal


def set_default_calendar(cal: Calendar) -> None:
    """Replaces the process-wide calendar (tests; or a service that loads its overrides elsewhere)."""
    global _default
    with _default_lock:
        _default = cal


def reset_default_calendar() -> None:
    """Forgets the process-wide calendar, so that the next call re-reads ``$WORKDAYS_FILE``."""
    global _default
    with _default_lock:
        _default = None


def is_workday(d: date) -> bool:
    """See :meth:`Calendar.is_workday` (default calendar)."""
    return get_default_calendar().is_workday(d)


def add_workdays(d: date, n: int) -> date:
    """See :meth:`Calendar.add_workdays` (default calendar)."""
    return get_default_calendar().add_workdays(d, n)


def workdays_between(start: date, end: date) -> int:
    """Working days in (start, end]; negative when end < start. See :meth:`Calendar.workdays_between`."""
    return get_default_calendar().workdays_between(start, end)


def next_workday_on_or_after(d: date) -> date:
    """See :meth:`Calendar.next_workday_on_or_after` (default calendar)."""
    return get_default_calendar().next_workday_on_or_after(d)
