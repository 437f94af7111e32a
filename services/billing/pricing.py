"""Merchant invoicing rules (对商家开票): price lists, the month's invoice lines, tax, settlement and margin.

Pure: no database, no Flask. The vendor prices a project (seed 000 §10.2–10.3) per seat-month, per
agent-hour or per consultation, charges training by hours × people, and adds a premium for surge seats.
Each price list version is in force from its date, so a month may be priced by two versions: every day is
priced by the version in force that day, and each version's days make their own line.

An invoice is never edited once issued: corrections are credit notes (红字, negative amounts) that reference
it, and its balance is total + credit notes − payments (a negative balance is a credit to the merchant).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from services.billing.domain import ONE, ZERO, Period
from shared.money import format_money, quantize

SEAT_MONTH = "seat_month"
AGENT_HOUR = "agent_hour"
CONSULTATION = "consultation"
BASES = (SEAT_MONTH, AGENT_HOUR, CONSULTATION)
#: the price of each basis, by its field
BASIS_PRICE = {
    SEAT_MONTH: "seat_month_price",
    AGENT_HOUR: "agent_hour_price",
    CONSULTATION: "consultation_price",
}
DEFAULT_TAX_RATE = Decimal("0.06")  # 现代服务业 VAT for a general taxpayer
DEFAULT_PAYMENT_TERMS_DAYS = 30

# invoice line kinds
SEATS = "seats"
SURGE = "surge"
HOURS = "hours"
CONSULTATIONS = "consultations"
TRAINING = "training"
MINIMUM = "minimum"
COMPLAINT_CREDIT = "complaint_credit"
TARGETS_CREDIT = "targets_credit"
CORRECTION = "correction"
LINE_KINDS = (
    SEATS,
    SURGE,
    HOURS,
    CONSULTATIONS,
    TRAINING,
    MINIMUM,
    COMPLAINT_CREDIT,
    TARGETS_CREDIT,
    CORRECTION,
)
#: lines that are the service fee (服务费): what the minimum charge and the targets credit are measured on
SERVICE_KINDS = frozenset({SEATS, SURGE, HOURS, CONSULTATIONS})
#: lines that are penalties borne by the vendor (what the margin report subtracts as penalties)
CREDIT_KINDS = frozenset({COMPLAINT_CREDIT, TARGETS_CREDIT})

UNIT_SEAT_MONTH = "坐席月"
UNIT_HOUR = "工时"
UNIT_CONSULTATION = "次"
UNIT_PERSON_HOUR = "人·时"
UNIT_ITEM = "项"
_UNITS = {SEAT_MONTH: UNIT_SEAT_MONTH, AGENT_HOUR: UNIT_HOUR, CONSULTATION: UNIT_CONSULTATION}
_QTY = Decimal("0.0001")

# documents, statuses and numbers
INVOICE = "invoice"
CREDIT_NOTE = "credit_note"
DRAFT = "draft"
APPROVED = "approved"
ISSUED = "issued"
PARTLY_PAID = "partly_paid"
PAID = "paid"
#: an issued invoice whose credit notes cancel it with nothing paid
CREDITED = "credited"
STATUSES = (DRAFT, APPROVED, ISSUED, PARTLY_PAID, PAID, CREDITED)
#: statuses of a document that has its number (what a merchant may see; what counts as revenue)
ISSUED_STATUSES = (ISSUED, PARTLY_PAID, PAID, CREDITED)
NUMBER_PREFIX = {INVOICE: "FP", CREDIT_NOTE: "HC"}

AGING_BUCKETS = ("current", "1_30", "31_60", "61_90", "over_90")


# --- price lists (报价) -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceTerms:
    """One version of a project's price list, in force from ``effective_from`` until the next version."""

    id: str
    effective_from: dt.date
    basis: str
    seat_month_price: Decimal | None = None
    agent_hour_price: Decimal | None = None
    consultation_price: Decimal | None = None
    training_person_hour_price: Decimal | None = None
    #: surcharge on surge capacity, as a rate (0.2 = surge seats cost 20% more)
    surge_premium_rate: Decimal = ZERO
    #: the month's service fee is at least this (保底)
    minimum_charge: Decimal | None = None
    tax_rate: Decimal = DEFAULT_TAX_RATE
    payment_terms_days: int = DEFAULT_PAYMENT_TERMS_DAYS
    #: credited to the merchant per complaint upheld against an agent (None: the contract gives none)
    complaint_credit: Decimal | None = None
    #: share of the service fee credited when quality's verdict says the service targets were missed,
    #: weighted by the share of scored agents who missed them (None: the contract gives none)
    targets_missed_credit_rate: Decimal | None = None

    @property
    def unit_price(self) -> Decimal | None:
        return getattr(self, BASIS_PRICE[self.basis])


