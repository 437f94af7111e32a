"""The project (商家订单) from draft to live: create, edit, the workflow moves (submit, return, confirm,
go live, close, cancel) and the worker's go-live on the date. A refusal raises before anything is written."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from services.onboarding import domain
from services.onboarding.checklist import checklist, facts, missing_by_section
from services.onboarding.config import OnboardingSettings
from services.onboarding.domain import Action, Status
from services.onboarding.faq import faq_items, faq_progress, faq_status
from services.onboarding.models import Material, Project
from services.onboarding.records import (
    FIELD_COLUMNS,
    SYSTEM,
    IfMatch,
    check_if_match,
    etag,
    group,
    hours,
    load_project,
    material_path,
    optimistic,
    record,
)
from shared.errors import BusinessRuleViolation, Conflict, Forbidden, ValidationFailed
from shared.uow import UnitOfWork
from shared.workdays import Calendar, get_default_calendar, today_shanghai

# --- the project's public shape <-> its columns ----------------------------------------------------------

HOURS = "service.hours"
GROUPS = ("merchant", "service", "metrics", "training", "qa", "materials")
_NOT_NULL_FALSE = frozenset({"materials_complete"})


def flatten_input(data: Mapping[str, Any]) -> dict[str, Any]:
    """``{"service": {"seats": 5}}`` → ``{"service.seats": 5}``; a group given as null clears its fields."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in GROUPS:
            if key in FIELD_COLUMNS:
                out[key] = value
            continue
        if value is None:
            for path in FIELD_COLUMNS:
                if path.startswith(f"{key}."):
                    out[path] = None
            if key == "service":
                out[HOURS] = None
            continue
        for sub, sub_value in value.items():
            out[f"{key}.{sub}"] = sub_value
    return out


def read_field(project: Project, path: str) -> Any:
    if path == HOURS:
        return hours(project)
    return getattr(project, FIELD_COLUMNS[path])


def write_field(project: Project, path: str, value: Any) -> None:
    if path == HOURS:
        project.hours_start = value["start"] if value else None
        project.hours_end = value["end"] if value else None
        project.hours_overnight = bool(value and value.get("overnight"))
        return
    column = FIELD_COLUMNS[path]
    if value is None and column in _NOT_NULL_FALSE:
        value = False
    setattr(project, column, value)


