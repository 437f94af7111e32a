"""Use cases of the onboarding service: load, apply the domain rules, save, stage events — one transaction.

Each command ends in ``session.commit()``; a refusal raises before anything is written, so a refused
request changes nothing. Events go through the outbox (``add_event``) in the same transaction as the
rows they describe. The caller passes ``today`` (Asia/Shanghai), which keeps the rules testable.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import FileStorage

from services.onboarding import domain
from services.onboarding.domain import Action, Status
from services.onboarding.models import FaqEntry, Material, Project, ProjectHistory
from shared.auth import Principal
from shared.config import Settings
from shared.errors import (
    BusinessRuleViolation,
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    ProblemError,
    ValidationFailed,
)
from shared.events.outbox import add_event
from shared.pagination import Page, paginate
from shared.storage import FileStore
from shared.tabular import Column
from shared.workdays import SHANGHAI, Calendar, get_default_calendar

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
SYSTEM = Principal(sub="system", role="system")

# --- settings --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnboardingConfig:
    """The service's own settings, from ``ONBOARDING_*`` variables (docs/services/onboarding.md)."""

    #: ONBOARDING_MIN_GO_LIVE_WORKDAYS: working days between confirmation and go-live (seed: 3-7)
    min_go_live_workdays: int = domain.DEFAULT_MIN_GO_LIVE_WORKDAYS
    #: ONBOARDING_FAQ_MIN_OWN_QUESTIONS: the shop's own FAQ questions confirmation needs (seed 004)
    min_own_faq_questions: int = domain.DEFAULT_MIN_OWN_QUESTIONS

    @classmethod
    def from_settings(cls, settings: Settings) -> OnboardingConfig:
        raw = settings.extra.get("ONBOARDING_MIN_GO_LIVE_WORKDAYS", str(domain.DEFAULT_MIN_GO_LIVE_WORKDAYS))
        try:
            days = int(raw)
        except ValueError:
            raise ValueError(f"ONBOARDING_MIN_GO_LIVE_WORKDAYS must be an integer, got {raw!r}") from None
        if not 0 <= days <= 60:
            raise ValueError(f"ONBOARDING_MIN_GO_LIVE_WORKDAYS must be within 0..60, got {days}")
        own_key = "ONBOARDING_FAQ_MIN_OWN_QUESTIONS"
        raw_own = settings.extra.get(own_key, str(domain.DEFAULT_MIN_OWN_QUESTIONS))
        if not raw_own.strip().isdigit() or int(raw_own) > 200:
            raise ValueError(f"{own_key} must be a whole number 0..200, got {raw_own!r}")
        return cls(min_go_live_workdays=days, min_own_faq_questions=int(raw_own))


# --- the project's public shape <-> its columns ----------------------------------------------------------

#: dotted API field → column (``service.hours`` spans three columns and is handled apart)
FIELD_COLUMNS: Mapping[str, str] = {
    "merchant.company_name": "company_name",
    "merchant.contact_name": "contact_name",
    "merchant.contact_phone": "contact_phone",
    "merchant.liaison": "liaison",
    "service.type": "service_type",
    "service.seats": "seats",
    "service.platform": "platform",
    "metrics.daily_consultations": "daily_consultations",
    "metrics.first_response_seconds": "first_response_seconds",
    "metrics.avg_response_seconds": "avg_response_seconds",
    "metrics.conversion_rate": "conversion_rate",
    "metrics.avg_order_value": "avg_order_value",
    "metrics.satisfaction_rate": "satisfaction_rate",
    "training.trainer": "trainer",
    "training.assessor": "assessor",
    "training.requirements": "training_requirements",
    "go_live_date": "go_live_date",
    "qa.merchant_standard": "qa_merchant_standard",
    "qa.standard": "qa_standard",
    "notes": "notes",
    "materials.complete": "materials_complete",
    "materials.supplement": "materials_supplement",
    "materials.supplement_due": "materials_supplement_due",
}
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


