"""People's QA (人工质检): scorecards, reviews of conversations, the supervisor's execution ratings.

The scorecard a project is reviewed with is the merchant's when the checklist says the merchant has its
own QA standard (seed 004: 如果有我们参考商家标准质检, 如果没有将按我们标准进行质检), else the vendor's.
A review's problems and good cases go to the trainers (``qa.finding``: improvement training, 提升培训).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select

from services.quality import domain
from services.quality.domain import ScorecardItem
from services.quality.models import Conversation, ExecutionRating, Project, ProjectAgent, Review, Scorecard
from shared.errors import BusinessRuleViolation, NotFound, ValidationFailed
from shared.uow import UnitOfWork
from shared.workdays import today_shanghai

PROJECT_NOT_FOUND = "The quality service has no record of this project."


def known_project(uow: UnitOfWork, project_id: str) -> Project:
    """A confirmed project the caller may see (404 otherwise, as for a missing one)."""
    project = uow.session.get(Project, project_id)
    if project is None or not project.confirmed:
        raise NotFound(PROJECT_NOT_FOUND)
    if uow.actor.role == "merchant" and project.merchant_id != uow.actor.merchant_id:
        raise NotFound(PROJECT_NOT_FOUND)
    return project


# --- scorecards ----------------------------------------------------------------------------------------


def items_of(scorecard: Scorecard) -> list[ScorecardItem]:
    return [ScorecardItem(**item) for item in scorecard.items]


def create_scorecard(uow: UnitOfWork, data: Mapping[str, Any]) -> Scorecard:
    """A new version of the vendor's default (no project) or of a project's own scorecard."""
    project_id = data.get("project_id")
    if project_id is None and uow.actor.role != "vendor":
        raise BusinessRuleViolation(
            "Only the vendor changes its default scorecard; name the project for a project's own.",
            rule="vendor_scorecard",
        )
    if project_id is not None:
        known_project(uow, project_id)
    problems = domain.scorecard_errors(data["items"])
    if problems:
        raise ValidationFailed({"items": problems})
    version = uow.session.execute(
        select(func.coalesce(func.max(Scorecard.version), 0)).where(_same_owner(project_id))
    ).scalar_one()
    items = [dict(item) for item in data["items"]]
    scorecard = Scorecard(
        id=str(uuid.uuid4()),
        project_id=project_id,
        source=data.get("source") or ("vendor" if project_id is None else "merchant"),
        name=data["name"].strip(),
        items=items,
        max_points=sum(int(i["points"]) for i in items),
        version=int(version) + 1,
        created_at=uow.now(),
        created_by=uow.actor.label[:100],
    )
    uow.session.add(scorecard)
    return scorecard


def _same_owner(project_id: str | None) -> Any:
    return Scorecard.project_id.is_(None) if project_id is None else Scorecard.project_id == project_id


def _latest(uow: UnitOfWork, project_id: str | None) -> Scorecard | None:
    return uow.session.scalars(
        select(Scorecard).where(_same_owner(project_id)).order_by(Scorecard.version.desc()).limit(1)
    ).first()


def vendor_scorecard(uow: UnitOfWork) -> Scorecard:
    """The vendor's current default; the built-in one (迎察问说应收 …, 100 points) stored on first use."""
    scorecard = _latest(uow, None)
    if scorecard is not None:
        return scorecard
    items = [vars(item) for item in domain.VENDOR_SCORECARD]
    scorecard = Scorecard(
        id=str(uuid.uuid4()),
        project_id=None,
        source="vendor",
        name="云客服质检标准（默认）",
        items=items,
        max_points=sum(i["points"] for i in items),
        version=1,
        created_at=uow.now(),
        created_by="system",
    )
    uow.session.add(scorecard)
    uow.session.flush()
    return scorecard


def effective_scorecard(uow: UnitOfWork, project: Project) -> Scorecard:
    """The project's own scorecard when it has one; the vendor's when the merchant has no standard."""
    own = _latest(uow, project.project_id)
    if own is not None:
        return own
    if project.qa_merchant_standard:
        raise BusinessRuleViolation(
            "The checklist says the merchant has its own QA standard, and this project has no scorecard "
            "yet: create it from the merchant's standard first (POST /api/v1/scorecards with project_id).",
            rule="merchant_scorecard_missing",
        )
    return vendor_scorecard(uow)


def get_scorecard(uow: UnitOfWork, scorecard_id: str) -> Scorecard:
    scorecard = uow.session.get(Scorecard, scorecard_id)
    if scorecard is None:
        raise NotFound("There is no scorecard with this id.")
    if scorecard.project_id is not None:
        known_project(uow, scorecard.project_id)
    return scorecard


# --- reviews -------------------------------------------------------------------------------------------


