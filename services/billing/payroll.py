"""Payroll runs (薪资): calculation, approval, late data and carried deductions.

A run is a draft for one period and scope (a project, or every project) until finance approves it; then
it and its payslips never change. Calculating loads every agent's inputs for the period with a handful of
grouped queries, applies ``domain``, pays the late data of earlier closed periods (``changes``) and takes
deductions carried from earlier payslips. Approving emits payroll.approved in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import gc
import secrets
import uuid
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, case, delete, func, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.billing import domain
from services.billing.changes import CENT, Key
from services.billing.domain import (
    AdjustmentItem,
    CarriedIn,
    Conditions,
    DeductionItem,
    Kpi,
    Line,
    Membership,
    Period,
    PeriodInputs,
    PlanTerms,
    PlanVersion,
    ServiceStats,
)
from services.billing.models import (
    ALL_SCOPE,
    Adjustment,
    Agent,
    AttendanceDay,
    Deduction,
    KpiScore,
    PayPlan,
    PayrollPeriodClaim,
    PayrollRun,
    Payslip,
    PayslipLine,
    PendingChange,
    Performance,
    WorkedHours,
)
from services.billing.projections import require_project
from shared.bulk import chunks, insert_rows
from shared.errors import BusinessRuleViolation, NotFound
from shared.money import format_money
from shared.uow import UnitOfWork

DRAFT = "draft"
APPROVED = "approved"
#: response rates weighted by consultations are summed at this precision
MICRO = Decimal("0.000001")


def closed_scopes(session: Session) -> dict[str, set[str]]:
    """{period: {scope_key}} of the approved runs: a period is closed for a project when an approved run
    covers that project or every project."""
    out: dict[str, set[str]] = defaultdict(set)
    for period, scope in session.execute(
        select(PayrollRun.period, PayrollRun.scope_key).where(PayrollRun.status == APPROVED)
    ):
        out[period].add(scope)
    return out


def is_closed(closed: Mapping[str, set[str]], period: str, project_id: str) -> bool:
    scopes = closed.get(period, set())
    return ALL_SCOPE in scopes or project_id in scopes


def last_closed_period(uow: UnitOfWork, project_id: str) -> str | None:
    """The latest period approved for this project (by its own run or one for every project)."""
    return uow.session.execute(
        select(func.max(PayrollRun.period)).where(
            PayrollRun.status == APPROVED, PayrollRun.scope_key.in_([project_id, ALL_SCOPE])
        )
    ).scalar_one_or_none()


def _terms(
    plan_type: str,
    hourly_rate: Decimal | None,
    monthly_base: Decimal | None,
    commission_rate: Decimal | None,
    max_avg_response_seconds: Decimal | None,
    min_response_rate: Decimal | None,
    min_kpi_score: Decimal | None,
    kpi_targets_met: bool | None,
    base_factor_when_unmet: Decimal | None,
) -> PlanTerms:
    conditions = Conditions(max_avg_response_seconds, min_response_rate, min_kpi_score, bool(kpi_targets_met))
    return PlanTerms(
        type=plan_type,
        hourly_rate=hourly_rate,
        monthly_base=monthly_base,
        commission_rate=commission_rate,
        conditions=conditions if conditions.any else None,
        base_factor_when_unmet=base_factor_when_unmet,
    )


@dataclass(frozen=True)
class StoredPlan:
    """A plan as a payroll run reads it: its identity, and its terms built once for every agent on it."""

    id: str
    project_id: str
    agent_id: str | None
    type: str
    effective_from: dt.date
    terms: PlanTerms


#: in ``_terms``' argument order between the identity and ``effective_from``
_PLAN_COLUMNS = (
    PayPlan.id,
    PayPlan.project_id,
    PayPlan.agent_id,
    PayPlan.type,
    PayPlan.hourly_rate,
    PayPlan.monthly_base,
    PayPlan.commission_rate,
    PayPlan.max_avg_response_seconds,
    PayPlan.min_response_rate,
    PayPlan.min_kpi_score,
    PayPlan.kpi_targets_met,
    PayPlan.base_factor_when_unmet,
    PayPlan.effective_from,
)


@dataclass
class LoadedPeriod:
    inputs: dict[Key, PeriodInputs]
    names: dict[Key, str | None]
    plans: dict[str, list[StoredPlan]]


def _scope(
    stmt: Select[Any], model: Any, projects: Sequence[str] | None, keys: Sequence[Key] | None
) -> Select[Any]:
    if projects is not None:
        stmt = stmt.where(model.project_id.in_(list(projects)))
    if keys is not None:
        stmt = stmt.where(tuple_(model.agent_id, model.project_id).in_(list(keys)))
    return stmt


def _key_batches(keys: Sequence[Key] | None) -> list[Sequence[Key] | None]:
    return [None] if keys is None else list(chunks(sorted(keys)))


def load_period(
    session: Session, period: Period, projects: Sequence[str] | None, keys: Sequence[Key] | None = None
) -> LoadedPeriod:
    """Every agent's inputs for a period, with a handful of grouped queries (not one per agent)."""
    # Core rows on the session's connection: the ORM's row loading is a third of the time of reading
    # thousands of plain column rows, and nothing read here is an entity
    conn = session.connection()
    inputs: dict[Key, PeriodInputs] = defaultdict(PeriodInputs)
    start, end, label = period.start, period.end, str(period)
    for batch in _key_batches(keys):
        hours = select(WorkedHours.agent_id, WorkedHours.project_id, func.sum(WorkedHours.hours)).where(
            WorkedHours.date.between(start, end)
        )
        for agent_id, project_id, total in conn.execute(
            _scope(hours, WorkedHours, projects, batch).group_by(WorkedHours.agent_id, WorkedHours.project_id)
        ):
            inputs[(agent_id, project_id)].hours = Decimal(total).quantize(CENT)
        perf = select(
            Performance.agent_id,
            Performance.project_id,
            func.count(),
            func.sum(Performance.sales_amount),
            func.sum(Performance.consultations),
            func.sum(Performance.avg_response_seconds * Performance.consultations),
            func.sum(Performance.response_rate * Performance.consultations),
        ).where(Performance.date.between(start, end))
        for agent_id, project_id, days, sales, consultations, seconds_w, rate_w in conn.execute(
            _scope(perf, Performance, projects, batch).group_by(Performance.agent_id, Performance.project_id)
        ):
            item = inputs[(agent_id, project_id)]
            item.performance_days = int(days)
            # quantized: SQLite sums through floats; PostgreSQL's numeric sums are exact already
            item.sales = Decimal(sales).quantize(CENT)
            item.stats = ServiceStats(
                int(consultations or 0),
                Decimal(seconds_w or 0).quantize(CENT),
                Decimal(rate_w or 0).quantize(MICRO),
            )
        kpis = select(KpiScore.agent_id, KpiScore.project_id, KpiScore.score, KpiScore.targets_met)
        for agent_id, project_id, score, targets_met in conn.execute(
            _scope(kpis.where(KpiScore.period == label), KpiScore, projects, batch)
        ):
            inputs[(agent_id, project_id)].kpi = Kpi(Decimal(score), bool(targets_met))
        deductions = select(
            Deduction.agent_id,
            Deduction.project_id,
            Deduction.complaint_id,
            Deduction.number,
            Deduction.amount,
        )
        deductions = _scope(deductions.where(Deduction.period == label), Deduction, projects, batch)
        for agent_id, project_id, complaint_id, number, amount in conn.execute(
            deductions.order_by(Deduction.resolved_on, Deduction.complaint_id)
        ):
            inputs[(agent_id, project_id)].deductions.append(DeductionItem(complaint_id, number, amount))
        adjustments = select(
            Adjustment.agent_id, Adjustment.project_id, Adjustment.id, Adjustment.amount, Adjustment.reason
        )
        adjustments = _scope(adjustments.where(Adjustment.period == label), Adjustment, projects, batch)
        for agent_id, project_id, adjustment_id, amount, reason in conn.execute(
            adjustments.order_by(Adjustment.created_at, Adjustment.id)
        ):
            inputs[(agent_id, project_id)].adjustments.append(AdjustmentItem(adjustment_id, amount, reason))
    # memberships: every agent in the project during the period, plus the rows of agents with data;
    # plain columns, not entities: thousands of ORM objects cost more than the aggregates themselves
    names: dict[Key, str | None] = {}
    member = select(Agent.agent_id, Agent.project_id, Agent.name, Agent.admitted_on, Agent.departed_on)
    overlapping = member.where(
        or_(Agent.admitted_on.is_(None), Agent.admitted_on <= end),
        or_(Agent.departed_on.is_(None), Agent.departed_on >= start),
    )
    rows: list[Any] = []
    for batch in _key_batches(keys):
        rows.extend(conn.execute(_scope(overlapping, Agent, projects, batch)))
    seen = {(r.agent_id, r.project_id) for r in rows}
    rest = [k for k in inputs if k not in seen]
    for batch in chunks(rest):
        rows.extend(conn.execute(member.where(tuple_(Agent.agent_id, Agent.project_id).in_(list(batch)))))
    for agent_id, project_id, name, admitted_on, departed_on in rows:
        key = (agent_id, project_id)
        names[key] = name
        inputs[key].membership = Membership(admitted_on, departed_on)
    project_ids = sorted({p for _a, p in inputs})
    plans: dict[str, list[StoredPlan]] = defaultdict(list)
    # thousands of agent overrides share a handful of distinct terms: build each once
    terms: dict[tuple[Any, ...], PlanTerms] = {}
    for batch in chunks(project_ids):
        for plan_id, project_id, agent_id, plan_type, *values, effective_from in conn.execute(
            select(*_PLAN_COLUMNS).where(PayPlan.project_id.in_(list(batch)), PayPlan.effective_from <= end)
        ):
            key = (plan_type, *values)
            if key not in terms:
                terms[key] = _terms(plan_type, *values)
            plans[project_id].append(
                StoredPlan(plan_id, project_id, agent_id, plan_type, effective_from, terms[key])
            )
    return LoadedPeriod(dict(inputs), names, plans)