def price_terms_problems(terms: PriceTerms) -> dict[str, list[str]]:
    """What is wrong with a price list version, by field (empty when it can be used)."""
    problems: dict[str, list[str]] = {}
    if terms.basis not in BASES:
        problems["basis"] = [f"must be one of {', '.join(BASES)}"]
        return problems
    price_field = BASIS_PRICE[terms.basis]
    if terms.unit_price is None or terms.unit_price <= 0:
        problems[price_field] = [f"a {terms.basis} price list needs a {price_field} above 0"]
    for name in BASIS_PRICE.values():
        if name != price_field and getattr(terms, name) is not None:
            problems.setdefault(name, []).append(
                f"only {price_field} applies to a {terms.basis} price list; leave {name} out"
            )
    if terms.tax_rate >= ONE:
        problems["tax_rate"] = ["must be below 1 (0.06 is 6%)"]
    if terms.surge_premium_rate > 5:
        problems["surge_premium_rate"] = ["at most 5 (a 500% premium)"]
    if terms.targets_missed_credit_rate is not None and terms.targets_missed_credit_rate > ONE:
        problems["targets_missed_credit_rate"] = ["at most 1 (the whole service fee)"]
    return problems


def version_on(versions: Sequence[PriceTerms], day: dt.date) -> PriceTerms | None:
    """The version in force on ``day``: the latest one effective on or before it (versions by date)."""
    found = None
    for terms in versions:
        if terms.effective_from > day:
            break
        found = terms
    return found


# --- what a month of a project consists of ------------------------------------------------------------------


@dataclass(frozen=True)
class SeatChange:
    """The project's seat count from a day on (the order, then each change of it)."""

    effective_from: dt.date
    seats: int


@dataclass(frozen=True)
class DayTotal:
    """A day's hours (or consultations) and how many source rows they came from."""

    amount: Decimal
    rows: int


@dataclass(frozen=True)
class SurgeItem:
    """A surge scheduling accepted (扩容): extra seats over a date range."""

    surge_id: str
    start: dt.date
    end: dt.date
    extra_seats: int
    increase_pct: Decimal


@dataclass(frozen=True)
class CohortItem:
    """A training cohort completed in the month: people trained × hours each."""

    cohort_id: str
    completed_on: dt.date
    trainees: int
    hours_each: Decimal


@dataclass(frozen=True)
class KpiVerdicts:
    """Quality's verdicts of the month's agents: how many were scored and which missed the targets."""

    scored: int = 0
    missed: tuple[str, ...] = ()


@dataclass(frozen=True)
class MonthInputs:
    period: Period
    versions: Sequence[PriceTerms]
    go_live: dt.date | None
    closed_on: dt.date | None
    seat_changes: Sequence[SeatChange] = ()
    hours: Mapping[dt.date, DayTotal] = field(default_factory=dict)
    consultations: Mapping[dt.date, DayTotal] = field(default_factory=dict)
    surges: Sequence[SurgeItem] = ()
    cohorts: Sequence[CohortItem] = ()
    #: upheld complaints resolved in the month: (complaint_id, number)
    upheld: Sequence[tuple[str, str]] = ()
    kpi: KpiVerdicts = KpiVerdicts()


@dataclass(frozen=True)
class InvoiceLine:
    kind: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal
    price_list_id: str | None = None
    #: where the figures come from: the source table and the keys that find its rows again
    sources: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Warning_:
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class MonthInvoice:
    lines: tuple[InvoiceLine, ...]
    subtotal: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal
    payment_terms_days: int
    warnings: tuple[Warning_, ...]


