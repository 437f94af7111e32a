"""Marshmallow schemas of the on-duty desk (值班), help requests (求助) and all-hands (全员上岗)."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates, validates_schema

from services.scheduling.duty import DUTY_KINDS, HELP_KINDS, HELP_STATUSES, PARTIES, STAFF_ROLES
from services.scheduling.schemas import ID_LENGTH as _ID
from shared.money import Money
from shared.pagination import PageArgsSchema, page_response_schema

_START = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="must be a time of day HH:MM (00:00 to 23:59)")
_END = validate.Regexp(
    r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$", error="must be a time of day HH:MM (00:00 to 24:00)"
)
_HHMM_DOC = "HH:MM, Beijing time"


def _check_dates(data: dict[str, Any], start: str = "from_", end: str = "to", name: str = "to") -> None:
    if data.get(start) and data.get(end) and data[end] < data[start]:
        raise ValidationError(f"must be on or after from ({data[start].isoformat()})", name)


# --- the duty rota ----------------------------------------------------------------------------------------


class DutyShiftInSchema(Schema):
    supervisor_id = fields.String(
        validate=_ID,
        metadata={"description": "the supervisor's person id (their token's `sub`); absent: the caller"},
    )
    supervisor_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    date = fields.Date(required=True, metadata={"description": "the day the shift starts (Shanghai)"})
    start = fields.String(required=True, validate=_START, metadata={"description": _HHMM_DOC})
    end = fields.String(
        required=True,
        validate=_END,
        metadata={"description": f"{_HHMM_DOC}; at or before `start` runs past midnight (equal: 24 h)"},
    )
    note = fields.String(validate=validate.Length(max=2000), allow_none=True)


class DutyBatchSchema(Schema):
    """One shift as an object, or many: a JSON array or ``{"shifts": [...]}`` (at most 200), all or none."""

    shifts = fields.List(
        fields.Nested(DutyShiftInSchema), required=True, validate=validate.Length(min=1, max=200)
    )

    @pre_load
    def _wrap(self, data: Any, **_: Any) -> Any:
        if isinstance(data, list):
            return {"shifts": data}
        if isinstance(data, dict) and "shifts" not in data:
            return {"shifts": [data]}
        return data


class DutyShiftSchema(Schema):
    id = fields.String()
    project_id = fields.String()
    project_name = fields.String(allow_none=True, metadata={"description": "the merchant's company name"})
    supervisor_id = fields.String(metadata={"description": "the person on duty (their token's `sub`)"})
    supervisor_name = fields.String()
    role = fields.String(
        allow_none=True, metadata={"description": "agent duty: supervisor | team_lead | trainer | qa"}
    )
    duty = fields.String(metadata={"description": "desk (值班主管) | agent (全员上岗: taking customers)"})
    date = fields.Date(metadata={"description": "the day it starts"})
    start = fields.String(metadata={"description": _HHMM_DOC})
    end = fields.String(metadata={"description": f"{_HHMM_DOC}; the next day when `overnight`"})
    minutes = fields.Integer()
    overnight = fields.Boolean(metadata={"description": "runs past midnight"})
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    all_hands_id = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()


class DutyShiftsSchema(Schema):
    items = fields.List(fields.Nested(DutyShiftSchema))


DutyShiftPage = page_response_schema(DutyShiftSchema, "DutyShiftPage")


class DutyArgsSchema(PageArgsSchema):
    from_ = fields.Date(data_key="from", metadata={"description": "first start day (default: today)"})
    to = fields.Date(metadata={"description": "last start day (default: from + 30 days)"})
    duty = fields.String(validate=validate.OneOf(DUTY_KINDS))
    supervisor_id = fields.String(validate=_ID)

    @validates_schema
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        _check_dates(data)


class MyDutyArgsSchema(PageArgsSchema):
    from_ = fields.Date(data_key="from", metadata={"description": "first start day (default: today)"})
    to = fields.Date(metadata={"description": "last start day (default: from + 30 days)"})
    duty = fields.String(validate=validate.OneOf(DUTY_KINDS))

    @validates_schema
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        _check_dates(data)


class DutyNowSchema(Schema):
    project_id = fields.String()
    at = fields.AwareDateTime(metadata={"description": "now"})
    on_duty = fields.Nested(
        DutyShiftSchema,
        allow_none=True,
        metadata={"description": "the supervisor help requests go to now (the earliest-started desk shift)"},
    )
    desk = fields.List(fields.Nested(DutyShiftSchema), metadata={"description": "every desk shift now"})
    agent_duty = fields.List(
        fields.Nested(DutyShiftSchema), metadata={"description": "staff on agent duty now (all-hands)"}
    )
    next = fields.Nested(
        DutyShiftSchema, allow_none=True, metadata={"description": "the next desk shift to start"}
    )


# --- rota gaps --------------------------------------------------------------------------------------------


class DutyGapArgsSchema(Schema):
    from_ = fields.Date(data_key="from", metadata={"description": "default: today (Shanghai)"})
    to = fields.Date(metadata={"description": "default: from; at most 31 days"})

    @validates_schema
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        _check_dates(data)


class DutyGapSchema(Schema):
    date = fields.Date(metadata={"description": "the service day the gap belongs to"})
    start = fields.String(metadata={"description": _HHMM_DOC})
    end = fields.String(metadata={"description": f"{_HHMM_DOC} (the next day when past midnight)"})
    minutes = fields.Integer()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()


class ProjectGapsSchema(Schema):
    project_id = fields.String()
    project_name = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "confirmed | closed (a closed project has no gaps)"})
    service_start = fields.String(allow_none=True)
    service_end = fields.String(allow_none=True)
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    service_minutes = fields.Integer(metadata={"description": "service minutes in the range"})
    gap_minutes = fields.Integer(metadata={"description": "of which no desk shift covers"})
    gaps = fields.List(fields.Nested(DutyGapSchema))


class VendorGapArgsSchema(PageArgsSchema):
    date = fields.Date(metadata={"description": "the service day (default: today, Shanghai)"})
    uncovered_only = fields.Boolean(
        load_default=False, metadata={"description": "only projects with a gap that day"}
    )


class VendorGapsSchema(Schema):
    date = fields.Date()
    projects = fields.Integer(metadata={"description": "live projects"})
    uncovered_projects = fields.Integer(metadata={"description": "live projects with a gap that day"})
    gap_minutes = fields.Integer(metadata={"description": "all projects' gap minutes that day"})
    items = fields.List(fields.Nested(ProjectGapsSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()


# --- help requests (求助) ----------------------------------------------------------------------------------


class HelpRequestInSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(HELP_KINDS))
    text = fields.String(
        required=True,
        validate=validate.Length(min=1, max=4000),
        metadata={"description": "the question, the dispute, or the complaint to hand over"},
    )
    order_ref = fields.String(validate=validate.Length(max=100), allow_none=True)
    amount = Money(
        minimum="0.01",
        allow_none=True,
        metadata={"description": "dispute: what the customer asks for (refund, compensation), CNY"},
    )
    order_amount = Money(minimum="0.01", allow_none=True, metadata={"description": "dispute: the order, CNY"})
    party = fields.String(
        validate=validate.OneOf(PARTIES),
        allow_none=True,
        metadata={"description": "handover: the party the complaint concerns, as the agent sees it"},
    )

    @validates_schema
    def _by_kind(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("kind") != "dispute":
            return
        problems = {
            name: ["a dispute needs the amount asked for and the order's amount"]
            for name in ("amount", "order_amount")
            if data.get(name) is None
        }
        if problems:
            raise ValidationError(problems)


class HelpAnswerSchema(Schema):
    answer = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class HelpHandoverSchema(Schema):
    party = fields.String(
        required=True,
        validate=validate.OneOf(PARTIES),
        metadata={"description": "warehouse (仓库) | product (产品) | merchant (商家) | logistics (物流)"},
    )
    note = fields.String(
        required=True,
        validate=validate.Length(min=1, max=4000),
        metadata={"description": "the complaint's details as handed over"},
    )


class HelpRequestSchema(Schema):
    id = fields.String()
    project_id = fields.String()
    agent_id = fields.String()
    agent_name = fields.String(allow_none=True)
    kind = fields.String(metadata={"description": "question | dispute | handover"})
    text = fields.String()
    order_ref = fields.String(allow_none=True)
    amount = Money(allow_none=True)
    order_amount = Money(allow_none=True)
    authority_note = fields.String(
        allow_none=True, metadata={"description": "a dispute: why it exceeds the agent's authority"}
    )
    supervisor_id = fields.String(
        allow_none=True, metadata={"description": "the supervisor on duty when asked; null: nobody was"}
    )
    supervisor_name = fields.String(allow_none=True)
    duty_shift_id = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "open | answered | handed_over"})
    requested_at = fields.AwareDateTime()
    waiting_seconds = fields.Integer(
        metadata={"description": "open: seconds waited so far; else the response time (waited_seconds)"}
    )
    waited_seconds = fields.Integer(
        allow_none=True, metadata={"description": "answered_at − requested_at; null while open"}
    )
    answer = fields.String(allow_none=True)
    answered_by = fields.String(allow_none=True)
    answered_at = fields.AwareDateTime(allow_none=True)
    answered_by_duty = fields.Boolean(
        allow_none=True, metadata={"description": "the response came from the supervisor it was routed to"}
    )
    party = fields.String(allow_none=True)
    handover_note = fields.String(allow_none=True)
    handed_over_by = fields.String(allow_none=True)
    handed_over_at = fields.AwareDateTime(allow_none=True)


HelpRequestPage = page_response_schema(HelpRequestSchema, "HelpRequestPage")


class HelpArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(HELP_STATUSES))
    kind = fields.String(validate=validate.OneOf(HELP_KINDS))
    agent_id = fields.String(validate=_ID)


class DeskArgsSchema(HelpArgsSchema):
    project_id = fields.String(validate=_ID)
    supervisor_id = fields.String(
        validate=_ID, metadata={"description": "routed to this supervisor; `me` for the caller"}
    )


# --- all-hands (全员上岗) ----------------------------------------------------------------------------------

_BELOW_MANAGER = re.compile(r"manager|经理", re.IGNORECASE)


class AllHandsStaffSchema(Schema):
    person_id = fields.String(required=True, validate=_ID)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    role = fields.String(
        required=True, metadata={"description": "supervisor | team_lead | trainer | qa (below manager)"}
    )

    @validates("role")
    def _role(self, value: str, **_: Any) -> None:
        if _BELOW_MANAGER.search(value):
            raise ValidationError(
                "all-hands puts staff below manager on agent duty; a manager (项目经理) directs the reserve "
                f"and reports to the merchant instead. Roles: {', '.join(STAFF_ROLES)}"
            )
        if value not in STAFF_ROLES:
            raise ValidationError(f"must be one of: {', '.join(STAFF_ROLES)}")


class AllHandsInSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    staff = fields.List(
        fields.Nested(AllHandsStaffSchema), required=True, validate=validate.Length(min=1, max=200)
    )
    from_ = fields.Date(data_key="from", required=True)
    to = fields.Date(required=True)
    start = fields.String(
        validate=_START, metadata={"description": f"{_HHMM_DOC}; default: the project's service start"}
    )
    end = fields.String(
        validate=_END, metadata={"description": f"{_HHMM_DOC}; default: the project's service end"}
    )

    @validates_schema
    def _whole(self, data: dict[str, Any], **_: Any) -> None:
        _check_dates(data)
        if ("start" in data) != ("end" in data):
            raise ValidationError(
                "give both start and end, or neither", "end" if "start" in data else "start"
            )
        ids = [s["person_id"] for s in data.get("staff") or []]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValidationError(f"listed more than once: {', '.join(twice)}", "staff")


class AllHandsSchema(Schema):
    id = fields.String()
    project_id = fields.String()
    reason = fields.String()
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    start = fields.String(metadata={"description": _HHMM_DOC})
    end = fields.String(metadata={"description": _HHMM_DOC})
    staff = fields.List(fields.Nested(AllHandsStaffSchema))
    status = fields.String(metadata={"description": "active | ended"})
    active_target = fields.Integer(metadata={"description": "ceil(1.5 × seats)"})
    present_agents = fields.Integer(metadata={"description": "pool agents not departed when declared"})
    missing = fields.Integer(
        metadata={"description": "the real gap asked of recruitment (reserve.shortfall)"}
    )
    merchant_alert_id = fields.String(allow_none=True)
    duty_entries = fields.Integer(metadata={"description": "agent-duty entries on the rota"})
    removed_entries = fields.Integer(
        allow_none=True, metadata={"description": "when ending: future entries removed"}
    )
    declared_by = fields.String(allow_none=True)
    declared_at = fields.AwareDateTime()
    ended_by = fields.String(allow_none=True)
    ended_at = fields.AwareDateTime(allow_none=True)


AllHandsPage = page_response_schema(AllHandsSchema, "AllHandsPage")


class AllHandsArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(("active", "ended")))
