"""The complaints service's own settings (``COMPLAINTS_*``); every one is read here and nowhere else.

A bad value raises ``ConfigError`` (a ``ValueError``) naming the key, so the app refuses to start rather
than fail requests later. See docs/services/complaints.md for what each setting means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from services.complaints.domain import DEFAULT_DUE_HOURS, Policy
from shared.env import ConfigError, env_decimal, env_float, env_str, load_section

DEFAULT_PENALTY_CAP = Decimal("500.00")
#: How often the worker looks for complaints to escalate or flag as breached (seconds).
DEFAULT_ESCALATION_INTERVAL_SECONDS = 60.0
#: How often it closes complaints resolved longer ago than the reopening window (seconds).
DEFAULT_AUTO_CLOSE_INTERVAL_SECONDS = 900.0


@dataclass(frozen=True)
class ComplaintsSettings:
    """The service's tunables: the complaint policy (promises, penalty cap, default handlers) and how
    often the worker's two jobs run."""

    policy: Policy = field(default_factory=Policy)
    escalation_interval_seconds: float = DEFAULT_ESCALATION_INTERVAL_SECONDS
    auto_close_interval_seconds: float = DEFAULT_AUTO_CLOSE_INTERVAL_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ComplaintsSettings:
        """Read ``COMPLAINTS_DUE_HOURS_URGENT`` etc.; absent or blank values take the defaults."""
        policy = Policy(
            due_hours={
                severity: _positive(env, f"COMPLAINTS_DUE_HOURS_{severity.upper()}", hours)
                for severity, hours in DEFAULT_DUE_HOURS.items()
            },
            first_response_minutes=_positive(env, "COMPLAINTS_FIRST_RESPONSE_MINUTES", 30),
            auto_close_days=_positive(env, "COMPLAINTS_AUTO_CLOSE_DAYS", 7),
            penalty_cap=env_decimal(
                env, "COMPLAINTS_PENALTY_CAP", DEFAULT_PENALTY_CAP, minimum=Decimal(0)
            ).quantize(Decimal("0.01")),
            default_supervisor=env_str(env, "COMPLAINTS_DEFAULT_SUPERVISOR", "") or None,
            default_manager=env_str(env, "COMPLAINTS_DEFAULT_MANAGER", "") or None,
        )
        escalation, auto_close = _job_intervals(env)
        return cls(
            policy=policy, escalation_interval_seconds=escalation, auto_close_interval_seconds=auto_close
        )


def _job_intervals(env: Mapping[str, str]) -> tuple[float, float]:
    return (
        env_float(env, "COMPLAINTS_ESCALATION_INTERVAL_SECONDS", DEFAULT_ESCALATION_INTERVAL_SECONDS),
        env_float(env, "COMPLAINTS_AUTO_CLOSE_INTERVAL_SECONDS", DEFAULT_AUTO_CLOSE_INTERVAL_SECONDS),
    )


def _positive(env: Mapping[str, str], key: str, default: float) -> float:
    # a promise or window of zero hours would escalate and close everything at once: refuse it
    value = env_float(env, key, default)
    if value <= 0:
        raise ConfigError(f"{key} must be a positive number, got {env[key].strip()!r}")
    return value


def load_settings(extra: Mapping[str, str] | None = None) -> ComplaintsSettings:
    """The ``COMPLAINTS_*`` settings: from the app's ``settings.extra``, or the process env (worker, CLI)."""
    return load_section("complaints", ComplaintsSettings.from_env, extra)


def load_job_intervals(extra: Mapping[str, str] | None = None) -> tuple[float, float]:
    """How often the escalation and auto-close jobs run (seconds). Only these are read when ``spec`` is
    imported: a bad policy value must not stop processes that merely import every spec (migrations, the
    CLI); it stops the app at start-up and fails the jobs' runs instead."""
    return load_section("complaints", _job_intervals, extra)
