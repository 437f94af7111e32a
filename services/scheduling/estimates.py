"""Staffing estimates (人力测算): the seeds' arithmetic for pre-sales and after-sales headcount."""

from __future__ import annotations

from decimal import InvalidOperation
from typing import Any

from services.scheduling import domain
from services.scheduling.config import SchedulingSettings
from shared.errors import ValidationFailed


def staffing_estimate(data: dict[str, Any], cfg: SchedulingSettings) -> dict[str, Any]:
    out: dict[str, Any] = {"presale": None, "aftersale": None}
    total = 0
    try:
        if data.get("presale"):
            p = {k: v for k, v in data["presale"].items() if v is not None}
            p.setdefault("receptions_per_hour", cfg.receptions_per_hour)
            out["presale"] = domain.presale_estimate(**p)
            total += out["presale"]["headcount"]
        if data.get("aftersale"):
            out["aftersale"] = domain.aftersale_estimate(
                **{k: v for k, v in data["aftersale"].items() if v is not None}
            )
            total += out["aftersale"]["headcount"]
    except InvalidOperation as exc:
        # Huge counts over tiny rates overflow Decimal's 28 significant digits: bad input, not a crash.
        raise ValidationFailed(
            {"_schema": ["the figures are out of range: the result does not fit 28 significant digits"]},
            detail="The estimate cannot be computed from these figures; check the magnitudes sent.",
        ) from exc
    out["headcount"] = total
    out["funnel"] = domain.funnel(total, cfg.active_ratio)
    return out
