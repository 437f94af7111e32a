"""Use cases of the training service: load, apply the rules of ``domain``, save, stage events.

Each function runs inside the caller's transaction (a web request's session, the consumer's inbox
transaction or a job's) and never commits: the caller commits, so domain rows and outbox rows land
together or not at all. Refusals raise ``shared.errors`` problems before anything is written.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from services.training import domain
from services.training.domain import (
    CohortStatus,
    CoursewareStatus,
    Outcome,
    Passer,
    PassMarks,
    TraineeStatus,
    TrainingSettings,
)
from services.training.models import Cohort, CoursewareItem, Project, Retraining, Trainee
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.events import add_event
from shared.workdays import is_workday, today_shanghai

log = logging.getLogger(__name__)

COHORT_NOT_FOUND = "There is no cohort with this id."
PROJECT_NOT_FOUND = "The training service has no record of this project."
RETRAINING_NOT_FOUND = "There is no retraining record with this id."
VENDOR_ROLES = frozenset({"admin", "vendor", "trainer"})
#: what the trainer (or vendor) records; the merchant records only its own verdict
TRAINER_FIELDS = ("quiz_score", "simulation_score", "trainer_passed")
MERCHANT_FIELDS = ("merchant_passed",)
#: trainee statuses whose verdict still follows the assessment (before the cohort completes)
JUDGED_STATUSES = (TraineeStatus.ENROLLED, TraineeStatus.PASSED, TraineeStatus.FAILED)


def load_settings(extra: Mapping[str, str] | None = None) -> TrainingSettings:
    """The ``TRAINING_*`` settings: from the app's ``settings.extra``, or the process env (worker)."""
    if extra is None:
        extra = {k: v for k, v in os.environ.items() if k.startswith("TRAINING_")}
    return TrainingSettings.from_env(extra)


@dataclass(frozen=True)
class Actor:
    """Who is acting: a token's principal, or the periodic job."""

    sub: str
    role: str
    merchant_id: str | None = None

    @property
    def is_merchant(self) -> bool:
        return self.role == "merchant"


JOB_ACTOR = Actor(sub="job", role="admin")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- loading and access -------------------------------------------------------------------------------


def _visible(actor: Actor, merchant_id: str | None) -> bool:
    return not actor.is_merchant or (merchant_id is not None and merchant_id == actor.merchant_id)


def get_cohort(session: Session, cohort_id: str, actor: Actor, *, lock: bool = False) -> Cohort:
    """A cohort the actor may see (404 for another merchant's, so its existence is not revealed)."""
    cohort = session.get(Cohort, cohort_id, with_for_update=lock or None)
    if cohort is None or not _visible(actor, cohort.merchant_id):
        raise NotFound(COHORT_NOT_FOUND)
    return cohort


def _project(session: Session, project_id: str) -> Project | None:
    return session.get(Project, project_id)


def _merchant_assesses(project: Project | None) -> bool:
    return project is not None and project.assessor == domain.Assessor.MERCHANT


def _marks(cohort: Cohort) -> PassMarks:
    return PassMarks(quiz=cohort.pass_mark_quiz, simulation=cohort.pass_mark_simulation)


def _assessment(trainee: Trainee) -> domain.Assessment:
    return domain.Assessment(
        quiz_score=trainee.quiz_score,
        simulation_score=trainee.simulation_score,
        trainer_passed=trainee.trainer_passed,
        merchant_passed=trainee.merchant_passed,
    )


def _outcome(trainee: Trainee, cohort: Cohort, project: Project | None) -> Outcome:
    return domain.judge(_assessment(trainee), _marks(cohort), _merchant_assesses(project))


def _admitted_elsewhere(session: Session, project_id: str, cohort_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Trainee)
            .where(
                Trainee.project_id == project_id,
                Trainee.cohort_id != cohort_id,
                Trainee.status == TraineeStatus.ADMITTED,
            )
        )
        or 0
    )


def _project_admitted(session: Session, project_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Trainee)
            .where(Trainee.project_id == project_id, Trainee.status == TraineeStatus.ADMITTED)
        )
        or 0
    )


def _training_days(project: Project | None, settings: TrainingSettings) -> int:
    if project is not None and project.training_days is not None:
        return project.training_days
    return settings.default_training_days


def _refresh_open_cohorts(session: Session, project: Project, settings: TrainingSettings) -> None:
    """Keep open cohorts in step with the project: merchant, target and (not yet started) dates."""
    for cohort in session.scalars(
        select(Cohort).where(
            Cohort.project_id == project.project_id, Cohort.status.in_(domain.OPEN_COHORT_STATUSES)
        )
    ):
        cohort.merchant_id = project.merchant_id
        if project.seats is not None:
            cohort.target = domain.cohort_target(
                project.seats,
                _admitted_elsewhere(session, project.project_id, cohort.id),
                settings.admission_ratio,
            )
        days = _training_days(project, settings)
        if cohort.training_days != days and cohort.status != CohortStatus.ASSESSING:
            dates = domain.training_dates(cohort.start_date, days, is_workday)
            cohort.training_days, cohort.end_date = days, dates.end_date
    for record in session.scalars(
        select(Retraining).where(
            Retraining.project_id == project.project_id, Retraining.merchant_id.is_(None)
        )
    ):
        record.merchant_id = project.merchant_id


