"""Business days (工作日) in Asia/Shanghai, with China's public holidays (法定节假日) and make-up days (调休).

Deadlines in this product — a merchant's onboarding SLA, the days a complaint may stay open, the pay
date of the agents — are counted in Chinese working days, not in calendar days and not Monday–Friday:
around National Day (国庆) and Spring Festival (春节) the State Council moves weekend days into the week
(调休上班), so a Sunday can be a working day and a Wednesday a holiday. The State Council publishes next
year's schedule each November, so the sources are combined, first match wins:

1. the operator's TOML file (env var ``WORKDAYS_FILE``), which can list any year before a package knows it::

       # workdays.toml
       holidays = ["2027-01-01", "2027-02-06"]   # 放假
       workdays = ["2027-02-07"]                 # 调休上班 (a weekend day that is worked)

2. an **official** schedule: ``chinese_calendar`` (it knows 2004–2026) or the ``holidays`` package for the
   years it has the State Council's schedule for (with make-up working days);
3. for a year the operator listed anything for but no package knows officially: Monday–Friday besides the
   operator's dates (the file is taken as that year's whole schedule);
4. otherwise a **provisional** schedule: the statutory holidays computed by rule (``holidays``), without
   make-up working days, logged once per year as a warning;
5. Monday–Friday when even that is unavailable (also warned once per year).

:func:`schedule_outlook` tells whether the coming days rest on a provisional or missing schedule; the
services report it in ``/readyz``, in the ``calendar_provisional_days`` metric and in a start-up log line.

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
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import chinese_calendar

try:  # optional at import so that a broken install degrades to the warned Monday–Friday fallback
    import holidays as _holidays_pkg
    from holidays.countries.china import ChinaStaticHolidays as _ChinaStatic
except ImportError:  # pragma: no cover - the dependency is declared; this only guards a broken install
    _holidays_pkg = None
    _ChinaStatic = None

__all__ = [
    "SHANGHAI",
    "WORKDAYS_FILE_ENV",
    "Calendar",
    "ScheduleOutlook",
    "add_workdays",
    "get_default_calendar",
    "is_workday",
    "next_workday_on_or_after",
    "reset_default_calendar",
    "schedule_outlook",
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
#: How far ahead ``/readyz`` and the start-up line look for a provisional or missing schedule.
OUTLOOK_DAYS = 60

#: What a year's working days rest on (see the module docstring).
OPERATOR, OFFICIAL, PROVISIONAL, MISSING = "operator", "official", "provisional", "missing"


def _official_holiday_years() -> frozenset[int]:
    """Years for which the ``holidays`` package carries the State Council's schedule (with 调休 days)."""
    if _ChinaStatic is None:
        return frozenset()
    return frozenset(getattr(_ChinaStatic, "special_public_holidays", {}).keys())


def _chinese_calendar_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


