"""The seven-section confirmation checklist (确认信息) of a project, judged from its rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.onboarding import domain
from services.onboarding.config import OnboardingSettings
from services.onboarding.models import Material, Project
from shared.workdays import SHANGHAI, Calendar, get_default_calendar


def material_counts(session: Session, project_ids: Iterable[str]) -> dict[str, int]:
    ids = list(project_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Material.project_id, func.count())
        .where(Material.project_id.in_(ids))
        .group_by(Material.project_id)
    ).all()
    return {pid: int(n) for pid, n in rows}


def facts(session: Session, project: Project, material_count: int | None = None) -> domain.ProjectFacts:
    count = (
        material_counts(session, [project.id]).get(project.id, 0)
        if material_count is None
        else material_count
    )
    return domain.ProjectFacts(
        service_type=project.service_type,
        company_name=project.company_name,
        contact_name=project.contact_name,
        contact_phone=project.contact_phone,
        liaison=project.liaison,
        hours_start=project.hours_start,
        hours_end=project.hours_end,
        seats=project.seats,
        daily_consultations=project.daily_consultations,
        first_response_seconds=project.first_response_seconds,
        avg_response_seconds=project.avg_response_seconds,
        conversion_rate=project.conversion_rate,
        avg_order_value=project.avg_order_value,
        satisfaction_rate=project.satisfaction_rate,
        material_count=count,
        materials_complete=project.materials_complete,
        materials_supplement=project.materials_supplement,
        materials_supplement_due=project.materials_supplement_due,
        trainer=project.trainer,
        assessor=project.assessor,
        go_live_date=project.go_live_date,
        qa_merchant_standard=project.qa_merchant_standard,
        qa_standard=project.qa_standard,
        notes=project.notes,
    )


def reference_day(project: Project, today: dt.date) -> dt.date:
    """The confirmation day once confirmed (the rule was judged then); today while it is still open."""
    if project.confirmed_at is not None:
        return project.confirmed_at.astimezone(SHANGHAI).date()
    return today


def checklist(
    session: Session,
    project: Project,
    today: dt.date,
    settings: OnboardingSettings,
    calendar: Calendar | None = None,
) -> domain.Checklist:
    return domain.build_checklist(
        facts(session, project),
        reference_day(project, today),
        calendar or get_default_calendar(),
        settings.min_go_live_workdays,
    )


def checklist_progress(
    session: Session, project: Project, today: dt.date, settings: OnboardingSettings, material_count: int
) -> dict[str, Any]:
    """How many of the seven checklist sections are complete (the list's "n/7"), without the details."""
    result = domain.build_checklist(
        facts(session, project, material_count),
        reference_day(project, today),
        get_default_calendar(),
        settings.min_go_live_workdays,
    )
    done = [s.key for s in result.sections if s.complete]
    return {
        "complete": result.complete,
        "sections_complete": len(done),
        "sections_total": len(result.sections),
        "incomplete": [s.key for s in result.sections if not s.complete],
    }


def missing_by_section(result: domain.Checklist) -> dict[str, list[dict[str, str]]]:
    return {
        s.key: [{"field": m.field, "message": m.message} for m in s.missing]
        for s in result.sections
        if s.missing
    }
