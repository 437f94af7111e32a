"""The training service's own settings (``TRAINING_*``); every one is read here and nowhere else.

A bad value raises ``ConfigError`` (a ``ValueError``) naming the key, so the app refuses to start rather
than fail requests later. See docs/services/training.md for what each setting means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from services.training.domain import (
    DEFAULT_ADMISSION_RATIO,
    DEFAULT_HOURS_PER_DAY,
    DEFAULT_PASS_MARK_QUIZ,
    DEFAULT_PASS_MARK_SIMULATION,
    DEFAULT_TRAINING_DAYS,
    MAX_TRAINING_DAYS,
    MIN_TRAINING_DAYS,
)
from shared.env import env_decimal, env_float, env_int, load_section

#: How often the worker moves cohorts along the calendar (start, assessing, completion at end + 1 day).
DEFAULT_JOB_INTERVAL_SECONDS = 300.0


def _pass_mark(env: Mapping[str, str], key: str, default: Decimal) -> Decimal:
    """A score out of 100 a trainee must reach."""
    return env_decimal(env, key, default, minimum=Decimal(0), maximum=Decimal(100))


@dataclass(frozen=True)
class TrainingSettings:
    """The service's tunables."""

    #: admitted people per seat (seats : admitted = 1:2)
    admission_ratio: Decimal = DEFAULT_ADMISSION_RATIO
    pass_mark_quiz: Decimal = DEFAULT_PASS_MARK_QUIZ
    pass_mark_simulation: Decimal = DEFAULT_PASS_MARK_SIMULATION
    #: a project's training length in working days unless the trainer sets its own
    default_training_days: int = DEFAULT_TRAINING_DAYS
    job_interval_seconds: float = DEFAULT_JOB_INTERVAL_SECONDS
    #: hours of training in a training day: what billing charges the merchant per person (人·时)
    hours_per_day: Decimal = DEFAULT_HOURS_PER_DAY

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TrainingSettings:
        """Read ``TRAINING_ADMISSION_RATIO`` etc.; absent or blank values take the defaults."""
        return cls(
            admission_ratio=env_decimal(
                env, "TRAINING_ADMISSION_RATIO", DEFAULT_ADMISSION_RATIO, minimum=Decimal("0.1")
            ),
            pass_mark_quiz=_pass_mark(env, "TRAINING_PASS_MARK_QUIZ", DEFAULT_PASS_MARK_QUIZ),
            pass_mark_simulation=_pass_mark(
                env, "TRAINING_PASS_MARK_SIMULATION", DEFAULT_PASS_MARK_SIMULATION
            ),
            default_training_days=env_int(
                env,
                "TRAINING_DEFAULT_DAYS",
                DEFAULT_TRAINING_DAYS,
                minimum=MIN_TRAINING_DAYS,
                maximum=MAX_TRAINING_DAYS,
            ),
            # the old reader treated 0 as "use the default"; kept so an existing env behaves the same
            job_interval_seconds=env_float(
                env, "TRAINING_JOB_INTERVAL_SECONDS", DEFAULT_JOB_INTERVAL_SECONDS, minimum=0.0
            )
            or DEFAULT_JOB_INTERVAL_SECONDS,
            hours_per_day=env_decimal(
                env,
                "TRAINING_HOURS_PER_DAY",
                DEFAULT_HOURS_PER_DAY,
                minimum=Decimal("0.5"),
                maximum=Decimal(24),
            ),
        )


def load_settings(extra: Mapping[str, str] | None = None) -> TrainingSettings:
    """The ``TRAINING_*`` settings: from the app's ``settings.extra``, or the process env (worker, CLI)."""
    return load_section("training", TrainingSettings.from_env, extra)
