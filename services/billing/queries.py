"""The read side of the billing service: lists with their filters, one plan, run or payslip, and the
shape the views answer with.

Every query takes the unit of work; the caller (``uow.actor``) narrows what an agent sees to its own
payslips of approved runs.

Lists page with ``after`` (keyset) or ``page``. Each list's sort ends with a unique key and is served,
after each equality filter a user can send, by an index of migration billing_0005 (the plans are checked in
tests/integration/test_list_plans_billing.py): a page is an index range read, whatever its depth.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select

from services.billing.models import (
    Adjustment,
    Agent,
    AttendanceDay,
    Deduction,
    PayPlan,
    PayrollRun,
    Payslip,
    PayslipLine,
    Performance,
    Project,
    WorkedHours,
)
from services.billing.payroll import APPROVED, get_run
from shared.bulk import chunks
from shared.errors import NotFound
from shared.pagination import Page, paginate_args
from shared.uow import UnitOfWork


def plan_view(plan: PayPlan) -> dict[str, Any]:
    has_conditions = (
        plan.max_avg_response_seconds is not None
        or plan.min_response_rate is not None
        or plan.min_kpi_score is not None
        or bool(plan.kpi_targets_met)
    )
    return {
        "id": plan.id,
        "project_id": plan.project_id,
        "agent_id": plan.agent_id,
        "type": plan.type,
        "hourly_rate": plan.hourly_rate,
        "monthly_base": plan.monthly_base,
        "commission_rate": plan.commission_rate,
        "conditions": {
            "max_avg_response_seconds": plan.max_avg_response_seconds,
            "min_response_rate": plan.min_response_rate,
            "min_kpi_score": plan.min_kpi_score,
            "kpi_targets_met": bool(plan.kpi_targets_met),
        }
        if has_conditions
        else None,
        "base_factor_when_unmet": plan.base_factor_when_unmet,
        "effective_from": plan.effective_from,
        "notes": plan.notes,
        "created_at": plan.created_at,
        "created_by": plan.created_by,
    }


PLANS_ORDER = (PayPlan.project_id, PayPlan.scope_key, PayPlan.effective_from, PayPlan.id)


def _plans_query(args: Mapping[str, Any]) -> Select[Any]:
    stmt = select(PayPlan)
    if args.get("project_id"):
        stmt = stmt.where(PayPlan.project_id == args["project_id"])
    if args.get("agent_id"):
        stmt = stmt.where(PayPlan.agent_id == args["agent_id"])
    if args.get("type"):
        stmt = stmt.where(PayPlan.type == args["type"])
    if args.get("defaults_only"):
        stmt = stmt.where(PayPlan.agent_id.is_(None))
    return stmt


def plan(uow: UnitOfWork, plan_id: str) -> dict[str, Any]:
    """One pay plan, as the views answer it."""
    found = uow.session.get(PayPlan, plan_id)
    if found is None:
        raise NotFound(f"There is no pay plan {plan_id!r}.")
    return plan_view(found)


def range_order(model: Any) -> tuple[Any, ...]:
    """Days by date, then project and agent (the primary key, so the last page ends exactly)."""
    return (model.date, model.project_id, model.agent_id)


def _range_query(model: Any, args: Mapping[str, Any]) -> Select[Any]:
    stmt = select(model)
    if args.get("project_id"):
        stmt = stmt.where(model.project_id == args["project_id"])
    if args.get("agent_id"):
        stmt = stmt.where(model.agent_id == args["agent_id"])
    if args.get("from_"):
        stmt = stmt.where(model.date >= args["from_"])
    if args.get("to"):
        stmt = stmt.where(model.date <= args["to"])
    return stmt


def _performance_query(args: Mapping[str, Any]) -> Select[Any]:
    return _range_query(Performance, args)


def _worked_hours_query(args: Mapping[str, Any]) -> Select[Any]:
    return _range_query(WorkedHours, args)


def _attendance_query(args: Mapping[str, Any], merchant_id: str | None = None) -> Select[Any]:
    """Attendance days with the list's filters; a merchant's narrowed to its own projects."""
    stmt = _range_query(AttendanceDay, args)
    if merchant_id is not None:
        own = select(Project.project_id).where(Project.merchant_id == merchant_id)
        stmt = stmt.where(AttendanceDay.project_id.in_(own))
    return stmt


DEDUCTIONS_ORDER = (Deduction.resolved_on, Deduction.complaint_id)
ADJUSTMENTS_ORDER = (Adjustment.created_at, Adjustment.id)


def _period_query(model: Any, args: Mapping[str, Any]) -> Select[Any]:
    stmt = select(model)
    for name in ("project_id", "agent_id", "period"):
        if args.get(name):
            stmt = stmt.where(getattr(model, name) == args[name])
    return stmt


def _deductions_query(args: Mapping[str, Any]) -> Select[Any]:
    return _period_query(Deduction, args)


def _adjustments_query(args: Mapping[str, Any]) -> Select[Any]:
    return _period_query(Adjustment, args)


#: newest period first; one direction throughout, so that ``after`` is one row comparison an index serves
RUNS_ORDER = (PayrollRun.period.desc(), PayrollRun.created_at.desc(), PayrollRun.id.desc())


def _runs_query(args: Mapping[str, Any]) -> Select[Any]:
    stmt = select(PayrollRun)
    for name in ("period", "project_id", "status"):
        if args.get(name):
            stmt = stmt.where(getattr(PayrollRun, name) == args[name])
    return stmt


#: across runs: newest period first, then project and agent (all descending: see ``RUNS_ORDER``)
PAYSLIPS_ORDER = (
    Payslip.period.desc(),
    Payslip.project_id.desc(),
    Payslip.agent_id.desc(),
    Payslip.id.desc(),
)
#: within one run, (agent, project) is unique: the order of the run's unique index, which serves the list
RUN_PAYSLIPS_ORDER = (Payslip.agent_id, Payslip.project_id)


def _payslips_query(
    args: Mapping[str, Any], *, run_id: str | None = None, approved_only: bool = False
) -> Select[Any]:
    stmt = select(Payslip).join(PayrollRun, PayrollRun.id == Payslip.run_id)
    if run_id is not None:
        stmt = stmt.where(Payslip.run_id == run_id)
    if approved_only:
        stmt = stmt.where(PayrollRun.status == APPROVED)
    for name in ("agent_id", "project_id", "period"):
        if args.get(name):
            stmt = stmt.where(getattr(Payslip, name) == args[name])
    return stmt


def attendance_view(p: Payslip) -> dict[str, int] | None:
    """The payslip's attendance summary as calculated with it (None: calculated before billing had any)."""
    if p.attendance_days_recorded is None:
        return None
    return {
        "days_recorded": p.attendance_days_recorded,
        "present": p.attendance_present,
        "late": p.attendance_late,
        "early_leave": p.attendance_early_leave,
        "no_show": p.attendance_no_show,
        "late_minutes": p.attendance_late_minutes,
        "early_minutes": p.attendance_early_minutes,
    }


