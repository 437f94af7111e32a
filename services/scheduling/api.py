"""The scheduling HTTP API under /api/v1: thin views over ``service.py``."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from services.scheduling import agenda, service
from services.scheduling.domain import SchedulingSettings
from services.scheduling.models import PoolAgent, Project, Surge
from services.scheduling.schemas import (
    BatchDepartureRequestSchema,
    DepartureRequestSchema,
    DepartureResultSchema,
    ExportQuerySchema,
    PoolArgsSchema,
    PoolSchema,
    RosterDetailSchema,
    RosterQuerySchema,
    RosterRequestSchema,
    RosterVersionPage,
    RosterViewSchema,
    StaffingRequestSchema,
    StaffingResultSchema,
    SurgeArgsSchema,
    SurgePage,
    SurgeRequestSchema,
    SurgeSchema,
    TimesheetArgsSchema,
    TimesheetBatchSchema,
    TimesheetExportArgsSchema,
    TimesheetPage,
    TimesheetResultSchema,
)
from shared.auth import (
    Principal,
    current_principal,
    ensure_self_or_roles,
    ensure_tenant_access,
    roles_required,
    tenant_scope,
)
from shared.errors import NotFound
from shared.http import db_session, get_settings
from shared.pagination import PageArgsSchema, paginate
from shared.tabular import export_response, export_responses
from shared.web.idempotency import idempotent
from shared.workdays import today_shanghai

blp = Blueprint("scheduling", __name__, url_prefix="/api/v1", description="Pool, rosters, surges, attrition")

_CFG_KEY = "scheduling.settings"
#: who may read a project's roster and pool (merchants: their own projects; agents: their own shifts)
READERS = ("vendor", "supervisor", "trainer", "finance", "merchant", "agent")
PLANNERS = ("vendor", "supervisor")


def cfg() -> SchedulingSettings:
    cached = current_app.extensions.get(_CFG_KEY)
    if cached is None:
        cached = SchedulingSettings.from_env(get_settings().extra)
        current_app.extensions[_CFG_KEY] = cached
    return cached


def _actor() -> str:
    p = current_principal()
    return f"{p.role}:{p.sub}"[:100]


def _project(project_id: str, *, for_update: bool = False) -> Project:
    """The project, or the same 404 for a missing one and another merchant's."""
    project = service.get_project(db_session(), project_id, for_update=for_update)
    ensure_tenant_access(project.merchant_id, detail=service.PROJECT_NOT_FOUND)
    return project


def _agent_scope(project_id: str) -> str | None:
    """An agent's token sees only its own shifts, and only in a project whose pool it belongs to."""
    principal: Principal = current_principal()
    if principal.role != "agent":
        return None
    member = (
        db_session()
        .scalars(
            select(PoolAgent.id).where(
                PoolAgent.project_id == project_id, PoolAgent.agent_id == principal.sub
            )
        )
        .first()
    )
    if member is None:
        raise NotFound(service.PROJECT_NOT_FOUND)
    return principal.sub


# --- pool -------------------------------------------------------------------------------------------------


@blp.route("/projects/<project_id>/pool")
@roles_required("vendor", "supervisor", "trainer", "finance", "merchant")
@blp.arguments(PoolArgsSchema, location="query")
@blp.response(200, PoolSchema)
def get_pool(args: dict[str, Any], project_id: str) -> dict[str, Any]:
    """The project's pool: active agents (first ceil(1.5 × seats) by admission score) and reserve"""
    project = _project(project_id)
    return service.pool_view(db_session(), project, cfg(), args)


# --- rosters ----------------------------------------------------------------------------------------------


@blp.route("/projects/<project_id>/roster")
class RosterResource(MethodView):
    @roles_required(*READERS)
    @blp.arguments(RosterQuerySchema, location="query")
    @blp.response(200, RosterViewSchema)
    def get(self, args: dict[str, Any], project_id: str) -> dict[str, Any]:
        """The roster in force (newest published version per date), filtered by date, shift and agent

        Without dates: from today to the last rostered day. An agent's token sees only its own shifts.
        """
        _project(project_id)
        agent_only = _agent_scope(project_id)
        return service.roster_view(
            db_session(), project_id, args, today=today_shanghai(), agent_only=agent_only
        )

    @idempotent
    @roles_required(*PLANNERS)
    @blp.arguments(RosterRequestSchema)
    @blp.response(201, RosterDetailSchema)
    def post(self, data: dict[str, Any], project_id: str) -> dict[str, Any]:
        """Generate a new roster version for from..to (≤ 31 days) with CP-SAT and publish it

        Gaps the hard rules leave are listed in `uncovered` with the binding rule; never a silent gap.
        """
        _project(project_id)
        session = db_session()
        roster = service.generate_roster(
            session,
            project_id,
            data["from_"],
            data["to"],
            publish=data["publish"],
            actor=_actor(),
            cfg=cfg(),
            today=today_shanghai(),
        )
        return service.roster_detail(session, roster)


