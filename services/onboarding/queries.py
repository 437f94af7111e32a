"""The read side of onboarding: projects, their history, checklist, FAQ sheet and materials, scoped to the
caller (a merchant sees only its own) and shaped for the views."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from services.onboarding import domain
from services.onboarding.checklist import checklist, checklist_progress, material_counts
from services.onboarding.config import OnboardingSettings
from services.onboarding.domain import Status
from services.onboarding.faq import faq_progress, faq_status, faq_view
from services.onboarding.materials import load_material, material_view
from services.onboarding.models import Material, Project, ProjectHistory
from services.onboarding.records import (
    group,
    hours,
    load_project,
    scope_of,
)
from shared.pagination import Page, paginate
from shared.uow import UnitOfWork
from shared.workdays import today_shanghai

__all__ = ["faq_view", "get_project", "load_material", "load_project"]


def project_view(project: Project, material_count: int) -> dict[str, Any]:
    """The contract's nested shape, ready for ``ProjectOut``."""
    return {
        "id": project.id,
        "merchant_id": project.merchant_id,
        "status": project.status,
        "version": project.version,
        "allowed_actions": domain.allowed_actions(Status(project.status)),
        "merchant": group(project, "merchant"),
        "service": {
            "type": project.service_type,
            "hours": hours(project),
            "seats": project.seats,
            "platform": project.platform,
        },
        "metrics": group(project, "metrics"),
        "training": group(project, "training"),
        "go_live_date": project.go_live_date,
        "qa": group(project, "qa"),
        "notes": project.notes,
        "materials": {
            "count": material_count,
            "complete": project.materials_complete,
            "supplement": project.materials_supplement,
            "supplement_due": project.materials_supplement_due,
        },
        "return_reason": project.return_reason,
        "close_reason": project.close_reason,
        "created_by": project.created_by,
        "created_at": project.created_at,
        "updated_at": project.updated_at,
        "submitted_at": project.submitted_at,
        "confirmed_at": project.confirmed_at,
        "confirmed_by": project.confirmed_by,
        "closed_at": project.closed_at,
    }


def view(uow: UnitOfWork, project: Project) -> dict[str, Any]:
    return project_view(project, material_counts(uow.session, [project.id]).get(project.id, 0))


def get_project(uow: UnitOfWork, project_id: str) -> Project:
    return load_project(uow, project_id)


@dataclass(frozen=True)
class ProjectFilters:
    statuses: tuple[str, ...] = ()
    merchant_id: str | None = None
    go_live_from: dt.date | None = None
    go_live_to: dt.date | None = None
    text: str | None = None


def list_projects(
    uow: UnitOfWork,
    filters: ProjectFilters,
    page: int,
    per_page: int,
    *,
    progress: OnboardingSettings | None = None,
) -> tuple[Page, list[dict[str, Any]]]:
    """One page of projects; with ``progress`` (the settings) each carries its checklist progress, computed
    from the rows already loaded (a list page of n projects costs the same queries as without it)."""
    session = uow.session
    stmt: Select[Any] = select(Project)
    scope = scope_of(uow.actor)
    if scope is not None:
        stmt = stmt.where(Project.merchant_id == scope)
    if filters.statuses:
        stmt = stmt.where(Project.status.in_(filters.statuses))
    if filters.merchant_id:
        stmt = stmt.where(Project.merchant_id == filters.merchant_id)
    if filters.go_live_from:
        stmt = stmt.where(Project.go_live_date >= filters.go_live_from)
    if filters.go_live_to:
        stmt = stmt.where(Project.go_live_date <= filters.go_live_to)
    if filters.text:
        escaped = filters.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(func.lower(Project.company_name).like(f"%{escaped.lower()}%", escape="\\"))
    stmt = stmt.order_by(Project.created_at.desc(), Project.id)
    result = paginate(session, stmt, page, per_page)
    counts = material_counts(session, [p.id for p in result.items])
    today = today_shanghai(uow.now())
    items = []
    for project in result.items:
        item = project_view(project, counts.get(project.id, 0))
        if progress is not None:
            item["checklist_progress"] = checklist_progress(
                session, project, today, progress, counts.get(project.id, 0)
            )
        items.append(item)
    return result, items


def history_page(uow: UnitOfWork, project_id: str, page: int, per_page: int) -> Page:
    project = load_project(uow, project_id)
    stmt = select(ProjectHistory).where(ProjectHistory.project_id == project.id).order_by(ProjectHistory.id)
    result = paginate(uow.session, stmt, page, per_page)
    items = [
        {
            "id": h.id,
            "at": h.at,
            "actor": {"sub": h.actor_sub, "role": h.actor_role},
            "action": h.action,
            "from_status": h.from_status,
            "to_status": h.to_status,
            "changes": h.changes,
            "reason": h.reason,
        }
        for h in result.items
    ]
    return Page(
        items=items, total=result.total, page=result.page, per_page=result.per_page, pages=result.pages
    )


def checklist_view(uow: UnitOfWork, project_id: str, settings: OnboardingSettings) -> dict[str, Any]:
    session = uow.session
    project = load_project(uow, project_id)
    result = checklist(session, project, today_shanghai(uow.now()), settings)
    faq = faq_progress(session, project, settings)
    return {
        "project_id": project.id,
        "status": project.status,
        "complete": result.complete,
        "sections": [
            {
                "key": s.key,
                "title": s.title,
                "complete": s.complete,
                "missing": [{"field": m.field, "message": m.message} for m in s.missing],
            }
            for s in result.sections
        ],
        "reference_day": result.reference_day,
        "min_go_live_workdays": result.min_workdays,
        "earliest_go_live_date": result.earliest_go_live_date,
        "notes": list(result.notes),
        "faq": faq_status(faq),
        "can_confirm": project.status == Status.SUBMITTED and result.complete and faq.complete,
    }


def faq_sheet(uow: UnitOfWork, project: Project, settings: OnboardingSettings) -> dict[str, Any]:
    return faq_view(uow.session, project, settings)


def list_materials(uow: UnitOfWork, project_id: str, page: int, per_page: int) -> Page:
    project = load_project(uow, project_id)
    stmt = (
        select(Material).where(Material.project_id == project.id).order_by(Material.uploaded_at, Material.id)
    )
    result = paginate(uow.session, stmt, page, per_page)
    return Page(
        items=[material_view(m) for m in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
        pages=result.pages,
    )


def get_material(uow: UnitOfWork, project_id: str, material_id: str) -> Material:
    return load_material(uow.session, load_project(uow, project_id), material_id)