def payslip_views(uow: UnitOfWork, payslips: Sequence[Payslip]) -> list[dict[str, Any]]:
    """Payslips with their lines and their run's status, as the views (and the export) show them."""
    session = uow.session
    if not payslips:
        return []
    ids = [p.id for p in payslips]
    lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for chunk in chunks(ids):
        for line in session.scalars(
            select(PayslipLine)
            .where(PayslipLine.payslip_id.in_(list(chunk)))
            .order_by(PayslipLine.payslip_id, PayslipLine.position)
        ):
            lines[line.payslip_id].append(
                {
                    "kind": line.kind,
                    "amount": line.amount,
                    "explanation": line.explanation,
                    "origin_period": line.origin_period,
                    "ref": line.ref,
                }
            )
    statuses = dict(
        session.execute(
            select(PayrollRun.id, PayrollRun.status).where(PayrollRun.id.in_({p.run_id for p in payslips}))
        ).all()
    )
    return [
        {
            "id": p.id,
            "run_id": p.run_id,
            "period": p.period,
            "status": statuses.get(p.run_id),
            "agent_id": p.agent_id,
            "agent_name": p.agent_name,
            "project_id": p.project_id,
            "plan_id": p.plan_id,
            "plan_type": p.plan_type,
            "total": p.total,
            "lines": lines.get(p.id, []),
            "attendance": attendance_view(p),
        }
        for p in payslips
    ]


def payslip(uow: UnitOfWork, payslip_id: str) -> dict[str, Any]:
    """One payslip; an agent reaches only its own, and only once the run is approved (404 otherwise,
    so an agent cannot even learn that another agent's payslip exists)."""
    missing = f"There is no payslip {payslip_id!r}."
    session, actor = uow.session, uow.actor
    found = session.get(Payslip, payslip_id)
    if found is None:
        raise NotFound(missing)
    if actor.role == "agent":
        run = session.get(PayrollRun, found.run_id)
        if found.agent_id != actor.sub or run is None or run.status != APPROVED:
            raise NotFound(missing)
    return payslip_views(uow, [found])[0]


