"""Every event type of CONTRACT.md: its version, producer, consuming services and data schema.

The catalogue is the single source of the topology too: a service's queue is bound to exactly the types
that name it as a consumer, and types nobody consumes go to the audit queue (so that ``mandatory``
publishing can treat "unroutable" as a real error: the topology is missing).

Producers validate strictly (an unknown field is a bug in the producer); consumers validate leniently
(unknown fields are ignored, so a producer can add fields without breaking older consumers).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from marshmallow import EXCLUDE, INCLUDE, RAISE, Schema, ValidationError, fields, validate

from shared.events.errors import InvalidEventData, UnknownEventType

SERVICE_TYPES = ("presale", "aftersale", "both")
SKILLS = ("presale", "aftersale")
SHIFTS = ("morning", "afternoon", "night")
COMPLAINT_LEVELS = ("agent", "supervisor", "manager")

_money = validate.Regexp(r"^-?\d{1,12}(\.\d{1,2})?$", error="must be a decimal string such as '4000.00'")
_hhmm = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$", error="must be HH:MM")


def _id() -> fields.String:
    return fields.String(required=True, validate=validate.Length(min=1, max=64))


class _Lenient(Schema):
    """Nested parts: extra keys are carried along rather than refused."""

    class Meta:
        unknown = INCLUDE


class ServiceHoursSchema(_Lenient):
    start = fields.String(required=True, validate=_hhmm)
    end = fields.String(required=True, validate=_hhmm)


class CandidateProfileSchema(_Lenient):
    candidate_id = _id()
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    phone = fields.String(required=True, validate=validate.Length(min=3, max=30))
    skills = fields.List(fields.String(validate=validate.OneOf(SKILLS)), required=True)
    shifts_available = fields.List(fields.String(validate=validate.OneOf(SHIFTS)), required=True)
    basic_score = fields.Float(required=True, validate=validate.Range(min=0, max=100))


# --- data schemas, one per event type ------------------------------------------------------------------


class ProjectConfirmedData(Schema):
    project_id = _id()
    merchant_id = _id()
    seats = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10_000))
    service_type = fields.String(required=True, validate=validate.OneOf(SERVICE_TYPES))
    service_hours = fields.Nested(ServiceHoursSchema, required=True)
    go_live_date = fields.Date(required=True)
    assessor = fields.String(required=True, validate=validate.OneOf(("vendor", "merchant")))
    metrics = fields.Dict(required=True)
    # what onboarding adds for the other services' read models
    trainer = fields.String(validate=validate.OneOf(("vendor", "merchant")))
    platform = fields.String(allow_none=True)
    company_name = fields.String()
    merchant = fields.Dict()
    training = fields.Dict()
    qa = fields.Dict()
    materials = fields.List(fields.Dict())
    faq = fields.List(fields.Dict())
    notes = fields.String(allow_none=True)
    confirmed_at = fields.AwareDateTime()


class ProjectUpdatedData(Schema):
    project_id = _id()
    merchant_id = _id()
    changed = fields.List(fields.String(), required=True)
    seats = fields.Integer(strict=True, validate=validate.Range(min=1, max=10_000))
    service_hours = fields.Nested(ServiceHoursSchema)
    go_live_date = fields.Date()
    service_type = fields.String(validate=validate.OneOf(SERVICE_TYPES))


class ProjectClosedData(Schema):
    project_id = _id()
    merchant_id = fields.String()
    reason = fields.String(allow_none=True)


class CandidatesMatchedData(Schema):
    requisition_id = _id()
    project_id = _id()
    candidates = fields.List(fields.Nested(CandidateProfileSchema), required=True)


class RequisitionShortfallData(Schema):
    requisition_id = _id()
    project_id = _id()
    needed = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    matched = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))


class AgentAdmittedData(Schema):
    project_id = _id()
    candidate_id = _id()
    cohort_id = _id()
    name = fields.String(required=True)
    skills = fields.List(fields.String(validate=validate.OneOf(SKILLS)), required=True)
    shifts_available = fields.List(fields.String(validate=validate.OneOf(SHIFTS)), required=True)
    quiz_score = fields.Float(required=True, validate=validate.Range(min=0, max=100))
    simulation_score = fields.Float(required=True, validate=validate.Range(min=0, max=100))
    rank = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    phone = fields.String()
    merchant_id = fields.String()
    admitted_at = fields.AwareDateTime()


class CohortCompletedData(Schema):
    project_id = _id()
    cohort_id = _id()
    admitted = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    target = fields.Integer(strict=True, validate=validate.Range(min=0))
    #: people trained (not withdrawn) and the hours each was trained: billing's training fee (培训费)
    trainees = fields.Integer(strict=True, validate=validate.Range(min=0))
    training_hours = fields.Decimal(validate=validate.Range(min=0, max=1000))
    completed_at = fields.AwareDateTime()


class TrainingShortfallData(Schema):
    project_id = _id()
    cohort_id = _id()
    missing = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class RosterPublishedData(Schema):
    project_id = _id()
    from_ = fields.Date(required=True, data_key="from")
    to = fields.Date(required=True)
    shifts = fields.List(fields.Dict(), required=True)
    roster_id = fields.String()
    version = fields.Integer(strict=True)
    uncovered = fields.List(fields.Dict())


class PlanPublishedData(Schema):
    """A campaign's staffing plan published: recruitment opens a requisition for the ``gap``."""

    project_id = _id()
    plan_id = _id()
    campaign_id = _id()
    version = fields.Integer(strict=True, validate=validate.Range(min=1))
    date_from = fields.Date(required=True)
    date_to = fields.Date(required=True)
    #: half-hour intervals planned (days × 48) and how many of them stay short of agents
    intervals = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    short_intervals = fields.Integer(strict=True, validate=validate.Range(min=0))
    #: agents the plan needs, agents in the pool, and the difference
    required = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    available = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    gap = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    roster_id = fields.String(allow_none=True)