def active_days(period: Period, go_live: dt.date | None, closed_on: dt.date | None) -> list[dt.date]:
    """The month's days the project is in service: from go-live through the day it closed."""
    if go_live is None:
        return []
    first = max(period.start, go_live)
    last = period.end if closed_on is None else min(period.end, closed_on)
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def seats_on(changes: Sequence[SeatChange], day: dt.date) -> int:
    """The seat count in force on ``day`` (the order's count before any change; 0 without one)."""
    if not changes:
        return 0
    current = changes[0].seats
    for change in changes:
        if change.effective_from > day:
            break
        current = change.seats
    return current


def _span(days: Sequence[dt.date]) -> str:
    return f"{days[0]:%Y-%m-%d}…{days[-1]:%Y-%m-%d}" if days else ""


def _iso(day: dt.date) -> str:
    # sources are stored as JSON
    return day.isoformat()


def _qty(value: Decimal) -> Decimal:
    return value.quantize(_QTY, rounding=ROUND_HALF_UP)


def _num(value: Decimal) -> str:
    """A quantity without trailing zeros: 8.00 → "8", 7.50 → "7.5"."""
    return f"{value.normalize():f}"


def _by_version(
    versions: Sequence[PriceTerms], days: Iterable[dt.date]
) -> tuple[list[tuple[PriceTerms, list[dt.date]]], list[dt.date]]:
    """The days grouped by the version in force on each (in date order), and the days with none."""
    groups: dict[str, tuple[PriceTerms, list[dt.date]]] = {}
    unpriced: list[dt.date] = []
    for day in days:
        terms = version_on(versions, day)
        if terms is None:
            unpriced.append(day)
            continue
        groups.setdefault(terms.id, (terms, []))[1].append(day)
    return list(groups.values()), unpriced


def _seat_line(
    terms: PriceTerms, days: list[dt.date], changes: Sequence[SeatChange], period: Period
) -> InvoiceLine | None:
    seat_days = sum(seats_on(changes, day) for day in days)
    if seat_days == 0:
        return None
    price = terms.seat_month_price or ZERO
    return InvoiceLine(
        SEATS,
        f"坐席月费 {_span(days)}: {seat_days} 坐席日 ÷ {period.days} 天",
        _qty(Decimal(seat_days) / period.days),
        UNIT_SEAT_MONTH,
        price,
        quantize(Decimal(seat_days) * price / period.days),
        terms.id,
        {"table": "project_seats", "from": _iso(days[0]), "to": _iso(days[-1]), "seat_days": seat_days},
    )


def _volume_line(
    kind: str, terms: PriceTerms, days: list[dt.date], totals: Mapping[dt.date, DayTotal]
) -> InvoiceLine | None:
    units = sum((totals[day].amount for day in days if day in totals), ZERO)
    rows = sum(totals[day].rows for day in days if day in totals)
    if rows == 0:
        return None
    price = terms.unit_price or ZERO
    label = "坐席工时" if kind == HOURS else "咨询接待"
    table = "worked_hours" if kind == HOURS else "performance"
    return InvoiceLine(
        kind,
        f"{label} {_span(days)}: {_num(units)} {_UNITS[terms.basis]}",
        _qty(units),
        _UNITS[terms.basis],
        price,
        quantize(units * price),
        terms.id,
        {"table": table, "from": _iso(days[0]), "to": _iso(days[-1]), "rows": rows},
    )


