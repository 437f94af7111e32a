"""The complaints API (/api/v1): thin flask-smorest views. Each parses, calls a use case (``intake``,
``workflow``, ``staff``) or a query (``queries``) with the request's unit of work, and answers; write views
commit through ``@idempotent``.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from services.complaints import intake, queries, staff, workflow
from services.complaints.config import load_settings
from services.complaints.domain import Policy
from services.complaints.schemas import (
    AssignIn,
    CloseIn,
    ComplaintDetailOut,
    ComplaintIn,
    ComplaintListArgs,
    ComplaintPage,
    EscalateIn,
    NoteIn,
    ReopenIn,
    ResolveIn,
    StaffedProjectsOut,
    StaffIn,
    StaffOut,
    StatsArgs,
    StatsOut,
    StatusIn,
)
from shared.auth import roles_required
from shared.pagination import Page
from shared.web import current_uow, get_settings, idempotent

blp = Blueprint(
    "complaints",
    __name__,
    url_prefix="/api/v1",
    description="Numbered complaints (投诉), escalation agent → supervisor → manager, promised times, "
    "penalties (考核).",
)

READERS = ("agent", "supervisor", "vendor", "merchant")
#: who records a complaint: the agent who received it, the vendor's side, or the merchant for its shop
INTAKE = ("agent", "supervisor", "vendor", "merchant")
WORKERS = ("agent", "supervisor", "vendor")
HANDLERS = ("supervisor", "vendor")


def _policy() -> Policy:
    return load_settings(get_settings().extra).policy


# --- complaints -------------------------------------------------------------------------------------------


@blp.route("/complaints")
class Complaints(MethodView):
    @roles_required(*READERS)
    @blp.arguments(ComplaintListArgs, location="query")
    @blp.response(200, ComplaintPage)
    def get(self, args: dict[str, Any]) -> Page:
        """List complaints, newest first (filters: project, status, level, category, severity, channel,
        agent, assignee, breached, number, created from/to). Merchants see their own projects'; agents
        those assigned to or recorded by them. Pass `next_after` back as `after` for the next page."""
        return queries.list_complaints(current_uow(), args)

    @idempotent
    @roles_required(*INTAKE)
    @blp.arguments(ComplaintIn)
    @blp.response(201, ComplaintDetailOut)
    def post(self, values: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Record and number a complaint (TS20261111-0001); routes it (about staff → supervisor, else the
        agent level), assigns it and sets the promised time (given, or from the severity policy)"""
        uow = current_uow()
        complaint = intake.record_complaint(uow, values, _policy())
        return (
            queries.complaint_detail(uow, complaint),
            201,
            {"Location": f"/api/v1/complaints/{complaint.id}"},
        )