def _export_view(project_id: str, args: dict[str, Any]) -> tuple[Project, dict[str, Any]]:
    project = _project(project_id)
    agent_only = _agent_scope(project_id)
    view = service.roster_view(
        db_session(), project_id, args, today=today_shanghai(), agent_only=agent_only, paginate_items=False
    )
    return project, view


def _roster_export(project_id: str, args: dict[str, Any], fmt: str) -> Response:
    _project_obj, view = _export_view(project_id, args)
    return export_response(
        service.ROSTER_COLUMNS,
        service.roster_rows(view),
        filename=f"roster-{project_id}",
        fmt=fmt,
        lang=args["lang"],
        sheet="roster",
    )


_ROSTER_EXPORT_DOC = (
    "One row per shift, then one per uncovered shift (with its missing headcount and the reason). "
    "Chinese headers; `?lang=en` for English ones."
)


@blp.route("/projects/<project_id>/roster.csv")
@roles_required(*READERS)
@blp.arguments(ExportQuerySchema, location="query")
@blp.doc(description=_ROSTER_EXPORT_DOC, responses=export_responses("the roster as CSV", "csv"))
def roster_csv(args: dict[str, Any], project_id: str) -> Response:
    """The roster in force as CSV"""
    return _roster_export(project_id, args, "csv")


@blp.route("/projects/<project_id>/roster.xlsx")
@roles_required(*READERS)
@blp.arguments(ExportQuerySchema, location="query")
@blp.doc(description=_ROSTER_EXPORT_DOC, responses=export_responses("the roster as a workbook", "xlsx"))
def roster_xlsx(args: dict[str, Any], project_id: str) -> Response:
    """The roster in force as an Excel workbook"""
    return _roster_export(project_id, args, "xlsx")


@blp.route("/projects/<project_id>/roster.ics")
@roles_required(*READERS)
@blp.arguments(ExportQuerySchema, location="query")
@blp.doc(responses={"200": {"description": "text/calendar: one VEVENT per shift (an agent subscribes)"}})
def roster_ics(args: dict[str, Any], project_id: str) -> Response:
    """The roster in force as iCalendar (an agent's token gets only its own shifts)"""
    project, view = _export_view(project_id, args)
    return Response(
        service.roster_ics(view, project),
        content_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="roster-{project_id}.ics"'},
    )


@blp.route("/projects/<project_id>/rosters")
@roles_required("vendor", "supervisor", "merchant")
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, RosterVersionPage)
def list_roster_versions(args: dict[str, Any], project_id: str) -> Any:
    """Every roster version of the project, newest first (history is kept)"""
    _project(project_id)
    page = paginate(
        db_session(), service.roster_versions(db_session(), project_id), args["page"], args["per_page"]
    )
    return {
        "items": [service._roster_dict(r) for r in page.items],
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
        "pages": page.pages,
    }


@blp.route("/projects/<project_id>/rosters/<roster_id>")
@roles_required("vendor", "supervisor", "merchant")
@blp.response(200, RosterDetailSchema)
def get_roster_version(project_id: str, roster_id: str) -> dict[str, Any]:
    """One roster version with all its shifts and gaps"""
    _project(project_id)
    session = db_session()
    return service.roster_detail(session, service.get_roster(session, project_id, roster_id))


@blp.route("/projects/<project_id>/rosters/<roster_id>/publish", methods=["POST"])
@roles_required(*PLANNERS)
@blp.response(200, RosterDetailSchema)
def publish_roster_version(project_id: str, roster_id: str) -> dict[str, Any]:
    """Publish a draft version: it takes over its dates and roster.published is emitted"""
    _project(project_id)
    session = db_session()
    roster = service.publish_roster(session, project_id, roster_id)
    return service.roster_detail(session, roster)


# --- surges -----------------------------------------------------------------------------------------------


