"""Marshmallow schemas of every scheduling request and response."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from shared.events.catalogue import SHIFTS
from shared.money import DecimalString
from shared.pagination import PageArgsSchema, page_response_schema
from shared.tabular import LangArgs

ID_LENGTH = validate.Length(min=1, max=64)


class InDecimal(fields.Decimal):
    """A decimal input: loads a ``Decimal``; its range limits render as JSON numbers in the spec."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else float(value)


def check_range(data: dict[str, Any], start: str, end: str) -> None:
    if data.get(start) and data.get(end) and data[end] < data[start]:
        raise ValidationError(f"must be on or after {start} ({data[start].isoformat()})", end)


# --- pool -------------------------------------------------------------------------------------------------


class PoolArgsSchema(PageArgsSchema):
    role = fields.String(validate=validate.OneOf(("active", "reserve")), metadata={"description": "filter"})
    include_departed = fields.Boolean(load_default=False)


class PoolAgentSchema(Schema):
    agent_id = fields.String()
    name = fields.String()
    role = fields.String(metadata={"description": "active | reserve | departed"})
    position = fields.Integer(metadata={"description": "1-based place in the pool order (best first)"})
    score = fields.Float(metadata={"description": "admission score: mean of quiz and simulation"})
    quiz_score = fields.Float()
    simulation_score = fields.Float()
    rank = fields.Integer(metadata={"description": "rank within the training cohort"})
    cohort_id = fields.String(allow_none=True)
    skills = fields.List(fields.String())
    shifts_available = fields.List(fields.String())
    part_time = fields.Boolean(
        metadata={"description": "兼职 on this project: short shifts, pre-sales or triage"}
    )
    admitted_at = fields.AwareDateTime()
    departed_on = fields.Date(allow_none=True)
    replaced_by = fields.String(allow_none=True)