def _hours(project: Project) -> dict[str, Any] | None:
    if project.hours_start is None or project.hours_end is None:
        return None
    return {
        "start": project.hours_start,
        "end": project.hours_end,
        "overnight": bool(project.hours_overnight),
    }


def read_field(project: Project, path: str) -> Any:
    if path == HOURS:
        return _hours(project)
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


def etag(project: Project) -> str:
    return f'"{project.version}"'


def faq_etag(project: Project) -> str:
    return f'"faq-{project.faq_version}"'


#: What an ``If-Match`` header asked for: None (absent), "*" (any), or the entity tags sent.
IfMatch = Literal["*"] | frozenset[str] | None


def check_if_match(current: str, if_match: IfMatch, *, required: bool, what: str = "project") -> None:
    if if_match is None:
        if required:
            raise ProblemError(
                f"Send If-Match with the ETag of the {what} you edited (GET it first; the current one is "
                f"{current}), so that a change made meanwhile by someone else is not overwritten.",
                status=428,
                extra={"etag": current},
            )
        return
    if if_match == "*" or current.strip('"') in if_match:
        return
    raise PreconditionFailed(
        f"The {what} was changed by someone else since you read it (If-Match does not match its current "
        f"ETag {current}); GET it again, reapply your change and retry with the new ETag.",
        extra={"etag": current},
    )


# --- loading ---------------------------------------------------------------------------------------------


def not_found(project_id: str) -> NotFound:
    return NotFound(f"There is no project with id {project_id}.")


def load_project(session: Session, project_id: str, scope: str | None) -> Project:
    """The project, or the same 404 whether it is missing or another merchant's (``scope``)."""
    if len(project_id) > 64:
        raise not_found(project_id[:64] + "…")
    stmt = select(Project).where(Project.id == project_id)
    if scope is not None:
        stmt = stmt.where(Project.merchant_id == scope)
    project = session.scalars(stmt).first()
    if project is None:
        raise not_found(project_id)
    return project


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