def _surge_lines(inputs: MonthInputs, in_service: set[dt.date], billed: set[dt.date]) -> list[InvoiceLine]:
    """A surge's extra seats priced with the premium (seat-month lists, days in service); on volume lists
    the volume is already charged, so the premium alone is charged on the surge days' volume."""
    lines: list[InvoiceLine] = []
    period = inputs.period
    for surge in inputs.surges:
        days = [day for day in sorted(billed) if surge.start <= day <= surge.end]
        groups, _unpriced = _by_version(inputs.versions, days)
        for terms, span in groups:
            if terms.basis == SEAT_MONTH:
                span = [day for day in span if day in in_service]
                if not span:
                    continue
            factor = terms.surge_premium_rate
            sources = {
                "table": "surges",
                "surge_id": surge.surge_id,
                "from": _iso(span[0]),
                "to": _iso(span[-1]),
            }
            if terms.basis == SEAT_MONTH:
                seat_days = surge.extra_seats * len(span)
                if seat_days == 0:
                    continue
                price = quantize((terms.seat_month_price or ZERO) * (ONE + factor))
                lines.append(
                    InvoiceLine(
                        SURGE,
                        f"扩容坐席 +{_num(surge.increase_pct)}% {_span(span)}: {surge.extra_seats} 坐席 × "
                        f"{len(span)} 天 ÷ {period.days} 天 (含加价 {_num(factor * 100)}%)",
                        _qty(Decimal(seat_days) / period.days),
                        UNIT_SEAT_MONTH,
                        price,
                        quantize(
                            Decimal(seat_days)
                            * (terms.seat_month_price or ZERO)
                            * (ONE + factor)
                            / period.days
                        ),
                        terms.id,
                        sources | {"seat_days": seat_days},
                    )
                )
                continue
            if factor == 0:
                continue
            totals = inputs.hours if terms.basis == AGENT_HOUR else inputs.consultations
            units = sum((totals[day].amount for day in span if day in totals), ZERO)
            if units == 0:
                continue
            price = (terms.unit_price or ZERO) * factor
            lines.append(
                InvoiceLine(
                    SURGE,
                    f"扩容期加价 {_num(factor * 100)}% {_span(span)}: {_num(units)} {_UNITS[terms.basis]}",
                    _qty(units),
                    _UNITS[terms.basis],
                    quantize(price),
                    quantize(units * price),
                    terms.id,
                    sources,
                )
            )
    return lines


def _training_lines(inputs: MonthInputs) -> tuple[list[InvoiceLine], list[Warning_]]:
    lines: list[InvoiceLine] = []
    warnings: list[Warning_] = []
    for cohort in inputs.cohorts:
        terms = version_on(inputs.versions, cohort.completed_on)
        person_hours = cohort.hours_each * cohort.trainees
        if person_hours == 0:
            continue
        if terms is None or terms.training_person_hour_price is None:
            warnings.append(
                Warning_(
                    "training-unpriced",
                    f"Cohort {cohort.cohort_id} trained {cohort.trainees} people × "
                    f"{_num(cohort.hours_each)} h "
                    "but the price list has no training_person_hour_price: not charged.",
                )
            )
            continue
        price = terms.training_person_hour_price
        lines.append(
            InvoiceLine(
                TRAINING,
                f"培训费 {cohort.completed_on:%Y-%m-%d}: "
                f"{cohort.trainees} 人 × {_num(cohort.hours_each)} 小时",
                _qty(person_hours),
                UNIT_PERSON_HOUR,
                price,
                quantize(person_hours * price),
                terms.id,
                {"table": "training_cohorts", "cohort_id": cohort.cohort_id},
            )
        )
    return lines, warnings


def _credit_lines(terms: PriceTerms, inputs: MonthInputs, service_fee: Decimal) -> list[InvoiceLine]:
    lines: list[InvoiceLine] = []
    if terms.complaint_credit is not None and terms.complaint_credit > 0 and inputs.upheld:
        count = len(inputs.upheld)
        lines.append(
            InvoiceLine(
                COMPLAINT_CREDIT,
                f"投诉赔付: {count} 件成立的投诉 × {format_money(terms.complaint_credit)}",
                Decimal(count),
                UNIT_ITEM,
                -terms.complaint_credit,
                -quantize(terms.complaint_credit * count),
                terms.id,
                {"table": "deductions", "complaints": [number for _id, number in inputs.upheld]},
            )
        )
    rate = terms.targets_missed_credit_rate
    verdicts = inputs.kpi
    if rate and verdicts.scored and verdicts.missed and service_fee > 0:
        share = Decimal(len(verdicts.missed)) / verdicts.scored
        amount = quantize(service_fee * rate * share)
        if amount > 0:
            lines.append(
                InvoiceLine(
                    TARGETS_CREDIT,
                    f"未达服务指标: {len(verdicts.missed)}/{verdicts.scored} 名坐席未达标 × 服务费 "
                    f"{format_money(service_fee)} × {_num(rate * 100)}%",
                    ONE,
                    UNIT_ITEM,
                    -amount,
                    -amount,
                    terms.id,
                    {"table": "kpi_scores", "period": str(inputs.period), "agents": list(verdicts.missed)},
                )
            )
    return lines


