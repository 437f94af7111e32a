"""Pay plans (计薪方案): a project's default or one agent's override, by the month they take effect."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from services.billing.domain import Period
from services.billing.models import ALL_SCOPE, PayPlan
from services.billing.payroll import last_closed_period
from services.billing.projections import require_project
from shared.errors import BusinessRuleViolation
from shared.uow import UnitOfWork
from shared.workdays import today_shanghai


def create_plan(uow: UnitOfWork, data: Mapping[str, Any]) -> PayPlan:
    """A project's default plan, or one agent's override, effective from a date (the first of this
    month by default). Plans are never edited, and never effective in a period already approved."""
    session = uow.session
    require_project(uow, data["project_id"])
    today = today_shanghai(uow.now())
    effective_from: dt.date = data.get("effective_from") or today.replace(day=1)
    closed = last_closed_period(uow, data["project_id"])
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
        min_kpi_score=conditions.get("min_kpi_score"),
        kpi_targets_met=True if conditions.get("kpi_targets_met") else None,
        base_factor_when_unmet=data.get("base_factor_when_unmet"),
        effective_from=effective_from,
        notes=data.get("notes"),
        created_at=uow.now(),
        created_by=uow.actor.sub,
    )
    session.add(plan)
    return plan