class SurgeDecisionData(Schema):
    project_id = _id()
    surge_id = _id()
    increase_pct = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    extra_seats = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    covered = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    uncovered = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    reason = fields.String(required=True, allow_none=True)


class ReserveShortfallData(Schema):
    project_id = _id()
    missing = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    reason = fields.String()
    #: ``missing`` is the project's whole gap (all-hands), not new departures: recruitment asks only for
    #: what its recent reserve-shortfall requisitions have not already asked for
    whole_gap = fields.Boolean()


class AgentMovementData(Schema):
    project_id = _id()
    agent_id = _id()
    replacement_id = fields.String(required=True, allow_none=True)
    date = fields.Date()
    reason = fields.String(allow_none=True)


class ShiftWorkedData(Schema):
    project_id = _id()
    agent_id = _id()
    date = fields.Date(required=True)
    hours = fields.Decimal(required=True, validate=validate.Range(min=0, max=24, min_inclusive=False))


ATTENDANCE_STATUSES = ("present", "late", "early_leave", "late_early_leave", "no_show")


class AttendanceRecordedData(Schema):
    """A supervisor confirmed (or corrected) an agent's attendance of a day: the timesheet's source."""

    project_id = _id()
    agent_id = _id()
    date = fields.Date(required=True)
    clock_in = fields.AwareDateTime(required=True, allow_none=True)
    clock_out = fields.AwareDateTime(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(ATTENDANCE_STATUSES))
    shift = fields.String(validate=validate.Length(min=1, max=40))
    late_minutes = fields.Integer(strict=True, validate=validate.Range(min=0))
    early_minutes = fields.Integer(strict=True, validate=validate.Range(min=0))
    #: the hours confirmed into the timesheet (0 for a no-show)
    hours = fields.Decimal(validate=validate.Range(min=0, max=24))
    corrected = fields.Boolean()


class NoShowData(Schema):
    """An agent missed a rostered shift past the tolerance; a reserve agent was called in (or none left)."""

    project_id = _id()
    agent_id = _id()
    shift = fields.String(required=True, validate=validate.Length(min=1, max=40))
    replacement_id = fields.String(required=True, allow_none=True)
    date = fields.Date()
    start = fields.String(validate=_hhmm)


