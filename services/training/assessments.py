"""Assessments (考核) and admission (录取).

The trainer records the online quiz and the simulated live reception with their verdict; where the
merchant chose to assess, the merchant records its own verdict too, and both must pass a trainee. When a
cohort completes, its passers are admitted best first up to the target (seats : admitted = 1:2), the rest
waitlisted; a waitlisted passer takes the place of an admitted one who withdraws.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import select

from services.training import domain
from services.training.domain import CohortStatus, CoursewareStatus, Passer, TraineeStatus
from services.training.models import Cohort, Project, Trainee
from services.training.projections import project_of
from services.training.queries import get_cohort, merchant_assesses, outcome_of, refuse_unless_open
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.uow import Actor, UnitOfWork

#: what the trainer (or vendor) records; the merchant records only its own verdict
TRAINER_FIELDS = ("quiz_score", "simulation_score", "trainer_passed")
MERCHANT_FIELDS = ("merchant_passed",)
#: trainee statuses whose verdict still follows the assessment (before the cohort completes)
JUDGED_STATUSES = (TraineeStatus.ENROLLED, TraineeStatus.PASSED, TraineeStatus.FAILED)


# --- recording -------------------------------------------------------------------------------------------


def _check_assessable(cohort: Cohort) -> None:
    refuse_unless_open(cohort, "recording assessments")
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


def _merchant_verdict_allowed(values: Iterable[Mapping[str, Any]], project: Project | None) -> None:
    if any(v.get("merchant_passed") is not None for v in values) and not merchant_assesses(project):
        raise Conflict(
            "This project is assessed by the vendor (training.assessor = vendor): the merchant's verdict is "
            "not part of its pass rule. Leave merchant_passed out, or change the project's assessor in "
            "onboarding.",
            extra={"rule": "merchant-assessment"},
        )


def _apply(
    uow: UnitOfWork, trainee: Trainee, values: Mapping[str, Any], cohort: Cohort, project: Project | None
) -> None:
    for name in (*TRAINER_FIELDS, *MERCHANT_FIELDS):
        if name in values:
            setattr(trainee, name, values[name])
    if "notes" in values:
        if uow.actor.is_merchant:
            trainee.merchant_notes = values["notes"]
        else:
            trainee.notes = values["notes"]
    trainee.assessed_at = uow.now()
    trainee.status = domain.status_for(outcome_of(trainee, cohort, project))


def _after_assessment(cohort: Cohort) -> None:
    if cohort.status == CohortStatus.IN_TRAINING:
        cohort.status = CohortStatus.ASSESSING


def trainee_in(uow: UnitOfWork, cohort: Cohort, candidate_id: str) -> Trainee:
    trainee = uow.session.scalars(
        select(Trainee).where(Trainee.cohort_id == cohort.id, Trainee.candidate_id == candidate_id)
    ).first()
    if trainee is None:
        raise NotFound(f"Candidate {candidate_id} is not a trainee of this cohort.")
    return trainee


def record_assessment(
    uow: UnitOfWork, cohort_id: str, candidate_id: str, values: Mapping[str, Any]
) -> tuple[Trainee, Cohort, Project | None]:
    """One trainee's assessment: the fields sent are set (null clears one), the others kept."""
    cohort = get_cohort(uow, cohort_id, lock=True)
    project = project_of(uow, cohort.project_id)
    problems = _check_fields(uow.actor, values)
    if problems:
        raise Forbidden("; ".join(problems) + ".", extra={"rule": "assessment-roles"})
    _check_assessable(cohort)
    _merchant_verdict_allowed([values], project)
    trainee = trainee_in(uow, cohort, candidate_id)
    if trainee.status not in JUDGED_STATUSES:
        raise Conflict(
            f"Trainee {candidate_id} is {trainee.status}; only trainees still in training can be assessed.",
            extra={"rule": "trainee-assessable"},
        )
    _apply(uow, trainee, values, cohort, project)
    _after_assessment(cohort)
    return trainee, cohort, project