@blp.route("/projects/<project_id>/surges")
class SurgesResource(MethodView):
    @roles_required("vendor", "supervisor", "merchant")
    @blp.arguments(SurgeArgsSchema, location="query")
    @blp.response(200, SurgePage)
    def get(self, args: dict[str, Any], project_id: str) -> Any:
        """The project's surges, newest first"""
        _project(project_id)
        stmt = select(Surge).where(Surge.project_id == project_id)
        if args.get("status"):
            stmt = stmt.where(Surge.status == args["status"])
        page = paginate(
            db_session(), stmt.order_by(Surge.created_at.desc(), Surge.id), args["page"], args["per_page"]
        )
        return {
            "items": [service.surge_dict(s) for s in page.items],
            "total": page.total,
            "page": page.page,
            "per_page": page.per_page,
            "pages": page.pages,
        }

    @idempotent
    @roles_required("vendor", "supervisor", "merchant")
    @blp.arguments(SurgeRequestSchema)
    @blp.response(201, SurgeSchema)
    def post(self, data: dict[str, Any], project_id: str) -> dict[str, Any]:
        """Ask for a volume surge: ≤ 30% needs 3 days' notice, ≤ 60% a week, more is refused (422)

        Accepted: extra seats ceil(seats × pct / 100), covered by reserve agents first; a refusal is 422
        with the rule and the earliest acceptable start date, and emits surge.rejected.
        """
        _project(project_id)
        outcome = service.request_surge(
            db_session(), project_id, data, actor=_actor(), cfg=cfg(), today=today_shanghai()
        )
        return service.surge_dict(outcome.surge, outcome.roster)


@blp.route("/projects/<project_id>/surges/<surge_id>")
@roles_required("vendor", "supervisor", "merchant")
@blp.response(200, SurgeSchema)
def get_surge(project_id: str, surge_id: str) -> dict[str, Any]:
    """One surge"""
    _project(project_id)
    surge = db_session().get(Surge, surge_id)
    if surge is None or surge.project_id != project_id:
        raise NotFound("There is no surge with this id in this project.")
    return service.surge_dict(surge)


@blp.route("/projects/<project_id>/surges/<surge_id>/cancel", methods=["POST"])
@roles_required(*PLANNERS)
@blp.response(200, SurgeSchema)
def cancel_surge(project_id: str, surge_id: str) -> dict[str, Any]:
    """Cancel an accepted surge (vendor): rostered dates go back to the normal seats"""
    _project(project_id)
    outcome = service.cancel_surge(
        db_session(), project_id, surge_id, actor=_actor(), cfg=cfg(), today=today_shanghai()
    )
    return service.surge_dict(outcome.surge, outcome.roster)


# --- attrition --------------------------------------------------------------------------------------------


@blp.route("/agents/<agent_id>/departure", methods=["POST"])
@idempotent
@roles_required(*PLANNERS)
@blp.arguments(DepartureRequestSchema)
@blp.response(200, DepartureResultSchema)
def agent_departure(data: dict[str, Any], agent_id: str) -> dict[str, Any]:
    """An agent leaves a project from `date`: the best reserve agent takes over the future shifts"""
    _project(data["project_id"])
    return service.register_departures(
        db_session(),
        data["project_id"],
        [agent_id],
        data["date"],
        data.get("reason"),
        actor=_actor(),
        cfg=cfg(),
        today=today_shanghai(),
    )


@blp.route("/departures", methods=["POST"])
@idempotent
@roles_required(*PLANNERS)
@blp.arguments(BatchDepartureRequestSchema)
@blp.response(200, DepartureResultSchema)
def batch_departure(data: dict[str, Any]) -> dict[str, Any]:
    """Mass attrition: several agents of one project leave on the same date (one new roster version)"""
    _project(data["project_id"])
    return service.register_departures(
        db_session(),
        data["project_id"],
        data["agent_ids"],
        data["date"],
        data.get("reason"),
        actor=_actor(),
        cfg=cfg(),
        today=today_shanghai(),
    )


# --- timesheets -------------------------------------------------------------------------------------------


