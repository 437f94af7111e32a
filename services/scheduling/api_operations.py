"""The day-of-operation API under /api/v1: availability, leave, swaps, open shifts, clock-in/out, attendance
confirmation, the live status board and a project's operation settings. Thin views over the use cases."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_smorest import Blueprint

from services.scheduling import attendance, availability, leave, swaps
from services.scheduling.api import cfg
from services.scheduling.operations_schemas import (
    AttendanceDayArgsSchema,
    AttendanceDaySchema,
    AttendanceSchema,
    AvailabilityExceptionSchema,
    AvailabilitySchema,
    ClaimSchema,
    ClockSchema,
    ConfirmDayResultSchema,
    ConfirmDaySchema,
    ConfirmSchema,
    DecisionSchema,
    LeaveArgsSchema,
    LeavePage,
    LeaveRequestSchema,
    LeaveSchema,
    OpenShiftArgsSchema,
    OpenShiftListSchema,
    OpenShiftPage,
    OpenShiftSchema,
    OperationSettingsOutSchema,
    OperationSettingsSchema,
    PublishOpenShiftsSchema,
    StatusArgsSchema,
    StatusBoardSchema,
    SwapArgsSchema,
    SwapOfferSchema,
    SwapPage,
    SwapSchema,
    WeeklyAvailabilitySchema,
)
from services.scheduling.queries import agent_scope, project_for
from shared.auth import ensure_self_or_roles, roles_required
from shared.errors import ValidationFailed
from shared.web import current_uow, idempotent, keep_on_refusal, transactional
from shared.workdays import today_shanghai

blp = Blueprint(
    "scheduling-operations",
    __name__,
    url_prefix="/api/v1",
    description="The day of operation: availability, leave, swaps, open shifts, attendance, live status",
)

#: who runs the day: approves leave and swaps, confirms attendance, watches the board
SUPERVISORS = ("vendor", "supervisor")


# --- availability ---------------------------------------------------------------------------------------


@blp.route("/agents/<agent_id>/availability")
@roles_required("agent", *SUPERVISORS)
@blp.response(200, AvailabilitySchema)
def get_availability(agent_id: str) -> dict[str, Any]:
    """An agent's declared availability: the weekly pattern and the exceptions from today on"""
    ensure_self_or_roles(agent_id, *SUPERVISORS)
    return availability.availability_view(current_uow(), agent_id)


@blp.route("/agents/<agent_id>/availability", methods=["PUT"])
@transactional
@roles_required("agent", *SUPERVISORS)
@blp.arguments(WeeklyAvailabilitySchema)
@blp.response(200, AvailabilitySchema)
def put_availability(data: dict[str, Any], agent_id: str) -> dict[str, Any]:
    """Declare the weekly pattern (可上班时间); rosters, swaps and claims keep within it"""
    ensure_self_or_roles(agent_id, *SUPERVISORS)
    return availability.set_weekly(current_uow(), agent_id, data["weekly"])


@blp.route("/agents/<agent_id>/availability/exceptions", methods=["PUT"])
@transactional
@roles_required("agent", *SUPERVISORS)
@blp.arguments(AvailabilityExceptionSchema)
@blp.response(200, AvailabilitySchema)
def put_availability_exception(data: dict[str, Any], agent_id: str) -> dict[str, Any]:
    """Declare one date apart from the pattern (no windows: not available that day)"""
    ensure_self_or_roles(agent_id, *SUPERVISORS)
    return availability.set_exception(
        current_uow(), agent_id, data["date"], data["windows"], data.get("note")
    )


@blp.route("/agents/<agent_id>/availability/exceptions/<date>", methods=["DELETE"])
@transactional
@roles_required("agent", *SUPERVISORS)
@blp.response(204)
def delete_availability_exception(agent_id: str, date: str) -> None:
    """Remove a date's exception: the weekly pattern applies again"""
    ensure_self_or_roles(agent_id, *SUPERVISORS)
    try:
        day = dt.date.fromisoformat(date)
    except ValueError:
        raise ValidationFailed({"date": ["must be a date such as 2026-11-11"]}) from None
    availability.clear_exception(current_uow(), agent_id, day)


# --- leave ----------------------------------------------------------------------------------------------


@blp.route("/leave-requests")
@roles_required("agent", *SUPERVISORS)
@blp.arguments(LeaveArgsSchema, location="query")
@blp.response(200, LeavePage)
def list_leave(args: dict[str, Any]) -> dict[str, Any]:
    """Leave requests newest first (an agent sees its own); filter by status, agent or project"""
    return leave.leave_requests(current_uow(), args)


@blp.route("/leave-requests", methods=["POST"])
@idempotent
@roles_required("agent", *SUPERVISORS)
@blp.arguments(LeaveRequestSchema)
@blp.response(201, LeaveSchema)
def create_leave(data: dict[str, Any]) -> dict[str, Any]:
    """Ask for whole days off (请假) with a reason; a supervisor decides"""
    return leave.request_leave(current_uow(), data)


