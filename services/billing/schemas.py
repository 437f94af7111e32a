"""Marshmallow schemas of the billing API: every request and response body, with the seed's figures as
examples (20 CNY/hour, 4,000/month, 4,000 + 1%, 5%)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from services.billing.domain import (
    PERIOD_PATTERN,
    PLAN_TYPES,
    WARNING_CODES,
    Conditions,
    PlanTerms,
    period_problem,
    plan_problems,
)
from shared.events.catalogue import ATTENDANCE_STATUSES
from shared.money import DecimalString, Money, Rate
from shared.pagination import PageArgsSchema, page_response_schema
from shared.web import current_clock
from shared.workdays import today_shanghai

_ID = validate.Length(min=1, max=64)


def _id(**kwargs: Any) -> fields.String:
    return fields.String(validate=_ID, **kwargs)


class PeriodField(fields.String):
    """A pay period ``YYYY-MM`` that is not in the future (Asia/Shanghai)."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"pattern": PERIOD_PATTERN, "example": "2026-10", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        problem = period_problem(text, today_shanghai(current_clock()()))
        if problem:
            raise ValidationError(problem)
        return text


class Seconds(DecimalString):
    """Seconds as a JSON number or decimal string, kept to the hundredth; answered as a decimal string."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"example": "30", **kwargs.pop("metadata", {})}
        super().__init__(places=2, validate=validate.Range(min=0, max=86_400), metadata=metadata, **kwargs)


# --- pay plans --------------------------------------------------------------------------------------------


class ConditionsSchema(Schema):
    max_avg_response_seconds = Seconds(
        allow_none=True,
        metadata={"description": "the consultation-weighted average response time must be at most this"},
    )
    min_response_rate = Rate(
        allow_none=True,
        metadata={"description": 'the response rate must be at least this ("0.95" = 95%)', "example": "0.95"},
    )
    min_kpi_score = DecimalString(
        places=2,
        allow_none=True,
        validate=validate.Range(min=0, max=100),
        metadata={
            "description": "the quality service's KPI of the period (65% data, 25% work performance, 10% "
            "execution; kpi.scored) must be at least this",
            "example": "80",
        },
    )
    kpi_targets_met = fields.Boolean(
        load_default=False,
        metadata={
            "description": "the quality service must have judged the order's service targets met for the "
            "period (kpi.scored's targets_met)"
        },
    )


class PayPlanIn(Schema):
    project_id = _id(required=True)
    agent_id = _id(
        load_default=None,
        allow_none=True,
        metadata={"description": "set for one agent's override; leave out for the project's default"},
    )
    type = fields.String(
        required=True,
        validate=validate.OneOf(PLAN_TYPES, error="unknown plan type {input!r}; one of: {choices}"),
        metadata={"example": "base_commission"},
    )
    hourly_rate = Money(
        allow_none=True,
        maximum="99999.99",
        metadata={"description": "hourly plans (按小时)", "example": "20.00"},
    )
    monthly_base = Money(
        allow_none=True,
        maximum="9999999.99",
        metadata={"description": "monthly and base_commission plans (底薪)", "example": "4000.00"},
    )
    commission_rate = Rate(
        allow_none=True,
        metadata={
            "description": 'share of sales, at most 1 (100%): "0.01" = 1% (底薪+提成), '
            '"0.05" = 5% (0底薪+提成)',
            "example": "0.01",
        },
    )
    conditions = fields.Nested(ConditionsSchema, allow_none=True)
    base_factor_when_unmet = Rate(
        allow_none=True,
        metadata={"description": "share of the base paid when the targets are missed", "example": "0.5"},
    )
    effective_from = fields.Date(
        metadata={"description": "defaults to the first day of the current month (Asia/Shanghai)"}
    )
    notes = fields.String(allow_none=True, validate=validate.Length(max=500))

    @validates_schema
    def _terms(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("type") not in PLAN_TYPES:
            return
        problems = plan_problems(terms_from(data))
        if problems:
            raise ValidationError(problems)


def terms_from(data: dict[str, Any]) -> PlanTerms:
    raw = data.get("conditions")
    conditions = (
        Conditions(
            raw.get("max_avg_response_seconds"),
            raw.get("min_response_rate"),
            raw.get("min_kpi_score"),
            bool(raw.get("kpi_targets_met")),
        )
        if raw is not None
        else None
    )
    return PlanTerms(
        type=data["type"],
        hourly_rate=data.get("hourly_rate"),
        monthly_base=data.get("monthly_base"),
        commission_rate=data.get("commission_rate"),
        conditions=conditions,
        base_factor_when_unmet=data.get("base_factor_when_unmet"),
    )


class ConditionsOut(Schema):
    max_avg_response_seconds = DecimalString(allow_none=True)
    min_response_rate = Rate(allow_none=True)
    min_kpi_score = DecimalString(allow_none=True)
    kpi_targets_met = fields.Boolean()


class PayPlanOut(Schema):
    id = fields.String()
    project_id = fields.String()
    agent_id = fields.String(allow_none=True)
    type = fields.String()
    hourly_rate = Money(allow_none=True)
    monthly_base = Money(allow_none=True)
    commission_rate = Rate(allow_none=True)
    conditions = fields.Nested(ConditionsOut, allow_none=True)
    base_factor_when_unmet = Rate(allow_none=True)
    effective_from = fields.Date()
    notes = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    created_by = fields.String()


class PayPlanListArgs(PageArgsSchema):
    project_id = _id()
    agent_id = _id(metadata={"description": "an agent's overrides"})
    type = fields.String(validate=validate.OneOf(PLAN_TYPES))
    defaults_only = fields.Boolean(metadata={"description": "only projects' default plans"})


PayPlanPage = page_response_schema(PayPlanOut, "PayPlanPage")


# --- performance data -------------------------------------------------------------------------------------


class PerformanceIn(Schema):
    """One agent's day on one project: sales (销售额), average response (平响), response rate and
    consultations (咨询量)."""

    project_id = _id(required=True)
    agent_id = _id(required=True)
    date = fields.Date(required=True, metadata={"description": "not in the future (Asia/Shanghai)"})
    sales_amount = Money(
        required=True,
        maximum="99999999.99",
        metadata={"description": "the agent's sales that day (销售额)", "example": "3500.00"},
    )
    avg_response_seconds = Seconds(required=True)
    response_rate = Rate(required=True, metadata={"example": "0.98"})
    consultations = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=1_000_000))


class PerformanceOut(Schema):
    project_id = fields.String()
    agent_id = fields.String()
    date = fields.Date()
    sales_amount = Money()
    avg_response_seconds = DecimalString()
    response_rate = Rate()
    consultations = fields.Integer()
    updated_at = fields.AwareDateTime()


class PerformanceListArgs(PageArgsSchema):
    project_id = _id()
    agent_id = _id()
    from_ = fields.Date(data_key="from")
    to = fields.Date()


PerformancePage = page_response_schema(PerformanceOut, "PerformancePage")


class PerformanceResult(Schema):
    received = fields.Integer(metadata={"description": "rows in the request"})
    created = fields.Integer(metadata={"description": "days that were new"})
    replaced = fields.Integer(metadata={"description": "days sent before and now replaced"})


class WorkedHoursOut(Schema):
    project_id = fields.String()
    agent_id = fields.String()
    date = fields.Date()
    hours = DecimalString()
    updated_at = fields.AwareDateTime()


WorkedHoursListArgs = PerformanceListArgs
WorkedHoursPage = page_response_schema(WorkedHoursOut, "WorkedHoursPage")


class AttendanceDayOut(Schema):
    """An agent's attendance of a day on a project (考勤), as scheduling last reported it."""

    project_id = fields.String()
    agent_id = fields.String()
    date = fields.Date()
    status = fields.String(metadata={"enum": list(ATTENDANCE_STATUSES)})
    shift = fields.String(allow_none=True, metadata={"example": "morning"})
    late_minutes = fields.Integer()
    early_minutes = fields.Integer()
    hours = DecimalString(
        allow_none=True,
        metadata={"description": "the confirmed hours (paid through worked-hours, not from here)"},
    )
    clock_in = fields.AwareDateTime(allow_none=True)
    clock_out = fields.AwareDateTime(allow_none=True)
    corrected = fields.Boolean(metadata={"description": "the supervisor changed the clocked hours"})
    no_show_replacement_id = fields.String(
        allow_none=True, metadata={"description": "the reserve agent called in for a no-show"}
    )
    source = fields.String(
        metadata={
            "enum": ["attendance", "no_show"],
            "description": "attendance: confirmed by a supervisor; no_show: only the no-show notice so far",
        }
    )
    updated_at = fields.AwareDateTime()