@blp.route("/timesheets")
class TimesheetsResource(MethodView):
    @roles_required("vendor", "supervisor", "finance", "merchant", "agent")
    @blp.arguments(TimesheetArgsSchema, location="query")
    @blp.response(200, TimesheetPage)
    def get(self, args: dict[str, Any]) -> Any:
        """Timesheet entries by project, agent and period (agents: their own; merchants: their projects)"""
        principal = current_principal()
        stmt = service.timesheet_query(
            args,
            merchant_id=tenant_scope(),
            agent_only=principal.sub if principal.role == "agent" else None,
        )
        page = paginate(db_session(), stmt, args["page"], args["per_page"])
        return {
            "items": [service.timesheet_dict(t) for t in page.items],
            "total": page.total,
            "page": page.page,
            "per_page": page.per_page,
            "pages": page.pages,
        }

    @idempotent
    @roles_required("vendor", "supervisor")
    @blp.arguments(TimesheetBatchSchema)
    @blp.response(201, TimesheetResultSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Record hours worked: one entry, or many (a JSON array or {entries: [...]}); all or nothing

        A new entry for the same agent, project and date replaces the earlier one (kept as history) and
        emits shift.worked with the day's hours.
        """
        return service.record_timesheets(
            db_session(), data["entries"], actor=_actor(), today=today_shanghai()
        )


def _timesheets_export(args: dict[str, Any], fmt: str) -> Response:
    principal = current_principal()
    stmt = service.timesheet_query(
        args, merchant_id=tenant_scope(), agent_only=principal.sub if principal.role == "agent" else None
    )
    rows = db_session().scalars(stmt.limit(100_000)).all()
    return export_response(
        service.TIMESHEET_COLUMNS,
        service.timesheet_rows(rows),
        filename="timesheets",
        fmt=fmt,
        lang=args["lang"],
        sheet="timesheets",
    )


@blp.route("/timesheets.csv")
@roles_required("vendor", "supervisor", "finance", "merchant", "agent")
@blp.arguments(TimesheetExportArgsSchema, location="query")
@blp.doc(responses=export_responses("one row per entry", "csv"))
def timesheets_csv(args: dict[str, Any]) -> Response:
    """Timesheet entries as CSV (same filters as the list; `?lang=en` for English headers)"""
    return _timesheets_export(args, "csv")


@blp.route("/timesheets.xlsx")
@roles_required("vendor", "supervisor", "finance", "merchant", "agent")
@blp.arguments(TimesheetExportArgsSchema, location="query")
@blp.doc(responses=export_responses("one row per entry", "xlsx"))
def timesheets_xlsx(args: dict[str, Any]) -> Response:
    """Timesheet entries as an Excel workbook (same filters as the list)"""
    return _timesheets_export(args, "xlsx")


# --- staffing estimate ------------------------------------------------------------------------------------


@blp.route("/staffing/estimate", methods=["POST"])
@roles_required("vendor", "supervisor", "trainer", "finance", "merchant")
@blp.arguments(StaffingRequestSchema)
@blp.response(200, StaffingResultSchema)
def staffing_estimate(data: dict[str, Any]) -> dict[str, Any]:
    """The seed's staffing arithmetic (pre-sales and/or after-sales) and the 3/2/1.5 funnel it implies"""
    return service.staffing_estimate(data, cfg())


# --- one agent's shifts across projects (the agent's calendar) --------------------------------------------


def _agent_view(agent_id: str, args: dict[str, Any]) -> dict[str, Any]:
    ensure_self_or_roles(agent_id, "vendor", "supervisor")
    start, end = agenda.date_range(args, today_shanghai())
    return agenda.agent_shifts(db_session(), agent_id, start, end)


@blp.route("/agents/<agent_id>/shifts")
@roles_required("vendor", "supervisor", "agent")
@blp.arguments(agenda.AgentShiftsArgs, location="query")
@blp.response(200, agenda.AgentShiftsSchema)
def agent_shifts(args: dict[str, Any], agent_id: str) -> dict[str, Any]:
    """One agent's shifts in every project whose pool they are in (an agent: only their own)

    The roster in force for each day; without dates from today for 31 days, at most 366 days.
    """
    return _agent_view(agent_id, args)


@blp.route("/agents/<agent_id>/shifts.ics")
@roles_required("vendor", "supervisor", "agent")
@blp.arguments(agenda.AgentShiftsArgs, location="query")
@blp.doc(responses={"200": {"description": "text/calendar: one VEVENT per shift, times in UTC"}})
def agent_shifts_ics(args: dict[str, Any], agent_id: str) -> Response:
    """One agent's shifts as iCalendar, for subscribing from a phone (an agent: only their own)"""
    view = _agent_view(agent_id, args)
    return Response(
        agenda.agent_ics(view),
        content_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="shifts-{agent_id}.ics"'},
    )
