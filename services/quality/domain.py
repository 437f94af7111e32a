"""The rules of quality inspection (质检) and the agent KPI, as plain functions: no Flask, no SQL, no pika.

Seed 001 (客服质检人机协作): robots check every conversation, people sample the rest; the QA standard
covers the six-step service flow 迎察问说应收 (greet, observe, ask, explain, respond, close), professional
skills, scripts and service indicators; the KPI weighs **data 65%** (inquiry conversion, average response
time, receptions, sales), **work performance 25%** (teamwork, chat quality, soothing, reply rate, tone,
payment reminders 催拍催付) and **execution 10%** (the supervisor's rating). A shop whose monthly 旺旺
satisfaction reaches 95% earns the gold-team mark (金牌客服团队) for the next month.

Seed 004 (服务之上线服务质检): the QA specialist samples against the merchant's standard when it has one,
else the vendor's; problems and good cases found go to the trainers for improvement training (提升培训).

Every score is on 0–100 and is a ``Decimal`` rounded to 2 places (half up), so that the event, the page
and the payroll agree to the cent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

HUNDRED = Decimal(100)
CENT = Decimal("0.01")

# --- vocabularies ---------------------------------------------------------------------------------------

#: 质检方式: the five QA methods of seed 001
METHODS: tuple[str, ...] = (
    "chat_sampling",  # 聊天记录抽查
    "mystery_shopper",  # 暗访抽查
    "review_back_check",  # 评价倒查
    "data_analysis",  # 服务数据分析
    "satisfaction_survey",  # 满意度调查
)
#: who reviewed (质检层级): the team leader checks most, the supervisor samples, the manager spot-checks
TIERS: tuple[str, ...] = ("team_leader", "supervisor", "manager")
#: the sections of a scorecard (质检四大标准化内容)
SECTIONS: tuple[str, ...] = ("service_flow", "skills", "scripts", "indicators")
#: what a scorecard item feeds in the 25% work-performance part of the KPI (工作表现)
AREAS: tuple[str, ...] = (
    "teamwork",  # 团队协作
    "chat_quality",  # 聊天质量
    "soothing",  # 客服安抚
    "reply_rate",  # 回复率
    "tone",  # 聊天语气
    "payment_reminders",  # 催拍催付
)
#: how a conversation ended: an order, a lost inquiry (询单流失: asked, did not buy), or neither
OUTCOMES: tuple[str, ...] = ("ordered", "lost", "none")
#: the four data indicators of the 65% part, in the order pages show them
INDICATORS: tuple[str, ...] = ("conversion", "avg_response", "receptions", "sales")


# --- scorecards -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScorecardItem:
    """One line of a scorecard: what is checked, in which section, for how many points."""

    key: str
    section: str
    label: str
    points: int
    area: str


def _item(key: str, section: str, label: str, points: int, area: str) -> ScorecardItem:
    return ScorecardItem(key, section, label, points, area)


#: the vendor's standard (我方质检标准), used when the merchant has none: 100 points
VENDOR_SCORECARD: tuple[ScorecardItem, ...] = (
    _item("greet", "service_flow", "迎：及时热情问候，使用店铺欢迎语", 8, "tone"),
    _item("observe", "service_flow", "察：查看顾客足迹与订单，判断需求", 6, "chat_quality"),
    _item("ask", "service_flow", "问：主动提问，明确尺码、用途、预算等需求", 8, "chat_quality"),
    _item("explain", "service_flow", "说：介绍商品卖点与活动，推荐关联商品", 10, "chat_quality"),
    _item("respond", "service_flow", "应：处理异议与议价，安抚顾客情绪", 10, "soothing"),
    _item("close", "service_flow", "收：催拍催付，核对地址，礼貌道别", 10, "payment_reminders"),
    _item("product_knowledge", "skills", "商品与活动规则回答准确", 10, "chat_quality"),
    _item("objections", "skills", "中差评、质量问题与售后的处理技巧", 8, "soothing"),
    _item("teamwork", "skills", "转接、交接与求助规范，配合团队", 6, "teamwork"),
    _item("standard_scripts", "scripts", "使用标准话术，无禁用语", 8, "tone"),
    _item("tone", "scripts", "语气亲切耐心，不生硬不推诿", 6, "tone"),
    _item("reply_rate", "indicators", "每条消息均有回复，无遗漏", 6, "reply_rate"),
    _item("response_time", "indicators", "首响与平响达到项目目标", 4, "reply_rate"),
)


def scorecard_errors(items: Sequence[Mapping[str, object]]) -> list[str]:
    """What is wrong with a scorecard's items (empty when none): keys unique, sections and areas known,
    points positive, at least one item."""
    problems: list[str] = []
    if not items:
        return ["a scorecard needs at least one item"]
    seen: set[str] = set()
    for i, item in enumerate(items):
        key = str(item.get("key", ""))
        if key in seen:
            problems.append(f"item {i}: key {key!r} is used twice; each item needs its own key")
        seen.add(key)
        if item.get("section") not in SECTIONS:
            problems.append(f"item {i}: section must be one of {', '.join(SECTIONS)}")
        if item.get("area") not in AREAS:
            problems.append(f"item {i}: area must be one of {', '.join(AREAS)}")
    return problems


@dataclass(frozen=True)
class ScoredReview:
    """A reviewer's points against a scorecard: the total, and the percent per work-performance area."""

    total: int
    max_total: int
    percent: Decimal
    areas: dict[str, Decimal]