def _open_cohort(session: Session, project_id: str) -> Cohort | None:
    return session.scalars(
        select(Cohort)
        .where(Cohort.project_id == project_id, Cohort.status.in_(domain.OPEN_COHORT_STATUSES))
        .order_by(Cohort.sequence.desc())
        .limit(1)
    ).first()


def _new_cohort(session: Session, project: Project, settings: TrainingSettings, today: dt.date) -> Cohort:
    last = session.scalar(select(func.max(Cohort.sequence)).where(Cohort.project_id == project.project_id))
    days = _training_days(project, settings)
    dates = domain.planned_dates(today, days, is_workday)
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
        created_at=_now(),
    )
    if project.seats is not None:
        cohort.target = domain.cohort_target(
            project.seats, _project_admitted(session, project.project_id), settings.admission_ratio
        )
    session.add(cohort)
    session.flush()
    return cohort


# --- event handlers' use cases ---------------------------------------------------------------------------


def _upsert_project(session: Session, project_id: str) -> Project:
    project = session.get(Project, project_id, with_for_update=True)
    if project is None:
        project = Project(
            project_id=project_id, confirmed=False, closed=False, created_at=_now(), updated_at=_now()
        )
        session.add(project)
        session.flush()
    return project


def project_confirmed(
    session: Session, data: Mapping[str, Any], settings: TrainingSettings, today: dt.date
) -> None:
    """Record the project (read model) and open its first cohort unless a match already did."""
    project = _upsert_project(session, data["project_id"])
    training = data.get("training") or {}
    merchant = data.get("merchant") or {}
    project.merchant_id = data["merchant_id"]
    project.seats = data["seats"]
    project.service_type = data["service_type"]
    project.assessor = data["assessor"]
    project.trainer = data.get("trainer") or training.get("trainer")
    project.requirements = (
        training.get("requirements") if isinstance(training.get("requirements"), str) else None
    )
    project.go_live_date = data["go_live_date"]
    project.company_name = data.get("company_name") or merchant.get("company_name")
    project.faq = list(data.get("faq") or [])
    project.materials = list(data.get("materials") or [])
    days = training.get("days", training.get("training_days"))
    if (
        isinstance(days, int)
        and not isinstance(days, bool)
        and project.training_days is None
        and domain.MIN_TRAINING_DAYS <= days <= domain.MAX_TRAINING_DAYS
    ):
        project.training_days = days
    project.confirmed = True
    project.updated_at = _now()
    if project.closed:
        return
    has_cohort = session.scalar(
        select(func.count()).select_from(Cohort).where(Cohort.project_id == project.project_id)
    )
    if not has_cohort:
        _new_cohort(session, project, settings, today)
    _refresh_open_cohorts(session, project, settings)


def project_updated(session: Session, data: Mapping[str, Any], settings: TrainingSettings) -> None:
    project = _upsert_project(session, data["project_id"])
    project.merchant_id = data["merchant_id"]
    for key in ("seats", "go_live_date", "service_type"):
        if key in data:
            setattr(project, key, data[key])
    project.updated_at = _now()
    _refresh_open_cohorts(session, project, settings)


def project_closed(session: Session, data: Mapping[str, Any]) -> None:
    """A closed project trains no one further: its open cohorts are cancelled."""
    project = _upsert_project(session, data["project_id"])
    project.closed = True
    project.updated_at = _now()
    for cohort in session.scalars(
        select(Cohort).where(
            Cohort.project_id == project.project_id, Cohort.status.in_(domain.OPEN_COHORT_STATUSES)
        )
    ):
        cohort.status = CohortStatus.CANCELLED
        cohort.completed_at = _now()
        cohort.completed_by = "project.closed"


def candidates_matched(
    session: Session, data: Mapping[str, Any], settings: TrainingSettings, today: dt.date
) -> Cohort | None:
    """Matched candidates join the project's open cohort; after a completed one, a follow-up opens.

    Order-tolerant: the project may not be known yet (a stub is kept); a candidate already in the open
    cohort, or already admitted/waitlisted for the project, is not enrolled twice.
    """
    project = _upsert_project(session, data["project_id"])
    if project.closed:
        log.info("candidates matched for closed project %s ignored", project.project_id)
        return None
    cohort = _open_cohort(session, project.project_id) or _new_cohort(session, project, settings, today)
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
                basic_score=Decimal(str(candidate["basic_score"])).quantize(Decimal("0.01"))
                if candidate.get("basic_score") is not None
                else None,
                enrolment_seq=seq,
                enrolled_at=_now(),
                status=TraineeStatus.ENROLLED,
            )
        )
    session.flush()
    return cohort