class ComplaintData(Schema):
    complaint_id = _id()
    number = fields.String(required=True, validate=validate.Regexp(r"^TS\d{8}-\d{4,}$"))
    project_id = _id()
    agent_id = fields.String(required=True, allow_none=True)
    level = fields.String(required=True, validate=validate.OneOf(COMPLAINT_LEVELS))
    reason = fields.String(allow_none=True)
    status = fields.String()


class ComplaintUpheldData(Schema):
    complaint_id = _id()
    number = fields.String(required=True, validate=validate.Regexp(r"^TS\d{8}-\d{4,}$"))
    project_id = _id()
    agent_id = _id()
    penalty = fields.String(required=True, validate=_money)
    resolved_at = fields.AwareDateTime()


class PayrollApprovedData(Schema):
    run_id = _id()
    period = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$"))
    total = fields.String(required=True, validate=_money)
    project_id = fields.String(allow_none=True)


_score = validate.Regexp(r"^\d{1,3}(\.\d{1,2})?$", error="must be a score such as '81.50'")
_period = validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="must be a period such as 2026-11")


class KpiComponentsSchema(_Lenient):
    data = fields.String(required=True, allow_none=True, validate=_score)
    performance = fields.String(required=True, allow_none=True, validate=_score)
    execution = fields.String(required=True, allow_none=True, validate=_score)


class KpiScoredData(Schema):
    project_id = _id()
    agent_id = _id()
    period = fields.String(required=True, validate=_period)
    score = fields.String(required=True, validate=_score)
    components = fields.Nested(KpiComponentsSchema, required=True)
    targets_met = fields.Boolean(required=True)
    # what quality adds: each of the order's targets met or not, the weights, the parts with nothing to
    # score, the early warning (below the threshold for several periods in a row)
    targets = fields.Dict(keys=fields.String(), values=fields.Boolean())
    weights = fields.Dict(keys=fields.String(), values=fields.String())
    missing = fields.List(fields.String())
    below_threshold_streak = fields.Integer(strict=True, validate=validate.Range(min=0))
    warning = fields.Boolean()
    version = fields.Integer(strict=True, validate=validate.Range(min=1))


class QaFindingData(Schema):
    project_id = _id()
    agent_id = _id()
    review_id = _id()
    problems = fields.List(fields.String(), required=True)
    good_cases = fields.List(fields.String(), required=True)
    conversation_id = fields.String(allow_none=True)
    date = fields.Date()
    method = fields.String()
    percent = fields.String(validate=_score)


HELP_KINDS = ("question", "dispute", "handover")


