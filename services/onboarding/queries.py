"""The read side of onboarding: projects, their history, checklist, FAQ sheet and materials, scoped to the
caller (a merchant sees only its own) and shaped for the views."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, Select, bindparam, func, select

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
    not_found,
    scope_of,
)
from shared.money import format_money
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


def _iso(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _percent(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format_money(value)


#: per status, the actions a list item offers (a new list each time: an answer must not share it)
_ACTIONS = {status.value: tuple(domain.allowed_actions(status)) for status in Status}


def project_json(p: Any, material_count: int) -> dict[str, Any]:
    """``ProjectOut().dump(project_view(p, material_count))`` written out, for the list: a page of 100
    projects spent most of its time walking the schema and building the intermediate view. ``p`` is a
    ``Project`` or a row of its columns (``list_statement``). Kept equal to the schema's answer by
    tests/unit/test_perf_reads_dump.py."""
    # a Row's mapping: ~50 ns a column where a Row's attribute costs ~600 (a third of a list page)
    f: Callable[[str], Any] = p._mapping.__getitem__ if isinstance(p, Row) else functools.partial(getattr, p)
    overnight = f("hours_overnight")
    return {
        "id": f("id"),
        "merchant_id": f("merchant_id"),
        "status": f("status"),
        "version": f("version"),
        "allowed_actions": list(_ACTIONS.get(f("status"), ())),
        "merchant": {
            "company_name": f("company_name"),
            "contact_name": f("contact_name"),
            "contact_phone": f("contact_phone"),
            "liaison": f("liaison"),
        },
        "service": {
            "type": f("service_type"),
            "hours": None
            if f("hours_start") is None or f("hours_end") is None
            else {"start": f("hours_start"), "end": f("hours_end"), "overnight": bool(overnight)},
            "seats": f("seats"),
            "platform": f("platform"),
        },
        "metrics": {
            "daily_consultations": f("daily_consultations"),
            "first_response_seconds": f("first_response_seconds"),
            "avg_response_seconds": f("avg_response_seconds"),
            "conversion_rate": _percent(f("conversion_rate")),
            "avg_order_value": _money(f("avg_order_value")),
            "satisfaction_rate": _percent(f("satisfaction_rate")),
        },
        "training": {
            "trainer": f("trainer"),
            "assessor": f("assessor"),
            "requirements": f("training_requirements"),
        },
        "go_live_date": _iso(f("go_live_date")),
        "qa": {"merchant_standard": f("qa_merchant_standard"), "standard": f("qa_standard")},
        "notes": f("notes"),
        "materials": {
            "count": material_count,
            "complete": f("materials_complete"),
            "supplement": f("materials_supplement"),
            "supplement_due": _iso(f("materials_supplement_due")),
        },
        "return_reason": f("return_reason"),
        "close_reason": f("close_reason"),
        "created_by": f("created_by"),
        "created_at": _iso(f("created_at")),
        "updated_at": _iso(f("updated_at")),
        "submitted_at": _iso(f("submitted_at")),
        "confirmed_at": _iso(f("confirmed_at")),
        "confirmed_by": f("confirmed_by"),
        "closed_at": _iso(f("closed_at")),
    }


def view(uow: UnitOfWork, project: Project) -> dict[str, Any]:
    return project_view(project, material_counts(uow.session, [project.id]).get(project.id, 0))


def project_row(uow: UnitOfWork, project_id: str) -> Row[Any]:
    """The caller's project as a row of its columns and its material count (one Core query, no ORM object:
    what a GET of one project answers from), or the 404 ``load_project`` gives."""
    if len(project_id) > 64:
        raise not_found(project_id[:64] + "…")
    scope = scope_of(uow.actor)
    stmt = _ROW_BY_ID_SCOPED if scope is not None else _ROW_BY_ID
    row = uow.session.execute(stmt, {"project_id": project_id, "scope": scope}).first()
    if row is None:
        raise not_found(project_id)
    return row


def get_project(uow: UnitOfWork, project_id: str) -> Project:
    return load_project(uow, project_id)


#: Newest first; the id makes the order total, which the ``after`` cursor needs.
_projects = Project.__table__.c
LIST_ORDER = (_projects.created_at.desc(), _projects.id.desc())


@dataclass(frozen=True)
class ProjectFilters:
    statuses: tuple[str, ...] = ()
    merchant_id: str | None = None
    go_live_from: dt.date | None = None
    go_live_to: dt.date | None = None
    text: str | None = None


#: A list row: the project's columns and its material count. Rows, not entities: loading a hundred ORM
#: objects per page (identity map, instance state) cost more than the query.
#: Table columns, not the mapped attributes: a statement with no ORM entity in it runs as plain Core, without
#: the ORM's per-execution compile state (a tenth of a list page's CPU).
_materials = Material.__table__.c
_LIST_COLUMNS = (
    *Project.__table__.columns,
    select(func.count(_materials.id))
    .where(_materials.project_id == _projects.id)
    .correlate(Project.__table__)
    .scalar_subquery()
    .label("material_count"),
)


#: built once: selecting 45 columns coerces each of them again on every call (statements are immutable,
#: ``.where`` returns a new one)
_LIST_BASE: Select[Any] = select(*_LIST_COLUMNS)
_ROW_BY_ID = _LIST_BASE.where(_projects.id == bindparam("project_id"))
_ROW_BY_ID_SCOPED = _ROW_BY_ID.where(_projects.merchant_id == bindparam("scope"))


def list_statement(uow: UnitOfWork, filters: ProjectFilters) -> Select[Any]:
    """The projects the caller asked for, unsorted (``LIST_ORDER`` is given to ``paginate``), each with
    its material count in the same row."""
    stmt = _LIST_BASE
    scope = scope_of(uow.actor)
    if scope is not None:
        stmt = stmt.where(_projects.merchant_id == scope)
    if filters.statuses:
        stmt = stmt.where(_projects.status.in_(filters.statuses))
    if filters.merchant_id:
        stmt = stmt.where(_projects.merchant_id == filters.merchant_id)
    if filters.go_live_from:
        stmt = stmt.where(_projects.go_live_date >= filters.go_live_from)
    if filters.go_live_to:
        stmt = stmt.where(_projects.go_live_date <= filters.go_live_to)
    if filters.text:
        escaped = filters.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(func.lower(_projects.company_name).like(f"%{escaped.lower()}%", escape="\\"))
    return stmt


def list_projects(
    uow: UnitOfWork,
    filters: ProjectFilters,
    page: int,
    per_page: int,
    *,
    after: str | None = None,
    progress: OnboardingSettings | None = None,
) -> tuple[Page, list[dict[str, Any]]]:
    """One page of projects (``after``: the keyset page after that cursor), each already in the answer's
    JSON shape (``project_json``); with ``progress`` (the settings) each carries its checklist progress,
    computed from the rows already loaded (a list page costs one query, plus the count on a first page,
    with or without it)."""
    session = uow.session
    result = paginate(session, list_statement(uow, filters), page, per_page, order_by=LIST_ORDER, after=after)
    items = [project_json(row, row.material_count) for row in result.items]
    if progress is not None:
        today = today_shanghai(uow.now())
        for row, item in zip(result.items, items, strict=True):
            # a row has the project's column names: the checklist reads it as it reads a Project
            item["checklist_progress"] = checklist_progress(session, row, today, progress, row.material_count)
    return result, items


#: Oldest first.
HISTORY_ORDER = (ProjectHistory.id,)
MATERIAL_ORDER = (Material.uploaded_at, Material.id)


def history_page(
    uow: UnitOfWork, project_id: str, page: int, per_page: int, *, after: str | None = None
) -> Page:
    project = load_project(uow, project_id)
    stmt = select(ProjectHistory).where(ProjectHistory.project_id == project.id)
    result = paginate(uow.session, stmt, page, per_page, order_by=HISTORY_ORDER, after=after)
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
    return result.with_items(items)


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


def list_materials(
    uow: UnitOfWork, project_id: str, page: int, per_page: int, *, after: str | None = None
) -> Page:
    project = load_project(uow, project_id)
    stmt = select(Material).where(Material.project_id == project.id)
    result = paginate(uow.session, stmt, page, per_page, order_by=MATERIAL_ORDER, after=after)
    return result.with_items([material_view(m) for m in result.items])


def get_material(uow: UnitOfWork, project_id: str, material_id: str) -> Material:
    return load_material(uow.session, load_project(uow, project_id), material_id)
