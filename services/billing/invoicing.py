"""Merchant invoicing use cases (对商家开票): price lists, the month's invoices, their lifecycle, payments
and credit notes.

A month's invoices are computed in bulk (one query per source table for all the projects, then
``pricing.month_invoice`` per project), so that invoicing hundreds of projects costs a few statements, not
a few per project. Drafts are recalculated from the data as it is; an approved invoice is frozen, an
issued one is never changed again except by its payments and the credit notes that reference it, both
under the invoice's row lock.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, or_, select

from services.billing import pricing
from services.billing.config import BillingSettings
from services.billing.domain import ZERO, Period, period_problem
from services.billing.models import (
    Deduction,
    DocumentCounter,
    Invoice,
    InvoiceLine,
    InvoicePayment,
    KpiScore,
    Performance,
    PriceList,
    Project,
    ProjectSeats,
    SurgeCopy,
    TrainingCohort,
    WorkedHours,
)
from services.billing.projections import require_project
from shared.bulk import chunks, next_in_sequence
from shared.errors import BusinessRuleViolation, Conflict, NotFound, ValidationFailed
from shared.money import format_money
from shared.uow import UnitOfWork
from shared.workdays import today_shanghai

_PRICE_FIELDS = (
    "seat_month_price",
    "agent_hour_price",
    "consultation_price",
    "training_person_hour_price",
    "minimum_charge",
    "complaint_credit",
    "targets_missed_credit_rate",
)


# --- price lists --------------------------------------------------------------------------------------------


def terms_of(row: PriceList) -> pricing.PriceTerms:
    return pricing.PriceTerms(
        id=row.id,
        effective_from=row.effective_from,
        basis=row.basis,
        seat_month_price=row.seat_month_price,
        agent_hour_price=row.agent_hour_price,
        consultation_price=row.consultation_price,
        training_person_hour_price=row.training_person_hour_price,
        surge_premium_rate=row.surge_premium_rate,
        minimum_charge=row.minimum_charge,
        tax_rate=row.tax_rate,
        payment_terms_days=row.payment_terms_days,
        complaint_credit=row.complaint_credit,
        targets_missed_credit_rate=row.targets_missed_credit_rate,
    )


def _last_frozen_period(uow: UnitOfWork, project_id: str) -> str | None:
    """The latest month of the project with an invoice past draft (its prices can no longer change)."""
    return uow.session.execute(
        select(func.max(Invoice.period)).where(
            Invoice.project_id == project_id, Invoice.kind == pricing.INVOICE, Invoice.status != pricing.DRAFT
        )
    ).scalar_one_or_none()


def create_price_list(uow: UnitOfWork, data: Mapping[str, Any], settings: BillingSettings) -> PriceList:
    """A new version of a project's price list, in force from a date (the first of this month by
    default). Versions are never edited, and never take effect in a month already approved or issued."""
    session = uow.session
    require_project(uow, data["project_id"])
    effective_from: dt.date = data.get("effective_from") or today_shanghai(uow.now()).replace(day=1)
    terms = pricing.PriceTerms(
        id=str(uuid.uuid4()),
        effective_from=effective_from,
        basis=data["basis"],
        surge_premium_rate=data.get("surge_premium_rate") or ZERO,
        tax_rate=data["tax_rate"] if data.get("tax_rate") is not None else settings.default_tax_rate,
        payment_terms_days=data.get("payment_terms_days", settings.payment_terms_days),
        **{name: data.get(name) for name in _PRICE_FIELDS},
    )
    problems = pricing.price_terms_problems(terms)
    if problems:
        raise ValidationFailed(problems)
    frozen = _last_frozen_period(uow, data["project_id"])
    if frozen is not None and str(Period.of(effective_from)) <= frozen:
        first_open = Period.parse(frozen).next().start
        raise BusinessRuleViolation(
            f"The invoice for {frozen} is approved or issued, and prices never change under an invoice: make "
            f"the new version effective from {first_open.isoformat()} or later.",
            rule="invoiced-period",
            status=409,
        )
    clash = session.execute(
        select(PriceList.id).where(
            PriceList.project_id == data["project_id"], PriceList.effective_from == effective_from
        )
    ).scalar_one_or_none()
    if clash is not None:
        raise BusinessRuleViolation(
            f"Price list {clash} is already effective from {effective_from.isoformat()}; versions are never "
            "edited: give the new one a later effective_from.",
            rule="price-list-exists",
            status=409,
            extra={"existing_price_list_id": clash},
        )
    row = PriceList(
        id=terms.id,
        project_id=data["project_id"],
        effective_from=effective_from,
        basis=terms.basis,
        surge_premium_rate=terms.surge_premium_rate,
        tax_rate=terms.tax_rate,
        payment_terms_days=terms.payment_terms_days,
        notes=data.get("notes"),
        created_at=uow.now(),
        created_by=uow.actor.sub,
        **{name: getattr(terms, name) for name in _PRICE_FIELDS},
    )
    session.add(row)
    return row


def get_price_list(uow: UnitOfWork, price_list_id: str) -> PriceList:
    row = uow.session.get(PriceList, price_list_id)
    if row is None:
        raise NotFound(f"There is no price list {price_list_id!r}.")
    return row


# --- the month's inputs, for many projects at once ----------------------------------------------------------


@dataclass
class _Month:
    """Everything the month's invoices of some projects are computed from, by project."""

    versions: dict[str, list[pricing.PriceTerms]] = field(default_factory=lambda: defaultdict(list))
    seats: dict[str, list[pricing.SeatChange]] = field(default_factory=lambda: defaultdict(list))
    hours: dict[str, dict[dt.date, pricing.DayTotal]] = field(default_factory=lambda: defaultdict(dict))
    consultations: dict[str, dict[dt.date, pricing.DayTotal]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    surges: dict[str, list[pricing.SurgeItem]] = field(default_factory=lambda: defaultdict(list))
    cohorts: dict[str, list[pricing.CohortItem]] = field(default_factory=lambda: defaultdict(list))
    upheld: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    kpi: dict[str, tuple[int, list[str]]] = field(default_factory=dict)


def _load_month(uow: UnitOfWork, period: Period, project_ids: Sequence[str]) -> _Month:
    session = uow.session
    month = _Month()
    for chunk in chunks(list(project_ids)):
        ids = list(chunk)
        for row in session.scalars(
            select(PriceList)
            .where(PriceList.project_id.in_(ids), PriceList.effective_from <= period.end)
            .order_by(PriceList.project_id, PriceList.effective_from)
        ):
            month.versions[row.project_id].append(terms_of(row))
        for project_id, day, seats in session.execute(
            select(ProjectSeats.project_id, ProjectSeats.effective_from, ProjectSeats.seats)
            .where(ProjectSeats.project_id.in_(ids))
            .order_by(ProjectSeats.project_id, ProjectSeats.effective_from)
        ):
            month.seats[project_id].append(pricing.SeatChange(day, seats))
        for project_id, day, hours, rows in session.execute(
            select(WorkedHours.project_id, WorkedHours.date, func.sum(WorkedHours.hours), func.count())
            .where(WorkedHours.project_id.in_(ids), WorkedHours.date.between(period.start, period.end))
            .group_by(WorkedHours.project_id, WorkedHours.date)
        ):
            month.hours[project_id][day] = pricing.DayTotal(Decimal(hours), rows)
        for project_id, day, count, rows in session.execute(
            select(
                Performance.project_id, Performance.date, func.sum(Performance.consultations), func.count()
            )
            .where(Performance.project_id.in_(ids), Performance.date.between(period.start, period.end))
            .group_by(Performance.project_id, Performance.date)
        ):
            month.consultations[project_id][day] = pricing.DayTotal(Decimal(count), rows)
        for surge in session.scalars(
            select(SurgeCopy)
            .where(
                SurgeCopy.project_id.in_(ids),
                SurgeCopy.start_date <= period.end,
                SurgeCopy.end_date >= period.start,
            )
            .order_by(SurgeCopy.start_date, SurgeCopy.surge_id)
        ):
            month.surges[surge.project_id].append(
                pricing.SurgeItem(
                    surge.surge_id, surge.start_date, surge.end_date, surge.extra_seats, surge.increase_pct
                )
            )
        for cohort in session.scalars(
            select(TrainingCohort)
            .where(
                TrainingCohort.project_id.in_(ids),
                TrainingCohort.completed_on.between(period.start, period.end),
            )
            .order_by(TrainingCohort.completed_on, TrainingCohort.cohort_id)
        ):
            month.cohorts[cohort.project_id].append(
                pricing.CohortItem(cohort.cohort_id, cohort.completed_on, cohort.trainees, cohort.hours_each)
            )
        for project_id, complaint_id, number in session.execute(
            select(Deduction.project_id, Deduction.complaint_id, Deduction.number)
            .where(Deduction.project_id.in_(ids), Deduction.period == str(period))
            .order_by(Deduction.resolved_on, Deduction.number)
        ):
            month.upheld[project_id].append((complaint_id, number))
        scored: dict[str, tuple[int, list[str]]] = {}
        for project_id, agent_id, met in session.execute(
            select(KpiScore.project_id, KpiScore.agent_id, KpiScore.targets_met)
            .where(KpiScore.project_id.in_(ids), KpiScore.period == str(period))
            .order_by(KpiScore.project_id, KpiScore.agent_id)
        ):
            count, missed = scored.get(project_id, (0, []))
            scored[project_id] = (count + 1, missed if met else [*missed, agent_id])
        month.kpi.update(scored)
    return month


def _inputs(project: Project, period: Period, month: _Month) -> pricing.MonthInputs:
    pid = project.project_id
    scored, missed = month.kpi.get(pid, (0, []))
    return pricing.MonthInputs(
        period=period,
        versions=month.versions.get(pid, []),
        go_live=project.go_live_date,
        closed_on=project.closed_on,
        seat_changes=month.seats.get(pid, []),
        hours=month.hours.get(pid, {}),
        consultations=month.consultations.get(pid, {}),
        surges=month.surges.get(pid, []),
        cohorts=month.cohorts.get(pid, []),
        upheld=month.upheld.get(pid, []),
        kpi=pricing.KpiVerdicts(scored, tuple(missed)),
    )


# --- generating and recalculating drafts --------------------------------------------------------------------


@dataclass
class Generation:
    """What a month's invoicing did: drafts created or recalculated, invoices kept, projects skipped."""

    period: str
    created: list[str] = field(default_factory=list)
    recalculated: list[str] = field(default_factory=list)
    kept: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)


