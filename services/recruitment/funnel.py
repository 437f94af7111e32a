"""The recruitment funnel (招聘漏斗): what becomes of matched people as training and onboarding report.

matched → in_training (training reports on the cohort) → assigned (agent.admitted) or back to the pool
(cohort.completed without them: not_admitted; project.closed: released). People going back to the pool are
offered to the short requisitions at once. Event use cases: they run in the consumer's unit of work.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update

from services.recruitment import domain, projections, requisitions
from services.recruitment.config import RecruitmentSettings
from services.recruitment.models import Candidate, Match, Requisition
from shared.uow import UnitOfWork
from shared.workdays import today_shanghai

log = logging.getLogger(__name__)

_S = domain.CandidateStatus
_R = domain.RequisitionStatus
_O = domain.MatchOutcome


def project_closed(uow: UnitOfWork, data: Mapping[str, Any], config: RecruitmentSettings) -> int:
    """Close the project's requisitions and release everyone it still holds; returns how many."""
    project = projections.keep_closed(uow, data)
    now = uow.now()
    uow.session.execute(
        update(Requisition)
        .where(Requisition.project_id == project.project_id, Requisition.status != _R.CLOSED)
        .values(status=_R.CLOSED, closed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    held = select(Match.candidate_id).where(
        Match.project_id == project.project_id,
        Match.outcome.in_([*domain.PENDING_OUTCOMES, _O.ADMITTED]),
    )
    result = uow.session.execute(
        update(Candidate)
        .where(
            Candidate.id.in_(held),
            Candidate.status.in_([_S.MATCHED, _S.IN_TRAINING, _S.ASSIGNED]),
        )
        .values(status=_S.AVAILABLE, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    uow.session.execute(
        update(Match)
        .where(Match.project_id == project.project_id, Match.outcome.in_(list(domain.PENDING_OUTCOMES)))
        .values(outcome=_O.RELEASED, outcome_at=now)
        .execution_options(synchronize_session=False)
    )
    released = int(result.rowcount or 0)
    log.info("project %s closed: %d candidate(s) back in the pool", project.project_id, released)
    if released:
        requisitions.top_up_open_requisitions(uow, config)
    return released


def _latest_match(uow: UnitOfWork, candidate_id: str, project_id: str) -> Match | None:
    return uow.session.scalars(
        select(Match)
        .where(Match.candidate_id == candidate_id, Match.project_id == project_id)
        .order_by(Match.matched_at.desc(), Match.rank.desc())
        .limit(1)
        .with_for_update()
    ).first()


def mark_in_training(uow: UnitOfWork, project_id: str, cohort_id: str, before: dt.datetime) -> int:
    """Training reporting on a cohort means the people matched for the project before that report are in
    it (training sends no enrolment event): matched → in_training."""
    pending = and_(
        Match.project_id == project_id,
        Match.outcome == _O.MATCHED,
        Match.matched_at <= before,
    )
    return _judge(uow, pending, _O.IN_TRAINING, cohort_id, (_S.MATCHED,), _S.IN_TRAINING)


def _judge(
    uow: UnitOfWork,
    matches: ColumnElement[bool],
    outcome: domain.MatchOutcome,
    cohort_id: str,
    from_statuses: tuple[domain.CandidateStatus, ...],
    status: domain.CandidateStatus,
) -> int:
    """Give the selected matches an outcome in the cohort and move their people (still in one of
    ``from_statuses``) to ``status``; returns how many matches."""
    ids = list(uow.session.scalars(select(Match.candidate_id).where(matches)))
    if not ids:
        return 0
    now = uow.now()
    uow.session.execute(
        update(Match)
        .where(matches)
        .values(outcome=outcome, outcome_at=now, cohort_id=cohort_id)
        .execution_options(synchronize_session=False)
    )
    uow.session.execute(
        update(Candidate)
        .where(Candidate.id.in_(ids), Candidate.status.in_(list(from_statuses)))
        .values(status=status, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return len(ids)


def agent_admitted(uow: UnitOfWork, data: Mapping[str, Any], occurred_at: dt.datetime) -> None:
    project = projections.project_copy(uow, data["project_id"], data.get("merchant_id"))
    mark_in_training(uow, project.project_id, data["cohort_id"], occurred_at)
    candidate = uow.session.scalars(
        select(Candidate).where(Candidate.id == data["candidate_id"]).with_for_update()
    ).one_or_none()
    if candidate is None:
        log.warning("agent.admitted for candidate %s, who is not in our pool: ignored", data["candidate_id"])
        return
    now = uow.now()
    match = _latest_match(uow, candidate.id, project.project_id)
    if match is not None:
        match.outcome, match.outcome_at, match.cohort_id = _O.ADMITTED, now, data["cohort_id"]
    if project.status == "closed":
        return  # admitted to a project that has already ended: the person stays free
    if candidate.status in (_S.MATCHED, _S.IN_TRAINING, _S.AVAILABLE):
        candidate.status = _S.ASSIGNED
        candidate.updated_at = now
    else:
        log.warning(
            "agent.admitted for candidate %s whose status is %s: left as is", candidate.id, candidate.status
        )


def cohort_completed(
    uow: UnitOfWork, data: Mapping[str, Any], occurred_at: dt.datetime, config: RecruitmentSettings
) -> int:
    """Everyone of the cohort not admitted goes back to the pool (history: not_admitted)."""
    project = projections.project_copy(uow, data["project_id"], data.get("merchant_id"))
    cohort_id = data["cohort_id"]
    # Only people matched before the cohort ended were in it: replacements asked for by the same
    # completion's training.shortfall (even if that event arrived first) are matched later and wait for
    # the follow-up cohort.
    judged = and_(
        Match.project_id == project.project_id,
        Match.outcome.in_(list(domain.PENDING_OUTCOMES)),
        Match.matched_at <= occurred_at,
        or_(Match.cohort_id.is_(None), Match.cohort_id == cohort_id),
    )
    released = _judge(uow, judged, _O.NOT_ADMITTED, cohort_id, (_S.MATCHED, _S.IN_TRAINING), _S.AVAILABLE)
    if not released:
        return 0
    uow.session.flush()
    requisitions.top_up_open_requisitions(uow, config)
    return released


def training_shortfall(
    uow: UnitOfWork,
    data: Mapping[str, Any],
    event_id: str,
    occurred_at: dt.datetime,
    config: RecruitmentSettings,
) -> Requisition | None:
    """Training admitted fewer than it needs: match ``missing`` more people for the project."""
    project = projections.project_copy(uow, data["project_id"])
    mark_in_training(uow, project.project_id, data["cohort_id"], occurred_at)
    return requisitions.open_requisition(
        uow,
        project,
        reason=domain.RequisitionReason.TRAINING_SHORTFALL,
        source_ref=f"training.shortfall:{event_id}",
        seats=data["missing"],
        ratio=Decimal(1),
        start=today_shanghai(uow.now()),
        config=config,
        cohort_id=data["cohort_id"],
    )
