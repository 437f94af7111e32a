"""Marshmallow schemas of merchant invoicing (price lists, invoices, payments, credit notes, aging,
margins), with the seed's figures as examples (4,000.00 per seat-month, 25.00 per agent-hour, training
15.00 per person-hour, 6% VAT)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.billing import pricing
from services.billing.domain import PERIOD_PATTERN
from services.billing.schemas import PeriodField
from shared.money import DecimalString, Money, Rate
from shared.pagination import PageArgsSchema, page_response_schema
from shared.tabular import ExportArgs

_ID = validate.Length(min=1, max=64)
_PERIOD = validate.Regexp(PERIOD_PATTERN, error="must be YYYY-MM")


def _price(description: str, example: str | None = None) -> Money:
    metadata = {"description": description, **({"example": example} if example else {})}
    return Money(allow_none=True, minimum="0.00", maximum="9999999.99", metadata=metadata)


# --- price lists --------------------------------------------------------------------------------------------


class PriceListIn(Schema):
    """A version of a project's price list (报价), in force from ``effective_from`` until the next one."""

    project_id = fields.String(required=True, validate=_ID)
    effective_from = fields.Date(
        metadata={"description": "defaults to the first day of the current month (Asia/Shanghai)"}
    )
    basis = fields.String(
        required=True,
        validate=validate.OneOf(pricing.BASES, error="unknown basis {input!r}; one of: {choices}"),
        metadata={"description": "what the service fee is charged by", "example": "seat_month"},
    )
    seat_month_price = _price("per seat and month (坐席月), seat_month lists", "4000.00")
    agent_hour_price = _price("per agent-hour worked (工时), agent_hour lists", "25.00")
    consultation_price = _price("per consultation received (咨询量), consultation lists")
    training_person_hour_price = _price("training fee per person and hour (培训费 人·时)", "15.00")
    surge_premium_rate = Rate(
        allow_none=True,
        max_value=5,
        metadata={
            "description": 'surcharge on surge capacity: "0.2" = 20% more (default 0)',
            "example": "0.2",
        },
    )
    minimum_charge = _price("the month's service fee is at least this (保底)")
    tax_rate = Rate(
        allow_none=True,
        metadata={
            "description": 'VAT rate; default BILLING_DEFAULT_TAX_RATE ("0.06" = 6%)',
            "example": "0.06",
        },
    )
    payment_terms_days = fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=365),
        metadata={"description": "days from issue to due date; default BILLING_PAYMENT_TERMS_DAYS (30)"},
    )
    complaint_credit = _price("credited per complaint upheld against an agent, if the contract says so")
    targets_missed_credit_rate = Rate(
        allow_none=True,
        metadata={
            "description": "share of the service fee credited when quality's verdict says the targets "
            "were missed, weighted by the share of scored agents who missed them",
            "example": "0.05",
        },
    )
    notes = fields.String(allow_none=True, validate=validate.Length(max=500))


class PriceListOut(Schema):
    id = fields.String()
    project_id = fields.String()
    effective_from = fields.Date()
    basis = fields.String(metadata={"enum": list(pricing.BASES)})
    seat_month_price = Money(allow_none=True)
    agent_hour_price = Money(allow_none=True)
    consultation_price = Money(allow_none=True)
    training_person_hour_price = Money(allow_none=True)
    surge_premium_rate = Rate()
    minimum_charge = Money(allow_none=True)
    tax_rate = Rate()
    payment_terms_days = fields.Integer()
    complaint_credit = Money(allow_none=True)
    targets_missed_credit_rate = Rate(allow_none=True)
    notes = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    created_by = fields.String()


class PriceListListArgs(PageArgsSchema):
    project_id = fields.String(validate=_ID)
    in_force_on = fields.Date(metadata={"description": "only versions effective on or before this day"})


PriceListPage = page_response_schema(PriceListOut, "PriceListPage")


# --- invoices -----------------------------------------------------------------------------------------------


class InvoiceRunIn(Schema):
    period = PeriodField(required=True, metadata={"example": "2026-11"})
    project_id = fields.String(
        validate=_ID, metadata={"description": "one project; leave out for every project with a price list"}
    )


class KeptInvoice(Schema):
    project_id = fields.String()
    invoice_id = fields.String()
    status = fields.String()


class SkippedProject(Schema):
    project_id = fields.String()
    reason = fields.String()