def _normalized(path: str, value: Any) -> Any:
    if path == HOURS and value is not None:
        return {"start": value["start"], "end": value["end"], "overnight": bool(value.get("overnight"))}
    if value is None and FIELD_COLUMNS.get(path) in _NOT_NULL_FALSE:
        return False
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def diff(project: Project, changes: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The fields whose value really changes: ``{path: {"from": old, "to": new}}`` (JSON-ready)."""
    out: dict[str, dict[str, Any]] = {}
    for path, new in changes.items():
        new = _normalized(path, new)
        old = read_field(project, path)
        if old != new:
            out[path] = {"from": _jsonable(old), "to": _jsonable(new)}
    return out


# --- create / update -------------------------------------------------------------------------------------


def create_project(uow: UnitOfWork, data: Mapping[str, Any]) -> Project:
    actor = uow.actor
    merchant_id = data.get("merchant_id")
    if actor.is_merchant:
        if merchant_id not in (None, actor.merchant_id):
            raise Forbidden(
                "A merchant creates projects only for itself; leave merchant_id out (your token's "
                f"merchant is {actor.merchant_id})."
            )
        merchant_id = actor.merchant_id
    elif not merchant_id:
        raise ValidationFailed(
            {"merchant_id": ["Required when the vendor creates a project on a merchant's behalf."]}
        )
    now = uow.now()
    project = Project(
        id=str(uuid.uuid4()),
        merchant_id=merchant_id,
        status=Status.DRAFT.value,
        faq_version=0,
        hours_overnight=False,
        materials_complete=False,
        created_by=actor.sub[:100],
        created_at=now,
        updated_at=now,
    )
    fields = flatten_input({k: v for k, v in data.items() if k != "merchant_id"})
    changes = diff(project, fields)
    for path, value in fields.items():
        write_field(project, path, value)
    uow.session.add(project)
    uow.flush()
    record(uow, project, "created", to_status=Status.DRAFT.value, changes=changes or None)
    uow.flush()
    return project


def update_project(
    uow: UnitOfWork,
    project_id: str,
    data: Mapping[str, Any],
    if_match: IfMatch,
    settings: OnboardingSettings,
    calendar: Calendar | None = None,
) -> Project:
    project = load_project(uow, project_id)
    check_if_match(etag(project), if_match, required=True)
    fields = flatten_input(data)
    changes = diff(project, fields)
    if not changes:
        return project
    status = Status(project.status)
    try:
        domain.check_edit(status, vendor_side=not uow.actor.is_merchant, fields=changes)
    except domain.EditRefused as exc:
        raise Conflict(str(exc), extra={"current_status": status.value, "editable": exc.editable}) from None
    if status == Status.CONFIRMED and "go_live_date" in changes:
        today = today_shanghai(uow.now())
        calendar = calendar or get_default_calendar()
        new_date = fields["go_live_date"]
        problem = (
            "The go-live date cannot be removed from a confirmed project."
            if new_date is None
            else domain.go_live_problem(new_date, today, calendar, settings.min_go_live_workdays)
        )
        if problem:
            raise BusinessRuleViolation(
                problem,
                rule="go-live-notice",
                extra={
                    "earliest_go_live_date": domain.earliest_go_live(
                        today, calendar, settings.min_go_live_workdays
                    ).isoformat()
                },
            )
    with optimistic(uow, project.id, if_match):
        for path in changes:
            write_field(project, path, fields[path])
        project.updated_at = uow.now()
        record(uow, project, "updated", changes=changes)
        announced = [name for path, name in domain.ANNOUNCED_FIELDS.items() if path in changes]
        if status in (Status.CONFIRMED, Status.LIVE) and announced:
            uow.flush()
            uow.emit("project.updated", _updated_data(project, announced))
    return project


def _updated_data(project: Project, changed: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {"project_id": project.id, "merchant_id": project.merchant_id, "changed": changed}
    # the current values of all of them, so a consumer can upsert whatever it missed
    if project.seats is not None:
        data["seats"] = project.seats
    if hours(project) is not None:
        data["service_hours"] = hours(project)
    if project.go_live_date is not None:
        data["go_live_date"] = project.go_live_date
    if project.service_type is not None:
        data["service_type"] = project.service_type
    return data


# --- transitions -----------------------------------------------------------------------------------------

#: How history names each move (a resubmission after a return is told apart).
_PAST_TENSE: Mapping[Action, str] = {
    Action.SUBMIT: "submitted",
    Action.RETURN: "returned",
    Action.CONFIRM: "confirmed",
    Action.GO_LIVE: "went_live",
    Action.CLOSE: "closed",
    Action.CANCEL: "cancelled",
}
_RESUBMITTED = "resubmitted"


def transition(
    uow: UnitOfWork,
    project_id: str,
    action: Action,
    *,
    reason: str | None,
    if_match: IfMatch,
    settings: OnboardingSettings,
    calendar: Calendar | None = None,
) -> Project:
    session = uow.session
    calendar = calendar or get_default_calendar()
    project = load_project(uow, project_id)
    check_if_match(etag(project), if_match, required=False)
    before = Status(project.status)
    try:
        after = domain.next_status(before, action)
    except domain.IllegalTransition as exc:
        raise Conflict(
            str(exc), extra={"current_status": before.value, "action": action.value, "allowed": exc.allowed}
        ) from None

    now = uow.now()
    today = today_shanghai(now)
    if action == Action.SUBMIT:
        result = checklist(session, project, today, settings, calendar)
        if not result.complete:
            raise BusinessRuleViolation(
                "The project cannot be submitted until every checklist section is complete; missing: "
                f"{result.describe_missing()}.",
                rule="checklist-incomplete",
                extra={
                    "missing": missing_by_section(result),
                    "earliest_go_live_date": result.earliest_go_live_date.isoformat(),
                },
            )
        project.submitted_at = now
        project.return_reason = None
    elif action == Action.CONFIRM:
        _check_confirmable(uow, project, today, settings, calendar)
        project.confirmed_at = now
        project.confirmed_by = uow.actor.sub[:100]
    elif action == Action.RETURN:
        project.return_reason = reason
    elif action == Action.CLOSE:
        project.closed_at = now
        project.close_reason = reason

    with optimistic(uow, project.id, if_match):
        project.status = after.value
        project.updated_at = now
        record(
            uow,
            project,
            _RESUBMITTED if (before, action) == (Status.RETURNED, Action.SUBMIT) else _PAST_TENSE[action],
            from_status=before.value,
            to_status=after.value,
            reason=reason,
        )
        uow.flush()
        if action == Action.CONFIRM:
            uow.emit("project.confirmed", confirmed_data(uow, project))
        elif action == Action.CLOSE:
            closed = {"project_id": project.id, "merchant_id": project.merchant_id, "reason": reason}
            uow.emit("project.closed", closed)
    return project


def _check_confirmable(
    uow: UnitOfWork, project: Project, today: dt.date, settings: OnboardingSettings, calendar: Calendar
) -> None:
    session = uow.session
    result = domain.build_checklist(facts(session, project), today, calendar, settings.min_go_live_workdays)
    faq = faq_progress(session, project, settings)
    if result.complete and faq.complete:
        return
    problems: list[str] = []
    if not result.complete:
        problems.append(f"checklist: {result.describe_missing()}")
    problems.extend(faq.problems())
    only_go_live = faq.complete and [s.key for s in result.sections if s.missing] == ["go_live"]
    raise BusinessRuleViolation(
        "The project cannot be confirmed: " + "; ".join(problems) + ".",
        rule="go-live-notice" if only_go_live else "confirmation-incomplete",
        extra={
            "missing": missing_by_section(result),
            "unanswered_faq": list(faq.unanswered),
            "faq": faq_status(faq),
            "earliest_go_live_date": result.earliest_go_live_date.isoformat(),
        },
    )


def confirmed_data(uow: UnitOfWork, project: Project) -> dict[str, Any]:
    """``project.confirmed``: the contract's fields plus what training, recruitment, scheduling and billing
    keep in their read models (company name, trainer, materials with download paths, the FAQ)."""
    materials = uow.session.scalars(
        select(Material).where(Material.project_id == project.id).order_by(Material.uploaded_at, Material.id)
    ).all()
    return {
        "project_id": project.id,
        "merchant_id": project.merchant_id,
        "seats": project.seats,
        "service_type": project.service_type,
        "service_hours": hours(project),
        "go_live_date": project.go_live_date,
        "assessor": project.assessor,
        "trainer": project.trainer,
        "metrics": group(project, "metrics"),
        "platform": project.platform,
        "company_name": project.company_name,
        "merchant": group(project, "merchant"),
        "training": group(project, "training"),
        "qa": group(project, "qa"),
        "materials": [
            {
                "id": m.id,
                "filename": m.filename,
                "kind": m.kind,
                "content_type": m.content_type,
                "size": m.size,
                "sha256": m.sha256,
                "download_path": material_path(m),
            }
            for m in materials
        ],
        "faq": faq_items(uow.session, project),
        "notes": project.notes,
        "confirmed_at": project.confirmed_at,
    }


def promote_due_projects(uow: UnitOfWork) -> int:
    """Confirmed projects whose go-live date (Asia/Shanghai) has come are live (the worker's periodic job)."""
    today = today_shanghai(uow.now())
    due = uow.session.scalars(
        select(Project)
        .where(Project.status == Status.CONFIRMED.value, Project.go_live_date <= today)
        .order_by(Project.go_live_date, Project.id)
        .limit(500)
    ).all()
    for project in due:
        project.status = Status.LIVE.value
        project.updated_at = uow.now()
        record(
            uow,
            project,
            "went_live",
            actor=SYSTEM,
            from_status=Status.CONFIRMED.value,
            to_status=Status.LIVE.value,
            reason=f"go-live date {project.go_live_date.isoformat() if project.go_live_date else ''} reached",
        )
    return len(due)
