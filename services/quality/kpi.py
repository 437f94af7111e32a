"""The agent KPI per period (KPI考核) and the store's monthly figures (店铺指标).

Scoring a project's period computes every agent's KPI from the imported platform figures (65%), the
reviews' scorecards (25%) and the supervisor's rating (10%), stores it, and announces each new or changed
score as ``kpi.scored`` (billing pays conditional bases by it; an agent below the warning threshold for
``QUALITY_KPI_WARNING_PERIODS`` periods in a row is flagged for the supervisor). Scoring again with the
same inputs changes nothing and announces nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select

from services.quality import domain
from services.quality.config import QualitySettings
from services.quality.domain import AgentDay as DayFigures
from services.quality.models import AgentDay, ExecutionRating, KpiScore, ProjectAgent
from services.quality.projections import targets_of
from services.quality.reviews import known_project, review_percents
from shared.errors import ValidationFailed
from shared.uow import UnitOfWork
from shared.workdays import today_shanghai


def _figures(row: Any) -> DayFigures:
    return DayFigures(
        date=row.date,
        receptions=row.receptions,
        inquiries=row.inquiries,
        orders=row.orders,
        first_response_seconds=row.first_response_seconds,
        avg_response_seconds=row.avg_response_seconds,
        sales_amount=row.sales_amount,
        votes=(
            row.votes_very_satisfied,
            row.votes_satisfied,
            row.votes_neutral,
            row.votes_unsatisfied,
            row.votes_very_unsatisfied,
        ),
        quality_refunds=row.quality_refunds,
        help_requests=row.help_requests,
    )


def _check_period(uow: UnitOfWork, period: str) -> tuple[Any, Any]:
    first, last = domain.period_bounds(period)
    if first > today_shanghai(uow.now()):
        raise ValidationFailed({"period": [f"{period} has not started yet"]})
    return first, last


def days_by_agent(uow: UnitOfWork, project_id: str, period: str) -> dict[str, list[DayFigures]]:
    return days_by_range(uow, project_id, *domain.period_bounds(period))


def days_by_range(
    uow: UnitOfWork, project_id: str, first: dt.date, last: dt.date
) -> dict[str, list[DayFigures]]:
    """Each agent's imported days from ``first`` to ``last`` (both included)."""
    out: dict[str, list[DayFigures]] = defaultdict(list)
    for row in uow.session.scalars(
        select(AgentDay).where(AgentDay.project_id == project_id, AgentDay.date.between(first, last))
    ):
        out[row.agent_id].append(_figures(row))
    return out


def _weighted_sums(column: Any) -> tuple[Any, Any]:
    """Σ(column × receptions) and Σreceptions over the days that have the figure and receptions."""
    counted = and_(column.is_not(None), AgentDay.receptions > 0)
    return (
        func.sum(case((counted, column * AgentDay.receptions))),
        func.sum(case((counted, AgentDay.receptions))),
    )


def _cents(value: Any) -> Decimal:
    # SQLite sums numerics through floats; PostgreSQL's are exact already
    return Decimal(str(value or 0)).quantize(domain.CENT)


def summaries_by_agent(uow: UnitOfWork, project_id: str, period: str) -> dict[str, domain.PeriodData]:
    """Each agent's month added up by the database (one grouped query, no row per day in Python): the
    same figures ``domain.summarise`` gives from the days."""
    first, last = domain.period_bounds(period)
    avg_total, avg_weight = _weighted_sums(AgentDay.avg_response_seconds)
    first_total, first_weight = _weighted_sums(AgentDay.first_response_seconds)
    stmt = (
        select(
            AgentDay.agent_id,
            func.count(),
            func.sum(AgentDay.receptions),
            func.sum(AgentDay.inquiries),
            func.sum(AgentDay.orders),
            func.sum(AgentDay.sales_amount),
            avg_total,
            avg_weight,
            first_total,
            first_weight,
            func.sum(AgentDay.votes_very_satisfied + AgentDay.votes_satisfied),
            func.sum(
                AgentDay.votes_very_satisfied
                + AgentDay.votes_satisfied
                + AgentDay.votes_neutral
                + AgentDay.votes_unsatisfied
                + AgentDay.votes_very_unsatisfied
            ),
            func.sum(AgentDay.quality_refunds),
            func.sum(AgentDay.help_requests),
        )
        .where(AgentDay.project_id == project_id, AgentDay.date.between(first, last))
        .group_by(AgentDay.agent_id)
    )
    out: dict[str, domain.PeriodData] = {}
    for row in uow.session.connection().execute(stmt):
        agent_id, days, receptions, inquiries, orders, sales = row[:6]
        a_total, a_weight, f_total, f_weight, satisfied, votes, refunds, helps = row[6:]
        out[agent_id] = domain.PeriodData(
            days=int(days),
            receptions=int(receptions or 0),
            inquiries=int(inquiries or 0),
            orders=int(orders or 0),
            sales_amount=_cents(sales),
            avg_response_seconds=domain.weighted_mean(_cents(a_total), int(a_weight or 0)),
            first_response_seconds=domain.weighted_mean(_cents(f_total), int(f_weight or 0)),
            satisfied_votes=int(satisfied or 0),
            total_votes=int(votes or 0),
            quality_refunds=int(refunds or 0),
            help_requests=int(helps or 0),
        )
    return out