class InvoiceData(Schema):
    """An invoice issued to a merchant (numbered) or a payment recorded against it: for the console and
    notifications. ``balance`` is what is still owed (negative: a credit to the merchant)."""

    invoice_id = _id()
    number = fields.String(required=True, validate=validate.Length(min=1, max=20))
    merchant_id = fields.String(required=True, allow_none=True, validate=validate.Length(max=64))
    project_id = _id()
    period = fields.String(validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$"))
    total = fields.String(required=True, validate=_money)
    balance = fields.String(required=True, validate=_money)
    status = fields.String()
    due_on = fields.Date(allow_none=True)
    #: invoice.paid: the payment recorded
    payment_id = fields.String(validate=validate.Length(min=1, max=64))
    amount = fields.String(validate=_money)
    paid_on = fields.Date()


class HelpData(Schema):
    """An agent's call for help reached the supervisor on duty (求助), or the supervisor responded: the
    desk's response-time clock (``waited_seconds``: 0 when asked, answered_at - requested_at when
    answered)."""

    project_id = _id()
    help_id = _id()
    agent_id = _id()
    #: the supervisor on duty when it was asked; null when nobody was
    supervisor_id = fields.String(required=True, allow_none=True, validate=validate.Length(max=64))
    kind = fields.String(required=True, validate=validate.OneOf(HELP_KINDS))
    waited_seconds = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    requested_at = fields.AwareDateTime()
    answered_at = fields.AwareDateTime(allow_none=True)
    answered_by = fields.String(allow_none=True)
    #: answered | handed_over (help.answered only)
    status = fields.String(validate=validate.OneOf(("open", "answered", "handed_over")))
    party = fields.String(allow_none=True)


# --- the catalogue ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventType:
    name: str
    version: int
    producer: str
    consumers: tuple[str, ...]
    schema: type[Schema]
    description: str = ""

    # One schema instance per type and direction, built on first use: building one (fields copied, hooks
    # resolved) cost as much as validating a payload, for each of the thousands of events a second a
    # consumer or a bulk use case handles. A marshmallow schema keeps no state between loads.
    @functools.cached_property
    def _outgoing(self) -> Schema:
        return self.schema(unknown=RAISE)

    @functools.cached_property
    def _incoming(self) -> Schema:
        return self.schema(unknown=EXCLUDE)

    def validate_outgoing(self, data: dict[str, Any]) -> None:
        errors = self._outgoing.validate(data)
        if errors:
            raise InvalidEventData(self.name, errors)

    def load_incoming(self, data: Any) -> dict[str, Any]:
        """Typed view of an incoming payload; unknown fields are ignored (newer producers add some)."""
        try:
            return self._incoming.load(data)
        except ValidationError as exc:
            raise InvalidEventData(self.name, exc.messages_dict) from exc


_ALL = ("recruitment", "training", "scheduling", "complaints", "billing", "quality")

_CATALOGUE: dict[str, EventType] = {}


def register(event_type: EventType) -> EventType:
    """Add a type (the tests register their own); re-registering the same name replaces it."""
    _CATALOGUE[event_type.name] = event_type
    return event_type


def unregister(name: str) -> None:
    _CATALOGUE.pop(name, None)


for _spec in (
    EventType(
        "project.confirmed",
        1,
        "onboarding",
        ("recruitment", "training", "scheduling", "billing", "complaints", "quality"),
        ProjectConfirmedData,
        "the vendor accepted the merchant's order",
    ),
    EventType(
        "project.updated",
        1,
        "onboarding",
        ("recruitment", "training", "scheduling", "billing", "complaints", "quality"),
        ProjectUpdatedData,
        "a confirmed project's seats, hours or go-live changed",
    ),
    EventType("project.closed", 1, "onboarding", _ALL, ProjectClosedData, "the project ended"),
    EventType(
        "candidates.matched",
        1,
        "recruitment",
        ("training",),
        CandidatesMatchedData,
        "candidates put forward for a requisition (1:3)",
    ),
    EventType(
        "requisition.shortfall",
        1,
        "recruitment",
        (),
        RequisitionShortfallData,
        "fewer eligible candidates than the requisition's target",
    ),
    EventType(
        "agent.admitted",
        1,
        "training",
        ("scheduling", "recruitment", "complaints", "billing", "quality"),
        AgentAdmittedData,
        "a trainee passed and was admitted (1:2)",
    ),
    EventType(
        "cohort.completed",
        1,
        "training",
        ("scheduling", "recruitment", "billing"),
        CohortCompletedData,
        "a cohort's training and assessment ended",
    ),
    EventType(
        "training.shortfall",
        1,
        "training",
        ("recruitment",),
        TrainingShortfallData,
        "fewer admitted than the target; recruitment matches more",
    ),
    EventType("roster.published", 1, "scheduling", (), RosterPublishedData, "a roster version published"),
    EventType(
        "surge.accepted",
        1,
        "scheduling",
        ("recruitment", "billing"),
        SurgeDecisionData,
        "a volume surge accepted under the notice rule",
    ),
    EventType(
        "plan.published",
        1,
        "scheduling",
        ("recruitment",),
        PlanPublishedData,
        "a campaign's staffing plan published; recruitment asks for the gap",
    ),
    EventType(
        "surge.rejected",
        1,
        "scheduling",
        (),
        SurgeDecisionData,
        "a volume surge refused under the notice rule",
    ),
    EventType(
        "reserve.shortfall",
        1,
        "scheduling",
        ("recruitment",),
        ReserveShortfallData,
        "the reserve pool cannot cover what is needed",
    ),
    EventType("agent.departed", 1, "scheduling", ("billing",), AgentMovementData, "an agent left a project"),
    EventType(
        "agent.replaced",
        1,
        "scheduling",
        ("billing",),
        AgentMovementData,
        "a reserve agent took over a departed agent's shifts",
    ),
    EventType("shift.worked", 1, "scheduling", ("billing",), ShiftWorkedData, "hours worked on a day"),
    EventType(
        "attendance.recorded",
        1,
        "scheduling",
        ("billing",),
        AttendanceRecordedData,
        "a day's attendance confirmed by a supervisor (its hours go to billing as a timesheet)",
    ),
    EventType(
        "agent.no_show",
        1,
        "scheduling",
        ("billing",),
        NoShowData,
        "an agent did not clock in within the tolerance; the reserve was called",
    ),
    EventType("complaint.opened", 1, "complaints", ("quality",), ComplaintData, "a complaint was numbered"),
    EventType(
        "complaint.escalated",
        1,
        "complaints",
        ("quality", "scheduling"),
        ComplaintData,
        "a complaint moved up a level (scheduling alerts the supervisors)",
    ),
    EventType("complaint.resolved", 1, "complaints", ("quality",), ComplaintData, "a complaint was resolved"),
    EventType(
        "complaint.upheld",
        1,
        "complaints",
        ("billing", "training", "quality"),
        ComplaintUpheldData,
        "the agent was at fault: penalty and retraining",
    ),
    EventType("payroll.approved", 1, "billing", (), PayrollApprovedData, "a payroll run was approved"),
    EventType(
        "kpi.scored",
        1,
        "quality",
        ("billing", "scheduling"),
        KpiScoredData,
        "an agent's KPI for a period was scored (65% data, 25% work performance, 10% execution)",
    ),
    EventType(
        "qa.finding",
        1,
        "quality",
        ("training",),
        QaFindingData,
        "a QA review found problems or good cases for improvement training",
    ),
    EventType(
        "help.requested",
        1,
        "scheduling",
        (),
        HelpData,
        "an agent asked the supervisor on duty for help (a question, a dispute above its authority)",
    ),
    EventType(
        "help.answered",
        1,
        "scheduling",
        (),
        HelpData,
        "the supervisor answered or handed over a help request; waited_seconds is the response time",
    ),
    EventType(
        "invoice.issued",
        1,
        "billing",
        ("scheduling",),
        InvoiceData,
        "a merchant's invoice (or credit note) was issued with its number (scheduling tells the merchant)",
    ),
    EventType(
        "invoice.paid",
        1,
        "billing",
        ("scheduling",),
        InvoiceData,
        "a payment was recorded against an issued invoice (status paid or partly_paid)",
    ),
):
    register(_spec)


def get_event_type(name: str) -> EventType:
    try:
        return _CATALOGUE[name]
    except KeyError:
        raise UnknownEventType(f"unknown event type {name!r}; add it to shared/events/catalogue.py") from None


def all_event_types() -> list[EventType]:
    return list(_CATALOGUE.values())


def consumed_by(service: str) -> list[str]:
    """The routing keys a service's queue is bound to."""
    return sorted(t.name for t in _CATALOGUE.values() if service in t.consumers)


def consumer_services() -> list[str]:
    return sorted({s for t in _CATALOGUE.values() for s in t.consumers})


def unconsumed_types() -> list[str]:
    return sorted(t.name for t in _CATALOGUE.values() if not t.consumers)


def produced_by(service: str) -> list[str]:
    return sorted(t.name for t in _CATALOGUE.values() if t.producer == service)


def check_handlers(service: str, handled: Iterable[str]) -> list[str]:
    """Problems between a service's handlers and the catalogue (used by a test, and at worker start)."""
    extra = set(handled) - set(consumed_by(service))
    return [f"{service} handles {t!r} but the catalogue does not route it there" for t in sorted(extra)]


def unhandled(service: str, handled: Iterable[str]) -> list[str]:
    """Types routed to a service that it has no handler for: they will end in its dead-letter queue."""
    return sorted(set(consumed_by(service)) - set(handled))