class InvoiceRunOut(Schema):
    period = fields.String()
    created = fields.List(fields.String(), metadata={"description": "new drafts"})
    recalculated = fields.List(fields.String(), metadata={"description": "drafts computed again"})
    kept = fields.List(fields.Nested(KeptInvoice), metadata={"description": "approved or issued: untouched"})
    skipped = fields.List(fields.Nested(SkippedProject))


class WarningOut(Schema):
    code = fields.String()
    message = fields.String()


class InvoiceLineOut(Schema):
    id = fields.Integer()
    seq = fields.Integer()
    kind = fields.String(metadata={"enum": list(pricing.LINE_KINDS)})
    description = fields.String()
    quantity = DecimalString(places=4)
    unit = fields.String(metadata={"example": "坐席月"})
    unit_price = Money(allow_negative=True)
    amount = Money(allow_negative=True)
    price_list_id = fields.String(allow_none=True)
    sources = fields.Dict(
        metadata={"description": "the source table and keys (GET …/lines/{seq}/sources lists the rows)"}
    )


class PaymentOut(Schema):
    id = fields.String()
    amount = Money()
    paid_on = fields.Date()
    reference = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    recorded_at = fields.AwareDateTime()
    recorded_by = fields.String()
    reversed_at = fields.AwareDateTime(allow_none=True, metadata={"description": "set when reversed"})
    reversed_by = fields.String(allow_none=True)
    reversal_reason = fields.String(allow_none=True)


class CreditNoteRef(Schema):
    id = fields.String()
    number = fields.String()
    total = Money(allow_negative=True)
    issued_on = fields.Date()
    reason = fields.String(allow_none=True)


class InvoiceSummaryOut(Schema):
    id = fields.String()
    kind = fields.String(metadata={"enum": [pricing.INVOICE, pricing.CREDIT_NOTE]})
    number = fields.String(allow_none=True, metadata={"example": "FP2026-00001"})
    period = fields.String(metadata={"example": "2026-11"})
    project_id = fields.String()
    merchant_id = fields.String(allow_none=True)
    company_name = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": list(pricing.STATUSES)})
    overdue = fields.Boolean()
    days_overdue = fields.Integer()
    currency = fields.String()
    subtotal = Money(allow_negative=True, metadata={"example": "40000.00"})
    tax_rate = Rate()
    tax = Money(allow_negative=True, metadata={"example": "2400.00"})
    total = Money(allow_negative=True, metadata={"example": "42400.00"})
    paid = Money()
    credited = Money(allow_negative=True, metadata={"description": "the credit notes' totals (negative)"})
    balance = Money(
        allow_negative=True, metadata={"description": "still owed; negative: a credit owed to the merchant"}
    )
    issued_on = fields.Date(allow_none=True)
    due_on = fields.Date(allow_none=True)
    credited_invoice_id = fields.String(allow_none=True)
    credited_invoice_number = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    warnings = fields.List(fields.Nested(WarningOut))
    created_at = fields.AwareDateTime()
    calculated_at = fields.AwareDateTime()
    approved_at = fields.AwareDateTime(allow_none=True)
    approved_by = fields.String(allow_none=True)
    issued_at = fields.AwareDateTime(allow_none=True)
    issued_by = fields.String(allow_none=True)


class InvoiceOut(InvoiceSummaryOut):
    lines = fields.List(fields.Nested(InvoiceLineOut))
    payments = fields.List(fields.Nested(PaymentOut))
    credit_notes = fields.List(fields.Nested(CreditNoteRef))


class InvoiceListArgs(PageArgsSchema):
    period = fields.String(validate=_PERIOD)
    project_id = fields.String(validate=_ID)
    merchant_id = fields.String(validate=_ID)
    kind = fields.String(validate=validate.OneOf([pricing.INVOICE, pricing.CREDIT_NOTE]))
    status = fields.String(
        validate=validate.OneOf([*pricing.STATUSES, "overdue"]),
        metadata={"description": "a status, or `overdue` (still owing past the due date)"},
    )
    number = fields.String(validate=validate.Length(min=1, max=20))


InvoicePage = page_response_schema(InvoiceSummaryOut, "InvoicePage")


class LineSourcesArgs(PageArgsSchema):
    class Meta:
        exclude = ("after",)


