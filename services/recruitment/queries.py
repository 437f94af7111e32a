"""The read side of recruitment (查询): lookups, list pages and the shapes the views answer with.

Every query takes the unit of work. Tenant scoping: every reader of recruitment sees the whole pool
(vendor, trainer, supervisor); an agent's own record is checked by the view before it calls here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, func, or_, select

from services.recruitment import domain
from services.recruitment.models import Candidate, Match, Project, Requisition
from shared.errors import NotFound
from shared.pagination import Page, paginate_args
from shared.uow import UnitOfWork

CANDIDATE_NOT_FOUND = "There is no candidate with this id."
REQUISITION_NOT_FOUND = "There is no requisition with this id."

_M = TypeVar("_M", Candidate, Requisition)
_PAGING = ("page", "per_page", "after")

#: The lists' sort, newest first; each filter has an index that ends with these columns (migration 0004).
CANDIDATE_ORDER = (Candidate.created_at.desc(), Candidate.id.desc())
REQUISITION_ORDER = (Requisition.created_at.desc(), Requisition.id.desc())


def get_project(uow: UnitOfWork, project_id: str) -> Project:
    project = uow.session.get(Project, project_id)
    if project is None:
        raise NotFound("Recruitment has heard of no project with this id (no event named it yet).")
    return project


def _by_id(uow: UnitOfWork, model: type[_M], row_id: str, lock: bool, missing: str) -> _M:
    # A use case that changes the row locks it (FOR UPDATE) so concurrent matching cannot interleave.
    stmt = select(model).where(model.id == row_id)
    if lock:
        stmt = stmt.with_for_update()
    row = uow.session.scalars(stmt).one_or_none()
    if row is None:
        raise NotFound(missing)
    return row


def get_candidate(uow: UnitOfWork, candidate_id: str, *, lock: bool = False) -> Candidate:
    return _by_id(uow, Candidate, candidate_id, lock, CANDIDATE_NOT_FOUND)


def candidate_history(uow: UnitOfWork, candidate_id: str) -> list[Match]:
    return list(
        uow.session.scalars(
            select(Match)
            .where(Match.candidate_id == candidate_id)
            .order_by(Match.matched_at.desc(), Match.id)
        )
    )


def candidate_query(filters: Mapping[str, Any]) -> Select[Any]:
    stmt = select(Candidate)
    if "skill" in filters:
        stmt = stmt.where(Candidate.skill_mask.op("&")(domain.SKILL_BITS[filters["skill"]]) != 0)
    if "shift" in filters:
        stmt = stmt.where(Candidate.shift_mask.op("&")(domain.SHIFT_BITS[filters["shift"]]) != 0)
    if "category" in filters:
        value = filters["category"].strip().lower()
        stmt = stmt.where(Candidate.category_tags.contains(f"|{value}|", autoescape=True))
    if "platform" in filters:
        try:
            value = domain.normalize_platform(filters["platform"])
        except domain.InvalidValue:
            value = filters["platform"].strip().lower()
        stmt = stmt.where(Candidate.platform_tags.contains(f"|{value}|", autoescape=True))
    if "status" in filters:
        stmt = stmt.where(Candidate.status == filters["status"])
    if "basic_training_passed" in filters:
        stmt = stmt.where(Candidate.basic_training_passed.is_(filters["basic_training_passed"]))
    if "city" in filters:
        stmt = stmt.where(Candidate.city == filters["city"].strip())
    if "min_score" in filters:
        stmt = stmt.where(Candidate.basic_score >= filters["min_score"])
    if "q" in filters:
        text = filters["q"].strip().lower()
        stmt = stmt.where(
            or_(
                func.lower(Candidate.name).contains(text, autoescape=True),
                Candidate.phone.contains(text, autoescape=True),
                func.lower(func.coalesce(Candidate.notes, "")).contains(text, autoescape=True),
            )
        )
    return stmt


def get_requisition(uow: UnitOfWork, requisition_id: str, *, lock: bool = False) -> Requisition:
    return _by_id(uow, Requisition, requisition_id, lock, REQUISITION_NOT_FOUND)


def requisition_query(filters: Mapping[str, Any]) -> Select[Any]:
    stmt = select(Requisition)
    for key in ("project_id", "status", "reason"):
        if key in filters:
            stmt = stmt.where(getattr(Requisition, key) == filters[key])
    return stmt


def candidate_detail(uow: UnitOfWork, candidate_id: str) -> Candidate:
    """A candidate with ``history`` (every match, newest first) for ``CandidateDetailOut``."""
    candidate = get_candidate(uow, candidate_id)
    candidate.history = candidate_history(uow, candidate_id)  # type: ignore[attr-defined]
    return candidate


def list_candidates(uow: UnitOfWork, args: Mapping[str, Any]) -> Page:
    """One page of the pool, newest first (``args``: the list filters plus page/per_page/after)."""
    return _page(uow, candidate_query, CANDIDATE_ORDER, args)


def list_requisitions(uow: UnitOfWork, args: Mapping[str, Any]) -> Page:
    """One page of requisitions, newest first (``args``: the list filters plus page/per_page/after)."""
    return _page(uow, requisition_query, REQUISITION_ORDER, args)


def _page(
    uow: UnitOfWork,
    query: Callable[[Mapping[str, Any]], Select[Any]],
    order: Sequence[Any],
    args: Mapping[str, Any],
) -> Page:
    filters = {key: value for key, value in args.items() if key not in _PAGING and value is not None}
    return paginate_args(uow.session, query(filters), args, order_by=order)
