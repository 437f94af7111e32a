"""marshmallow schemas of the quality API: every request, response and list argument."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.quality import domain
from services.quality.machine_qa import FLAGS
from shared.money import DecimalString, Money
from shared.pagination import PageArgsSchema, page_response_schema
from shared.tabular import LangArgs

_ID = validate.Length(min=1, max=64)
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_WEEK = re.compile(r"^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$")


def _id(**kwargs: Any) -> fields.String:
    return fields.String(validate=_ID, **kwargs)


def _count(**kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=0, max=10_000_000), **kwargs)


class Seconds(DecimalString):
    """Seconds, a JSON number or decimal string, kept to the hundredth."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"example": "25", **kwargs.pop("metadata", {})}
        super().__init__(places=2, validate=validate.Range(min=0, max=86_400), metadata=metadata, **kwargs)


class Score(DecimalString):
    """A score on 0–100, to the hundredth."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"example": "81.50", **kwargs.pop("metadata", {})}
        super().__init__(places=2, validate=validate.Range(min=0, max=100), metadata=metadata, **kwargs)


class PeriodString(fields.String):
    """A month ``YYYY-MM``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            validate=validate.Regexp(_PERIOD, error="must be a month such as 2026-11"),
            metadata={"example": "2026-11", **kwargs.pop("metadata", {})},
            **kwargs,
        )


