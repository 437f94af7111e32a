"""The on-duty desk's HTTP API under /api/v1: the duty rota (值班), its gaps, help requests (求助) and
all-hands for mass attrition (全员上岗). Thin views over ``duty``."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from services.scheduling import duty, queries
from services.scheduling.api import cfg
from services.scheduling.duty_schemas import (
    AllHandsArgsSchema,
    AllHandsInSchema,
    AllHandsPage,
    AllHandsSchema,
    DeskArgsSchema,
    DutyArgsSchema,
    DutyBatchSchema,
    DutyGapArgsSchema,
    DutyNowSchema,
    DutyShiftPage,
    DutyShiftSchema,
    DutyShiftsSchema,
    HelpAnswerSchema,
    HelpArgsSchema,
    HelpHandoverSchema,
    HelpRequestInSchema,
    HelpRequestPage,
    HelpRequestSchema,
    MyDutyArgsSchema,
    ProjectGapsSchema,
    VendorGapArgsSchema,
    VendorGapsSchema,
)
from shared.auth import roles_required
from shared.web import current_uow, idempotent, transactional

blp = Blueprint(
    "scheduling-duty",
    __name__,
    url_prefix="/api/v1",
    description="On-duty supervisor desk (值班), help requests (求助), all-hands (全员上岗)",
)

#: who manages the desk rota, answers help and declares all-hands
DESK = ("vendor", "supervisor")
#: who reads a project's rota (a merchant: its own projects)
ROTA_READERS = ("vendor", "supervisor", "trainer", "qa", "merchant")
#: everyone who may be on the rota reads their own duty
ON_ROTA = ("vendor", "supervisor", "trainer", "qa", "finance", "agent")


class DutyRemovalSchema(Schema):
    deleted = fields.Boolean(metadata={"description": "true: it had not begun and is gone"})
    shift = fields.Nested(
        DutyShiftSchema, allow_none=True, metadata={"description": "a shift in progress, now ending now"}
    )


# --- the rota -----------------------------------------------------------------------------------------------


@blp.route("/projects/<project_id>/duty")
class DutyResource(MethodView):
    @roles_required(*ROTA_READERS)
    @blp.arguments(DutyArgsSchema, location="query")
    @blp.response(200, DutyShiftPage)
    def get(self, args: dict[str, Any], project_id: str) -> dict[str, Any]:
        """The project's duty rota: desk shifts (值班主管) and, during an all-hands, agent duty

        By start day, from today for 31 days unless `from`/`to` say otherwise (at most 31 days).
        """
        uow = current_uow()
        return duty.duty_page(uow, queries.project_for(uow, project_id), args)

    @idempotent
    @roles_required(*DESK)
    @blp.arguments(DutyBatchSchema)
    @blp.response(201, DutyShiftsSchema)
    def post(self, data: dict[str, Any], project_id: str) -> dict[str, Any]:
        """Put supervisors on desk duty: one shift, a JSON array or `{shifts: [...]}`; all or none

        `end` at or before `start` runs past midnight (equal: 24 h). A supervisor may cover several
        projects at once but not the same project twice at overlapping times (409 `duty-overlap`).
        """
        uow = current_uow()
        queries.project_for(uow, project_id)
        rows = duty.add_duty_shifts(uow, project_id, data["shifts"])
        return {"items": [duty.shift_dict(r) for r in rows]}


@blp.route("/projects/<project_id>/duty/<duty_id>", methods=["DELETE"])
@transactional
@roles_required(*DESK)
@blp.response(200, DutyRemovalSchema)
def delete_duty(project_id: str, duty_id: str) -> dict[str, Any]:
    """Take a shift off the rota: a future one is deleted, one in progress ends now (kept), a finished one
    is kept (409 `duty-finished`)"""
    uow = current_uow()
    queries.project_for(uow, project_id)
    kept = duty.remove_duty_shift(uow, project_id, duty_id)
    return {"deleted": kept is None, "shift": kept}


@blp.route("/projects/<project_id>/duty/now")
@roles_required(*ROTA_READERS, "agent")
@blp.response(200, DutyNowSchema)
def duty_now(project_id: str) -> dict[str, Any]:
    """Who is on duty now: the supervisor help goes to, every desk shift now, agent duty, the next shift

    An agent may ask in a project whose pool it is in.
    """
    uow = current_uow()
    project = queries.project_for(uow, project_id)
    queries.agent_scope(uow, project_id)
    return duty.duty_now(uow, project)


@blp.route("/projects/<project_id>/duty/gaps")
@roles_required(*DESK, "merchant")
@blp.arguments(DutyGapArgsSchema, location="query")
@blp.response(200, ProjectGapsSchema)
def project_gaps(args: dict[str, Any], project_id: str) -> dict[str, Any]:
    """The project's service hours no desk shift covers, per day (default today; at most 31 days)"""
    uow = current_uow()
    return duty.project_gaps(uow, queries.project_for(uow, project_id), args)


