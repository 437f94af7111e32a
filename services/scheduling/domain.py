"""The scheduling rules as plain functions: pool split, surge notice, staffing arithmetic.

No Flask, no SQL, no pika. The numbers are the seeds' (DOMAIN.md): 1:1.5 scheduled per seat with the rest
of the 1:2 admitted in reserve; a +30% surge needs 3 days' notice and +60% a week; one agent handles about
100 consultations an hour; seed 003's 2,000 forecast consultations at 220 per agent a day → 9.09 → 10.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

from services.scheduling.config import SchedulingSettings

# --- the pool: active and reserve (1:1.5 scheduled, the rest of the 1:2 admitted in reserve) ------------


@dataclass(frozen=True)
class PoolCandidate:
    agent_id: str
    quiz_score: float
    simulation_score: float
    rank: int

    @property
    def score(self) -> float:
        """The admission score: the mean of the quiz and the simulated reception (考核成绩)."""
        return (self.quiz_score + self.simulation_score) / 2


def active_target(seats: int, ratio: Decimal = Decimal("1.5")) -> int:
    """How many agents are scheduled for a project: ``ceil(ratio × seats)`` (1:1.5 → 10 seats, 15)."""
    return int((Decimal(seats) * ratio).to_integral_value(rounding=ROUND_CEILING))


def pool_order(candidates: Sequence[PoolCandidate]) -> list[PoolCandidate]:
    """Best first: admission score, then the cohort rank, then the id (a stable, total order)."""
    return sorted(candidates, key=lambda c: (-c.score, c.rank, c.agent_id))


def split_pool(
    candidates: Sequence[PoolCandidate], seats: int, ratio: Decimal = Decimal("1.5")
) -> tuple[list[PoolCandidate], list[PoolCandidate]]:
    """(active, reserve): the first ``ceil(ratio × seats)`` by admission score are active (储备 the rest)."""
    ordered = pool_order(candidates)
    n = active_target(seats, ratio)
    return ordered[:n], ordered[n:]


# --- surges (咨询量暴涨): the notice rule ------------------------------------------------------------------


@dataclass(frozen=True)
class SurgeDecision:
    accepted: bool
    rule: str
    notice_days: int
    required_notice_days: int | None
    earliest_start: dt.date | None
    extra_seats: int
    reason: str


def extra_seats(seats: int, increase_pct: Decimal) -> int:
    """``ceil(seats × pct / 100)``: +30% on 10 seats is 3 more."""
    return int((Decimal(seats) * Decimal(increase_pct) / 100).to_integral_value(rounding=ROUND_CEILING))


def decide_surge(
    increase_pct: Decimal,
    start: dt.date,
    today: dt.date,
    seats: int,
    settings: SchedulingSettings = SchedulingSettings(),
) -> SurgeDecision:
    """The seed's emergency plan: ≤ 30% needs 3 days' notice, ≤ 60% a week, more needs a new order.

    Notice is counted in calendar days from today (Asia/Shanghai) to the surge's first day.
    """
    pct = Decimal(increase_pct)
    notice = (start - today).days
    extra = extra_seats(seats, pct)
    small, large = settings.surge_small_pct, settings.surge_large_pct
    if pct > large:
        return SurgeDecision(
            False,
            "surge-above-limit",
            notice,
            None,
            None,
            extra,
            f"A surge above {large:g}% cannot be absorbed by the reserve; the merchant must place a new "
            f"order for the extra seats (asked for +{pct:g}%, at most +{large:g}% is accepted).",
        )
    required = settings.surge_small_notice_days if pct <= small else settings.surge_large_notice_days
    band = f"up to {small:g}%" if pct <= small else f"above {small:g}% and up to {large:g}%"
    if notice < required:
        earliest = today + dt.timedelta(days=required)
        return SurgeDecision(
            False,
            "surge-notice",
            notice,
            required,
            earliest,
            extra,
            f"A surge {band} needs {required} days' notice; this one starts in {notice} day(s). "
            f"The earliest acceptable start date is {earliest.isoformat()}.",
        )
    return SurgeDecision(
        True,
        "surge-notice",
        notice,
        required,
        start,
        extra,
        f"+{pct:g}% with {notice} days' notice (a surge {band} needs {required}): {extra} extra seats.",
    )


# --- staffing estimate (seed 000 §4, seed 003) ------------------------------------------------------------

_Q4 = Decimal("0.0001")
_Q2 = Decimal("0.01")


def _ceil(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING)) if value > 0 else 0


def _fmt(value: Decimal, q: Decimal = _Q4) -> str:
    return str(value.quantize(q, rounding=ROUND_HALF_UP))


def presale_estimate(
    *,
    total_receptions: Decimal | None = None,
    forecast_orders: Decimal | None = None,
    receptions_per_order: Decimal | None = None,
    uv: Decimal | None = None,
    call_in_rate: Decimal | None = None,
    bot_receptions: Decimal = Decimal(0),
    bot_resolution_rate: Decimal = Decimal(0),
    own_agents: Decimal = Decimal(0),
    own_agent_hours: Decimal | None = None,
    working_hours: Decimal = Decimal(8),
    receptions_per_hour: Decimal = Decimal(100),
    agent_daily_capacity: Decimal | None = None,
) -> dict[str, Any]:
    """Temporary agents = reception gap ÷ a temporary agent's daily capacity (seed 000 §4.1).

    total receptions = forecast orders × receptions per order, or UV × call-in rate (or given directly);
    gap = total − bot receptions × the bot's resolution rate − own agents' hours × per hour × headcount;
    capacity = working hours × receptions per hour, unless the saturation per day is given (seed 003: 220).
    """
    if total_receptions is not None:
        total, source = Decimal(total_receptions), "given"
    elif forecast_orders is not None and receptions_per_order is not None:
        total, source = Decimal(forecast_orders) * Decimal(receptions_per_order), "orders"
    elif uv is not None and call_in_rate is not None:
        total, source = Decimal(uv) * Decimal(call_in_rate), "uv"
    else:
        raise ValueError(
            "give total_receptions, or forecast_orders with receptions_per_order, or uv with call_in_rate"
        )
    bot = Decimal(bot_receptions) * Decimal(bot_resolution_rate)
    own_hours = Decimal(own_agent_hours) if own_agent_hours is not None else Decimal(working_hours)
    own = own_hours * Decimal(receptions_per_hour) * Decimal(own_agents)
    gap = max(Decimal(0), total - bot - own)
    capacity = (
        Decimal(agent_daily_capacity)
        if agent_daily_capacity is not None
        else Decimal(working_hours) * Decimal(receptions_per_hour)
    )
    exact = gap / capacity
    return {
        "total_receptions": _fmt(total, _Q2),
        "total_receptions_source": source,
        "bot_receptions": _fmt(bot, _Q2),
        "own_agents_receptions": _fmt(own, _Q2),
        "reception_gap": _fmt(gap, _Q2),
        "agent_daily_capacity": _fmt(capacity, _Q2),
        "exact": _fmt(exact),
        "headcount": _ceil(exact),
    }


def aftersale_estimate(
    *,
    orders: Decimal,
    refund_rate: Decimal,
    aftersale_days: Decimal,
    seconds_per_refund: Decimal,
    working_hours: Decimal = Decimal(8),
    utilisation: Decimal = Decimal("0.9"),
    days_per_week: Decimal = Decimal(7),
    workdays_per_week: Decimal = Decimal(5),
) -> dict[str, Any]:
    """Daily headcount = daily refunds ÷ one agent's daily capacity × 7 ÷ 5 (seed 000 §4.2).

    daily refunds = orders × refund rate ÷ the after-sales period in days;
    capacity = 3600 ÷ seconds per refund × 8 hours × 90% utilisation.
    """
    daily_refunds = Decimal(orders) * Decimal(refund_rate) / Decimal(aftersale_days)
    per_hour = Decimal(3600) / Decimal(seconds_per_refund)
    capacity = per_hour * Decimal(working_hours) * Decimal(utilisation)
    exact = daily_refunds / capacity * Decimal(days_per_week) / Decimal(workdays_per_week)
    return {
        "daily_refunds": _fmt(daily_refunds, _Q2),
        "refunds_per_agent_hour": _fmt(per_hour, _Q2),
        "agent_daily_capacity": _fmt(capacity, _Q2),
        "week_factor": _fmt(Decimal(days_per_week) / Decimal(workdays_per_week)),
        "exact": _fmt(exact),
        "headcount": _ceil(exact),
    }


def funnel(seats: int, active_ratio: Decimal = Decimal("1.5")) -> dict[str, int]:
    """The seed's funnel per seat: match 1:3, admit 1:2, schedule 1:1.5, the other admitted in reserve."""
    schedule = active_target(seats, active_ratio)
    admit = 2 * seats
    return {
        "seats": seats,
        "match": 3 * seats,
        "admit": admit,
        "schedule": schedule,
        "reserve": max(0, admit - schedule),
    }


# --- timesheets -------------------------------------------------------------------------------------------


def timesheet_problems(hours: Decimal, day: dt.date, today: dt.date) -> list[str]:
    """What is wrong with one day's hours (工时): 0 < hours ≤ 24 and not a future date."""
    problems = []
    if not Decimal(0) < hours <= Decimal(24):
        problems.append(f"hours must be more than 0 and at most 24, got {hours}")
    if day > today:
        problems.append(f"{day.isoformat()} is in the future (today is {today.isoformat()} in Shanghai)")
    return problems