def record_assessments(
    uow: UnitOfWork, cohort_id: str, rows: Sequence[Mapping[str, Any]]
) -> tuple[list[Trainee], Cohort, Project | None]:
    """All or nothing: every bad row is reported and none is recorded."""
    cohort = get_cohort(uow, cohort_id, lock=True)
    project = project_of(uow, cohort.project_id)
    forbidden: list[str] = []
    for i, row in enumerate(rows):
        forbidden += _check_fields(uow.actor, [k for k in row if k != "candidate_id"], f"assessments.{i}.")
    if forbidden:
        raise Forbidden("; ".join(forbidden) + ". Nothing was recorded.", extra={"rule": "assessment-roles"})
    _check_assessable(cohort)
    _merchant_verdict_allowed(rows, project)
    trainees = {
        t.candidate_id: t for t in uow.session.scalars(select(Trainee).where(Trainee.cohort_id == cohort.id))
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
        _apply(uow, trainee, {k: v for k, v in row.items() if k != "candidate_id"}, cohort, project)
        updated.append(trainee)
    _after_assessment(cohort)
    return updated, cohort, project


# --- admission -------------------------------------------------------------------------------------------


def _passer(trainee: Trainee) -> Passer:
    assert trainee.quiz_score is not None and trainee.simulation_score is not None
    return Passer(trainee.candidate_id, trainee.quiz_score, trainee.simulation_score, trainee.enrolment_seq)


def admit(uow: UnitOfWork, trainee: Trainee, cohort: Cohort, project: Project | None) -> None:
    """录取: the trainee becomes the project's agent (agent.admitted, which scheduling and billing keep)."""
    trainee.status = TraineeStatus.ADMITTED
    trainee.admitted_at = uow.now()
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
    uow.emit("agent.admitted", data)


def admit_passers(
    uow: UnitOfWork, cohort: Cohort, project: Project | None, trainees: Sequence[Trainee]
) -> domain.Admission:
    """The final verdicts of a completing cohort: passers admitted best first up to its target, the rest
    of the passers waitlisted, trainees without a complete assessment not assessed."""
    passers = []
    for trainee in trainees:
        if trainee.status not in JUDGED_STATUSES:
            continue
        trainee.status = domain.status_for(outcome_of(trainee, cohort, project))
        if trainee.status == TraineeStatus.PASSED:
            passers.append(_passer(trainee))
        elif trainee.status == TraineeStatus.ENROLLED:
            trainee.status = TraineeStatus.NOT_ASSESSED
    admission = domain.admit(passers, cohort.target)
    by_id = {t.candidate_id: t for t in trainees}
    for ranked in admission.admitted:
        trainee = by_id[ranked.passer.candidate_id]
        trainee.rank = ranked.rank
        admit(uow, trainee, cohort, project)
    for ranked in admission.waitlisted:
        trainee = by_id[ranked.passer.candidate_id]
        trainee.rank = ranked.rank
        trainee.status = TraineeStatus.PASSED_WAITLISTED
    return admission


def best_waitlisted(uow: UnitOfWork, cohort: Cohort) -> Trainee | None:
    """Who takes a freed place: the best waitlisted passer of this cohort, else of the project's earliest
    cohort that has any."""
    waitlisted = list(
        uow.session.execute(
            select(Trainee, Cohort.sequence)
            .join(Cohort, Cohort.id == Trainee.cohort_id)
            .where(Trainee.project_id == cohort.project_id, Trainee.status == TraineeStatus.PASSED_WAITLISTED)
        ).all()
    )
    if not waitlisted:
        return None
    own = [t for t, _ in waitlisted if t.cohort_id == cohort.id]
    if not own:
        first_sequence = min(seq for _, seq in waitlisted)
        own = [t for t, seq in waitlisted if seq == first_sequence]
    best = domain.next_from_waitlist([_passer(t) for t in own])
    return next(t for t in own if best is not None and t.candidate_id == best.candidate_id)
