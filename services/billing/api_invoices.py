"""The merchant invoicing API (/api/v1): price lists, the month's invoices and their lifecycle, payments,
credit notes, the documents (PDF, XLSX/CSV) and the aging and margin reports.

Finance (财务) writes (the vendor also sets price lists, agreed when it confirms a project); the vendor
reads everything; a merchant reads only its own issued invoices and
credit notes (404 for anything else, so it cannot learn what exists).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from services.billing import invoice_documents, invoice_queries, invoicing
from services.billing.config import BillingSettings, load_settings
from services.billing.invoice_schemas import (
    AccountingArgs,
    AgingArgs,
    AgingOut,
    CreditNoteIn,
    InvoiceListArgs,
    InvoiceOut,
    InvoicePage,
    InvoiceRunIn,
    InvoiceRunOut,
    LineSourcesArgs,
    LineSourcesPage,
    MarginArgs,
    MarginOut,
    PaymentIn,
    PaymentOut,
    PaymentReversalIn,
    PriceListIn,
    PriceListListArgs,
    PriceListOut,
    PriceListPage,
)
from shared.auth import roles_required
from shared.errors import ProblemError
from shared.pagination import Page
from shared.storage import content_disposition
from shared.tabular import ExportArgs
from shared.uow import UnitOfWork
from shared.web import current_uow, get_settings, idempotent, transactional
from shared.web.batches import racing
from shared.web.downloads import export_response, export_responses, negotiate_format
from shared.workdays import today_shanghai

blp = Blueprint(
    "invoicing",
    __name__,
    url_prefix="/api/v1",
    description="Merchant invoicing (对商家开票): price lists, monthly invoices, payments, credit notes, "
    "aging and project margin.",
)

FINANCE = ("finance",)
#: the prices are agreed with the merchant at confirmation: the vendor (who confirms) or finance sets them
PRICE_SETTERS = ("finance", "vendor")
READERS = ("finance", "vendor")
DOCUMENT_READERS = ("finance", "vendor", "merchant")


def _settings() -> BillingSettings:
    return load_settings(get_settings().extra)


def _view(uow: UnitOfWork, invoice_id: str) -> dict[str, Any]:
    return invoice_queries.invoice_view(uow, invoicing.get_invoice(uow, invoice_id))


# --- price lists --------------------------------------------------------------------------------------------


@blp.route("/price-lists")
class PriceLists(MethodView):
    @roles_required(*READERS)
    @blp.arguments(PriceListListArgs, location="query")
    @blp.response(200, PriceListPage)
    def get(self, args: dict[str, Any]) -> Page:
        """List price list versions (filters: project_id, in_force_on)"""
        return invoice_queries.list_price_lists(current_uow(), args)

    @idempotent
    @roles_required(*PRICE_SETTERS)
    @blp.arguments(PriceListIn)
    @blp.response(201, PriceListOut)
    @blp.doc(
        description="A new version of the project's price list, in force from effective_from until the "
        "next version: each day of a month is charged by the version in force that day. Versions are never "
        "edited and never take effect in a month already approved or issued (409 invoiced-period). The "
        "basis says what the service fee is charged by and needs its price: seat_month (seat_month_price), "
        "agent_hour (agent_hour_price) or consultation (consultation_price)."
    )
    def post(self, data: dict[str, Any]) -> Any:
        """Add a version of a project's price list"""
        race = "A price list of this project effective from the same day was created at the same time."
        with racing(race) as uow:
            row = invoicing.create_price_list(uow, data, _settings())
        return invoice_queries.price_list_view(row)


@blp.route("/price-lists/<price_list_id>", methods=["GET"])
@roles_required(*READERS)
@blp.response(200, PriceListOut)
def get_price_list(price_list_id: str) -> Any:
    """One price list version"""
    return invoice_queries.price_list_view(invoicing.get_price_list(current_uow(), price_list_id))


# --- invoices -----------------------------------------------------------------------------------------------


@blp.route("/invoices")
class Invoices(MethodView):
    @roles_required(*DOCUMENT_READERS)
    @blp.arguments(InvoiceListArgs, location="query")
    @blp.response(200, InvoicePage)
    @blp.doc(
        description="A merchant sees only its own issued invoices and credit notes, whatever the filters."
    )
    def get(self, args: dict[str, Any]) -> Page:
        """List invoices and credit notes, newest month first (filters: period, project, merchant, kind,
        status or overdue, number)"""
        return invoice_queries.list_invoices(current_uow(), args)

    @idempotent
    @roles_required(*FINANCE)
    @blp.arguments(InvoiceRunIn)
    @blp.response(200, InvoiceRunOut)
    @blp.doc(
        description="Drafts the month's invoice of every project with a price list (or of one project) "
        "from the data billing holds: seats per day (onboarding), hours worked (timesheets), consultations "
        "(performance data), surges accepted, cohorts trained, upheld complaints and quality's verdicts. "
        "A draft is recalculated; approved and issued invoices are kept as they are; a project with "
        "nothing to charge is skipped and said."
    )
    def post(self, data: dict[str, Any]) -> Any:
        """Invoice a month: draft or recalculate the invoices of every priced project (or one)"""
        with racing(f"Invoices for {data['period']} were drafted at the same time; send it again.") as uow:
            return invoicing.generate_invoices(uow, data["period"], data.get("project_id"))