class _HolidaysYear:
    """One year of the ``holidays`` package's China calendar: days off, and weekend days worked."""

    def __init__(self, year: int) -> None:
        cn = _holidays_pkg.China(years=[year])  # type: ignore[union-attr]
        self.off: frozenset[date] = frozenset(d for d in cn if d.year == year)
        self.worked: frozenset[date] = frozenset(d for d in cn.weekend_workdays if d.year == year)

    def is_workday(self, d: date) -> bool:
        if d in self.worked:
            return True
        return d.weekday() < 5 and d not in self.off


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
        self._kinds: dict[int, str] = {}
        self._by_rule: dict[int, _HolidaysYear] = {}
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

    def outlook(self, start: date, days: int = OUTLOOK_DAYS) -> ScheduleOutlook:
        """Which of the ``days`` days from ``start`` rest on a provisional or missing schedule."""
        end = start + timedelta(days=days - 1)
        weak: dict[str, list[date]] = {PROVISIONAL: [], MISSING: []}
        for year in range(start.year, end.year + 1):
            kind = self.schedule_kind(year)
            if kind in weak:
                weak[kind].append(max(start, date(year, 1, 1)))
        return ScheduleOutlook(
            start=start,
            end=end,
            provisional_years=tuple(d.year for d in weak[PROVISIONAL]),
            missing_years=tuple(d.year for d in weak[MISSING]),
            first_weak_day=min((d for ds in weak.values() for d in ds), default=None),
        )

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
        kind = self.schedule_kind(d.year)
        if kind == OFFICIAL:
            if _chinese_calendar_knows(d.year):
                return bool(chinese_calendar.is_workday(d))
            return self._holidays_year(d.year).is_workday(d)
        if kind == PROVISIONAL:
            self._warn(d.year, kind)
            return self._holidays_year(d.year).is_workday(d)
        if kind == MISSING:
            self._warn(d.year, kind)
        return d.weekday() < 5

    def schedule_kind(self, year: int) -> str:
        """What ``year``'s working days rest on: official, operator, provisional or missing."""
        kind = self._kinds.get(year)
        if kind is None:
            if _chinese_calendar_knows(year) or year in _official_holiday_years():
                kind = OFFICIAL
            elif year in self._operator_years:
                kind = OPERATOR
            elif _holidays_pkg is not None:
                kind = PROVISIONAL
            else:
                kind = MISSING
            self._kinds[year] = kind
        return kind

    def _holidays_year(self, year: int) -> _HolidaysYear:
        found = self._by_rule.get(year)
        if found is None:
            found = _HolidaysYear(year)
            self._by_rule[year] = found
        return found

    def _warn(self, year: int, kind: str) -> None:
        with self._lock:
            if year in self._warned_years:
                return
            self._warned_years.add(year)
        what = (
            "only the statutory holidays computed by rule (provisional: no make-up working days 调休, and "
            "the official dates may differ)"
            if kind == PROVISIONAL
            else "no holiday data at all: treating Monday-Friday as working days"
        )
        logger.warning(
            "No official holiday schedule for %d (chinese_calendar %s, holidays %s): using %s. List that "
            "year's holidays and make-up working days (调休) in the TOML file named by %s "
            '(holidays = ["%d-01-01", ...], workdays = [...]) or upgrade the packages.',
            year,
            getattr(chinese_calendar, "__version__", "?"),
            getattr(_holidays_pkg, "__version__", "not installed"),
            what,
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


@dataclass(frozen=True)
class ScheduleOutlook:
    """The coming days' calendar: which years in the window rest on a provisional or missing schedule."""

    start: date
    end: date
    provisional_years: tuple[int, ...]
    missing_years: tuple[int, ...]
    first_weak_day: date | None

    @property
    def ok(self) -> bool:
        return self.first_weak_day is None

    @property
    def weak_days(self) -> int:
        """Days of the window from the first provisional/missing one to its end (0 when all official)."""
        if self.first_weak_day is None:
            return 0
        return (self.end - self.first_weak_day).days + 1

    def message(self) -> str:
        if self.ok:
            return "ok"
        parts = []
        if self.provisional_years:
            years = ", ".join(map(str, self.provisional_years))
            parts.append(f"{years}: provisional (statutory holidays by rule, no make-up working days)")
        if self.missing_years:
            parts.append(f"{', '.join(map(str, self.missing_years))}: missing (Monday-Friday)")
        return (
            f"working days from {self.first_weak_day.isoformat()} rest on a non-official schedule "
            f"({'; '.join(parts)}); list the official holidays and make-up days in {WORKDAYS_FILE_ENV}"
        )


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


def schedule_outlook(today: date | None = None, days: int = OUTLOOK_DAYS) -> ScheduleOutlook:
    """The default calendar's outlook for the ``days`` days from ``today`` (Shanghai)."""
    return get_default_calendar().outlook(today or today_shanghai(), days)


def log_schedule_outlook(today: date | None = None) -> ScheduleOutlook:
    """The start-up line: a warning while the coming days rest on a provisional or missing schedule."""
    outlook = schedule_outlook(today)
    if not outlook.ok:
        logger.warning("holiday calendar: %s", outlook.message())
    return outlook