@blp.route("/duty/gaps")
@roles_required(*DESK)
@blp.arguments(VendorGapArgsSchema, location="query")
@blp.response(200, VendorGapsSchema)
def vendor_gaps(args: dict[str, Any]) -> dict[str, Any]:
    """Every live project's rota gaps on one day (default today), the most uncovered first"""
    return duty.vendor_gaps(current_uow(), args)


@blp.route("/duty/mine")
@roles_required(*ON_ROTA)
@blp.arguments(MyDutyArgsSchema, location="query")
@blp.response(200, DutyShiftPage)
def my_duty(args: dict[str, Any]) -> dict[str, Any]:
    """The caller's own duty across projects: desk shifts and all-hands agent duty (their rota)"""
    return duty.my_duty_page(current_uow(), args)


# --- help requests (求助) ----------------------------------------------------------------------------------


@blp.route("/projects/<project_id>/help")
class HelpResource(MethodView):
    @roles_required(*DESK, "merchant", "agent")
    @blp.arguments(HelpArgsSchema, location="query")
    @blp.response(200, HelpRequestPage)
    def get(self, args: dict[str, Any], project_id: str) -> dict[str, Any]:
        """The project's help requests, newest first; `waiting_seconds` counts on while one is open

        An agent sees only its own; a merchant reads its own projects' requests.
        """
        uow = current_uow()
        return duty.help_page(uow, queries.project_for(uow, project_id), args)

    @idempotent
    @roles_required("agent")
    @blp.arguments(HelpRequestInSchema)
    @blp.response(201, HelpRequestSchema)
    def post(self, data: dict[str, Any], project_id: str) -> dict[str, Any]:
        """An agent asks the supervisor on duty for help: a question, a dispute, or a hand-over

        A dispute within the agent's settlement authority (the project's amount and % limits) is 409
        `within-authority`: the agent settles it alone. With nobody on duty the request is recorded with
        `supervisor_id` null and the vendor is alerted.
        """
        uow = current_uow()
        row = duty.ask_help(uow, queries.project_for(uow, project_id), data)
        return duty.help_dict(row, uow.now())


@blp.route("/projects/<project_id>/help/<help_id>")
@roles_required(*DESK, "merchant", "agent")
@blp.response(200, HelpRequestSchema)
def get_help(project_id: str, help_id: str) -> dict[str, Any]:
    """One help request (an agent: its own)"""
    uow = current_uow()
    return duty.help_detail(uow, queries.project_for(uow, project_id), help_id)


@blp.route("/projects/<project_id>/help/<help_id>/answer", methods=["POST"])
@idempotent
@roles_required(*DESK)
@blp.arguments(HelpAnswerSchema)
@blp.response(200, HelpRequestSchema)
def answer_help(data: dict[str, Any], project_id: str, help_id: str) -> dict[str, Any]:
    """Answer an open help request: `waited_seconds` = answered_at − requested_at (the response time)

    Any supervisor or the vendor may answer (the desk is a team); `answered_by_duty` says whether it was
    the supervisor the request was routed to. Answered once (409 `help-closed`).
    """
    uow = current_uow()
    queries.project_for(uow, project_id)
    return duty.help_dict(duty.answer_help(uow, project_id, help_id, data["answer"]), uow.now())


