"""Billing use cases: load, apply ``domain``, save, stage events — each in the caller's one transaction.

The API commits after a use case returns; the event handlers run inside the consumer's inbox
transaction and never commit themselves.

Late data. Every write of pay data (hours, performance, a penalty, an adjustment, a join or departure)
marks the agent's (project, period) in ``pending_changes``. A payroll run for period Q recomputes, for each
marked agent and each earlier period P that is already approved (closed), what P comes to now, and pays
the difference against what approved runs already paid for P as an adjustment line naming P. Approving Q
clears the marks it accounted for; a mark written after Q was calculated makes the approval refuse
(recalculate first), so nothing that arrives in between is lost.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.billing import domain
from services.billing.csvio import ExportRow
from services.billing.domain import (
    AdjustmentItem,
    CarriedIn,
    Conditions,
    DeductionItem,
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
    Deduction,
    PayPlan,
    PayrollPeriodClaim,
    PayrollRun,
    Payslip,
    PayslipLine,
    PendingChange,
    Performance,
    Project,
    WorkedHours,
)
from shared.db import utcnow
from shared.errors import BusinessRuleViolation, NotFound, ValidationFailed
from shared.events.outbox import add_event
from shared.money import format_money
from shared.workdays import SHANGHAI

Key = tuple[str, str]  # (agent_id, project_id)
T = TypeVar("T")

DRAFT = "draft"
APPROVED = "approved"
CHUNK = 1000
CENT = Decimal("0.01")
MICRO = Decimal("0.000001")


@dataclass(frozen=True)
class Actor:
    sub: str
    role: str


def parse_instant(value: dt.datetime | str) -> dt.datetime:
    """An aware timestamp from an event (ISO 8601 text or datetime); a naive one is taken as UTC."""
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def shanghai_date(value: dt.datetime | str) -> dt.date:
    """The business date (Asia/Shanghai) of an instant: 23:30 UTC on the 31st is already the 1st."""
    return parse_instant(value).astimezone(SHANGHAI).date()


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _upsert(session: Session, model: Any, rows: list[dict[str, Any]], keys: Sequence[str]) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE every other column: a re-sent row replaces the earlier one."""
    if not rows:
        return
    table = model.__table__
    dialect = session.get_bind().dialect.name
    builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for chunk in _chunks(rows):
        stmt = builder(table).values(list(chunk))
        updates = {c: getattr(stmt.excluded, c) for c in chunk[0] if c not in keys}
        session.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=updates))


def mark_changed(session: Session, marks: Iterable[tuple[str, str, str]], now: dt.datetime) -> None:
    """Journal (project_id, agent_id, period) as touched: see the module docstring."""
    rows = [{"project_id": p, "agent_id": a, "period": per, "changed_at": now} for p, a, per in set(marks)]
    _upsert(
        session,
        PendingChange,
        sorted(rows, key=lambda r: (r["project_id"], r["agent_id"], r["period"])),
        ("project_id", "agent_id", "period"),
    )


# --- read models from events ------------------------------------------------------------------------------


def project_confirmed(session: Session, data: Mapping[str, Any], now: dt.datetime) -> None:
    project = session.get(Project, data["project_id"])
    name = data.get("company_name") or (data.get("merchant") or {}).get("company_name")
    if project is None:
        session.add(
            Project(
                project_id=data["project_id"],
                merchant_id=data.get("merchant_id"),
                company_name=name,
                status="confirmed",
                updated_at=now,
            )
        )
        return
    project.merchant_id = data.get("merchant_id") or project.merchant_id
    project.company_name = name or project.company_name
    project.updated_at = now  # a late confirmation never reopens a closed project


def project_updated(session: Session, data: Mapping[str, Any], now: dt.datetime) -> None:
    project = session.get(Project, data["project_id"])
    if project is None:
        session.add(
            Project(
                project_id=data["project_id"],
                merchant_id=data.get("merchant_id"),
                status="confirmed",
                updated_at=now,
            )
        )
        return
    project.merchant_id = data.get("merchant_id") or project.merchant_id
    project.updated_at = now


