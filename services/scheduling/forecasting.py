"""Campaign forecasts (咨询量预测): last year's consultations, scaled, per half-hour and channel.

Pure functions. History is a mapping ``(date, minute of day, channel) → consultations``; the channels are
``presale`` (售前) and ``aftersale`` (售后), or ``all`` when the shop only kept a total, which is split by
the seed's ratio: pre-sales : after-sales 7:3, flipped to 3:7 for three days after a promotion (seed 002).

A campaign is cut into phases (warm-up 预热期, festival day 大促当天, after-sales 售后期, …). Each day of
the campaign is matched with the day as far from last year's festival day as it is from this year's; its
intervals are last year's scaled by ``growth``, unless the phase gives its own volume: pre-sales from
expected orders × consultations per order, or shop visitors (UV) × call-in rate, and after-sales from
orders × refund rate. A phase's own volume keeps last year's shape over the phase's days and hours. The
bot's share comes off what the agents must answer (seed 000 §4.1).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

PRESALE, AFTERSALE, ALL = "presale", "aftersale", "all"
CHANNELS: tuple[str, ...] = (PRESALE, AFTERSALE)
PHASES: tuple[str, ...] = ("pilot", "warmup", "festival", "aftersales", "normal")
DAY_MINUTES = 24 * 60

History = Mapping[tuple[dt.date, int, str], float]


def default_profile(
    interval_minutes: int = 30,
    peaks: Sequence[tuple[int, int]] = ((0, 2), (8, 10), (12, 16), (20, 22)),
    peak_weight: float = 2.0,
    night_weight: float = 0.2,
) -> list[float]:
    """An intraday shape when only daily totals are known: the seed's peak hours (0–2, 8–10, 12–16 and
    20–22) weigh ``peak_weight``, the small hours (2–8) ``night_weight``, the rest 1; the weights sum to 1."""
    weights = []
    for start in range(0, DAY_MINUTES, interval_minutes):
        hour = start / 60
        if any(lo <= hour < hi for lo, hi in peaks):
            weights.append(peak_weight)
        elif 2 <= hour < 8:
            weights.append(night_weight)
        else:
            weights.append(1.0)
    total = sum(weights)
    return [w / total for w in weights]


def profile_problems(profile: Sequence[float], interval_minutes: int = 30) -> list[str]:
    expected = DAY_MINUTES // interval_minutes
    out = []
    if len(profile) != expected:
        out.append(
            f"an intraday profile has {expected} weights (one per {interval_minutes} min), got {len(profile)}"
        )
    if any(w < 0 for w in profile):
        out.append("profile weights cannot be negative")
    if profile and sum(profile) <= 0:
        out.append("profile weights must add up to more than 0")
    return out


def spread_day(total: float, profile: Sequence[float], interval_minutes: int = 30) -> dict[int, float]:
    """A day's total spread over its intervals by ``profile`` (normalised here)."""
    weight = sum(profile)
    return {i * interval_minutes: total * w / weight for i, w in enumerate(profile)}


@dataclass(frozen=True)
class Split:
    """How a channel-less total divides: ``presale`` share normally, ``flipped`` for ``flip_days`` after
    the festival day (seed 002: 7:3, then 3:7 for three days)."""

    presale: float = 0.7
    flipped: float = 0.3
    flip_days: int = 3

    def presale_share(self, day: dt.date, festival_day: dt.date) -> float:
        return self.flipped if 0 < (day - festival_day).days <= self.flip_days else self.presale


def by_channel(
    history: History, festival_day: dt.date, split: Split = Split()
) -> dict[tuple[dt.date, int, str], float]:
    """History with every ``all`` row split into pre-sales and after-sales (added to any channel rows)."""
    out: dict[tuple[dt.date, int, str], float] = defaultdict(float)
    for (day, minute, channel), count in history.items():
        if channel == ALL:
            share = split.presale_share(day, festival_day)
            out[(day, minute, PRESALE)] += count * share
            out[(day, minute, AFTERSALE)] += count * (1 - share)
        else:
            out[(day, minute, channel)] += count
    return dict(out)