class LineSourcesPage(Schema):
    items = fields.List(fields.Dict(), metadata={"description": "the rows, with the source table"})
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()


class PaymentIn(Schema):
    amount = Money(required=True, minimum="0.01", maximum="999999999.99", metadata={"example": "42400.00"})
    paid_on = fields.Date(metadata={"description": "defaults to today (Asia/Shanghai); not in the future"})
    reference = fields.String(
        allow_none=True,
        validate=validate.Length(max=100),
        metadata={"description": "bank reference (流水号)"},
    )
    note = fields.String(allow_none=True, validate=validate.Length(max=500))


class PaymentReversalIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class CreditLineIn(Schema):
    description = fields.String(required=True, validate=validate.Length(min=1, max=500))
    amount = Money(
        required=True,
        minimum="0.01",
        maximum="999999999.99",
        metadata={"description": "the amount credited before tax (a positive number)", "example": "1000.00"},
    )


class CreditNoteIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    lines = fields.List(fields.Nested(CreditLineIn), required=True, validate=validate.Length(min=1, max=100))


# --- reports ------------------------------------------------------------------------------------------------


class AgingArgs(Schema):
    as_of = fields.Date(metadata={"description": "defaults to today (Asia/Shanghai)"})


class AgingRow(Schema):
    merchant_id = fields.String(allow_none=True)
    company_name = fields.String(allow_none=True)
    current = Money(metadata={"description": "not yet due"})
    d1_30 = Money(attribute="1_30", data_key="1_30")
    d31_60 = Money(attribute="31_60", data_key="31_60")
    d61_90 = Money(attribute="61_90", data_key="61_90")
    over_90 = Money()
    total = Money()
    invoices = fields.Integer()


class AgingTotals(Schema):
    current = Money()
    d1_30 = Money(attribute="1_30", data_key="1_30")
    d31_60 = Money(attribute="31_60", data_key="31_60")
    d61_90 = Money(attribute="61_90", data_key="61_90")
    over_90 = Money()
    total = Money()


class AgingOut(Schema):
    as_of = fields.Date()
    merchants = fields.List(fields.Nested(AgingRow))
    totals = fields.Nested(AgingTotals)


class MarginArgs(Schema):
    from_ = fields.String(data_key="from", required=True, validate=_PERIOD, metadata={"example": "2026-01"})
    to = fields.String(required=True, validate=_PERIOD, metadata={"example": "2026-12"})
    group = fields.String(load_default="project", validate=validate.OneOf(("project", "merchant", "month")))
    project_id = fields.String(validate=_ID)
    merchant_id = fields.String(validate=_ID)

    @validates_schema
    def _range(self, data: dict[str, Any], **_kwargs: Any) -> None:
        start, end = data.get("from_"), data.get("to")
        if start and end and start > end:
            raise ValidationError({"to": ["must not be before from"]})
        if start and end:
            months = (int(end[:4]) - int(start[:4])) * 12 + int(end[5:]) - int(start[5:])
            if months >= 36:
                raise ValidationError({"to": ["at most 36 months from from"]})


class MarginFigures(Schema):
    revenue = Money(allow_negative=True)
    agent_pay = Money(allow_negative=True)
    penalties = Money(allow_negative=True)
    margin = Money(allow_negative=True)
    margin_rate = DecimalString(places=4, allow_none=True, metadata={"description": "margin ÷ revenue"})


class MarginRow(MarginFigures):
    project_id = fields.String()
    period = fields.String()
    merchant_id = fields.String(allow_none=True)
    company_name = fields.String(allow_none=True)


class MarginOut(Schema):
    from_ = fields.String(data_key="from")
    to = fields.String()
    group = fields.String()
    rows = fields.List(fields.Nested(MarginRow))
    total = fields.Nested(MarginFigures)


class AccountingArgs(ExportArgs):
    from_ = fields.Date(
        data_key="from", metadata={"description": "first issue day; default the 1st of this month"}
    )
    to = fields.Date(metadata={"description": "last issue day; default today"})

    @validates_schema
    def _range(self, data: dict[str, Any], **_kwargs: Any) -> None:
        start: dt.date | None = data.get("from_")
        end: dt.date | None = data.get("to")
        if start and end and start > end:
            raise ValidationError({"to": ["must not be before from"]})
        if start and end and (end - start).days > 731:
            raise ValidationError({"to": ["at most two years after from"]})