@blp.route("/invoices/<invoice_id>")
class InvoiceItem(MethodView):
    @roles_required(*DOCUMENT_READERS)
    @blp.response(200, InvoiceOut)
    def get(self, invoice_id: str) -> Any:
        """One invoice or credit note with its lines, payments and credit notes"""
        return _view(current_uow(), invoice_id)

    @transactional
    @roles_required(*FINANCE)
    @blp.response(204)
    def delete(self, invoice_id: str) -> None:
        """Discard a draft (approved and issued invoices are never deleted)"""
        invoicing.delete_draft(current_uow(), invoice_id)


def _transition(invoice_id: str, action: Callable[[UnitOfWork, str], Any]) -> dict[str, Any]:
    """Run a lifecycle step and answer the invoice it left (the row it locked, not read again)."""
    uow = current_uow()
    return invoice_queries.invoice_view(uow, action(uow, invoice_id))


@blp.route("/invoices/<invoice_id>/recalculate", methods=["POST"])
@transactional
@roles_required(*FINANCE)
@blp.response(200, InvoiceOut)
def recalculate_invoice(invoice_id: str) -> Any:
    """Recompute a draft from the data as it is now (409 once approved)"""
    return _transition(invoice_id, invoicing.recalculate_invoice)


@blp.route("/invoices/<invoice_id>/approve", methods=["POST"])
@transactional
@roles_required(*FINANCE)
@blp.response(200, InvoiceOut)
def approve_invoice(invoice_id: str) -> Any:
    """Approve a draft (finance): its amounts are frozen"""
    return _transition(invoice_id, invoicing.approve_invoice)


@blp.route("/invoices/<invoice_id>/reopen", methods=["POST"])
@transactional
@roles_required(*FINANCE)
@blp.response(200, InvoiceOut)
def reopen_invoice(invoice_id: str) -> Any:
    """Send an approved invoice back to draft (before it is issued)"""
    return _transition(invoice_id, invoicing.reopen_invoice)


@blp.route("/invoices/<invoice_id>/issue", methods=["POST"])
@transactional
@roles_required(*FINANCE)
@blp.response(200, InvoiceOut)
@blp.doc(
    description="Gives an approved invoice the year's next number (FP2026-00001: gap-free, one series per "
    "year), its issue day and due date, and publishes invoice.issued. An issued invoice is never edited: "
    "corrections are credit notes. Issuing twice (or two at once): the second gets 409 with the number."
)
def issue_invoice(invoice_id: str) -> Any:
    """Issue an approved invoice with its number"""
    return _transition(invoice_id, invoicing.issue_invoice)


@blp.route("/invoices/<invoice_id>/payments", methods=["POST"])
@transactional
@roles_required(*FINANCE)
@blp.arguments(PaymentIn)
@blp.response(201, PaymentOut)
@blp.doc(
    description="At most the balance; the invoice becomes partly_paid or paid, and invoice.paid is "
    "published with the balance left."
)
def record_payment(data: dict[str, Any], invoice_id: str) -> Any:
    """Record a payment received against an issued invoice"""
    return invoicing.record_payment(current_uow(), invoice_id, data)


@blp.route("/invoices/<invoice_id>/payments/<payment_id>/reverse", methods=["POST"])
@transactional
@roles_required(*FINANCE)
@blp.arguments(PaymentReversalIn)
@blp.response(200, PaymentOut)
@blp.doc(
    description="For a payment recorded by mistake: it stays on the invoice, marked reversed with who and "
    "why, and no longer counts; the invoice's status follows (paid → partly_paid or issued). 409 when "
    "already reversed."
)
def reverse_payment(data: dict[str, Any], invoice_id: str, payment_id: str) -> Any:
    """Reverse a payment recorded by mistake"""
    return invoicing.reverse_payment(current_uow(), invoice_id, payment_id, data["reason"])