def complaint_upheld(session: Session, data: Mapping[str, Any]) -> Retraining:
    """Open retraining (提升培训) for the agent; one record per complaint, however often it is delivered."""
    record = session.scalars(
        select(Retraining).where(Retraining.complaint_id == data["complaint_id"])
    ).first()
    if record is not None:
        return record
    project = _project(session, data["project_id"])
    name = session.scalars(
        select(Trainee.name)
        .where(Trainee.candidate_id == data["agent_id"])
        .order_by(Trainee.enrolled_at.desc())
        .limit(1)
    ).first()
    record = Retraining(
        id=str(uuid.uuid4()),
        complaint_id=data["complaint_id"],
        complaint_number=data["number"],
        project_id=data["project_id"],
        merchant_id=project.merchant_id if project is not None else None,
        agent_id=data["agent_id"],
        agent_name=name,
        penalty=Decimal(data["penalty"]),
        status="open",
        opened_at=_now(),
    )
    session.add(record)
    session.flush()
    return record


# --- starting, assessing, completing ----------------------------------------------------------------------


def _refuse_unless_open(cohort: Cohort, action: str) -> None:
    if cohort.status == CohortStatus.COMPLETED:
        raise Conflict(
            f"The cohort was completed on {cohort.completed_at:%Y-%m-%d}; {action} is no longer possible. "
            "Later changes go to the project's follow-up cohort.",
            extra={"rule": "cohort-completed"},
        )
    if cohort.status == CohortStatus.CANCELLED:
        raise Conflict(
            f"The cohort was cancelled because its project was closed; {action} is not possible.",
            extra={"rule": "cohort-cancelled"},
        )


def _start_blockers(session: Session, cohort: Cohort, project: Project | None) -> list[str]:
    blockers = []
    if project is None or not project.confirmed:
        blockers.append("the project's confirmation (project.confirmed) has not reached training yet")
    if cohort.courseware_status != CoursewareStatus.CONFIRMED:
        blockers.append("the merchant has not confirmed the courseware")
    enrolled = session.scalar(
        select(func.count())
        .select_from(Trainee)
        .where(Trainee.cohort_id == cohort.id, Trainee.status != TraineeStatus.WITHDRAWN)
    )
    if not enrolled:
        blockers.append("no trainees are enrolled")
    return blockers


def start_cohort(session: Session, cohort_id: str, actor: Actor, today: dt.date) -> Cohort:
    """planned → in_training, today (or the next working day); the end date follows the training days."""
    cohort = get_cohort(session, cohort_id, actor, lock=True)
    _refuse_unless_open(cohort, "starting it")
    if cohort.status != CohortStatus.PLANNED:
        raise Conflict(
            f"The cohort is already {cohort.status} (started {cohort.started_at:%Y-%m-%d}).",
            extra={"rule": "cohort-started"},
        )
    blockers = _start_blockers(session, cohort, _project(session, cohort.project_id))
    if blockers:
        raise Conflict(
            "Training can start once the courseware is confirmed and trainees are enrolled; missing: "
            + "; ".join(blockers)
            + ".",
            extra={"rule": "cohort-start", "missing": blockers},
        )
    _start(cohort, today)
    return cohort


def _start(cohort: Cohort, today: dt.date) -> None:
    dates = domain.training_dates(today, cohort.training_days, is_workday)
    cohort.status = CohortStatus.IN_TRAINING
    cohort.start_date, cohort.end_date = dates.start_date, dates.end_date
    cohort.started_at = _now()


def _check_assessable(cohort: Cohort) -> None:
    _refuse_unless_open(cohort, "recording assessments")
    if cohort.courseware_status != CoursewareStatus.CONFIRMED:
        raise Conflict(
            "Assessments can be recorded only after the merchant has confirmed the courseware "
            f"(courseware is {cohort.courseware_status}); the merchant confirms it with "
            f"POST /api/v1/cohorts/{cohort.id}/courseware/confirm.",
            extra={"rule": "courseware-confirmed"},
        )
    if cohort.status == CohortStatus.PLANNED:
        raise Conflict(
            f"Training has not started; start it first (POST /api/v1/cohorts/{cohort.id}/start).",
            extra={"rule": "cohort-started"},
        )


def _check_fields(actor: Actor, fields: Iterable[str], where: str = "") -> list[str]:
    """The fields this actor may not set (the reason for each)."""
    problems = []
    for name in fields:
        if actor.is_merchant and name in TRAINER_FIELDS:
            problems.append(f"{where}{name}: recorded by the trainer or the vendor, not by the merchant")
        elif actor.role in ("trainer", "vendor") and name in MERCHANT_FIELDS:
            problems.append(f"{where}{name}: the merchant's own verdict; only the project's merchant sets it")
    return problems