def _check_period(uow: UnitOfWork, text: str) -> Period:
    problem = period_problem(text, today_shanghai(uow.now()))
    if problem:
        raise ValidationFailed({"period": [problem]})
    return Period.parse(text)


def _priced_projects(uow: UnitOfWork, period: Period, project_id: str | None) -> list[Project]:
    """Projects with a price list in force in the month or in service during it (those without a price
    list are reported, not invoiced), or the one asked for. A project closed before the month is left out:
    it would be reported as having nothing to charge every month from then on."""
    if project_id is not None:
        return [require_project(uow, project_id)]
    priced = select(PriceList.project_id).where(PriceList.effective_from <= period.end).distinct()
    not_closed = or_(Project.closed_on.is_(None), Project.closed_on >= period.start)
    live = Project.go_live_date <= period.end
    return list(
        uow.session.scalars(
            select(Project)
            .where(or_(Project.project_id.in_(priced), live), not_closed)
            .order_by(Project.project_id)
        )
    )


def generate_invoices(uow: UnitOfWork, period_text: str, project_id: str | None = None) -> Generation:
    """Draft the month's invoice of every priced project (or one): a new draft, or the draft recalculated;
    approved and issued invoices are kept as they are; a project with nothing to charge is skipped."""
    period = _check_period(uow, period_text)
    projects = _priced_projects(uow, period, project_id)
    result = Generation(str(period))
    if not projects:
        return result
    ids = [p.project_id for p in projects]
    existing: dict[str, Invoice] = {}
    for chunk in chunks(ids):
        for invoice in uow.session.scalars(
            select(Invoice)
            .where(
                Invoice.kind == pricing.INVOICE,
                Invoice.period == str(period),
                Invoice.project_id.in_(list(chunk)),
            )
            .with_for_update()
        ):
            existing[invoice.project_id] = invoice
    month = _load_month(uow, period, ids)
    drafts: list[tuple[Invoice, Project, pricing.MonthInvoice]] = []
    for project in projects:
        current = existing.get(project.project_id)
        if current is not None and current.status != pricing.DRAFT:
            result.kept.append(
                {"project_id": project.project_id, "invoice_id": current.id, "status": current.status}
            )
            continue
        if not month.versions.get(project.project_id):
            result.skipped.append(
                {"project_id": project.project_id, "reason": f"no price list in force in {period}"}
            )
            continue
        computed = pricing.month_invoice(_inputs(project, period, month))
        if not computed.lines:
            result.skipped.append(
                {"project_id": project.project_id, "reason": f"nothing to charge in {period}"}
            )
            if current is not None:
                uow.session.delete(current)
            continue
        if current is None:
            invoice = _new_invoice(uow, project, period)
            uow.session.add(invoice)
            result.created.append(invoice.id)
        else:
            invoice = current
            result.recalculated.append(invoice.id)
        drafts.append((invoice, project, computed))
    _store(uow, drafts, replaced=result.recalculated)
    return result


