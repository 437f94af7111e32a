"""What every onboarding command and query shares: finding the caller's project, the groups of its public
shape (views and events alike), its ETags and the If-Match check, the optimistic write, and the history row
(项目历史) each change leaves."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm.exc import StaleDataError

from services.onboarding.models import Material, Project, ProjectHistory
from shared.errors import Conflict, NotFound, PreconditionFailed, ProblemError
from shared.uow import Actor, UnitOfWork

API_PREFIX = "/api/v1"
#: The history's author of the worker's go-live moves (kept as "system:system", what history has shown).
SYSTEM = Actor.system("system")

#: What an ``If-Match`` header asked for: None (absent), "*" (any), or the entity tags sent.
IfMatch = Literal["*"] | frozenset[str] | None


def scope_of(actor: Actor) -> str | None:
    """The merchant a caller is confined to, or None when it may reach every merchant's projects."""
    return actor.merchant_id if actor.is_merchant else None


def not_found(project_id: str) -> NotFound:
    return NotFound(f"There is no project with id {project_id}.")


#: Built once: building the statement and its cache key on every request cost more than running it.
_BY_ID = select(Project).where(Project.id == bindparam("project_id"))
_BY_ID_SCOPED = _BY_ID.where(Project.merchant_id == bindparam("scope"))


def load_project(uow: UnitOfWork, project_id: str) -> Project:
    """The project, or the same 404 whether it is missing or another merchant's."""
    if len(project_id) > 64:
        raise not_found(project_id[:64] + "…")
    scope = scope_of(uow.actor)
    stmt = _BY_ID_SCOPED if scope is not None else _BY_ID
    project = uow.session.scalars(stmt, {"project_id": project_id, "scope": scope}).first()
    if project is None:
        raise not_found(project_id)
    return project


def hours(project: Project) -> dict[str, Any] | None:
    if project.hours_start is None or project.hours_end is None:
        return None
    return {
        "start": project.hours_start,
        "end": project.hours_end,
        "overnight": bool(project.hours_overnight),
    }


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


def _groups() -> dict[str, tuple[tuple[str, str], ...]]:
    groups: dict[str, list[tuple[str, str]]] = {}
    for path, column in FIELD_COLUMNS.items():
        name, dot, key = path.partition(".")
        if dot:
            groups.setdefault(name, []).append((key, column))
    return {name: tuple(members) for name, members in groups.items()}


#: group → ((key, column), …), worked out once: every view of every project of a list page reads it
_GROUPS = _groups()


def group(project: Project, name: str) -> dict[str, Any]:
    """One group of the project's public shape (``merchant``, ``metrics``, ``training``, ``qa``…) from its
    columns, as views and events show it."""
    return {key: getattr(project, column) for key, column in _GROUPS.get(name, ())}


def material_path(material: Material) -> str:
    return f"{API_PREFIX}/projects/{material.project_id}/materials/{material.id}"


def etag(project: Project | Row[Any]) -> str:
    """The project's ETag, from its object or a row of its columns."""
    return f'"{project.version}"'


def faq_etag(project: Project) -> str:
    return f'"faq-{project.faq_version}"'


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


def record(
    uow: UnitOfWork,
    project: Project,
    action: str,
    *,
    actor: Actor | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    changes: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """One history row; ``actor`` defaults to the unit of work's."""
    who = actor or uow.actor
    uow.session.add(
        ProjectHistory(
            project_id=project.id,
            at=uow.now(),
            actor_sub=who.sub[:100],
            actor_role=who.role,
            action=action,
            from_status=from_status,
            to_status=to_status,
            changes=changes,
            reason=reason,
        )
    )


@contextmanager
def optimistic(uow: UnitOfWork, project_id: str, if_match: IfMatch = None) -> Iterator[None]:
    """Flush inside: a concurrent writer that committed first (the version moved under us) is a 412 when
    the caller sent If-Match, else a 409: a 412 answers a precondition, and a caller who sent none has no
    precondition to have failed. Flushing here (not at the entry point's commit) is what lets the version
    check become that answer."""
    try:
        yield
        uow.flush()
    except StaleDataError:
        detail = (
            f"Project {project_id} was changed by someone else at the same moment; GET it again and retry."
        )
        if if_match is None:
            raise Conflict(detail) from None
        raise PreconditionFailed(detail) from None
