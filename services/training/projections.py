"""The training service's copy of onboarding's projects (项目), kept from project.* events.

Events may arrive late or out of order (recruitment's match before onboarding's confirmation), so the
copy is created by whichever event comes first, as a stub until ``project.confirmed`` fills it in. The
cohort side of these events (opening, resizing, cancelling cohorts) is in ``cohorts``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.training import domain
from services.training.models import Project
from shared.projections import company_name, copy_of, take
from shared.uow import UnitOfWork


def project_copy(uow: UnitOfWork, project_id: str) -> Project:
    """The project's copy, locked; a stub (unconfirmed, open) when no project event has arrived yet."""
    now = uow.now()
    project, _created = copy_of(
        uow.session,
        Project,
        project_id,
        lock=True,
        defaults={"confirmed": False, "closed": False, "created_at": now, "updated_at": now},
    )
    return project


def keep_confirmed(uow: UnitOfWork, data: Mapping[str, Any]) -> Project:
    """project.confirmed: everything training needs of the project (merchant, seats, assessor, trainer,
    the sources of the courseware), and its training length unless the trainer has already set one."""
    project = project_copy(uow, data["project_id"])
    training = data.get("training") or {}
    take(project, data, ("merchant_id", "seats", "service_type", "assessor", "go_live_date"))
    project.trainer = data.get("trainer") or training.get("trainer")
    requirements = training.get("requirements")
    project.requirements = requirements if isinstance(requirements, str) else None
    project.company_name = company_name(data)
    project.faq = list(data.get("faq") or [])
    project.materials = list(data.get("materials") or [])
    days = training.get("days", training.get("training_days"))
    if (
        isinstance(days, int)
        and not isinstance(days, bool)
        and project.training_days is None
        and domain.MIN_TRAINING_DAYS <= days <= domain.MAX_TRAINING_DAYS
    ):
        project.training_days = days
    project.confirmed = True
    project.updated_at = uow.now()
    return project


def keep_updated(uow: UnitOfWork, data: Mapping[str, Any]) -> Project:
    """project.updated: the changed fields it carries."""
    project = project_copy(uow, data["project_id"])
    take(project, data, ("merchant_id", "seats", "go_live_date", "service_type"))
    project.updated_at = uow.now()
    return project


def keep_closed(uow: UnitOfWork, data: Mapping[str, Any]) -> Project:
    """project.closed: the project trains no one further."""
    project = project_copy(uow, data["project_id"])
    project.closed = True
    project.updated_at = uow.now()
    return project


def project_of(uow: UnitOfWork, project_id: str) -> Project | None:
    """The copy, if any project event has arrived (no tenant check: for use cases, not for callers)."""
    return uow.session.get(Project, project_id)
