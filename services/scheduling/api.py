"""The scheduling HTTP API under /api/v1: thin views over the use cases and ``queries``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from services.scheduling import (
    agenda,
    attrition,
    estimates,
    exports,
    planning,
    queries,
    roster,
    siteplan,
    surges,
    timesheets,
)
from services.scheduling.config import SchedulingSettings, load_settings
from services.scheduling.schemas import (
    BatchDepartureRequestSchema,
    CampaignPage,
    CampaignRequestSchema,
    CampaignSchema,
    CoverageArgsSchema,
    CoveragePage,
    DepartureRequestSchema,
    DepartureResultSchema,
    ExportQuerySchema,
    HistoryArgsSchema,
    HistoryDaysSchema,
    HistoryImportSchema,
    HistoryResultSchema,
    HistoryRowSchema,
    KpiStandingPage,
    KpiWarningArgsSchema,
    PlanIntervalArgsSchema,
    PlanIntervalPage,
    PlanPage,
    PlanRequestSchema,
    PlanSchema,
    PoolArgsSchema,
    PoolMemberUpdateSchema,
    PoolSchema,
    RosterDetailSchema,
    RosterQuerySchema,
    RosterRequestSchema,
    RosterVersionPage,
    RosterViewSchema,
    SitePlanSchema,
    StaffingRequestSchema,
    StaffingResultSchema,
    SurgeArgsSchema,
    SurgePage,
    SurgeRequestSchema,
    SurgeRuleArgsSchema,
    SurgeRuleSchema,
    SurgeSchema,
    TimesheetArgsSchema,
    TimesheetBatchSchema,
    TimesheetExportArgsSchema,
    TimesheetPage,
    TimesheetResultSchema,
)
from shared.auth import ROLES, ensure_self_or_roles, roles_required
from shared.errors import ValidationFailed
from shared.pagination import PageArgsSchema
from shared.tabular import XLSX_MIME, Column, LangArgs, parse_table
from shared.web import current_uow, get_settings, idempotent, keep_on_refusal, transactional
from shared.web.downloads import (
    export_response,
    export_responses,
    read_upload,
    upload_request_body,
    workbook_response,
)

blp = Blueprint("scheduling", __name__, url_prefix="/api/v1", description="Pool, rosters, surges, attrition")

_CFG_KEY = "scheduling.settings"
#: who may read a project's roster and pool (merchants: their own projects; agents: their own shifts)
READERS = ("vendor", "supervisor", "trainer", "finance", "merchant", "agent")
PLANNERS = ("vendor", "supervisor")


def cfg() -> SchedulingSettings:
    """The app's settings, parsed once (tests may put their own under the same key)."""
    cached = current_app.extensions.get(_CFG_KEY)
    if cached is None:
        cached = load_settings(get_settings().extra)
        current_app.extensions[_CFG_KEY] = cached
    return cached


# --- pool -------------------------------------------------------------------------------------------------


@blp.route("/projects/<project_id>/pool")
@roles_required("vendor", "supervisor", "trainer", "finance", "merchant")
@blp.arguments(PoolArgsSchema, location="query")
@blp.response(200, PoolSchema)
def get_pool(args: dict[str, Any], project_id: str) -> dict[str, Any]:
    """The project's pool: active agents (first ceil(1.5 × seats) by admission score) and reserve"""
    uow = current_uow()
    return queries.pool_view(uow, queries.project_for(uow, project_id), cfg(), args)