def _apply(
    trainee: Trainee, values: Mapping[str, Any], actor: Actor, cohort: Cohort, project: Project | None
) -> None:
    for name in (*TRAINER_FIELDS, *MERCHANT_FIELDS):
        if name in values:
            setattr(trainee, name, values[name])
    if "notes" in values:
        if actor.is_merchant:
            trainee.merchant_notes = values["notes"]
        else:
            trainee.notes = values["notes"]
    trainee.assessed_at = _now()
    trainee.status = domain.status_for(_outcome(trainee, cohort, project))


def _merchant_verdict_allowed(values: Iterable[Mapping[str, Any]], project: Project | None) -> None:
    if any(v.get("merchant_passed") is not None for v in values) and not _merchant_assesses(project):
        raise Conflict(
            "This project is assessed by the vendor (training.assessor = vendor): the merchant's verdict is "
            "not part of its pass rule. Leave merchant_passed out, or change the project's assessor in "
            "onboarding.",
            extra={"rule": "merchant-assessment"},
        )


def _after_assessment(cohort: Cohort) -> None:
    if cohort.status == CohortStatus.IN_TRAINING:
        cohort.status = CohortStatus.ASSESSING


def record_assessment(
    session: Session, cohort_id: str, candidate_id: str, values: Mapping[str, Any], actor: Actor
) -> tuple[Trainee, Cohort, Project | None]:
    cohort = get_cohort(session, cohort_id, actor, lock=True)
    project = _project(session, cohort.project_id)
    problems = _check_fields(actor, values)
    if problems:
        raise Forbidden("; ".join(problems) + ".", extra={"rule": "assessment-roles"})
    _check_assessable(cohort)
    _merchant_verdict_allowed([values], project)
    trainee = _trainee_in(session, cohort, candidate_id)
    if trainee.status not in JUDGED_STATUSES:
        raise Conflict(
            f"Trainee {candidate_id} is {trainee.status}; only trainees still in training can be assessed.",
            extra={"rule": "trainee-assessable"},
        )
    _apply(trainee, values, actor, cohort, project)
    _after_assessment(cohort)
    return trainee, cohort, project


def record_assessments(
    session: Session, cohort_id: str, rows: Sequence[Mapping[str, Any]], actor: Actor
) -> tuple[list[Trainee], Cohort, Project | None]:
    """All or nothing: every bad row is reported and none is recorded."""
    cohort = get_cohort(session, cohort_id, actor, lock=True)
    project = _project(session, cohort.project_id)
    forbidden: list[str] = []
    for i, row in enumerate(rows):
        forbidden += _check_fields(actor, [k for k in row if k != "candidate_id"], f"assessments.{i}.")
    if forbidden:
        raise Forbidden("; ".join(forbidden) + ". Nothing was recorded.", extra={"rule": "assessment-roles"})
    _check_assessable(cohort)
    _merchant_verdict_allowed(rows, project)
    trainees = {
        t.candidate_id: t for t in session.scalars(select(Trainee).where(Trainee.cohort_id == cohort.id))
    }
    errors: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        cid = row["candidate_id"]
        key = f"assessments.{i}.candidate_id"
        if cid in seen:
            errors[key] = [f"Candidate {cid} appears twice (rows {seen[cid]} and {i}); send one row each."]
            continue
        seen[cid] = i
        trainee = trainees.get(cid)
        if trainee is None:
            errors[key] = [f"Candidate {cid} is not a trainee of this cohort."]
        elif trainee.status not in JUDGED_STATUSES:
            errors[key] = [
                f"Trainee {cid} is {trainee.status}; only trainees still in training can be assessed."
            ]
    if errors:
        raise ValidationFailed(
            errors,
            detail=f"{len(errors)} of {len(rows)} rows were refused; nothing was recorded. Fix them and send "
            "the whole batch again.",
        )
    updated = []
    for row in rows:
        trainee = trainees[row["candidate_id"]]
        _apply(trainee, {k: v for k, v in row.items() if k != "candidate_id"}, actor, cohort, project)
        updated.append(trainee)
    _after_assessment(cohort)
    return updated, cohort, project


def _trainee_in(session: Session, cohort: Cohort, candidate_id: str) -> Trainee:
    trainee = session.scalars(
        select(Trainee).where(Trainee.cohort_id == cohort.id, Trainee.candidate_id == candidate_id)
    ).first()
    if trainee is None:
        raise NotFound(f"Candidate {candidate_id} is not a trainee of this cohort.")
    return trainee


def _passer(trainee: Trainee) -> Passer:
    assert trainee.quiz_score is not None and trainee.simulation_score is not None
    return Passer(trainee.candidate_id, trainee.quiz_score, trainee.simulation_score, trainee.enrolment_seq)