@blp.route("/complaints/stats")
class ComplaintStats(MethodView):
    @roles_required("supervisor", "vendor", "merchant")
    @blp.arguments(StatsArgs, location="query")
    @blp.response(200, StatsOut)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Counts by category, level and status; share resolved within the promise; average and p90 time
        to first response and to resolution; upheld complaints and penalties per agent"""
        return queries.stats(current_uow(), args)


@blp.route("/complaints/<complaint_key>")
class ComplaintItem(MethodView):
    @roles_required(*READERS)
    @blp.response(200, ComplaintDetailOut)
    def get(self, complaint_key: str) -> dict[str, Any]:
        """One complaint by id or by number, with its full history"""
        return queries.complaint_detail_by_key(current_uow(), complaint_key)


@blp.route("/complaints/<complaint_key>/notes")
class ComplaintNotes(MethodView):
    @idempotent
    @roles_required(*WORKERS, "merchant")
    @blp.arguments(NoteIn)
    @blp.response(201, ComplaintDetailOut)
    def post(self, values: dict[str, Any], complaint_key: str) -> tuple[dict[str, Any], int]:
        """Add a note: internal, or progress told to the customer (the first one meets the first-response
        deadline; with new_due_at it moves the promised time)"""
        uow = current_uow()
        complaint = workflow.add_note(uow, complaint_key, values)
        return queries.complaint_detail(uow, complaint), 201


@blp.route("/complaints/<complaint_key>/status")
class ComplaintStatus(MethodView):
    @idempotent
    @roles_required(*WORKERS)
    @blp.arguments(StatusIn)
    @blp.response(200, ComplaintDetailOut)
    def post(self, values: dict[str, Any], complaint_key: str) -> dict[str, Any]:
        """Start work (in_progress) or wait for the customer (waiting_customer: the clock pauses)"""
        uow = current_uow()
        complaint = workflow.change_status(uow, complaint_key, values["status"], values.get("reason"))
        return queries.complaint_detail(uow, complaint)


@blp.route("/complaints/<complaint_key>/escalate")
class ComplaintEscalate(MethodView):
    @idempotent
    @roles_required(*WORKERS, "merchant")
    @blp.arguments(EscalateIn)
    @blp.response(200, ComplaintDetailOut)
    def post(self, values: dict[str, Any], complaint_key: str) -> dict[str, Any]:
        """Escalate one level (agent → supervisor → manager) with a reason; reassigns and emits
        complaint.escalated"""
        uow = current_uow()
        complaint = workflow.escalate(uow, complaint_key, values["reason"], values.get("assignee"), _policy())
        return queries.complaint_detail(uow, complaint)


@blp.route("/complaints/<complaint_key>/assign")
class ComplaintAssign(MethodView):
    @idempotent
    @roles_required(*HANDLERS)
    @blp.arguments(AssignIn)
    @blp.response(200, ComplaintDetailOut)
    def post(self, values: dict[str, Any], complaint_key: str) -> dict[str, Any]:
        """Hand the complaint to another named user at the same level"""
        uow = current_uow()
        complaint = workflow.assign(uow, complaint_key, values["assignee"], values.get("reason"))
        return queries.complaint_detail(uow, complaint)


@blp.route("/complaints/<complaint_key>/resolve")
class ComplaintResolve(MethodView):
    @idempotent
    @roles_required(*WORKERS)
    @blp.arguments(ResolveIn)
    @blp.response(200, ComplaintDetailOut)
    def post(self, values: dict[str, Any], complaint_key: str) -> dict[str, Any]:
        """Resolve: the resolution, whether the agent was at fault and the penalty (supervisor or manager
        only, at most the cap). At fault → complaint.upheld for billing and training"""
        uow = current_uow()
        complaint = workflow.resolve(uow, complaint_key, values, _policy())
        return queries.complaint_detail(uow, complaint)


@blp.route("/complaints/<complaint_key>/close")
class ComplaintClose(MethodView):
    @idempotent
    @roles_required(*WORKERS, "merchant")
    @blp.arguments(CloseIn, required=False)
    @blp.response(200, ComplaintDetailOut)
    def post(self, values: dict[str, Any], complaint_key: str) -> dict[str, Any]:
        """Close a resolved complaint: the customer accepted (otherwise it closes itself after 7 days)"""
        uow = current_uow()
        complaint = workflow.close(uow, complaint_key, (values or {}).get("note"))
        return queries.complaint_detail(uow, complaint)


@blp.route("/complaints/<complaint_key>/reopen")
class ComplaintReopen(MethodView):
    @idempotent
    @roles_required(*WORKERS, "merchant")
    @blp.arguments(ReopenIn)
    @blp.response(200, ComplaintDetailOut)
    def post(self, values: dict[str, Any], complaint_key: str) -> dict[str, Any]:
        """Reopen a resolved complaint within 7 days of its resolution, under a new promise"""
        uow = current_uow()
        complaint = workflow.reopen(uow, complaint_key, values["reason"], values.get("due_at"), _policy())
        return queries.complaint_detail(uow, complaint)


# --- project staff ----------------------------------------------------------------------------------------


@blp.route("/projects/<project_id>/staff")
class ProjectStaffItem(MethodView):
    @roles_required(*HANDLERS)
    @blp.response(200, StaffOut)
    def get(self, project_id: str) -> dict[str, Any]:
        """The project's supervisors (项目主管) and managers, who take complaints at their level"""
        return queries.get_staff(current_uow(), project_id)

    @idempotent
    @roles_required("vendor")
    @blp.arguments(StaffIn)
    @blp.response(200, StaffOut)
    def put(self, values: dict[str, Any], project_id: str) -> dict[str, Any]:
        """Replace the project's supervisor and manager lists (the vendor manages them)"""
        return staff.put_staff(current_uow(), project_id, values)


@blp.route("/my/projects")
class MyStaffedProjects(MethodView):
    @roles_required(*HANDLERS)
    @blp.response(200, StaffedProjectsOut)
    def get(self) -> dict[str, Any]:
        """The projects that list the caller (their token's sub) as supervisor or manager, with the number
        of complaints still to be worked in each"""
        return queries.staffed_projects(current_uow())