def score_period(uow: UnitOfWork, project_id: str, period: str, settings: QualitySettings) -> dict[str, Any]:
    """Every agent's KPI for the period; new or changed scores are stored and announced."""
    project = known_project(uow, project_id)
    _check_period(uow, period)
    session = uow.session
    targets = targets_of(project)
    summaries = summaries_by_agent(uow, project_id, period)
    percents = review_percents(uow, project_id, None, period)
    ratings = {
        r.agent_id: r.score
        for r in session.scalars(
            select(ExecutionRating).where(
                ExecutionRating.project_id == project_id, ExecutionRating.period == period
            )
        )
    }
    agents = sorted(
        set(session.scalars(select(ProjectAgent.agent_id).where(ProjectAgent.project_id == project_id)))
        | set(summaries)
        | set(percents)
        | set(ratings)
    )
    stored = {
        k.agent_id: k
        for k in session.scalars(
            select(KpiScore).where(KpiScore.project_id == project_id, KpiScore.period == period)
        )
    }
    history: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    for agent_id, earlier, score in session.execute(
        select(KpiScore.agent_id, KpiScore.period, KpiScore.score)
        .where(KpiScore.project_id == project_id, KpiScore.period < period)
        .order_by(KpiScore.period)
    ):
        history[agent_id].append((earlier, score))
    scored: list[KpiScore] = []
    unscored: list[str] = []
    changed = 0
    now = uow.now()
    weights = settings.weights
    empty = domain.summarise([])
    announcements: list[tuple[str, dict[str, Any]]] = []
    for agent_id in agents:
        summary = summaries.get(agent_id, empty)
        indicators = domain.data_indicators(summary, targets) if summary.days else []
        data_part = domain.data_score(indicators)
        performance = domain.performance_score(percents.get(agent_id, []))
        execution = ratings.get(agent_id)
        try:
            kpi = domain.kpi_score(data_part, performance, execution, weights)
        except ValueError:
            unscored.append(agent_id)
            continue
        verdict = domain.targets_verdict(summary, targets) if summary.days else {}
        streak = domain.below_threshold_streak(
            [*history.get(agent_id, []), (period, kpi.score)], settings.warning_threshold
        )
        values: dict[str, Any] = {
            "score": kpi.score,
            "data": kpi.data,
            "performance": kpi.performance,
            "execution": kpi.execution,
            "weights": {
                "data": str(weights.data),
                "performance": str(weights.performance),
                "execution": str(weights.execution),
            },
            "missing": list(kpi.missing),
            "indicators": [
                {
                    "name": i.name,
                    "actual": _text(i.actual),
                    "target": _text(i.target),
                    "score": _text(i.score),
                }
                for i in indicators
            ],
            "targets": verdict,
            "targets_met": bool(verdict) and all(verdict.values()),
            "reviews": len(percents.get(agent_id, [])),
            "below_threshold_streak": streak,
        }
        row = stored.get(agent_id)
        if row is not None and _same(row, values):
            scored.append(row)
            continue
        if row is None:
            row = KpiScore(project_id=project_id, period=period, agent_id=agent_id, version=0)
            session.add(row)
        for name, value in values.items():
            setattr(row, name, value)
        row.version = (row.version or 0) + 1
        row.scored_at = now
        changed += 1
        scored.append(row)
        announcements.append(("kpi.scored", kpi_event(row, settings)))
    uow.emit_many(announcements)
    return {
        "project_id": project_id,
        "period": period,
        "scored": len(scored),
        "changed": changed,
        "unscored": unscored,
        "items": scored,
    }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _same(row: KpiScore, values: dict[str, Any]) -> bool:
    for name, value in values.items():
        current = getattr(row, name)
        if isinstance(value, Decimal) or isinstance(current, Decimal):
            if (current is None) != (value is None) or (
                current is not None and Decimal(current) != Decimal(value)
            ):
                return False
        elif current != value:
            return False
    return True


def kpi_event(row: KpiScore, settings: QualitySettings) -> dict[str, Any]:
    """``kpi.scored``: the contract's fields plus what billing and the supervisor's warning read."""
    return {
        "project_id": row.project_id,
        "agent_id": row.agent_id,
        "period": row.period,
        "score": str(row.score),
        "components": {
            "data": _text(row.data),
            "performance": _text(row.performance),
            "execution": _text(row.execution),
        },
        "weights": row.weights,
        "missing": row.missing,
        "targets_met": row.targets_met,
        "targets": row.targets,
        "below_threshold_streak": row.below_threshold_streak,
        "warning": row.below_threshold_streak >= settings.warning_periods,
        "version": row.version,
    }


def store_month(uow: UnitOfWork, project_id: str, period: str, settings: QualitySettings) -> dict[str, Any]:
    """The store's figures for a month: satisfaction and the gold-team mark, refund and help rates."""
    project = known_project(uow, project_id)
    _check_period(uow, period)
    days = [d for figures in days_by_agent(uow, project_id, period).values() for d in figures]
    figures = domain.store_figures(domain.summarise(days), settings.gold_team_satisfaction)
    return {
        "project_id": project_id,
        "company_name": project.company_name,
        "period": period,
        "satisfaction_rate": figures.satisfaction_rate,
        "satisfaction_target": project.satisfaction_rate,
        "gold_team": figures.gold_team,
        "gold_team_threshold": settings.gold_team_satisfaction,
        "quality_refund_rate": figures.quality_refund_rate,
        "help_rate": figures.help_rate,
        "receptions": figures.receptions,
        "orders": figures.orders,
        "votes": figures.total_votes,
        "agent_days": len(days),
    }


def agent_names(uow: UnitOfWork, project_id: str, agent_ids: Sequence[str]) -> dict[str, str | None]:
    if not agent_ids:
        return {}
    rows = uow.session.execute(
        select(ProjectAgent.agent_id, ProjectAgent.name).where(
            ProjectAgent.project_id == project_id, ProjectAgent.agent_id.in_(list(agent_ids))
        )
    )
    return {agent_id: name for agent_id, name in rows}
