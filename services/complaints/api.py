"""The complaints API (/api/v1): thin flask-smorest views over ``service``.

Time-dependent rules read the clock through ``now()``: the app config key ``COMPLAINTS_CLOCK`` (a
callable returning an aware UTC datetime) replaces the wall clock in tests.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from services.complaints import service
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
from shared.auth import current_principal, roles_required
from shared.db import utcnow
from shared.http import db_session, get_settings
from shared.pagination import paginate
from shared.web.idempotency import idempotent

blp = Blueprint(
    "complaints",
    __name__,
    url_prefix="/api/v1",
    description="Numbered complaints (投诉), escalation agent → supervisor → manager, promised times, "
    "penalties (考核).",
)

CLOCK_KEY = "COMPLAINTS_CLOCK"
READERS = ("agent", "supervisor", "vendor", "merchant")
#: who records a complaint: the agent who received it, the vendor's side, or the merchant for its shop
INTAKE = ("agent", "supervisor", "vendor", "merchant")
WORKERS = ("agent", "supervisor", "vendor")
HANDLERS = ("supervisor", "vendor")


def now() -> dt.datetime:
    clock = current_app.config.get(CLOCK_KEY)
    return clock() if clock is not None else utcnow()


def _actor() -> service.Actor:
    principal = current_principal()
    return service.Actor(sub=principal.sub, role=principal.role, merchant_id=principal.merchant_id)


def _policy() -> Policy:
    return service.load_policy(get_settings().extra)


def _detail(complaint: Any, at: dt.datetime) -> dict[str, Any]:
    return service.complaint_detail(db_session(), complaint, at)


# --- complaints -------------------------------------------------------------------------------------------


@blp.route("/complaints")
class Complaints(MethodView):
    @roles_required(*READERS)
    @blp.arguments(ComplaintListArgs, location="query")
    @blp.response(200, ComplaintPage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List complaints, newest first (filters: project, status, level, category, severity, channel,
        agent, assignee, breached, number, created from/to). Merchants see their own projects'; agents
        those assigned to or recorded by them."""
        session = db_session()
        page = paginate(session, service.list_query(_actor(), args), args["page"], args["per_page"])
        return {**page.__dict__, "items": service.complaint_views(session, page.items, now())}

    @idempotent
    @roles_required(*INTAKE)
    @blp.arguments(ComplaintIn)
    @blp.response(201, ComplaintDetailOut)
    def post(self, values: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Record and number a complaint (TS20261111-0001); routes it (about staff → supervisor, else the
        agent level), assigns it and sets the promised time (given, or from the severity policy)"""
        session = db_session()
        at = now()
        complaint = service.create_complaint(session, values, _actor(), _policy(), at)
        session.commit()
        return _detail(complaint, at), 201, {"Location": f"/api/v1/complaints/{complaint.id}"}


@blp.route("/complaints/stats")
class ComplaintStats(MethodView):
    @roles_required("supervisor", "vendor", "merchant")
    @blp.arguments(StatsArgs, location="query")
    @blp.response(200, StatsOut)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Counts by category, level and status; share resolved within the promise; average and p90 time
        to first response and to resolution; upheld complaints and penalties per agent"""
        return service.stats(db_session(), _actor(), args)


@blp.route("/complaints/<complaint_key>")
class ComplaintItem(MethodView):
    @roles_required(*READERS)
    @blp.response(200, ComplaintDetailOut)
    def get(self, complaint_key: str) -> dict[str, Any]:
        """One complaint by id or by number, with its full history"""
        session = db_session()
        return _detail(service.get_complaint(session, complaint_key, _actor()), now())


@blp.route("/complaints/<complaint_key>/notes")
class ComplaintNotes(MethodView):
    @idempotent
    @roles_required(*WORKERS, "merchant")
    @blp.arguments(NoteIn)
    @blp.response(201, ComplaintDetailOut)
    def post(self, values: dict[str, Any], complaint_key: str) -> tuple[dict[str, Any], int]:
        """Add a note: internal, or progress told to the customer (the first one meets the first-response
        deadline; with new_due_at it moves the promised time)"""
        session = db_session()
        at = now()
        complaint = service.add_note(session, complaint_key, values, _actor(), _policy(), at)
        session.commit()
        return _detail(complaint, at), 201


@blp.route("/complaints/<complaint_key>/status")
class ComplaintStatus(MethodView):
    @idempotent
    @roles_required(*WORKERS)
    @blp.arguments(StatusIn)
    @blp.response(200, ComplaintDetailOut)
    def post(self, values: dict[str, Any], complaint_key: str) -> dict[str, Any]:
        """Start work (in_progress) or wait for the customer (waiting_customer: the clock pauses)"""
        session = db_session()
        at = now()
        complaint = service.change_status(
            session, complaint_key, values["status"], values.get("reason"), _actor(), at
        )
        session.commit()
        return _detail(complaint, at)


@blp.route("/complaints/<complaint_key>/escalate")
class ComplaintEscalate(MethodView):
    @idempotent
    @roles_required(*WORKERS, "merchant")
    @blp.arguments(EscalateIn)
    @blp.response(200, ComplaintDetailOut)
    def post(self, values: dict[str, Any], complaint_key: str) -> dict[str, Any]:
        """Escalate one level (agent → supervisor → manager) with a reason; reassigns and emits
        complaint.escalated"""
        session = db_session()
        at = now()
        complaint = service.escalate(
            session, complaint_key, values["reason"], values.get("assignee"), _actor(), _policy(), at
        )
        session.commit()
        return _detail(complaint, at)


@blp.route("/complaints/<complaint_key>/assign")
class ComplaintAssign(MethodView):
    @idempotent
    @roles_required(*HANDLERS)
    @blp.arguments(AssignIn)
    @blp.response(200, ComplaintDetailOut)
    def post(self, values: dict[str, Any], complaint_key: str) -> dict[str, Any]:
        """Hand the complaint to another named user at the same level"""
        session = db_session()
        at = now()
        complaint = service.assign(
            session, complaint_key, values["assignee"], values.get("reason"), _actor(), at
        )
        session.commit()
        return _detail(complaint, at)


@blp.route("/complaints/<complaint_key>/resolve")
class ComplaintResolve(MethodView):
    @idempotent
    @roles_required(*WORKERS)
    @blp.arguments(ResolveIn)
    @blp.response(200, ComplaintDetailOut)
    def post(self, values: dict[str, Any], complaint_key: str) -> dict[str, Any]:
        """Resolve: the resolution, whether the agent was at fault and the penalty (supervisor or manager
        only, at most the cap). At fault → complaint.upheld for billing and training"""
        session = db_session()
        at = now()
        complaint = service.resolve(session, complaint_key, values, _actor(), _policy(), at)
        session.commit()
        return _detail(complaint, at)


@blp.route("/complaints/<complaint_key>/close")
class ComplaintClose(MethodView):
    @idempotent
    @roles_required(*WORKERS, "merchant")
    @blp.arguments(CloseIn, required=False)
    @blp.response(200, ComplaintDetailOut)
    def post(self, values: dict[str, Any], complaint_key: str) -> dict[str, Any]:
        """Close a resolved complaint: the customer accepted (otherwise it closes itself after 7 days)"""
        session = db_session()
        at = now()
        complaint = service.close(session, complaint_key, (values or {}).get("note"), _actor(), at)
        session.commit()
        return _detail(complaint, at)


@blp.route("/complaints/<complaint_key>/reopen")
class ComplaintReopen(MethodView):
    @idempotent
    @roles_required(*WORKERS, "merchant")
    @blp.arguments(ReopenIn)
    @blp.response(200, ComplaintDetailOut)
    def post(self, values: dict[str, Any], complaint_key: str) -> dict[str, Any]:
        """Reopen a resolved complaint within 7 days of its resolution, under a new promise"""
        session = db_session()
        at = now()
        complaint = service.reopen(
            session, complaint_key, values["reason"], values.get("due_at"), _actor(), _policy(), at
        )
        session.commit()
        return _detail(complaint, at)


# --- project staff ----------------------------------------------------------------------------------------


@blp.route("/projects/<project_id>/staff")
class ProjectStaffItem(MethodView):
    @roles_required(*HANDLERS)
    @blp.response(200, StaffOut)
    def get(self, project_id: str) -> dict[str, Any]:
        """The project's supervisors (项目主管) and managers, who take complaints at their level"""
        return service.get_staff(db_session(), project_id)

    @idempotent
    @roles_required("vendor")
    @blp.arguments(StaffIn)
    @blp.response(200, StaffOut)
    def put(self, values: dict[str, Any], project_id: str) -> dict[str, Any]:
        """Replace the project's supervisor and manager lists (the vendor manages them)"""
        session = db_session()
        staff = service.put_staff(session, project_id, values)
        session.commit()
        return staff


@blp.route("/my/projects")
class MyStaffedProjects(MethodView):
    @roles_required(*HANDLERS)
    @blp.response(200, StaffedProjectsOut)
    def get(self) -> dict[str, Any]:
        """The projects that list the caller (their token's sub) as supervisor or manager, with the number
        of complaints still to be worked in each"""
        return service.staffed_projects(db_session(), current_principal().sub)
