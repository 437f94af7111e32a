"""Merchant invoicing (对商家开票): price lists (价目表), the month's invoices and their lifecycle, payments,
credit notes (红字), the source rows of a line, aging (账龄), project margin (项目毛利) — and the
merchant's own bills (我的账单).

Everything is billing's (``services/billing/api_invoices.py``) and billing decides who may do what: finance
writes, finance and vendor read everything, a merchant reads only its own issued invoices and credit notes
(404 for anything else, drafts included). The console only hides the forms a reader cannot use and never
filters by merchant itself.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from services.console.bff import ApiError, Call, Reply
from services.console.i18n import SHANGHAI, _, current_locale, format_money, parse_instant
from services.console.i18n import lazy_gettext as _l
from services.console.labels import STATUS_LABELS
from services.console.views.finance import percent_to_rate, project_options, rate_to_percent
from services.console.web import api, clock, pass_through, problem_message, role_required
from shared.workdays import today_shanghai

bp = Blueprint("invoicing", __name__, url_prefix="/invoicing")

STATUS_LABELS.update(
    {
        "draft": _l("Draft"),
        "approved": _l("Approved"),
        "issued": _l("Issued"),
        "partly_paid": _l("Partly paid"),
        "paid": _l("Paid"),
        "credited": _l("Credited in full"),
    }
)

READERS = ("finance", "vendor")
PER_PAGE = 20
SOURCES_PER_PAGE = 50
#: pickers list at most one page of the largest size billing answers
PICKER_SIZE = 200

BASES: dict[str, Any] = {
    "seat_month": _l("Per seat-month"),
    "agent_hour": _l("Per agent-hour"),
    "consultation": _l("Per consultation"),
}
#: the price field billing wants for each basis (the form has one price input, named ``price``)
BASIS_PRICE = {
    "seat_month": "seat_month_price",
    "agent_hour": "agent_hour_price",
    "consultation": "consultation_price",
}
KINDS: dict[str, Any] = {"invoice": _l("Invoice"), "credit_note": _l("Credit note")}
LINE_KINDS: dict[str, Any] = {
    "seats": _l("Seat fee"),
    "surge": _l("Surge seats"),
    "hours": _l("Agent hours"),
    "consultations": _l("Consultations"),
    "training": _l("Training fee"),
    "minimum": _l("Minimum charge top-up"),
    "complaint_credit": _l("Credit for upheld complaints"),
    "targets_credit": _l("Credit for missed service targets"),
    "correction": _l("Correction"),
}
WARNING_LABELS: dict[str, Any] = {
    "training-unpriced": _l("Training not charged: the price list has no training price"),
    "days-unpriced": _l("Days without a price list in force: not charged"),
    "seats-unknown": _l("The project's seat count is unknown: no seat fee"),
    "empty": _l("Nothing to charge this month"),
    "credits-capped": _l("Credits larger than the month's charges: capped"),
}
#: the status filter of the invoice list; ``overdue`` is not a status but billing filters by it
STATUS_FILTERS: tuple[tuple[str, Any], ...] = (
    ("draft", _l("Draft")),
    ("approved", _l("Approved")),
    ("issued", _l("Issued")),
    ("partly_paid", _l("Partly paid")),
    ("paid", _l("Paid")),
    ("credited", _l("Credited in full")),
    ("overdue", _l("Past due")),
)
AGING_BUCKETS: tuple[tuple[str, Any], ...] = (
    ("current", _l("Not yet due")),
    ("1_30", _l("1–30 days late")),
    ("31_60", _l("31–60 days late")),
    ("61_90", _l("61–90 days late")),
    ("over_90", _l("Over 90 days late")),
)
MARGIN_GROUPS: dict[str, Any] = {
    "project": _l("By project and month"),
    "merchant": _l("By merchant"),
    "month": _l("By month"),
}
SOURCE_TABLES: dict[str, Any] = {
    "worked_hours": _l("Hours worked (timesheets)"),
    "performance": _l("Consultations (performance data)"),
    "project_seats": _l("Seat count of the project"),
    "surges": _l("Accepted surge"),
    "training_cohorts": _l("Training cohort"),
    "deductions": _l("Upheld complaints"),
    "kpi_scores": _l("Quality KPI verdicts"),
    "price_lists": _l("Price list version"),
    "invoices": _l("Corrected invoice"),
}
SOURCE_COLUMNS: dict[str, Any] = {
    "agent_id": _l("Agent ID"),
    "date": _l("Date"),
    "hours": _l("Hours"),
    "consultations": _l("Consultations"),
    "effective_from": _l("Effective from"),
    "seats": _l("Seats"),
    "surge_id": _l("Surge"),
    "start_date": _l("From"),
    "end_date": _l("To"),
    "increase_pct": _l("Increase (%)"),
    "extra_seats": _l("Extra seats"),
    "covered": _l("Covered"),
    "cohort_id": _l("Cohort"),
    "completed_on": _l("Completed on"),
    "trainees": _l("Trainees"),
    "hours_each": _l("Hours each"),
    "admitted": _l("Admitted"),
    "number": _l("Number"),
    "complaint_id": _l("Complaint"),
    "resolved_on": _l("Resolved on"),
    "amount": _l("Amount"),
    "period": _l("Month"),
    "score": _l("KPI score"),
    "targets_met": _l("Targets met"),
    "id": _l("ID"),
    "basis": _l("Charged by"),
    "minimum_charge": _l("Minimum charge"),
    "total": _l("Total"),
    "issued_on": _l("Issued on"),
}
#: source columns that are money (formatted and right-aligned) or other numbers (right-aligned)
MONEY_COLUMNS = frozenset({"amount", "minimum_charge", "total"})
NUMBER_COLUMNS = frozenset(
    {"hours", "consultations", "seats", "increase_pct", "extra_seats", "covered", "trainees", "hours_each"}
    | {"admitted", "score"}
)
DOCUMENT_FORMATS = ("pdf", "xlsx", "csv")
EXPORT_FORMATS = ("csv", "xlsx")
CREDIT_LINES = 3

#: billing's business refusals (its problem's ``rule``) as a finance clerk reads them
RULE_MESSAGES: dict[str, Any] = {
    "unknown-project": _l(
        "Billing does not know this project yet (it arrives once the project is confirmed)."
    ),
    "invoiced-period": _l(
        "The invoice of that month is already approved or issued, and prices never change under an "
        "invoice: make the new version effective from the first day of a later month."
    ),
    "price-list-exists": _l(
        "A version effective from the same day exists; versions are never edited: give the new one a "
        "later effective date."
    ),
    "invoice-status": _l(
        "The invoice's status does not allow this (it may have changed meanwhile); reload the page."
    ),
    "nothing-to-invoice": _l("The invoice's total is zero or less: there is nothing to invoice."),
    "credit-exceeds-invoice": _l(
        "The credit note (tax included) is more than what is left of the invoice to credit."
    ),
    "invoice-kind": _l("This is a credit note: payments and credit notes go on the invoice it corrects."),
}
#: billing's field messages (English, from its validation) as the reader knows them: substring → msgid
FIELD_MESSAGES: tuple[tuple[str, Any], ...] = (
    ("Missing data for required field", _l("Required.")),
    ("Field may not be null", _l("Required.")),
    ("Shorter than minimum length 1.", _l("Required.")),
    ("Not a valid number", _l("Not a valid number.")),
    ("Not a valid decimal", _l("Not a valid number.")),
    ("Not a valid integer", _l("Enter a whole number.")),
    ("Not a valid date", _l("Not a valid date (YYYY-MM-DD).")),
    ("must be YYYY-MM", _l("Enter a month as YYYY-MM, for example 2026-11.")),
    ("a month written YYYY-MM", _l("Enter a month as YYYY-MM, for example 2026-11.")),
    ("is in the future", _l("This month has not begun yet: invoice a month that has started.")),
    ("cannot be in the future", _l("Cannot be in the future.")),
    ("price list needs a", _l("Enter the price of the chosen basis (above 0).")),
    ("must be below 1", _l("The tax rate must be below 100%.")),
    ("more than the balance", _l("More than the balance still owed on this invoice.")),
    ("must not be before from", _l("Must not be before the start.")),
    ("at most 36 months", _l("At most 36 months.")),
    ("at most two years", _l("At most two years.")),
    ("at most 5", _l("At most 500%.")),
    ("at most 1 ", _l("At most 100%.")),
    ("Must be greater than or equal to", _l("Too small.")),
    ("Must be less than or equal to", _l("Too large.")),
    ("Longer than maximum length", _l("Too long.")),
    ("Must be one of", _l("Choose one of the options.")),
)


def can_write() -> bool:
    return current_user.role in ("finance", "admin")


def _ok(result: Reply | ApiError) -> Reply:
    """A widget's answer, or the page fails the way a single GET does (a localized error page)."""
    if isinstance(result, ApiError):
        raise result
    return result


