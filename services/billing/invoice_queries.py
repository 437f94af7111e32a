"""The read side of merchant invoicing: price lists, invoices as the views answer them, the rows behind a
line, aging of open balances, the accounting documents and project margins.

A merchant sees only its own issued documents (``invoicing.get_invoice`` and the list's filter), whatever
the filters say; finance and the vendor see everything.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, func, select

from services.billing import pricing
from services.billing.domain import ZERO
from services.billing.invoicing import get_invoice, open_balance_filter
from services.billing.models import (
    Deduction,
    Invoice,
    InvoiceLine,
    InvoicePayment,
    KpiScore,
    PayrollRun,
    Payslip,
    Performance,
    PriceList,
    Project,
    ProjectSeats,
    SurgeCopy,
    TrainingCohort,
    WorkedHours,
)
from services.billing.payroll import APPROVED
from shared.errors import NotFound
from shared.pagination import Page, paginate_args
from shared.uow import UnitOfWork
from shared.workdays import today_shanghai

# --- price lists --------------------------------------------------------------------------------------------

PRICE_LISTS_ORDER = (PriceList.project_id, PriceList.effective_from, PriceList.id)


def price_list_view(row: PriceList) -> dict[str, Any]:
    return {
        "id": row.id,
        "project_id": row.project_id,
        "effective_from": row.effective_from,
        "basis": row.basis,
        "seat_month_price": row.seat_month_price,
        "agent_hour_price": row.agent_hour_price,
        "consultation_price": row.consultation_price,
        "training_person_hour_price": row.training_person_hour_price,
        "surge_premium_rate": row.surge_premium_rate,
        "minimum_charge": row.minimum_charge,
        "tax_rate": row.tax_rate,
        "payment_terms_days": row.payment_terms_days,
        "complaint_credit": row.complaint_credit,
        "targets_missed_credit_rate": row.targets_missed_credit_rate,
        "notes": row.notes,
        "created_at": row.created_at,
        "created_by": row.created_by,
    }


def list_price_lists(uow: UnitOfWork, args: Mapping[str, Any]) -> Page:
    stmt = select(PriceList)
    if args.get("project_id"):
        stmt = stmt.where(PriceList.project_id == args["project_id"])
    if args.get("in_force_on"):
        stmt = stmt.where(PriceList.effective_from <= args["in_force_on"])
    page = paginate_args(uow.session, stmt, args, order_by=PRICE_LISTS_ORDER)
    return page.with_items([price_list_view(row) for row in page.items])


# --- invoices -----------------------------------------------------------------------------------------------

INVOICES_ORDER = (Invoice.period.desc(), Invoice.created_at.desc(), Invoice.id.desc())


def _balance(invoice: Invoice) -> Decimal:
    return pricing.balance_of(invoice.total, invoice.credited, invoice.paid)


def summary_view(invoice: Invoice, today: dt.date) -> dict[str, Any]:
    """An invoice or credit note without its lines: what lists show."""
    balance = _balance(invoice) if invoice.kind == pricing.INVOICE else ZERO
    overdue_days = pricing.days_overdue(invoice.due_on, balance, today) if invoice.number else 0
    return {
        "id": invoice.id,
        "kind": invoice.kind,
        "number": invoice.number,
        "period": invoice.period,
        "project_id": invoice.project_id,
        "merchant_id": invoice.merchant_id,
        "company_name": invoice.company_name,
        "status": invoice.status,
        "overdue": overdue_days > 0,
        "days_overdue": overdue_days,
        "currency": invoice.currency,
        "subtotal": invoice.subtotal,
        "tax_rate": invoice.tax_rate,
        "tax": invoice.tax,
        "total": invoice.total,
        "paid": invoice.paid,
        "credited": invoice.credited,
        "balance": balance,
        "issued_on": invoice.issued_on,
        "due_on": invoice.due_on,
        "credited_invoice_id": invoice.credited_invoice_id,
        "reason": invoice.reason,
        "warnings": invoice.warnings or [],
        "created_at": invoice.created_at,
        "calculated_at": invoice.calculated_at,
        "approved_at": invoice.approved_at,
        "approved_by": invoice.approved_by,
        "issued_at": invoice.issued_at,
        "issued_by": invoice.issued_by,
    }


def line_view(line: InvoiceLine) -> dict[str, Any]:
    return {
        "id": line.id,
        "seq": line.seq,
        "kind": line.kind,
        "description": line.description,
        "quantity": line.quantity,
        "unit": line.unit,
        "unit_price": line.unit_price,
        "amount": line.amount,
        "price_list_id": line.price_list_id,
        "sources": line.sources,
    }


def invoice_view(uow: UnitOfWork, invoice: Invoice) -> dict[str, Any]:
    """The whole document: lines, payments, the credit notes referencing it (or the invoice it credits)."""
    session = uow.session
    view = summary_view(invoice, today_shanghai(uow.now()))
    view["lines"] = [
        line_view(line)
        for line in session.scalars(
            select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id).order_by(InvoiceLine.seq)
        )
    ]
    view["payments"] = [
        {
            "id": p.id,
            "amount": p.amount,
            "paid_on": p.paid_on,
            "reference": p.reference,
            "note": p.note,
            "recorded_at": p.recorded_at,
            "recorded_by": p.recorded_by,
            "reversed_at": p.reversed_at,
            "reversed_by": p.reversed_by,
            "reversal_reason": p.reversal_reason,
        }
        for p in session.scalars(
            select(InvoicePayment)
            .where(InvoicePayment.invoice_id == invoice.id)
            .order_by(InvoicePayment.paid_on, InvoicePayment.recorded_at)
        )
    ]
    view["credit_notes"] = [
        {"id": n.id, "number": n.number, "total": n.total, "issued_on": n.issued_on, "reason": n.reason}
        for n in session.scalars(
            select(Invoice).where(Invoice.credited_invoice_id == invoice.id).order_by(Invoice.number)
        )
    ]
    view["credited_invoice_number"] = None
    if invoice.credited_invoice_id:
        view["credited_invoice_number"] = session.execute(
            select(Invoice.number).where(Invoice.id == invoice.credited_invoice_id)
        ).scalar_one_or_none()
    return view


def invoice(uow: UnitOfWork, invoice_id: str) -> dict[str, Any]:
    return invoice_view(uow, get_invoice(uow, invoice_id))


def _invoices_query(uow: UnitOfWork, args: Mapping[str, Any]) -> Select[Any]:
    stmt = select(Invoice)
    actor = uow.actor
    if actor.is_merchant:
        stmt = stmt.where(
            Invoice.merchant_id == actor.merchant_id, Invoice.status.in_(pricing.ISSUED_STATUSES)
        )
    for name in ("period", "project_id", "merchant_id", "kind"):
        if args.get(name):
            stmt = stmt.where(getattr(Invoice, name) == args[name])
    status = args.get("status")
    if status == "overdue":
        stmt = stmt.where(
            Invoice.kind == pricing.INVOICE,
            open_balance_filter(),
            Invoice.due_on < today_shanghai(uow.now()),
        )
    elif status:
        stmt = stmt.where(Invoice.status == status)
    if args.get("number"):
        stmt = stmt.where(Invoice.number == args["number"].strip().upper())
    return stmt


def list_invoices(uow: UnitOfWork, args: Mapping[str, Any]) -> Page:
    page = paginate_args(uow.session, _invoices_query(uow, args), args, order_by=INVOICES_ORDER)
    today = today_shanghai(uow.now())
    return page.with_items([summary_view(row, today) for row in page.items])


def issued_documents(uow: UnitOfWork, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """Every invoice and credit note issued between two days, with the credited invoice's number: the
    accounting export."""
    session = uow.session
    rows = list(
        session.scalars(
            select(Invoice)
            .where(Invoice.issued_on.between(start, end))
            .order_by(Invoice.issued_on, Invoice.number)
        )
    )
    credited_ids = {r.credited_invoice_id for r in rows if r.credited_invoice_id}
    numbers = dict(
        session.execute(select(Invoice.id, Invoice.number).where(Invoice.id.in_(credited_ids))).all()
        if credited_ids
        else []
    )
    today = today_shanghai(uow.now())
    views = []
    for row in rows:
        view = summary_view(row, today)
        view["credited_invoice_number"] = numbers.get(row.credited_invoice_id or "")
        views.append(view)
    return views


# --- a line's source rows -----------------------------------------------------------------------------------


def _line(uow: UnitOfWork, invoice_id: str, seq: int) -> tuple[Invoice, InvoiceLine]:
    invoice = get_invoice(uow, invoice_id)
    line = uow.session.scalars(
        select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id, InvoiceLine.seq == seq)
    ).one_or_none()
    if line is None:
        raise NotFound(f"Invoice {invoice.number or invoice.id} has no line {seq}.")
    return invoice, line


def _day_range(model: Any, project_id: str, sources: Mapping[str, Any]) -> Select[Any]:
    start = dt.date.fromisoformat(sources["from"])
    end = dt.date.fromisoformat(sources["to"])
    return (
        select(model)
        .where(model.project_id == project_id, model.date.between(start, end))
        .order_by(model.date, model.agent_id)
    )


def _source_query(invoice: Invoice, line: InvoiceLine) -> tuple[Select[Any] | None, Sequence[str]]:
    """The rows a line was computed from, and the columns to show of them."""
    sources, project_id = line.sources or {}, invoice.project_id
    table = sources.get("table")
    if table == "worked_hours":
        return _day_range(WorkedHours, project_id, sources), ("agent_id", "date", "hours")
    if table == "performance":
        return _day_range(Performance, project_id, sources), ("agent_id", "date", "consultations")
    if table == "project_seats":
        end = dt.date.fromisoformat(sources["to"])
        stmt = (
            select(ProjectSeats)
            .where(ProjectSeats.project_id == project_id, ProjectSeats.effective_from <= end)
            .order_by(ProjectSeats.effective_from)
        )
        return stmt, ("effective_from", "seats")
    if table == "surges":
        stmt = select(SurgeCopy).where(SurgeCopy.surge_id == sources.get("surge_id"))
        return stmt, ("surge_id", "start_date", "end_date", "increase_pct", "extra_seats", "covered")
    if table == "training_cohorts":
        stmt = select(TrainingCohort).where(TrainingCohort.cohort_id == sources.get("cohort_id"))
        return stmt, ("cohort_id", "completed_on", "trainees", "hours_each", "admitted")
    if table == "deductions":
        stmt = (
            select(Deduction)
            .where(Deduction.project_id == project_id, Deduction.number.in_(sources.get("complaints") or []))
            .order_by(Deduction.number)
        )
        return stmt, ("number", "complaint_id", "agent_id", "resolved_on", "amount")
    if table == "kpi_scores":
        stmt = (
            select(KpiScore)
            .where(KpiScore.project_id == project_id, KpiScore.period == sources.get("period"))
            .order_by(KpiScore.agent_id)
        )
        return stmt, ("agent_id", "period", "score", "targets_met")
    if table == "price_lists":
        stmt = select(PriceList).where(PriceList.id == sources.get("price_list_id"))
        return stmt, ("id", "effective_from", "basis", "minimum_charge")
    if table == "invoices":
        stmt = select(Invoice).where(Invoice.id == sources.get("invoice_id"))
        return stmt, ("number", "period", "total", "issued_on")
    return None, ()


def _cell(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def line_sources(uow: UnitOfWork, invoice_id: str, seq: int, args: Mapping[str, Any]) -> Page:
    """The source rows of an invoice line (工时, 咨询量, seats, surges, cohorts, complaints, KPI verdicts),
    a page at a time: how every figure on the invoice can be checked."""
    invoice, line = _line(uow, invoice_id, seq)
    stmt, columns = _source_query(invoice, line)
    if stmt is None:
        return Page(items=[], total=0, page=args["page"], per_page=args["per_page"], pages=0)
    page = paginate_args(uow.session, stmt, args, order_by=())
    return page.with_items(
        [
            {"table": line.sources.get("table"), **{c: _cell(getattr(row, c)) for c in columns}}
            for row in page.items
        ]
    )


# --- aging and margins --------------------------------------------------------------------------------------


def aging(uow: UnitOfWork, as_of: dt.date | None = None) -> dict[str, Any]:
    """Open balances by merchant and by how late they are (账龄): current, 1–30, 31–60, 61–90, over 90."""
    today = as_of or today_shanghai(uow.now())
    merchants: dict[str, dict[str, Any]] = {}
    for row in uow.session.scalars(
        select(Invoice)
        .where(Invoice.kind == pricing.INVOICE, open_balance_filter())
        .order_by(Invoice.merchant_id, Invoice.due_on, Invoice.number)
    ):
        balance = _balance(row)
        if balance <= 0:
            continue
        entry = merchants.setdefault(
            row.merchant_id or "",
            {
                "merchant_id": row.merchant_id,
                "company_name": row.company_name,
                **{bucket: ZERO for bucket in pricing.AGING_BUCKETS},
                "total": ZERO,
                "invoices": 0,
            },
        )
        bucket = pricing.aging_bucket(pricing.days_overdue(row.due_on, balance, today))
        entry[bucket] += balance
        entry["total"] += balance
        entry["invoices"] += 1
    rows = sorted(merchants.values(), key=lambda e: (-e["total"], e["merchant_id"] or ""))
    totals = {bucket: sum((r[bucket] for r in rows), ZERO) for bucket in (*pricing.AGING_BUCKETS, "total")}
    return {"as_of": today, "merchants": rows, "totals": totals}


MARGIN_GROUPS = ("project", "merchant", "month")


def margins(uow: UnitOfWork, args: Mapping[str, Any]) -> dict[str, Any]:
    """Project margin (项目毛利) per project and month, or summed by merchant or by month: revenue invoiced
    (issued invoices before tax, less their credit notes and the penalty credits), agent pay (approved
    payroll runs) and penalties (credits to the merchant for upheld complaints and missed targets)."""
    session = uow.session
    start, end = args["from_"], args["to"]
    revenue: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    penalties: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    pay: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    projects: dict[str, tuple[str | None, str | None]] = {}

    def scoped(stmt: Select[Any], project_col: Any) -> Select[Any]:
        if args.get("project_id"):
            stmt = stmt.where(project_col == args["project_id"])
        if args.get("merchant_id"):
            owned = select(Project.project_id).where(Project.merchant_id == args["merchant_id"])
            stmt = stmt.where(project_col.in_(owned))
        return stmt

    issued = and_(Invoice.status.in_(pricing.ISSUED_STATUSES), Invoice.period.between(start, end))
    lines = scoped(
        select(Invoice.project_id, Invoice.period, InvoiceLine.kind, func.sum(InvoiceLine.amount))
        .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
        .where(issued)
        .group_by(Invoice.project_id, Invoice.period, InvoiceLine.kind),
        Invoice.project_id,
    )
    for project_id, period, kind, amount in session.execute(lines):
        key = (project_id, period)
        if kind in pricing.CREDIT_KINDS:
            penalties[key] -= amount
        else:
            revenue[key] += amount
    payslips = scoped(
        select(Payslip.project_id, Payslip.period, func.sum(Payslip.total))
        .join(PayrollRun, PayrollRun.id == Payslip.run_id)
        .where(PayrollRun.status == APPROVED, Payslip.period.between(start, end))
        .group_by(Payslip.project_id, Payslip.period),
        Payslip.project_id,
    )
    for project_id, period, amount in session.execute(payslips):
        pay[(project_id, period)] += amount
    keys = sorted(set(revenue) | set(pay) | set(penalties))
    for project_id, merchant_id, company in session.execute(
        select(Project.project_id, Project.merchant_id, Project.company_name).where(
            Project.project_id.in_({k[0] for k in keys})
        )
    ):
        projects[project_id] = (merchant_id, company)
    group = args.get("group") or "project"
    grouped: dict[tuple[str, ...], pricing.Margin] = {}
    labels: dict[tuple[str, ...], dict[str, Any]] = {}
    for project_id, period in keys:
        merchant_id, company = projects.get(project_id, (None, None))
        if group == "merchant":
            key: tuple[str, ...] = (merchant_id or "",)
            label: dict[str, Any] = {"merchant_id": merchant_id, "company_name": company}
        elif group == "month":
            key, label = (period,), {"period": period}
        else:
            key = (project_id, period)
            label = {
                "project_id": project_id,
                "period": period,
                "merchant_id": merchant_id,
                "company_name": company,
            }
        item = pricing.Margin(
            revenue[(project_id, period)], pay[(project_id, period)], penalties[(project_id, period)]
        )
        grouped[key] = grouped.get(key, pricing.NO_MARGIN) + item
        labels[key] = label
    rows = [labels[key] | _margin_view(grouped[key]) for key in sorted(grouped)]
    total = sum(grouped.values(), pricing.NO_MARGIN)
    return {"from": start, "to": end, "group": group, "rows": rows, "total": _margin_view(total)}


def _margin_view(margin: pricing.Margin) -> dict[str, Any]:
    return {
        "revenue": margin.revenue,
        "agent_pay": margin.agent_pay,
        "penalties": margin.penalties,
        "margin": margin.margin,
        "margin_rate": margin.margin_rate,
    }