def project_closed(session: Session, data: Mapping[str, Any], now: dt.datetime) -> None:
    project = session.get(Project, data["project_id"])
    if project is None:
        session.add(
            Project(
                project_id=data["project_id"],
                merchant_id=data.get("merchant_id"),
                status="closed",
                updated_at=now,
            )
        )
        return
    project.status = "closed"
    project.updated_at = now


def _agent(session: Session, agent_id: str, project_id: str, now: dt.datetime) -> tuple[Agent, bool]:
    row = session.get(Agent, (agent_id, project_id))
    if row is not None:
        return row, False
    row = Agent(agent_id=agent_id, project_id=project_id, updated_at=now)
    session.add(row)
    return row, True


def agent_admitted(session: Session, data: Mapping[str, Any], occurred_on: dt.date, now: dt.datetime) -> None:
    """The agent joins the project on the admission day (admitted_at, else the event's date)."""
    day = shanghai_date(data["admitted_at"]) if data.get("admitted_at") else occurred_on
    row, _new = _agent(session, data["candidate_id"], data["project_id"], now)
    row.name = data.get("name") or row.name
    if row.departed_on is not None and day > row.departed_on:
        row.admitted_on, row.departed_on = day, None  # admitted again after leaving: a new stint
    elif row.admitted_on is None or day < row.admitted_on:
        row.admitted_on = day
    row.updated_at = now
    mark_changed(session, [(row.project_id, row.agent_id, str(Period.of(day)))], now)


def agent_departed(session: Session, data: Mapping[str, Any], occurred_on: dt.date, now: dt.datetime) -> None:
    """The agent leaves on the departure date (its last paid day)."""
    day = data.get("date") or occurred_on
    row, _new = _agent(session, data["agent_id"], data["project_id"], now)
    row.departed_on = day
    row.replaced_by = data.get("replacement_id") or row.replaced_by
    row.updated_at = now
    mark_changed(session, [(row.project_id, row.agent_id, str(Period.of(day)))], now)


def agent_replaced(session: Session, data: Mapping[str, Any], occurred_on: dt.date, now: dt.datetime) -> None:
    """The departed agent leaves and the reserve taking over joins (if not a member already) that day."""
    day = data.get("date") or occurred_on
    marks = []
    row, _new = _agent(session, data["agent_id"], data["project_id"], now)
    if row.departed_on is None:
        row.departed_on = day
    row.replaced_by = data.get("replacement_id") or row.replaced_by
    row.updated_at = now
    marks.append((row.project_id, row.agent_id, str(Period.of(day))))
    if data.get("replacement_id"):
        reserve, new = _agent(session, data["replacement_id"], data["project_id"], now)
        if new or reserve.admitted_on is None:
            reserve.admitted_on = day
        elif reserve.departed_on is not None and reserve.departed_on < day:
            reserve.admitted_on, reserve.departed_on = day, None
        reserve.updated_at = now
        marks.append((reserve.project_id, reserve.agent_id, str(Period.of(day))))
    mark_changed(session, marks, now)


def shift_worked(session: Session, data: Mapping[str, Any], now: dt.datetime) -> None:
    """Hours of a day, upserted by (agent, project, date): a corrected timesheet replaces the first."""
    _upsert(
        session,
        WorkedHours,
        [
            {
                "agent_id": data["agent_id"],
                "project_id": data["project_id"],
                "date": data["date"],
                "hours": Decimal(data["hours"]).quantize(CENT),
                "updated_at": now,
            }
        ],
        ("agent_id", "project_id", "date"),
    )
    mark_changed(session, [(data["project_id"], data["agent_id"], str(Period.of(data["date"])))], now)