@dataclass(frozen=True)
class Phase:
    """A stretch of the campaign with its own volume drivers (all optional)."""

    name: str
    start: dt.date
    end: dt.date
    expected_orders: float | None = None
    receptions_per_order: float | None = None
    uv: float | None = None
    call_in_rate: float | None = None
    refund_rate: float | None = None

    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def presale_total(self) -> float | None:
        """Pre-sales consultations the phase expects: orders × per order, or UV × call-in rate."""
        if self.expected_orders is not None and self.receptions_per_order is not None:
            return self.expected_orders * self.receptions_per_order
        if self.uv is not None and self.call_in_rate is not None:
            return self.uv * self.call_in_rate
        return None

    def aftersale_total(self) -> float | None:
        """After-sales contacts: one per refund, orders × refund rate (seed 000 §4.2)."""
        if self.expected_orders is not None and self.refund_rate is not None:
            return self.expected_orders * self.refund_rate
        return None


@dataclass(frozen=True)
class CampaignForecastSpec:
    festival_day: dt.date
    last_year_festival_day: dt.date
    phases: Sequence[Phase]
    growth: float = 1.0
    bot_share: Mapping[str, float] = field(default_factory=dict)
    split: Split = Split()
    interval_minutes: int = 30

    def problems(self) -> list[str]:
        out = []
        if not self.phases:
            out.append("a campaign has at least one phase")
        ordered = sorted(self.phases, key=lambda p: p.start)
        for phase in ordered:
            if phase.end < phase.start:
                out.append(f"phase {phase.name} ends ({phase.end}) before it starts ({phase.start})")
        for a, b in itertools.pairwise(ordered):
            if b.start <= a.end:
                out.append(f"phases {a.name} and {b.name} overlap ({b.start} is in {a.name})")
        if self.growth <= 0:
            out.append(f"growth must be positive, got {self.growth}")
        for channel, share in self.bot_share.items():
            if not 0 <= share < 1:
                out.append(f"the bot's share of {channel} must be at least 0 and below 1, got {share}")
        if DAY_MINUTES % self.interval_minutes:
            out.append(f"the interval must divide a day, got {self.interval_minutes} min")
        return out

    @property
    def offset(self) -> dt.timedelta:
        return self.festival_day - self.last_year_festival_day

    def days(self) -> list[dt.date]:
        return sorted(d for p in self.phases for d in p.days())


@dataclass(frozen=True)
class IntervalForecast:
    """One interval's consultations for one channel: last year's, forecast, the bot's share, the agents'."""

    day: dt.date
    minute: int
    channel: str
    phase: str
    last_year: float
    forecast: float
    bot: float

    @property
    def net(self) -> float:
        return self.forecast - self.bot


def forecast(spec: CampaignForecastSpec, history: History) -> list[IntervalForecast]:
    """Every interval of every campaign day, for both channels, beside last year's figure."""
    split_history = by_channel(history, spec.last_year_festival_day, spec.split)
    step = spec.interval_minutes
    minutes = range(0, DAY_MINUTES, step)
    flat = default_profile(step)
    out: list[IntervalForecast] = []
    for phase in sorted(spec.phases, key=lambda p: p.start):
        days = phase.days()
        for channel in CHANNELS:
            last = {
                (day, m): split_history.get((day - spec.offset, m, channel), 0.0)
                for day in days
                for m in minutes
            }
            target = phase.presale_total() if channel == PRESALE else phase.aftersale_total()
            base = sum(last.values())
            if target is None:
                values = {key: value * spec.growth for key, value in last.items()}
            elif base > 0:
                values = {key: target * value / base for key, value in last.items()}
            else:
                # no shape from last year: evenly over the days, the seed's peaks within each day
                values = {(day, m): target / len(days) * flat[m // step] for day in days for m in minutes}
            share = spec.bot_share.get(channel, 0.0)
            for (day, m), value in sorted(values.items()):
                out.append(
                    IntervalForecast(day, m, channel, phase.name, last[(day, m)], value, value * share)
                )
    return out


def daily_totals(rows: Sequence[IntervalForecast]) -> list[dict[str, object]]:
    """Per day and channel: last year, forecast, bot, net (rounded for display)."""
    sums: dict[tuple[dt.date, str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for row in rows:
        acc = sums[(row.day, row.channel, row.phase)]
        acc[0] += row.last_year
        acc[1] += row.forecast
        acc[2] += row.bot
    return [
        {
            "date": day,
            "channel": channel,
            "phase": phase,
            "last_year": round(ly),
            "forecast": round(fc),
            "bot": round(bot),
            "net": round(fc - bot),
        }
        for (day, channel, phase), (ly, fc, bot) in sorted(sums.items())
    ]