@blp.route("/projects/<project_id>/kpi-warnings")
@roles_required("vendor", "supervisor", "trainer")
@blp.arguments(KpiWarningArgsSchema, location="query")
@blp.response(200, KpiStandingPage)
def get_kpi_warnings(args: dict[str, Any], project_id: str) -> Any:
    """Early warning before attrition (预警): the agents whose KPI (quality's kpi.scored) has been below the
    warning threshold for several months in a row; `all=true` lists every agent with a KPI"""
    return queries.kpi_warning_page(current_uow(), project_id, args)


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
        uow = current_uow()
        queries.project_for(uow, project_id)
        return queries.roster_view(uow, project_id, args, agent_only=queries.agent_scope(uow, project_id))

    @idempotent
    @roles_required(*PLANNERS)
    @blp.arguments(RosterRequestSchema)
    @blp.response(201, RosterDetailSchema)
    def post(self, data: dict[str, Any], project_id: str) -> dict[str, Any]:
        """Generate a new roster version for from..to (≤ 31 days) and publish it

        CP-SAT's roster and a greedy baseline are both computed and the better one is kept (coverage first,
        then the hours spread, then the night-shift spread): `method` says which, `solver_report` what the
        solver proved (status, objective, bound, gap) and both rosters' figures. `demand` sets how many
        agents each shift needs (per-shift or peak-hour multipliers, explicit headcounts). Gaps the hard
        rules leave are listed in `uncovered` with the binding rule; never a silent gap.
        """
        uow = current_uow()
        queries.project_for(uow, project_id)
        made = roster.generate_roster(
            uow,
            project_id,
            data["from_"],
            data["to"],
            publish=data["publish"],
            cfg=cfg(),
            demand=data["demand"],
        )
        return queries.roster_detail(uow, made)


def _export_view(project_id: str, args: dict[str, Any]) -> dict[str, Any]:
    uow = current_uow()
    queries.project_for(uow, project_id)
    agent_only = queries.agent_scope(uow, project_id)
    return queries.roster_view(uow, project_id, args, agent_only=agent_only, paginate_items=False)


def _roster_export(project_id: str, args: dict[str, Any], fmt: str) -> Response:
    view = _export_view(project_id, args)
    return export_response(
        exports.ROSTER_COLUMNS,
        exports.roster_rows(view),
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
    uow = current_uow()
    view = _export_view(project_id, args)
    return Response(
        exports.roster_ics(view, queries.project_for(uow, project_id), uow.now()),
        content_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="roster-{project_id}.ics"'},
    )


@blp.route("/projects/<project_id>/rosters")
@roles_required("vendor", "supervisor", "merchant")
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, RosterVersionPage)
def list_roster_versions(args: dict[str, Any], project_id: str) -> Any:
    """Every roster version of the project, newest first (history is kept)"""
    uow = current_uow()
    queries.project_for(uow, project_id)
    return queries.roster_versions(uow, project_id, args)


@blp.route("/projects/<project_id>/rosters/<roster_id>")
@roles_required("vendor", "supervisor", "merchant")
@blp.response(200, RosterDetailSchema)
def get_roster_version(project_id: str, roster_id: str) -> dict[str, Any]:
    """One roster version with all its shifts and gaps"""
    uow = current_uow()
    queries.project_for(uow, project_id)
    return queries.roster_version(uow, project_id, roster_id)


@blp.route("/projects/<project_id>/rosters/<roster_id>/publish", methods=["POST"])
@transactional
@roles_required(*PLANNERS)
@blp.response(200, RosterDetailSchema)
def publish_roster_version(project_id: str, roster_id: str) -> dict[str, Any]:
    """Publish a draft version: it takes over its dates and roster.published is emitted"""
    uow = current_uow()
    queries.project_for(uow, project_id)
    return queries.roster_detail(uow, roster.publish_roster(uow, project_id, roster_id))


# --- surges -----------------------------------------------------------------------------------------------


@blp.route("/surges/rule")
@roles_required(*ROLES)
@blp.arguments(SurgeRuleArgsSchema, location="query")
@blp.response(200, SurgeRuleSchema)
def surge_rule(args: dict[str, Any]) -> dict[str, Any]:
    """The surge notice rule in force; with `increase_pct`, whether that increase is allowed and from when

    The same rule a surge request is decided by: ≤ 30% needs 3 days' notice, ≤ 60% a week, more is not
    allowed (a new order). `earliest_start` counts the notice from today in Shanghai.
    """
    return surges.surge_rule(current_uow(), cfg(), args.get("increase_pct"))