#: names may be missing (NULL): a keyset column must not be, so the sort is on the name or '' (first)
PROJECT_SORT_NAME = func.coalesce(Project.company_name, "").label("sort_name")
PROJECTS_ORDER: tuple[ColumnElement[Any], ...] = (PROJECT_SORT_NAME, Project.project_id)


def _projects_query(args: Mapping[str, Any]) -> Select[Any]:
    """The projects billing knows (from onboarding's events): what finance picks a plan or run for, by name.

    Rows of columns, not entities: the sort name rides in the row for the cursor."""
    stmt = select(
        Project.project_id, Project.company_name, Project.status, Project.updated_at, PROJECT_SORT_NAME
    )
    if args.get("status"):
        stmt = stmt.where(Project.status == args["status"])
    return stmt


AGENT_SORT_NAME = func.coalesce(Agent.name, "").label("sort_name")
AGENTS_ORDER: tuple[ColumnElement[Any], ...] = (Agent.project_id, AGENT_SORT_NAME, Agent.agent_id)


def _agents_query(args: Mapping[str, Any]) -> Select[Any]:
    """Agents by project membership (from agent.admitted / departed): whom a plan or a day can name; by
    project, then name (as ``_projects_query``)."""
    stmt = select(
        Agent.agent_id, Agent.project_id, Agent.name, Agent.admitted_on, Agent.departed_on, AGENT_SORT_NAME
    )
    for name in ("project_id", "agent_id"):
        if args.get(name):
            stmt = stmt.where(getattr(Agent, name) == args[name])
    return stmt


# --- what the views call ----------------------------------------------------------------------------------


def list_plans(uow: UnitOfWork, args: Mapping[str, Any]) -> Page:
    page = paginate_args(uow.session, _plans_query(args), args, order_by=PLANS_ORDER)
    return page.with_items([plan_view(p) for p in page.items])


def list_performance(uow: UnitOfWork, args: Mapping[str, Any]) -> Page:
    return paginate_args(uow.session, _performance_query(args), args, order_by=range_order(Performance))


def list_worked_hours(uow: UnitOfWork, args: Mapping[str, Any]) -> Page:
    return paginate_args(uow.session, _worked_hours_query(args), args, order_by=range_order(WorkedHours))


def list_attendance(uow: UnitOfWork, args: Mapping[str, Any]) -> Page:
    """Attendance days; an agent sees only its own, a merchant only its projects' (whatever the filters)."""
    actor = uow.actor
    if actor.role == "agent":
        args = {**args, "agent_id": actor.sub}
    merchant_id = actor.merchant_id if actor.is_merchant else None
    stmt = _attendance_query(args, merchant_id)
    return paginate_args(uow.session, stmt, args, order_by=range_order(AttendanceDay))


def list_deductions(uow: UnitOfWork, args: Mapping[str, Any]) -> Page:
    return paginate_args(uow.session, _deductions_query(args), args, order_by=DEDUCTIONS_ORDER)


def list_adjustments(uow: UnitOfWork, args: Mapping[str, Any]) -> Page:
    return paginate_args(uow.session, _adjustments_query(args), args, order_by=ADJUSTMENTS_ORDER)


def list_runs(uow: UnitOfWork, args: Mapping[str, Any]) -> Page:
    return paginate_args(uow.session, _runs_query(args), args, order_by=RUNS_ORDER)


def run(uow: UnitOfWork, run_id: str) -> PayrollRun:
    """One payroll run with its total and the agents left unpaid for want of a plan (404 if unknown)."""
    return get_run(uow, run_id)


def run_payslips(uow: UnitOfWork, run_id: str, args: Mapping[str, Any]) -> Page:
    get_run(uow, run_id)
    page = paginate_args(uow.session, _payslips_query(args, run_id=run_id), args, order_by=RUN_PAYSLIPS_ORDER)
    return page.with_items(payslip_views(uow, page.items))


def list_payslips(uow: UnitOfWork, args: Mapping[str, Any]) -> Page:
    """Payslips across runs; an agent sees only its own payslips of approved runs, whatever the filters."""
    approved_only = False
    if uow.actor.role == "agent":
        args = {**args, "agent_id": uow.actor.sub}
        approved_only = True
    page = paginate_args(
        uow.session, _payslips_query(args, approved_only=approved_only), args, order_by=PAYSLIPS_ORDER
    )
    return page.with_items(payslip_views(uow, page.items))


def list_projects(uow: UnitOfWork, args: Mapping[str, Any]) -> Page:
    return paginate_args(uow.session, _projects_query(args), args, order_by=PROJECTS_ORDER)


def list_agents(uow: UnitOfWork, args: Mapping[str, Any]) -> Page:
    return paginate_args(uow.session, _agents_query(args), args, order_by=AGENTS_ORDER)