def score_review(items: Sequence[ScorecardItem], points: Mapping[str, int]) -> ScoredReview:
    """Points given per item key → the review's total and percent, and a percent per area.

    Every item must be scored, between 0 and its points; unknown keys are refused (a typo would silently
    drop points). Raises ``ValueError`` listing every problem."""
    known = {item.key: item for item in items}
    problems = [f"{key}: not an item of this scorecard" for key in points if key not in known]
    for item in items:
        if item.key not in points:
            problems.append(f"{item.key}: not scored (0 to {item.points})")
        elif not 0 <= points[item.key] <= item.points:
            problems.append(f"{item.key}: {points[item.key]} is outside 0 to {item.points}")
    if problems:
        raise ValueError("; ".join(problems))
    got: dict[str, int] = defaultdict(int)
    out_of: dict[str, int] = defaultdict(int)
    for item in items:
        got[item.area] += points[item.key]
        out_of[item.area] += item.points
    total = sum(points[item.key] for item in items)
    max_total = sum(item.points for item in items)
    return ScoredReview(
        total=total,
        max_total=max_total,
        percent=ratio_percent(total, max_total),
        areas={area: ratio_percent(got[area], out_of[area]) for area in AREAS if out_of[area]},
    )


# --- numbers ---------------------------------------------------------------------------------------------


def round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def ratio_percent(part: Decimal | int, whole: Decimal | int) -> Decimal:
    """``part`` as a percent of ``whole`` (0 when the whole is 0), rounded to 2 places."""
    if not whole:
        return Decimal(0).quantize(CENT)
    return round2(Decimal(part) * HUNDRED / Decimal(whole))


def _clamp(value: Decimal) -> Decimal:
    return min(HUNDRED, max(Decimal(0), value))


def score_higher_better(actual: Decimal, target: Decimal) -> Decimal:
    """A "more is better" figure against its target: 100 at or above the target, proportionally less
    below (half the target scores 50)."""
    if target <= 0:
        return HUNDRED
    return round2(_clamp(actual * HUNDRED / target))


def score_lower_better(actual: Decimal, target: Decimal) -> Decimal:
    """A "less is better" figure (seconds to answer) against its target: 100 at or under the target,
    ``target / actual`` of 100 above it (twice the target scores 50)."""
    if actual <= target:
        return HUNDRED
    return round2(_clamp(target * HUNDRED / actual))


# --- the agent's data for a period -------------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    """The service targets the merchant's order records (服务指标); ``None`` when the order is silent.

    Percent figures are on 0–100 (35 means 35%)."""

    first_response_seconds: Decimal | None = None
    avg_response_seconds: Decimal | None = None
    conversion_rate: Decimal | None = None
    avg_order_value: Decimal | None = None
    satisfaction_rate: Decimal | None = None
    daily_consultations: int | None = None
    seats: int | None = None

    @property
    def receptions_per_agent_day(self) -> Decimal | None:
        """The order's daily consultations shared among its seats: what one agent receives on a day."""
        if not self.daily_consultations or not self.seats:
            return None
        return Decimal(self.daily_consultations) / Decimal(self.seats)

    @property
    def sales_per_agent_day(self) -> Decimal | None:
        """What the order's targets imply one agent sells on a day: receptions × conversion × order value."""
        receptions = self.receptions_per_agent_day
        if receptions is None or self.conversion_rate is None or self.avg_order_value is None:
            return None
        return receptions * self.conversion_rate / HUNDRED * self.avg_order_value