@blp.route("/projects/<project_id>/surges")
class SurgesResource(MethodView):
    @roles_required("vendor", "supervisor", "merchant")
    @blp.arguments(SurgeArgsSchema, location="query")
    @blp.response(200, SurgePage)
    def get(self, args: dict[str, Any], project_id: str) -> Any:
        """The project's surges, newest first"""
        uow = current_uow()
        queries.project_for(uow, project_id)
        return queries.surges(uow, project_id, args)

    @idempotent
    @roles_required("vendor", "supervisor", "merchant")
    @blp.arguments(SurgeRequestSchema)
    @blp.response(201, SurgeSchema)
    def post(self, data: dict[str, Any], project_id: str) -> dict[str, Any]:
        """Ask for a volume surge: ≤ 30% needs 3 days' notice, ≤ 60% a week, more is refused (422)

        Accepted: extra seats ceil(seats × pct / 100), covered by reserve agents first; a refusal is 422
        with the rule and the earliest acceptable start date, and emits surge.rejected.
        """
        uow = current_uow()
        queries.project_for(uow, project_id)
        outcome = surges.request_surge(uow, project_id, data, cfg=cfg())
        if outcome.refusal is not None:
            # The refused surge and its surge.rejected are kept while the caller gets the 422.
            keep_on_refusal()
            raise outcome.refusal
        return queries.surge_dict(outcome.surge, outcome.roster)


@blp.route("/projects/<project_id>/surges/<surge_id>")
@roles_required("vendor", "supervisor", "merchant")
@blp.response(200, SurgeSchema)
def get_surge(project_id: str, surge_id: str) -> dict[str, Any]:
    """One surge"""
    uow = current_uow()
    queries.project_for(uow, project_id)
    return queries.surge(uow, project_id, surge_id)


@blp.route("/projects/<project_id>/surges/<surge_id>/cancel", methods=["POST"])
@transactional
@roles_required(*PLANNERS)
@blp.response(200, SurgeSchema)
def cancel_surge(project_id: str, surge_id: str) -> dict[str, Any]:
    """Cancel an accepted surge (vendor): rostered dates go back to the normal seats"""
    uow = current_uow()
    queries.project_for(uow, project_id)
    outcome = surges.cancel_surge(uow, project_id, surge_id, cfg=cfg())
    return queries.surge_dict(outcome.surge, outcome.roster)


# --- attrition --------------------------------------------------------------------------------------------


@blp.route("/agents/<agent_id>/departure", methods=["POST"])
@idempotent
@roles_required(*PLANNERS)
@blp.arguments(DepartureRequestSchema)
@blp.response(200, DepartureResultSchema)
def agent_departure(data: dict[str, Any], agent_id: str) -> dict[str, Any]:
    """An agent leaves a project from `date`: the best reserve agent takes over the future shifts"""
    uow = current_uow()
    queries.project_for(uow, data["project_id"])
    return attrition.register_departures(
        uow, data["project_id"], [agent_id], data["date"], data.get("reason"), cfg=cfg()
    )


@blp.route("/departures", methods=["POST"])
@idempotent
@roles_required(*PLANNERS)
@blp.arguments(BatchDepartureRequestSchema)
@blp.response(200, DepartureResultSchema)
def batch_departure(data: dict[str, Any]) -> dict[str, Any]:
    """Mass attrition: several agents of one project leave on the same date (one new roster version)"""
    uow = current_uow()
    queries.project_for(uow, data["project_id"])
    return attrition.register_departures(
        uow, data["project_id"], data["agent_ids"], data["date"], data.get("reason"), cfg=cfg()
    )


# --- timesheets -------------------------------------------------------------------------------------------


