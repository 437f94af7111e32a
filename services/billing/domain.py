"""The pay rules (薪资, seed 000 §10.3–10.4) as plain functions: no Flask, no SQL, no pika.

Four plan types (计薪方式):

- ``hourly`` (按小时): ``hourly_rate × hours`` — the seed's reference is 20 CNY/hour, so 160 h → 3,200.00;
- ``monthly`` (按月 / 纯底薪): ``monthly_base`` (4,000 CNY/month in the seed), prorated by calendar days
  when the agent joined or left the project within the period; a pure base is "judged on service
  quality", so it may carry conditions too (typically the quality service's KPI: ``min_kpi_score``,
  ``kpi_targets_met``) and then pays ``monthly_base × base_factor_when_unmet`` when they are missed;
- ``base_commission`` (底薪+提成): ``monthly_base`` paid in full only when the period's service targets
  are met (consultation-weighted average response time within N seconds, response rate at least a
  bound — or, judged by the quality service, the period's KPI at least a score and/or the order's
  targets met by its ``kpi.scored``), otherwise ``monthly_base × base_factor_when_unmet``; plus
  ``commission_rate × sales`` (4,000 + 1% of 100,000 = 5,000.00);
- ``commission`` (0底薪+提成): ``commission_rate × sales`` only (5% of 100,000 = 5,000.00).

Every payslip line is rounded half-up to the fen (四舍五入) on its own; a payslip's total is the sum of its
rounded lines and a run's total the sum of its payslips, so the figures on paper always add up.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from shared.money import quantize

HOURLY = "hourly"
MONTHLY = "monthly"
BASE_COMMISSION = "base_commission"
COMMISSION = "commission"
PLAN_TYPES: tuple[str, ...] = (HOURLY, MONTHLY, BASE_COMMISSION, COMMISSION)

# Line kinds, in the order they appear on a payslip.
LINE_BASE = "base"
LINE_HOURS = "hours"
LINE_COMMISSION = "commission"
LINE_DEDUCTION = "deduction"
LINE_ADJUSTMENT = "adjustment"
LINE_KINDS: tuple[str, ...] = (LINE_BASE, LINE_HOURS, LINE_COMMISSION, LINE_DEDUCTION, LINE_ADJUSTMENT)
#: the ``ref`` of the deduction lines that move penalties between periods so that net pay never goes below
#: zero: positive on the payslip that could not bear them, negative on the one that takes them over. They
#: stay deductions, so a payslip's deductions (and the export's column) are what it actually takes.
CARRY_REF = "carried-deductions"
_EARNING_KINDS = frozenset({LINE_BASE, LINE_HOURS, LINE_COMMISSION})

ZERO = Decimal("0")
ONE = Decimal("1")
PERIOD_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
_PERIOD_RE = re.compile(PERIOD_PATTERN)


# --- periods (薪资周期: one calendar month) ---------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Period:
    """A pay period: one calendar month, written ``YYYY-MM``."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        if not isinstance(text, str) or not _PERIOD_RE.fullmatch(text.strip()):
            raise ValueError(f"a period is a month written YYYY-MM (e.g. 2026-11), got {text!r}")
        year, month = text.strip().split("-")
        if int(year) < 1:  # the pattern admits 0000, which no calendar (nor datetime.date) has
            raise ValueError(f"a period's year starts at 0001, got {text!r}")
        return cls(int(year), int(month))

    @classmethod
    def of(cls, day: dt.date) -> Period:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return self._text

    @cached_property
    def _text(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    # cached: a payroll run asks every agent's period for its bounds, thousands of times
    @cached_property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    @cached_property
    def start(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @cached_property
    def end(self) -> dt.date:
        return dt.date(self.year, self.month, self.days)

    def next(self) -> Period:
        return Period(self.year + 1, 1) if self.month == 12 else Period(self.year, self.month + 1)

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


def period_problem(text: str, today: dt.date) -> str | None:
    """Why a period cannot be paid (yet), or None: malformed, or a month that has not begun."""
    try:
        period = Period.parse(text)
    except ValueError as exc:
        return str(exc)
    if period > Period.of(today):
        return f"period {period} is in the future; the latest payable period is {Period.of(today)}"
    return None


# --- plans (计薪方案) -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conditions:
    """The targets a base is paid in full on (底薪的考核条件).

    Two sources, any combination of which must all hold: the service data billing is sent
    (``max_avg_response_seconds``, ``min_response_rate``), and the quality service's KPI of the period
    (``min_kpi_score``: the 65/25/10 score at least this; ``kpi_targets_met``: quality judged the order's
    service targets met).
    """

    max_avg_response_seconds: Decimal | None = None
    min_response_rate: Decimal | None = None
    min_kpi_score: Decimal | None = None
    kpi_targets_met: bool = False

    @property
    def on_service_data(self) -> bool:
        return self.max_avg_response_seconds is not None or self.min_response_rate is not None

    @property
    def on_kpi(self) -> bool:
        return self.min_kpi_score is not None or self.kpi_targets_met

    @property
    def any(self) -> bool:
        return self.on_service_data or self.on_kpi


@dataclass(frozen=True)
class PlanTerms:
    type: str
    hourly_rate: Decimal | None = None
    monthly_base: Decimal | None = None
    commission_rate: Decimal | None = None
    conditions: Conditions | None = None
    base_factor_when_unmet: Decimal | None = None


_REQUIRED: dict[str, tuple[str, ...]] = {
    HOURLY: ("hourly_rate",),
    MONTHLY: ("monthly_base",),
    BASE_COMMISSION: ("monthly_base", "commission_rate"),
    COMMISSION: ("commission_rate",),
}
_TERM_FIELDS = ("hourly_rate", "monthly_base", "commission_rate", "conditions", "base_factor_when_unmet")


def plan_problems(terms: PlanTerms) -> dict[str, list[str]]:
    """Every field-level problem of a plan's terms at once (types and ranges are the schema's job).

    A field a plan type does not use is refused rather than ignored: a "monthly" plan sent with an
    hourly_rate is almost certainly a mistake about which plan was meant.
    """
    problems: dict[str, list[str]] = {}
    if terms.type not in PLAN_TYPES:
        return {"type": [f"unknown plan type {terms.type!r}; one of: {', '.join(PLAN_TYPES)}"]}
    required = _REQUIRED[terms.type]
    allowed = set(required)
    if terms.type in (BASE_COMMISSION, MONTHLY):
        allowed |= {"conditions", "base_factor_when_unmet"}
    for name in _TERM_FIELDS:
        value = getattr(terms, name)
        if name in required and value is None:
            problems.setdefault(name, []).append(f"required for a {terms.type} plan")
        elif name not in allowed and value is not None:
            problems.setdefault(name, []).append(f"not used by a {terms.type} plan; leave it out")
    if terms.hourly_rate is not None and terms.hourly_rate <= 0:
        problems.setdefault("hourly_rate", []).append("must be more than 0")
    if terms.monthly_base is not None and terms.monthly_base <= 0:
        problems.setdefault("monthly_base", []).append("must be more than 0")
    if terms.type in (BASE_COMMISSION, MONTHLY):
        if terms.conditions is not None:
            if not terms.conditions.any:
                problems.setdefault("conditions", []).append(
                    "give max_avg_response_seconds, min_response_rate, min_kpi_score, kpi_targets_met "
                    "or several (or leave conditions out to pay the base unconditionally)"
                )
            if terms.base_factor_when_unmet is None:
                problems.setdefault("base_factor_when_unmet", []).append(
                    "required when conditions are given: the share of the base paid when the targets "
                    'are missed, e.g. "0.5" for 50%'
                )
        elif terms.base_factor_when_unmet is not None:
            problems.setdefault("base_factor_when_unmet", []).append(
                "only applies together with conditions; give conditions or leave it out"
            )
    return problems


@dataclass(frozen=True)
class PlanVersion:
    """A stored plan as far as resolution cares: whose it is and from when it applies."""

    id: str
    project_id: str
    agent_id: str | None
    effective_from: dt.date


def resolve_plan(plans: Iterable[PlanVersion], agent_id: str, period: Period) -> PlanVersion | None:
    """The plan in force for an agent in a period.

    A plan applies to a whole period when it is in force on the period's last day (effective_from ≤ the
    month's end); of several, the latest effective_from wins (then the latest created). An agent's own
    override wins over the project's default. (A project or agent has at most one plan per
    effective_from date, so there are no ties.)
    """
    own: PlanVersion | None = None
    default: PlanVersion | None = None
    for plan in plans:
        if plan.effective_from > period.end:
            continue
        if plan.agent_id == agent_id:
            if own is None or plan.effective_from > own.effective_from:
                own = plan
        elif plan.agent_id is None and (default is None or plan.effective_from > default.effective_from):
            default = plan
    return own or default


# --- inputs of one agent's period -------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceStats:
    """A period's service data, summed over the days sent (咨询量, 平响, 回复率).

    Averages are weighted by consultations: a day with 300 consultations counts thirty times as much as
    a day with 10, which is what the merchant's dashboard shows for the month.
    """

    consultations: int = 0
    response_seconds_x_consultations: Decimal = ZERO
    response_rate_x_consultations: Decimal = ZERO

    @property
    def avg_response_seconds(self) -> Decimal | None:
        if self.consultations <= 0:
            return None
        return self.response_seconds_x_consultations / self.consultations

    @property
    def response_rate(self) -> Decimal | None:
        if self.consultations <= 0:
            return None
        return self.response_rate_x_consultations / self.consultations

    @classmethod
    def from_days(cls, days: Iterable[tuple[int, Decimal, Decimal]]) -> ServiceStats:
        """From (consultations, avg_response_seconds, response_rate) per day."""
        total, seconds, rate = 0, ZERO, ZERO
        for consultations, avg_seconds, response_rate in days:
            total += consultations
            seconds += avg_seconds * consultations
            rate += response_rate * consultations
        return cls(total, seconds, rate)


@dataclass(frozen=True)
class Kpi:
    """The quality service's KPI of the agent's period (``kpi.scored``): its score and whether the
    order's service targets were met."""

    score: Decimal
    targets_met: bool


@dataclass(frozen=True)
class Membership:
    """When the agent was in the project: joined on ``agent.admitted``, left on ``agent.departed``."""

    joined_on: dt.date | None = None
    left_on: dt.date | None = None


def days_in_project(period: Period, membership: Membership | None) -> int:
    """Calendar days of the period the agent belonged to the project, both ends counted.

    The join day and the departure day are both paid days. Without any membership record (no
    ``agent.admitted`` received) the agent counts as present for the whole period.
    """
    if membership is None:
        return period.days
    first = max(period.start, membership.joined_on or period.start)
    last = min(period.end, membership.left_on or period.end)
    return max(0, (last - first).days + 1)


@dataclass(frozen=True)
class DeductionItem:
    """A penalty for an upheld complaint (投诉考核扣款)."""

    ref: str
    number: str
    amount: Decimal


@dataclass(frozen=True)
class AdjustmentItem:
    """A manual correction by finance, positive or negative, with its reason."""

    ref: str
    amount: Decimal
    reason: str


@dataclass
class PeriodInputs:
    """Everything one agent's pay for one project and period is computed from."""

    hours: Decimal = ZERO
    sales: Decimal = ZERO
    performance_days: int = 0
    stats: ServiceStats = field(default_factory=ServiceStats)
    kpi: Kpi | None = None
    membership: Membership | None = None
    deductions: list[DeductionItem] = field(default_factory=list)
    adjustments: list[AdjustmentItem] = field(default_factory=list)


@dataclass(frozen=True)
class Line:
    kind: str
    amount: Decimal
    explanation: str
    origin_period: str
    ref: str | None = None


# --- formatting for explanations --------------------------------------------------------------------------


def fmt_amount(value: Decimal) -> str:
    """100000 → "100,000.00" (explanations are read by people; the amounts themselves stay plain)."""
    return f"{quantize(value):,.2f}"


def fmt_number(value: Decimal) -> str:
    """41.00 → "41", 40.50 → "40.5": seconds and hours without trailing zeros."""
    return format(value.normalize(), "f")


def fmt_percent(rate: Decimal) -> str:
    """0.01 → "1%", 0.015 → "1.5%", 0.955 → "95.5%"."""
    return f"{fmt_number(rate * 100)}%"


def fmt_seconds(value: Decimal) -> str:
    """An average shown to the hundredth of a second: 41 → "41", 40.333… → "40.33"."""
    return fmt_number(value.quantize(Decimal("0.01")))


# --- the payslip of one agent -----------------------------------------------------------------------------


def targets_verdict(conditions: Conditions, stats: ServiceStats) -> tuple[bool, str]:
    """Whether the period's service targets are met, and the reason in words."""
    if stats.consultations <= 0:
        return False, "no service data (consultations) for the period"
    met: list[str] = []
    missed: list[str] = []
    avg = stats.avg_response_seconds
    rate = stats.response_rate
    assert avg is not None and rate is not None
    if conditions.max_avg_response_seconds is not None:
        limit = conditions.max_avg_response_seconds
        shown = f"{fmt_seconds(avg)} s"
        if avg <= limit:
            met.append(f"average response {shown} ≤ {fmt_number(limit)} s")
        else:
            missed.append(f"average response {shown} > {fmt_number(limit)} s")
    if conditions.min_response_rate is not None:
        bound = conditions.min_response_rate
        if rate >= bound:
            met.append(
                f"response rate {fmt_percent(rate.quantize(Decimal('0.0001')))} ≥ {fmt_percent(bound)}"
            )
        else:
            missed.append(
                f"response rate {fmt_percent(rate.quantize(Decimal('0.0001')))} < {fmt_percent(bound)}"
            )
    if missed:
        return False, ", ".join(missed)
    return True, ", ".join(met)


def kpi_verdict(conditions: Conditions, kpi: Kpi | None) -> tuple[bool, str]:
    """Whether the quality service's KPI meets the plan's KPI conditions, and the reason in words."""
    if kpi is None:
        return False, "no KPI from quality for the period"
    met: list[str] = []
    missed: list[str] = []
    if conditions.min_kpi_score is not None:
        bound = conditions.min_kpi_score
        shown = f"KPI {fmt_number(kpi.score)}"
        if kpi.score >= bound:
            met.append(f"{shown} ≥ {fmt_number(bound)}")
        else:
            missed.append(f"{shown} < {fmt_number(bound)}")
    if conditions.kpi_targets_met:
        if kpi.targets_met:
            met.append("the order's service targets met (quality)")
        else:
            missed.append("the order's service targets missed (quality)")
    if missed:
        return False, ", ".join(missed)
    return True, ", ".join(met)


def conditions_verdict(conditions: Conditions, inputs: PeriodInputs) -> tuple[bool, str]:
    """Every condition of the plan, service data and KPI alike: met only when all are."""
    verdicts: list[tuple[bool, str]] = []
    if conditions.on_service_data:
        verdicts.append(targets_verdict(conditions, inputs.stats))
    if conditions.on_kpi:
        verdicts.append(kpi_verdict(conditions, inputs.kpi))
    missed = [reason for ok, reason in verdicts if not ok]
    if missed:
        return False, "; ".join(missed)
    return True, "; ".join(reason for _ok, reason in verdicts)


def _base_line(terms: PlanTerms, period: Period, inputs: PeriodInputs) -> Line:
    """The base (底薪), prorated by days in the project, at ``base_factor_when_unmet`` when the plan's
    conditions are missed."""
    assert terms.monthly_base is not None
    share, prorated = _proration(period, inputs)
    base = f"monthly base {fmt_amount(terms.monthly_base)}{prorated}"
    if terms.conditions is None:
        factor = ONE
        text = "base in full (no service targets); " + base if terms.type == BASE_COMMISSION else base
    else:
        met, reason = conditions_verdict(terms.conditions, inputs)
        if met:
            factor, text = ONE, f"base in full: {reason}; {base}"
        else:
            assert terms.base_factor_when_unmet is not None
            factor = terms.base_factor_when_unmet
            text = f"base at {fmt_percent(factor)}: {reason}; {base}"
    return Line(LINE_BASE, quantize(terms.monthly_base * factor * share), text, str(period))


def _proration(period: Period, inputs: PeriodInputs) -> tuple[Decimal, str]:
    days = days_in_project(period, inputs.membership)
    if days >= period.days:
        return ONE, ""
    m = inputs.membership
    assert m is not None
    why = []
    if m.joined_on is not None and m.joined_on > period.start:
        why.append(f"joined {m.joined_on.isoformat()}")
    if m.left_on is not None and m.left_on < period.end:
        why.append(f"left {m.left_on.isoformat()}")
    reason = f" ({', '.join(why)})" if why else ""
    return Decimal(days) / Decimal(period.days), f" × {days}/{period.days} days in the project{reason}"


def has_activity(plan_type: str, period: Period, inputs: PeriodInputs) -> bool:
    """Whether the agent is paid at all this period: hours, service data, a deduction or adjustment, or
    (for plans with a base) days in the project."""
    if inputs.hours > 0 or inputs.performance_days > 0 or inputs.deductions or inputs.adjustments:
        return True
    if plan_type in (MONTHLY, BASE_COMMISSION):
        return inputs.membership is not None and days_in_project(period, inputs.membership) > 0
    return False


def compute_lines(terms: PlanTerms, period: Period, inputs: PeriodInputs) -> list[Line]:
    """The payslip lines of one agent for one project and period, each rounded half-up to the fen."""
    origin = str(period)
    lines: list[Line] = []
    if terms.type == HOURLY:
        assert terms.hourly_rate is not None
        lines.append(
            Line(
                LINE_HOURS,
                quantize(terms.hourly_rate * inputs.hours),
                f"{fmt_number(inputs.hours)} h × {fmt_amount(terms.hourly_rate)} CNY/h",
                origin,
            )
        )
    elif terms.type in (MONTHLY, BASE_COMMISSION):
        lines.append(_base_line(terms, period, inputs))
    if terms.type in (BASE_COMMISSION, COMMISSION):
        assert terms.commission_rate is not None
        lines.append(
            Line(
                LINE_COMMISSION,
                quantize(terms.commission_rate * inputs.sales),
                f"{fmt_percent(terms.commission_rate)} of sales {fmt_amount(inputs.sales)}",
                origin,
            )
        )
    for deduction in inputs.deductions:
        if deduction.amount == 0:
            continue
        lines.append(
            Line(
                LINE_DEDUCTION,
                quantize(-deduction.amount),
                f"penalty for upheld complaint {deduction.number}",
                origin,
                deduction.ref,
            )
        )
    for adjustment in inputs.adjustments:
        lines.append(
            Line(
                LINE_ADJUSTMENT,
                quantize(adjustment.amount),
                f"adjustment by finance: {adjustment.reason}",
                origin,
                adjustment.ref,
            )
        )
    return lines


def late_adjustment(origin: Period, recomputed: Decimal, settled: Decimal) -> Line | None:
    """The correction for data that arrived after ``origin`` was approved (a closed period is never
    rewritten): the difference between what the period comes to now and what was already paid for it."""
    delta = quantize(recomputed - settled)
    if delta == 0:
        return None
    return Line(
        LINE_ADJUSTMENT,
        delta,
        f"late data for {origin}: the period now comes to {fmt_amount(recomputed)} against "
        f"{fmt_amount(settled)} already paid",
        str(origin),
    )


def total_of(lines: Sequence[Line]) -> Decimal:
    return sum((line.amount for line in lines), ZERO)


# --- the floor of net pay: deductions carried to the next period ------------------------------------------


@dataclass(frozen=True)
class CarriedIn:
    """Deductions still owed from earlier periods (carried forward by their payslips), and from when."""

    amount: Decimal
    since: str


def floor_deductions(lines: Sequence[Line], period: Period, owed: CarriedIn | None = None) -> list[Line]:
    """The payslip's lines with deductions kept from taking net pay below zero in one period.

    Deductions carried from earlier periods are taken first (a negative deduction line, ref
    ``CARRY_REF``, right after the earnings); when penalties (those and this period's) come to more than
    the rest of the payslip, the excess goes to the next period as a positive deduction line (ref
    ``CARRY_REF``), so the payslip nets to 0.00 and the sum of its lines is still its total. Only
    penalties are carried: a negative adjustment is finance's explicit decision and may leave a payslip
    below zero (``run_warnings`` reports it).
    """
    out = list(lines)
    if owed is not None and owed.amount > 0:
        at = sum(1 for line in out if line.kind in _EARNING_KINDS)
        out.insert(
            at,
            Line(
                LINE_DEDUCTION,
                -quantize(owed.amount),
                f"deductions carried from {owed.since}: {fmt_amount(owed.amount)} still owed",
                owed.since,
                CARRY_REF,
            ),
        )
    deducted = -sum((line.amount for line in out if line.kind == LINE_DEDUCTION), ZERO)
    shortfall = -total_of(out)
    carried = min(shortfall, deducted)
    if carried > 0:
        out.append(
            Line(
                LINE_DEDUCTION,
                quantize(carried),
                f"{fmt_amount(carried)} of the deductions carried to {period.next()}: net pay never goes "
                "below zero",
                str(period),
                CARRY_REF,
            )
        )
    return out


def carried_out(lines: Iterable[Line]) -> Decimal:
    """What a payslip carries to the next period."""
    return sum((line.amount for line in lines if is_carry(line) and line.amount > 0), ZERO)


def carried_in(lines: Iterable[Line]) -> Decimal:
    """What a payslip takes over from earlier periods."""
    return -sum((line.amount for line in lines if is_carry(line) and line.amount < 0), ZERO)


def is_carry(line: Line) -> bool:
    return line.kind == LINE_DEDUCTION and line.ref == CARRY_REF


# --- what finance should look at before approving ---------------------------------------------------------


@dataclass(frozen=True)
class SlipSummary:
    """The part of a payslip the approval warnings look at."""

    agent_id: str
    project_id: str
    agent_name: str | None
    plan_type: str | None
    total: Decimal
    lines: Sequence[Line]
    hours: Decimal = ZERO


@dataclass(frozen=True)
class RunWarning:
    code: str
    message: str
    agent_id: str | None = None
    project_id: str | None = None
    amount: Decimal | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"code": self.code, "message": self.message}
        if self.agent_id is not None:
            out["agent_id"] = self.agent_id
        if self.project_id is not None:
            out["project_id"] = self.project_id
        if self.amount is not None:
            out["amount"] = format(quantize(self.amount), "f")
        return out


WARNING_CODES: tuple[str, ...] = (
    "negative-net",
    "zero-net",
    "deductions-carried",
    "carried-deductions-applied",
    "late-data",
    "no-hours",
    "idle-agent",
    "without-plan",
    "carry-outstanding",
)


def _who(agent_id: str, name: str | None, project_id: str) -> str:
    return f"{name or agent_id} ({agent_id}) in project {project_id}"


def run_warnings(
    period: Period,
    slips: Iterable[SlipSummary],
    *,
    without_plan: Iterable[tuple[str, str]] = (),
    idle: Iterable[tuple[str, str, str | None, str]] = (),
    outstanding: Iterable[tuple[str, str, Decimal]] = (),
) -> list[RunWarning]:
    """Everything unusual in a run, for the clerk who approves it (the run is still approvable).

    ``idle``: (agent_id, project_id, name, plan_type) of members with a plan but nothing to pay;
    ``outstanding``: (agent_id, project_id, amount) of deductions still carried for agents without a
    payslip in this run.
    """
    out: list[RunWarning] = []
    label = str(period)
    for s in slips:
        unusual = [
            line
            for line in s.lines
            if is_carry(line) or (line.kind == LINE_ADJUSTMENT and line.origin_period != label)
        ]
        if s.total > 0 and not unusual and (s.plan_type != HOURLY or s.hours > 0):
            continue  # the usual payslip (thousands in a run): nothing to say, nothing to format
        who = _who(s.agent_id, s.agent_name, s.project_id)
        if s.total < 0:
            out.append(
                RunWarning(
                    "negative-net",
                    f"{who}: net pay {fmt_amount(s.total)} is below zero (negative adjustments); the agent "
                    "would owe money",
                    s.agent_id,
                    s.project_id,
                    s.total,
                )
            )
        elif s.total == 0:
            out.append(RunWarning("zero-net", f"{who}: net pay is 0.00", s.agent_id, s.project_id, s.total))
        carry = carried_out(unusual)
        if carry > 0:
            out.append(
                RunWarning(
                    "deductions-carried",
                    f"{who}: {fmt_amount(carry)} of deductions exceed the pay of {period} and are carried "
                    f"to {period.next()}",
                    s.agent_id,
                    s.project_id,
                    carry,
                )
            )
        applied = carried_in(unusual)
        if applied > 0:
            out.append(
                RunWarning(
                    "carried-deductions-applied",
                    f"{who}: {fmt_amount(applied)} of deductions carried from an earlier period are taken "
                    "this period",
                    s.agent_id,
                    s.project_id,
                    applied,
                )
            )
        late = [line for line in unusual if line.origin_period != label and line.kind == LINE_ADJUSTMENT]
        for line in late:
            out.append(
                RunWarning(
                    "late-data",
                    f"{who}: {fmt_amount(line.amount)} for the closed period {line.origin_period} (data that "
                    "arrived after its approval)",
                    s.agent_id,
                    s.project_id,
                    line.amount,
                )
            )
        if s.plan_type == HOURLY and s.hours <= 0:
            out.append(
                RunWarning(
                    "no-hours",
                    f"{who}: hourly plan but no hours worked in {period}",
                    s.agent_id,
                    s.project_id,
                )
            )
    for agent_id, project_id, name, plan_type in idle:
        out.append(
            RunWarning(
                "idle-agent",
                f"{_who(agent_id, name, project_id)}: a member with a {plan_type} plan but no hours or "
                f"service data in {period}: no payslip",
                agent_id,
                project_id,
            )
        )
    for agent_id, project_id in without_plan:
        out.append(
            RunWarning(
                "without-plan",
                f"{_who(agent_id, None, project_id)}: data in {period} but no pay plan in force: not paid",
                agent_id,
                project_id,
            )
        )
    for agent_id, project_id, amount in outstanding:
        out.append(
            RunWarning(
                "carry-outstanding",
                f"{_who(agent_id, None, project_id)}: {fmt_amount(amount)} of carried deductions still owed, "
                "but no payslip in this run to take them from",
                agent_id,
                project_id,
                amount,
            )
        )
    return out
