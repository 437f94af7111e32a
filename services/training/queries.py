"""The read side of the training service: loading with tenant scoping, lists, and the views' answers.

A merchant sees only its own projects' cohorts and retraining records, an agent only their own
retraining; another tenant's record answers 404 so that its existence is not revealed. The use cases load
what they change through the same ``get_*`` functions, so reads and writes scope alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from services.training import domain
from services.training.config import TrainingSettings
from services.training.domain import CohortStatus, Outcome, PassMarks, TraineeStatus
from services.training.models import Cohort, CoursewareItem, Project, Retraining, Trainee
from shared.errors import Conflict, NotFound
from shared.pagination import Page, paginate
from shared.uow import Actor, UnitOfWork
from shared.workdays import is_workday

if TYPE_CHECKING:  # cohorts builds on this module
    from services.training.cohorts import Withdrawal

COHORT_NOT_FOUND = "There is no cohort with this id."
PROJECT_NOT_FOUND = "The training service has no record of this project."
RETRAINING_NOT_FOUND = "There is no retraining record with this id."
ITEM_NOT_FOUND = "There is no courseware item with this id in this cohort."


# --- loading and access -------------------------------------------------------------------------------


def _visible(actor: Actor, merchant_id: str | None) -> bool:
    return not actor.is_merchant or (merchant_id is not None and merchant_id == actor.merchant_id)


def get_cohort(uow: UnitOfWork, cohort_id: str, *, lock: bool = False) -> Cohort:
    """A cohort the actor may see (404 for another merchant's, so its existence is not revealed)."""
    cohort = uow.session.get(Cohort, cohort_id, with_for_update=lock or None)
    if cohort is None or not _visible(uow.actor, cohort.merchant_id):
        raise NotFound(COHORT_NOT_FOUND)
    return cohort


def get_project(uow: UnitOfWork, project_id: str, *, lock: bool = False) -> Project:
    project = uow.session.get(Project, project_id, with_for_update=lock or None)
    if project is None or not _visible(uow.actor, project.merchant_id):
        raise NotFound(PROJECT_NOT_FOUND)
    return project


def get_retraining(uow: UnitOfWork, retraining_id: str, *, lock: bool = False) -> Retraining:
    actor = uow.actor
    record = uow.session.get(Retraining, retraining_id, with_for_update=lock or None)
    if (
        record is None
        or not _visible(actor, record.merchant_id)
        or (actor.role == "agent" and record.agent_id != actor.sub)
    ):
        raise NotFound(RETRAINING_NOT_FOUND)
    return record


def get_courseware_item(uow: UnitOfWork, cohort_id: str, item_id: str) -> CoursewareItem:
    cohort = get_cohort(uow, cohort_id)
    item = uow.session.get(CoursewareItem, item_id)
    if item is None or item.cohort_id != cohort.id:
        raise NotFound(ITEM_NOT_FOUND)
    return item


def refuse_unless_open(cohort: Cohort, action: str) -> None:
    """A completed or cancelled cohort takes no more changes (409 saying why)."""
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


# --- derived figures shared by the use cases and the views ---------------------------------------------


def merchant_assesses(project: Project | None) -> bool:
    return project is not None and project.assessor == domain.Assessor.MERCHANT


def outcome_of(trainee: Trainee, cohort: Cohort, project: Project | None) -> Outcome:
    """The trainee's verdict under the cohort's pass marks and the project's assessor."""
    assessment = domain.Assessment(
        quiz_score=trainee.quiz_score,
        simulation_score=trainee.simulation_score,
        trainer_passed=trainee.trainer_passed,
        merchant_passed=trainee.merchant_passed,
    )
    marks = PassMarks(quiz=cohort.pass_mark_quiz, simulation=cohort.pass_mark_simulation)
    return domain.judge(assessment, marks, merchant_assesses(project))


def _admitted(session: Session, project_id: str, *, except_cohort: str | None = None) -> int:
    stmt = (
        select(func.count())
        .select_from(Trainee)
        .where(Trainee.project_id == project_id, Trainee.status == TraineeStatus.ADMITTED)
    )
    if except_cohort is not None:
        stmt = stmt.where(Trainee.cohort_id != except_cohort)
    return int(session.scalar(stmt) or 0)


def project_admitted(session: Session, project_id: str) -> int:
    """Admitted trainees of the project, across all its cohorts."""
    return _admitted(session, project_id)


def admitted_elsewhere(session: Session, project_id: str, cohort_id: str) -> int:
    """Admitted trainees of the project in its other cohorts (they count against this cohort's target)."""
    return _admitted(session, project_id, except_cohort=cohort_id)


def training_days(project: Project | None, settings: TrainingSettings) -> int:
    if project is not None and project.training_days is not None:
        return project.training_days
    return settings.default_training_days


# --- cohorts ---------------------------------------------------------------------------------------------


def trainee_view(trainee: Trainee, cohort: Cohort, project: Project | None) -> dict[str, Any]:
    outcome = outcome_of(trainee, cohort, project)
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


def _cohort_view(cohort: Cohort, project: Project | None, counts: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    view = {c.key: getattr(cohort, c.key) for c in Cohort.__table__.columns}  # type: ignore[attr-defined]
    view.update(
        company_name=project.company_name if project else None,
        assessor=project.assessor if project else None,
        enrolled=counts[0],
        admitted=counts[1],
        completion_due=domain.completion_due(cohort.end_date, is_workday),
    )
    return view


def cohort_detail(uow: UnitOfWork, cohort: Cohort) -> dict[str, Any]:
    """One cohort with its trainees (answer of the cohort's read and write views)."""
    session = uow.session
    project = session.get(Project, cohort.project_id)
    view = _cohort_view(cohort, project, _counts(session, [cohort.id]).get(cohort.id, (0, 0)))
    trainees = session.scalars(
        select(Trainee).where(Trainee.cohort_id == cohort.id).order_by(Trainee.enrolment_seq, Trainee.id)
    )
    view["trainees"] = [trainee_view(t, cohort, project) for t in trainees]
    return view


def cohort_page(uow: UnitOfWork, args: Mapping[str, Any]) -> dict[str, Any]:
    """A page of cohorts, newest first (filters: merchant_id for the vendor, project_id, status)."""
    actor, session = uow.actor, uow.session
    stmt = select(Cohort).order_by(Cohort.created_at.desc(), Cohort.id)
    if actor.is_merchant:
        stmt = stmt.where(Cohort.merchant_id == actor.merchant_id)
    elif args.get("merchant_id"):
        stmt = stmt.where(Cohort.merchant_id == args["merchant_id"])
    if args.get("project_id"):
        stmt = stmt.where(Cohort.project_id == args["project_id"])
    if args.get("status"):
        stmt = stmt.where(Cohort.status == args["status"])
    page = paginate(session, stmt, args["page"], args["per_page"])
    cohorts: list[Cohort] = page.items
    counts = _counts(session, [c.id for c in cohorts])
    projects = {
        p.project_id: p
        for p in session.scalars(
            select(Project).where(Project.project_id.in_({c.project_id for c in cohorts}))
        )
    }
    items = [_cohort_view(c, projects.get(c.project_id), counts.get(c.id, (0, 0))) for c in cohorts]
    return {**page.__dict__, "items": items}


def trainee_page(uow: UnitOfWork, cohort_id: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """A page of a cohort's trainees in enrolment order (filter: status)."""
    cohort = get_cohort(uow, cohort_id)
    stmt = select(Trainee).where(Trainee.cohort_id == cohort.id).order_by(Trainee.enrolment_seq, Trainee.id)
    if args.get("status"):
        stmt = stmt.where(Trainee.status == args["status"])
    page: Page = paginate(uow.session, stmt, args["page"], args["per_page"])
    project = uow.session.get(Project, cohort.project_id)
    return {**page.__dict__, "items": [trainee_view(t, cohort, project) for t in page.items]}


def cohort_progress(uow: UnitOfWork, cohort_id: str) -> dict[str, Any]:
    cohort = get_cohort(uow, cohort_id)
    trainees = list(uow.session.scalars(select(Trainee).where(Trainee.cohort_id == cohort.id)))
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


def withdrawal_view(uow: UnitOfWork, withdrawal: Withdrawal) -> dict[str, Any]:
    session = uow.session
    cohort = session.get(Cohort, withdrawal.trainee.cohort_id)
    assert cohort is not None
    project = session.get(Project, cohort.project_id)
    promoted = None
    if withdrawal.promoted is not None:
        promoted_cohort = session.get(Cohort, withdrawal.promoted.cohort_id)
        promoted = trainee_view(withdrawal.promoted, promoted_cohort or cohort, project)
    return {
        "trainee": trainee_view(withdrawal.trainee, cohort, project),
        "promoted": promoted,
        "shortfall": withdrawal.shortfall,
    }


# --- courseware ------------------------------------------------------------------------------------------


def courseware_view(uow: UnitOfWork, cohort: Cohort) -> dict[str, Any]:
    """The cohort's courseware, the merchant's decision, uncovered topics and the project's sources."""
    session = uow.session
    project = session.get(Project, cohort.project_id)
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


# --- projects and retraining ------------------------------------------------------------------------------


def project_training_view(uow: UnitOfWork, project: Project, settings: TrainingSettings) -> dict[str, Any]:
    """A project's training: who assesses, training days, target, admitted and gap across cohorts."""
    session = uow.session
    target = (
        domain.project_target(project.seats, settings.admission_ratio) if project.seats is not None else 0
    )
    admitted = project_admitted(session, project.project_id)
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
        "training_days": training_days(project, settings),
        "target": target,
        "admitted": admitted,
        "gap": max(0, target - admitted),
        "cohorts": int(cohorts or 0),
    }


def _retrainings(actor: Actor, args: Mapping[str, Any]) -> Select[Any]:
    stmt = select(Retraining).order_by(Retraining.opened_at.desc(), Retraining.id)
    if actor.is_merchant:
        stmt = stmt.where(Retraining.merchant_id == actor.merchant_id)
    if actor.role == "agent":
        stmt = stmt.where(Retraining.agent_id == actor.sub)
    for key in ("project_id", "agent_id", "status"):
        if args.get(key):
            stmt = stmt.where(getattr(Retraining, key) == args[key])
    return stmt


def retraining_page(uow: UnitOfWork, args: Mapping[str, Any]) -> Page:
    """Retraining records, newest first (filters: project_id, agent_id, status)."""
    return paginate(uow.session, _retrainings(uow.actor, args), args["page"], args["per_page"])