def month_invoice(inputs: MonthInputs) -> MonthInvoice:
    """The month's invoice of a project: the service fee by basis and version, surges, training, the
    minimum charge, the contract's credits, then VAT on the subtotal (rounded half-up to the fen)."""
    period = inputs.period
    warnings: list[Warning_] = []
    # seats are charged on the days in service; hours and consultations whenever they were worked (a
    # warm-up before go-live is work delivered too)
    days = active_days(period, inputs.go_live, inputs.closed_on)
    in_service = set(days)
    billed = sorted(in_service | {d for d in (*inputs.hours, *inputs.consultations) if period.contains(d)})
    groups, unpriced = _by_version(inputs.versions, billed)
    if unpriced:
        warnings.append(
            Warning_(
                "days-unpriced",
                f"No price list was in force on {_span(unpriced)} ({len(unpriced)} days): those days are not "
                "charged. Add a price list version effective from the first of them.",
            )
        )
    if days and not inputs.seat_changes and any(terms.basis == SEAT_MONTH for terms, _ in groups):
        warnings.append(Warning_("seats-unknown", "The project's seat count is unknown: no seat fee."))
    lines: list[InvoiceLine] = []
    for terms, span in groups:
        if terms.basis == SEAT_MONTH:
            serving = [day for day in span if day in in_service]
            line = _seat_line(terms, serving, inputs.seat_changes, period) if serving else None
        elif terms.basis == AGENT_HOUR:
            line = _volume_line(HOURS, terms, span, inputs.hours)
        else:
            line = _volume_line(CONSULTATIONS, terms, span, inputs.consultations)
        if line is not None:
            lines.append(line)
    lines.extend(_surge_lines(inputs, in_service, set(billed)))
    training, training_warnings = _training_lines(inputs)
    warnings.extend(training_warnings)
    service_fee = sum((line.amount for line in lines if line.kind in SERVICE_KINDS), ZERO)
    closing = version_on(inputs.versions, billed[-1]) if billed else None
    if days and closing is not None and closing.minimum_charge and service_fee < closing.minimum_charge:
        top_up = closing.minimum_charge - service_fee
        lines.append(
            InvoiceLine(
                MINIMUM,
                f"保底服务费补足: 保底 {format_money(closing.minimum_charge)}"
                f" − 服务费 {format_money(service_fee)}",
                ONE,
                UNIT_ITEM,
                top_up,
                top_up,
                closing.id,
                {"table": "price_lists", "price_list_id": closing.id},
            )
        )
        service_fee = closing.minimum_charge
    lines.extend(training)
    if closing is not None:
        lines.extend(_credit_lines(closing, inputs, service_fee))
    lines, cap_warning = _cap_credits(lines)
    if cap_warning:
        warnings.append(cap_warning)
    tax_terms = closing or (inputs.versions[-1] if inputs.versions else None)
    tax_rate = tax_terms.tax_rate if tax_terms else DEFAULT_TAX_RATE
    terms_days = tax_terms.payment_terms_days if tax_terms else DEFAULT_PAYMENT_TERMS_DAYS
    subtotal = sum((line.amount for line in lines), ZERO)
    tax = quantize(subtotal * tax_rate)
    if not lines:
        warnings.append(Warning_("empty", f"Nothing to charge for {period}."))
    return MonthInvoice(
        tuple(lines), quantize(subtotal), tax_rate, tax, quantize(subtotal) + tax, terms_days, tuple(warnings)
    )