def record_review(uow: UnitOfWork, data: Mapping[str, Any]) -> Review:
    """A person's review of a conversation (or, for a mystery shopper, survey or data check, of an agent
    on a day), scored against the project's scorecard; problems and good cases go to the trainers."""
    session = uow.session
    conversation: Conversation | None = None
    if data.get("conversation_id"):
        conversation = session.get(Conversation, data["conversation_id"])
        if conversation is None:
            raise ValidationFailed({"conversation_id": ["there is no conversation with this id"]})
        project_id, agent_id, day = conversation.project_id, conversation.agent_id, conversation.date
    else:
        missing = [name for name in ("project_id", "agent_id", "date") if not data.get(name)]
        if missing:
            raise ValidationFailed({name: ["required when no conversation_id is given"] for name in missing})
        project_id, agent_id, day = data["project_id"], data["agent_id"], data["date"]
        if day > today_shanghai(uow.now()):
            raise ValidationFailed({"date": ["a review is of a day that has happened"]})
    project = known_project(uow, project_id)
    if session.get(ProjectAgent, (project_id, agent_id)) is None:
        raise ValidationFailed(
            {"agent_id": [f"unknown agent {agent_id!r} in project {project_id!r} (agent.admitted)"]}
        )
    scorecard = effective_scorecard(uow, project)
    try:
        scored = domain.score_review(items_of(scorecard), data["points"])
    except ValueError as exc:
        raise ValidationFailed({"points": str(exc).split("; ")}) from None
    review = Review(
        id=str(uuid.uuid4()),
        project_id=project_id,
        agent_id=agent_id,
        conversation_id=conversation.id if conversation else None,
        scorecard_id=scorecard.id,
        date=day,
        method=data.get("method") or "chat_sampling",
        tier=data["tier"],
        reviewer=uow.actor.sub[:100],
        points=dict(data["points"]),
        areas={area: str(value) for area, value in scored.areas.items()},
        total=scored.total,
        max_total=scored.max_total,
        percent=scored.percent,
        problems=[p.strip() for p in data.get("problems", []) if p.strip()],
        good_cases=[g.strip() for g in data.get("good_cases", []) if g.strip()],
        note=(data.get("note") or "").strip() or None,
        created_at=uow.now(),
    )
    session.add(review)
    if conversation is not None:
        conversation.reviewed = True
    if review.problems or review.good_cases:
        uow.emit(
            "qa.finding",
            {
                "project_id": project_id,
                "agent_id": agent_id,
                "review_id": review.id,
                "conversation_id": review.conversation_id,
                "date": day,
                "method": review.method,
                "percent": str(review.percent),
                "problems": review.problems,
                "good_cases": review.good_cases,
            },
        )
    return review


def get_review(uow: UnitOfWork, review_id: str) -> Review:
    review = uow.session.get(Review, review_id)
    if review is None:
        raise NotFound("There is no review with this id.")
    known_project(uow, review.project_id)
    return review


# --- execution ratings -----------------------------------------------------------------------------------


def rate_execution(
    uow: UnitOfWork, project_id: str, agent_id: str, period: str, data: Mapping[str, Any]
) -> tuple[ExecutionRating, bool]:
    """The supervisor's execution rating (执行力) for a period; rating again replaces it."""
    known_project(uow, project_id)
    if uow.session.get(ProjectAgent, (project_id, agent_id)) is None:
        raise NotFound(f"Agent {agent_id!r} was never admitted to this project.")
    rating = uow.session.get(ExecutionRating, (project_id, agent_id, period))
    created = rating is None
    if rating is None:
        rating = ExecutionRating(project_id=project_id, agent_id=agent_id, period=period)
        uow.session.add(rating)
    rating.score = data["score"]
    rating.note = (data.get("note") or "").strip() or None
    rating.rated_by = uow.actor.sub[:100]
    rating.rated_at = uow.now()
    return rating, created


def review_percents(
    uow: UnitOfWork, project_id: str, agent_ids: Sequence[str] | None, period: str
) -> dict[str, list[Any]]:
    """Each agent's review percents in a period (by the reviewed day)."""
    first, last = domain.period_bounds(period)
    stmt = select(Review.agent_id, Review.percent).where(
        Review.project_id == project_id, Review.date.between(first, last)
    )
    if agent_ids is not None:
        stmt = stmt.where(Review.agent_id.in_(list(agent_ids)))
    out: dict[str, list[Any]] = {}
    for agent_id, percent in uow.session.execute(stmt):
        out.setdefault(agent_id, []).append(percent)
    return out


def execution_rating(uow: UnitOfWork, project_id: str, agent_id: str, period: str) -> ExecutionRating | None:
    return uow.session.get(ExecutionRating, (project_id, agent_id, period))