@blp.route("/timesheets")
class TimesheetsResource(MethodView):
    @roles_required("vendor", "supervisor", "finance", "merchant", "agent")
    @blp.arguments(TimesheetArgsSchema, location="query")
    @blp.response(200, TimesheetPage)
    def get(self, args: dict[str, Any]) -> Any:
        """Timesheet entries by project, agent and period (agents: their own; merchants: their projects)"""
        return queries.timesheets(current_uow(), args)

    @idempotent
    @roles_required("vendor", "supervisor")
    @blp.arguments(TimesheetBatchSchema)
    @blp.response(201, TimesheetResultSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Record hours worked: one entry, or many (a JSON array or {entries: [...]}); all or nothing

        A new entry for the same agent, project and date replaces the earlier one (kept as history) and
        emits shift.worked with the day's hours.
        """
        return timesheets.record_timesheets(current_uow(), data["entries"])


def _timesheets_export(args: dict[str, Any], fmt: str) -> Response:
    return export_response(
        exports.TIMESHEET_COLUMNS,
        exports.timesheet_rows(queries.timesheet_entries(current_uow(), args)),
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
    return estimates.staffing_estimate(data, cfg())


# --- one agent's shifts across projects (the agent's calendar) --------------------------------------------


def _agent_view(agent_id: str, args: dict[str, Any]) -> dict[str, Any]:
    ensure_self_or_roles(agent_id, "vendor", "supervisor")
    return agenda.agent_shifts(current_uow(), agent_id, args)


@blp.route("/agents/<agent_id>/shifts")
@roles_required("vendor", "supervisor", "agent")
@blp.arguments(agenda.AgentShiftsArgs, location="query")
@blp.response(200, agenda.AgentShiftsSchema)
def agent_shifts(args: dict[str, Any], agent_id: str) -> dict[str, Any]:
    """One agent's shifts in every project whose pool they are in (an agent: only their own)

    The roster in force for each day; without dates from today for 31 days, at most 366 days.
    """
    return _agent_view(agent_id, args)


@blp.route("/agents/<agent_id>/projects")
@roles_required("vendor", "supervisor", "agent")
@blp.response(200, agenda.AgentProjectsSchema)
def agent_projects(agent_id: str) -> dict[str, Any]:
    """The projects whose pool an agent is in, with the agent's role there (an agent: only their own)"""
    ensure_self_or_roles(agent_id, "vendor", "supervisor")
    return agenda.agent_projects(current_uow(), agent_id, cfg())


@blp.route("/agents/<agent_id>/shifts.ics")
@roles_required("vendor", "supervisor", "agent")
@blp.arguments(agenda.AgentShiftsArgs, location="query")
@blp.doc(responses={"200": {"description": "text/calendar: one VEVENT per shift, times in UTC"}})
def agent_shifts_ics(args: dict[str, Any], agent_id: str) -> Response:
    """One agent's shifts as iCalendar, for subscribing from a phone (an agent: only their own)"""
    view = _agent_view(agent_id, args)
    return Response(
        agenda.agent_ics(view, current_uow().now()),
        content_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="shifts-{agent_id}.ics"'},
    )


# --- workforce planning (人力规划) -------------------------------------------------------------------------

_HISTORY_COLUMNS = (
    Column("date", "日期", kind="date"),
    Column("time", "时段"),
    Column("channel", "渠道"),
    Column("consultations", "咨询量", kind="number"),
)
#: a CSV line of history is about 30 bytes; the JSON import's row cap applies to files too
_HISTORY_MAX_ROWS = 50_000


@blp.route("/projects/<project_id>/demand-history")
class DemandHistoryResource(MethodView):
    @roles_required(*PLANNERS)
    @blp.arguments(HistoryArgsSchema, location="query")
    @blp.response(200, HistoryDaysSchema)
    def get(self, args: dict[str, Any], project_id: str) -> dict[str, Any]:
        """Consultations per day and channel, as imported (daily totals of the half-hours)"""
        uow = current_uow()
        queries.project_for(uow, project_id)
        return {
            "items": planning.history_daily(
                uow.session, project_id, args["from_"], args["to"], args.get("channel")
            )
        }

    @idempotent
    @roles_required(*PLANNERS)
    @blp.arguments(HistoryImportSchema)
    @blp.response(200, HistoryResultSchema)
    def post(self, data: dict[str, Any], project_id: str) -> dict[str, Any]:
        """Import last year's consultations: per half-hour (time) or per day (spread by profile); all or
        nothing, a (day, channel) sent again replaces what was there"""
        uow = current_uow()
        queries.project_for(uow, project_id)
        return planning.import_history(uow, project_id, data["rows"], data.get("profile"))


@blp.route("/projects/<project_id>/demand-history/import", methods=["POST"])
@transactional
@roles_required(*PLANNERS)
@blp.response(200, HistoryResultSchema)
@blp.doc(
    description="CSV (UTF-8, GBK, GB18030) or .xlsx with the columns 日期 (date), 时段 (time: HH:00 or "
    "HH:30, blank for a daily total), 渠道 (channel: 售前/售后/合计 or presale/aftersale/all), 咨询量 "
    "(consultations). Daily totals are spread over the day by the seed's peak hours. All or nothing.",
    requestBody=upload_request_body(),
)
def import_demand_history(project_id: str) -> dict[str, Any]:
    """Import last year's consultations from a file (all or nothing)"""
    uow = current_uow()
    queries.project_for(uow, project_id)
    raw = read_upload(_HISTORY_MAX_ROWS * 40, what="history file")
    parsed = parse_table(
        raw,
        _HISTORY_COLUMNS,
        HistoryRowSchema(),
        max_rows=_HISTORY_MAX_ROWS,
        required=("date", "channel", "consultations"),
    )
    if parsed.errors:
        raise ValidationFailed(parsed.errors, detail="The file has problems; nothing was imported.")
    return planning.import_history(uow, project_id, parsed.items, None)


@blp.route("/projects/<project_id>/campaigns")
class CampaignsResource(MethodView):
    @roles_required(*PLANNERS, "merchant")
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, CampaignPage)
    def get(self, args: dict[str, Any], project_id: str) -> Any:
        """The project's campaigns, newest first"""
        uow = current_uow()
        queries.project_for(uow, project_id)
        return planning.campaigns_page(uow.session, project_id, args)

    @idempotent
    @roles_required(*PLANNERS)
    @blp.arguments(CampaignRequestSchema)
    @blp.response(201, CampaignSchema)
    def post(self, data: dict[str, Any], project_id: str) -> Any:
        """Plan a promotion: phases (warm-up, festival day, after-sales), volume drivers, service target"""
        uow = current_uow()
        queries.project_for(uow, project_id)
        return planning.create_campaign(uow, project_id, data)


