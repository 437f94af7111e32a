"""The read side of the training service: loading with tenant scoping, lists, and the views' answers.

A merchant sees only its own projects' cohorts and retraining records, an agent only their own
retraining; another tenant's record answers 404 so that its existence is not revealed. The use cases load
what they change through the same ``get_*`` functions, so reads and writes scope alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from services.training import domain
from services.training.config import TrainingSettings
from services.training.domain import CohortStatus, Outcome, PassMarks, TraineeStatus
from services.training.models import Cohort, CoursewareItem, Project, Retraining, Trainee
from shared.errors import Conflict, NotFound
from shared.pagination import Page, paginate_args
from shared.uow import Actor, UnitOfWork
from shared.workdays import is_workday

if TYPE_CHECKING:  # cohorts builds on this module
    from services.training.cohorts import Withdrawal

COHORT_NOT_FOUND = "There is no cohort with this id."
PROJECT_NOT_FOUND = "The training service has no record of this project."
RETRAINING_NOT_FOUND = "There is no retraining record with this id."
ITEM_NOT_FOUND = "There is no courseware item with this id in this cohort."

_COHORT_KEYS = tuple(c.key for c in Cohort.__table__.columns)  # type: ignore[attr-defined]
_TRAINEE_KEYS = tuple(c.key for c in Trainee.__table__.columns)  # type: ignore[attr-defined]


# --- pages -----------------------------------------------------------------------------------------------


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


def _trainee_view(trainee: Any, marks: PassMarks, by_merchant: bool) -> dict[str, Any]:
    """``trainee`` is a Trainee or a row carrying its columns (the lists select columns, not objects)."""
    assessment = domain.Assessment(
        quiz_score=trainee.quiz_score,
        simulation_score=trainee.simulation_score,
        trainer_passed=trainee.trainer_passed,
        merchant_passed=trainee.merchant_passed,
    )
    outcome = domain.judge(assessment, marks, by_merchant)
    combined = (
        trainee.quiz_score + trainee.simulation_score
        if trainee.quiz_score is not None and trainee.simulation_score is not None
        else None
    )
    view = {key: getattr(trainee, key) for key in _TRAINEE_KEYS}
    view.update(combined_score=combined, verdict=outcome.verdict, verdict_reasons=list(outcome.reasons))
    return view


def _marks(cohort: Any) -> PassMarks:
    return PassMarks(quiz=cohort.pass_mark_quiz, simulation=cohort.pass_mark_simulation)


def trainee_view(trainee: Trainee, cohort: Cohort, project: Project | None) -> dict[str, Any]:
    return _trainee_view(trainee, _marks(cohort), merchant_assesses(project))


def _enrolled() -> Any:
    return (
        select(func.count())
        .select_from(Trainee)
        .where(Trainee.cohort_id == Cohort.id)
        .correlate(Cohort)
        .scalar_subquery()
        .label("enrolled")
    )


def _admitted_count() -> Any:
    return (
        select(func.count())
        .select_from(Trainee)
        .where(Trainee.cohort_id == Cohort.id, Trainee.status == TraineeStatus.ADMITTED)
        .correlate(Cohort)
        .scalar_subquery()
        .label("admitted")
    )


def _cohort_view(
    cohort: Any, company_name: str | None, assessor: str | None, enrolled: int, admitted: int
) -> dict[str, Any]:
    """``cohort`` is a Cohort or a row carrying its columns."""
    view = {key: getattr(cohort, key) for key in _COHORT_KEYS}
    view.update(
        company_name=company_name,
        assessor=assessor,
        enrolled=enrolled,
        admitted=admitted,
        completion_due=domain.completion_due(cohort.end_date, is_workday),
    )
    return view


def cohort_detail(uow: UnitOfWork, cohort_id: str) -> dict[str, Any]:
    """One cohort with its project and trainees (answer of the cohort's read and write views), in one
    query: the counts come from the trainees it lists anyway."""
    rows = uow.session.execute(
        select(Cohort, Project, Trainee)
        .outerjoin(Project, Project.project_id == Cohort.project_id)
        .outerjoin(Trainee, Trainee.cohort_id == Cohort.id)
        .where(Cohort.id == cohort_id)
        .order_by(Trainee.enrolment_seq, Trainee.id)
    ).all()
    if not rows or not _visible(uow.actor, rows[0][0].merchant_id):
        raise NotFound(COHORT_NOT_FOUND)
    cohort, project = rows[0][0], rows[0][1]
    trainees = [row[2] for row in rows if row[2] is not None]
    admitted = sum(1 for t in trainees if t.status == TraineeStatus.ADMITTED)
    view = _cohort_view(
        cohort,
        project.company_name if project else None,
        project.assessor if project else None,
        len(trainees),
        admitted,
    )
    view["trainees"] = [trainee_view(t, cohort, project) for t in trainees]
    return view


#: the cohort list's sort: newest first; the id breaks ties and makes the key unique for ``after``
COHORT_ORDER = (Cohort.created_at.desc(), Cohort.id.desc())


def cohort_list_query(actor: Actor, args: Mapping[str, Any]) -> Select[Any]:
    """The cohort list's statement (sorted by ``paginate`` with COHORT_ORDER): the cohort's columns, its
    project's name and assessor and its trainee counts in one query."""
    stmt = select(
        *Cohort.__table__.columns,  # type: ignore[attr-defined]
        Project.company_name,
        Project.assessor,
        _enrolled(),
        _admitted_count(),
    ).outerjoin(Project, Project.project_id == Cohort.project_id)
    if actor.is_merchant:
        stmt = stmt.where(Cohort.merchant_id == actor.merchant_id)
    elif args.get("merchant_id"):
        stmt = stmt.where(Cohort.merchant_id == args["merchant_id"])
    if args.get("project_id"):
        stmt = stmt.where(Cohort.project_id == args["project_id"])
    if args.get("status"):
        stmt = stmt.where(Cohort.status == args["status"])
    return stmt


def cohort_page(uow: UnitOfWork, args: Mapping[str, Any]) -> Page:
    """A page of cohorts, newest first (filters: merchant_id for the vendor, project_id, status)."""
    page = paginate_args(uow.session, cohort_list_query(uow.actor, args), args, order_by=COHORT_ORDER)
    return page.with_items(
        [_cohort_view(r, r.company_name, r.assessor, int(r.enrolled), int(r.admitted)) for r in page.items]
    )


#: a cohort's trainees in enrolment order; the id makes the key unique
TRAINEE_ORDER = (Trainee.enrolment_seq, Trainee.id)


def trainee_list_query(actor: Actor, cohort_id: str, args: Mapping[str, Any]) -> Select[Any]:
    """A cohort's trainees with what their verdicts need (the cohort's pass marks, the project's assessor)
    in one query; another merchant's cohort lists nothing."""
    stmt = (
        select(
            *Trainee.__table__.columns,  # type: ignore[attr-defined]
            Cohort.pass_mark_quiz,
            Cohort.pass_mark_simulation,
            Project.assessor,
        )
        .join(Cohort, Cohort.id == Trainee.cohort_id)
        .outerjoin(Project, Project.project_id == Cohort.project_id)
        .where(Trainee.cohort_id == cohort_id)
    )
    if actor.is_merchant:
        stmt = stmt.where(Cohort.merchant_id == actor.merchant_id)
    if args.get("status"):
        stmt = stmt.where(Trainee.status == args["status"])
    return stmt


def trainee_page(uow: UnitOfWork, cohort_id: str, args: Mapping[str, Any]) -> Page:
    """A page of a cohort's trainees in enrolment order (filter: status)."""
    page = paginate_args(
        uow.session, trainee_list_query(uow.actor, cohort_id, args), args, order_by=TRAINEE_ORDER
    )
    if not page.items:
        get_cohort(uow, cohort_id)  # an empty page: tell an empty cohort from one the caller may not see
    return page.with_items(
        [_trainee_view(r, _marks(r), r.assessor == domain.Assessor.MERCHANT) for r in page.items]
    )


def cohort_progress(uow: UnitOfWork, cohort_id: str) -> dict[str, Any]:
    assessed_flag = and_(Trainee.quiz_score.is_not(None), Trainee.simulation_score.is_not(None))
    rows = uow.session.execute(
        select(Cohort, Trainee.status, assessed_flag)
        .outerjoin(Trainee, Trainee.cohort_id == Cohort.id)
        .where(Cohort.id == cohort_id)
    ).all()
    if not rows or not _visible(uow.actor, rows[0][0].merchant_id):
        raise NotFound(COHORT_NOT_FOUND)
    cohort = rows[0][0]
    statuses = [TraineeStatus(status) for _c, status, _a in rows if status is not None]
    assessed = sum(1 for _c, status, flag in rows if status is not None and flag)
    summary = domain.progress(statuses, assessed, cohort.target)
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


def courseware_view(uow: UnitOfWork, cohort_id: str) -> dict[str, Any]:
    """The cohort's courseware, the merchant's decision, uncovered topics and the project's sources, in
    one query."""
    rows = uow.session.execute(
        select(Cohort, Project, CoursewareItem)
        .outerjoin(Project, Project.project_id == Cohort.project_id)
        .outerjoin(CoursewareItem, CoursewareItem.cohort_id == Cohort.id)
        .where(Cohort.id == cohort_id)
        .order_by(CoursewareItem.created_at, CoursewareItem.id)
    ).all()
    if not rows or not _visible(uow.actor, rows[0][0].merchant_id):
        raise NotFound(COHORT_NOT_FOUND)
    cohort, project = rows[0][0], rows[0][1]
    items = [row[2] for row in rows if row[2] is not None]
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


def project_training_view(uow: UnitOfWork, project_id: str, settings: TrainingSettings) -> dict[str, Any]:
    """A project's training: who assesses, training days, target, admitted and gap across cohorts (one
    query: the project with its two counts)."""
    admitted = (
        select(func.count())
        .select_from(Trainee)
        .where(Trainee.project_id == Project.project_id, Trainee.status == TraineeStatus.ADMITTED)
        .correlate(Project)
        .scalar_subquery()
    )
    cohorts = (
        select(func.count())
        .select_from(Cohort)
        .where(Cohort.project_id == Project.project_id)
        .correlate(Project)
        .scalar_subquery()
    )
    row = uow.session.execute(
        select(Project, admitted, cohorts).where(Project.project_id == project_id)
    ).one_or_none()
    if row is None or not _visible(uow.actor, row[0].merchant_id):
        raise NotFound(PROJECT_NOT_FOUND)
    project, admitted_count, cohort_count = row
    target = (
        domain.project_target(project.seats, settings.admission_ratio) if project.seats is not None else 0
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
        "admitted": int(admitted_count or 0),
        "gap": max(0, target - int(admitted_count or 0)),
        "cohorts": int(cohort_count or 0),
    }


#: retraining records newest first; the id makes the key unique
RETRAINING_ORDER = (Retraining.opened_at.desc(), Retraining.id.desc())


def retraining_list_query(actor: Actor, args: Mapping[str, Any]) -> Select[Any]:
    """The retraining list's statement (sorted by ``paginate`` with RETRAINING_ORDER)."""
    stmt = select(Retraining)
    if actor.is_merchant:
        stmt = stmt.where(Retraining.merchant_id == actor.merchant_id)
    if actor.role == "agent":
        stmt = stmt.where(Retraining.agent_id == actor.sub)
    for key in ("project_id", "agent_id", "status", "source"):
        if args.get(key):
            stmt = stmt.where(getattr(Retraining, key) == args[key])
    return stmt


def retraining_page(uow: UnitOfWork, args: Mapping[str, Any]) -> Page:
    """Retraining records, newest first (filters: project_id, agent_id, status)."""
    return paginate_args(uow.session, retraining_list_query(uow.actor, args), args, order_by=RETRAINING_ORDER)
