"""Scheduling's copies of other services' data, kept from events: projects (onboarding) and the agents
admitted into each project's pool (training).

Events arrive in any order: each one upserts, a late older project event never overwrites a newer one
(``Project.last_event_at``), a confirmation only fills what a newer update has not set, and a closed
project stays closed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from services.scheduling.models import KpiStanding, PoolAgent, Project
from shared.projections import company_name, copy_of, is_newer, take
from shared.uow import UnitOfWork


def _project(uow: UnitOfWork, project_id: str) -> Project:
    project, _ = copy_of(uow.session, Project, project_id, lock=True, defaults={"status": "confirmed"})
    return project


def project_confirmed(uow: UnitOfWork, data: Mapping[str, Any], occurred_at: dt.datetime) -> None:
    project = _project(uow, data["project_id"])
    values = {
        "merchant_id": data["merchant_id"],
        "seats": data["seats"],
        "service_type": data["service_type"],
        "service_start": data["service_hours"]["start"],
        "service_end": data["service_hours"]["end"],
        "go_live_date": data["go_live_date"],
        "company_name": company_name(data),
        "first_response_seconds": _seconds((data.get("metrics") or {}).get("first_response_seconds")),
    }
    newer = is_newer(project.last_event_at, occurred_at)
    for key, value in values.items():
        # a later project.updated that arrived first keeps its values; a confirmation only fills gaps
        if newer or getattr(project, key) is None:
            setattr(project, key, value)
    if newer:
        project.last_event_at = occurred_at
    project.updated_at = uow.now()


def _seconds(value: Any) -> int | None:
    """The order's first-response target, when it is a positive number of seconds."""
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None


def project_updated(uow: UnitOfWork, data: Mapping[str, Any], occurred_at: dt.datetime) -> None:
    project = _project(uow, data["project_id"])
    if project.merchant_id is None:
        project.merchant_id = data["merchant_id"]
    if not is_newer(project.last_event_at, occurred_at):
        return
    take(project, data, ("seats", "go_live_date", "service_type"))
    if "service_hours" in data:
        project.service_start = data["service_hours"]["start"]
        project.service_end = data["service_hours"]["end"]
    project.last_event_at = occurred_at
    project.updated_at = uow.now()


def project_closed(uow: UnitOfWork, data: Mapping[str, Any]) -> None:
    project, _ = copy_of(uow.session, Project, data["project_id"], lock=True)
    if project.merchant_id is None and data.get("merchant_id"):
        project.merchant_id = data["merchant_id"]
    project.status = "closed"  # final whatever the order: a closed project never reopens
    project.updated_at = uow.now()


def agent_admitted(uow: UnitOfWork, data: Mapping[str, Any], occurred_at: dt.datetime) -> None:
    """Upsert the agent into the project's pool; a departure recorded earlier is kept."""
    session = uow.session
    # keyed by (project, agent), not by the table's surrogate id: copy_of does not fit this one
    row = session.scalars(
        select(PoolAgent).where(
            PoolAgent.project_id == data["project_id"], PoolAgent.agent_id == data["candidate_id"]
        )
    ).one_or_none()
    if row is None:
        row = PoolAgent(project_id=data["project_id"], agent_id=data["candidate_id"])
        session.add(row)
    row.cohort_id = data["cohort_id"]
    row.name = data["name"]
    row.phone = data.get("phone")
    row.skills = list(data["skills"])
    row.shifts_available = list(data["shifts_available"])
    row.quiz_score = float(data["quiz_score"])
    row.simulation_score = float(data["simulation_score"])
    row.rank = int(data["rank"])
    row.admitted_at = data.get("admitted_at") or occurred_at
    if data.get("merchant_id"):
        project, created = copy_of(
            session,
            Project,
            data["project_id"],
            defaults={"merchant_id": data["merchant_id"], "status": "confirmed"},
        )
        if not created and project.merchant_id is None:
            project.merchant_id = data["merchant_id"]
    session.flush()


def kpi_scored(uow: UnitOfWork, data: Mapping[str, Any]) -> None:
    """quality's KPI of an agent's month: kept when it is the latest (month, version) seen."""
    session = uow.session
    row = session.get(KpiStanding, (data["project_id"], data["agent_id"]), with_for_update=True)
    version = data.get("version") or 1
    if row is not None and (row.period, row.version) >= (data["period"], version):
        return
    if row is None:
        row = KpiStanding(project_id=data["project_id"], agent_id=data["agent_id"])
        session.add(row)
    row.period = data["period"]
    row.version = version
    row.score = Decimal(data["score"])
    row.below_threshold_streak = data.get("below_threshold_streak") or 0
    row.warning = bool(data.get("warning"))
    row.updated_at = uow.now()