@dataclass(frozen=True)
class AgentDay:
    """One agent's platform figures for one day (the shop back office's export, 客服绩效)."""

    date: dt.date
    receptions: int
    inquiries: int
    orders: int
    first_response_seconds: Decimal | None
    avg_response_seconds: Decimal | None
    sales_amount: Decimal
    votes: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)  # 很满意, 满意, 一般, 不满意, 很不满意
    quality_refunds: int = 0
    help_requests: int = 0


@dataclass(frozen=True)
class PeriodData:
    """An agent's days in a period, added up: the data part of the KPI reads these."""

    days: int
    receptions: int
    inquiries: int
    orders: int
    sales_amount: Decimal
    avg_response_seconds: Decimal | None  # weighted by receptions
    first_response_seconds: Decimal | None  # weighted by receptions
    satisfied_votes: int
    total_votes: int
    quality_refunds: int
    help_requests: int

    @property
    def conversion_rate(self) -> Decimal | None:
        """询单转化率: inquiries that ordered, in percent (None without inquiries)."""
        return ratio_percent(self.orders, self.inquiries) if self.inquiries else None

    @property
    def order_value(self) -> Decimal | None:
        return round2(self.sales_amount / self.orders) if self.orders else None

    @property
    def satisfaction_rate(self) -> Decimal | None:
        return ratio_percent(self.satisfied_votes, self.total_votes) if self.total_votes else None


def _weighted(values: Iterable[tuple[Decimal | None, int]]) -> Decimal | None:
    total = Decimal(0)
    weight = 0
    for value, w in values:
        if value is not None and w > 0:
            total += value * w
            weight += w
    return weighted_mean(total, weight)


def weighted_mean(total: Decimal, weight: int) -> Decimal | None:
    """Σ(value × weight) ÷ Σweight to the hundredth (None without weight): the one rounding of a
    response time averaged over receptions, whether the sums come from Python or from SQL."""
    return round2(total / weight) if weight else None


def summarise(days: Sequence[AgentDay]) -> PeriodData:
    """The period's figures from its days: counts summed, response times weighted by receptions (a busy
    day's 20 s says more than a quiet day's 90 s)."""
    return PeriodData(
        days=len(days),
        receptions=sum(d.receptions for d in days),
        inquiries=sum(d.inquiries for d in days),
        orders=sum(d.orders for d in days),
        sales_amount=sum((d.sales_amount for d in days), Decimal(0)),
        avg_response_seconds=_weighted((d.avg_response_seconds, d.receptions) for d in days),
        first_response_seconds=_weighted((d.first_response_seconds, d.receptions) for d in days),
        satisfied_votes=sum(d.votes[0] + d.votes[1] for d in days),
        total_votes=sum(sum(d.votes) for d in days),
        quality_refunds=sum(d.quality_refunds for d in days),
        help_requests=sum(d.help_requests for d in days),
    )


@dataclass(frozen=True)
class IndicatorScore:
    name: str
    actual: Decimal | None
    target: Decimal | None
    score: Decimal | None  # None: no target or no data, left out of the data part


def data_indicators(data: PeriodData, targets: Targets) -> list[IndicatorScore]:
    """The four data indicators against the order's targets (scaling in docs/services/quality.md):
    conversion and average response against their own targets; receptions and sales per working day
    against what the order's daily consultations, seats, conversion and order value imply for one agent."""
    per_day = Decimal(data.days) if data.days else None
    receptions = Decimal(data.receptions) / per_day if per_day else None
    sales = data.sales_amount / per_day if per_day else None
    pairs: list[tuple[str, Decimal | None, Decimal | None, bool]] = [
        ("conversion", data.conversion_rate, targets.conversion_rate, True),
        ("avg_response", data.avg_response_seconds, targets.avg_response_seconds, False),
        ("receptions", receptions, targets.receptions_per_agent_day, True),
        ("sales", sales, targets.sales_per_agent_day, True),
    ]
    out: list[IndicatorScore] = []
    for name, actual, target, higher in pairs:
        if actual is None or target is None:
            out.append(IndicatorScore(name, _opt_round(actual), _opt_round(target), None))
            continue
        score = score_higher_better(actual, target) if higher else score_lower_better(actual, target)
        out.append(IndicatorScore(name, round2(actual), round2(target), score))
    return out


def _opt_round(value: Decimal | None) -> Decimal | None:
    return None if value is None else round2(value)


def data_score(indicators: Sequence[IndicatorScore]) -> Decimal | None:
    """The 65% part: the mean of the indicators that could be scored (None when none could)."""
    scored = [i.score for i in indicators if i.score is not None]
    if not scored:
        return None
    return round2(sum(scored, Decimal(0)) / len(scored))