def complaint_upheld(
    session: Session, data: Mapping[str, Any], occurred_at: dt.datetime, now: dt.datetime
) -> None:
    """The penalty falls into the period of the complaint's resolution (resolved_at, else the event time)."""
    resolved_on = shanghai_date(data.get("resolved_at") or occurred_at)
    period = str(Period.of(resolved_on))
    marks = [(data["project_id"], data["agent_id"], period)]
    existing = session.get(Deduction, data["complaint_id"])
    if existing is not None:
        marks.append((existing.project_id, existing.agent_id, existing.period))
    _upsert(
        session,
        Deduction,
        [
            {
                "complaint_id": data["complaint_id"],
                "number": data["number"],
                "agent_id": data["agent_id"],
                "project_id": data["project_id"],
                "amount": Decimal(data["penalty"]),
                "resolved_on": resolved_on,
                "period": period,
                "updated_at": now,
            }
        ],
        ("complaint_id",),
    )
    mark_changed(session, marks, now)


# --- pay plans --------------------------------------------------------------------------------------------


def _require_project(session: Session, project_id: str) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise BusinessRuleViolation(
            f"Billing knows no project {project_id!r}: projects arrive from onboarding's project.confirmed. "
            "Use the id of a confirmed project (or wait a moment if it was just confirmed).",
            rule="unknown-project",
        )
    return project


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


def last_closed_period(session: Session, project_id: str) -> str | None:
    return session.execute(
        select(func.max(PayrollRun.period)).where(
            PayrollRun.status == APPROVED, PayrollRun.scope_key.in_([project_id, ALL_SCOPE])
        )
    ).scalar_one_or_none()


def create_plan(session: Session, data: Mapping[str, Any], actor: Actor, today: dt.date) -> PayPlan:
    _require_project(session, data["project_id"])
    effective_from: dt.date = data.get("effective_from") or today.replace(day=1)
    closed = last_closed_period(session, data["project_id"])
    if closed is not None and str(Period.of(effective_from)) <= closed:
        first_open = Period.parse(closed).next().start
        raise BusinessRuleViolation(
            f"Payroll for {closed} is approved for this project, and a new plan never rewrites a closed "
            f"period: make it effective from {first_open.isoformat()} or later.",
            rule="closed-period",
            status=409,
        )
    scope_key = data.get("agent_id") or ALL_SCOPE
    clash = session.execute(
        select(PayPlan.id).where(
            PayPlan.project_id == data["project_id"],
            PayPlan.scope_key == scope_key,
            PayPlan.effective_from == effective_from,
        )
    ).scalar_one_or_none()
    if clash is not None:
        whose = f"agent {data['agent_id']}" if data.get("agent_id") else "the project's default"
        raise BusinessRuleViolation(
            f"Plan {clash} is already effective from {effective_from.isoformat()} for {whose}; plans are "
            "never edited (closed periods must keep theirs): give the new plan a later effective_from.",
            rule="plan-exists",
            status=409,
            extra={"existing_plan_id": clash},
        )
    conditions = data.get("conditions") or {}
    plan = PayPlan(
        id=str(uuid.uuid4()),
        project_id=data["project_id"],
        agent_id=data.get("agent_id"),
        scope_key=scope_key,
        type=data["type"],
        hourly_rate=data.get("hourly_rate"),
        monthly_base=data.get("monthly_base"),
        commission_rate=data.get("commission_rate"),
        max_avg_response_seconds=conditions.get("max_avg_response_seconds"),
        min_response_rate=conditions.get("min_response_rate"),
        base_factor_when_unmet=data.get("base_factor_when_unmet"),
        effective_from=effective_from,
        notes=data.get("notes"),
        created_at=utcnow(),
        created_by=actor.sub,
    )
    session.add(plan)
    return plan