def _admit(session: Session, trainee: Trainee, cohort: Cohort, project: Project | None) -> None:
    trainee.status = TraineeStatus.ADMITTED
    trainee.admitted_at = _now()
    data: dict[str, Any] = {
        "project_id": trainee.project_id,
        "candidate_id": trainee.candidate_id,
        "cohort_id": cohort.id,
        "name": trainee.name,
        "skills": list(trainee.skills),
        "shifts_available": list(trainee.shifts_available),
        "quiz_score": float(trainee.quiz_score or 0),
        "simulation_score": float(trainee.simulation_score or 0),
        "rank": trainee.rank,
        "admitted_at": trainee.admitted_at,
    }
    if trainee.phone:
        data["phone"] = trainee.phone
    if project is not None and project.merchant_id:
        data["merchant_id"] = project.merchant_id
    add_event(session, "agent.admitted", data)


def complete_cohort(
    session: Session, cohort_id: str, actor: Actor, settings: TrainingSettings
) -> tuple[Cohort, domain.Admission]:
    """Admit the passers up to the target (录取), best first; emit agent.admitted ×n, cohort.completed and,
    when fewer than the target passed, training.shortfall {missing}."""
    cohort = get_cohort(session, cohort_id, actor, lock=True)
    _refuse_unless_open(cohort, "completing it again")
    if cohort.status == CohortStatus.PLANNED:
        raise Conflict(
            "The cohort has not started training; start it (POST …/start) before completing it.",
            extra={"rule": "cohort-started"},
        )
    project = _project(session, cohort.project_id)
    if project is not None and project.seats is not None:
        cohort.target = domain.cohort_target(
            project.seats,
            _admitted_elsewhere(session, cohort.project_id, cohort.id),
            settings.admission_ratio,
        )
    trainees = list(session.scalars(select(Trainee).where(Trainee.cohort_id == cohort.id)))
    passers = []
    for trainee in trainees:
        if trainee.status not in JUDGED_STATUSES:
            continue
        trainee.status = domain.status_for(_outcome(trainee, cohort, project))
        if trainee.status == TraineeStatus.PASSED:
            passers.append(_passer(trainee))
        elif trainee.status == TraineeStatus.ENROLLED:
            trainee.status = TraineeStatus.NOT_ASSESSED
    admission = domain.admit(passers, cohort.target)
    by_id = {t.candidate_id: t for t in trainees}
    for ranked in admission.admitted:
        trainee = by_id[ranked.passer.candidate_id]
        trainee.rank = ranked.rank
        _admit(session, trainee, cohort, project)
    for ranked in admission.waitlisted:
        trainee = by_id[ranked.passer.candidate_id]
        trainee.rank = ranked.rank
        trainee.status = TraineeStatus.PASSED_WAITLISTED
    cohort.status = CohortStatus.COMPLETED
    cohort.completed_at = _now()
    cohort.completed_by = actor.sub
    cohort.shortfall = admission.missing or None
    add_event(
        session,
        "cohort.completed",
        {
            "project_id": cohort.project_id,
            "cohort_id": cohort.id,
            "admitted": len(admission.admitted),
            "target": cohort.target,
        },
    )
    if admission.missing:
        add_event(
            session,
            "training.shortfall",
            {"project_id": cohort.project_id, "cohort_id": cohort.id, "missing": admission.missing},
        )
    return cohort, admission


@dataclass(frozen=True)
class Withdrawal:
    trainee: Trainee
    promoted: Trainee | None
    shortfall: int


def withdraw(
    session: Session, cohort_id: str, candidate_id: str, reason: str, actor: Actor, settings: TrainingSettings
) -> Withdrawal:
    """A trainee leaves. An admitted one's place goes to the best waitlisted passer of the project (this
    cohort first); with nobody waitlisted, training.shortfall {missing: 1} asks recruitment for one more."""
    cohort = get_cohort(session, cohort_id, actor, lock=True)
    if actor.role == "agent" and actor.sub != candidate_id:
        raise Forbidden("An agent may only withdraw themselves.")
    trainee = _trainee_in(session, cohort, candidate_id)
    if trainee.status == TraineeStatus.WITHDRAWN:
        raise Conflict(
            f"Trainee {candidate_id} already withdrew on {trainee.withdrawn_at:%Y-%m-%d}.",
            extra={"rule": "trainee-withdrawn"},
        )
    if cohort.status == CohortStatus.CANCELLED:
        _refuse_unless_open(cohort, "withdrawing a trainee")
    was_admitted = trainee.status == TraineeStatus.ADMITTED
    trainee.status = TraineeStatus.WITHDRAWN
    trainee.withdrawn_at = _now()
    trainee.withdrawal_reason = reason
    if not was_admitted:
        return Withdrawal(trainee, None, 0)
    promoted = _best_waitlisted(session, cohort)
    if promoted is not None:
        promoted_cohort = session.get(Cohort, promoted.cohort_id)
        assert promoted_cohort is not None
        _admit(session, promoted, promoted_cohort, _project(session, cohort.project_id))
        return Withdrawal(trainee, promoted, 0)
    add_event(
        session, "training.shortfall", {"project_id": cohort.project_id, "cohort_id": cohort.id, "missing": 1}
    )
    project = _project(session, cohort.project_id)
    if project is not None:
        _refresh_open_cohorts(session, project, settings)
    return Withdrawal(trainee, None, 1)


