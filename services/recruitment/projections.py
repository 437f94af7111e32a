"""Recruitment's copy of the projects onboarding confirms, kept from events (read model; 投影).

Any event that names a project may arrive first (a reserve shortfall before the confirmation), so the
copy is found or created by its key (``shared.projections``), ``pending`` until ``project.confirmed``
arrives, and an event only fills in the fields it carries. The copy is locked on PostgreSQL so that the
events of one project are applied one at a time.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from services.recruitment import domain
from services.recruitment.models import Project
from shared.projections import copy_of, take
from shared.uow import UnitOfWork
from shared.workdays import SHANGHAI

log = logging.getLogger(__name__)


def project_copy(uow: UnitOfWork, project_id: str, merchant_id: str | None = None) -> Project:
    """The project's copy, locked; a ``pending`` stub when this is the first we hear of it."""
    project, _created = copy_of(
        uow.session,
        Project,
        project_id,
        lock=True,
        defaults={"status": "pending", "categories": [], "updated_at": uow.now()},
    )
    if merchant_id and not project.merchant_id:
        project.merchant_id = merchant_id
    return project


def keep_confirmed(uow: UnitOfWork, data: Mapping[str, Any], occurred_at: dt.datetime) -> Project:
    """project.confirmed: the tenant, what the project needs, and the day it was confirmed (in Shanghai)."""
    project = project_copy(uow, data["project_id"], data.get("merchant_id"))
    project.merchant_id = data["merchant_id"]
    _take_project_fields(project, data)
    merchant = data.get("merchant") or {}
    categories = merchant.get("categories") or ([merchant["category"]] if merchant.get("category") else [])
    if categories and not project.categories:
        project.categories = _safe_tags(categories, domain.normalize_category)
    if project.status != "closed":
        project.status = "confirmed"
    confirmed_at: dt.datetime = data.get("confirmed_at") or occurred_at
    project.confirmed_on = confirmed_at.astimezone(SHANGHAI).date()
    project.updated_at = uow.now()
    uow.flush()
    return project


def keep_updated(uow: UnitOfWork, data: Mapping[str, Any]) -> Project:
    """project.updated: the fields it carries (seats, hours, go-live …); the status is left as it is."""
    project = project_copy(uow, data["project_id"], data.get("merchant_id"))
    _take_project_fields(project, data)
    project.updated_at = uow.now()
    return project


def keep_closed(uow: UnitOfWork, data: Mapping[str, Any]) -> Project:
    """project.closed: closed for good (a later confirmation does not reopen it); the first close time."""
    project = project_copy(uow, data["project_id"], data.get("merchant_id"))
    project.status = "closed"
    project.closed_at = project.closed_at or uow.now()
    return project


def _take_project_fields(project: Project, data: Mapping[str, Any]) -> None:
    take(project, data, ("seats", "service_type", "go_live_date"))
    hours = data.get("service_hours")
    if hours:
        project.hours_start, project.hours_end = hours["start"], hours["end"]
    if data.get("platform") and not project.platform:
        # a platform set by hand (PATCH /projects/{id}) wins over the one the event names
        platforms = _safe_tags([data["platform"]], domain.normalize_platform)
        project.platform = platforms[0] if platforms else None


def _safe_tags(values: Iterable[Any], normalize: Callable[[str], str]) -> list[str]:
    # an unknown platform or category in an event must not refuse the whole event
    out = []
    for value in values:
        try:
            out.append(normalize(str(value)))
        except domain.InvalidValue:
            log.info("ignoring the project tag %r", value)
    return domain.unique(out)