@blp.route("/leave-requests/<leave_id>")
@roles_required("agent", *SUPERVISORS)
@blp.response(200, LeaveSchema)
def get_leave(leave_id: str) -> dict[str, Any]:
    return leave.get_leave(current_uow(), leave_id)


@blp.route("/leave-requests/<leave_id>/decision", methods=["POST"])
@idempotent
@roles_required(*SUPERVISORS)
@blp.arguments(DecisionSchema)
@blp.response(200, LeaveSchema)
def decide_leave(data: dict[str, Any], leave_id: str) -> dict[str, Any]:
    """Approve (the agent's shifts go to reserve agents or become open shifts) or refuse"""
    return leave.decide_leave(current_uow(), leave_id, data["approve"], data.get("note"), cfg())


@blp.route("/leave-requests/<leave_id>/cancel", methods=["POST"])
@transactional
@roles_required("agent", *SUPERVISORS)
@blp.response(200, LeaveSchema)
def cancel_leave(leave_id: str) -> dict[str, Any]:
    """Withdraw a pending request (an agent), or cancel an approved one (a supervisor)"""
    return leave.cancel_leave(current_uow(), leave_id)


# --- swaps ----------------------------------------------------------------------------------------------


@blp.route("/projects/<project_id>/swaps")
@roles_required("agent", *SUPERVISORS)
@blp.arguments(SwapArgsSchema, location="query")
@blp.response(200, SwapPage)
def list_swaps(args: dict[str, Any], project_id: str) -> dict[str, Any]:
    """Swap offers newest first; an agent sees its own, those offered to it, and those open to anyone"""
    agent_scope(current_uow(), project_id)
    return swaps.swaps(current_uow(), project_id, args)


@blp.route("/projects/<project_id>/swaps", methods=["POST"])
@idempotent
@roles_required("agent", *SUPERVISORS)
@blp.arguments(SwapOfferSchema)
@blp.response(201, SwapSchema)
def offer_swap(data: dict[str, Any], project_id: str) -> dict[str, Any]:
    """Offer one's shift on a date (换班) to a colleague or to anyone"""
    agent_scope(current_uow(), project_id)
    return swaps.offer_swap(current_uow(), project_id, data, cfg())


@blp.route("/projects/<project_id>/swaps/<swap_id>")
@roles_required("agent", *SUPERVISORS)
@blp.response(200, SwapSchema)
def get_swap(project_id: str, swap_id: str) -> dict[str, Any]:
    agent_scope(current_uow(), project_id)
    return swaps.get_swap(current_uow(), project_id, swap_id)


@blp.route("/projects/<project_id>/swaps/<swap_id>/accept", methods=["POST"])
@transactional
@roles_required("agent")
@blp.response(200, SwapSchema)
def accept_swap(project_id: str, swap_id: str) -> dict[str, Any]:
    """Take an offered shift (the labour rules are checked now and again at approval)"""
    agent_scope(current_uow(), project_id)
    return swaps.accept_swap(current_uow(), project_id, swap_id, cfg())


@blp.route("/projects/<project_id>/swaps/<swap_id>/decision", methods=["POST"])
@transactional
@roles_required(*SUPERVISORS)
@blp.arguments(DecisionSchema)
@blp.response(200, SwapSchema)
def decide_swap(data: dict[str, Any], project_id: str, swap_id: str) -> dict[str, Any]:
    """Approve (every labour rule re-checked: a breach refuses the swap, 409 naming the rule) or refuse"""
    # a refusal by a rule is kept on the swap (status refused, the rule) as well as answered
    keep_on_refusal()
    return swaps.decide_swap(current_uow(), project_id, swap_id, data["approve"], data.get("note"), cfg())


@blp.route("/projects/<project_id>/swaps/<swap_id>/cancel", methods=["POST"])
@transactional
@roles_required("agent", *SUPERVISORS)
@blp.response(200, SwapSchema)
def cancel_swap(project_id: str, swap_id: str) -> dict[str, Any]:
    agent_scope(current_uow(), project_id)
    return swaps.cancel_swap(current_uow(), project_id, swap_id)


# --- open shifts ----------------------------------------------------------------------------------------


@blp.route("/projects/<project_id>/open-shifts")
@roles_required("agent", *SUPERVISORS)
@blp.arguments(OpenShiftArgsSchema, location="query")
@blp.response(200, OpenShiftPage)
def list_open_shifts(args: dict[str, Any], project_id: str) -> dict[str, Any]:
    """Open shifts by date (default: open ones); an agent's list says whether it may claim each"""
    agent_scope(current_uow(), project_id)
    return swaps.open_shifts(current_uow(), project_id, args, cfg())


@blp.route("/projects/<project_id>/open-shifts", methods=["POST"])
@transactional
@roles_required(*SUPERVISORS)
@blp.arguments(PublishOpenShiftsSchema)
@blp.response(200, OpenShiftListSchema)
def publish_open_shifts(data: dict[str, Any], project_id: str) -> dict[str, Any]:
    """Publish every uncovered shift (gaps, surges) from today on in the range as an open shift"""
    return swaps.publish_open_shifts(current_uow(), project_id, data["from_"], data["to"], cfg())