class WeekString(fields.String):
    """An ISO week ``YYYY-Www``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not _WEEK.fullmatch(text):
            raise ValidationError("must be an ISO week such as 2026-W48")
        try:
            domain.week_bounds(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return text


# --- platform figures ------------------------------------------------------------------------------------


class AgentDayIn(Schema):
    """One agent's day from the shop back office (客服绩效): 接待人数, 询单人数, 下单人数, 首响, 平响, 销售额,
    旺旺满意度 votes (很满意 … 很不满意), 品质退款, 平台求助."""

    project_id = _id(required=True)
    agent_id = _id(required=True)
    date = fields.Date(required=True, metadata={"description": "not in the future (Asia/Shanghai)"})
    receptions = _count(required=True, metadata={"description": "customers received (接待人数)"})
    inquiries = _count(required=True, metadata={"description": "pre-sales inquiries (询单人数)"})
    orders = _count(required=True, metadata={"description": "inquiries that ordered (询单→下单人数)"})
    first_response_seconds = Seconds(load_default=None, allow_none=True)
    avg_response_seconds = Seconds(load_default=None, allow_none=True)
    sales_amount = Money(required=True, maximum="999999999999.99")
    votes_very_satisfied = _count(load_default=0)
    votes_satisfied = _count(load_default=0)
    votes_neutral = _count(load_default=0)
    votes_unsatisfied = _count(load_default=0)
    votes_very_unsatisfied = _count(load_default=0)
    quality_refunds = _count(
        load_default=0, metadata={"description": "refunds for product quality (品质退款)"}
    )
    help_requests = _count(load_default=0, metadata={"description": "platform help requests (平台求助)"})

    @validates_schema
    def _funnel(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if {"receptions", "inquiries", "orders"} <= data.keys():
            if data["inquiries"] > data["receptions"]:
                raise ValidationError("cannot exceed receptions (询单 ⊆ 接待)", "inquiries")
            if data["orders"] > data["inquiries"]:
                raise ValidationError("cannot exceed inquiries (下单 ⊆ 询单)", "orders")


class AgentDayOut(Schema):
    project_id = fields.String()
    agent_id = fields.String()
    date = fields.Date()
    receptions = fields.Integer()
    inquiries = fields.Integer()
    orders = fields.Integer()
    first_response_seconds = DecimalString()
    avg_response_seconds = DecimalString()
    sales_amount = Money()
    votes_very_satisfied = fields.Integer()
    votes_satisfied = fields.Integer()
    votes_neutral = fields.Integer()
    votes_unsatisfied = fields.Integer()
    votes_very_unsatisfied = fields.Integer()
    quality_refunds = fields.Integer()
    help_requests = fields.Integer()
    import_id = fields.String()
    updated_at = fields.AwareDateTime()


class _Range(Schema):
    project_id = _id(required=True)
    agent_id = _id()
    from_ = fields.Date(data_key="from")
    to = fields.Date()

    @validates_schema
    def _order(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("from_") and data.get("to") and data["from_"] > data["to"]:
            raise ValidationError("must not be before from", "to")


class AgentDayListArgs(PageArgsSchema, _Range):
    pass


class ImportResult(Schema):
    import_id = fields.String()
    received = fields.Integer()
    days = fields.Integer()
    created = fields.Integer()
    replaced = fields.Integer()
    removed = fields.Integer()
    kept_reviewed = fields.Integer(metadata={"description": "conversations: reviewed ones kept"})
    flagged = fields.Integer(metadata={"description": "conversations: flagged by the machine check"})


class ImportArgs(Schema):
    project_id = _id(metadata={"description": "the project, when the file has no project_id column"})


# --- conversations -------------------------------------------------------------------------------------


class MessageIn(Schema):
    at = fields.AwareDateTime(required=True, metadata={"description": "with its offset (+08:00)"})
    sender = fields.String(required=True, validate=validate.OneOf(("agent", "customer")))
    text = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class ConversationIn(Schema):
    """One chat as the platform's export has it; ``external_id`` is the platform's session id."""

    project_id = _id(required=True)
    external_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    agent_id = _id(required=True)
    customer = fields.String(validate=validate.Length(max=100), allow_none=True)
    outcome = fields.String(load_default="none", validate=validate.OneOf(domain.OUTCOMES))
    messages = fields.List(fields.Nested(MessageIn), required=True, validate=validate.Length(min=1, max=2000))


class MessageOut(Schema):
    at = fields.String()
    sender = fields.String()
    text = fields.String()


class FindingOut(Schema):
    flag = fields.String()
    detail = fields.String()


class ConversationOut(Schema):
    id = fields.String()
    project_id = fields.String()
    external_id = fields.String()
    agent_id = fields.String()
    customer = fields.String(allow_none=True)
    date = fields.Date()
    started_at = fields.AwareDateTime()
    outcome = fields.String()
    message_count = fields.Integer()
    first_response_seconds = fields.Float(allow_none=True)
    avg_response_seconds = fields.Float(allow_none=True)
    unanswered = fields.Integer()
    sentiment = fields.Float(allow_none=True)
    flags = fields.List(fields.String())
    findings = fields.List(fields.Nested(FindingOut))
    needs_review = fields.Boolean()
    reviewed = fields.Boolean()


class ConversationDetailOut(ConversationOut):
    messages = fields.List(fields.Nested(MessageOut))


class ConversationListArgs(PageArgsSchema, _Range):
    flag = fields.String(validate=validate.OneOf(FLAGS))
    needs_review = fields.Boolean()
    reviewed = fields.Boolean()
    outcome = fields.String(validate=validate.OneOf(domain.OUTCOMES))


class SampleIn(Schema):
    project_id = _id(required=True)
    week = WeekString(required=True, metadata={"example": "2026-W48"})
    kind = fields.String(load_default="weekly", validate=validate.OneOf(("weekly", "lost_inquiries")))


class SampleOut(Schema):
    id = fields.String()
    project_id = fields.String()
    week = fields.String()
    kind = fields.String()
    size_per_agent = fields.Integer(allow_none=True)
    conversation_ids = fields.List(fields.String())
    created_at = fields.AwareDateTime()
    created_by = fields.String()


# --- scorecards and reviews ------------------------------------------------------------------------------


class ScorecardItemSchema(Schema):
    key = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$"))
    section = fields.String(required=True, validate=validate.OneOf(domain.SECTIONS))
    label = fields.String(required=True, validate=validate.Length(min=1, max=200))
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100))
    area = fields.String(required=True, validate=validate.OneOf(domain.AREAS))


class ScorecardIn(Schema):
    project_id = _id(
        load_default=None, allow_none=True, metadata={"description": "none: the vendor's default"}
    )
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    source = fields.String(validate=validate.OneOf(("vendor", "merchant")))
    items = fields.List(
        fields.Nested(ScorecardItemSchema), required=True, validate=validate.Length(min=1, max=100)
    )


class ScorecardOut(Schema):
    id = fields.String()
    project_id = fields.String(allow_none=True)
    source = fields.String()
    name = fields.String()
    items = fields.List(fields.Nested(ScorecardItemSchema))
    max_points = fields.Integer()
    version = fields.Integer()
    created_at = fields.AwareDateTime()
    created_by = fields.String()


class ScorecardListArgs(PageArgsSchema):
    project_id = _id()


class ReviewIn(Schema):
    conversation_id = fields.String(validate=validate.Length(min=1, max=36))
    project_id = _id()
    agent_id = _id()
    date = fields.Date()
    method = fields.String(load_default="chat_sampling", validate=validate.OneOf(domain.METHODS))
    tier = fields.String(required=True, validate=validate.OneOf(domain.TIERS))
    points = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(strict=True),
        required=True,
        metadata={"description": "points given per scorecard item key"},
    )
    problems = fields.List(fields.String(validate=validate.Length(max=1000)), load_default=list)
    good_cases = fields.List(fields.String(validate=validate.Length(max=1000)), load_default=list)
    note = fields.String(validate=validate.Length(max=2000), allow_none=True)


class ReviewOut(Schema):
    id = fields.String()
    project_id = fields.String()
    agent_id = fields.String()
    conversation_id = fields.String(allow_none=True)
    scorecard_id = fields.String()
    date = fields.Date()
    method = fields.String()
    tier = fields.String()
    reviewer = fields.String()
    points = fields.Dict(keys=fields.String(), values=fields.Integer())
    areas = fields.Dict(keys=fields.String(), values=fields.String())
    total = fields.Integer()
    max_total = fields.Integer()
    percent = DecimalString()
    problems = fields.List(fields.String())
    good_cases = fields.List(fields.String())
    note = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()


class ReviewListArgs(PageArgsSchema, _Range):
    method = fields.String(validate=validate.OneOf(domain.METHODS))
    tier = fields.String(validate=validate.OneOf(domain.TIERS))


class ExecutionRatingIn(Schema):
    score = Score(required=True)
    note = fields.String(validate=validate.Length(max=2000), allow_none=True)


class ExecutionRatingOut(Schema):
    project_id = fields.String()
    agent_id = fields.String()
    period = fields.String()
    score = DecimalString()
    note = fields.String(allow_none=True)
    rated_by = fields.String()
    rated_at = fields.AwareDateTime()


# --- KPI and the store -------------------------------------------------------------------------------------


class KpiRunIn(Schema):
    project_id = _id(required=True)
    period = PeriodString(required=True)


class IndicatorOut(Schema):
    name = fields.String()
    actual = fields.String(allow_none=True)
    target = fields.String(allow_none=True)
    score = fields.String(allow_none=True)


class KpiOut(Schema):
    project_id = fields.String()
    agent_id = fields.String()
    agent_name = fields.String(allow_none=True)
    period = fields.String()
    score = DecimalString()
    data = DecimalString(allow_none=True)
    performance = DecimalString(allow_none=True)
    execution = DecimalString(allow_none=True)
    weights = fields.Dict(keys=fields.String(), values=fields.String())
    missing = fields.List(fields.String())
    indicators = fields.List(fields.Nested(IndicatorOut))
    targets = fields.Dict(keys=fields.String(), values=fields.Boolean())
    targets_met = fields.Boolean()
    reviews = fields.Integer()
    below_threshold_streak = fields.Integer()
    warning = fields.Boolean()
    version = fields.Integer()
    scored_at = fields.AwareDateTime()


class KpiRunOut(Schema):
    project_id = fields.String()
    period = fields.String()
    scored = fields.Integer()
    changed = fields.Integer()
    unscored = fields.List(fields.String(), metadata={"description": "agents with nothing to score yet"})
    items = fields.List(fields.Nested(KpiOut))


class KpiListArgs(PageArgsSchema):
    project_id = _id(required=True)
    period = PeriodString()
    agent_id = _id()
    warning = fields.Boolean()


class PeriodArgs(Schema):
    period = PeriodString(required=True)


class StoreOut(Schema):
    project_id = fields.String()
    company_name = fields.String(allow_none=True)
    period = fields.String()
    satisfaction_rate = DecimalString(allow_none=True, metadata={"description": "percent"})
    satisfaction_target = DecimalString(allow_none=True)
    gold_team = fields.Boolean(metadata={"description": "金牌客服团队: satisfaction ≥ the threshold"})
    gold_team_threshold = DecimalString()
    quality_refund_rate = DecimalString(allow_none=True, metadata={"description": "percent of orders"})
    help_rate = DecimalString(allow_none=True, metadata={"description": "percent of receptions"})
    receptions = fields.Integer()
    orders = fields.Integer()
    votes = fields.Integer()
    agent_days = fields.Integer()


AgentDayPage = page_response_schema(AgentDayOut, "AgentDayPage")
ConversationPage = page_response_schema(ConversationOut, "ConversationPage")
ReviewPage = page_response_schema(ReviewOut, "ReviewPage")
ScorecardPage = page_response_schema(ScorecardOut, "ScorecardPage")
KpiPage = page_response_schema(KpiOut, "KpiPage")


# --- the weekly review and targets against actuals ---------------------------------------------------


class WeekArgs(LangArgs):
    week = WeekString(
        metadata={"example": "2026-W48", "description": "an ISO week; the last full week when left out"}
    )


class TargetsArgs(Schema):
    period = PeriodString(metadata={"description": "a month (or give week)"})
    week = WeekString(metadata={"description": "an ISO week (or give period)"})

    @validates_schema
    def _one(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("period" in data) == ("week" in data):
            raise ValidationError("give either period (YYYY-MM) or week (YYYY-Www)", "period")


class TargetCheckOut(Schema):
    name = fields.String(
        metadata={
            "description": "first_response_seconds, avg_response_seconds, conversion_rate (percent), "
            "avg_order_value, satisfaction_rate (percent)"
        }
    )
    actual = DecimalString(allow_none=True)
    target = DecimalString(allow_none=True, metadata={"description": "null when the order sets none"})
    met = fields.Boolean(allow_none=True, metadata={"description": "null without a target or data"})


class FiguresOut(Schema):
    agent_days = fields.Integer()
    receptions = fields.Integer()
    inquiries = fields.Integer()
    orders = fields.Integer()
    sales_amount = Money()


class TargetsOut(Schema):
    project_id = fields.String()
    date_from = fields.Date()
    date_to = fields.Date()
    figures = fields.Nested(FiguresOut)
    targets = fields.List(fields.Nested(TargetCheckOut))


class FlagCountOut(Schema):
    flag = fields.String()
    count = fields.Integer()


class MachineQaWeekOut(Schema):
    conversations = fields.Integer()
    flagged = fields.Integer()
    reviewed = fields.Integer()
    flags = fields.List(fields.Nested(FlagCountOut))


class ProblemCountOut(Schema):
    problem = fields.String()
    count = fields.Integer()


class GoodCaseOut(Schema):
    agent_id = fields.String()
    name = fields.String(allow_none=True)
    date = fields.Date()
    text = fields.String()


class ReviewsWeekOut(Schema):
    count = fields.Integer()
    average_percent = DecimalString(allow_none=True)
    top_problems = fields.List(fields.Nested(ProblemCountOut))
    good_cases = fields.List(fields.Nested(GoodCaseOut))


class ComplaintWeekItemOut(Schema):
    number = fields.String()
    agent_id = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    level = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    opened_on = fields.Date()
    upheld = fields.Boolean()
    penalty = Money(allow_none=True)
    reason = fields.String(allow_none=True)


class ComplaintsWeekOut(Schema):
    opened = fields.Integer()
    upheld = fields.Integer()
    penalties = Money()
    items = fields.List(fields.Nested(ComplaintWeekItemOut))


class KpiMonthOut(Schema):
    period = fields.String(metadata={"description": "the month the week belongs to (its Thursday's)"})
    scored = fields.Integer()
    average = DecimalString(allow_none=True)
    warnings = fields.Integer()
    warning_threshold = DecimalString()


class AgentWeekOut(Schema):
    agent_id = fields.String()
    name = fields.String(allow_none=True)
    days = fields.Integer()
    receptions = fields.Integer()
    conversion_rate = DecimalString(allow_none=True)
    avg_response_seconds = DecimalString(allow_none=True)
    sales_amount = Money()
    satisfaction_rate = DecimalString(allow_none=True)
    conversations = fields.Integer()
    flagged = fields.Integer()
    reviews = fields.Integer()
    review_percent = DecimalString(allow_none=True)
    problems = fields.Integer()
    complaints = fields.Integer()
    complaints_upheld = fields.Integer()
    kpi_score = DecimalString(allow_none=True)
    kpi_warning = fields.Boolean()


class WeeklyReviewOut(TargetsOut):
    company_name = fields.String(allow_none=True)
    week = fields.String()
    machine_qa = fields.Nested(MachineQaWeekOut)
    reviews = fields.Nested(ReviewsWeekOut)
    complaints = fields.Nested(ComplaintsWeekOut)
    kpi = fields.Nested(KpiMonthOut)
    agents = fields.List(fields.Nested(AgentWeekOut))