@blp.route("/projects/<project_id>/campaigns/<campaign_id>")
class CampaignResource(MethodView):
    @roles_required(*PLANNERS, "merchant")
    @blp.response(200, CampaignSchema)
    def get(self, project_id: str, campaign_id: str) -> Any:
        """One campaign"""
        uow = current_uow()
        queries.project_for(uow, project_id)
        return planning.get_campaign(uow.session, project_id, campaign_id)

    @idempotent
    @roles_required(*PLANNERS)
    @blp.arguments(CampaignRequestSchema)
    @blp.response(200, CampaignSchema)
    def put(self, data: dict[str, Any], project_id: str, campaign_id: str) -> Any:
        """Replace a campaign's phases and parameters (its plans keep what they were computed from)"""
        uow = current_uow()
        queries.project_for(uow, project_id)
        return planning.update_campaign(uow, project_id, campaign_id, data)


@blp.route("/projects/<project_id>/campaigns/<campaign_id>/plans")
class PlansResource(MethodView):
    @roles_required(*PLANNERS, "merchant")
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, PlanPage)
    def get(self, args: dict[str, Any], project_id: str, campaign_id: str) -> Any:
        """The campaign's plans, newest first"""
        uow = current_uow()
        queries.project_for(uow, project_id)
        return planning.plans_page(uow.session, project_id, campaign_id, args)

    @idempotent
    @roles_required(*PLANNERS)
    @blp.arguments(PlanRequestSchema)
    @blp.response(201, PlanSchema)
    def post(self, data: dict[str, Any], project_id: str, campaign_id: str) -> Any:
        """Compute a plan: forecast per half-hour → agents (Erlang C / 100 an hour) → shifts that follow the
        demand → a roster draft; coverage per interval and why any stays short"""
        uow = current_uow()
        queries.project_for(uow, project_id)
        return planning.plan_campaign(uow, project_id, campaign_id, cfg(), publish=data["publish"])


@blp.route("/projects/<project_id>/plans/<plan_id>")
@roles_required(*PLANNERS, "merchant")
@blp.response(200, PlanSchema)
def get_plan(project_id: str, plan_id: str) -> Any:
    """One plan: headcount needed and available, coverage, the greedy baseline beside it, warnings"""
    uow = current_uow()
    queries.project_for(uow, project_id)
    return planning.get_plan(uow.session, project_id, plan_id)


@blp.route("/projects/<project_id>/plans/<plan_id>/publish", methods=["POST"])
@transactional
@roles_required(*PLANNERS)
@blp.response(200, PlanSchema)
def publish_plan(project_id: str, plan_id: str) -> Any:
    """Publish the plan and its roster; plan.published asks recruitment for the gap"""
    uow = current_uow()
    queries.project_for(uow, project_id)
    return planning.publish_plan(uow, project_id, plan_id)