@blp.route("/projects/<project_id>/help/<help_id>/handover", methods=["POST"])
@idempotent
@roles_required(*DESK)
@blp.arguments(HelpHandoverSchema)
@blp.response(200, HelpRequestSchema)
def hand_over(data: dict[str, Any], project_id: str, help_id: str) -> dict[str, Any]:
    """Hand a complaint not about the agent to the party concerned (转交): warehouse, product, merchant or
    logistics; who and when are recorded. On an open request this is the response (the clock stops)."""
    uow = current_uow()
    queries.project_for(uow, project_id)
    row = duty.hand_over(uow, project_id, help_id, data["party"], data["note"])
    return duty.help_dict(row, uow.now())


@blp.route("/help")
@roles_required(*DESK)
@blp.arguments(DeskArgsSchema, location="query")
@blp.response(200, HelpRequestPage)
def desk_queue(args: dict[str, Any]) -> dict[str, Any]:
    """Help requests across projects, newest first: a desk covering several projects
    (`supervisor_id=me&status=open` for those routed to the caller)"""
    return duty.desk_page(current_uow(), args)


# --- all-hands (全员上岗) ----------------------------------------------------------------------------------


@blp.route("/projects/<project_id>/all-hands")
class AllHandsResource(MethodView):
    @roles_required(*DESK, "merchant")
    @blp.arguments(AllHandsArgsSchema, location="query")
    @blp.response(200, AllHandsPage)
    def get(self, args: dict[str, Any], project_id: str) -> dict[str, Any]:
        """The project's all-hands declarations, newest first"""
        uow = current_uow()
        return duty.all_hands_page(uow, queries.project_for(uow, project_id), args)

    @idempotent
    @roles_required(*DESK)
    @blp.arguments(AllHandsInSchema)
    @blp.response(201, AllHandsSchema)
    def post(self, data: dict[str, Any], project_id: str) -> dict[str, Any]:
        """Mass attrition: put staff below manager on agent duty, tell the merchant, ask recruitment once

        Only when departures exceed the reserve (agents present < ceil(1.5 × seats)); else 409
        `reserve-covers`. A `manager` in `staff` is 422. Each person gets one agent-duty entry a day on
        the rota (the project's service hours unless `start`/`end`); the merchant gets a `mass_attrition`
        alert; one `reserve.shortfall` asks for the real gap (active target − agents present).
        """
        uow = current_uow()
        queries.project_for(uow, project_id)
        row = duty.declare_all_hands(uow, project_id, data, cfg())
        return duty.all_hands_dict(uow.session, row)


def _end(project_id: str, all_hands_id: str) -> dict[str, Any]:
    uow = current_uow()
    queries.project_for(uow, project_id)
    row, removed = duty.end_all_hands(uow, project_id, all_hands_id)
    return duty.all_hands_dict(uow.session, row, removed)


@blp.route("/projects/<project_id>/all-hands/<all_hands_id>")
class OneAllHandsResource(MethodView):
    @roles_required(*DESK, "merchant")
    @blp.response(200, AllHandsSchema)
    def get(self, project_id: str, all_hands_id: str) -> dict[str, Any]:
        """One all-hands with its agent-duty entry count"""
        uow = current_uow()
        return duty.all_hands_detail(uow, queries.project_for(uow, project_id), all_hands_id)

    @transactional
    @roles_required(*DESK)
    @blp.response(200, AllHandsSchema)
    def delete(self, project_id: str, all_hands_id: str) -> dict[str, Any]:
        """End the all-hands (the same as POST …/end)"""
        return _end(project_id, all_hands_id)


@blp.route("/projects/<project_id>/all-hands/<all_hands_id>/end", methods=["POST"])
@transactional
@roles_required(*DESK)
@blp.response(200, AllHandsSchema)
def end_all_hands(project_id: str, all_hands_id: str) -> dict[str, Any]:
    """End the all-hands: future agent-duty entries come off the rota, one under way ends now"""
    return _end(project_id, all_hands_id)