@blp.route("/invoices/<invoice_id>/credit-notes", methods=["POST"])
@transactional
@roles_required(*FINANCE)
@blp.arguments(CreditNoteIn)
@blp.response(201, InvoiceOut)
@blp.doc(
    description="A credit note (红字) with its own number (HC2026-00001), negative amounts at the "
    "invoice's tax rate, never more than what is left of the invoice. The invoice's balance drops by its "
    "total; on a paid invoice it goes below zero: a credit owed to the merchant."
)
def create_credit_note(data: dict[str, Any], invoice_id: str) -> Any:
    """Correct an issued invoice with a credit note"""
    uow = current_uow()
    note = invoicing.create_credit_note(uow, invoice_id, data)
    return invoice_queries.invoice_view(uow, note)


@blp.route("/invoices/<invoice_id>/lines/<int:seq>/sources", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(LineSourcesArgs, location="query")
@blp.response(200, LineSourcesPage)
def line_sources(args: dict[str, Any], invoice_id: str, seq: int) -> Any:
    """The source rows an invoice line was computed from (hours, consultations, seats, surges, cohorts,
    complaints, KPI verdicts)"""
    return invoice_queries.line_sources(current_uow(), invoice_id, seq, args)


# --- documents ----------------------------------------------------------------------------------------------


@blp.route("/invoices/<invoice_id>/export", methods=["GET"])
@roles_required(*DOCUMENT_READERS)
@blp.arguments(ExportArgs, location="query")
@blp.doc(responses=export_responses("the invoice's lines as CSV or as an XLSX workbook"))
def export_invoice(args: dict[str, Any], invoice_id: str) -> Response:
    """An invoice's lines as CSV or XLSX"""
    view = _view(current_uow(), invoice_id)
    return export_response(
        invoice_documents.INVOICE_LINE_COLUMNS,
        invoice_documents.invoice_line_rows(view),
        filename=invoice_documents.document_name(view),
        fmt=negotiate_format(args.get("format")),
        lang=args["lang"],
        sheet=view["number"] or "draft",
    )


@blp.route("/invoices/<invoice_id>/pdf", methods=["GET"])
@roles_required(*DOCUMENT_READERS)
@blp.doc(
    responses={
        "200": {"description": "a printable A4 PDF", "content": {"application/pdf": {}}},
        "503": {"description": "the PDF font is not installed on this server"},
    }
)
def invoice_pdf(invoice_id: str) -> Response:
    """The invoice or credit note as a printable PDF (Chinese)"""
    view = _view(current_uow(), invoice_id)
    try:
        body = invoice_documents.invoice_pdf(view, font=_settings().pdf_font)
    except invoice_documents.PdfFontMissing as exc:
        raise ProblemError(str(exc), status=503) from exc
    name = invoice_documents.document_name(view) + ".pdf"
    return Response(
        body,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": content_disposition(name, "inline"),
            "Cache-Control": "private, no-store",
        },
    )


@blp.route("/invoices/accounting-export", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(AccountingArgs, location="query")
@blp.doc(
    description="One row per invoice and credit note issued between from and to (by issue day), for the "
    "accounting system: number, type, the invoice a credit note corrects, customer, project, period, "
    "amounts before tax, tax rate, tax, total, paid, balance, due date. Drafts have no number and are "
    "not included.",
    responses=export_responses("the issued documents as CSV or as an XLSX workbook"),
)
def accounting_export(args: dict[str, Any]) -> Response:
    """Issued invoices and credit notes for the accounting system (CSV or XLSX)"""
    uow = current_uow()
    today = today_shanghai(uow.now())
    start, end = args.get("from_") or today.replace(day=1), args.get("to") or today
    views = invoice_queries.issued_documents(uow, start, end)
    return export_response(
        invoice_documents.ACCOUNTING_COLUMNS,
        invoice_documents.accounting_rows(views),
        filename=f"invoices-{start:%Y%m%d}-{end:%Y%m%d}",
        fmt=negotiate_format(args.get("format")),
        lang=args["lang"],
        sheet="invoices",
    )


# --- reports ------------------------------------------------------------------------------------------------


@blp.route("/invoices/aging", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(AgingArgs, location="query")
@blp.response(200, AgingOut)
def aging(args: dict[str, Any]) -> Any:
    """Open balances by merchant and age (账龄): not yet due, 1–30, 31–60, 61–90, over 90 days late"""
    return invoice_queries.aging(current_uow(), args.get("as_of"))


@blp.route("/margins", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(MarginArgs, location="query")
@blp.response(200, MarginOut)
@blp.doc(
    description="Per project and month (group=project), or summed by merchant or by month: revenue = "
    "issued invoices before tax, less their credit notes, not counting the penalty credits; agent pay = "
    "approved payroll runs' payslips; penalties = the credits for upheld complaints and missed service "
    "targets; margin = revenue − agent pay − penalties; margin_rate = margin ÷ revenue."
)
def margins(args: dict[str, Any]) -> Any:
    """Project margin (项目毛利) by project, merchant or month"""
    return invoice_queries.margins(current_uow(), args)
