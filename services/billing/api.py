"""The billing API (/api/v1): thin flask-smorest views. Each parses, calls a use case (``pay_plans``,
``performance``, ``payroll``) or a query (``queries``, ``exports``) with the request's unit of work, and
answers; write views commit through ``@transactional`` or ``@idempotent``.

Finance (财务) writes: plans, performance data, adjustments, runs and their approval. The vendor reads
everything. An agent reads only its own payslips of approved runs (and its own attendance); a merchant
reads only its own projects' attendance.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from services.billing import exports, pay_plans, payroll, performance, queries
from services.billing.config import BillingSettings, load_settings
from services.billing.schemas import (
    AdjustmentIn,
    AdjustmentOut,
    AdjustmentPage,
    AttendanceListArgs,
    AttendancePage,
    DeductionPage,
    KnownAgentListArgs,
    KnownAgentPage,
    KnownProjectListArgs,
    KnownProjectPage,
    MyPayslipListArgs,
    PayPlanIn,
    PayPlanListArgs,
    PayPlanOut,
    PayPlanPage,
    PayrollRunIn,
    PayrollRunListArgs,
    PayrollRunOut,
    PayrollRunPage,
    PayslipListArgs,
    PayslipOut,
    PayslipPage,
    PerformanceIn,
    PerformanceListArgs,
    PerformancePage,
    PerformanceResult,
    PeriodFilterArgs,
    WorkedHoursListArgs,
    WorkedHoursPage,
)
from shared.auth import roles_required
from shared.errors import ValidationFailed
from shared.pagination import Page
from shared.tabular import ExportArgs
from shared.web import current_uow, get_settings, idempotent, transactional
from shared.web.batches import json_batch, one_or_many_body, racing
from shared.web.downloads import (
    export_response,
    export_responses,
    negotiate_format,
    read_upload,
    upload_request_body,
)

blp = Blueprint(
    "billing",
    __name__,
    url_prefix="/api/v1",
    description="Pay plans (计薪方案), performance data, deductions, payroll runs (薪资) and payslips.",
)

FINANCE = ("finance",)
READERS = ("finance", "vendor")
#: a CSV line is well under 200 bytes; this bounds an upload before it is parsed
_BYTES_PER_ROW = 256


def _settings() -> BillingSettings:
    return load_settings(get_settings().extra)


# --- pay plans --------------------------------------------------------------------------------------------

_PLAN_DOC = (
    "Types and the seed's figures: hourly 20.00 CNY/hour (160 h → 3,200.00); monthly 4,000.00; "
    "base_commission 4,000.00 + 1% of sales (4,000 + 1% of 100,000 = 5,000.00 when the targets are met, "
    "else the base × base_factor_when_unmet); commission 5% of sales (5% of 100,000 = 5,000.00). "
    "Money is a decimal string; a JSON number with a fraction is refused (a whole one, 20, is exact and "
    "taken as 20.00); rates are decimal strings at most 1 (100%). "
    "A plan applies to a whole month when in force on its last day; an agent's override wins over the "
    "project default; plans are never edited and never effective in an approved month."
)


PLAN_EXAMPLES: dict[str, dict[str, Any]] = {
    "hourly": {
        "summary": "按小时: 20 CNY/hour",
        "value": {
            "project_id": "…",
            "type": "hourly",
            "hourly_rate": "20.00",
            "effective_from": "2026-11-01",
        },
    },
    "monthly": {
        "summary": "按月: 4,000 CNY/month",
        "value": {"project_id": "…", "type": "monthly", "monthly_base": "4000.00"},
    },
    "base_commission": {
        "summary": "底薪+提成: 4,000 on condition + 1% of sales",
        "value": {
            "project_id": "…",
            "type": "base_commission",
            "monthly_base": "4000.00",
            "commission_rate": "0.01",
            "conditions": {"max_avg_response_seconds": "30", "min_response_rate": "0.95"},
            "base_factor_when_unmet": "0.5",
        },
    },
    "commission": {
        "summary": "0底薪+提成: 5% of sales, one agent's override",
        "value": {"project_id": "…", "agent_id": "…", "type": "commission", "commission_rate": "0.05"},
    },
}


@blp.route("/pay-plans")
class PayPlans(MethodView):
    @roles_required(*READERS)
    @blp.arguments(PayPlanListArgs, location="query")
    @blp.response(200, PayPlanPage)
    def get(self, args: dict[str, Any]) -> Page:
        """List pay plans (filters: project_id, agent_id, type, defaults_only)"""
        return queries.list_plans(current_uow(), args)

    @idempotent
    @roles_required(*FINANCE)
    @blp.arguments(PayPlanIn, examples=PLAN_EXAMPLES)
    @blp.response(201, PayPlanOut)
    @blp.doc(description=_PLAN_DOC)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a pay plan: a project's default, or one agent's override, effective from a date"""
        race = "A plan with this project, agent and effective_from was created at the same time."
        with racing(race) as uow:
            plan = pay_plans.create_plan(uow, data)
        return queries.plan_view(plan)


