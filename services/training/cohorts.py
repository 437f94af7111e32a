"""Cohorts (培训批次): planned from the project's events, filled by recruitment's matches, started,
completed with admission, and moved along the calendar by the periodic job.

A project has one open cohort at a time; matches after a completed cohort open a follow-up one. Every
use case runs in the caller's unit of work and never commits.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from services.training import domain
from services.training.assessments import admit, admit_passers, best_waitlisted, trainee_in
from services.training.config import TrainingSettings
from services.training.domain import CohortStatus, CoursewareStatus, TraineeStatus
from services.training.models import Cohort, Project, Retraining, Trainee
from services.training.projections import keep_closed, keep_confirmed, keep_updated, project_copy, project_of
from services.training.queries import (
    admitted_elsewhere,
    get_cohort,
    get_project,
    project_admitted,
    refuse_unless_open,
    training_days,
)
from shared.errors import Conflict, Forbidden
from shared.uow import UnitOfWork
from shared.workdays import is_workday, today_shanghai

log = logging.getLogger(__name__)

#: ``completed_by`` of a cohort the periodic job completed, and of one its project's closing cancelled
COMPLETED_BY_JOB = "job"
CANCELLED_BY_CLOSING = "project.closed"


# --- planning ----------------------------------------------------------------------------------------


def _open_cohorts(uow: UnitOfWork, project_id: str) -> list[Cohort]:
    return list(
        uow.session.scalars(
            select(Cohort).where(
                Cohort.project_id == project_id, Cohort.status.in_(domain.OPEN_COHORT_STATUSES)
            )
        )
    )


def refresh_open_cohorts(uow: UnitOfWork, project: Project, settings: TrainingSettings) -> None:
    """Keep open cohorts in step with the project: merchant, target and (not yet started) dates."""
    session = uow.session
    for cohort in _open_cohorts(uow, project.project_id):
        cohort.merchant_id = project.merchant_id
        if project.seats is not None:
            cohort.target = domain.cohort_target(
                project.seats,
                admitted_elsewhere(session, project.project_id, cohort.id),
                settings.admission_ratio,
            )
        days = training_days(project, settings)
        if cohort.training_days != days and cohort.status != CohortStatus.ASSESSING:
            dates = domain.training_dates(cohort.start_date, days, is_workday)
            cohort.training_days, cohort.end_date = days, dates.end_date
    for record in session.scalars(
        select(Retraining).where(
            Retraining.project_id == project.project_id, Retraining.merchant_id.is_(None)
        )
    ):
        record.merchant_id = project.merchant_id


def _open_cohort(uow: UnitOfWork, project_id: str) -> Cohort | None:
    return uow.session.scalars(
        select(Cohort)
        .where(Cohort.project_id == project_id, Cohort.status.in_(domain.OPEN_COHORT_STATUSES))
        .order_by(Cohort.sequence.desc())
        .limit(1)
    ).first()


def _new_cohort(uow: UnitOfWork, project: Project, settings: TrainingSettings) -> Cohort:
    session = uow.session
    last = session.scalar(select(func.max(Cohort.sequence)).where(Cohort.project_id == project.project_id))
    days = training_days(project, settings)
    dates = domain.planned_dates(today_shanghai(uow.now()), days, is_workday)
    cohort = Cohort(
        id=str(uuid.uuid4()),
        project_id=project.project_id,
        merchant_id=project.merchant_id,
        sequence=(last or 0) + 1,
        status=CohortStatus.PLANNED,
        target=0,
        training_days=days,
        start_date=dates.start_date,
        end_date=dates.end_date,
        pass_mark_quiz=settings.pass_mark_quiz,
        pass_mark_simulation=settings.pass_mark_simulation,
        courseware_status=CoursewareStatus.PENDING,
        created_at=uow.now(),
    )
    if project.seats is not None:
        cohort.target = domain.cohort_target(
            project.seats, project_admitted(session, project.project_id), settings.admission_ratio
        )
    session.add(cohort)
    uow.flush()
    return cohort


# --- the project's events ------------------------------------------------------------------------------


def project_confirmed(uow: UnitOfWork, data: Mapping[str, Any], settings: TrainingSettings) -> None:
    """Record the project and open its first cohort unless a match already did."""
    project = keep_confirmed(uow, data)
    if project.closed:
        return
    has_cohort = uow.session.scalar(
        select(func.count()).select_from(Cohort).where(Cohort.project_id == project.project_id)
    )
    if not has_cohort:
        _new_cohort(uow, project, settings)
    refresh_open_cohorts(uow, project, settings)


def project_updated(uow: UnitOfWork, data: Mapping[str, Any], settings: TrainingSettings) -> None:
    refresh_open_cohorts(uow, keep_updated(uow, data), settings)


def project_closed(uow: UnitOfWork, data: Mapping[str, Any]) -> None:
    """A closed project trains no one further: its open cohorts are cancelled."""
    project = keep_closed(uow, data)
    for cohort in _open_cohorts(uow, project.project_id):
        cohort.status = CohortStatus.CANCELLED
        cohort.completed_at = uow.now()
        cohort.completed_by = CANCELLED_BY_CLOSING


def _score(raw: Any) -> Decimal | None:
    return Decimal(str(raw)).quantize(Decimal("0.01")) if raw is not None else None


def enrol_matched(uow: UnitOfWork, data: Mapping[str, Any], settings: TrainingSettings) -> Cohort | None:
    """candidates.matched: the candidates join the project's open cohort; after a completed one, a
    follow-up opens.

    Order-tolerant: the project may not be known yet (a stub is kept); a candidate already in the open
    cohort, or already admitted/waitlisted for the project, is not enrolled twice.
    """
    session = uow.session
    project = project_copy(uow, data["project_id"])
    if project.closed:
        log.info("candidates matched for closed project %s ignored", project.project_id)
        return None
    cohort = _open_cohort(uow, project.project_id) or _new_cohort(uow, project, settings)
    settled = set(
        session.scalars(
            select(Trainee.candidate_id).where(
                Trainee.project_id == project.project_id,
                (Trainee.cohort_id == cohort.id)
                | Trainee.status.in_((TraineeStatus.ADMITTED, TraineeStatus.PASSED_WAITLISTED)),
            )
        )
    )
    seq = session.scalar(select(func.max(Trainee.enrolment_seq)).where(Trainee.cohort_id == cohort.id)) or 0
    for candidate in data["candidates"]:
        if candidate["candidate_id"] in settled:
            continue
        settled.add(candidate["candidate_id"])
        seq += 1
        session.add(
            Trainee(
                id=str(uuid.uuid4()),
                cohort_id=cohort.id,
                project_id=project.project_id,
                candidate_id=candidate["candidate_id"],
                requisition_id=data["requisition_id"],
                name=candidate["name"],
                phone=candidate.get("phone"),
                skills=list(candidate.get("skills") or []),
                shifts_available=list(candidate.get("shifts_available") or []),
                basic_score=_score(candidate.get("basic_score")),
                enrolment_seq=seq,
                enrolled_at=uow.now(),
                status=TraineeStatus.ENROLLED,
            )
        )
    uow.flush()
    return cohort


# --- starting and completing ---------------------------------------------------------------------------


def _start_blockers(uow: UnitOfWork, cohort: Cohort) -> list[str]:
    project = project_of(uow, cohort.project_id)
    blockers = []
    if project is None or not project.confirmed:
        blockers.append("the project's confirmation (project.confirmed) has not reached training yet")
    if cohort.courseware_status != CoursewareStatus.CONFIRMED:
        blockers.append("the merchant has not confirmed the courseware")
    enrolled = uow.session.scalar(
        select(func.count())
        .select_from(Trainee)
        .where(Trainee.cohort_id == cohort.id, Trainee.status != TraineeStatus.WITHDRAWN)
    )
    if not enrolled:
        blockers.append("no trainees are enrolled")
    return blockers


def _start(uow: UnitOfWork, cohort: Cohort, today: dt.date) -> None:
    dates = domain.training_dates(today, cohort.training_days, is_workday)
    cohort.status = CohortStatus.IN_TRAINING
    cohort.start_date, cohort.end_date = dates.start_date, dates.end_date
    cohort.started_at = uow.now()


def start_cohort(uow: UnitOfWork, cohort_id: str) -> Cohort:
    """planned → in_training, today (or the next working day); the end date follows the training days."""
    cohort = get_cohort(uow, cohort_id, lock=True)
    refuse_unless_open(cohort, "starting it")
    if cohort.status != CohortStatus.PLANNED:
        raise Conflict(
            f"The cohort is already {cohort.status} (started {cohort.started_at:%Y-%m-%d}).",
            extra={"rule": "cohort-started"},
        )
    blockers = _start_blockers(uow, cohort)
    if blockers:
        raise Conflict(
            "Training can start once the courseware is confirmed and trainees are enrolled; missing: "
            + "; ".join(blockers)
            + ".",
            extra={"rule": "cohort-start", "missing": blockers},
        )
    _start(uow, cohort, today_shanghai(uow.now()))
    return cohort


def _complete(
    uow: UnitOfWork, cohort: Cohort, settings: TrainingSettings, completed_by: str
) -> domain.Admission:
    project = project_of(uow, cohort.project_id)
    if project is not None and project.seats is not None:
        cohort.target = domain.cohort_target(
            project.seats,
            admitted_elsewhere(uow.session, cohort.project_id, cohort.id),
            settings.admission_ratio,
        )
    trainees = list(uow.session.scalars(select(Trainee).where(Trainee.cohort_id == cohort.id)))
    admission = admit_passers(uow, cohort, project, trainees)
    cohort.status = CohortStatus.COMPLETED
    cohort.completed_at = uow.now()
    cohort.completed_by = completed_by
    cohort.shortfall = admission.missing or None
    trained = sum(1 for trainee in trainees if trainee.status != TraineeStatus.WITHDRAWN)
    uow.emit(
        "cohort.completed",
        {
            "project_id": cohort.project_id,
            "cohort_id": cohort.id,
            "admitted": len(admission.admitted),
            "target": cohort.target,
            "trainees": trained,
            "training_hours": str(settings.hours_per_day * cohort.training_days),
            "completed_at": cohort.completed_at,
        },
    )
    if admission.missing:
        uow.emit(
            "training.shortfall",
            {"project_id": cohort.project_id, "cohort_id": cohort.id, "missing": admission.missing},
        )
    return admission


def complete_cohort(
    uow: UnitOfWork, cohort_id: str, settings: TrainingSettings
) -> tuple[Cohort, domain.Admission]:
    """Admit the passers up to the target (录取), best first; emit agent.admitted ×n, cohort.completed and,
    when fewer than the target passed, training.shortfall {missing}."""
    cohort = get_cohort(uow, cohort_id, lock=True)
    refuse_unless_open(cohort, "completing it again")
    if cohort.status == CohortStatus.PLANNED:
        raise Conflict(
            "The cohort has not started training; start it (POST …/start) before completing it.",
            extra={"rule": "cohort-started"},
        )
    return cohort, _complete(uow, cohort, settings, uow.actor.sub)


@dataclass(frozen=True)
class Withdrawal:
    """What a withdrawal did: the trainee who left, the waitlisted passer admitted in their place (if
    any) and how many people recruitment was asked for."""

    trainee: Trainee
    promoted: Trainee | None
    shortfall: int


def withdraw_trainee(
    uow: UnitOfWork, cohort_id: str, candidate_id: str, reason: str, settings: TrainingSettings
) -> Withdrawal:
    """A trainee leaves. An admitted one's place goes to the best waitlisted passer of the project (this
    cohort first); with nobody waitlisted, training.shortfall {missing: 1} asks recruitment for one more."""
    actor = uow.actor
    cohort = get_cohort(uow, cohort_id, lock=True)
    if actor.role == "agent" and actor.sub != candidate_id:
        raise Forbidden("An agent may only withdraw themselves.")
    trainee = trainee_in(uow, cohort, candidate_id)
    if trainee.status == TraineeStatus.WITHDRAWN:
        raise Conflict(
            f"Trainee {candidate_id} already withdrew on {trainee.withdrawn_at:%Y-%m-%d}.",
            extra={"rule": "trainee-withdrawn"},
        )
    if cohort.status == CohortStatus.CANCELLED:
        refuse_unless_open(cohort, "withdrawing a trainee")
    was_admitted = trainee.status == TraineeStatus.ADMITTED
    trainee.status = TraineeStatus.WITHDRAWN
    trainee.withdrawn_at = uow.now()
    trainee.withdrawal_reason = reason
    if not was_admitted:
        return Withdrawal(trainee, None, 0)
    promoted = best_waitlisted(uow, cohort)
    if promoted is not None:
        promoted_cohort = uow.session.get(Cohort, promoted.cohort_id)
        assert promoted_cohort is not None
        admit(uow, promoted, promoted_cohort, project_of(uow, cohort.project_id))
        return Withdrawal(trainee, promoted, 0)
    uow.emit("training.shortfall", {"project_id": cohort.project_id, "cohort_id": cohort.id, "missing": 1})
    project = project_of(uow, cohort.project_id)
    if project is not None:
        refresh_open_cohorts(uow, project, settings)
    return Withdrawal(trainee, None, 1)


# --- the project's training length ------------------------------------------------------------------------


def set_training_days(uow: UnitOfWork, project_id: str, days: int, settings: TrainingSettings) -> Project:
    """Training takes 1–3 working days per project; planned and running cohorts take the new length."""
    project = get_project(uow, project_id, lock=True)
    project.training_days = days
    project.updated_at = uow.now()
    refresh_open_cohorts(uow, project, settings)
    return project


# --- the calendar ------------------------------------------------------------------------------------------


def advance_cohorts(uow: UnitOfWork, settings: TrainingSettings) -> int:
    """Move cohorts along the calendar (today is the Shanghai date of ``uow.now()``); returns how many
    changed.

    - planned, start date reached: starts when it can (courseware confirmed, trainees enrolled, project
      known); otherwise its dates slide to today so that a late start still gets its full training days;
    - in training past its end date: assessing;
    - started and on/after the end date + 1 working day: completed (admission, events) as ``job``.
    """
    today = today_shanghai(uow.now())
    changed = 0
    for cohort in list(
        uow.session.scalars(
            select(Cohort)
            .where(Cohort.status.in_(domain.OPEN_COHORT_STATUSES))
            .order_by(Cohort.created_at, Cohort.id)
            .with_for_update(skip_locked=True)
        )
    ):
        if cohort.status == CohortStatus.PLANNED:
            if cohort.start_date > today:
                continue
            if not _start_blockers(uow, cohort):
                _start(uow, cohort, today)
                changed += 1
            elif cohort.start_date < today:
                dates = domain.training_dates(today, cohort.training_days, is_workday)
                cohort.start_date, cohort.end_date = dates.start_date, dates.end_date
                changed += 1
            continue
        if today >= domain.completion_due(cohort.end_date, is_workday):
            _complete(uow, cohort, settings, COMPLETED_BY_JOB)
            changed += 1
        elif cohort.status == CohortStatus.IN_TRAINING and today > cohort.end_date:
            cohort.status = CohortStatus.ASSESSING
            changed += 1
    return changed