def _cap_credits(lines: list[InvoiceLine]) -> tuple[list[InvoiceLine], Warning_ | None]:
    """Credits never take a month's invoice below zero: what exceeds the charges is dropped (and said),
    since an invoice cannot be negative — a credit beyond it is a credit note's business."""
    charges = sum((line.amount for line in lines if line.amount > 0), ZERO)
    credits = -sum((line.amount for line in lines if line.amount < 0), ZERO)
    if credits <= charges:
        return lines, None
    excess = credits - charges
    capped: list[InvoiceLine] = []
    for line in reversed(lines):
        if line.amount < 0 and excess > 0:
            cut = min(excess, -line.amount)
            excess -= cut
            amount = line.amount + cut
            if amount == 0:
                continue
            line = InvoiceLine(
                line.kind,
                line.description + " (以服务费为限)",
                line.quantity,
                line.unit,
                amount,
                amount,
                line.price_list_id,
                line.sources,
            )
        capped.append(line)
    return list(reversed(capped)), Warning_(
        "credits-capped",
        f"The credits exceed the month's charges by {format_money(credits - charges)}: capped.",
    )


# --- credit notes, settlement, aging ------------------------------------------------------------------------


def credit_note_totals(amounts: Sequence[Decimal], tax_rate: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """A credit note's (subtotal, tax, total), all negative, at the credited invoice's tax rate."""
    subtotal = -quantize(sum(amounts, ZERO))
    tax = -quantize(-subtotal * tax_rate)
    return subtotal, tax, subtotal + tax


def credit_room(total: Decimal, credited: Decimal) -> Decimal:
    """How much more may still be credited on an invoice (credit notes never exceed what was invoiced)."""
    return total + credited  # credited is negative


def balance_of(total: Decimal, credited: Decimal, paid: Decimal) -> Decimal:
    """What the merchant still owes: negative when it paid more than it now owes (a credit)."""
    return total + credited - paid


def settled_status(total: Decimal, credited: Decimal, paid: Decimal) -> str:
    """An issued invoice's status from its money: paid, partly paid, credited, or still issued."""
    balance = balance_of(total, credited, paid)
    if balance <= 0:
        return PAID if paid > 0 else CREDITED
    return PARTLY_PAID if paid > 0 else ISSUED


def days_overdue(due_on: dt.date | None, balance: Decimal, today: dt.date) -> int:
    """Days past the due date of an invoice still owing something (0 when not overdue)."""
    if due_on is None or balance <= 0 or today <= due_on:
        return 0
    return (today - due_on).days


def aging_bucket(overdue_days: int) -> str:
    """The aging column (账龄) of an open balance: current, 1–30, 31–60, 61–90 or over 90 days late."""
    if overdue_days <= 0:
        return "current"
    if overdue_days <= 30:
        return "1_30"
    if overdue_days <= 60:
        return "31_60"
    if overdue_days <= 90:
        return "61_90"
    return "over_90"


def document_number(kind: str, year: int, seq: int) -> str:
    """``FP2026-00001`` for invoices, ``HC2026-00001`` for credit notes: a gap-free counter per year."""
    if seq < 1:
        raise ValueError("the yearly counter starts at 1")
    return f"{NUMBER_PREFIX[kind]}{year:04d}-{seq:05d}"


def due_date(issued_on: dt.date, terms_days: int) -> dt.date:
    return issued_on + dt.timedelta(days=terms_days)


# --- margin (项目毛利) --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Margin:
    """A project's month: revenue invoiced (before tax, credit notes taken off), the agents' pay and the
    penalties credited to the merchant; margin = revenue − pay − penalties."""

    revenue: Decimal
    agent_pay: Decimal
    penalties: Decimal

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.agent_pay - self.penalties

    @property
    def margin_rate(self) -> Decimal | None:
        if self.revenue <= 0:
            return None
        return (self.margin / self.revenue).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)

    def __add__(self, other: Margin) -> Margin:
        return Margin(
            self.revenue + other.revenue, self.agent_pay + other.agent_pay, self.penalties + other.penalties
        )


NO_MARGIN = Margin(ZERO, ZERO, ZERO)
