"""The read side of the quality service: lists (keyset pages, newest first) and the shapes views answer
with. A merchant sees only its own projects; the vendor's side sees every project."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, String, and_, cast, or_, select

from services.quality.config import QualitySettings
from services.quality.models import AgentDay, Conversation, KpiScore, Project, ProjectAgent, Review, Scorecard
from shared.pagination import Page, paginate_args
from shared.uow import Actor, UnitOfWork

AGENT_DAY_ORDER = (AgentDay.date.desc(), AgentDay.agent_id.desc())
CONVERSATION_ORDER = (Conversation.started_at.desc(), Conversation.id.desc())
REVIEW_ORDER = (Review.created_at.desc(), Review.id.desc())
SCORECARD_ORDER = (Scorecard.created_at.desc(), Scorecard.id.desc())
KPI_ORDER = (KpiScore.period.desc(), KpiScore.agent_id)


def _own_projects(actor: Actor) -> Select[Any]:
    return select(Project.project_id).where(Project.merchant_id == actor.merchant_id)


def _tenant(stmt: Select[Any], actor: Actor, column: Any) -> Select[Any]:
    """Only the merchant's own projects for a merchant."""
    if actor.role != "merchant":
        return stmt
    return stmt.where(column.in_(_own_projects(actor)))


def _range(stmt: Select[Any], args: Mapping[str, Any], model: Any, day: Any) -> Select[Any]:
    if args.get("project_id"):
        stmt = stmt.where(model.project_id == args["project_id"])
    if args.get("agent_id"):
        stmt = stmt.where(model.agent_id == args["agent_id"])
    if args.get("from_"):
        stmt = stmt.where(day >= args["from_"])
    if args.get("to"):
        stmt = stmt.where(day <= args["to"])
    return stmt


# Every list is of one project (``project_id`` is required): each is read through an index that starts
# with the project and goes on with the list's sort (tests/integration/test_list_plans_quality.py).


def agent_day_query(actor: Actor, args: Mapping[str, Any]) -> Select[Any]:
    return _range(_tenant(select(AgentDay), actor, AgentDay.project_id), args, AgentDay, AgentDay.date)


def list_agent_days(uow: UnitOfWork, args: Mapping[str, Any]) -> Page:
    return paginate_args(uow.session, agent_day_query(uow.actor, args), args, order_by=AGENT_DAY_ORDER)


def conversation_query(actor: Actor, args: Mapping[str, Any]) -> Select[Any]:
    stmt = _tenant(select(Conversation), actor, Conversation.project_id)
    stmt = _range(stmt, args, Conversation, Conversation.date)
    for name in ("needs_review", "reviewed", "outcome"):
        if args.get(name) is not None:
            stmt = stmt.where(getattr(Conversation, name) == args[name])
    if args.get("flag"):
        # flags are a JSON list of fixed codes: its text holds the quoted code (PostgreSQL and SQLite alike)
        stmt = stmt.where(
            Conversation.needs_review.is_(True), cast(Conversation.flags, String).like(f'%"{args["flag"]}"%')
        )
    return stmt


def list_conversations(uow: UnitOfWork, args: Mapping[str, Any]) -> Page:
    return paginate_args(uow.session, conversation_query(uow.actor, args), args, order_by=CONVERSATION_ORDER)


def review_query(actor: Actor, args: Mapping[str, Any]) -> Select[Any]:
    stmt = _range(_tenant(select(Review), actor, Review.project_id), args, Review, Review.date)
    for name in ("method", "tier"):
        if args.get(name):
            stmt = stmt.where(getattr(Review, name) == args[name])
    return stmt


def list_reviews(uow: UnitOfWork, args: Mapping[str, Any]) -> Page:
    return paginate_args(uow.session, review_query(uow.actor, args), args, order_by=REVIEW_ORDER)


def scorecard_query(actor: Actor, args: Mapping[str, Any]) -> Select[Any]:
    """Every scorecard; with ``project_id`` that project's and the vendor's. A merchant sees the vendor's and
    its own projects'."""
    stmt = select(Scorecard)
    if args.get("project_id"):
        stmt = stmt.where(or_(Scorecard.project_id == args["project_id"], Scorecard.project_id.is_(None)))
    if actor.role == "merchant":
        stmt = stmt.where(or_(Scorecard.project_id.is_(None), Scorecard.project_id.in_(_own_projects(actor))))
    return stmt


def list_scorecards(uow: UnitOfWork, args: Mapping[str, Any]) -> Page:
    return paginate_args(uow.session, scorecard_query(uow.actor, args), args, order_by=SCORECARD_ORDER)


def kpi_query(actor: Actor, args: Mapping[str, Any], settings: QualitySettings) -> Select[Any]:
    stmt = (
        select(KpiScore, ProjectAgent.name)
        .outerjoin(
            ProjectAgent,
            and_(ProjectAgent.project_id == KpiScore.project_id, ProjectAgent.agent_id == KpiScore.agent_id),
        )
        .where(KpiScore.project_id == args["project_id"])
    )
    stmt = _tenant(stmt, actor, KpiScore.project_id)
    if args.get("period"):
        stmt = stmt.where(KpiScore.period == args["period"])
    if args.get("agent_id"):
        stmt = stmt.where(KpiScore.agent_id == args["agent_id"])
    if args.get("warning") is not None:
        limit = settings.warning_periods
        stmt = stmt.where(
            KpiScore.below_threshold_streak >= limit
            if args["warning"]
            else KpiScore.below_threshold_streak < limit
        )
    return stmt


def list_kpi(uow: UnitOfWork, args: Mapping[str, Any], settings: QualitySettings) -> Page:
    page = paginate_args(uow.session, kpi_query(uow.actor, args, settings), args, order_by=KPI_ORDER)
    return page.with_items([kpi_view(row.KpiScore, settings, row.name) for row in page.items])


def kpi_view(row: KpiScore, settings: QualitySettings, name: str | None = None) -> dict[str, Any]:
    return {
        "project_id": row.project_id,
        "agent_id": row.agent_id,
        "agent_name": name,
        "period": row.period,
        "score": row.score,
        "data": row.data,
        "performance": row.performance,
        "execution": row.execution,
        "weights": row.weights,
        "missing": row.missing,
        "indicators": row.indicators,
        "targets": row.targets,
        "targets_met": row.targets_met,
        "reviews": row.reviews,
        "below_threshold_streak": row.below_threshold_streak,
        "warning": row.below_threshold_streak >= settings.warning_periods,
        "version": row.version,
        "scored_at": row.scored_at,
    }