@dataclass(frozen=True)
class TargetCheck:
    """One of the order's service targets against the period's actual figure (目标 vs 实际)."""

    name: str
    actual: Decimal | None
    target: Decimal | None
    #: None when the order is silent on it or there is no data to judge
    met: bool | None


#: the order's targets in the order the checklist lists them, and whether lower is better
_TARGETS: tuple[tuple[str, str, str, bool], ...] = (
    ("first_response_seconds", "first_response_seconds", "first_response_seconds", True),
    ("avg_response_seconds", "avg_response_seconds", "avg_response_seconds", True),
    ("conversion_rate", "conversion_rate", "conversion_rate", False),
    ("avg_order_value", "order_value", "avg_order_value", False),
    ("satisfaction_rate", "satisfaction_rate", "satisfaction_rate", False),
)


def target_checks(data: PeriodData, targets: Targets) -> list[TargetCheck]:
    """Every service target of the order (首响, 平响, 转化率, 客单价, 满意度) with the actual figure and
    whether it is met; a target the order does not set, or a figure without data, is not judged."""
    out: list[TargetCheck] = []
    for name, actual_attr, target_attr, lower_better in _TARGETS:
        actual: Decimal | None = getattr(data, actual_attr)
        target: Decimal | None = getattr(targets, target_attr)
        met: bool | None = None
        if actual is not None and target is not None:
            met = actual <= target if lower_better else actual >= target
        out.append(TargetCheck(name, actual, target, met))
    return out


def targets_verdict(data: PeriodData, targets: Targets) -> dict[str, bool]:
    """Each of the order's service targets that has both a target and data: met or not."""
    return {c.name: c.met for c in target_checks(data, targets) if c.met is not None}


def tally(lists: Iterable[Sequence[str]], limit: int | None = None) -> list[tuple[str, int]]:
    """How often each entry occurs across the lists (the week's QA problems), most frequent first, then
    in order of first appearance; blank entries and case/space variants of one text count once."""
    counts: dict[str, int] = {}
    shown: dict[str, str] = {}
    for entries in lists:
        for entry in entries:
            text = " ".join(entry.split())
            if not text:
                continue
            key = text.casefold()
            shown.setdefault(key, text)
            counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])  # stable: ties keep first appearance
    return [(shown[key], n) for key, n in ranked[:limit]]


# --- the KPI ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Weights:
    """The KPI's weights (KPI考核标准), in percent; the seed's 65/25/10 by default."""

    data: Decimal = Decimal(65)
    performance: Decimal = Decimal(25)
    execution: Decimal = Decimal(10)

    def __post_init__(self) -> None:
        parts = (self.data, self.performance, self.execution)
        if any(p < 0 for p in parts) or sum(parts) != HUNDRED:
            raise ValueError(
                f"KPI weights must be non-negative and add up to 100, got "
                f"{self.data}/{self.performance}/{self.execution}"
            )


@dataclass(frozen=True)
class Kpi:
    score: Decimal
    data: Decimal | None
    performance: Decimal | None
    execution: Decimal | None
    #: the parts that had nothing to score (their weight went to the others)
    missing: tuple[str, ...] = field(default=())


def kpi_score(
    data: Decimal | None, performance: Decimal | None, execution: Decimal | None, weights: Weights
) -> Kpi:
    """KPI = data × 65% + work performance × 25% + execution × 10% (with the default weights).

    A part with nothing to score (no platform data, no review, no rating yet) is left out and the others'
    weights are scaled up to 100, so that a missing review neither fails nor rescues an agent; the
    answer names what was missing. With every part missing there is no KPI (``ValueError``)."""
    parts = {"data": data, "performance": performance, "execution": execution}
    weight = {"data": weights.data, "performance": weights.performance, "execution": weights.execution}
    present = {name: value for name, value in parts.items() if value is not None and weight[name] > 0}
    if not present:
        raise ValueError("nothing to score: no platform data, no reviewed conversation and no rating")
    total_weight = sum(weight[name] for name in present)
    score = sum((value * weight[name] for name, value in present.items()), Decimal(0)) / total_weight
    missing = tuple(name for name, value in parts.items() if value is None and weight[name] > 0)
    return Kpi(round2(score), data, performance, execution, missing)


def performance_score(review_percents: Sequence[Decimal]) -> Decimal | None:
    """The 25% part: the mean percent of the agent's reviews in the period (None without a review)."""
    if not review_percents:
        return None
    return round2(sum(review_percents, Decimal(0)) / len(review_percents))