AttendanceListArgs = PerformanceListArgs
AttendancePage = page_response_schema(AttendanceDayOut, "AttendancePage")


# --- deductions and adjustments ---------------------------------------------------------------------------


class DeductionOut(Schema):
    complaint_id = fields.String()
    number = fields.String()
    project_id = fields.String()
    agent_id = fields.String()
    amount = Money()
    resolved_on = fields.Date()
    period = fields.String()


class PeriodFilterArgs(PageArgsSchema):
    project_id = _id()
    agent_id = _id()
    period = fields.String(validate=validate.Regexp(PERIOD_PATTERN, error="must be YYYY-MM"))


DeductionPage = page_response_schema(DeductionOut, "DeductionPage")


class AdjustmentIn(Schema):
    project_id = _id(required=True)
    agent_id = _id(required=True)
    period = PeriodField(required=True)
    amount = Money(
        required=True,
        allow_negative=True,
        minimum="-99999999.99",
        maximum="99999999.99",
        metadata={"example": "-150.00"},
    )
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))

    @validates("amount")
    def _not_zero(self, value: Decimal, **_kwargs: Any) -> None:
        if value == 0:
            raise ValidationError("an adjustment of 0.00 changes nothing; give a positive or negative amount")

    @validates("reason")
    def _reason(self, value: str, **_kwargs: Any) -> None:
        if not value.strip():
            raise ValidationError("say why: the reason is printed on the agent's payslip")