def plan_view(plan: PayPlan) -> dict[str, Any]:
    has_conditions = plan.max_avg_response_seconds is not None or plan.min_response_rate is not None
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
        }
        if has_conditions
        else None,
        "base_factor_when_unmet": plan.base_factor_when_unmet,
        "effective_from": plan.effective_from,
        "notes": plan.notes,
        "created_at": plan.created_at,
        "created_by": plan.created_by,
    }


def plans_query(args: Mapping[str, Any]) -> Select[Any]:
    stmt = select(PayPlan).order_by(PayPlan.project_id, PayPlan.scope_key, PayPlan.effective_from, PayPlan.id)
    if args.get("project_id"):
        stmt = stmt.where(PayPlan.project_id == args["project_id"])
    if args.get("agent_id"):
        stmt = stmt.where(PayPlan.agent_id == args["agent_id"])
    if args.get("type"):
        stmt = stmt.where(PayPlan.type == args["type"])
    if args.get("defaults_only"):
        stmt = stmt.where(PayPlan.agent_id.is_(None))
    return stmt


def get_plan(session: Session, plan_id: str) -> PayPlan:
    plan = session.get(PayPlan, plan_id)
    if plan is None:
        raise NotFound(f"There is no pay plan {plan_id!r}.")
    return plan


def terms_of(plan: PayPlan) -> PlanTerms:
    has_conditions = plan.max_avg_response_seconds is not None or plan.min_response_rate is not None
    return PlanTerms(
        type=plan.type,
        hourly_rate=plan.hourly_rate,
        monthly_base=plan.monthly_base,
        commission_rate=plan.commission_rate,
        conditions=Conditions(plan.max_avg_response_seconds, plan.min_response_rate)
        if has_conditions
        else None,
        base_factor_when_unmet=plan.base_factor_when_unmet,
    )


# --- performance data and adjustments ---------------------------------------------------------------------


def _known_agents(session: Session, pairs: set[Key]) -> set[Key]:
    known: set[Key] = set()
    ordered = sorted(pairs)
    for chunk in _chunks(ordered):
        known.update(
            (a, p)
            for a, p in session.execute(
                select(Agent.agent_id, Agent.project_id).where(
                    tuple_(Agent.agent_id, Agent.project_id).in_(list(chunk))
                )
            )
        )
    return known


def _at(label: str, name: str) -> str:
    return f"{label}.{name}" if label else name


def record_performance(
    session: Session,
    items: Sequence[Mapping[str, Any]],
    labels: Sequence[str],
    today: dt.date,
    *,
    earlier_errors: Mapping[str, list[str]] | None = None,
) -> dict[str, int]:
    """Store days of performance, all or nothing: every item's problem is reported together, with the
    ``earlier_errors`` found while parsing the other items (so a file is fixed in one go).

    A day sent again (same agent, project and date) replaces the earlier one; the same day twice in one
    request is refused as ambiguous. ``labels`` name the items in error keys ("0", "line 3", or "" for a
    single object).
    """
    errors: dict[str, list[str]] = defaultdict(list)
    for name, messages in (earlier_errors or {}).items():
        errors[name].extend(messages)
    first_seen: dict[tuple[str, str, dt.date], str] = {}
    for label, item in zip(labels, items, strict=True):
        if item["date"] > today:
            errors[_at(label, "date")].append(
                f"{item['date'].isoformat()} is in the future (today is {today.isoformat()} in "
                "Asia/Shanghai); send a day once it is over"
            )
        key = (item["agent_id"], item["project_id"], item["date"])
        if key in first_seen:
            errors[label or "_schema"].append(
                f"the same agent, project and date as {first_seen[key]}; send each day once"
            )
        else:
            first_seen[key] = label
    known = _known_agents(session, {(i["agent_id"], i["project_id"]) for i in items})
    for label, item in zip(labels, items, strict=True):
        if (item["agent_id"], item["project_id"]) not in known:
            errors[_at(label, "agent_id")].append(
                f"unknown agent {item['agent_id']!r} in project {item['project_id']!r}: billing learns "
                "agents from training's agent.admitted; check the ids"
            )
    if errors:
        raise ValidationFailed(
            dict(errors),
            detail=f"{len(errors)} problem(s) in the performance data; nothing was stored. Fix them and send "
            "the whole batch again.",
        )
    existing = 0
    keys = list(first_seen)
    for chunk in _chunks(keys):
        existing += session.execute(
            select(func.count()).where(
                tuple_(Performance.agent_id, Performance.project_id, Performance.date).in_(list(chunk))
            )
        ).scalar_one()
    now = utcnow()
    _upsert(
        session,
        Performance,
        [
            {
                "agent_id": i["agent_id"],
                "project_id": i["project_id"],
                "date": i["date"],
                "sales_amount": i["sales_amount"],
                "avg_response_seconds": Decimal(i["avg_response_seconds"]),
                "response_rate": i["response_rate"],
                "consultations": i["consultations"],
                "updated_at": now,
            }
            for i in items
        ],
        ("agent_id", "project_id", "date"),
    )
    mark_changed(session, [(i["project_id"], i["agent_id"], str(Period.of(i["date"]))) for i in items], now)
    return {"received": len(items), "created": len(items) - existing, "replaced": existing}


