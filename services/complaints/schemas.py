"""Request and response schemas of the complaints API (marshmallow)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.complaints.domain import (
    CATEGORIES,
    CHANNELS,
    IN_PROGRESS,
    LEVELS,
    SEVERITIES,
    STATUSES,
    VISIBILITIES,
    WAITING_CUSTOMER,
)
from shared.money import Money
from shared.pagination import PageArgsSchema, page_response_schema


class Text(fields.String):
    """A string trimmed of surrounding blanks that must not be empty after trimming."""

    def __init__(self, *, max_length: int, **kwargs: Any) -> None:
        super().__init__(validate=validate.Length(min=1, max=max_length), **kwargs)
        self.max_length = max_length

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            raise ValidationError("Must not be empty or blank.")
        return text


def _id(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=64), **kwargs)


# --- requests ---------------------------------------------------------------------------------------------


class ComplaintIn(Schema):
    project_id = _id(required=True, metadata={"description": "onboarding's project id"})
    channel = fields.String(
        required=True,
        validate=validate.OneOf(CHANNELS),
        metadata={"description": "written (chat, email, platform) or oral (phone, in_person)"},
    )
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    about_staff = fields.Boolean(
        allow_none=True,
        metadata={
            "description": "about an agent's attitude or service quality: goes straight to the supervisor. "
            "Default: true for service_attitude and service_quality, false otherwise"
        },
    )
    agent_id = _id(allow_none=True, metadata={"description": "the agent concerned; must be on the project"})
    customer_ref = fields.String(
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={"description": "the customer's reference: buyer nickname, order number, phone …"},
    )
    description = Text(required=True, max_length=5000)
    severity = fields.String(load_default="normal", validate=validate.OneOf(SEVERITIES))
    due_at = fields.AwareDateTime(
        allow_none=True,
        metadata={"description": "the time promised to the customer; default from the severity policy"},
    )
    assignee = _id(
        allow_none=True,
        metadata={
            "description": "who works it; default: the recording agent, else the agent concerned "
            "(agent level) or the project's least-loaded supervisor (supervisor level)"
        },
    )


class NoteIn(Schema):
    body = Text(required=True, max_length=5000)
    visibility = fields.String(
        load_default="internal",
        validate=validate.OneOf(VISIBILITIES),
        metadata={
            "description": "customer: progress told to the customer (meets the first-response deadline)"
        },
    )
    new_due_at = fields.AwareDateTime(
        allow_none=True,
        metadata={"description": "move the promised time; only with a customer-facing note saying so"},
    )


class StatusIn(Schema):
    status = fields.String(
        required=True,
        validate=validate.OneOf((IN_PROGRESS, WAITING_CUSTOMER)),
        metadata={"description": "waiting_customer pauses the clock; in_progress starts or resumes work"},
    )
    reason = fields.String(allow_none=True, validate=validate.Length(max=2000))


class EscalateIn(Schema):
    reason = Text(required=True, max_length=2000)
    assignee = _id(allow_none=True, metadata={"description": "default: the next level's least-loaded person"})


class AssignIn(Schema):
    assignee = _id(required=True)
    reason = fields.String(allow_none=True, validate=validate.Length(max=2000))


class ResolveIn(Schema):
    resolution = Text(required=True, max_length=5000)
    agent_at_fault = fields.Boolean(load_default=False)
    penalty = Money(
        allow_none=True,
        minimum="0",
        metadata={
            "description": "CNY deducted from the agent's pay (考核); supervisor or manager only, "
            "at most COMPLAINTS_PENALTY_CAP"
        },
    )
    agent_id = _id(
        allow_none=True,
        metadata={"description": "the agent found at fault, if the complaint names another one or none"},
    )


class CloseIn(Schema):
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))


class ReopenIn(Schema):
    reason = Text(required=True, max_length=2000)
    due_at = fields.AwareDateTime(allow_none=True, metadata={"description": "default: the severity policy"})


class _DateRange(Schema):
    from_ = fields.Date(data_key="from", metadata={"description": "created on or after (Asia/Shanghai)"})
    to = fields.Date(metadata={"description": "created on or before (Asia/Shanghai)"})

    @validates_schema
    def _order(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("from_") and data.get("to") and data["from_"] > data["to"]:
            raise ValidationError("'to' must not be before 'from'.", field_name="to")


class ComplaintListArgs(PageArgsSchema, _DateRange):
    project_id = _id()
    status = fields.String(validate=validate.OneOf(STATUSES))
    level = fields.String(validate=validate.OneOf(LEVELS))
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    severity = fields.String(validate=validate.OneOf(SEVERITIES))
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    agent_id = _id()
    assignee = _id()
    breached = fields.Boolean()
    about_staff = fields.Boolean()
    number = fields.String(validate=validate.Length(max=20))
    customer_ref = fields.String(validate=validate.Length(max=200))
    active = fields.Boolean(
        metadata={
            "description": "true: still to be worked (open, in_progress, waiting_customer, reopened); "
            "false: resolved or closed"
        }
    )


class StatsArgs(_DateRange):
    project_id = _id()


class StaffMember(Schema):
    user_id = _id(required=True)
    name = fields.String(allow_none=True, validate=validate.Length(max=100))


class StaffIn(Schema):
    supervisors = fields.List(fields.Nested(StaffMember), load_default=list, validate=validate.Length(max=50))
    managers = fields.List(fields.Nested(StaffMember), load_default=list, validate=validate.Length(max=50))

    @validates_schema
    def _unique(self, data: dict[str, Any], **_kwargs: Any) -> None:
        for key in ("supervisors", "managers"):
            ids = [m["user_id"] for m in data.get(key, [])]
            if len(ids) != len(set(ids)):
                raise ValidationError("Each user may be listed once.", field_name=key)


# --- responses --------------------------------------------------------------------------------------------


class StaffOut(Schema):
    project_id = fields.String(required=True)
    supervisors = fields.List(fields.Nested(StaffMember), required=True)
    managers = fields.List(fields.Nested(StaffMember), required=True)


class StaffedProjectOut(Schema):
    project_id = fields.String(required=True)
    company_name = fields.String(allow_none=True)
    roles = fields.List(fields.String(), required=True, metadata={"description": "supervisor and/or manager"})
    closed = fields.Boolean(required=True)
    active_complaints = fields.Integer(
        required=True, metadata={"description": "complaints of the project still to be worked"}
    )


class StaffedProjectsOut(Schema):
    items = fields.List(fields.Nested(StaffedProjectOut), required=True)
    total = fields.Integer(required=True)


class HistoryOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(
        required=True,
        metadata={
            "description": "created, assigned, note, status, first_response, due_moved, escalated, "
            "breached, agent_named, resolved, closed, reopened"
        },
    )
    at = fields.DateTime(required=True)
    actor = fields.String(required=True, metadata={"description": "user id, or 'system' for the jobs"})
    actor_role = fields.String(required=True)
    visibility = fields.String(allow_none=True)
    text = fields.String(allow_none=True)
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    from_level = fields.String(allow_none=True)
    to_level = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    details = fields.Dict(allow_none=True)


class ComplaintOut(Schema):
    id = fields.String(required=True)
    number = fields.String(required=True, metadata={"example": "TS20261111-0001"})
    project_id = fields.String(required=True)
    merchant_id = fields.String(allow_none=True)
    channel = fields.String(required=True)
    category = fields.String(required=True)
    about_staff = fields.Boolean(required=True)
    agent_id = fields.String(allow_none=True)
    agent_name = fields.String(allow_none=True)
    customer_ref = fields.String(allow_none=True)
    description = fields.String(required=True)
    severity = fields.String(required=True)
    status = fields.String(required=True)
    level = fields.String(required=True, metadata={"description": "agent, supervisor or manager"})
    assignee = fields.String(allow_none=True)
    allowed_transitions = fields.List(fields.String(), required=True)
    due_at = fields.DateTime(required=True, metadata={"description": "the time promised to the customer"})
    due_at_source = fields.String(required=True, metadata={"description": "given, policy, moved or reopened"})
    effective_due_at = fields.DateTime(
        allow_none=True, metadata={"description": "due_at plus the time spent waiting for the customer"}
    )
    paused = fields.Boolean(required=True)
    paused_seconds = fields.Float(required=True)
    overdue = fields.Boolean(required=True)
    breached = fields.Boolean(required=True)
    breached_at = fields.DateTime(allow_none=True)
    first_response_due_at = fields.DateTime(required=True)
    first_responded_at = fields.DateTime(allow_none=True)
    first_response_met = fields.Boolean(allow_none=True)
    resolution = fields.String(allow_none=True)
    agent_at_fault = fields.Boolean(required=True)
    penalty = Money(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    close_reason = fields.String(allow_none=True)
    reopen_count = fields.Integer(required=True)
    created_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class ComplaintDetailOut(ComplaintOut):
    history = fields.List(fields.Nested(HistoryOut), required=True)


ComplaintPage = page_response_schema(ComplaintOut, "ComplaintPage")


class TimingOut(Schema):
    count = fields.Integer(required=True)
    avg_seconds = fields.Float(allow_none=True)
    p90_seconds = fields.Float(allow_none=True)


class AgentUpheldOut(Schema):
    agent_id = fields.String(required=True)
    name = fields.String(allow_none=True)
    upheld = fields.Integer(required=True)
    penalties = Money(required=True)


class StatsOut(Schema):
    project_id = fields.String(allow_none=True)
    from_ = fields.Date(data_key="from", allow_none=True, attribute="from")
    to = fields.Date(allow_none=True)
    total = fields.Integer(required=True)
    by_category = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    by_level = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    resolved = fields.Integer(required=True)
    resolved_within_promise = fields.Integer(required=True)
    within_promise_share = fields.Float(
        allow_none=True, metadata={"description": "resolved within the promise ÷ resolved (0–1)"}
    )
    first_response = fields.Nested(TimingOut, required=True)
    resolution = fields.Nested(TimingOut, required=True)
    upheld = fields.List(fields.Nested(AgentUpheldOut), required=True)
    upheld_total = fields.Integer(required=True)
    penalties_total = Money(required=True)