def message(err: ApiError) -> str:
    """One sentence in the reader's language: billing's rule when we know it; for field errors a pointer to
    the fields (their messages are beside them, billing's English summary of them helps nobody); else the
    generic one."""
    rule = str(err.problem.get("rule") or "")
    known = RULE_MESSAGES.get(rule)
    if known is not None and rule == "invoice-status" and err.problem.get("number"):
        # e.g. issued twice at once: the second learns the number the first was given
        return f"{known} " + _("It is already issued as %(number)s.", number=err.problem["number"])
    if known is not None:
        return str(known)
    if err.status == 422 and field_errors(err):
        return _("Some of the information is not valid: see the marked fields.")
    return problem_message(err)


#: marshmallow's Length(min=1, max=n): a text left empty, or longer than n
_LENGTH = re.compile(r"Length must be between 1 and (\d+)")


def field_message(text: str) -> str:
    length = _LENGTH.search(text)
    if length:
        return _("Required, at most %(max)s characters.", max=length.group(1))
    for needle, msgid in FIELD_MESSAGES:
        if needle in text:
            return str(msgid)
    return text


def field_errors(err: ApiError) -> dict[str, str]:
    """Billing's ``errors`` flattened to ``{"lines.0.amount": "…"}``, each message in the reader's
    language (nested schemas answer nested dictionaries, lists of fields answer indexes)."""
    found: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            found[prefix] = " ".join(dict.fromkeys(field_message(item) for item in value))
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                walk(f"{prefix}.{index}", inner)
        else:
            found[prefix] = field_message(str(value))

    errors = err.problem.get("errors")
    if isinstance(errors, Mapping):
        walk("", errors)
    return found