def _best_waitlisted(session: Session, cohort: Cohort) -> Trainee | None:
    waitlisted = list(
        session.execute(
            select(Trainee, Cohort.sequence)
            .join(Cohort, Cohort.id == Trainee.cohort_id)
            .where(Trainee.project_id == cohort.project_id, Trainee.status == TraineeStatus.PASSED_WAITLISTED)
        ).all()
    )
    if not waitlisted:
        return None
    own = [t for t, _ in waitlisted if t.cohort_id == cohort.id]
    if own:
        best = domain.next_from_waitlist([_passer(t) for t in own])
        return next(t for t in own if best is not None and t.candidate_id == best.candidate_id)
    first_sequence = min(seq for _, seq in waitlisted)
    earliest = [t for t, seq in waitlisted if seq == first_sequence]
    best = domain.next_from_waitlist([_passer(t) for t in earliest])
    return next(t for t in earliest if best is not None and t.candidate_id == best.candidate_id)


# --- courseware --------------------------------------------------------------------------------------


def _check_courseware_editable(cohort: Cohort) -> None:
    _refuse_unless_open(cohort, "changing its courseware")


def check_courseware_editable(session: Session, cohort_id: str, actor: Actor) -> None:
    """Refuse before an upload is stored: the same 404/409 that adding the item would give."""
    _check_courseware_editable(get_cohort(session, cohort_id, actor))


def add_courseware_item(
    session: Session, cohort_id: str, values: Mapping[str, Any], actor: Actor
) -> CoursewareItem:
    cohort = get_cohort(session, cohort_id, actor, lock=True)
    _check_courseware_editable(cohort)
    item = CoursewareItem(
        id=str(uuid.uuid4()),
        cohort_id=cohort.id,
        kind=values["kind"],
        title=values["title"],
        topics=sorted(set(values["topics"]), key=[t.value for t in domain.Topic].index),
        description=values.get("description"),
        url=values.get("url"),
        file_sha256=values.get("file_sha256"),
        file_name=values.get("file_name"),
        content_type=values.get("content_type"),
        size_bytes=values.get("size_bytes"),
        created_at=_now(),
        created_by=actor.sub,
    )
    session.add(item)
    cohort.courseware_status = domain.courseware_after_change(CoursewareStatus(cohort.courseware_status))
    session.flush()
    return item


def delete_courseware_item(session: Session, cohort_id: str, item_id: str, actor: Actor) -> str | None:
    """Remove an item; returns the SHA-256 of a file no item uses any more (deleted after the commit)."""
    cohort = get_cohort(session, cohort_id, actor, lock=True)
    _check_courseware_editable(cohort)
    item = session.get(CoursewareItem, item_id)
    if item is None or item.cohort_id != cohort.id:
        raise NotFound("There is no courseware item with this id in this cohort.")
    sha = item.file_sha256
    session.delete(item)
    cohort.courseware_status = domain.courseware_after_change(CoursewareStatus(cohort.courseware_status))
    session.flush()
    if sha is None:
        return None
    still_used = session.scalar(
        select(func.count()).select_from(CoursewareItem).where(CoursewareItem.file_sha256 == sha)
    )
    return None if still_used else sha


def get_courseware_item(session: Session, cohort_id: str, item_id: str, actor: Actor) -> CoursewareItem:
    cohort = get_cohort(session, cohort_id, actor)
    item = session.get(CoursewareItem, item_id)
    if item is None or item.cohort_id != cohort.id:
        raise NotFound("There is no courseware item with this id in this cohort.")
    return item


def decide_courseware(
    session: Session, cohort_id: str, actor: Actor, *, confirm: bool, reason: str | None = None
) -> Cohort:
    """The merchant confirms the courseware (课件确认) or rejects it with a reason."""
    cohort = get_cohort(session, cohort_id, actor, lock=True)
    _check_courseware_editable(cohort)
    if cohort.merchant_id is None:
        raise Conflict(
            "The project's confirmation has not reached training yet, so its merchant is unknown.",
            extra={"rule": "project-confirmed"},
        )
    items = session.scalar(
        select(func.count()).select_from(CoursewareItem).where(CoursewareItem.cohort_id == cohort.id)
    )
    if not items:
        raise Conflict(
            "There is no courseware to decide on yet: the trainer adds items first "
            f"(POST /api/v1/cohorts/{cohort.id}/courseware).",
            extra={"rule": "courseware-items"},
        )
    if confirm and cohort.courseware_status == CoursewareStatus.CONFIRMED:
        raise Conflict(
            f"The courseware was already confirmed on {cohort.courseware_decided_at:%Y-%m-%d}.",
            extra={"rule": "courseware-confirmed"},
        )
    cohort.courseware_status = CoursewareStatus.CONFIRMED if confirm else CoursewareStatus.REJECTED
    cohort.courseware_reason = None if confirm else reason
    cohort.courseware_decided_at = _now()
    cohort.courseware_decided_by = actor.sub
    return cohort