def _store(
    uow: UnitOfWork, drafts: Sequence[tuple[Invoice, Project, pricing.MonthInvoice]], replaced: Sequence[str]
) -> None:
    """Write computed drafts: their figures, and their lines in place of the old ones of ``replaced``."""
    lines: list[dict[str, Any]] = []
    # figures first: the DELETE below autoflushes the new drafts, which must be complete by then
    for invoice, project, computed in drafts:
        _apply(uow, invoice, project, computed)
        lines.extend(_line_rows(invoice.id, computed.lines))
    for chunk in chunks(list(replaced)):
        uow.session.execute(delete(InvoiceLine).where(InvoiceLine.invoice_id.in_(list(chunk))))
    uow.session.flush()
    for chunk in chunks(lines):
        uow.session.execute(insert(InvoiceLine), list(chunk))


def _new_invoice(uow: UnitOfWork, project: Project, period: Period) -> Invoice:
    return Invoice(
        id=str(uuid.uuid4()),
        kind=pricing.INVOICE,
        period=str(period),
        project_id=project.project_id,
        status=pricing.DRAFT,
        currency="CNY",
        paid=ZERO,
        credited=ZERO,
        created_at=uow.now(),
        created_by=uow.actor.sub,
    )


def _apply(uow: UnitOfWork, invoice: Invoice, project: Project, computed: pricing.MonthInvoice) -> None:
    invoice.merchant_id = project.merchant_id
    invoice.company_name = project.company_name
    invoice.subtotal = computed.subtotal
    invoice.tax_rate = computed.tax_rate
    invoice.tax = computed.tax
    invoice.total = computed.total
    invoice.payment_terms_days = computed.payment_terms_days
    invoice.warnings = [w.as_dict() for w in computed.warnings]
    invoice.calculated_at = uow.now()


