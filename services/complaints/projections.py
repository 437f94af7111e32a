"""The complaints service's copies of other services' data, kept from events (read models; 投影).

A complaint is checked against confirmed projects (and their merchant, the tenant) and the agents admitted
to each. Events arrive late, twice or out of order (an admission before its project's confirmation), so
every copy is found or created by its key (``shared.projections``) and only the fields an event carries
are taken.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.complaints.models import Project, ProjectAgent
from shared.projections import company_name, copy_of, take
from shared.uow import UnitOfWork


def project_copy(uow: UnitOfWork, project_id: str) -> Project:
    """The project's copy, locked; a stub (unconfirmed, open) when no project event has arrived yet."""
    project, _created = copy_of(
        uow.session,
        Project,
        project_id,
        lock=True,
        defaults={"confirmed": False, "closed": False, "updated_at": uow.now()},
    )
    return project


def _take_merchant_if_unknown(project: Project, data: Mapping[str, Any]) -> None:
    # only project.confirmed/updated are sure of the tenant; other events fill it in for a stub
    if data.get("merchant_id") and project.merchant_id is None:
        project.merchant_id = data["merchant_id"]


def keep_confirmed(uow: UnitOfWork, data: Mapping[str, Any]) -> Project:
    """project.confirmed: the merchant (the tenant) and its company name; complaints are taken from now."""
    project = project_copy(uow, data["project_id"])
    take(project, data, ("merchant_id",))
    name = company_name(data)
    if name:
        project.company_name = name
    project.confirmed = True
    project.updated_at = uow.now()
    return project


def keep_updated(uow: UnitOfWork, data: Mapping[str, Any]) -> Project:
    """project.updated: an update implies the project was confirmed (onboarding only updates those)."""
    project = project_copy(uow, data["project_id"])
    take(project, data, ("merchant_id",))
    project.confirmed = True
    project.updated_at = uow.now()
    return project


def keep_closed(uow: UnitOfWork, data: Mapping[str, Any]) -> Project:
    """project.closed: no new complaints are taken on it."""
    project = project_copy(uow, data["project_id"])
    _take_merchant_if_unknown(project, data)
    project.closed = True
    project.updated_at = uow.now()
    return project


def keep_admitted(uow: UnitOfWork, data: Mapping[str, Any]) -> ProjectAgent:
    """agent.admitted: an agent a complaint on the project may name (creates a project stub if needed)."""
    now = uow.now()
    project = project_copy(uow, data["project_id"])
    _take_merchant_if_unknown(project, data)
    agent, _created = copy_of(uow.session, ProjectAgent, (data["project_id"], data["candidate_id"]))
    agent.name = str(data["name"])[:100]
    agent.admitted_at = data.get("admitted_at") or agent.admitted_at or now
    agent.updated_at = now
    return agent