@blp.route("/pay-plans/<plan_id>")
class PayPlanItem(MethodView):
    @roles_required(*READERS)
    @blp.response(200, PayPlanOut)
    def get(self, plan_id: str) -> dict[str, Any]:
        """One pay plan"""
        return queries.plan(current_uow(), plan_id)


# --- performance data -------------------------------------------------------------------------------------

_PERFORMANCE_DOC = (
    "One object or an array of them (up to BILLING_MAX_IMPORT_ROWS). All or nothing: every item's "
    "problem is reported at once (keys like `3.date`). A day sent again for the same agent, project and "
    "date replaces the earlier one. The agent must be known (agent.admitted) and the date not in the future."
)


@blp.route("/performance")
class PerformanceView(MethodView):
    @roles_required(*READERS)
    @blp.arguments(PerformanceListArgs, location="query")
    @blp.response(200, PerformancePage)
    def get(self, args: dict[str, Any]) -> Any:
        """List performance days (filters: project_id, agent_id, from, to)"""
        return queries.list_performance(current_uow(), args)

    @transactional
    @roles_required(*FINANCE)
    @blp.response(200, PerformanceResult)
    @blp.doc(
        description=_PERFORMANCE_DOC,
        requestBody=one_or_many_body("PerformanceIn"),
    )
    def post(self) -> dict[str, int]:
        """Record performance data: sales, average response, response rate, consultations per day"""
        items, labels, errors = json_batch(PerformanceIn(), _settings().max_import_rows)
        with racing("The same days were written by a concurrent request; send them again.") as uow:
            return performance.record_performance(uow, items, labels, earlier_errors=errors)


_IMPORT_DOC = (
    "CSV or .xlsx (first sheet) with the header `project_id,agent_id,date,sales_amount,"
    "avg_response_seconds,response_rate,consultations` (or the Chinese "
    "项目编号,坐席编号,日期,销售额,平均响应秒数,响应率,咨询量; any order). CSV in UTF-8 (with or "
    "without BOM), GBK or GB18030. Sent as multipart/form-data field `file` or as the request body. "
    "All or nothing: every bad line is reported (keys like `line 3.sales_amount`) and "
    "nothing is stored until the whole file is right. Re-sent days replace earlier ones."
)


def _import_limit_bytes(limit_rows: int) -> int:
    return max(64 * 1024, limit_rows * _BYTES_PER_ROW)


@blp.route("/performance/import", methods=["POST"])
@transactional
@roles_required(*FINANCE)
@blp.response(200, PerformanceResult)
@blp.doc(
    description=_IMPORT_DOC,
    requestBody=upload_request_body(),
)
def import_performance() -> dict[str, int]:
    """Import performance data from a CSV file (all or nothing)"""
    limit = _settings().max_import_rows
    raw = read_upload(_import_limit_bytes(limit), what="performance file")
    parsed = exports.parse_performance_csv(raw, PerformanceIn(), max_rows=limit)
    if parsed.unreadable:
        raise ValidationFailed(
            parsed.errors, detail=f"{next(iter(parsed.errors.values()))[0]}; nothing was imported."
        )
    with racing("The same days were written by a concurrent request; upload the file again.") as uow:
        return performance.record_performance(uow, parsed.items, parsed.labels, earlier_errors=parsed.errors)