def courseware_view(session: Session, cohort: Cohort) -> dict[str, Any]:
    project = _project(session, cohort.project_id)
    items = list(
        session.scalars(
            select(CoursewareItem)
            .where(CoursewareItem.cohort_id == cohort.id)
            .order_by(CoursewareItem.created_at, CoursewareItem.id)
        )
    )
    covered = {t for item in items for t in item.topics}
    every = [t.value for t in domain.Topic]
    return {
        "cohort_id": cohort.id,
        "status": cohort.courseware_status,
        "reason": cohort.courseware_reason,
        "decided_at": cohort.courseware_decided_at,
        "decided_by": cohort.courseware_decided_by,
        "topics": every,
        "topics_missing": [t for t in every if t not in covered],
        "items": items,
        "sources": {
            "faq": list(project.faq or []) if project else [],
            "materials": list(project.materials or []) if project else [],
            "requirements": project.requirements if project else None,
        },
    }


# --- views ---------------------------------------------------------------------------------------------


def trainee_view(trainee: Trainee, cohort: Cohort, project: Project | None) -> dict[str, Any]:
    outcome = _outcome(trainee, cohort, project)
    combined = (
        trainee.quiz_score + trainee.simulation_score
        if trainee.quiz_score is not None and trainee.simulation_score is not None
        else None
    )
    view = {c.key: getattr(trainee, c.key) for c in Trainee.__table__.columns}  # type: ignore[attr-defined]
    view.update(combined_score=combined, verdict=outcome.verdict, verdict_reasons=list(outcome.reasons))
    return view