class AdjustmentOut(Schema):
    id = fields.String()
    project_id = fields.String()
    agent_id = fields.String()
    period = fields.String()
    amount = Money()
    reason = fields.String()
    created_at = fields.AwareDateTime()
    created_by = fields.String()


AdjustmentPage = page_response_schema(AdjustmentOut, "AdjustmentPage")


# --- payroll runs and payslips ----------------------------------------------------------------------------

RUN_STATUSES = ("draft", "approved")


class PayrollRunIn(Schema):
    period = PeriodField(required=True)
    project_id = _id(
        load_default=None, allow_none=True, metadata={"description": "one project; leave out for all"}
    )


class AgentRef(Schema):
    agent_id = fields.String()
    project_id = fields.String()


class RunWarningOut(Schema):
    code = fields.String(metadata={"enum": list(WARNING_CODES)})
    message = fields.String(
        metadata={
            "example": "张三 (…) in project …: 40.00 of deductions exceed the pay of 2026-11 and are "
            "carried to 2026-12"
        }
    )
    agent_id = fields.String()
    project_id = fields.String()
    amount = Money(allow_negative=True)


class PayrollRunOut(Schema):
    id = fields.String()
    period = fields.String()
    project_id = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": list(RUN_STATUSES)})
    total = Money()
    payslip_count = fields.Integer()
    without_plan = fields.List(
        fields.Nested(AgentRef),
        metadata={"description": "agents with data in the period but no pay plan in force: not paid"},
    )
    warnings = fields.List(
        fields.Nested(RunWarningOut),
        metadata={
            "description": "what finance should check before approving (net pay zero or below, deductions "
            "carried between periods, late data, agents with no hours or no plan); approval is not blocked"
        },
    )
    created_at = fields.AwareDateTime()
    created_by = fields.String()
    calculated_at = fields.AwareDateTime()
    approved_at = fields.AwareDateTime(allow_none=True)
    approved_by = fields.String(allow_none=True)