def project_view(project: Project, material_count: int) -> dict[str, Any]:
    """The contract's nested shape, ready for ``ProjectOut``."""
    return {
        "id": project.id,
        "merchant_id": project.merchant_id,
        "status": project.status,
        "version": project.version,
        "allowed_actions": domain.allowed_actions(Status(project.status)),
        "merchant": {
            "company_name": project.company_name,
            "contact_name": project.contact_name,
            "contact_phone": project.contact_phone,
            "liaison": project.liaison,
        },
        "service": {
            "type": project.service_type,
            "hours": _hours(project),
            "seats": project.seats,
            "platform": project.platform,
        },
        "metrics": {
            "daily_consultations": project.daily_consultations,
            "first_response_seconds": project.first_response_seconds,
            "avg_response_seconds": project.avg_response_seconds,
            "conversion_rate": project.conversion_rate,
            "avg_order_value": project.avg_order_value,
            "satisfaction_rate": project.satisfaction_rate,
        },
        "training": {
            "trainer": project.trainer,
            "assessor": project.assessor,
            "requirements": project.training_requirements,
        },
        "go_live_date": project.go_live_date,
        "qa": {"merchant_standard": project.qa_merchant_standard, "standard": project.qa_standard},
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


def view(session: Session, project: Project) -> dict[str, Any]:
    return project_view(project, material_counts(session, [project.id]).get(project.id, 0))


@dataclass(frozen=True)
class ProjectFilters:
    statuses: tuple[str, ...] = ()
    merchant_id: str | None = None
    go_live_from: dt.date | None = None
    go_live_to: dt.date | None = None
    text: str | None = None


def list_projects(
    session: Session,
    scope: str | None,
    filters: ProjectFilters,
    page: int,
    per_page: int,
    *,
    progress: tuple[dt.date, OnboardingConfig] | None = None,
) -> tuple[Page, list[dict[str, Any]]]:
    """One page of projects; with ``progress`` (today, config) each carries its checklist progress, computed
    from the rows already loaded (a list page of n projects costs the same queries as without it)."""
    stmt: Select[Any] = select(Project)
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
    items = []
    for project in result.items:
        item = project_view(project, counts.get(project.id, 0))
        if progress is not None:
            item["checklist_progress"] = checklist_progress(
                session, project, progress[0], progress[1], counts.get(project.id, 0)
            )
        items.append(item)
    return result, items


def checklist_progress(
    session: Session, project: Project, today: dt.date, config: OnboardingConfig, material_count: int
) -> dict[str, Any]:
    """How many of the seven checklist sections are complete (the list's "n/7"), without the details."""
    result = domain.build_checklist(
        facts(session, project, material_count),
        reference_day(project, today),
        get_default_calendar(),
        config.min_go_live_workdays,
    )
    done = [s.key for s in result.sections if s.complete]
    return {
        "complete": result.complete,
        "sections_complete": len(done),
        "sections_total": len(result.sections),
        "incomplete": [s.key for s in result.sections if not s.complete],
    }


def history_page(session: Session, project: Project, page: int, per_page: int) -> Page:
    stmt = select(ProjectHistory).where(ProjectHistory.project_id == project.id).order_by(ProjectHistory.id)
    result = paginate(session, stmt, page, per_page)
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


def _record(
    session: Session,
    project: Project,
    actor: Principal,
    action: str,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    changes: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    session.add(
        ProjectHistory(
            project_id=project.id,
            at=_now(),
            actor_sub=actor.sub[:100],
            actor_role=actor.role,
            action=action,
            from_status=from_status,
            to_status=to_status,
            changes=changes,
            reason=reason,
        )
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@contextmanager
def _optimistic(session: Session, project_id: str, if_match: IfMatch = None) -> Iterator[None]:
    """Flush and commit inside; a concurrent writer that committed first (the version moved under us,
    whether it shows at a flush or at the commit) is a 412 when the caller sent If-Match, else a 409:
    a 412 answers a precondition, and a caller who sent none has no precondition to have failed."""
    try:
        yield
        session.commit()
    except StaleDataError:
        session.rollback()
        detail = (
            f"Project {project_id} was changed by someone else at the same moment; GET it again and retry."
        )
        if if_match is None:
            raise Conflict(detail) from None
        raise PreconditionFailed(detail) from None


# --- create / update -------------------------------------------------------------------------------------


def create_project(session: Session, actor: Principal, data: Mapping[str, Any]) -> Project:
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
    now = _now()
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
    session.add(project)
    session.flush()
    _record(session, project, actor, "created", to_status=Status.DRAFT.value, changes=changes or None)
    session.commit()
    return project


def update_project(
    session: Session,
    actor: Principal,
    project_id: str,
    scope: str | None,
    data: Mapping[str, Any],
    if_match: IfMatch,
    today: dt.date,
    config: OnboardingConfig,
    calendar: Calendar | None = None,
) -> Project:
    project = load_project(session, project_id, scope)
    check_if_match(etag(project), if_match, required=True)
    fields = flatten_input(data)
    changes = diff(project, fields)
    if not changes:
        return project
    status = Status(project.status)
    try:
        domain.check_edit(status, vendor_side=not actor.is_merchant, fields=changes)
    except domain.EditRefused as exc:
        raise Conflict(str(exc), extra={"current_status": status.value, "editable": exc.editable}) from None
    if status == Status.CONFIRMED and "go_live_date" in changes:
        new_date = fields["go_live_date"]
        problem = (
            "The go-live date cannot be removed from a confirmed project."
            if new_date is None
            else domain.go_live_problem(
                new_date, today, calendar or get_default_calendar(), config.min_go_live_workdays
            )
        )
        if problem:
            raise BusinessRuleViolation(
                problem,
                rule="go-live-notice",
                extra={
                    "earliest_go_live_date": domain.earliest_go_live(
                        today, calendar or get_default_calendar(), config.min_go_live_workdays
                    ).isoformat()
                },
            )
    with _optimistic(session, project.id, if_match):
        for path in changes:
            write_field(project, path, fields[path])
        project.updated_at = _now()
        _record(session, project, actor, "updated", changes=changes)
        announced = [name for path, name in domain.ANNOUNCED_FIELDS.items() if path in changes]
        if status in (Status.CONFIRMED, Status.LIVE) and announced:
            session.flush()
            add_event(session, "project.updated", _updated_data(project, announced))
    return project


def _updated_data(project: Project, changed: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {"project_id": project.id, "merchant_id": project.merchant_id, "changed": changed}
    # the current values of all of them, so a consumer can upsert whatever it missed
    if project.seats is not None:
        data["seats"] = project.seats
    if _hours(project) is not None:
        data["service_hours"] = _hours(project)
    if project.go_live_date is not None:
        data["go_live_date"] = project.go_live_date
    if project.service_type is not None:
        data["service_type"] = project.service_type
    return data


# --- checklist -------------------------------------------------------------------------------------------


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
    config: OnboardingConfig,
    calendar: Calendar | None = None,
) -> domain.Checklist:
    return domain.build_checklist(
        facts(session, project),
        reference_day(project, today),
        calendar or get_default_calendar(),
        config.min_go_live_workdays,
    )


def checklist_view(
    session: Session, project: Project, today: dt.date, config: OnboardingConfig
) -> dict[str, Any]:
    result = checklist(session, project, today, config)
    faq = faq_progress(session, project, config)
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


def _missing_by_section(result: domain.Checklist) -> dict[str, list[dict[str, str]]]:
    return {
        s.key: [{"field": m.field, "message": m.message} for m in s.missing]
        for s in result.sections
        if s.missing
    }


# --- transitions -----------------------------------------------------------------------------------------


def transition(
    session: Session,
    actor: Principal,
    project_id: str,
    scope: str | None,
    action: Action,
    *,
    reason: str | None,
    if_match: IfMatch,
    today: dt.date,
    config: OnboardingConfig,
    calendar: Calendar | None = None,
) -> Project:
    calendar = calendar or get_default_calendar()
    project = load_project(session, project_id, scope)
    check_if_match(etag(project), if_match, required=False)
    before = Status(project.status)
    try:
        after = domain.next_status(before, action)
    except domain.IllegalTransition as exc:
        raise Conflict(
            str(exc), extra={"current_status": before.value, "action": action.value, "allowed": exc.allowed}
        ) from None

    now = _now()
    if action == Action.SUBMIT:
        result = checklist(session, project, today, config, calendar)
        if not result.complete:
            raise BusinessRuleViolation(
                "The project cannot be submitted until every checklist section is complete; missing: "
                f"{result.describe_missing()}.",
                rule="checklist-incomplete",
                extra={
                    "missing": _missing_by_section(result),
                    "earliest_go_live_date": result.earliest_go_live_date.isoformat(),
                },
            )
        project.submitted_at = now
        project.return_reason = None
    elif action == Action.CONFIRM:
        _check_confirmable(session, project, today, config, calendar)
        project.confirmed_at = now
        project.confirmed_by = actor.sub[:100]
    elif action == Action.RETURN:
        project.return_reason = reason
    elif action == Action.CLOSE:
        project.closed_at = now
        project.close_reason = reason

    with _optimistic(session, project.id, if_match):
        project.status = after.value
        project.updated_at = now
        _record(
            session,
            project,
            actor,
            _RESUBMITTED if (before, action) == (Status.RETURNED, Action.SUBMIT) else _PAST_TENSE[action],
            from_status=before.value,
            to_status=after.value,
            reason=reason,
        )
        session.flush()
        if action == Action.CONFIRM:
            add_event(session, "project.confirmed", confirmed_data(session, project))
        elif action == Action.CLOSE:
            closed = {"project_id": project.id, "merchant_id": project.merchant_id, "reason": reason}
            add_event(session, "project.closed", closed)
    return project


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


def _check_confirmable(
    session: Session, project: Project, today: dt.date, config: OnboardingConfig, calendar: Calendar
) -> None:
    result = domain.build_checklist(facts(session, project), today, calendar, config.min_go_live_workdays)
    faq = faq_progress(session, project, config)
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
            "missing": _missing_by_section(result),
            "unanswered_faq": list(faq.unanswered),
            "faq": faq_status(faq),
            "earliest_go_live_date": result.earliest_go_live_date.isoformat(),
        },
    )


def material_path(material: Material) -> str:
    return f"{API_PREFIX}/projects/{material.project_id}/materials/{material.id}"


def confirmed_data(session: Session, project: Project) -> dict[str, Any]:
    """``project.confirmed``: the contract's fields plus what training, recruitment, scheduling and billing
    keep in their read models (company name, trainer, materials with download paths, the FAQ)."""
    materials = session.scalars(
        select(Material).where(Material.project_id == project.id).order_by(Material.uploaded_at, Material.id)
    ).all()
    return {
        "project_id": project.id,
        "merchant_id": project.merchant_id,
        "seats": project.seats,
        "service_type": project.service_type,
        "service_hours": _hours(project),
        "go_live_date": project.go_live_date,
        "assessor": project.assessor,
        "trainer": project.trainer,
        "metrics": {
            "daily_consultations": project.daily_consultations,
            "first_response_seconds": project.first_response_seconds,
            "avg_response_seconds": project.avg_response_seconds,
            "conversion_rate": project.conversion_rate,
            "avg_order_value": project.avg_order_value,
            "satisfaction_rate": project.satisfaction_rate,
        },
        "platform": project.platform,
        "company_name": project.company_name,
        "merchant": {
            "company_name": project.company_name,
            "contact_name": project.contact_name,
            "contact_phone": project.contact_phone,
            "liaison": project.liaison,
        },
        "training": {
            "trainer": project.trainer,
            "assessor": project.assessor,
            "requirements": project.training_requirements,
        },
        "qa": {"merchant_standard": project.qa_merchant_standard, "standard": project.qa_standard},
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
        "faq": faq_items(session, project),
        "notes": project.notes,
        "confirmed_at": project.confirmed_at,
    }


def promote_due_projects(session: Session, today: dt.date) -> int:
    """Confirmed projects whose go-live date has come are live (the worker's periodic job)."""
    due = session.scalars(
        select(Project)
        .where(Project.status == Status.CONFIRMED.value, Project.go_live_date <= today)
        .order_by(Project.go_live_date, Project.id)
        .limit(500)
    ).all()
    for project in due:
        project.status = Status.LIVE.value
        project.updated_at = _now()
        _record(
            session,
            project,
            SYSTEM,
            "went_live",
            from_status=Status.CONFIRMED.value,
            to_status=Status.LIVE.value,
            reason=f"go-live date {project.go_live_date.isoformat() if project.go_live_date else ''} reached",
        )
    return len(due)


# --- FAQ sheet -------------------------------------------------------------------------------------------


def _faq_entries(session: Session, project: Project) -> list[FaqEntry]:
    return list(
        session.scalars(
            select(FaqEntry).where(FaqEntry.project_id == project.id).order_by(FaqEntry.position)
        ).all()
    )


def faq_answers(session: Session, project: Project) -> dict[str, str | None]:
    return {e.key: e.answer for e in _faq_entries(session, project) if e.key is not None}


def _progress(entries: Iterable[FaqEntry], config: OnboardingConfig) -> domain.FaqProgress:
    entries = list(entries)
    standard = {
        e.key: domain.StandardState(e.answer, bool(e.not_applicable)) for e in entries if e.key is not None
    }
    own = [e.answer for e in entries if e.key is None]
    return domain.faq_progress(standard, own, config.min_own_faq_questions)


def faq_progress(
    session: Session, project: Project, config: OnboardingConfig | None = None
) -> domain.FaqProgress:
    return _progress(_faq_entries(session, project), config or OnboardingConfig())


def faq_status(progress: domain.FaqProgress) -> dict[str, Any]:
    return {
        "complete": progress.complete,
        "unanswered": list(progress.unanswered),
        "not_applicable": list(progress.not_applicable),
        "own_questions": progress.own_questions,
        "min_own_questions": progress.min_own_questions,
        "problems": progress.problems(),
    }


def faq_view(session: Session, project: Project, config: OnboardingConfig | None = None) -> dict[str, Any]:
    entries = _faq_entries(session, project)
    by_key = {e.key: e for e in entries if e.key is not None}
    progress = _progress(entries, config or OnboardingConfig())

    def standard(q: domain.StandardQuestion) -> dict[str, Any]:
        entry = by_key.get(q.key)
        answer = entry.answer if entry else None
        not_applicable = bool(entry and entry.not_applicable)
        return {
            "key": q.key,
            "question": q.question,
            "label": q.label,
            "group": q.group,
            "hint": q.hint,
            "answer": answer,
            "answered": domain.is_answered(answer),
            "not_applicable": not_applicable,
            "not_applicable_by": entry.decided_by if not_applicable and entry else None,
            "not_applicable_by_role": entry.decided_by_role if not_applicable and entry else None,
            "not_applicable_at": entry.decided_at if not_applicable and entry else None,
        }

    return {
        "project_id": project.id,
        "version": project.faq_version,
        **faq_status(progress),
        "standard": [standard(q) for q in domain.STANDARD_QUESTIONS],
        "custom": [{"question": e.question, "answer": e.answer} for e in entries if e.key is None],
    }


def faq_items(session: Session, project: Project) -> list[dict[str, Any]]:
    """The sheet as one list, standard questions first (the shape of the event and the exports)."""
    sheet = faq_view(session, project)
    return [
        {
            "key": q["key"],
            "question": q["question"],
            "answer": q["answer"],
            "standard": True,
            "not_applicable": q["not_applicable"],
        }
        for q in sheet["standard"]
    ] + [
        {
            "key": None,
            "question": c["question"],
            "answer": c["answer"],
            "standard": False,
            "not_applicable": False,
        }
        for c in sheet["custom"]
    ]


def put_faq(
    session: Session,
    actor: Principal,
    project_id: str,
    scope: str | None,
    data: Mapping[str, Any],
    if_match: IfMatch,
) -> Project:
    project = load_project(session, project_id, scope)
    check_if_match(faq_etag(project), if_match, required=False, what="FAQ sheet")
    if Status(project.status) not in domain.OPEN_STATUSES:
        raise Conflict(
            f"The FAQ sheet of a {project.status} project is settled and can no longer be changed; it can be "
            "edited while the project is draft, submitted or returned.",
            extra={"current_status": project.status},
        )
    entries = _faq_entries(session, project)
    before = {e.key: e for e in entries if e.key is not None}
    before_custom = sum(1 for e in entries if e.key is None)
    new_answers = {item["key"]: item.get("answer") for item in data.get("standard", [])}
    new_na = {item["key"] for item in data.get("standard", []) if item.get("not_applicable")}
    was_na = {k for k, e in before.items() if e.not_applicable}
    changed = sorted(
        k
        for k in domain.STANDARD_KEYS
        if ((before[k].answer if k in before else None) or None) != (new_answers.get(k) or None)
    )
    # who decided a question does not apply, and when, is kept while the mark stays
    decisions = {k: (e.decided_by, e.decided_by_role, e.decided_at) for k, e in before.items() if k in new_na}
    now = _now()

    session.execute(delete(FaqEntry).where(FaqEntry.project_id == project.id))
    position = 0
    for question in domain.STANDARD_QUESTIONS:
        key = question.key
        if key in new_na:
            by, role, at = decisions[key] if key in was_na else (actor.sub, actor.role, now)
            session.add(
                FaqEntry(
                    id=str(uuid.uuid4()),
                    project_id=project.id,
                    key=key,
                    answer=None,
                    position=position,
                    not_applicable=True,
                    decided_by=by,
                    decided_by_role=role,
                    decided_at=at,
                )
            )
        elif new_answers.get(key):
            session.add(
                FaqEntry(
                    id=str(uuid.uuid4()),
                    project_id=project.id,
                    key=key,
                    answer=new_answers[key],
                    position=position,
                )
            )
        position += 1
    for item in data.get("custom", []):
        session.add(
            FaqEntry(
                id=str(uuid.uuid4()),
                project_id=project.id,
                key=None,
                question=item["question"],
                answer=item.get("answer"),
                position=position,
            )
        )
        position += 1
    # bump the sheet's own version, compare-and-set: a concurrent PUT that got in first makes this a 412
    bumped = session.execute(
        update(Project)
        .where(Project.id == project.id, Project.faq_version == project.faq_version)
        .values(faq_version=project.faq_version + 1)
        .execution_options(synchronize_session=False)
    )
    if bumped.rowcount != 1:
        session.rollback()
        raise PreconditionFailed(
            "The FAQ sheet was changed by someone else at the same moment; GET it and retry."
        )
    _record(
        session,
        project,
        actor,
        "faq_updated",
        changes={
            "answers_changed": changed,
            "not_applicable": {"marked": sorted(new_na - was_na), "cleared": sorted(was_na - new_na)},
            "custom_questions": {"from": before_custom, "to": len(data.get("custom", []))},
        },
    )
    session.commit()
    session.refresh(project)
    return project


def _sheet_title(project: Project) -> str:
    return f"常见问题咨询&话术 — {project.company_name or project.id}"


FAQ_COLUMNS: tuple[Column, ...] = (
    Column("no", "序号", kind="integer"),
    Column("type", "类型"),
    Column("key", "键"),
    Column("question", "问题"),
    Column("answer", "答案或话术"),
)


def faq_rows(session: Session, project: Project, lang: str = "zh") -> list[list[Any]]:
    """The sheet for ``shared.tabular``: standard questions first, then the merchant's own."""
    kinds = {True: "standard", False: "custom"} if lang == "en" else {True: "标准", False: "商家自定义"}
    return [
        [number, kinds[item["standard"]], item["key"], item["question"], item["answer"]]
        for number, item in enumerate(faq_items(session, project), start=1)
    ]


def _md_cell(text: str | None) -> str:
    return (text or "").replace("\\", "\\\\").replace("|", "\\|").replace("\r\n", "\n").replace("\n", "<br>")


def faq_markdown(session: Session, project: Project) -> bytes:
    """The sheet for the trainers (培训老师): standard questions, festival scripts, the shop's own."""
    sheet = faq_view(session, project)
    lines = [f"# {_sheet_title(project)}", ""]
    for group, heading in (("faq", "常见问题"), ("script", "大促话术")):
        lines += [f"## {heading}", "", "| 问题 | 答案或话术 |", "| --- | --- |"]
        for q in sheet["standard"]:
            if q["group"] == group:
                pending = "*(不适用)*" if q["not_applicable"] else "*(待商家填写)*"
                answer = _md_cell(q["answer"]) if q["answered"] else pending
                question = _md_cell(q["question"]) + (f"<br>*{_md_cell(q['hint'])}*" if q["hint"] else "")
                lines.append(f"| {question} | {answer} |")
        lines.append("")
    lines += ["## 商家自定义问题", ""]
    if sheet["custom"]:
        lines += ["| 问题 | 答案或话术 |", "| --- | --- |"]
        lines += [f"| {_md_cell(c['question'])} | {_md_cell(c['answer'])} |" for c in sheet["custom"]]
    else:
        lines.append("*(无)*")
    lines.append("")
    return "\n".join(lines).encode("utf-8")


# --- materials -------------------------------------------------------------------------------------------


def list_materials(session: Session, project: Project, page: int, per_page: int) -> Page:
    stmt = (
        select(Material).where(Material.project_id == project.id).order_by(Material.uploaded_at, Material.id)
    )
    result = paginate(session, stmt, page, per_page)
    return Page(
        items=[material_view(m) for m in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
        pages=result.pages,
    )


def material_view(material: Material) -> dict[str, Any]:
    return {
        "id": material.id,
        "project_id": material.project_id,
        "filename": material.filename,
        "kind": material.kind,
        "content_type": material.content_type,
        "size": material.size,
        "sha256": material.sha256,
        "uploaded_by": material.uploaded_by,
        "uploaded_by_role": material.uploaded_by_role,
        "uploaded_at": material.uploaded_at,
        "download_path": material_path(material),
    }


def _references(session: Session, sha256: str) -> int:
    return int(session.execute(select(func.count()).where(Material.sha256 == sha256)).scalar_one())


def add_material(
    session: Session,
    actor: Principal,
    project_id: str,
    scope: str | None,
    store: FileStore,
    upload: FileStorage,
) -> tuple[Material, bool]:
    """Store the file and list it; ``(material, False)`` when the same bytes are already on this project."""
    project = load_project(session, project_id, scope)
    if Status(project.status) in domain.FINAL_STATUSES:
        raise Conflict(
            f"Materials cannot be added to a {project.status} project.",
            extra={"current_status": project.status},
        )
    stored = store.save(upload.stream, upload.filename)
    try:
        existing = session.scalars(
            select(Material).where(Material.project_id == project.id, Material.sha256 == stored.sha256)
        ).first()
        if existing is not None:
            return existing, False
        material = Material(
            id=str(uuid.uuid4()),
            project_id=project.id,
            filename=stored.filename,
            kind=stored.kind.name,
            content_type=stored.content_type,
            size=stored.size,
            sha256=stored.sha256,
            uploaded_by=actor.sub[:100],
            uploaded_by_role=actor.role,
            uploaded_at=_now(),
        )
        session.add(material)
        _record(
            session,
            project,
            actor,
            "material_added",
            changes={"material": {"id": material.id, "filename": material.filename, "size": material.size}},
        )
        session.commit()
        return material, True
    except IntegrityError:
        # the same file uploaded twice at the same moment: the other request listed it
        session.rollback()
        existing = session.scalars(
            select(Material).where(Material.project_id == project_id, Material.sha256 == stored.sha256)
        ).first()
        if existing is None:
            raise
        return existing, False
    except BaseException:
        session.rollback()
        if stored.created and _references(session, stored.sha256) == 0:
            store.delete(stored.sha256)
        raise


def load_material(session: Session, project: Project, material_id: str) -> Material:
    material = None
    if len(material_id) <= 64:
        material = session.scalars(
            select(Material).where(Material.id == material_id, Material.project_id == project.id)
        ).first()
    if material is None:
        raise NotFound(f"Project {project.id} has no material with id {material_id}.")
    return material


def delete_material(
    session: Session, actor: Principal, project_id: str, material_id: str, scope: str | None, store: FileStore
) -> None:
    project = load_project(session, project_id, scope)
    material = load_material(session, project, material_id)
    if Status(project.status) not in domain.OPEN_STATUSES:
        raise Conflict(
            f"Materials of a {project.status} project are kept for training; they can be deleted while the "
            "project is draft, submitted or returned.",
            extra={"current_status": project.status},
        )
    sha = material.sha256
    _record(
        session,
        project,
        actor,
        "material_deleted",
        changes={"material": {"id": material.id, "filename": material.filename, "size": material.size}},
    )
    session.delete(material)
    session.commit()
    # after the commit: a failed delete leaves an orphan blob (harmless), never a row without its file
    if _references(session, sha) == 0:
        store.delete(sha)
    session.commit()