@blp.route("/worked-hours", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(WorkedHoursListArgs, location="query")
@blp.response(200, WorkedHoursPage)
def list_worked_hours(args: dict[str, Any]) -> Any:
    """Hours worked per day, from scheduling's shift.worked (filters: project_id, agent_id, from, to)"""
    return queries.list_worked_hours(current_uow(), args)


@blp.route("/attendance", methods=["GET"])
@roles_required("finance", "vendor", "merchant", "agent")
@blp.arguments(AttendanceListArgs, location="query")
@blp.response(200, AttendancePage)
@blp.doc(
    description="From scheduling's attendance.recorded (a supervisor's confirmation: the final word on the "
    "day) and agent.no_show (the tolerance passed without a clock-in). A merchant sees its own projects' "
    "agents, an agent only itself, whatever the filters say. Hours are paid from worked-hours, not from here."
)
def list_attendance(args: dict[str, Any]) -> Any:
    """Attendance per agent and day: late, early leave, no-show (filters: project_id, agent_id, from, to)"""
    return queries.list_attendance(current_uow(), args)


# --- deductions and adjustments ---------------------------------------------------------------------------


@blp.route("/deductions", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(PeriodFilterArgs, location="query")
@blp.response(200, DeductionPage)
def list_deductions(args: dict[str, Any]) -> Any:
    """Penalties of upheld complaints, by the period of their resolution (filters: project, agent, period)"""
    return queries.list_deductions(current_uow(), args)


@blp.route("/adjustments")
class Adjustments(MethodView):
    @roles_required(*READERS)
    @blp.arguments(PeriodFilterArgs, location="query")
    @blp.response(200, AdjustmentPage)
    def get(self, args: dict[str, Any]) -> Any:
        """List manual adjustments (filters: project_id, agent_id, period)"""
        return queries.list_adjustments(current_uow(), args)

    @idempotent
    @roles_required(*FINANCE)
    @blp.arguments(AdjustmentIn)
    @blp.response(201, AdjustmentOut)
    @blp.doc(
        description="Positive or negative, with a reason printed on the payslip. One for a period already "
        "approved is paid in the next run as a late-data adjustment naming that period."
    )
    def post(self, data: dict[str, Any]) -> Any:
        """Add a manual adjustment to an agent's pay for a period"""
        return performance.add_adjustment(current_uow(), data)


# --- payroll runs -----------------------------------------------------------------------------------------


@blp.route("/payroll-runs")
class PayrollRuns(MethodView):
    @roles_required(*READERS)
    @blp.arguments(PayrollRunListArgs, location="query")
    @blp.response(200, PayrollRunPage)
    def get(self, args: dict[str, Any]) -> Any:
        """List payroll runs, newest period first (filters: period, project_id, status)"""
        return queries.list_runs(current_uow(), args)

    @idempotent
    @roles_required(*FINANCE)
    @blp.arguments(PayrollRunIn)
    @blp.response(201, PayrollRunOut)
    @blp.doc(
        description="Computes a draft: one payslip per agent with a plan and activity in the period. "
        "One run per period and scope (a project, or every project): another overlapping one is refused "
        "with 409. Data arriving late for an approved period is paid here as an adjustment naming it."
    )
    def post(self, data: dict[str, Any]) -> Any:
        """Start a payroll run for a period (YYYY-MM), for one project or all"""
        with racing(f"A run for {data['period']} and this scope was created at the same time.") as uow:
            return payroll.create_run(uow, data["period"], data.get("project_id"))


@blp.route("/payroll-runs/<run_id>")
class PayrollRunItem(MethodView):
    @roles_required(*READERS)
    @blp.response(200, PayrollRunOut)
    def get(self, run_id: str) -> Any:
        """One payroll run with its total and the agents left unpaid for want of a plan"""
        return queries.run(current_uow(), run_id)

    @transactional
    @roles_required(*FINANCE)
    @blp.response(204)
    def delete(self, run_id: str) -> None:
        """Discard a draft run (an approved run can never be deleted)"""
        payroll.delete_run(current_uow(), run_id)


@blp.route("/payroll-runs/<run_id>/recalculate", methods=["POST"])
@transactional
@roles_required(*FINANCE)
@blp.response(200, PayrollRunOut)
def recalculate_run(run_id: str) -> Any:
    """Recompute a draft from the data as it is now (409 once approved)"""
    return payroll.recalculate_run(current_uow(), run_id)


@blp.route("/payroll-runs/<run_id>/approve", methods=["POST"])
@transactional
@roles_required(*FINANCE)
@blp.response(200, PayrollRunOut)
@blp.doc(
    description="Freezes the run and its payslips for good and emits payroll.approved {run_id, period, "
    "total}. Refused (409) when already approved, or when data (or the deductions carried from an earlier "
    "period) changed after the draft was calculated (recalculate first). The answer lists the run's "
    "warnings (net pay zero or below, deductions carried, late data, agents with no hours or no plan)."
)
def approve_run(run_id: str) -> Any:
    """Approve a draft run (finance only)"""
    return payroll.approve_run(current_uow(), run_id)


@blp.route("/payroll-runs/<run_id>/payslips", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(PayslipListArgs, location="query")
@blp.response(200, PayslipPage)
def run_payslips(args: dict[str, Any], run_id: str) -> Page:
    """A run's payslips with their lines (filters: agent_id, project_id)"""
    return queries.run_payslips(current_uow(), run_id, args)


@blp.route("/payroll-runs/<run_id>/export", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(ExportArgs, location="query")
@blp.doc(
    description="CSV (UTF-8 with BOM, CRLF) or XLSX (`?format=xlsx`, or an `Accept` that prefers the XLSX "
    "type); Chinese headers, English with `?lang=en`. One row per payslip: "
    "the amounts in CNY of base pay, hourly pay, commission, deductions and adjustments, the total and "
    "every line with its explanation. Text cells starting with = + - @ are prefixed with ' in the CSV.",
    responses=export_responses("the payslips as CSV or as an XLSX workbook"),
)
def export_run(args: dict[str, Any], run_id: str) -> Response:
    """Export a run's payslips as CSV or XLSX"""
    table = exports.payroll_export(current_uow(), run_id)
    return export_response(
        exports.PAYROLL_COLUMNS,
        table.rows,
        filename=table.filename,
        fmt=negotiate_format(args.get("format")),
        lang=args["lang"],
        sheet=table.sheet,
    )


# --- payslips ---------------------------------------------------------------------------------------------


@blp.route("/payslips", methods=["GET"])
@roles_required("finance", "vendor", "agent")
@blp.arguments(MyPayslipListArgs, location="query")
@blp.response(200, PayslipPage)
def list_payslips(args: dict[str, Any]) -> Page:
    """Payslips across runs (filters: agent_id, project_id, period). An agent token sees only its own
    payslips of approved runs, whatever the filters say."""
    return queries.list_payslips(current_uow(), args)


@blp.route("/payslips/<payslip_id>", methods=["GET"])
@roles_required("finance", "vendor", "agent")
@blp.response(200, PayslipOut)
def get_payslip(payslip_id: str) -> dict[str, Any]:
    """One payslip as JSON; an agent gets only its own (404 for any other)"""
    return queries.payslip(current_uow(), payslip_id)


# --- read models (for pickers in the console) -------------------------------------------------------------


@blp.route("/projects", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(KnownProjectListArgs, location="query")
@blp.response(200, KnownProjectPage)
def list_projects(args: dict[str, Any]) -> Any:
    """The projects billing knows from onboarding's events (filter: status), by company name"""
    return queries.list_projects(current_uow(), args)


@blp.route("/agents", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(KnownAgentListArgs, location="query")
@blp.response(200, KnownAgentPage)
def list_agents(args: dict[str, Any]) -> Any:
    """Agents by project membership, with admission and departure days (filters: project_id, agent_id)"""
    return queries.list_agents(current_uow(), args)
