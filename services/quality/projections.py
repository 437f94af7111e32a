"""The quality service's copies of other services' data, kept from events (read models; 投影).

From onboarding's project events: the merchant (the tenant), the order's service targets (服务指标) and
its QA requirement (质检要求: the merchant's own standard or the vendor's). From training's
``agent.admitted``: the agents whose figures and conversations may be imported. From the complaints
service: each complaint's agent, level and outcome, for the weekly review. Events arrive late, twice
or out of order, so every copy is found or created by its key (``shared.projections``) and only the fields
an event carries are taken.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from services.quality.domain import Targets
from services.quality.models import Complaint, Project, ProjectAgent
from shared.projections import company_name, copy_of, take
from shared.uow import UnitOfWork
from shared.workdays import SHANGHAI

#: the order's metrics the KPI is scored against: event key -> column
_TARGETS = (
    "first_response_seconds",
    "avg_response_seconds",
    "conversion_rate",
    "avg_order_value",
    "satisfaction_rate",
)


def project_copy(uow: UnitOfWork, project_id: str) -> Project:
    """The project's copy, locked; a stub (unconfirmed, open) when no project event has arrived yet."""
    project, _created = copy_of(
        uow.session,
        Project,
        project_id,
        lock=True,
        defaults={
            "confirmed": False,
            "closed": False,
            "qa_merchant_standard": False,
            "updated_at": uow.now(),
        },
    )
    return project


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() and number >= 0 else None


def _take_targets(project: Project, metrics: Mapping[str, Any]) -> None:
    for key in _TARGETS:
        if key in metrics:
            setattr(project, key, _decimal(metrics[key]))
    if "daily_consultations" in metrics:
        value = _decimal(metrics["daily_consultations"])
        project.daily_consultations = None if value is None else int(value)


def keep_confirmed(uow: UnitOfWork, data: Mapping[str, Any]) -> Project:
    """project.confirmed: tenant, name, platform, seats, the service targets and the QA requirement."""
    project = project_copy(uow, data["project_id"])
    take(project, data, ("merchant_id", "platform", "seats"))
    name = company_name(data)
    if name:
        project.company_name = name
    metrics = data.get("metrics")
    if isinstance(metrics, Mapping):
        _take_targets(project, metrics)
    qa = data.get("qa")
    if isinstance(qa, Mapping):
        project.qa_merchant_standard = bool(qa.get("merchant_standard"))
        standard = qa.get("standard")
        project.qa_standard = str(standard) if standard else None
    project.confirmed = True
    project.updated_at = uow.now()
    return project


def keep_updated(uow: UnitOfWork, data: Mapping[str, Any]) -> Project:
    """project.updated: seats may change (the per-agent share of the daily consultations with them)."""
    project = project_copy(uow, data["project_id"])
    take(project, data, ("merchant_id", "seats"))
    project.confirmed = True
    project.updated_at = uow.now()
    return project


def keep_closed(uow: UnitOfWork, data: Mapping[str, Any]) -> Project:
    """project.closed: nothing new is imported for it; what was scored stays readable."""
    project = project_copy(uow, data["project_id"])
    if data.get("merchant_id") and project.merchant_id is None:
        project.merchant_id = data["merchant_id"]
    project.closed = True
    project.updated_at = uow.now()
    return project


def keep_admitted(uow: UnitOfWork, data: Mapping[str, Any]) -> ProjectAgent:
    """agent.admitted: an agent whose figures and chats may be imported (creates a project stub)."""
    now = uow.now()
    project = project_copy(uow, data["project_id"])
    if data.get("merchant_id") and project.merchant_id is None:
        project.merchant_id = data["merchant_id"]
    agent, _created = copy_of(uow.session, ProjectAgent, (data["project_id"], data["candidate_id"]))
    agent.name = str(data["name"])[:100]
    agent.admitted_at = data.get("admitted_at") or agent.admitted_at or now
    agent.updated_at = now
    return agent


def targets_of(project: Project) -> Targets:
    """The order's targets as the KPI rules read them."""
    return Targets(
        first_response_seconds=project.first_response_seconds,
        avg_response_seconds=project.avg_response_seconds,
        conversion_rate=project.conversion_rate,
        avg_order_value=project.avg_order_value,
        satisfaction_rate=project.satisfaction_rate,
        daily_consultations=project.daily_consultations,
        seats=project.seats,
    )


#: how far a complaint has got; a late event never moves it back
_STAGES = {"open": 0, "escalated": 1, "resolved": 2}


def _business_day(moment: dt.datetime) -> dt.date:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(SHANGHAI).date()


def keep_complaint(
    uow: UnitOfWork, data: Mapping[str, Any], occurred_at: dt.datetime, stage: str | None = None
) -> Complaint:
    """Any complaint event: the complaint's copy found or created by its id, its fields taken; the day it
    was opened is the earliest event's day (complaint.opened's, once it arrives)."""
    day = _business_day(occurred_at)
    row, created = copy_of(
        uow.session,
        Complaint,
        data["complaint_id"],
        lock=True,
        defaults={
            "number": data["number"],
            "project_id": data["project_id"],
            "opened_on": day,
            "upheld": False,
            "updated_at": uow.now(),
        },
    )
    if not created and day < row.opened_on:
        row.opened_on = day
    take(row, data, ("number", "agent_id", "level", "reason"))
    if stage is not None and _STAGES.get(stage, 0) >= _STAGES.get(row.status or "open", 0):
        row.status = stage
    row.updated_at = uow.now()
    return row


def keep_upheld(uow: UnitOfWork, data: Mapping[str, Any], occurred_at: dt.datetime) -> Complaint:
    row = keep_complaint(uow, data, occurred_at)
    row.upheld = True
    row.penalty = Decimal(data["penalty"])
    row.resolved_on = _business_day(data.get("resolved_at") or occurred_at)
    return row