def money_input(raw: str | None) -> str | None:
    text = (raw or "").strip().replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
    return text or None


def decimal_of(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def percent_of_rate(value: Any) -> str:
    """A margin rate ``"0.4975"`` as ``49.75%`` (None: no revenue, no rate)."""
    if value in (None, ""):
        return "—"
    return f"{(decimal_of(value) * 100).quantize(Decimal('0.01'))}%"


def decorate(view: dict[str, Any]) -> dict[str, Any]:
    """An invoice view with what the templates compare on: a negative balance is a credit (贷方余额)."""
    balance = decimal_of(view.get("balance"))
    return {
        **view,
        "is_credit_balance": balance < 0,
        "balance_abs": abs(balance),
        "is_credit_note": view.get("kind") == "credit_note",
    }


def today() -> dt.date:
    return today_shanghai(clock()())


@bp.app_template_filter("iso_instant")
def iso_instant(value: Any) -> str:
    """An instant from billing as ``2026-12-05 10:00`` Beijing time (ISO-like, as the dates are)."""
    moment = parse_instant(value)
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _common() -> dict[str, Any]:
    return {
        "bases": BASES,
        "kinds": KINDS,
        "line_kinds": LINE_KINDS,
        "warning_labels": WARNING_LABELS,
        "percent": rate_to_percent,
        "rate_percent": percent_of_rate,
        "can_write": can_write(),
    }


@bp.get("/")
@role_required(*READERS, "merchant")
def index() -> Any:
    if current_user.role == "merchant":
        return redirect(url_for("invoicing.my_invoices"))
    return redirect(url_for("invoicing.invoices"))


# --- price lists (价目表) ----------------------------------------------------------------------------------

PRICE_FORM_FIELDS = (
    "project_id",
    "basis",
    "price",
    "training_person_hour_price",
    "surge_premium_rate",
    "minimum_charge",
    "tax_rate",
    "payment_terms_days",
    "complaint_credit",
    "targets_missed_credit_rate",
    "effective_from",
    "notes",
)
#: what the form starts with: the contract's usual terms (6% VAT, 30 days to pay)
PRICE_DEFAULTS = {"basis": "seat_month", "tax_rate": "6", "payment_terms_days": "30"}


def price_list_payload(form: Mapping[str, str]) -> dict[str, Any]:
    """The form (percentages typed as percentages, one price input) as billing's PriceListIn."""
    basis = form.get("basis", "")
    payload: dict[str, Any] = {"project_id": form.get("project_id", ""), "basis": basis}
    if basis in BASIS_PRICE:
        payload[BASIS_PRICE[basis]] = money_input(form.get("price"))
    for name in ("training_person_hour_price", "minimum_charge", "complaint_credit"):
        payload[name] = money_input(form.get(name))
    for name in ("surge_premium_rate", "tax_rate", "targets_missed_credit_rate"):
        payload[name] = percent_to_rate(form.get(name, ""))
    terms = form.get("payment_terms_days", "").strip()
    if terms:
        # billing wants a JSON integer; anything else goes as typed so billing names the problem
        payload["payment_terms_days"] = int(terms) if terms.isdigit() else terms
    if form.get("effective_from", "").strip():
        payload["effective_from"] = form["effective_from"].strip()
    if form.get("notes", "").strip():
        payload["notes"] = form["notes"].strip()
    return {k: v for k, v in payload.items() if v is not None}


def price_field_errors(err: ApiError) -> dict[str, str]:
    """Billing's field errors under the form's names (its three price fields are the form's one)."""
    errors = field_errors(err)
    for name in BASIS_PRICE.values():
        if name in errors:
            errors["price"] = " ".join(filter(None, (errors.get("price"), errors.pop(name))))
    return errors


def price_of(version: Mapping[str, Any]) -> Any:
    return version.get(BASIS_PRICE.get(str(version.get("basis")), ""), None)


def _price_lists_page(
    form: dict[str, str] | None = None, errors: dict[str, str] | None = None, error: str = ""
) -> Any:
    page = request.args.get("page", 1, type=int)
    project_id = request.args.get("project_id", "") or (form or {}).get("project_id", "")
    results = api().gather(
        {
            "versions": Call(
                "billing",
                "/price-lists",
                params={"page": page, "per_page": PER_PAGE, "project_id": project_id or None},
            ),
            "projects": Call("billing", "/projects", params={"per_page": PICKER_SIZE}),
        }
    )
    versions = _ok(results["versions"])
    projects = project_options(_ok(results["projects"]))
    return render_template(
        "invoicing/price_lists.html",
        versions=[{**v, "price": price_of(v)} for v in versions.items],
        total=versions.total or 0,
        page=page,
        per_page=PER_PAGE,
        project_id=project_id,
        projects=projects,
        project_names=dict(projects),
        form={**PRICE_DEFAULTS, **(form or {})},
        errors=errors or {},
        error=error,
        **_common(),
    ), (422 if error else 200)


@bp.get("/price-lists")
@role_required(*READERS)
def price_lists() -> Any:
    return _price_lists_page()


@bp.post("/price-lists")
@role_required("finance")
def create_price_list() -> Any:
    form = {name: request.form.get(name, "") for name in PRICE_FORM_FIELDS}
    try:
        made = api().post("billing", "/price-lists", price_list_payload(form))
    except ApiError as err:
        if err.status == 404:
            raise
        return _price_lists_page(form, price_field_errors(err), message(err))
    flash(_("Price list version effective from %(day)s saved.", day=made["effective_from"]), "success")
    return redirect(url_for("invoicing.price_lists", project_id=made["project_id"]))


# --- invoices (开票) ---------------------------------------------------------------------------------------

LIST_FILTERS = ("period", "status", "merchant_id", "kind", "project_id", "number")


def _invoices_page(
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str = "",
    result: dict[str, Any] | None = None,
    filters: dict[str, str] | None = None,
) -> Any:
    page = request.args.get("page", 1, type=int)
    filters = filters or {name: request.args.get(name, "").strip() for name in LIST_FILTERS}
    results = api().gather(
        {
            "invoices": Call("billing", "/invoices", params={"page": page, "per_page": PER_PAGE, **filters}),
            "projects": Call("billing", "/projects", params={"per_page": PICKER_SIZE}),
        }
    )
    projects = project_options(_ok(results["projects"]))
    listed = results["invoices"]
    filter_errors: dict[str, str] = {}
    filter_error = ""
    items: list[dict[str, Any]] = []
    total = 0
    if isinstance(listed, ApiError):
        if listed.status != 422:
            raise listed
        filter_errors, filter_error = field_errors(listed), message(listed)
    else:
        items = [decorate(item) for item in listed.items]
        total = listed.total or 0
    failed = bool(error or filter_error)
    return render_template(
        "invoicing/invoices.html",
        invoices=items,
        total=total,
        page=page,
        per_page=PER_PAGE,
        filters=filters,
        filter_errors=filter_errors,
        filter_error=filter_error,
        status_filters=STATUS_FILTERS,
        projects=projects,
        project_names=dict(projects),
        form=form or {},
        errors=errors or {},
        error=error,
        result=result,
        listed_names={item["id"]: item for item in items},
        pager_args={name: value for name, value in filters.items() if value},
        **_common(),
    ), (422 if failed else 200)


@bp.get("/invoices")
@role_required(*READERS)
def invoices() -> Any:
    return _invoices_page()


@bp.post("/invoices")
@role_required("finance")
def invoice_month() -> Any:
    form = {
        "period": request.form.get("period", "").strip(),
        "project_id": request.form.get("project_id", ""),
    }
    body: dict[str, Any] = {"period": form["period"]}
    if form["project_id"]:
        body["project_id"] = form["project_id"]
    try:
        result = api().post("billing", "/invoices", body)
    except ApiError as err:
        if err.status not in (409, 422):
            raise
        return _invoices_page(form=form, errors=field_errors(err), error=message(err))
    # the month's invoices below, so that every draft just made is one click away
    shown = {name: "" for name in LIST_FILTERS} | {"period": result["period"]}
    return _invoices_page(form=form, result=result, filters=shown)


def _invoice(invoice_id: str) -> tuple[dict[str, Any], dict[str, str]]:
    calls = {"invoice": Call("billing", f"/invoices/{invoice_id}")}
    if current_user.role != "merchant":
        calls["projects"] = Call("billing", "/projects", params={"per_page": PICKER_SIZE})
    results = api().gather(calls)
    view = decorate(_ok(results["invoice"]).data)
    names = dict(project_options(_ok(results["projects"]))) if "projects" in results else {}
    return view, names


def _invoice_page(
    invoice_id: str,
    *,
    payment: dict[str, str] | None = None,
    payment_errors: dict[str, str] | None = None,
    payment_error: str = "",
    credit: dict[str, str] | None = None,
    credit_errors: dict[str, str] | None = None,
    credit_error: str = "",
) -> Any:
    view, names = _invoice(invoice_id)
    failed = bool(payment_error or credit_error)
    return render_template(
        "invoicing/invoice.html",
        invoice=view,
        project_names=names,
        payment=payment or {},
        payment_errors=payment_errors or {},
        payment_error=payment_error,
        credit=credit or {},
        credit_errors=credit_errors or {},
        credit_error=credit_error,
        credit_lines=CREDIT_LINES,
        **_common(),
    ), (422 if failed else 200)


@bp.get("/invoices/<invoice_id>")
@role_required(*READERS)
def invoice(invoice_id: str) -> Any:
    return _invoice_page(invoice_id)


@bp.post("/invoices/<invoice_id>/<any(recalculate, approve, reopen, issue):action>")
@role_required("finance")
def invoice_action(invoice_id: str, action: str) -> Any:
    try:
        done = api().post("billing", f"/invoices/{invoice_id}/{action}")
    except ApiError as err:
        if err.status == 404:
            raise
        flash(message(err), "error")
        return redirect(url_for("invoicing.invoice", invoice_id=invoice_id))
    said = {
        "recalculate": _("The draft was recalculated from the current data."),
        "approve": _("The invoice is approved; its amounts are frozen."),
        "reopen": _("The invoice is a draft again."),
        "issue": _(
            "Invoice %(number)s issued, due on %(due)s.",
            number=done.get("number") or "",
            due=done.get("due_on") or "",
        ),
    }
    flash(said[action], "success")
    return redirect(url_for("invoicing.invoice", invoice_id=invoice_id))


@bp.post("/invoices/<invoice_id>/delete")
@role_required("finance")
def delete_invoice(invoice_id: str) -> Any:
    try:
        api().delete("billing", f"/invoices/{invoice_id}")
    except ApiError as err:
        if err.status == 404:
            raise
        flash(message(err), "error")
        return redirect(url_for("invoicing.invoice", invoice_id=invoice_id))
    flash(_("The draft invoice was deleted."), "success")
    return redirect(url_for("invoicing.invoices"))


PAYMENT_FIELDS = ("amount", "paid_on", "reference", "note")


@bp.post("/invoices/<invoice_id>/payments")
@role_required("finance")
def record_payment(invoice_id: str) -> Any:
    form = {name: request.form.get(name, "").strip() for name in PAYMENT_FIELDS}
    body: dict[str, Any] = {"amount": money_input(form["amount"])}
    for name in ("paid_on", "reference", "note"):
        if form[name]:
            body[name] = form[name]
    try:
        paid = api().post("billing", f"/invoices/{invoice_id}/payments", body)
    except ApiError as err:
        if err.status == 404:
            raise
        return _invoice_page(
            invoice_id, payment=form, payment_errors=field_errors(err), payment_error=message(err)
        )
    flash(_("Payment of %(amount)s recorded.", amount=format_money(paid["amount"])), "success")
    return redirect(url_for("invoicing.invoice", invoice_id=invoice_id))


@bp.post("/invoices/<invoice_id>/payments/<payment_id>/reverse")
@role_required("finance")
def reverse_payment(invoice_id: str, payment_id: str) -> Any:
    """A payment keyed in by mistake: billing keeps it, marked reversed with the reason, and it stops
    counting."""
    reason = request.form.get("reason", "").strip()
    try:
        api().post("billing", f"/invoices/{invoice_id}/payments/{payment_id}/reverse", {"reason": reason})
    except ApiError as err:
        if err.status == 404:
            raise
        if not reason:
            flash(_("Say why the payment is reversed."), "error")
        else:
            flash(message(err), "error")
        return redirect(url_for("invoicing.invoice", invoice_id=invoice_id))
    flash(_("The payment was reversed."), "success")
    return redirect(url_for("invoicing.invoice", invoice_id=invoice_id))


@bp.post("/invoices/<invoice_id>/credit-notes")
@role_required("finance")
def create_credit_note(invoice_id: str) -> Any:
    form = {"reason": request.form.get("reason", "").strip()}
    lines: list[dict[str, Any]] = []
    for index in range(CREDIT_LINES):
        description = request.form.get(f"lines.{index}.description", "").strip()
        amount = request.form.get(f"lines.{index}.amount", "").strip()
        form[f"lines.{index}.description"], form[f"lines.{index}.amount"] = description, amount
        if description or amount:
            lines.append({"description": description, "amount": money_input(amount)})
    try:
        note = api().post(
            "billing", f"/invoices/{invoice_id}/credit-notes", {"reason": form["reason"], "lines": lines}
        )
    except ApiError as err:
        if err.status == 404:
            raise
        errors = field_errors(err)
        if "lines" in errors and not lines:
            errors["lines.0.description"] = errors.pop("lines")
        creditable = err.problem.get("creditable")
        said = message(err)
        if creditable:
            said = f"{said} " + _(
                "At most %(amount)s can still be credited.", amount=format_money(creditable)
            )
        return _invoice_page(invoice_id, credit=form, credit_errors=errors, credit_error=said)
    flash(
        _(
            "Credit note %(number)s issued for %(total)s.",
            number=note["number"],
            total=format_money(note["total"]),
        ),
        "success",
    )
    return redirect(url_for("invoicing.invoice", invoice_id=note["id"]))


@bp.get("/invoices/<invoice_id>/lines/<int:seq>/sources")
@role_required(*READERS)
def line_sources(invoice_id: str, seq: int) -> Any:
    page = request.args.get("page", 1, type=int)
    results = api().gather(
        {
            "invoice": Call("billing", f"/invoices/{invoice_id}"),
            "rows": Call(
                "billing",
                f"/invoices/{invoice_id}/lines/{seq}/sources",
                params={"page": page, "per_page": SOURCES_PER_PAGE},
            ),
        }
    )
    view = decorate(_ok(results["invoice"]).data)
    rows = _ok(results["rows"])
    agents: dict[str, str] = {}
    if any("agent_id" in row for row in rows.items):
        # agents by name, as finance knows them (billing keeps the names training admitted them with)
        known = api().page("billing", "/agents", project_id=view["project_id"], per_page=PICKER_SIZE)
        agents = {a["agent_id"]: a.get("name") or "" for a in known.items}
    line = next((item for item in view.get("lines", []) if item.get("seq") == seq), None)
    if line is None:
        abort(404)
    columns: list[str] = []
    for row in rows.items:
        columns.extend(key for key in row if key != "table" and key not in columns)
    table = (line.get("sources") or {}).get("table") or (rows.items[0].get("table") if rows.items else "")
    return render_template(
        "invoicing/sources.html",
        invoice=view,
        line=line,
        rows=rows.items,
        columns=columns,
        column_labels=SOURCE_COLUMNS,
        money_columns=MONEY_COLUMNS,
        number_columns=NUMBER_COLUMNS,
        table=table,
        table_label=SOURCE_TABLES.get(str(table), table),
        agents=agents,
        total=rows.total or 0,
        page=page,
        per_page=SOURCES_PER_PAGE,
        **_common(),
    )


@bp.get("/invoices/<invoice_id>/document.<fmt>")
@role_required(*READERS, "merchant")
def document(invoice_id: str, fmt: str) -> Any:
    """Billing's own file streamed through (its content type and file name): the printable PDF, or the
    lines as XLSX/CSV with headers in the reader's language. Billing decides whether this reader may have
    it (a merchant: its own issued documents only)."""
    if fmt not in DOCUMENT_FORMATS:
        abort(404)
    if fmt == "pdf":
        reply = api().call("billing", "GET", f"/invoices/{invoice_id}/pdf")
    else:
        reply = api().call(
            "billing",
            "GET",
            f"/invoices/{invoice_id}/export",
            params={"format": fmt, "lang": "en" if current_locale() == "en" else "zh"},
        )
    return pass_through(reply, fallback_filename=f"invoice-{invoice_id}.{fmt}", no_store=True)


# --- aging (账龄) and the accounting export ----------------------------------------------------------------


def _aging_page(
    export: dict[str, str] | None = None, errors: dict[str, str] | None = None, error: str = ""
) -> Any:
    as_of = request.args.get("as_of", "").strip()
    aging_errors: dict[str, str] = {}
    aging_error = ""
    report: dict[str, Any] = {"merchants": [], "totals": {}}
    try:
        report = api().get("billing", "/invoices/aging", as_of=as_of or None)
    except ApiError as err:
        if err.status != 422:
            raise
        aging_errors, aging_error = field_errors(err), message(err)
    start = today().replace(day=1)
    shown = {"from": start.isoformat(), "to": today().isoformat(), "format": "csv", **(export or {})}
    failed = bool(error or aging_error)
    return render_template(
        "invoicing/aging.html",
        report=report,
        as_of=as_of,
        buckets=AGING_BUCKETS,
        aging_errors=aging_errors,
        aging_error=aging_error,
        export=shown,
        errors=errors or {},
        error=error,
        **_common(),
    ), (422 if failed else 200)


@bp.get("/aging")
@role_required(*READERS)
def aging() -> Any:
    return _aging_page()


@bp.get("/accounting-export")
@role_required(*READERS)
def accounting_export() -> Any:
    """Issued invoices and credit notes between two issue days, for the accounting system: billing's file
    as it sends it; a bad range comes back to the aging page's form."""
    export = {name: request.args.get(name, "").strip() for name in ("from", "to", "format")}
    fmt = export["format"] or "csv"
    if fmt not in EXPORT_FORMATS:
        abort(404)
    try:
        reply = api().call(
            "billing",
            "GET",
            "/invoices/accounting-export",
            params={
                "from": export["from"] or None,
                "to": export["to"] or None,
                "format": fmt,
                "lang": "en" if current_locale() == "en" else "zh",
            },
        )
    except ApiError as err:
        if err.status != 422:
            raise
        return _aging_page(export, field_errors(err), message(err))
    return pass_through(reply, fallback_filename=f"invoices.{fmt}", no_store=True)


# --- project margin (项目毛利) -----------------------------------------------------------------------------

MARGIN_FILTERS = ("from", "to", "group", "project_id", "merchant_id")


@bp.get("/margins")
@role_required(*READERS)
def margins() -> Any:
    now = today()
    filters = {name: request.args.get(name, "").strip() for name in MARGIN_FILTERS}
    filters["from"] = filters["from"] or f"{now.year}-01"
    filters["to"] = filters["to"] or f"{now:%Y-%m}"
    filters["group"] = filters["group"] if filters["group"] in MARGIN_GROUPS else "project"
    results = api().gather(
        {
            "margins": Call("billing", "/margins", params=filters),
            "projects": Call("billing", "/projects", params={"per_page": PICKER_SIZE}),
        }
    )
    projects = project_options(_ok(results["projects"]))
    answer = results["margins"]
    errors: dict[str, str] = {}
    error = ""
    report: dict[str, Any] = {"rows": [], "total": None}
    if isinstance(answer, ApiError):
        if answer.status != 422:
            raise answer
        errors, error = field_errors(answer), message(answer)
    else:
        report = answer.data
    return render_template(
        "invoicing/margins.html",
        report=report,
        filters=filters,
        groups=MARGIN_GROUPS,
        projects=projects,
        project_names=dict(projects),
        errors=errors,
        error=error,
        negative=lambda value: decimal_of(value) < 0,
        **_common(),
    ), (422 if error else 200)


# --- the merchant's bills (我的账单) -----------------------------------------------------------------------

MY_FILTERS = ("status", "kind", "period")


@bp.get("/mine")
@role_required("merchant")
def my_invoices() -> Any:
    """The merchant's issued invoices and credit notes (billing never answers a merchant its drafts)."""
    page = request.args.get("page", 1, type=int)
    filters = {name: request.args.get(name, "").strip() for name in MY_FILTERS}
    results = api().gather(
        {
            "invoices": Call("billing", "/invoices", params={"page": page, "per_page": PER_PAGE, **filters}),
            "overdue": Call("billing", "/invoices", params={"status": "overdue", "per_page": 1}),
        }
    )
    listed = results["invoices"]
    items: list[dict[str, Any]] = []
    total = 0
    filter_errors: dict[str, str] = {}
    filter_error = ""
    if isinstance(listed, ApiError):
        if listed.status != 422:
            raise listed
        filter_errors, filter_error = field_errors(listed), message(listed)
    else:
        items, total = [decorate(item) for item in listed.items], listed.total or 0
    overdue = _ok(results["overdue"]).total or 0
    return render_template(
        "invoicing/mine.html",
        invoices=items,
        total=total,
        page=page,
        per_page=PER_PAGE,
        filters=filters,
        filter_errors=filter_errors,
        filter_error=filter_error,
        status_filters=[item for item in STATUS_FILTERS if item[0] not in ("draft", "approved")],
        overdue=overdue,
        **_common(),
    ), (422 if filter_error else 200)


@bp.get("/mine/<invoice_id>")
@role_required("merchant")
def my_invoice(invoice_id: str) -> Any:
    view, _names = _invoice(invoice_id)
    return render_template("invoicing/my_invoice.html", invoice=view, **_common())
