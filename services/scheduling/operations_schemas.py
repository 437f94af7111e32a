"""Marshmallow schemas of the day of operation: availability, leave, swaps, open shifts, attendance, the
status board and a project's operation settings."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.scheduling.availability import WEEKDAYS
from services.scheduling.dayrules import LEAVE_KINDS
from services.scheduling.schemas import ID_LENGTH as _ID
from services.scheduling.schemas import check_range
from services.scheduling.swaps import OPEN_SHIFT_STATUSES, SWAP_STATUSES
from shared.money import DecimalString, Money
from shared.pagination import PageArgsSchema, page_response_schema

_HHMM = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$", error="must be HH:MM (00:00 to 24:00)")
_NOTE = validate.Length(max=2000)


# --- availability --------------------------------------------------------------------------------------


class WindowSchema(Schema):
    start = fields.String(required=True, validate=_HHMM, metadata={"example": "08:00"})
    end = fields.String(required=True, validate=_HHMM, metadata={"example": "18:00"})


class WeeklyAvailabilitySchema(Schema):
    """The weekly pattern: windows per weekday (mon … sun); a weekday left empty is a day off. Sending
    every day empty clears the pattern: the agent is then available at any time."""

    weekly = fields.Dict(
        keys=fields.String(validate=validate.OneOf(WEEKDAYS)),
        values=fields.List(fields.Nested(WindowSchema), validate=validate.Length(max=6)),
        required=True,
    )


class AvailabilityExceptionSchema(Schema):
    date = fields.Date(required=True)
    windows = fields.List(
        fields.Nested(WindowSchema),
        load_default=list,
        validate=validate.Length(max=6),
        metadata={"description": "when the agent can work that day; empty: not at all"},
    )
    note = fields.String(validate=_NOTE, allow_none=True)


class AvailabilityExceptionOutSchema(Schema):
    date = fields.Date()
    available = fields.Boolean()
    windows = fields.List(fields.Nested(WindowSchema))
    note = fields.String(allow_none=True)


class AvailabilitySchema(Schema):
    agent_id = fields.String()
    declared = fields.Boolean(metadata={"description": "false: no weekly pattern, available at any time"})
    weekly = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(WindowSchema)))
    exceptions = fields.List(fields.Nested(AvailabilityExceptionOutSchema))


# --- leave ---------------------------------------------------------------------------------------------


class LeaveRequestSchema(Schema):
    agent_id = fields.String(validate=_ID, metadata={"description": "a supervisor asking for an agent"})
    date_from = fields.Date(required=True)
    date_to = fields.Date(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(LEAVE_KINDS))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))

    @validates_schema
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        check_range(data, "date_from", "date_to")


class DecisionSchema(Schema):
    approve = fields.Boolean(required=True)
    note = fields.String(validate=_NOTE, allow_none=True)


class LeaveEffectSchema(Schema):
    project_id = fields.String()
    roster_version = fields.Integer()
    shifts = fields.Integer()
    taken_over = fields.List(fields.Dict())
    opened = fields.List(fields.Dict())


class LeaveSchema(Schema):
    id = fields.String()
    agent_id = fields.String()
    date_from = fields.Date()
    date_to = fields.Date()
    days = fields.Integer()
    kind = fields.String()
    reason = fields.String()
    status = fields.String(metadata={"description": "pending | approved | refused | cancelled"})
    decided_by = fields.String(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)
    effects = fields.List(fields.Nested(LeaveEffectSchema))
    created_at = fields.AwareDateTime()


class LeaveArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(("pending", "approved", "refused", "cancelled")))
    agent_id = fields.String(validate=_ID)
    project_id = fields.String(validate=_ID)


LeavePage = page_response_schema(LeaveSchema, "LeavePage")


# --- swaps and open shifts -------------------------------------------------------------------------------


class SwapOfferSchema(Schema):
    date = fields.Date(required=True)
    to_agent_id = fields.String(validate=_ID, allow_none=True, metadata={"description": "absent: anyone"})
    from_agent_id = fields.String(
        validate=_ID, metadata={"description": "a supervisor offering for an agent"}
    )
    note = fields.String(validate=_NOTE, allow_none=True)


class SwapSchema(Schema):
    id = fields.String()
    project_id = fields.String()
    date = fields.Date()
    shift = fields.String()
    start = fields.String()
    end = fields.String()
    skill = fields.String(allow_none=True)
    from_agent_id = fields.String()
    from_agent_name = fields.String(allow_none=True)
    to_agent_id = fields.String(allow_none=True)
    to_agent_name = fields.String(allow_none=True)
    status = fields.String(metadata={"description": " | ".join(SWAP_STATUSES)})
    note = fields.String(allow_none=True)
    rule = fields.String(allow_none=True, metadata={"description": "the labour rule a refusal named"})
    detail = fields.String(allow_none=True)
    roster_version = fields.Integer(allow_none=True)
    created_at = fields.AwareDateTime()
    accepted_at = fields.AwareDateTime(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    decided_by = fields.String(allow_none=True)


class SwapArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(SWAP_STATUSES))


SwapPage = page_response_schema(SwapSchema, "SwapPage")


class OpenShiftSchema(Schema):
    id = fields.String()
    project_id = fields.String()
    date = fields.Date()
    shift = fields.String()
    start = fields.String()
    end = fields.String()
    skill = fields.String(allow_none=True)
    places = fields.Integer()
    claimed = fields.Integer()
    left = fields.Integer()
    status = fields.String(metadata={"description": " | ".join(OPEN_SHIFT_STATUSES)})
    source = fields.String(metadata={"description": "gap | surge | leave | no-show"})
    created_at = fields.AwareDateTime()
    eligible = fields.Boolean(metadata={"description": "an agent's list only: may this agent claim it"})
    not_eligible_because = fields.String(allow_none=True)


class OpenShiftArgsSchema(PageArgsSchema):
    status = fields.String(load_default="open", validate=validate.OneOf((*OPEN_SHIFT_STATUSES, "all")))
    from_ = fields.Date(data_key="from")
    to = fields.Date()

    @validates_schema
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        check_range(data, "from_", "to")


OpenShiftPage = page_response_schema(OpenShiftSchema, "OpenShiftPage")


class PublishOpenShiftsSchema(Schema):
    from_ = fields.Date(data_key="from", required=True)
    to = fields.Date(required=True)

    @validates_schema
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        check_range(data, "from_", "to")
        if data.get("from_") and data.get("to") and (data["to"] - data["from_"]).days > 62:
            raise ValidationError("at most 63 days at a time", "to")


class OpenShiftListSchema(Schema):
    items = fields.List(fields.Nested(OpenShiftSchema))
    total = fields.Integer()


class ClaimSchema(Schema):
    claim_id = fields.String()
    roster_version = fields.Integer()
    open_shift = fields.Nested(OpenShiftSchema)


# --- attendance ------------------------------------------------------------------------------------------


class ClockSchema(Schema):
    agent_id = fields.String(validate=_ID, metadata={"description": "a supervisor clocking for an agent"})


class AttendanceSchema(Schema):
    id = fields.String()
    project_id = fields.String()
    agent_id = fields.String()
    agent_name = fields.String(allow_none=True)
    date = fields.Date()
    shift = fields.String()
    start = fields.String()
    end = fields.String()
    clock_in = fields.AwareDateTime(allow_none=True)
    clock_out = fields.AwareDateTime(allow_none=True)
    status = fields.String(
        metadata={"description": "on_duty | present | late | early_leave | late_early_leave | no_show"}
    )
    late_minutes = fields.Integer()
    early_minutes = fields.Integer()
    worked_hours = fields.String(allow_none=True, metadata={"description": "by the clock, in quarter hours"})
    replacement_id = fields.String(allow_none=True)
    confirmed_hours = DecimalString(allow_none=True)
    correction_reason = fields.String(allow_none=True)
    confirmed_by = fields.String(allow_none=True)
    confirmed_at = fields.AwareDateTime(allow_none=True)
    timesheet_id = fields.String(allow_none=True)


class AttendanceDayArgsSchema(Schema):
    date = fields.Date(metadata={"description": "default: today (Asia/Shanghai)"})


class AttendanceDaySchema(Schema):
    project_id = fields.String()
    date = fields.Date()
    tolerance_minutes = fields.Integer()
    items = fields.List(fields.Nested(AttendanceSchema))
    total = fields.Integer()


class ConfirmSchema(Schema):
    hours = DecimalString(
        places=2,
        validate=validate.Range(min=0, max=24),
        allow_none=True,
        metadata={
            "description": "the hours to pay when they differ from the clock (a reason is then needed)"
        },
    )
    reason = fields.String(validate=_NOTE, allow_none=True)


class ConfirmDaySchema(Schema):
    date = fields.Date(required=True)


class ConfirmDayResultSchema(Schema):
    date = fields.Date()
    confirmed = fields.List(fields.Nested(AttendanceSchema))
    waiting = fields.List(fields.String(), metadata={"description": "agents whose shift is not over"})


class StatusArgsSchema(Schema):
    at = fields.AwareDateTime(metadata={"description": "default: now"})


class BoardItemSchema(Schema):
    agent_id = fields.String()
    agent_name = fields.String(allow_none=True)
    date = fields.Date()
    shift = fields.String()
    start = fields.String()
    end = fields.String()
    role = fields.String()
    skill = fields.String(allow_none=True)
    clock_in = fields.AwareDateTime(allow_none=True)
    clock_out = fields.AwareDateTime(allow_none=True)
    state = fields.String(
        metadata={"description": "upcoming | not_yet | missing | clocked_in | clocked_out | no_show"}
    )
    late_minutes = fields.Integer()


class AdherenceSchema(BoardItemSchema):
    scheduled_minutes = fields.Integer()
    worked_minutes = fields.Integer()
    adherence = fields.Float(allow_none=True)


class BoardGapSchema(Schema):
    kind = fields.String(metadata={"description": "not-clocked-in | roster-gap | no-show-unreplaced"})
    agent_id = fields.String()
    shift = fields.String()
    missing = fields.Integer()
    rule = fields.String(allow_none=True)
    detail = fields.String(allow_none=True)


class StatusBoardSchema(Schema):
    project_id = fields.String()
    at = fields.AwareDateTime()
    date = fields.Date()
    refresh_seconds = fields.Integer()
    tolerance_minutes = fields.Integer()
    expected = fields.Integer(metadata={"description": "agents who should be on duty now"})
    clocked_in = fields.Integer()
    missing = fields.Integer()
    on_duty = fields.List(fields.Nested(BoardItemSchema))
    gaps = fields.List(fields.Nested(BoardGapSchema))
    adherence = fields.List(fields.Nested(AdherenceSchema))
    day_adherence = fields.Float(allow_none=True)


class OperationSettingsSchema(Schema):
    clock_tolerance_minutes = fields.Integer(
        allow_none=True,
        strict=True,
        validate=validate.Range(min=0, max=240),
        metadata={"description": "null: default"},
    )
    settlement_limit_amount = Money(allow_none=True, metadata={"description": "CNY; null: no amount limit"})
    settlement_limit_pct = DecimalString(
        places=2,
        allow_none=True,
        validate=validate.Range(min=0, max=100),
        metadata={"description": "% of the order; null: no percentage limit"},
    )


class OperationSettingsOutSchema(Schema):
    project_id = fields.String()
    clock_tolerance_minutes = fields.Integer()
    clock_tolerance_default = fields.Boolean()
    settlement_limit_amount = Money(allow_none=True)
    settlement_limit_pct = DecimalString(allow_none=True)