def _line_rows(invoice_id: str, lines: Iterable[pricing.InvoiceLine]) -> list[dict[str, Any]]:
    return [
        {
            "invoice_id": invoice_id,
            "seq": seq,
            "kind": line.kind,
            "description": line.description[:500],
            "quantity": line.quantity,
            "unit": line.unit,
            "unit_price": line.unit_price,
            "amount": line.amount,
            "price_list_id": line.price_list_id,
            "sources": line.sources,
        }
        for seq, line in enumerate(lines, start=1)
    ]


def get_invoice(uow: UnitOfWork, invoice_id: str, *, lock: bool = False) -> Invoice:
    """One invoice or credit note (404 if unknown; a merchant's only when its own and issued)."""
    stmt = select(Invoice).where(Invoice.id == invoice_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    invoice = uow.session.scalars(stmt).one_or_none()
    actor = uow.actor
    if invoice is None or (
        actor.is_merchant
        and (invoice.merchant_id != actor.merchant_id or invoice.status not in pricing.ISSUED_STATUSES)
    ):
        raise NotFound(f"There is no invoice {invoice_id!r}.")
    return invoice


def _must_be(invoice: Invoice, statuses: Sequence[str], action: str) -> None:
    if invoice.status in statuses:
        return
    what = f"{invoice.number} is {invoice.status}" if invoice.number else f"it is {invoice.status}"
    raise Conflict(
        f"Cannot {action}: {what} (it must be {' or '.join(statuses)}).",
        extra={"rule": "invoice-status", "status": invoice.status, "number": invoice.number},
    )


def recalculate_invoice(uow: UnitOfWork, invoice_id: str) -> Invoice:
    """Recompute a draft from the data as it is now (409 once approved)."""
    invoice = get_invoice(uow, invoice_id, lock=True)
    # only invoices are ever drafts: a credit note is issued when it is made
    _must_be(invoice, (pricing.DRAFT,), "recalculate the invoice")
    project = require_project(uow, invoice.project_id)
    period = Period.parse(invoice.period)
    computed = pricing.month_invoice(_inputs(project, period, _load_month(uow, period, [project.project_id])))
    _store(uow, [(invoice, project, computed)], replaced=[invoice.id])
    return invoice


def delete_draft(uow: UnitOfWork, invoice_id: str) -> None:
    invoice = get_invoice(uow, invoice_id, lock=True)
    _must_be(invoice, (pricing.DRAFT,), "delete the invoice (only a draft can be deleted)")
    uow.session.delete(invoice)


def approve_invoice(uow: UnitOfWork, invoice_id: str) -> Invoice:
    """Finance approves a draft: its amounts are frozen from now on."""
    invoice = get_invoice(uow, invoice_id, lock=True)
    _must_be(invoice, (pricing.DRAFT,), "approve the invoice")
    if invoice.total <= 0:
        raise BusinessRuleViolation(
            f"The invoice's total is {format_money(invoice.total)}: there is nothing to invoice.",
            rule="nothing-to-invoice",
            status=409,
        )
    invoice.status = pricing.APPROVED
    invoice.approved_at, invoice.approved_by = uow.now(), uow.actor.sub
    return invoice


def reopen_invoice(uow: UnitOfWork, invoice_id: str) -> Invoice:
    """Send an approved invoice back to draft (before it is issued), e.g. to recalculate it."""
    invoice = get_invoice(uow, invoice_id, lock=True)
    _must_be(invoice, (pricing.APPROVED,), "reopen the invoice")
    invoice.status = pricing.DRAFT
    invoice.approved_at = invoice.approved_by = None
    return invoice


def _event_data(invoice: Invoice) -> dict[str, Any]:
    balance = pricing.balance_of(invoice.total, invoice.credited, invoice.paid)
    return {
        "invoice_id": invoice.id,
        "number": invoice.number,
        "merchant_id": invoice.merchant_id,
        "project_id": invoice.project_id,
        "period": invoice.period,
        "total": format_money(invoice.total),
        "balance": format_money(balance),
        "status": invoice.status,
        "due_on": invoice.due_on,
    }


def _take_number(uow: UnitOfWork, kind: str, day: dt.date) -> str:
    seq = next_in_sequence(
        uow.session, DocumentCounter, {"series": pricing.NUMBER_PREFIX[kind], "year": day.year}
    )
    return pricing.document_number(kind, day.year, seq)


def issue_invoice(uow: UnitOfWork, invoice_id: str) -> Invoice:
    """Issue an approved invoice: it takes the year's next number (gap-free: a rolled-back issue gives it
    back) and its due date, and invoice.issued is published. Two issues at once: the row lock queues the
    second, which then finds the invoice issued (409)."""
    invoice = get_invoice(uow, invoice_id, lock=True)
    _must_be(invoice, (pricing.APPROVED,), "issue the invoice")
    today = today_shanghai(uow.now())
    invoice.number = _take_number(uow, pricing.INVOICE, today)
    invoice.status = pricing.ISSUED
    invoice.issued_on = today
    invoice.due_on = pricing.due_date(today, invoice.payment_terms_days)
    invoice.issued_at, invoice.issued_by = uow.now(), uow.actor.sub
    uow.emit("invoice.issued", _event_data(invoice))
    return invoice


def record_payment(uow: UnitOfWork, invoice_id: str, data: Mapping[str, Any]) -> InvoicePayment:
    """A payment received (收款) against an issued invoice: at most its balance; the invoice becomes
    partly paid or paid, and invoice.paid is published."""
    invoice = get_invoice(uow, invoice_id, lock=True)
    if invoice.kind != pricing.INVOICE:
        raise Conflict(
            "Payments are recorded against invoices, not credit notes.", extra={"rule": "invoice-kind"}
        )
    _must_be(invoice, (pricing.ISSUED, pricing.PARTLY_PAID), "record a payment")
    amount: Decimal = data["amount"]
    paid_on: dt.date = data.get("paid_on") or today_shanghai(uow.now())
    errors: dict[str, list[str]] = {}
    if paid_on > today_shanghai(uow.now()):
        errors["paid_on"] = ["cannot be in the future"]
    balance = pricing.balance_of(invoice.total, invoice.credited, invoice.paid)
    if amount > balance:
        errors["amount"] = [f"is more than the balance {format_money(balance)} of {invoice.number}"]
    if errors:
        raise ValidationFailed(errors)
    payment = InvoicePayment(
        id=str(uuid.uuid4()),
        invoice_id=invoice.id,
        amount=amount,
        paid_on=paid_on,
        reference=data.get("reference"),
        note=data.get("note"),
        recorded_at=uow.now(),
        recorded_by=uow.actor.sub,
    )
    uow.session.add(payment)
    invoice.paid = invoice.paid + amount
    invoice.status = pricing.settled_status(invoice.total, invoice.credited, invoice.paid)
    uow.session.flush()
    uow.emit(
        "invoice.paid",
        _event_data(invoice) | {"payment_id": payment.id, "amount": format_money(amount), "paid_on": paid_on},
    )
    return payment


def reverse_payment(uow: UnitOfWork, invoice_id: str, payment_id: str, reason: str) -> InvoicePayment:
    """Reverse a payment recorded by mistake (冲销): it stays listed as reversed, with who and why, and
    no longer counts; the invoice's status follows its money again (paid → partly paid or issued)."""
    invoice = get_invoice(uow, invoice_id, lock=True)
    payment = uow.session.get(InvoicePayment, payment_id)
    if payment is None or payment.invoice_id != invoice.id:
        raise NotFound(f"Invoice {invoice.number or invoice.id} has no payment {payment_id!r}.")
    if payment.reversed_at is not None:
        raise Conflict(
            f"This payment was already reversed on {payment.reversed_at:%Y-%m-%d} by {payment.reversed_by}.",
            extra={"rule": "payment-reversed"},
        )
    payment.reversed_at, payment.reversed_by, payment.reversal_reason = uow.now(), uow.actor.sub, reason
    invoice.paid = invoice.paid - payment.amount
    invoice.status = pricing.settled_status(invoice.total, invoice.credited, invoice.paid)
    return payment


def create_credit_note(uow: UnitOfWork, invoice_id: str, data: Mapping[str, Any]) -> Invoice:
    """A credit note (红字结算单) correcting an issued invoice: its own HC number, negative amounts at the
    invoice's tax rate, never more than what is left of the invoice. On a paid invoice the balance goes
    below zero: a credit owed to the merchant."""
    invoice = get_invoice(uow, invoice_id, lock=True)
    if invoice.kind != pricing.INVOICE:
        raise Conflict(
            "A credit note corrects an invoice, not another credit note.", extra={"rule": "invoice-kind"}
        )
    _must_be(invoice, pricing.ISSUED_STATUSES, "credit the invoice (only an issued invoice is credited)")
    amounts = [item["amount"] for item in data["lines"]]
    subtotal, tax, total = pricing.credit_note_totals(amounts, invoice.tax_rate)
    room = pricing.credit_room(invoice.total, invoice.credited)
    if -total > room:
        raise BusinessRuleViolation(
            f"The credit note's total {format_money(-total)} (tax included) is more than what is left of "
            f"{invoice.number} to credit, {format_money(room)}.",
            rule="credit-exceeds-invoice",
            status=409,
            extra={"creditable": format_money(room)},
        )
    today = today_shanghai(uow.now())
    note = Invoice(
        id=str(uuid.uuid4()),
        kind=pricing.CREDIT_NOTE,
        number=_take_number(uow, pricing.CREDIT_NOTE, today),
        period=invoice.period,
        project_id=invoice.project_id,
        merchant_id=invoice.merchant_id,
        company_name=invoice.company_name,
        status=pricing.ISSUED,
        currency=invoice.currency,
        subtotal=subtotal,
        tax_rate=invoice.tax_rate,
        tax=tax,
        total=total,
        paid=ZERO,
        credited=ZERO,
        payment_terms_days=0,
        issued_on=today,
        credited_invoice_id=invoice.id,
        reason=data["reason"],
        warnings=[],
        created_at=uow.now(),
        created_by=uow.actor.sub,
        calculated_at=uow.now(),
        approved_at=uow.now(),
        approved_by=uow.actor.sub,
        issued_at=uow.now(),
        issued_by=uow.actor.sub,
    )
    uow.session.add(note)
    uow.session.flush()
    uow.session.execute(
        insert(InvoiceLine),
        [
            {
                "invoice_id": note.id,
                "seq": seq,
                "kind": pricing.CORRECTION,
                "description": item["description"],
                "quantity": Decimal(1),
                "unit": pricing.UNIT_ITEM,
                "unit_price": -item["amount"],
                "amount": -item["amount"],
                "price_list_id": None,
                "sources": {"table": "invoices", "invoice_id": invoice.id, "number": invoice.number},
            }
            for seq, item in enumerate(data["lines"], start=1)
        ],
    )
    invoice.credited = invoice.credited + total
    invoice.status = pricing.settled_status(invoice.total, invoice.credited, invoice.paid)
    uow.emit("invoice.issued", _event_data(note))
    return note


def open_balance_filter() -> Any:
    """Invoices still owing something (issued, partly paid), for overdue lists and aging."""
    return Invoice.status.in_((pricing.ISSUED, pricing.PARTLY_PAID))
