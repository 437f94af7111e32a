"""Billing's own settings: every ``BILLING_*`` key is read here and nowhere else."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from services.billing.pricing import DEFAULT_PAYMENT_TERMS_DAYS, DEFAULT_TAX_RATE
from shared.env import env_decimal, env_int, env_str, load_section


@dataclass(frozen=True)
class BillingSettings:
    #: rows accepted in one performance request or CSV file (``BILLING_MAX_IMPORT_ROWS``)
    max_import_rows: int = 50_000
    #: a new price list's tax rate unless it sets one (``BILLING_DEFAULT_TAX_RATE``, 0.06 = 6% VAT)
    default_tax_rate: Decimal = DEFAULT_TAX_RATE
    #: days from issue to due date unless the price list says (``BILLING_PAYMENT_TERMS_DAYS``)
    payment_terms_days: int = DEFAULT_PAYMENT_TERMS_DAYS
    #: the CJK font file the invoice PDFs embed (``BILLING_PDF_FONT``); unset: the distribution's Noto CJK
    pdf_font: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> BillingSettings:
        rows = env_int(env, "BILLING_MAX_IMPORT_ROWS", cls.max_import_rows)
        # A zero or negative cap has always meant "one row", not an error; keep that.
        return cls(
            max_import_rows=max(1, rows),
            default_tax_rate=env_decimal(
                env, "BILLING_DEFAULT_TAX_RATE", DEFAULT_TAX_RATE, minimum=Decimal(0), maximum=Decimal("0.99")
            ),
            payment_terms_days=env_int(
                env, "BILLING_PAYMENT_TERMS_DAYS", DEFAULT_PAYMENT_TERMS_DAYS, minimum=0, maximum=365
            ),
            pdf_font=env_str(env, "BILLING_PDF_FONT", "") or None,
        )


def load_settings(extra: Mapping[str, str] | None = None) -> BillingSettings:
    return load_section("billing", BillingSettings.from_env, extra)