class PayrollRunListArgs(PageArgsSchema):
    period = fields.String(validate=validate.Regexp(PERIOD_PATTERN, error="must be YYYY-MM"))
    project_id = _id()
    status = fields.String(validate=validate.OneOf(RUN_STATUSES))


PayrollRunPage = page_response_schema(PayrollRunOut, "PayrollRunPage")


class LineOut(Schema):
    kind = fields.String(metadata={"enum": ["base", "hours", "commission", "deduction", "adjustment"]})
    amount = Money()
    explanation = fields.String(metadata={"example": "base at 50%: average response 41 s > 30 s"})
    origin_period = fields.String(
        metadata={"description": "the period paid for: the payslip's own, or an earlier one (late data)"}
    )
    ref = fields.String(
        allow_none=True,
        metadata={
            "description": 'complaint or adjustment id, or "carried-deductions" on a deduction moved between '
            "periods so that net pay never goes below zero"
        },
    )


class AttendanceSummaryOut(Schema):
    """The month's attendance (scheduling's attendance.recorded and agent.no_show) as it was when the
    payslip was calculated: shown beside the pay, which comes from the confirmed hours (worked-hours)."""

    days_recorded = fields.Integer(metadata={"description": "days with attendance in the payslip's month"})
    present = fields.Integer(metadata={"description": "days on time for the whole shift"})
    late = fields.Integer(metadata={"description": "days late (迟到), early leavers included"})
    early_leave = fields.Integer(metadata={"description": "days left early (早退), late ones included"})
    no_show = fields.Integer(metadata={"description": "days not come (缺勤)"})
    late_minutes = fields.Integer(metadata={"description": "minutes late in the month"})
    early_minutes = fields.Integer(metadata={"description": "minutes left early in the month"})


class PayslipOut(Schema):
    id = fields.String()
    run_id = fields.String()
    period = fields.String()
    status = fields.String(metadata={"description": "the run's status"})
    agent_id = fields.String()
    agent_name = fields.String(allow_none=True)
    project_id = fields.String()
    plan_id = fields.String(allow_none=True)
    plan_type = fields.String(allow_none=True)
    total = Money()
    lines = fields.List(fields.Nested(LineOut))
    attendance = fields.Nested(
        AttendanceSummaryOut,
        allow_none=True,
        metadata={"description": "null on payslips calculated before billing received attendance"},
    )


class PayslipListArgs(PageArgsSchema):
    agent_id = _id()
    project_id = _id()


class MyPayslipListArgs(PayslipListArgs):
    period = fields.String(validate=validate.Regexp(PERIOD_PATTERN, error="must be YYYY-MM"))


PayslipPage = page_response_schema(PayslipOut, "PayslipPage")


# --- read models for the console's forms ------------------------------------------------------------------


class KnownProjectOut(Schema):
    project_id = fields.String()
    company_name = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "confirmed | live | closed, as onboarding last said"})
    updated_at = fields.AwareDateTime()


class KnownProjectListArgs(PageArgsSchema):
    status = fields.String(validate=validate.Length(min=1, max=20))


KnownProjectPage = page_response_schema(KnownProjectOut, "KnownProjectPage")


class KnownAgentOut(Schema):
    agent_id = fields.String()
    project_id = fields.String()
    name = fields.String(allow_none=True)
    admitted_on = fields.Date(allow_none=True)
    departed_on = fields.Date(allow_none=True)


class KnownAgentListArgs(PageArgsSchema):
    project_id = _id()
    agent_id = _id()


KnownAgentPage = page_response_schema(KnownAgentOut, "KnownAgentPage")
