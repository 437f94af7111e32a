"""Recruitment's own settings (招聘服务配置): every ``RECRUITMENT_*`` variable is read here and nowhere else.

Defaults come from the seed (domain constants); a malformed value raises ``ConfigError`` naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from services.recruitment import domain
from shared.env import ConfigError, env_decimal, env_int, load_section


def _decimal_between(env: Mapping[str, str], key: str, default: Decimal, lo: Decimal, hi: Decimal) -> Decimal:
    # The range is reported as "between lo and hi" (one line an operator can act on), as it always was.
    value = env_decimal(env, key, default)
    if not lo <= value <= hi:
        raise ConfigError(f"{key} must be between {lo} and {hi}, got {value}")
    return value


@dataclass(frozen=True)
class RecruitmentSettings:
    """The service's own settings (env vars ``RECRUITMENT_*``)."""

    match_ratio: Decimal = domain.DEFAULT_MATCH_RATIO
    due_workdays: int = domain.DEFAULT_DUE_WORKDAYS
    presale_share: Decimal = domain.DEFAULT_PRESALE_SHARE
    import_max_bytes: int = 10 * 1024 * 1024
    import_max_rows: int = 50_000
    overdue_check_seconds: float = 300.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RecruitmentSettings:
        return cls(
            match_ratio=_decimal_between(
                env, "RECRUITMENT_MATCH_RATIO", cls.match_ratio, Decimal("0.5"), Decimal(10)
            ),
            due_workdays=env_int(env, "RECRUITMENT_DUE_WORKDAYS", cls.due_workdays, minimum=0),
            presale_share=_decimal_between(
                env, "RECRUITMENT_BOTH_PRESALE_SHARE", cls.presale_share, Decimal(0), Decimal(1)
            ),
            import_max_bytes=env_int(env, "RECRUITMENT_IMPORT_MAX_BYTES", cls.import_max_bytes, minimum=1),
            import_max_rows=env_int(env, "RECRUITMENT_IMPORT_MAX_ROWS", cls.import_max_rows, minimum=1),
            overdue_check_seconds=float(env_int(env, "RECRUITMENT_OVERDUE_CHECK_SECONDS", 300, minimum=1)),
        )


def load_settings(extra: Mapping[str, str] | None = None) -> RecruitmentSettings:
    """From ``Settings.extra`` for an app built with explicit settings, else the process environment."""
    return load_section("recruitment", RecruitmentSettings.from_env, extra)