@blp.route("/projects/<project_id>/plans/<plan_id>/intervals")
@roles_required(*PLANNERS, "merchant")
@blp.arguments(PlanIntervalArgsSchema, location="query")
@blp.response(200, PlanIntervalPage)
def plan_intervals(args: dict[str, Any], project_id: str, plan_id: str) -> Any:
    """The forecast per half-hour beside last year, and the agents each method needs"""
    uow = current_uow()
    queries.project_for(uow, project_id)
    return planning.intervals_page(uow.session, project_id, plan_id, args)


@blp.route("/projects/<project_id>/plans/<plan_id>/coverage")
@roles_required(*PLANNERS, "merchant")
@blp.arguments(CoverageArgsSchema, location="query")
@blp.response(200, CoveragePage)
def plan_coverage(args: dict[str, Any], project_id: str, plan_id: str) -> Any:
    """Required vs rostered agents per half-hour and skill; a short interval names the rule that binds"""
    uow = current_uow()
    queries.project_for(uow, project_id)
    return planning.coverage_page(uow.session, project_id, plan_id, args)


@blp.route("/projects/<project_id>/plans/<plan_id>/site-plan")
@roles_required(*PLANNERS, "merchant")
@blp.response(200, SitePlanSchema)
def site_plan(project_id: str, plan_id: str) -> Any:
    """Site and resources for the plan's busiest moment (3 m² a person, 1 admin per 100, …)"""
    uow = current_uow()
    project = queries.project_for(uow, project_id)
    plan = planning.get_plan(uow.session, project_id, plan_id)
    return planning.site_plan_view(uow.session, project, plan, cfg())


_SITE_COLUMNS = (
    Column("item", "项目", "item"),
    Column("quantity", "数量", "quantity"),
    Column("unit", "单位", "unit"),
    Column("basis", "依据", "basis"),
)
_DAY_COLUMNS = (
    Column("date", "日期", "date", kind="date"),
    Column("required_hours", "需求工时", "required hours", kind="number"),
    Column("scheduled_hours", "排班工时", "scheduled hours", kind="number"),
    Column("short_hours", "缺口工时", "short hours", kind="number"),
    Column("presale", "售前人数", "presale agents", kind="integer"),
    Column("aftersale", "售后人数", "aftersale agents", kind="integer"),
    Column("triage", "分流人数", "triage agents", kind="integer"),
)


@blp.route("/projects/<project_id>/plans/<plan_id>/site-plan.xlsx")
@roles_required(*PLANNERS, "merchant")
@blp.arguments(LangArgs, location="query")
@blp.response(200, {"format": "binary", "type": "string"}, content_type=XLSX_MIME)
def site_plan_xlsx(args: dict[str, Any], project_id: str, plan_id: str) -> Response:
    """The site plan and the plan's days as a workbook"""
    uow = current_uow()
    project = queries.project_for(uow, project_id)
    plan = planning.get_plan(uow.session, project_id, plan_id)
    view = planning.site_plan_view(uow.session, project, plan, cfg())
    zh = args["lang"] == "zh"
    lines = [
        (
            siteplan.ITEMS_ZH.get(x["item"], x["item"]) if zh else x["item"],
            str(x["quantity"]),
            x["unit"],
            x["basis"],
        )
        for x in view["lines"]
    ]
    days = [
        (
            dt.date.fromisoformat(d["date"]),
            d["required_hours"],
            d["scheduled_hours"],
            d["short_hours"],
            d["agents"].get("presale", 0),
            d["agents"].get("aftersale", 0),
            d["agents"].get("triage", 0),
        )
        for d in plan.summary.get("days", [])
    ]
    sheets = [
        ("场地与物资" if zh else "site", _SITE_COLUMNS, lines),
        ("每日" if zh else "days", _DAY_COLUMNS, days),
    ]
    return workbook_response(sheets, filename=f"site-plan-{project_id}-v{plan.version}", lang=args["lang"])


@blp.route("/projects/<project_id>/pool/<agent_id>", methods=["PATCH"])
@transactional
@roles_required(*PLANNERS)
@blp.arguments(PoolMemberUpdateSchema)
@blp.response(200, PoolMemberUpdateSchema)
def update_pool_member(data: dict[str, Any], project_id: str, agent_id: str) -> Any:
    """Mark an agent as part-time (兼职) on this project: short shifts, pre-sales or after-sales triage"""
    uow = current_uow()
    queries.project_for(uow, project_id)
    return planning.set_part_time(uow, project_id, agent_id, data["part_time"])