#: the payslip's attendance summary, in the order ``attendance_summaries`` counts it
ATTENDANCE_COLUMNS = (
    "attendance_days_recorded",
    "attendance_present",
    "attendance_late",
    "attendance_early_leave",
    "attendance_no_show",
    "attendance_late_minutes",
    "attendance_early_minutes",
)
NO_ATTENDANCE = (0,) * len(ATTENDANCE_COLUMNS)


def attendance_summaries(
    session: Session, period: Period, projects: Sequence[str] | None
) -> dict[Key, tuple[int, ...]]:
    """Each agent's attendance of the period (考勤): days recorded, present, late, left early, no-show, and
    the minutes late and early. A day late *and* left early counts as late and as left early."""
    a = AttendanceDay

    def days(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.sum(case((condition, 1), else_=0))

    stmt = select(
        a.agent_id,
        a.project_id,
        func.count(),
        days(a.status == "present"),
        days(a.status.in_(("late", "late_early_leave"))),
        days(a.status.in_(("early_leave", "late_early_leave"))),
        days(a.status == "no_show"),
        func.sum(a.late_minutes),
        func.sum(a.early_minutes),
    ).where(a.date.between(period.start, period.end))
    rows = session.connection().execute(_scope(stmt, a, projects, None).group_by(a.agent_id, a.project_id))
    return {
        (agent_id, project_id): tuple(int(n or 0) for n in counts) for agent_id, project_id, *counts in rows
    }


@dataclass(frozen=True)
class Computed:
    plan: StoredPlan | None
    lines: list[Line]


def compute_period(
    period: Period, loaded: LoadedPeriod, idle: list[tuple[Key, str]] | None = None
) -> tuple[dict[Key, Computed], list[Key]]:
    """Payslip lines per agent with a plan and activity; and the agents with data but no plan.

    ``idle`` collects (key, plan type) of members with a plan in force but nothing to pay.
    """
    out: dict[Key, Computed] = {}
    without_plan: list[Key] = []
    # per project: its defaults, and each agent's overrides, so resolving is O(own plans), not O(all plans)
    defaults: dict[str, list[PlanVersion]] = defaultdict(list)
    overrides: dict[Key, list[PlanVersion]] = defaultdict(list)
    by_id: dict[str, StoredPlan] = {}
    for plans in loaded.plans.values():
        for p in plans:
            by_id[p.id] = p
            version = PlanVersion(p.id, p.project_id, p.agent_id, p.effective_from)
            if p.agent_id is None:
                defaults[p.project_id].append(version)
            else:
                overrides[(p.agent_id, p.project_id)].append(version)
    for key, inputs in loaded.inputs.items():
        agent_id, project_id = key
        candidates = [*defaults.get(project_id, ()), *overrides.get(key, ())]
        version = domain.resolve_plan(candidates, agent_id, period)
        if version is None:
            if inputs.hours > 0 or inputs.performance_days > 0 or inputs.deductions or inputs.adjustments:
                without_plan.append(key)
            continue
        plan = by_id[version.id]
        if not domain.has_activity(plan.type, period, inputs):
            if idle is not None and inputs.membership is not None:
                idle.append((key, plan.type))
            continue
        out[key] = Computed(plan, domain.compute_lines(plan.terms, period, inputs))
    return out, sorted(without_plan)


def settled_amounts(session: Session, origin: str, keys: Sequence[Key]) -> dict[Key, Decimal]:
    """What approved runs have paid so far for a period, per agent and project (its own lines and late
    adjustments naming it), before any deduction was carried: the late-data recomputation is uncapped too."""
    out: dict[Key, Decimal] = {}
    for batch in chunks(sorted(keys)):
        stmt = (
            select(Payslip.agent_id, Payslip.project_id, func.sum(PayslipLine.amount))
            .join(Payslip, Payslip.id == PayslipLine.payslip_id)
            .join(PayrollRun, PayrollRun.id == Payslip.run_id)
            .where(
                PayrollRun.status == APPROVED,
                PayslipLine.origin_period == origin,
                # carried deductions move between periods without changing what a period comes to
                or_(PayslipLine.ref.is_(None), PayslipLine.ref != domain.CARRY_REF),
                tuple_(Payslip.agent_id, Payslip.project_id).in_(list(batch)),
            )
            .group_by(Payslip.agent_id, Payslip.project_id)
        )
        for agent_id, project_id, total in session.execute(stmt):
            out[(agent_id, project_id)] = Decimal(total).quantize(CENT)
    return out


def _late_marks(session: Session, run: PayrollRun) -> list[PendingChange]:
    """Marks of earlier, closed periods in the run's scope: the late data this run must settle."""
    stmt = select(PendingChange).where(PendingChange.period < run.period)
    if run.project_id is not None:
        stmt = stmt.where(PendingChange.project_id == run.project_id)
    closed = closed_scopes(session)
    return [m for m in session.scalars(stmt) if is_closed(closed, m.period, m.project_id)]


def late_lines(session: Session, run: PayrollRun) -> dict[Key, list[Line]]:
    by_origin: dict[str, list[Key]] = defaultdict(list)
    for mark in _late_marks(session, run):
        by_origin[mark.period].append((mark.agent_id, mark.project_id))
    out: dict[Key, list[Line]] = defaultdict(list)
    for origin in sorted(by_origin):
        keys = by_origin[origin]
        period = Period.parse(origin)
        computed, _ = compute_period(period, load_period(session, period, None, keys))
        settled = settled_amounts(session, origin, keys)
        for key in sorted(keys):
            now_total = domain.total_of(computed[key].lines) if key in computed else domain.ZERO
            line = domain.late_adjustment(period, now_total, settled.get(key, domain.ZERO))
            if line is not None:
                out[key].append(line)
    return out


_PAYSLIP_COLUMNS = (
    "id",
    "run_id",
    "period",
    "agent_id",
    "project_id",
    "agent_name",
    "plan_id",
    "plan_type",
    "total",
    *ATTENDANCE_COLUMNS,
)
_LINE_COLUMNS = ("payslip_id", "position", "kind", "amount", "explanation", "origin_period", "ref")


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a run is calculated.

    A run for thousands of agents allocates hundreds of thousands of short-lived objects (inputs, lines,
    rows), freed by reference counting as soon as they are dropped; the allocations alone trigger the
    cycle collector, whose full passes walk every object of the process, a few times per run for
    nothing (a fifth of a run's time, measured). Cycles made meanwhile are collected once it resumes.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def calculate(uow: UnitOfWork, run: PayrollRun) -> None:
    """Build a draft run's payslips from the data as it is now (a recalculation clears the old ones first)."""
    with _cycle_collector_paused():
        _calculate(uow, run)


def _calculate(uow: UnitOfWork, run: PayrollRun) -> None:
    session = uow.session
    # plain locals: the run's mapped attributes cost an instrumented lookup on each of thousands of reads
    run_id, label = run.id, run.period
    period = Period.parse(label)
    projects = [run.project_id] if run.project_id is not None else None
    loaded = load_period(session, period, projects)
    idle: list[tuple[Key, str]] = []
    computed, without_plan = compute_period(period, loaded, idle)
    late = late_lines(session, run)
    carried = outstanding_carry(session, projects)
    attendance = attendance_summaries(session, period, projects)
    idle_plans = dict(idle)
    summaries: list[domain.SlipSummary] = []
    payslips: list[tuple[Any, ...]] = []
    lines: list[tuple[Any, ...]] = []
    run_total = domain.ZERO
    keys = sorted(set(computed) | set(late))
    for key, slip_id in zip(keys, _ordered_ids(len(keys), uow.now()), strict=True):
        agent_id, project_id = key
        own = computed.get(key)
        plan = own.plan if own else None
        owed = carried.pop(key, None)
        slip_lines = domain.floor_deductions(
            [*(own.lines if own else []), *late.get(key, [])], period, _applicable(owed, label)
        )
        if owed is not None and not _applicable(owed, label):
            carried[key] = owed
        total = domain.total_of(slip_lines)
        name = loaded.names.get(key)
        summaries.append(
            domain.SlipSummary(
                agent_id,
                project_id,
                name,
                plan.type if plan else idle_plans.get(key),
                total,
                slip_lines,
                loaded.inputs[key].hours if key in loaded.inputs else domain.ZERO,
            )
        )
        payslips.append(
            (
                slip_id,
                run_id,
                label,
                agent_id,
                project_id,
                name,
                plan.id if plan else None,
                plan.type if plan else None,
                total,
                *attendance.get(key, NO_ATTENDANCE),
            )
        )
        lines.extend(
            (
                slip_id,
                position,
                line.kind,
                line.amount,
                line.explanation[:500],
                line.origin_period,
                line.ref,
            )
            for position, line in enumerate(slip_lines, start=1)
        )
        run_total += total
    insert_rows(session, Payslip, _PAYSLIP_COLUMNS, payslips)
    insert_rows(session, PayslipLine, _LINE_COLUMNS, lines)
    run.total = run_total
    run.payslip_count = len(payslips)
    run.without_plan = [{"agent_id": a, "project_id": p} for a, p in without_plan]
    run.warnings = [
        w.as_dict()
        for w in domain.run_warnings(
            period,
            summaries,
            without_plan=without_plan,
            idle=[
                (a, p, loaded.names.get((a, p)), plan_type)
                for (a, p), plan_type in sorted(idle)
                if (a, p) not in late  # paid late data (and carried deductions) on a payslip of its own
            ],
            outstanding=[(a, p, owed.amount) for (a, p), owed in sorted(carried.items())],
        )
    ]
    run.calculated_at = uow.now()


def _ordered_ids(count: int, now: dt.datetime) -> list[str]:
    """``count`` UUIDs in ascending order (version 7: the time, then random bits ending in a counter).

    Random ids would scatter a run's thousands of payslips (and their lines, by payslip) over every page
    of the indexes, each page dirtied (and logged in full after a checkpoint) for one row; ascending ids
    fill a few pages at the right edge. Unique across runs by the time and 42 random bits per run.
    """
    if count >= 1 << 32:
        raise ValueError("at most 2**32 ids per call")
    millis = int(now.timestamp() * 1000) & ((1 << 48) - 1)
    high = (millis << 80) | (0x7 << 76) | (secrets.randbits(12) << 64) | (0b10 << 62)
    high |= secrets.randbits(30) << 32
    # the counter is the last 8 hex digits: everything before it is the same for the whole run
    prefix = str(uuid.UUID(int=high))[:-8]
    return [f"{prefix}{i:08x}" for i in range(count)]


def _clear_payslips(session: Session, run_id: str) -> None:
    # no payslip is loaded as an object here: without synchronisation the DELETE does not return every id
    unsynchronised = {"synchronize_session": False}
    session.execute(
        delete(PayslipLine).where(
            PayslipLine.payslip_id.in_(select(Payslip.id).where(Payslip.run_id == run_id))
        ),
        execution_options=unsynchronised,
    )
    session.execute(delete(Payslip).where(Payslip.run_id == run_id), execution_options=unsynchronised)


def _applicable(owed: CarriedIn | None, period: str) -> CarriedIn | None:
    """Carried deductions are taken by a later period's payslip, never by an earlier one's."""
    return owed if owed is not None and owed.since < period else None


def outstanding_carry(
    session: Session, projects: Sequence[str] | None, keys: Sequence[Key] | None = None
) -> dict[Key, CarriedIn]:
    """Deductions still owed per agent and project: the balance of the carry lines of approved
    payslips (carried forward +, taken over −; ref ``CARRY_REF``), with the latest period that moved them."""
    out: dict[Key, CarriedIn] = {}
    for batch in _key_batches(keys):
        stmt = (
            select(
                Payslip.agent_id, Payslip.project_id, func.sum(PayslipLine.amount), func.max(Payslip.period)
            )
            .join(Payslip, Payslip.id == PayslipLine.payslip_id)
            .join(PayrollRun, PayrollRun.id == Payslip.run_id)
            .where(PayrollRun.status == APPROVED, PayslipLine.ref == domain.CARRY_REF)
            .group_by(Payslip.agent_id, Payslip.project_id)
        )
        for agent_id, project_id, balance, since in session.execute(_scope(stmt, Payslip, projects, batch)):
            amount = Decimal(balance).quantize(CENT)
            if amount > 0:
                out[(agent_id, project_id)] = CarriedIn(amount, since)
    return out


def _overlap_detail(other: PayrollRun, period: str) -> tuple[str, str]:
    scope = f"project {other.project_id}" if other.project_id else "every project"
    if other.status == APPROVED:
        return (
            f"Payroll for {period} is already approved for {scope} (run {other.id}); an approved run never "
            "changes and pay is never computed twice. Data arriving late for it is paid in the next period's "
            "run as an adjustment.",
            "period-closed",
        )
    return (
        f"A draft run for {period} already covers {scope} (run {other.id}): recalculate it with "
        f"POST /api/v1/payroll-runs/{other.id}/recalculate, or delete it first to run another scope.",
        "run-exists",
    )


def _refuse_overlap(session: Session, period: str, scope: str) -> None:
    for other in session.scalars(select(PayrollRun).where(PayrollRun.period == period)):
        if other.scope_key == scope or ALL_SCOPE in (other.scope_key, scope):
            detail, rule = _overlap_detail(other, period)
            raise BusinessRuleViolation(detail, rule=rule, status=409, extra={"run_id": other.id})


def _claim_column(scope: str) -> str:
    return "whole_runs" if scope == ALL_SCOPE else "project_runs"


def _claim_scope(session: Session, period: str, scope: str) -> None:
    """Count the new run in its period's claim row; the row's CHECK refuses an overlapping scope.

    The upsert waits for any other transaction holding the row (a concurrent creation or deletion) and
    then applies to what it committed, so of two overlapping runs created at once exactly one survives.
    On conflict the transaction is rolled back and the run that holds the scope is named in the 409.
    """
    column = _claim_column(scope)
    table = PayrollPeriodClaim.__table__
    builder = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = builder(table).values(
        period=period, whole_runs=int(scope == ALL_SCOPE), project_runs=int(scope != ALL_SCOPE)
    )
    try:
        session.execute(
            stmt.on_conflict_do_update(index_elements=["period"], set_={column: table.c[column] + 1})
        )
    except IntegrityError:
        session.rollback()
        _refuse_overlap(session, period, scope)
        raise BusinessRuleViolation(
            f"Another run for {period} overlapping this scope was being created or deleted at the same "
            "time; list the period's runs and try again.",
            rule="run-exists",
            status=409,
        ) from None


def _release_scope(session: Session, run: PayrollRun) -> None:
    column = _claim_column(run.scope_key)
    table = PayrollPeriodClaim.__table__
    session.execute(update(table).where(table.c.period == run.period).values({column: table.c[column] - 1}))


def create_run(uow: UnitOfWork, period: str, project_id: str | None) -> PayrollRun:
    """A draft run for a period (YYYY-MM), for one project or all, calculated at once."""
    session = uow.session
    if project_id is not None:
        require_project(uow, project_id)
    scope = project_id or ALL_SCOPE
    # the friendly refusal for the usual case; the claim below is what holds under concurrency
    _refuse_overlap(session, period, scope)
    _claim_scope(session, period, scope)
    now = uow.now()
    run = PayrollRun(
        id=str(uuid.uuid4()),
        period=period,
        project_id=project_id,
        scope_key=scope,
        status=DRAFT,
        total=domain.ZERO,
        payslip_count=0,
        without_plan=[],
        warnings=[],
        created_at=now,
        created_by=uow.actor.sub,
        calculated_at=now,
    )
    session.add(run)
    session.flush()
    calculate(uow, run)
    return run


def get_run(uow: UnitOfWork, run_id: str, *, for_update: bool = False) -> PayrollRun:
    """The run (404 if unknown); ``for_update`` locks it, and re-reads it, for a change of state."""
    stmt = select(PayrollRun).where(PayrollRun.id == run_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    run = uow.session.scalars(stmt).one_or_none()
    if run is None:
        raise NotFound(f"There is no payroll run {run_id!r}.")
    return run


def _refuse_if_approved(run: PayrollRun, action: str) -> None:
    if run.status == APPROVED:
        when = run.approved_at.isoformat() if run.approved_at else "?"
        raise BusinessRuleViolation(
            f"Run {run.id} for {run.period} was approved at {when}"
            f" and can no longer be {action}: approved runs and payslips never change. Late data is paid in "
            "the next period's run as an adjustment.",
            rule="run-approved",
            status=409,
        )


def recalculate_run(uow: UnitOfWork, run_id: str) -> PayrollRun:
    run = get_run(uow, run_id, for_update=True)
    _refuse_if_approved(run, "recalculated")
    _clear_payslips(uow.session, run.id)
    calculate(uow, run)
    return run


def delete_run(uow: UnitOfWork, run_id: str) -> None:
    """Discard a draft and free its scope of the period for another run."""
    session = uow.session
    run = get_run(uow, run_id)
    _refuse_if_approved(run, "deleted")
    # the claim row before the run row, in the order create_run takes them, so the two never deadlock
    _release_scope(session, run)
    run = get_run(uow, run_id, for_update=True)
    _refuse_if_approved(run, "deleted")
    _clear_payslips(session, run.id)
    session.delete(run)


def _accounted_marks(session: Session, run: PayrollRun) -> list[PendingChange]:
    """The marks a run's calculation covered: its own period, and earlier closed periods in its scope."""
    stmt = select(PendingChange).where(PendingChange.period <= run.period)
    if run.project_id is not None:
        stmt = stmt.where(PendingChange.project_id == run.project_id)
    closed = closed_scopes(session)
    return [
        m
        for m in session.scalars(stmt)
        if m.period == run.period or is_closed(closed, m.period, m.project_id)
    ]


def approve_run(uow: UnitOfWork, run_id: str) -> PayrollRun:
    """Freeze a draft (finance only) and announce payroll.approved, in one transaction."""
    session = uow.session
    run = get_run(uow, run_id, for_update=True)
    if run.status == APPROVED:
        raise BusinessRuleViolation(
            f"Run {run.id} for {run.period} is already approved (by {run.approved_by} at "
            f"{run.approved_at.isoformat() if run.approved_at else '?'}); there is nothing left to approve.",
            rule="already-approved",
            status=409,
        )
    marks = _accounted_marks(session, run)
    stale = [m for m in marks if m.changed_at > run.calculated_at]
    if stale:
        raise BusinessRuleViolation(
            f"{len(stale)} agent-period(s) received data after this draft was calculated at "
            f"{run.calculated_at.isoformat()}; approving would freeze outdated payslips. Recalculate with "
            f"POST /api/v1/payroll-runs/{run.id}/recalculate, check the figures, then approve.",
            rule="stale-draft",
            status=409,
        )
    drift = _carry_drift(session, run)
    if drift:
        raise BusinessRuleViolation(
            f"Deductions carried from earlier periods changed for {drift} agent(s) since this draft was "
            f"calculated at {run.calculated_at.isoformat()} (another run was approved); approving would take "
            f"them twice or miss them. Recalculate with POST /api/v1/payroll-runs/{run.id}/recalculate, "
            "check the figures, then approve.",
            rule="stale-draft",
            status=409,
        )
    now = uow.now()
    run.status = APPROVED
    run.approved_at = now
    run.approved_by = uow.actor.sub
    for chunk in chunks(marks):
        session.execute(
            delete(PendingChange).where(
                tuple_(PendingChange.project_id, PendingChange.agent_id, PendingChange.period).in_(
                    [(m.project_id, m.agent_id, m.period) for m in chunk]
                ),
                # a mark re-written concurrently is newer than the calculation: keep it for the next run
                PendingChange.changed_at <= run.calculated_at,
            )
        )
    uow.emit(
        "payroll.approved",
        {
            "run_id": run.id,
            "period": run.period,
            "total": format_money(run.total),
            "project_id": run.project_id,
        },
    )
    return run


def _carry_drift(session: Session, run: PayrollRun) -> int:
    """Payslips whose carried-in deductions no longer match what is owed now."""
    taken: dict[Key, Decimal] = defaultdict(Decimal)
    keys: list[Key] = []
    for agent_id, project_id, amount in session.execute(
        select(Payslip.agent_id, Payslip.project_id, func.coalesce(func.sum(PayslipLine.amount), 0))
        .outerjoin(
            PayslipLine,
            (PayslipLine.payslip_id == Payslip.id)
            & (PayslipLine.ref == domain.CARRY_REF)
            & (PayslipLine.amount < 0),
        )
        .where(Payslip.run_id == run.id)
        .group_by(Payslip.agent_id, Payslip.project_id)
    ):
        keys.append((agent_id, project_id))
        taken[(agent_id, project_id)] = -Decimal(amount).quantize(CENT)
    owed = outstanding_carry(session, None, keys) if keys else {}
    drift = 0
    for key in keys:
        now_owed = _applicable(owed.get(key), run.period)
        if taken[key] != (now_owed.amount if now_owed else domain.ZERO):
            drift += 1
    return drift