class PoolSchema(Schema):
    project_id = fields.String()
    seats = fields.Integer()
    active_ratio = fields.String(metadata={"description": "scheduled agents per seat (1:1.5)"})
    active_target = fields.Integer(metadata={"description": "ceil(active_ratio × seats)"})
    active = fields.Integer(metadata={"description": "active agents in the pool"})
    reserve = fields.Integer(metadata={"description": "reserve agents in the pool"})
    items = fields.List(fields.Nested(PoolAgentSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()


# --- rosters ----------------------------------------------------------------------------------------------


class ShiftDemandSchema(Schema):
    shift = fields.String(required=True, validate=validate.OneOf(SHIFTS))
    needed = fields.Integer(
        required=True, validate=validate.Range(min=0, max=10_000), metadata={"description": "agents"}
    )
    date = fields.Date(
        load_default=None, allow_none=True, metadata={"description": "one date; absent: every date"}
    )


class DemandSchema(Schema):
    """How many agents each shift needs; absent, every shift needs the seats (plus surge seats)."""

    multipliers = fields.Dict(
        keys=fields.String(validate=validate.OneOf(SHIFTS)),
        values=InDecimal(places=3, validate=validate.Range(min=0, max=10)),
        load_default=dict,
        metadata={"description": 'per shift, × seats, e.g. {"afternoon": 1.3, "night": 0.5}'},
    )
    peak_multiplier = InDecimal(
        places=3,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=10),
        metadata={
            "description": "× seats for a shift entirely in the peak hours (SCHEDULING_PEAK_HOURS), "
            "pro rata to the share of peak hours in the others; multiplies with `multipliers`"
        },
    )
    shifts = fields.List(
        fields.Nested(ShiftDemandSchema),
        load_default=list,
        validate=validate.Length(max=2000),
        metadata={
            "description": "explicit headcounts; win over the multipliers (a dated one over an undated)"
        },
    )


class RosterRequestSchema(Schema):
    from_ = fields.Date(required=True, data_key="from", metadata={"description": "first day (ISO date)"})
    to = fields.Date(required=True, metadata={"description": "last day, at most 31 days after from"})
    publish = fields.Boolean(
        load_default=True, metadata={"description": "publish at once (default) or keep as a draft"}
    )
    demand = fields.Nested(
        DemandSchema,
        load_default=None,
        allow_none=True,
        metadata={
            "description": "per-shift demand (peak hours need more agents); surges' extra seats come on "
            "top. Absent: every shift needs the project's seats"
        },
    )

    @validates_schema(skip_on_field_errors=False)
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        check_range(data, "from_", "to")


class RosterQuerySchema(PageArgsSchema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    agent_id = fields.String(validate=ID_LENGTH)
    date = fields.Date(metadata={"description": "one day (overrides from/to)"})
    shift = fields.String(validate=validate.OneOf(SHIFTS))

    @validates_schema(skip_on_field_errors=False)
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        check_range(data, "from_", "to")


class ExportQuerySchema(LangArgs):
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    agent_id = fields.String(validate=ID_LENGTH)

    @validates_schema(skip_on_field_errors=False)
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        check_range(data, "from_", "to")


class ShiftSchema(Schema):
    id = fields.String()
    roster_id = fields.String()
    version = fields.Integer()
    date = fields.Date()
    shift = fields.String(metadata={"description": "morning | afternoon | night"})
    start = fields.String(metadata={"description": "HH:MM, Asia/Shanghai"})
    end = fields.String(metadata={"description": "HH:MM (may be the next day for a night shift)"})
    hours = fields.String(metadata={"description": "decimal hours"})
    agent_id = fields.String()
    agent_name = fields.String(allow_none=True)
    role = fields.String(metadata={"description": "active | reserve when rostered"})


class GapSchema(Schema):
    date = fields.Date()
    shift = fields.String()
    start = fields.String()
    end = fields.String()
    needed = fields.Integer()
    assigned = fields.Integer()
    missing = fields.Integer()
    rule = fields.String(metadata={"description": "the hard rule that keeps the shift open"})
    detail = fields.String()


class BindingRuleSchema(Schema):
    rule = fields.String()
    shifts = fields.Integer()
    missing = fields.Integer()
    example = fields.String()


class RosterFiguresSchema(Schema):
    violations = fields.Integer(metadata={"description": "hard-rule violations (always 0 when kept)"})
    needed = fields.Integer()
    missing = fields.Integer()
    coverage_pct = fields.Float()
    hours_spread = fields.Float(metadata={"description": "max − min hours among active agents, h"})
    night_spread = fields.Integer(metadata={"description": "max − min night shifts among them"})
    reserve_shifts = fields.Integer()


class SolverReportSchema(Schema):
    """How the roster was chosen: CP-SAT's roster and the greedy baseline, the better one kept."""

    kept = fields.String(
        metadata={"description": "cp-sat | greedy: the roster kept (coverage, then fairness)"}
    )
    status = fields.String(metadata={"description": "CP-SAT's status: OPTIMAL | FEASIBLE | UNKNOWN …"})
    hint = fields.String(
        allow_none=True,
        metadata={
            "description": "the roster CP-SAT's search started from: greedy, or greedy-balanced+<N>h "
            "(reserve agents ranked as if N hours ahead)"
        },
    )
    objective = fields.Float(allow_none=True)
    bound = fields.Float(allow_none=True, metadata={"description": "CP-SAT's best objective bound"})
    gap = fields.Float(allow_none=True, metadata={"description": "(objective − bound) ÷ objective"})
    time_limit = fields.Float(metadata={"description": "seconds of wall time the solve was given"})
    workers = fields.Integer()
    hours_spread = fields.Float(allow_none=True)
    night_spread = fields.Integer(allow_none=True)
    reserve_shifts = fields.Integer(allow_none=True)
    compared = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(RosterFiguresSchema),
        metadata={"description": "the figures of each candidate roster, by method"},
    )


class RosterDemandSchema(Schema):
    multipliers = fields.Dict(keys=fields.String(), values=fields.String())
    peak_multiplier = fields.String()
    shifts = fields.List(fields.Nested(ShiftDemandSchema))


class RosterVersionSchema(Schema):
    id = fields.String()
    project_id = fields.String()
    version = fields.Integer()
    from_ = fields.Date(data_key="from", attribute="date_from")
    to = fields.Date(attribute="date_to")
    status = fields.String(metadata={"description": "draft | published"})
    reason = fields.String(metadata={"description": "generated | departure | surge | surge-cancelled"})
    method = fields.String(metadata={"description": "cp-sat | greedy | reassignment"})
    solver_status = fields.String()
    solve_seconds = fields.Float()
    solver_report = fields.Nested(
        SolverReportSchema, allow_none=True, metadata={"description": "null unless solved (cp-sat | greedy)"}
    )
    demand = fields.Nested(
        RosterDemandSchema, allow_none=True, metadata={"description": "the per-shift demand asked for"}
    )
    binding_rules = fields.List(fields.Nested(BindingRuleSchema))
    created_by = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    published_at = fields.AwareDateTime(allow_none=True)


class RosterDetailSchema(RosterVersionSchema):
    needed = fields.Integer(metadata={"description": "agent-shifts the dates need"})
    assigned = fields.Integer()
    coverage_pct = fields.String(metadata={"description": "assigned ÷ needed, percent"})
    uncovered = fields.List(fields.Nested(GapSchema))
    shifts = fields.List(fields.Nested(ShiftSchema))


RosterVersionPage = page_response_schema(RosterVersionSchema, "RosterVersionPage")


class RosterViewSchema(Schema):
    """The roster in force: for each date, the newest published version covering it."""

    project_id = fields.String()
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    versions = fields.List(fields.Nested(RosterVersionSchema))
    uncovered = fields.List(fields.Nested(GapSchema))
    items = fields.List(fields.Nested(ShiftSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()


# --- surges -----------------------------------------------------------------------------------------------


class SurgeRequestSchema(Schema):
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    increase_pct = InDecimal(
        required=True,
        places=2,
        validate=validate.Range(min=0, min_inclusive=False, max=1000),
        metadata={"description": "the forecast increase in consultations, percent (> 0)"},
    )
    note = fields.String(validate=validate.Length(max=2000), allow_none=True)

    @validates_schema(skip_on_field_errors=False)
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        check_range(data, "start_date", "end_date")


class SurgeSchema(Schema):
    id = fields.String()
    project_id = fields.String()
    start_date = fields.Date()
    end_date = fields.Date()
    increase_pct = DecimalString()
    status = fields.String(metadata={"description": "accepted | rejected | cancelled"})
    notice_days = fields.Integer()
    extra_seats = fields.Integer()
    covered = fields.Integer(metadata={"description": "extra seats covered (reserve agents first)"})
    uncovered = fields.Integer()
    rule = fields.String()
    reason = fields.String()
    earliest_start = fields.Date(allow_none=True)
    note = fields.String(allow_none=True)
    requested_by = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    cancelled_at = fields.AwareDateTime(allow_none=True)
    roster_version = fields.Integer(allow_none=True, metadata={"description": "the roster version it made"})


class SurgeArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(("accepted", "rejected", "cancelled")))


SurgePage = page_response_schema(SurgeSchema, "SurgePage")


class SurgeRuleArgsSchema(Schema):
    increase_pct = DecimalString(
        validate=validate.Range(min=0, min_inclusive=False),
        metadata={"description": "a forecast increase in consultations, percent (> 0), to check"},
    )


class SurgeRuleSchema(Schema):
    """The surge notice rule in force; the last four fields answer for ``increase_pct`` (else null)."""

    small_pct = DecimalString(metadata={"description": "an increase up to this percent is a small surge"})
    small_notice_days = fields.Integer()
    large_pct = DecimalString(metadata={"description": "the largest increase accepted, percent"})
    large_notice_days = fields.Integer()
    max_roster_days = fields.Integer(metadata={"description": "the longest surge, days"})
    today = fields.Date(metadata={"description": "today in Shanghai, from which notice is counted"})
    increase_pct = DecimalString(allow_none=True)
    allowed = fields.Boolean(allow_none=True, metadata={"description": "false above the large limit"})
    required_notice_days = fields.Integer(allow_none=True)
    earliest_start = fields.Date(allow_none=True)


# --- departures -------------------------------------------------------------------------------------------


class DepartureRequestSchema(Schema):
    project_id = fields.String(required=True, validate=ID_LENGTH)
    date = fields.Date(required=True, metadata={"description": "the first day the agent no longer works"})
    reason = fields.String(validate=validate.Length(max=2000), allow_none=True)


class BatchDepartureRequestSchema(DepartureRequestSchema):
    agent_ids = fields.List(
        fields.String(validate=ID_LENGTH), required=True, validate=validate.Length(min=1, max=500)
    )

    @validates_schema
    def _unique(self, data: dict[str, Any], **_: Any) -> None:
        ids = data.get("agent_ids") or []
        if len(set(ids)) != len(ids):
            raise ValidationError("an agent is listed more than once", "agent_ids")


class TakeoverSchema(Schema):
    replacement_id = fields.String()
    shifts = fields.List(fields.Nested(ShiftSchema))


class DepartureSchema(Schema):
    agent_id = fields.String()
    project_id = fields.String()
    date = fields.Date()
    role = fields.String(metadata={"description": "the agent's role before leaving"})
    replacement_id = fields.String(allow_none=True, metadata={"description": "who takes over (most shifts)"})
    takeovers = fields.List(fields.Nested(TakeoverSchema))
    uncovered = fields.List(fields.Nested(ShiftSchema), metadata={"description": "shifts nobody could take"})


class DepartureResultSchema(Schema):
    project_id = fields.String()
    date = fields.Date()
    departures = fields.List(fields.Nested(DepartureSchema))
    roster_version = fields.Integer(allow_none=True)
    reserve_shortfall = fields.Integer(metadata={"description": "agents recruitment must top up"})


# --- timesheets -------------------------------------------------------------------------------------------


class TimesheetInSchema(Schema):
    project_id = fields.String(required=True, validate=ID_LENGTH)
    agent_id = fields.String(required=True, validate=ID_LENGTH)
    date = fields.Date(required=True)
    hours = InDecimal(
        required=True,
        places=2,
        validate=validate.Range(min=0, min_inclusive=False, max=24),
        metadata={"description": "0 < hours ≤ 24, two decimals"},
    )
    note = fields.String(validate=validate.Length(max=2000), allow_none=True)


class TimesheetBatchSchema(Schema):
    """One entry as an object, or many: a JSON array or ``{"entries": [...]}`` (at most 1,000)."""

    entries = fields.List(
        fields.Nested(TimesheetInSchema), required=True, validate=validate.Length(min=1, max=1000)
    )

    @pre_load
    def _wrap(self, data: Any, **_: Any) -> Any:
        if isinstance(data, list):
            return {"entries": data}
        if isinstance(data, dict) and "entries" not in data:
            return {"entries": [data]}
        return data


class TimesheetSchema(Schema):
    id = fields.String()
    project_id = fields.String()
    agent_id = fields.String()
    date = fields.Date()
    hours = DecimalString()
    note = fields.String(allow_none=True)
    recorded_by = fields.String(allow_none=True)
    recorded_at = fields.AwareDateTime()
    current = fields.Boolean(metadata={"description": "false once a re-entry replaced it"})
    superseded_at = fields.AwareDateTime(allow_none=True)
    superseded_by = fields.String(allow_none=True)


class TimesheetResultSchema(Schema):
    items = fields.List(fields.Nested(TimesheetSchema))
    replaced = fields.Integer(metadata={"description": "earlier entries superseded by these"})


class TimesheetArgsSchema(PageArgsSchema):
    project_id = fields.String(validate=ID_LENGTH)
    agent_id = fields.String(validate=ID_LENGTH)
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    include_history = fields.Boolean(load_default=False)

    @validates_schema(skip_on_field_errors=False)
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        check_range(data, "from_", "to")


class TimesheetExportArgsSchema(LangArgs):
    project_id = fields.String(validate=ID_LENGTH)
    agent_id = fields.String(validate=ID_LENGTH)
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    include_history = fields.Boolean(load_default=False)

    @validates_schema(skip_on_field_errors=False)
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        check_range(data, "from_", "to")


TimesheetPage = page_response_schema(TimesheetSchema, "TimesheetPage")


# --- staffing estimate ------------------------------------------------------------------------------------


def _num(**kwargs: Any) -> InDecimal:
    return InDecimal(validate=validate.Range(min=0), **kwargs)


def _pos(**kwargs: Any) -> InDecimal:
    return InDecimal(validate=validate.Range(min=0, min_inclusive=False), **kwargs)


class PresaleInSchema(Schema):
    total_receptions = _num(metadata={"description": "forecast consultations (seed 003: 2000)"})
    forecast_orders = _num()
    receptions_per_order = _num()
    uv = _num(metadata={"description": "shop visitors (进店UV)"})
    call_in_rate = _num(metadata={"description": "share of visitors who consult (callin转化), e.g. 0.05"})
    bot_receptions = _num(metadata={"description": "receptions while the bot is on (default 0)"})
    bot_resolution_rate = InDecimal(
        validate=validate.Range(min=0, max=1),
        metadata={"description": "share the bot solves alone (default 0)"},
    )
    own_agents = _num(metadata={"description": "the shop's own agents (default 0)"})
    own_agent_hours = _num(metadata={"description": "own agents' working hours (default: working_hours)"})
    working_hours = _pos(metadata={"description": "a temporary agent's hours a day (default 8)"})
    receptions_per_hour = _pos(metadata={"description": "default 100 (SCHEDULING_RECEPTIONS_PER_HOUR)"})
    agent_daily_capacity = _pos(metadata={"description": "saturation per agent per day (seed 003: 220)"})

    @validates_schema
    def _source(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("total_receptions") is not None:
            return
        if data.get("forecast_orders") is not None or data.get("receptions_per_order") is not None:
            missing = [k for k in ("forecast_orders", "receptions_per_order") if data.get(k) is None]
            if missing:
                raise ValidationError({k: ["required with the orders method"] for k in missing})
            return
        if data.get("uv") is not None or data.get("call_in_rate") is not None:
            missing = [k for k in ("uv", "call_in_rate") if data.get(k) is None]
            if missing:
                raise ValidationError({k: ["required with the UV method"] for k in missing})
            return
        raise ValidationError(
            "give total_receptions, or forecast_orders with receptions_per_order, or uv with call_in_rate",
            "total_receptions",
        )


class AftersaleInSchema(Schema):
    orders = _num(required=True)
    refund_rate = InDecimal(required=True, validate=validate.Range(min=0, max=1))
    aftersale_days = _pos(required=True, metadata={"description": "the after-sales period (售后降量周期)"})
    seconds_per_refund = _pos(required=True)
    working_hours = _pos(metadata={"description": "default 8"})
    utilisation = InDecimal(
        validate=validate.Range(min=0, max=1, min_inclusive=False), metadata={"description": "default 0.9"}
    )


class StaffingRequestSchema(Schema):
    presale = fields.Nested(PresaleInSchema, allow_none=True)
    aftersale = fields.Nested(AftersaleInSchema, allow_none=True)

    @validates_schema
    def _any(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("presale") and not data.get("aftersale"):
            raise ValidationError("give presale, aftersale or both", "_schema")


class PresaleOutSchema(Schema):
    total_receptions = fields.String()
    total_receptions_source = fields.String(metadata={"description": "given | orders | uv"})
    bot_receptions = fields.String()
    own_agents_receptions = fields.String()
    reception_gap = fields.String()
    agent_daily_capacity = fields.String()
    exact = fields.String(metadata={"description": "the exact quotient (4 places)"})
    headcount = fields.Integer(metadata={"description": "rounded up"})


class AftersaleOutSchema(Schema):
    daily_refunds = fields.String()
    refunds_per_agent_hour = fields.String()
    agent_daily_capacity = fields.String()
    week_factor = fields.String(metadata={"description": "7 ÷ 5"})
    exact = fields.String()
    headcount = fields.Integer()


class FunnelSchema(Schema):
    seats = fields.Integer()
    match = fields.Integer(metadata={"description": "candidates to match (1:3)"})
    admit = fields.Integer(metadata={"description": "agents to admit (1:2)"})
    schedule = fields.Integer(metadata={"description": "agents scheduled (1:1.5)"})
    reserve = fields.Integer(metadata={"description": "admitted agents kept in reserve"})


class StaffingResultSchema(Schema):
    presale = fields.Nested(PresaleOutSchema, allow_none=True)
    aftersale = fields.Nested(AftersaleOutSchema, allow_none=True)
    headcount = fields.Integer(metadata={"description": "seats implied: the modes' headcounts summed"})
    funnel = fields.Nested(FunnelSchema)


# --- the supervisor's early warning (quality's KPI) ---------------------------------------------------------


class KpiWarningArgsSchema(PageArgsSchema):
    all = fields.Boolean(
        load_default=False,
        metadata={"description": "every agent with a KPI, not only those flagged"},
    )


class KpiStandingSchema(Schema):
    agent_id = fields.String()
    name = fields.String(
        allow_none=True, metadata={"description": "from the pool; null before agent.admitted"}
    )
    period = fields.String(metadata={"description": "the latest month quality scored", "example": "2026-11"})
    score = DecimalString(
        places=2, metadata={"description": "KPI 0–100 (65% data, 25% performance, 10% execution)"}
    )
    below_threshold_streak = fields.Integer(
        metadata={"description": "months in a row below quality's warning threshold, up to this one"}
    )
    warning = fields.Boolean(metadata={"description": "below the threshold long enough to flag (预警)"})
    updated_at = fields.AwareDateTime()


KpiStandingPage = page_response_schema(KpiStandingSchema, "KpiStandingPage")


# --- workforce planning (人力规划) -------------------------------------------------------------------------

PLAN_CHANNELS = ("presale", "aftersale", "all")
PLAN_SKILLS = ("presale", "aftersale", "triage")
PHASE_NAMES = ("pilot", "warmup", "festival", "aftersales", "normal")
_CHANNEL_WORDS = {
    "售前": "presale",
    "售后": "aftersale",
    "合计": "all",
    "全部": "all",
    "total": "all",
    "pre-sales": "presale",
    "after-sales": "aftersale",
}
_SHARE = validate.Range(min=0, max=1, max_inclusive=False)


def _minute_of(text: str) -> int:
    hours, sep, minutes = text.strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit():
        raise ValidationError(f"{text!r} is not a time HH:MM")
    value = int(hours) * 60 + int(minutes)
    if not 0 <= value < 24 * 60 or int(minutes) >= 60:
        raise ValidationError(f"{text!r} is not a time of day between 00:00 and 23:30")
    if value % 30:
        raise ValidationError(f"{text!r} is not on the half-hour grid (HH:00 or HH:30)")
    return value


class HistoryRowSchema(Schema):
    """A day's (no ``time``) or a half-hour's (``time`` = its start) consultations for one channel."""

    date = fields.Date(required=True)
    time = fields.String(
        metadata={"description": "HH:00 or HH:30, the half-hour's start; none: a daily total"}
    )
    channel = fields.String(
        required=True,
        validate=validate.OneOf(PLAN_CHANNELS),
        metadata={
            "description": "presale (售前), aftersale (售后) or all (合计: split 7:3, 3:7 after the festival)"
        },
    )
    consultations = fields.Float(required=True, validate=validate.Range(min=0, max=10_000_000))

    @pre_load
    def _words(self, data: Any, **_kwargs: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("channel"), str):
            word = data["channel"].strip()
            data = {
                **data,
                "channel": _CHANNEL_WORDS.get(word.lower(), _CHANNEL_WORDS.get(word, word.lower())),
            }
        return data

    @post_load
    def _time(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        if data.get("time"):
            try:
                data["minute"] = _minute_of(data["time"])
            except ValidationError as exc:
                raise ValidationError(exc.messages, "time") from exc
        return data


class HistoryImportSchema(Schema):
    rows = fields.List(
        fields.Nested(HistoryRowSchema), required=True, validate=validate.Length(min=1, max=50_000)
    )
    profile = fields.List(
        fields.Float(validate=validate.Range(min=0)),
        metadata={"description": "48 weights, one per half-hour from 00:00, spreading daily totals"},
    )


class HistoryResultSchema(Schema):
    project_id = fields.String()
    days = fields.Integer()
    intervals = fields.Integer()
    channels = fields.List(fields.String())
    from_ = fields.Date(data_key="from", allow_none=True)
    to = fields.Date(allow_none=True)


class HistoryArgsSchema(Schema):
    from_ = fields.Date(required=True, data_key="from")
    to = fields.Date(required=True)
    channel = fields.String(validate=validate.OneOf(PLAN_CHANNELS))

    @validates_schema
    def _range(self, data: dict[str, Any], **_kwargs: Any) -> None:
        check_range(data, "from_", "to")
        if (data["to"] - data["from_"]).days > 366:
            raise ValidationError("at most 367 days at a time", "to")


class HistoryDaySchema(Schema):
    date = fields.Date()
    channel = fields.String()
    consultations = fields.Float()


class HistoryDaysSchema(Schema):
    items = fields.List(fields.Nested(HistoryDaySchema))


class PhaseSchema(Schema):
    """A stretch of the campaign; its own volume (optional) replaces last year's × growth."""

    name = fields.String(
        required=True,
        validate=validate.OneOf(PHASE_NAMES),
        metadata={"description": "pilot, warmup (预热期), festival (大促当天), aftersales (售后期), normal"},
    )
    from_ = fields.Date(required=True, data_key="from")
    to = fields.Date(required=True)
    expected_orders = fields.Float(validate=validate.Range(min=0, max=1e9))
    receptions_per_order = fields.Float(validate=validate.Range(min=0, max=1000))
    uv = fields.Float(validate=validate.Range(min=0, max=1e10))
    call_in_rate = fields.Float(validate=validate.Range(min=0, max=1))
    refund_rate = fields.Float(validate=validate.Range(min=0, max=1))

    @validates_schema
    def _pairs(self, data: dict[str, Any], **_kwargs: Any) -> None:
        check_range(data, "from_", "to")
        if ("uv" in data) != ("call_in_rate" in data):
            raise ValidationError("uv and call_in_rate go together", "uv")
        if "receptions_per_order" in data and "expected_orders" not in data:
            raise ValidationError("receptions_per_order needs expected_orders", "expected_orders")
        if "refund_rate" in data and "expected_orders" not in data:
            raise ValidationError("refund_rate needs expected_orders", "expected_orders")


class ChannelShareSchema(Schema):
    presale = fields.Float(validate=_SHARE)
    aftersale = fields.Float(validate=_SHARE)


class ChannelCountSchema(Schema):
    presale = fields.Integer(strict=True, validate=validate.Range(min=0, max=10_000))
    aftersale = fields.Integer(strict=True, validate=validate.Range(min=0, max=10_000))


class SplitSchema(Schema):
    presale = fields.Float(validate=validate.Range(min=0, max=1), metadata={"description": "normally 0.7"})
    flipped = fields.Float(validate=validate.Range(min=0, max=1), metadata={"description": "after: 0.3"})
    flip_days = fields.Integer(strict=True, validate=validate.Range(min=0, max=30))


class ServiceTargetSchema(Schema):
    """The order's promise per channel; any field left out takes the scheduling settings' default."""

    level = fields.Float(validate=validate.Range(min=0, max=1, min_inclusive=False, max_inclusive=False))
    threshold_seconds = fields.Float(validate=validate.Range(min=1, max=3600))
    aht_seconds = fields.Float(validate=validate.Range(min=1, max=7200))
    concurrency = fields.Integer(strict=True, validate=validate.Range(min=1, max=20))
    max_occupancy = fields.Float(validate=validate.Range(min=0, max=1, min_inclusive=False))
    shrinkage = fields.Float(validate=_SHARE)


class ServiceTargetsSchema(Schema):
    presale = fields.Nested(ServiceTargetSchema)
    aftersale = fields.Nested(ServiceTargetSchema)


class ShiftPatternSchema(Schema):
    full_hours = fields.List(
        fields.Float(validate=validate.Range(min=0.5, max=12)), validate=validate.Length(min=1, max=4)
    )
    part_hours = fields.List(
        fields.Float(validate=validate.Range(min=0.5, max=12)), validate=validate.Length(max=4)
    )
    start_step_minutes = fields.Integer(strict=True, validate=validate.OneOf((30, 60, 120)))


class SiteRatiosSchema(Schema):
    area_m2_per_person = fields.Float(validate=validate.Range(min=0.5, max=50))
    agents_per_network_admin = fields.Integer(strict=True, validate=validate.Range(min=1, max=10_000))
    spare_pc_ratio = fields.Float(validate=validate.Range(min=0, max=1))
    agents_per_floor_controller = fields.Integer(strict=True, validate=validate.Range(min=1, max=10_000))
    reserve_ratio = fields.Float(validate=validate.Range(min=0, max=1))
    bandwidth_min_mbps = fields.Integer(strict=True, validate=validate.Range(min=1, max=100_000))
    bandwidth_max_mbps = fields.Integer(strict=True, validate=validate.Range(min=1, max=100_000))
    pcs_per_generator = fields.Integer(strict=True, validate=validate.Range(min=1, max=1000))
    generator_kw = fields.Integer(strict=True, validate=validate.Range(min=1, max=10_000))


def _hours_text(value: str) -> None:
    start, sep, end = value.partition("-")
    if not sep:
        raise ValidationError(f"{value!r} is not HH:MM-HH:MM")
    for part in (start, end):
        hours, colon, minutes = part.strip().partition(":")
        if not colon or not hours.isdigit() or not minutes.isdigit():
            raise ValidationError(f"{value!r} is not HH:MM-HH:MM")
        if int(hours) * 60 + int(minutes) > 24 * 60 or int(minutes) >= 60 or int(minutes) % 30:
            raise ValidationError(f"{value!r}: times are on the half-hour grid, 00:00 to 24:00")


class CampaignRequestSchema(Schema):
    """A promotion to plan (大促): phases, volume drivers, the order's service target, shifts, site ratios."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    festival_day = fields.Date(required=True)
    last_year_festival_day = fields.Date(metadata={"description": "default: the same date a year before"})
    phases = fields.List(fields.Nested(PhaseSchema), required=True, validate=validate.Length(min=1, max=10))
    growth = fields.Float(
        load_default=1.0,
        validate=validate.Range(min=0.01, max=100),
        metadata={"description": "this year's volume ÷ last year's, for phases without their own volume"},
    )
    bot_share = fields.Nested(ChannelShareSchema, metadata={"description": "share the bot resolves alone"})
    split = fields.Nested(SplitSchema)
    service = fields.Nested(ServiceTargetsSchema)
    method = fields.String(load_default="erlang", validate=validate.OneOf(("erlang", "simple", "max")))
    per_hour = fields.Float(
        validate=validate.Range(min=1, max=10_000),
        metadata={"description": "the simple rule's consultations per agent-hour (seed: 100)"},
    )
    own_agents = fields.Nested(ChannelCountSchema, metadata={"description": "the shop's own agents on duty"})
    triage_share = fields.Float(validate=validate.Range(min=0, max=1))
    hours = fields.Dict(
        keys=fields.String(validate=validate.OneOf(PHASE_NAMES)),
        values=fields.String(validate=_hours_text),
        metadata={"description": 'service hours per phase, e.g. {"festival": "00:00-24:00"}'},
    )
    shifts = fields.Nested(ShiftPatternSchema)
    site = fields.Nested(SiteRatiosSchema)


class CampaignSchema(Schema):
    id = fields.String()
    project_id = fields.String()
    name = fields.String()
    festival_day = fields.Date()
    last_year_festival_day = fields.Date()
    phases = fields.List(fields.Dict())
    parameters = fields.Dict()
    created_by = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


CampaignPage = page_response_schema(CampaignSchema, "CampaignPage")


class PlanRequestSchema(Schema):
    publish = fields.Boolean(load_default=False)


class PlanWarningSchema(Schema):
    rule = fields.String()
    severity = fields.String(metadata={"description": "high | medium"})
    message = fields.String()


class PlanSchema(Schema):
    id = fields.String()
    campaign_id = fields.String()
    project_id = fields.String()
    version = fields.Integer()
    status = fields.String(metadata={"description": "draft | published"})
    date_from = fields.Date()
    date_to = fields.Date()
    method = fields.String()
    roster_id = fields.String(allow_none=True)
    required_agents = fields.Integer()
    available_agents = fields.Integer()
    gap = fields.Integer()
    peak_agents = fields.Integer()
    summary = fields.Dict()
    warnings = fields.List(fields.Nested(PlanWarningSchema))
    created_by = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    published_at = fields.AwareDateTime(allow_none=True)


PlanPage = page_response_schema(PlanSchema, "PlanPage")


class PlanIntervalArgsSchema(PageArgsSchema):
    date = fields.Date()
    channel = fields.String(validate=validate.OneOf(("presale", "aftersale")))


class PlanIntervalSchema(Schema):
    date = fields.Date()
    time = fields.String()
    channel = fields.String()
    phase = fields.String()
    last_year = fields.Float()
    forecast = fields.Float()
    bot = fields.Float()
    traffic = fields.Float(metadata={"description": "Erlangs"})
    erlang_agents = fields.Integer()
    simple_agents = fields.Integer()
    own_agents = fields.Integer()
    required = fields.Integer()
    service_level = fields.Float()
    occupancy = fields.Float()


PlanIntervalPage = page_response_schema(PlanIntervalSchema, "PlanIntervalPage")


class CoverageArgsSchema(PageArgsSchema):
    date = fields.Date()
    skill = fields.String(validate=validate.OneOf(PLAN_SKILLS))
    short = fields.Boolean(metadata={"description": "true: only intervals short of agents"})


class CoverageRowSchema(Schema):
    date = fields.Date()
    time = fields.String()
    skill = fields.String()
    required = fields.Integer()
    scheduled = fields.Integer()
    short = fields.Integer()
    reasons = fields.List(fields.String())
    detail = fields.String(allow_none=True)


CoveragePage = page_response_schema(CoverageRowSchema, "CoveragePage")


class SiteLineSchema(Schema):
    item = fields.String()
    quantity = fields.Raw(metadata={"description": "a count, or a range such as 100–200"})
    unit = fields.String()
    basis = fields.String()


class SitePlanSchema(Schema):
    plan_id = fields.String()
    peak_agents = fields.Integer()
    lines = fields.List(fields.Nested(SiteLineSchema))


class PoolMemberUpdateSchema(Schema):
    part_time = fields.Boolean(
        required=True, metadata={"description": "兼职: short shifts, pre-sales or after-sales triage only"}
    )