def _range_query(model: Any, args: Mapping[str, Any]) -> Select[Any]:
    stmt = select(model).order_by(model.date, model.project_id, model.agent_id)
    if args.get("project_id"):
        stmt = stmt.where(model.project_id == args["project_id"])
    if args.get("agent_id"):
        stmt = stmt.where(model.agent_id == args["agent_id"])
    if args.get("from_"):
        stmt = stmt.where(model.date >= args["from_"])
    if args.get("to"):
        stmt = stmt.where(model.date <= args["to"])
    return stmt


def performance_query(args: Mapping[str, Any]) -> Select[Any]:
    return _range_query(Performance, args)


def worked_hours_query(args: Mapping[str, Any]) -> Select[Any]:
    return _range_query(WorkedHours, args)


def _period_query(model: Any, args: Mapping[str, Any], order: Sequence[Any]) -> Select[Any]:
    stmt = select(model).order_by(*order)
    for name in ("project_id", "agent_id", "period"):
        if args.get(name):
            stmt = stmt.where(getattr(model, name) == args[name])
    return stmt


def deductions_query(args: Mapping[str, Any]) -> Select[Any]:
    return _period_query(Deduction, args, (Deduction.resolved_on, Deduction.complaint_id))


def adjustments_query(args: Mapping[str, Any]) -> Select[Any]:
    return _period_query(Adjustment, args, (Adjustment.created_at, Adjustment.id))


def add_adjustment(session: Session, data: Mapping[str, Any], actor: Actor) -> Adjustment:
    """A manual adjustment; one for a period already approved is paid in the next run as late data."""
    if (data["agent_id"], data["project_id"]) not in _known_agents(
        session, {(data["agent_id"], data["project_id"])}
    ):
        raise ValidationFailed(
            {
                "agent_id": [
                    f"unknown agent {data['agent_id']!r} in project {data['project_id']!r}: billing learns "
                    "agents from training's agent.admitted"
                ]
            }
        )
    now = utcnow()
    adjustment = Adjustment(
        id=str(uuid.uuid4()),
        agent_id=data["agent_id"],
        project_id=data["project_id"],
        period=data["period"],
        amount=data["amount"],
        reason=data["reason"].strip(),
        created_at=now,
        created_by=actor.sub,
    )
    session.add(adjustment)
    mark_changed(session, [(data["project_id"], data["agent_id"], data["period"])], now)
    return adjustment


# --- the payroll calculation ------------------------------------------------------------------------------


@dataclass
class LoadedPeriod:
    inputs: dict[Key, PeriodInputs]
    names: dict[Key, str | None]
    plans: dict[str, list[PayPlan]]


