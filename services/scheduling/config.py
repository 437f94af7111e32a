"""The scheduling service's own settings: every ``SCHEDULING_*`` variable is read here and nowhere else."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from services.scheduling.rostering import DEFAULT_PEAKS, Rules, parse_peaks
from shared.env import ConfigError, env_decimal, env_flag, env_float, env_int, env_str, load_section

_N = TypeVar("_N", int, float, Decimal)


def _positive(key: str, value: _N) -> _N:
    # every scheduling quantity is a count, a duration or a ratio: zero would divide or plan nothing
    if value <= 0:
        raise ConfigError(f"{key} must be positive, got {value}")
    return value


def _non_negative(key: str, value: int) -> int:
    if value < 0:
        raise ConfigError(f"{key} must be zero or more, got {value}")
    return value


def _fraction(key: str, value: float, *, lower: bool = False, upper: bool = False) -> float:
    """A share: strictly between 0 and 1, or including the ends ``lower``/``upper`` allow."""
    if value < 0 or value > 1 or (value == 0 and not lower) or (value == 1 and not upper):
        raise ConfigError(f"{key} must be a share between 0 and 1, got {value}")
    return value


Peaks = tuple[tuple[int, int], ...]


def _peaks(env: Mapping[str, str], key: str, default: Peaks) -> Peaks:
    raw = env_str(env, key, "")
    if not raw:
        return default
    try:
        return parse_peaks(raw)
    except ValueError as exc:
        raise ConfigError(f"{key} is malformed: {raw!r} ({exc})") from exc


@dataclass(frozen=True)
class SchedulingSettings:
    """Every ``SCHEDULING_*`` environment variable, with the seeds' defaults (docs/services/scheduling.md)."""

    active_ratio: Decimal = Decimal("1.5")
    #: the whole solve's wall time (baseline, model, search), seconds
    solver_time_limit: float = 8.0
    #: CP-SAT search workers: one per core (more only take turns on the same cores)
    solver_workers: int = min(8, os.cpu_count() or 1)
    max_shift_hours: float = 8.0
    min_rest_hours: float = 11.0
    max_consecutive_days: int = 6
    max_weekly_hours: float = 44.0
    max_roster_days: int = 31
    surge_small_pct: Decimal = Decimal("30")
    surge_small_notice_days: int = 3
    surge_large_pct: Decimal = Decimal("60")
    surge_large_notice_days: int = 7
    peaks: Peaks = DEFAULT_PEAKS
    receptions_per_hour: Decimal = Decimal("100")
    #: workforce planning: the whole plan's solver time (shift counts, then the roster), seconds
    plan_time_limit: float = 15.0
    #: service target when the order names none: share answered within the first-response target
    service_level: float = 0.8
    #: seconds, when the order has no first-response target (首响)
    answer_seconds: float = 20.0
    max_occupancy: float = 0.85
    shrinkage: float = 0.3
    #: conversations one chat agent handles at once
    chat_concurrency: int = 3
    #: share of after-sales agents doing triage (前端分流), which part-timers may do
    triage_share: float = 0.3

    #: the day of operation: minutes of grace after a shift's start before an agent is late or a no-show
    clock_tolerance_minutes: int = 15
    #: how early before a shift an agent may clock in, minutes
    early_clock_in_minutes: int = 60
    #: how often the worker looks for no-shows and uncovered shifts, seconds (the board refreshes as often)
    attendance_check_seconds: float = 60.0

    @property
    def rules(self) -> Rules:
        return Rules(
            min_rest_minutes=round(self.min_rest_hours * 60),
            max_consecutive_days=self.max_consecutive_days,
            max_weekly_minutes=round(self.max_weekly_hours * 60),
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SchedulingSettings:
        """Read ``SCHEDULING_*`` values; a malformed one raises ``ConfigError`` (a ValueError) naming it."""
        d = cls()

        def positive(parse: Callable[[Mapping[str, str], str, _N], _N], name: str, default: _N) -> _N:
            key = f"SCHEDULING_{name}"
            return _positive(key, parse(env, key, default))

        return cls(
            active_ratio=positive(env_decimal, "ACTIVE_RATIO", d.active_ratio),
            solver_time_limit=positive(env_float, "SOLVER_TIME_LIMIT", d.solver_time_limit),
            solver_workers=positive(env_int, "SOLVER_WORKERS", d.solver_workers),
            max_shift_hours=positive(env_float, "MAX_SHIFT_HOURS", d.max_shift_hours),
            min_rest_hours=positive(env_float, "MIN_REST_HOURS", d.min_rest_hours),
            max_consecutive_days=positive(env_int, "MAX_CONSECUTIVE_DAYS", d.max_consecutive_days),
            max_weekly_hours=positive(env_float, "MAX_WEEKLY_HOURS", d.max_weekly_hours),
            max_roster_days=positive(env_int, "MAX_ROSTER_DAYS", d.max_roster_days),
            surge_small_pct=positive(env_decimal, "SURGE_SMALL_PCT", d.surge_small_pct),
            surge_small_notice_days=positive(env_int, "SURGE_SMALL_NOTICE_DAYS", d.surge_small_notice_days),
            surge_large_pct=positive(env_decimal, "SURGE_LARGE_PCT", d.surge_large_pct),
            surge_large_notice_days=positive(env_int, "SURGE_LARGE_NOTICE_DAYS", d.surge_large_notice_days),
            peaks=_peaks(env, "SCHEDULING_PEAK_HOURS", d.peaks),
            receptions_per_hour=positive(env_decimal, "RECEPTIONS_PER_HOUR", d.receptions_per_hour),
            plan_time_limit=positive(env_float, "PLAN_TIME_LIMIT", d.plan_time_limit),
            service_level=_fraction(
                "SCHEDULING_SERVICE_LEVEL", env_float(env, "SCHEDULING_SERVICE_LEVEL", d.service_level)
            ),
            answer_seconds=positive(env_float, "ANSWER_SECONDS", d.answer_seconds),
            max_occupancy=_fraction(
                "SCHEDULING_MAX_OCCUPANCY",
                env_float(env, "SCHEDULING_MAX_OCCUPANCY", d.max_occupancy),
                upper=True,
            ),
            shrinkage=_fraction(
                "SCHEDULING_SHRINKAGE", env_float(env, "SCHEDULING_SHRINKAGE", d.shrinkage), lower=True
            ),
            chat_concurrency=positive(env_int, "CHAT_CONCURRENCY", d.chat_concurrency),
            clock_tolerance_minutes=_non_negative(
                "SCHEDULING_CLOCK_TOLERANCE_MINUTES",
                env_int(env, "SCHEDULING_CLOCK_TOLERANCE_MINUTES", d.clock_tolerance_minutes),
            ),
            early_clock_in_minutes=_non_negative(
                "SCHEDULING_EARLY_CLOCK_IN_MINUTES",
                env_int(env, "SCHEDULING_EARLY_CLOCK_IN_MINUTES", d.early_clock_in_minutes),
            ),
            attendance_check_seconds=positive(
                env_float, "ATTENDANCE_CHECK_SECONDS", d.attendance_check_seconds
            ),
            triage_share=_fraction(
                "SCHEDULING_TRIAGE_SHARE",
                env_float(env, "SCHEDULING_TRIAGE_SHARE", d.triage_share),
                lower=True,
                upper=True,
            ),
        )


def load_settings(extra: Mapping[str, str] | None = None) -> SchedulingSettings:
    """The settings of this process (``extra``: an app's ``Settings.extra``; else the environment)."""
    return load_section("scheduling", SchedulingSettings.from_env, extra)


# --- alerts (通知): delivery retries and the SMTP server (services/scheduling/alerts.py, senders.py) -------

#: How often the worker sends the alerts that are due (seconds).
DEFAULT_ALERT_INTERVAL_SECONDS = 15.0


@dataclass(frozen=True)
class AlertSettings:
    """``SCHEDULING_ALERT_*`` (delivery) and ``SCHEDULING_SMTP_*`` (e-mail) settings."""

    interval_seconds: float = DEFAULT_ALERT_INTERVAL_SECONDS
    #: tries per delivery before it is ``failed``
    max_attempts: int = 8
    #: the wait after the first failed try; each later one doubles, up to ``backoff_max_seconds``
    backoff_seconds: float = 30.0
    backoff_max_seconds: float = 1800.0
    #: deliveries one run tries (the rest wait for the next run)
    batch: int = 20
    #: seconds a webhook or the SMTP server may take before the try counts as failed
    timeout_seconds: float = 5.0
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "yunkefu@localhost"
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AlertSettings:
        d = cls()

        def positive(parse: Callable[[Mapping[str, str], str, _N], _N], name: str, default: _N) -> _N:
            key = f"SCHEDULING_{name}"
            return _positive(key, parse(env, key, default))

        backoff = positive(env_float, "ALERT_BACKOFF_SECONDS", d.backoff_seconds)
        backoff_max = positive(env_float, "ALERT_BACKOFF_MAX_SECONDS", d.backoff_max_seconds)
        if backoff_max < backoff:
            raise ConfigError(
                f"SCHEDULING_ALERT_BACKOFF_MAX_SECONDS ({backoff_max:g}) must not be below "
                f"SCHEDULING_ALERT_BACKOFF_SECONDS ({backoff:g})"
            )
        return cls(
            interval_seconds=_alert_interval(env),
            max_attempts=positive(env_int, "ALERT_MAX_ATTEMPTS", d.max_attempts),
            backoff_seconds=backoff,
            backoff_max_seconds=backoff_max,
            batch=positive(env_int, "ALERT_BATCH", d.batch),
            timeout_seconds=positive(env_float, "ALERT_TIMEOUT_SECONDS", d.timeout_seconds),
            smtp_host=env_str(env, "SCHEDULING_SMTP_HOST", d.smtp_host),
            smtp_port=env_int(env, "SCHEDULING_SMTP_PORT", d.smtp_port, minimum=1, maximum=65535),
            smtp_from=env_str(env, "SCHEDULING_SMTP_FROM", d.smtp_from),
            smtp_user=env_str(env, "SCHEDULING_SMTP_USER", d.smtp_user),
            # not stripped of surrounding blanks like the rest: a password may well contain them
            smtp_password=env.get("SCHEDULING_SMTP_PASSWORD", d.smtp_password),
            smtp_starttls=env_flag(env, "SCHEDULING_SMTP_STARTTLS", d.smtp_starttls),
        )


def _alert_interval(env: Mapping[str, str]) -> float:
    key = "SCHEDULING_ALERT_INTERVAL_SECONDS"
    return _positive(key, env_float(env, key, DEFAULT_ALERT_INTERVAL_SECONDS))


def load_alert_settings(extra: Mapping[str, str] | None = None) -> AlertSettings:
    """The alert settings of this process (``extra``: an app's ``Settings.extra``; else the environment)."""
    return load_section("scheduling", AlertSettings.from_env, extra)


def load_alert_interval(extra: Mapping[str, str] | None = None) -> float:
    """Only the delivery job's interval: what ``spec`` reads at import, so that a bad SMTP setting stops
    the app and fails the job's runs without stopping processes that merely import every spec."""
    return load_section("scheduling", _alert_interval, extra)


# --- calendar feeds (日历订阅): the signing key of the feed URLs (services/scheduling/calendar_feed.py) --

#: Accepted only in development (``YUNKEFU_ENV=development``): anyone who knows it could sign a feed URL.
DEV_CALENDAR_SECRET = "dev-only-scheduling-calendar-secret-change-me"
MIN_CALENDAR_SECRET_BYTES = 32


@dataclass(frozen=True)
class CalendarSettings:
    """``SCHEDULING_CALENDAR_SECRET``: the HMAC key of the agents' calendar-feed URLs.

    A secret of this service alone: services hold only the public keys of the bearer tokens, so nothing
    is derived from those. Rotating it retires every feed URL issued so far (agents issue new ones).
    """

    secret: str = DEV_CALENDAR_SECRET

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, development: bool) -> CalendarSettings:
        """``development``: ``shared.config.is_development()``, passed in (this module stays importable by
        the pure domain, and shared.config is not)."""
        # not stripped: a generated secret may well contain blanks at either end
        secret = env.get("SCHEDULING_CALENDAR_SECRET") or DEV_CALENDAR_SECRET
        weak = secret == DEV_CALENDAR_SECRET or len(secret.encode()) < MIN_CALENDAR_SECRET_BYTES
        if weak and not development:
            raise ConfigError(
                "refusing to start scheduling: SCHEDULING_CALENDAR_SECRET must be a random value of at least "
                f"{MIN_CALENDAR_SECRET_BYTES} bytes (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`), or YUNKEFU_ENV=development on a development machine."
            )
        return cls(secret=secret)


def load_calendar_settings(extra: Mapping[str, str] | None = None, *, development: bool) -> CalendarSettings:
    """The feed settings of this process (``extra``: an app's ``Settings.extra``; else the environment)."""
    return load_section(
        "scheduling", lambda env: CalendarSettings.from_env(env, development=development), extra
    )