@blp.route("/projects/<project_id>/open-shifts/<open_shift_id>/claim", methods=["POST"])
@idempotent
@roles_required("agent")
@blp.response(201, ClaimSchema)
def claim_open_shift(project_id: str, open_shift_id: str) -> dict[str, Any]:
    """Claim a place on an open shift, first come (409 when filled or a labour rule forbids it)"""
    agent_scope(current_uow(), project_id)
    return swaps.claim_open_shift(current_uow(), project_id, open_shift_id, cfg())


@blp.route("/projects/<project_id>/open-shifts/<open_shift_id>/close", methods=["POST"])
@transactional
@roles_required(*SUPERVISORS)
@blp.response(200, OpenShiftSchema)
def close_open_shift(project_id: str, open_shift_id: str) -> dict[str, Any]:
    """Withdraw an open shift's remaining places"""
    return swaps.close_open_shift(current_uow(), project_id, open_shift_id)


# --- attendance -----------------------------------------------------------------------------------------


@blp.route("/projects/<project_id>/attendance/clock-in", methods=["POST"])
@transactional
@roles_required("agent", *SUPERVISORS)
@blp.arguments(ClockSchema)
@blp.response(200, AttendanceSchema)
def clock_in(data: dict[str, Any], project_id: str) -> dict[str, Any]:
    """Clock in (打卡上班) to the shift running now or starting within the hour"""
    agent_scope(current_uow(), project_id)
    return attendance.clock_in(current_uow(), project_id, data.get("agent_id"), cfg())


@blp.route("/projects/<project_id>/attendance/clock-out", methods=["POST"])
@transactional
@roles_required("agent", *SUPERVISORS)
@blp.arguments(ClockSchema)
@blp.response(200, AttendanceSchema)
def clock_out(data: dict[str, Any], project_id: str) -> dict[str, Any]:
    """Clock out (打卡下班): early leave past the tolerance is recorded"""
    agent_scope(current_uow(), project_id)
    return attendance.clock_out(current_uow(), project_id, data.get("agent_id"), cfg())


@blp.route("/projects/<project_id>/attendance")
@roles_required("agent", "merchant", "finance", *SUPERVISORS)
@blp.arguments(AttendanceDayArgsSchema, location="query")
@blp.response(200, AttendanceDaySchema)
def day_attendance(args: dict[str, Any], project_id: str) -> dict[str, Any]:
    """A day's attendance records (an agent sees its own)"""
    uow = current_uow()
    agent_scope(uow, project_id)
    day = args.get("date") or today_shanghai(uow.now())
    return attendance.day_records(uow, project_id, day, cfg())


@blp.route("/projects/<project_id>/attendance/<record_id>/confirm", methods=["POST"])
@idempotent
@roles_required(*SUPERVISORS)
@blp.arguments(ConfirmSchema)
@blp.response(200, AttendanceSchema)
def confirm_attendance(data: dict[str, Any], project_id: str, record_id: str) -> dict[str, Any]:
    """Confirm a record into the timesheet, or correct its hours with a reason (kept)"""
    return attendance.confirm_record(current_uow(), project_id, record_id, data, cfg())


@blp.route("/projects/<project_id>/attendance/confirm", methods=["POST"])
@idempotent
@roles_required(*SUPERVISORS)
@blp.arguments(ConfirmDaySchema)
@blp.response(200, ConfirmDayResultSchema)
def confirm_day(data: dict[str, Any], project_id: str) -> dict[str, Any]:
    """Confirm every finished, unconfirmed record of a day with the clocked hours"""
    return attendance.confirm_day(current_uow(), project_id, data["date"], cfg())


@blp.route("/projects/<project_id>/status")
@roles_required("merchant", *SUPERVISORS)
@blp.arguments(StatusArgsSchema, location="query")
@blp.response(200, StatusBoardSchema)
def status_board(args: dict[str, Any], project_id: str) -> dict[str, Any]:
    """Live status (实时监控): who should be on duty vs clocked in, gaps, today's adherence per agent"""
    return attendance.status_board(current_uow(), project_id, args.get("at"), cfg())


@blp.route("/projects/<project_id>/operation-settings")
@roles_required("merchant", *SUPERVISORS)
@blp.response(200, OperationSettingsOutSchema)
def get_operation_settings(project_id: str) -> dict[str, Any]:
    """The clock-in tolerance and the agents' settlement authority"""
    return attendance.settings_view(project_for(current_uow(), project_id), cfg())


@blp.route("/projects/<project_id>/operation-settings", methods=["PATCH"])
@transactional
@roles_required(*SUPERVISORS)
@blp.arguments(OperationSettingsSchema)
@blp.response(200, OperationSettingsOutSchema)
def patch_operation_settings(data: dict[str, Any], project_id: str) -> dict[str, Any]:
    """Set the clock-in tolerance (minutes) and the settlement authority (amount, % of the order)"""
    return attendance.update_settings(current_uow(), project_id, data, cfg())