def _counts(session: Session, cohort_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
    """(enrolled, admitted) per cohort, in one query for a page of cohorts."""
    if not cohort_ids:
        return {}
    rows = session.execute(
        select(
            Trainee.cohort_id,
            func.count(),
            func.count().filter(Trainee.status == TraineeStatus.ADMITTED),
        )
        .where(Trainee.cohort_id.in_(cohort_ids))
        .group_by(Trainee.cohort_id)
    ).all()
    return {cid: (int(enrolled), int(admitted)) for cid, enrolled, admitted in rows}


def cohort_view(cohort: Cohort, project: Project | None, counts: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    view = {c.key: getattr(cohort, c.key) for c in Cohort.__table__.columns}  # type: ignore[attr-defined]
    view.update(
        company_name=project.company_name if project else None,
        assessor=project.assessor if project else None,
        enrolled=counts[0],
        admitted=counts[1],
        completion_due=domain.completion_due(cohort.end_date, is_workday),
    )
    return view


def cohort_detail(session: Session, cohort: Cohort) -> dict[str, Any]:
    project = _project(session, cohort.project_id)
    view = cohort_view(cohort, project, _counts(session, [cohort.id]).get(cohort.id, (0, 0)))
    trainees = session.scalars(
        select(Trainee).where(Trainee.cohort_id == cohort.id).order_by(Trainee.enrolment_seq, Trainee.id)
    )
    view["trainees"] = [trainee_view(t, cohort, project) for t in trainees]
    return view


def cohorts_query(actor: Actor, args: Mapping[str, Any]) -> Select[Any]:
    stmt = select(Cohort).order_by(Cohort.created_at.desc(), Cohort.id)
    if actor.is_merchant:
        stmt = stmt.where(Cohort.merchant_id == actor.merchant_id)
    elif args.get("merchant_id"):
        stmt = stmt.where(Cohort.merchant_id == args["merchant_id"])
    if args.get("project_id"):
        stmt = stmt.where(Cohort.project_id == args["project_id"])
    if args.get("status"):
        stmt = stmt.where(Cohort.status == args["status"])
    return stmt


def cohort_views(session: Session, cohorts: Sequence[Cohort]) -> list[dict[str, Any]]:
    counts = _counts(session, [c.id for c in cohorts])
    projects = {
        p.project_id: p
        for p in session.scalars(
            select(Project).where(Project.project_id.in_({c.project_id for c in cohorts}))
        )
    }
    return [cohort_view(c, projects.get(c.project_id), counts.get(c.id, (0, 0))) for c in cohorts]


def cohort_progress(session: Session, cohort: Cohort) -> dict[str, Any]:
    trainees = list(session.scalars(select(Trainee).where(Trainee.cohort_id == cohort.id)))
    assessed = sum(1 for t in trainees if t.quiz_score is not None and t.simulation_score is not None)
    summary = domain.progress((TraineeStatus(t.status) for t in trainees), assessed, cohort.target)
    return {
        "cohort_id": cohort.id,
        "status": cohort.status,
        "enrolled": summary.enrolled,
        "assessed": summary.assessed,
        "passed": summary.passed,
        "failed": summary.failed,
        "admitted": summary.admitted,
        "waitlisted": summary.waitlisted,
        "withdrawn": summary.withdrawn,
        "target": summary.target,
        "gap": summary.gap,
    }


# --- project training settings ---------------------------------------------------------------------------


def get_project(session: Session, project_id: str, actor: Actor, *, lock: bool = False) -> Project:
    project = session.get(Project, project_id, with_for_update=lock or None)
    if project is None or not _visible(actor, project.merchant_id):
        raise NotFound(PROJECT_NOT_FOUND)
    return project


def project_training_view(session: Session, project: Project, settings: TrainingSettings) -> dict[str, Any]:
    target = (
        domain.project_target(project.seats, settings.admission_ratio) if project.seats is not None else 0
    )
    admitted = _project_admitted(session, project.project_id)
    cohorts = session.scalar(
        select(func.count()).select_from(Cohort).where(Cohort.project_id == project.project_id)
    )
    return {
        "project_id": project.project_id,
        "merchant_id": project.merchant_id,
        "company_name": project.company_name,
        "confirmed": project.confirmed,
        "closed": project.closed,
        "seats": project.seats,
        "trainer": project.trainer,
        "assessor": project.assessor,
        "training_days": _training_days(project, settings),
        "target": target,
        "admitted": admitted,
        "gap": max(0, target - admitted),
        "cohorts": int(cohorts or 0),
    }


def set_training_days(
    session: Session, project_id: str, days: int, actor: Actor, settings: TrainingSettings
) -> Project:
    """Training takes 1–3 working days per project; planned and running cohorts take the new length."""
    project = get_project(session, project_id, actor, lock=True)
    project.training_days = days
    project.updated_at = _now()
    _refresh_open_cohorts(session, project, settings)
    return project


# --- retraining -----------------------------------------------------------------------------------------


def retrainings_query(actor: Actor, args: Mapping[str, Any]) -> Select[Any]:
    stmt = select(Retraining).order_by(Retraining.opened_at.desc(), Retraining.id)
    if actor.is_merchant:
        stmt = stmt.where(Retraining.merchant_id == actor.merchant_id)
    if actor.role == "agent":
        stmt = stmt.where(Retraining.agent_id == actor.sub)
    for key in ("project_id", "agent_id", "status"):
        if args.get(key):
            stmt = stmt.where(getattr(Retraining, key) == args[key])
    return stmt


def get_retraining(session: Session, retraining_id: str, actor: Actor, *, lock: bool = False) -> Retraining:
    record = session.get(Retraining, retraining_id, with_for_update=lock or None)
    if (
        record is None
        or not _visible(actor, record.merchant_id)
        or (actor.role == "agent" and record.agent_id != actor.sub)
    ):
        raise NotFound(RETRAINING_NOT_FOUND)
    return record


def close_retraining(session: Session, retraining_id: str, note: str, actor: Actor) -> Retraining:
    record = get_retraining(session, retraining_id, actor, lock=True)
    if record.status == "closed":
        raise Conflict(
            f"This retraining was already closed on {record.closed_at:%Y-%m-%d} by {record.closed_by}.",
            extra={"rule": "retraining-closed"},
        )
    record.status = "closed"
    record.closed_at = _now()
    record.closed_by = actor.sub
    record.note = note
    return record


# --- the periodic job -------------------------------------------------------------------------------------


def advance_cohorts(
    session: Session, today: dt.date | None = None, settings: TrainingSettings | None = None
) -> int:
    """Move cohorts along the calendar; returns how many changed.

    - planned, start date reached: starts when it can (courseware confirmed, trainees enrolled, project
      known); otherwise its dates slide to today so that a late start still gets its full training days;
    - in training past its end date: assessing;
    - started and on/after the end date + 1 working day: completed (admission, events) as ``job``.
    """
    today = today or today_shanghai()
    settings = settings or load_settings()
    changed = 0
    for cohort in list(
        session.scalars(
            select(Cohort)
            .where(Cohort.status.in_(domain.OPEN_COHORT_STATUSES))
            .order_by(Cohort.created_at, Cohort.id)
            .with_for_update(skip_locked=True)
        )
    ):
        if cohort.status == CohortStatus.PLANNED:
            if cohort.start_date > today:
                continue
            if not _start_blockers(session, cohort, _project(session, cohort.project_id)):
                _start(cohort, today)
                changed += 1
            elif cohort.start_date < today:
                dates = domain.training_dates(today, cohort.training_days, is_workday)
                cohort.start_date, cohort.end_date = dates.start_date, dates.end_date
                changed += 1
            continue
        if today >= domain.completion_due(cohort.end_date, is_workday):
            complete_cohort(session, cohort.id, JOB_ACTOR, settings)
            changed += 1
        elif cohort.status == CohortStatus.IN_TRAINING and today > cohort.end_date:
            cohort.status = CohortStatus.ASSESSING
            changed += 1
    return changed