def _scope(
    stmt: Select[Any], model: Any, projects: Sequence[str] | None, keys: Sequence[Key] | None
) -> Select[Any]:
    if projects is not None:
        stmt = stmt.where(model.project_id.in_(list(projects)))
    if keys is not None:
        stmt = stmt.where(tuple_(model.agent_id, model.project_id).in_(list(keys)))
    return stmt


def _key_batches(keys: Sequence[Key] | None) -> list[Sequence[Key] | None]:
    return [None] if keys is None else list(_chunks(sorted(keys)))


def load_period(
    session: Session, period: Period, projects: Sequence[str] | None, keys: Sequence[Key] | None = None
) -> LoadedPeriod:
    """Every agent's inputs for a period, with a handful of grouped queries (not one per agent)."""
    inputs: dict[Key, PeriodInputs] = defaultdict(PeriodInputs)
    start, end, label = period.start, period.end, str(period)
    for batch in _key_batches(keys):
        hours = select(WorkedHours.agent_id, WorkedHours.project_id, func.sum(WorkedHours.hours)).where(
            WorkedHours.date.between(start, end)
        )
        for agent_id, project_id, total in session.execute(
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
        for agent_id, project_id, days, sales, consultations, seconds_w, rate_w in session.execute(
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
        for row in session.scalars(
            _scope(select(Deduction).where(Deduction.period == label), Deduction, projects, batch).order_by(
                Deduction.resolved_on, Deduction.complaint_id
            )
        ):
            inputs[(row.agent_id, row.project_id)].deductions.append(
                DeductionItem(row.complaint_id, row.number, row.amount)
            )
        for adj in session.scalars(
            _scope(
                select(Adjustment).where(Adjustment.period == label), Adjustment, projects, batch
            ).order_by(Adjustment.created_at, Adjustment.id)
        ):
            inputs[(adj.agent_id, adj.project_id)].adjustments.append(
                AdjustmentItem(adj.id, adj.amount, adj.reason)
            )
    # memberships: every agent in the project during the period, plus the rows of agents with data
    names: dict[Key, str | None] = {}
    overlapping = select(Agent).where(
        or_(Agent.admitted_on.is_(None), Agent.admitted_on <= end),
        or_(Agent.departed_on.is_(None), Agent.departed_on >= start),
    )
    rows = []
    for batch in _key_batches(keys):
        rows.extend(session.scalars(_scope(overlapping, Agent, projects, batch)))
    seen = {(r.agent_id, r.project_id) for r in rows}
    rest = [k for k in inputs if k not in seen]
    for batch in _chunks(rest):
        rows.extend(
            session.scalars(select(Agent).where(tuple_(Agent.agent_id, Agent.project_id).in_(list(batch))))
        )
    for row in rows:
        key = (row.agent_id, row.project_id)
        names[key] = row.name
        inputs[key].membership = Membership(row.admitted_on, row.departed_on)
    project_ids = sorted({p for _a, p in inputs})
    plans: dict[str, list[PayPlan]] = defaultdict(list)
    for batch in _chunks(project_ids):
        for plan in session.scalars(
            select(PayPlan).where(PayPlan.project_id.in_(list(batch)), PayPlan.effective_from <= end)
        ):
            plans[plan.project_id].append(plan)
    return LoadedPeriod(dict(inputs), names, plans)


@dataclass(frozen=True)
class Computed:
    plan: PayPlan | None
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
    by_id: dict[str, PayPlan] = {}
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
        out[key] = Computed(plan, domain.compute_lines(terms_of(plan), period, inputs))
    return out, sorted(without_plan)


def settled_amounts(session: Session, origin: str, keys: Sequence[Key]) -> dict[Key, Decimal]:
    """What approved runs have paid so far for a period, per agent and project (its own lines and late
    adjustments naming it), before any deduction was carried: the late-data recomputation is uncapped too."""
    out: dict[Key, Decimal] = {}
    for batch in _chunks(sorted(keys)):
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


def calculate(session: Session, run: PayrollRun) -> None:
    """(Re)build a draft run's payslips from the data as it is now."""
    period = Period.parse(run.period)
    projects = [run.project_id] if run.project_id is not None else None
    loaded = load_period(session, period, projects)
    idle: list[tuple[Key, str]] = []
    computed, without_plan = compute_period(period, loaded, idle)
    late = late_lines(session, run)
    carried = outstanding_carry(session, projects)
    idle_plans = dict(idle)
    summaries: list[domain.SlipSummary] = []
    session.execute(
        delete(PayslipLine).where(
            PayslipLine.payslip_id.in_(select(Payslip.id).where(Payslip.run_id == run.id))
        )
    )
    session.execute(delete(Payslip).where(Payslip.run_id == run.id))
    payslips: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    run_total = domain.ZERO
    for key in sorted(set(computed) | set(late)):
        agent_id, project_id = key
        own = computed.get(key)
        owed = carried.pop(key, None)
        slip_lines = domain.floor_deductions(
            [*(own.lines if own else []), *late.get(key, [])], period, _applicable(owed, run.period)
        )
        if owed is not None and not _applicable(owed, run.period):
            carried[key] = owed
        total = domain.total_of(slip_lines)
        summaries.append(
            domain.SlipSummary(
                agent_id,
                project_id,
                loaded.names.get(key),
                own.plan.type if own and own.plan else idle_plans.get(key),
                total,
                slip_lines,
                loaded.inputs[key].hours if key in loaded.inputs else domain.ZERO,
            )
        )
        slip_id = str(uuid.uuid4())
        payslips.append(
            {
                "id": slip_id,
                "run_id": run.id,
                "period": run.period,
                "agent_id": agent_id,
                "project_id": project_id,
                "agent_name": loaded.names.get(key),
                "plan_id": own.plan.id if own and own.plan else None,
                "plan_type": own.plan.type if own and own.plan else None,
                "total": total,
            }
        )
        lines.extend(
            {
                "payslip_id": slip_id,
                "position": position,
                "kind": line.kind,
                "amount": line.amount,
                "explanation": line.explanation[:500],
                "origin_period": line.origin_period,
                "ref": line.ref,
            }
            for position, line in enumerate(slip_lines, start=1)
        )
        run_total += total
    for chunk in _chunks(payslips, 2000):
        session.execute(insert(Payslip), list(chunk))
    for chunk in _chunks(lines, 5000):
        session.execute(insert(PayslipLine), list(chunk))
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
    run.calculated_at = utcnow()


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


# --- runs -------------------------------------------------------------------------------------------------


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


def create_run(session: Session, period: str, project_id: str | None, actor: Actor) -> PayrollRun:
    if project_id is not None:
        _require_project(session, project_id)
    scope = project_id or ALL_SCOPE
    # the friendly refusal for the usual case; the claim below is what holds under concurrency
    _refuse_overlap(session, period, scope)
    _claim_scope(session, period, scope)
    now = utcnow()
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
        created_by=actor.sub,
        calculated_at=now,
    )
    session.add(run)
    session.flush()
    calculate(session, run)
    return run


def get_run(session: Session, run_id: str, *, for_update: bool = False) -> PayrollRun:
    stmt = select(PayrollRun).where(PayrollRun.id == run_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    run = session.scalars(stmt).one_or_none()
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


def recalculate_run(session: Session, run_id: str) -> PayrollRun:
    run = get_run(session, run_id, for_update=True)
    _refuse_if_approved(run, "recalculated")
    calculate(session, run)
    return run


def delete_run(session: Session, run_id: str) -> None:
    """Discard a draft and free its scope of the period for another run."""
    run = get_run(session, run_id)
    _refuse_if_approved(run, "deleted")
    # the claim row before the run row, in the order create_run takes them, so the two never deadlock
    _release_scope(session, run)
    run = get_run(session, run_id, for_update=True)
    _refuse_if_approved(run, "deleted")
    session.execute(
        delete(PayslipLine).where(
            PayslipLine.payslip_id.in_(select(Payslip.id).where(Payslip.run_id == run.id))
        )
    )
    session.execute(delete(Payslip).where(Payslip.run_id == run.id))
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


def approve_run(session: Session, run_id: str, actor: Actor) -> PayrollRun:
    """Freeze a draft (finance only) and announce payroll.approved, in one transaction."""
    run = get_run(session, run_id, for_update=True)
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
    now = utcnow()
    run.status = APPROVED
    run.approved_at = now
    run.approved_by = actor.sub
    for chunk in _chunks(marks):
        session.execute(
            delete(PendingChange).where(
                tuple_(PendingChange.project_id, PendingChange.agent_id, PendingChange.period).in_(
                    [(m.project_id, m.agent_id, m.period) for m in chunk]
                ),
                # a mark re-written concurrently is newer than the calculation: keep it for the next run
                PendingChange.changed_at <= run.calculated_at,
            )
        )
    add_event(
        session,
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


def runs_query(args: Mapping[str, Any]) -> Select[Any]:
    stmt = select(PayrollRun).order_by(PayrollRun.period.desc(), PayrollRun.created_at.desc(), PayrollRun.id)
    for name in ("period", "project_id", "status"):
        if args.get(name):
            stmt = stmt.where(getattr(PayrollRun, name) == args[name])
    return stmt


# --- payslips ---------------------------------------------------------------------------------------------


def payslips_query(
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
    return stmt.order_by(Payslip.period.desc(), Payslip.project_id, Payslip.agent_id, Payslip.id)


def payslip_views(session: Session, payslips: Sequence[Payslip]) -> list[dict[str, Any]]:
    if not payslips:
        return []
    ids = [p.id for p in payslips]
    lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for chunk in _chunks(ids):
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
        }
        for p in payslips
    ]


def get_payslip(session: Session, payslip_id: str, actor: Actor) -> dict[str, Any]:
    """One payslip; an agent reaches only its own, and only once the run is approved (404 otherwise,
    so an agent cannot even learn that another agent's payslip exists)."""
    missing = f"There is no payslip {payslip_id!r}."
    payslip = session.get(Payslip, payslip_id)
    if payslip is None:
        raise NotFound(missing)
    if actor.role == "agent":
        run = session.get(PayrollRun, payslip.run_id)
        if payslip.agent_id != actor.sub or run is None or run.status != APPROVED:
            raise NotFound(missing)
    return payslip_views(session, [payslip])[0]


def export_rows(session: Session, run: PayrollRun) -> list[ExportRow]:
    payslips = list(
        session.scalars(
            select(Payslip).where(Payslip.run_id == run.id).order_by(Payslip.project_id, Payslip.agent_id)
        )
    )
    views = payslip_views(session, payslips)
    return [
        ExportRow(v["agent_id"], v["agent_name"], v["project_id"], v["plan_type"], v["total"], v["lines"])
        for v in views
    ]


# --- read models for the console's forms ------------------------------------------------------------------


def projects_query(args: Mapping[str, Any]) -> Select[Any]:
    """The projects billing knows (from onboarding's events): what finance picks a plan or run for."""
    stmt = select(Project).order_by(Project.company_name, Project.project_id)
    if args.get("status"):
        stmt = stmt.where(Project.status == args["status"])
    return stmt


def agents_query(args: Mapping[str, Any]) -> Select[Any]:
    """Agents by project membership (from agent.admitted / departed): whom a plan or a day can name."""
    stmt = select(Agent).order_by(Agent.project_id, Agent.name, Agent.agent_id)
    for name in ("project_id", "agent_id"):
        if args.get(name):
            stmt = stmt.where(getattr(Agent, name) == args[name])
    return stmt