def below_threshold_streak(scores_by_period: Sequence[tuple[str, Decimal]], threshold: Decimal) -> int:
    """How many of the latest periods in a row (periods sorted oldest first) scored below the threshold."""
    streak = 0
    for _period, score in reversed(scores_by_period):
        if score >= threshold:
            break
        streak += 1
    return streak


# --- the store ---------------------------------------------------------------------------------------------

#: 金牌客服团队: a month's 旺旺 satisfaction at or above this marks the team for the next month
GOLD_TEAM_SATISFACTION = Decimal("95.0")


@dataclass(frozen=True)
class StoreFigures:
    satisfaction_rate: Decimal | None
    gold_team: bool
    quality_refund_rate: Decimal | None
    help_rate: Decimal | None
    receptions: int
    orders: int
    total_votes: int


def store_figures(data: PeriodData, gold_threshold: Decimal = GOLD_TEAM_SATISFACTION) -> StoreFigures:
    """Store-level figures of a month (店铺指标): satisfaction (很满意 + 满意 over all votes; the gold-team
    mark at ≥ 95%), the first-time product-quality refund rate (quality refunds per order) and the platform
    help rate (help requests per reception), all in percent."""
    satisfaction = _unrounded_percent(data.satisfied_votes, data.total_votes)
    return StoreFigures(
        satisfaction_rate=None if satisfaction is None else round2(satisfaction),
        # compared before rounding: 94.996% must not round up into the gold team
        gold_team=satisfaction is not None and satisfaction >= gold_threshold,
        quality_refund_rate=ratio_percent(data.quality_refunds, data.orders) if data.orders else None,
        help_rate=ratio_percent(data.help_requests, data.receptions) if data.receptions else None,
        receptions=data.receptions,
        orders=data.orders,
        total_votes=data.total_votes,
    )


def _unrounded_percent(part: int, whole: int) -> Decimal | None:
    return Decimal(part) * HUNDRED / Decimal(whole) if whole else None


# --- periods and weeks --------------------------------------------------------------------------------------

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_WEEK = re.compile(r"^(\d{4})-W(0[1-9]|[1-4]\d|5[0-3])$")


def period_bounds(period: str) -> tuple[dt.date, dt.date]:
    """First and last day of a ``YYYY-MM`` period."""
    match = _PERIOD.fullmatch(period)
    if not match:
        raise ValueError(f"{period!r} is not a period like 2026-11")
    year, month = int(match[1]), int(match[2])
    first = dt.date(year, month, 1)
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


def week_bounds(week: str) -> tuple[dt.date, dt.date]:
    """Monday and Sunday of an ISO week ``YYYY-Www``."""
    match = _WEEK.fullmatch(week)
    if not match:
        raise ValueError(f"{week!r} is not an ISO week like 2026-W48")
    try:
        monday = dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise ValueError(f"{week!r}: {match[1]} has no week {int(match[2])}") from None
    return monday, monday + dt.timedelta(days=6)


def week_of(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


# --- sampling ----------------------------------------------------------------------------------------------


def stratified_sample(strata: Mapping[str, Sequence[str]], size: int, seed: str) -> list[str]:
    """``size`` ids drawn across the strata in proportion to their sizes (largest remainder), at least one
    from every non-empty stratum while the size allows, reproducibly for the same ``seed``: asking twice
    for the same week's sample gives the same conversations."""
    if size <= 0:
        return []
    population = {name: sorted(ids) for name, ids in strata.items() if ids}
    total = sum(len(ids) for ids in population.values())
    if total <= size:
        return sorted(i for ids in population.values() for i in ids)
    names = sorted(population)
    # largest remainder: each stratum's exact share of the size, rounded so that the shares add up to it
    # (a share never exceeds its stratum: size < total)
    exact = {n: Decimal(len(population[n])) * size / total for n in names}
    quota = {n: int(exact[n]) for n in names}
    for n in sorted(names, key=lambda n: (-(exact[n] - int(exact[n])), n))[: size - sum(quota.values())]:
        quota[n] += 1
    # then one from every stratum while the size allows (an outcome seen rarely is exactly what a reviewer
    # should see), taken from the biggest quota
    for n in sorted(names, key=lambda n: (len(population[n]), n)):
        if quota[n] == 0:
            donor = max(names, key=lambda d: (quota[d], d))
            if quota[donor] <= 1:
                break
            quota[donor] -= 1
            quota[n] = 1
    rng = random.Random(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big"))
    chosen: list[str] = []
    for n in names:
        chosen.extend(rng.sample(population[n], quota[n]))
    return sorted(chosen)
