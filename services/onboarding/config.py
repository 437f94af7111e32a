"""The onboarding service's own settings: every ``ONBOARDING_*`` variable is read here and nowhere else."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.onboarding import domain
from shared.env import ConfigError, env_float, env_int, load_section

_OWN_KEY = "ONBOARDING_FAQ_MIN_OWN_QUESTIONS"


def _own_questions(env: Mapping[str, str]) -> int:
    # stricter than env_int on purpose: a blank value is refused, not taken as the default
    raw = env.get(_OWN_KEY, str(domain.DEFAULT_MIN_OWN_QUESTIONS))
    if not raw.strip().isdigit() or int(raw) > 200:
        raise ConfigError(f"{_OWN_KEY} must be a whole number 0..200, got {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class OnboardingSettings:
    """Every ``ONBOARDING_*`` environment variable, with the seeds' defaults (docs/services/onboarding.md)."""

    #: ONBOARDING_MIN_GO_LIVE_WORKDAYS: working days between confirmation and go-live (seed: 3-7)
    min_go_live_workdays: int = domain.DEFAULT_MIN_GO_LIVE_WORKDAYS
    #: ONBOARDING_FAQ_MIN_OWN_QUESTIONS: the shop's own FAQ questions confirmation needs (seed 004)
    min_own_faq_questions: int = domain.DEFAULT_MIN_OWN_QUESTIONS
    #: ONBOARDING_GO_LIVE_CHECK_SECONDS: how often the worker moves confirmed projects whose go-live date
    #: has come to live (0 turns it off: the vendor then uses POST /projects/{id}/go-live).
    go_live_check_seconds: float = 600.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OnboardingSettings:
        """Read ``ONBOARDING_*`` values; a malformed one raises ``ConfigError`` (a ValueError) naming it."""
        d = cls()
        return cls(
            min_go_live_workdays=env_int(
                env, "ONBOARDING_MIN_GO_LIVE_WORKDAYS", d.min_go_live_workdays, minimum=0, maximum=60
            ),
            min_own_faq_questions=_own_questions(env),
            go_live_check_seconds=env_float(env, "ONBOARDING_GO_LIVE_CHECK_SECONDS", d.go_live_check_seconds),
        )


def load_settings(extra: Mapping[str, str] | None = None) -> OnboardingSettings:
    """The settings of this process (``extra``: an app's ``Settings.extra``; else the environment)."""
    return load_section("onboarding", OnboardingSettings.from_env, extra)
