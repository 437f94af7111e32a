"""Billing's own settings: every ``BILLING_*`` key is read here and nowhere else."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.env import env_int, load_section


@dataclass(frozen=True)
class BillingSettings:
    #: rows accepted in one performance request or CSV file (``BILLING_MAX_IMPORT_ROWS``)
    max_import_rows: int = 50_000

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> BillingSettings:
        rows = env_int(env, "BILLING_MAX_IMPORT_ROWS", cls.max_import_rows)
        # A zero or negative cap has always meant "one row", not an error; keep that.
        return cls(max_import_rows=max(1, rows))


def load_settings(extra: Mapping[str, str] | None = None) -> BillingSettings:
    return load_section("billing", BillingSettings.from_env, extra)
