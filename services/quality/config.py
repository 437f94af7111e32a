"""The quality service's own settings (``QUALITY_*``); every one is read here and nowhere else.

A bad value raises ``ConfigError`` (a ``ValueError``) naming the key, so the app refuses to start rather
than fail requests later. See docs/services/quality.md for what each setting means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from services.quality.domain import GOLD_TEAM_SATISFACTION, Weights
from shared.env import ConfigError, env_decimal, env_flag, env_float, env_int, env_str, load_section


@dataclass(frozen=True)
class QualitySettings:
    """KPI weights, sampling, the machine check's word lists and thresholds, import limits."""

    weights: Weights = field(default_factory=Weights)
    sample_size: int = 5
    keywords_file: Path | None = None
    sentiment_model: bool = True
    negative_threshold: float = 0.15
    gold_team_satisfaction: Decimal = GOLD_TEAM_SATISFACTION
    warning_threshold: Decimal = Decimal(60)
    warning_periods: int = 2
    max_import_rows: int = 20_000
    max_conversations: int = 5_000

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> QualitySettings:
        hundred = Decimal(100)
        try:
            weights = Weights(
                data=env_decimal(
                    env, "QUALITY_KPI_WEIGHT_DATA", Decimal(65), minimum=Decimal(0), maximum=hundred
                ),
                performance=env_decimal(
                    env, "QUALITY_KPI_WEIGHT_PERFORMANCE", Decimal(25), minimum=Decimal(0), maximum=hundred
                ),
                execution=env_decimal(
                    env, "QUALITY_KPI_WEIGHT_EXECUTION", Decimal(10), minimum=Decimal(0), maximum=hundred
                ),
            )
        except ValueError as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"QUALITY_KPI_WEIGHT_*: {exc}") from exc
        keywords = env_str(env, "QUALITY_KEYWORDS_FILE", "")
        if keywords and not Path(keywords).is_file():
            raise ConfigError(f"QUALITY_KEYWORDS_FILE names {keywords!r}, which is not a file")
        return cls(
            weights=weights,
            sample_size=env_int(env, "QUALITY_SAMPLE_SIZE", 5, minimum=1, maximum=200),
            keywords_file=Path(keywords) if keywords else None,
            sentiment_model=env_flag(env, "QUALITY_SENTIMENT_MODEL", True),
            negative_threshold=env_float(env, "QUALITY_NEGATIVE_THRESHOLD", 0.15, minimum=0.0, maximum=1.0),
            gold_team_satisfaction=env_decimal(
                env,
                "QUALITY_GOLD_TEAM_SATISFACTION",
                GOLD_TEAM_SATISFACTION,
                minimum=Decimal(0),
                maximum=hundred,
            ),
            warning_threshold=env_decimal(
                env, "QUALITY_KPI_WARNING_THRESHOLD", Decimal(60), minimum=Decimal(0), maximum=hundred
            ),
            warning_periods=env_int(env, "QUALITY_KPI_WARNING_PERIODS", 2, minimum=1, maximum=12),
            max_import_rows=env_int(env, "QUALITY_MAX_IMPORT_ROWS", 20_000, minimum=1, maximum=200_000),
            max_conversations=env_int(env, "QUALITY_MAX_CONVERSATIONS", 5_000, minimum=1, maximum=50_000),
        )


def load_settings(extra: Mapping[str, str] | None = None) -> QualitySettings:
    """The ``QUALITY_*`` settings: from the app's ``settings.extra``, or the process env (worker, CLI)."""
    return load_section("quality", QualitySettings.from_env, extra)
