"""The training API (/api/v1): thin flask-smorest views over ``service``."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.training import service
from services.training.domain import TrainingSettings
from services.training.models import Cohort, Project, Trainee
from services.training.schemas import (
    AssessmentIn,
    BulkAssessmentIn,
    BulkAssessmentOut,
    CohortDetailOut,
    CohortListArgs,
    CohortPage,
    CoursewareFileFormIn,
    CoursewareItemOut,
    CoursewareLinkIn,
    CoursewareOut,
    CoursewareRejectIn,
    ProgressOut,
    ProjectTrainingOut,
    ProjectTrainingPatch,
    RetrainingCloseIn,
    RetrainingListArgs,
    RetrainingOut,
    RetrainingPage,
    TraineeListArgs,
    TraineeOut,
    TraineePage,
    WithdrawIn,
    WithdrawOut,
)
from shared.auth import current_principal, roles_required
from shared.errors import NotFound, UnsupportedMediaType, ValidationFailed
from shared.http import db_session, flatten_errors, get_settings
from shared.pagination import Page, paginate
from shared.storage import FileStore, content_disposition
from shared.web.idempotency import idempotent
from shared.workdays import today_shanghai

blp = Blueprint(
    "training",
    __name__,
    url_prefix="/api/v1",
    description="Cohorts (培训批次), courseware (课件), assessments (考核), admission (录取) and retraining.",
)

READERS = ("vendor", "trainer", "supervisor", "merchant")
TRAINERS = ("trainer", "vendor")


def _actor() -> service.Actor:
    principal = current_principal()
    return service.Actor(sub=principal.sub, role=principal.role, merchant_id=principal.merchant_id)


def _settings() -> TrainingSettings:
    return service.load_settings(get_settings().extra)


def _commit(session: Session) -> None:
    session.commit()


# --- cohorts -----------------------------------------------------------------------------------------


@blp.route("/cohorts")
class Cohorts(MethodView):
    @roles_required(*READERS)
    @blp.arguments(CohortListArgs, location="query")
    @blp.response(200, CohortPage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List cohorts (filters: project_id, status; a merchant sees its own projects' cohorts)"""
        session = db_session()
        page = paginate(session, service.cohorts_query(_actor(), args), args["page"], args["per_page"])
        return {**page.__dict__, "items": service.cohort_views(session, page.items)}


@blp.route("/cohorts/<cohort_id>")
class CohortItem(MethodView):
    @roles_required(*READERS)
    @blp.response(200, CohortDetailOut)
    def get(self, cohort_id: str) -> dict[str, Any]:
        """One cohort with its trainees, target (2 × seats), admitted count and status"""
        session = db_session()
        return service.cohort_detail(session, service.get_cohort(session, cohort_id, _actor()))


@blp.route("/cohorts/<cohort_id>/progress")
class CohortProgress(MethodView):
    @roles_required(*READERS)
    @blp.response(200, ProgressOut)
    def get(self, cohort_id: str) -> dict[str, Any]:
        """Progress summary: enrolled, assessed, passed, admitted, target, gap"""
        session = db_session()
        return service.cohort_progress(session, service.get_cohort(session, cohort_id, _actor()))


@blp.route("/cohorts/<cohort_id>/trainees")
class CohortTrainees(MethodView):
    @roles_required(*READERS)
    @blp.arguments(TraineeListArgs, location="query")
    @blp.response(200, TraineePage)
    def get(self, args: dict[str, Any], cohort_id: str) -> dict[str, Any]:
        """Trainees with their scores and verdicts (filter: status), in enrolment order"""
        session = db_session()
        cohort = service.get_cohort(session, cohort_id, _actor())
        stmt = (
            select(Trainee).where(Trainee.cohort_id == cohort.id).order_by(Trainee.enrolment_seq, Trainee.id)
        )
        if args.get("status"):
            stmt = stmt.where(Trainee.status == args["status"])
        page: Page = paginate(session, stmt, args["page"], args["per_page"])
        project = session.get(Project, cohort.project_id)
        return {**page.__dict__, "items": [service.trainee_view(t, cohort, project) for t in page.items]}


@blp.route("/cohorts/<cohort_id>/start")
class CohortStart(MethodView):
    @idempotent
    @roles_required(*TRAINERS)
    @blp.response(200, CohortDetailOut)
    def post(self, cohort_id: str) -> dict[str, Any]:
        """Start training today (planned → in_training); needs confirmed courseware and trainees"""
        session = db_session()
        cohort = service.start_cohort(session, cohort_id, _actor(), today_shanghai())
        _commit(session)
        return service.cohort_detail(session, cohort)


@blp.route("/cohorts/<cohort_id>/complete")
class CohortComplete(MethodView):
    @idempotent
    @roles_required(*TRAINERS)
    @blp.response(200, CohortDetailOut)
    def post(self, cohort_id: str) -> dict[str, Any]:
        """Complete the cohort: admit passers up to the target (agent.admitted), cohort.completed and,
        below the target, training.shortfall"""
        session = db_session()
        cohort, _admission = service.complete_cohort(session, cohort_id, _actor(), _settings())
        _commit(session)
        return service.cohort_detail(session, cohort)


# --- assessments ---------------------------------------------------------------------------------------


@blp.route("/cohorts/<cohort_id>/trainees/<candidate_id>/assessment")
class TraineeAssessment(MethodView):
    @idempotent
    @roles_required(*TRAINERS, "merchant")
    @blp.arguments(AssessmentIn)
    @blp.response(200, TraineeOut)
    def put(self, values: dict[str, Any], cohort_id: str, candidate_id: str) -> dict[str, Any]:
        """Record a trainee's assessment: the trainer's scores and verdict, or the merchant's verdict.

        Fields not sent are left as they are; null clears one. Refused (409) until the merchant has
        confirmed the courseware, before training starts and after completion.
        """
        session = db_session()
        trainee, cohort, project = service.record_assessment(
            session, cohort_id, candidate_id, values, _actor()
        )
        _commit(session)
        return service.trainee_view(trainee, cohort, project)


@blp.route("/cohorts/<cohort_id>/assessments")
class BulkAssessments(MethodView):
    @idempotent
    @roles_required(*TRAINERS, "merchant")
    @blp.arguments(BulkAssessmentIn)
    @blp.response(200, BulkAssessmentOut)
    def post(self, body: dict[str, Any], cohort_id: str) -> dict[str, Any]:
        """Record many assessments at once: all or nothing, every bad row reported"""
        session = db_session()
        trainees, cohort, project = service.record_assessments(
            session, cohort_id, body["assessments"], _actor()
        )
        _commit(session)
        return {
            "cohort_id": cohort.id,
            "recorded": len(trainees),
            "trainees": [service.trainee_view(t, cohort, project) for t in trainees],
        }


@blp.route("/cohorts/<cohort_id>/trainees/<candidate_id>/withdraw")
class TraineeWithdraw(MethodView):
    @idempotent
    @roles_required(*TRAINERS, "agent")
    @blp.arguments(WithdrawIn)
    @blp.response(200, WithdrawOut)
    def post(self, body: dict[str, Any], cohort_id: str, candidate_id: str) -> dict[str, Any]:
        """A trainee withdraws (an agent may withdraw themselves); an admitted one's place goes to the best
        waitlisted passer, or training.shortfall asks recruitment for one more"""
        session = db_session()
        result = service.withdraw(session, cohort_id, candidate_id, body["reason"], _actor(), _settings())
        _commit(session)
        cohort = service.get_cohort(session, cohort_id, service.JOB_ACTOR)
        project = session.get(Project, cohort.project_id)
        promoted = None
        if result.promoted is not None:
            promoted_cohort = session.get(Cohort, result.promoted.cohort_id)
            promoted = service.trainee_view(result.promoted, promoted_cohort or cohort, project)
        return {
            "trainee": service.trainee_view(result.trainee, cohort, project),
            "promoted": promoted,
            "shortfall": result.shortfall,
        }


# --- courseware ----------------------------------------------------------------------------------------

_COURSEWARE_BODY_DOC = {
    "requestBody": {
        "required": True,
        "description": "A link item as JSON, or a file item as multipart/form-data (fields kind=file, "
        "title, topics — repeated or comma-separated — description, file).",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["title", "topics", "url"],
                    "properties": {
                        "kind": {"type": "string", "enum": ["link"]},
                        "title": {"type": "string", "maxLength": 200},
                        "topics": {
                            "type": "array",
                            "items": {
                                "type": "string",
                                "enum": ["project", "business", "industry", "scripts", "cases", "faq", "qa"],
                            },
                        },
                        "url": {"type": "string", "format": "uri"},
                        "description": {"type": "string"},
                    },
                }
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["title", "topics", "file"],
                    "properties": {
                        "kind": {"type": "string", "enum": ["file"]},
                        "title": {"type": "string"},
                        "topics": {"type": "string", "description": "comma-separated or repeated"},
                        "description": {"type": "string"},
                        "file": {"type": "string", "format": "binary"},
                    },
                }
            },
        },
    }
}


@blp.route("/cohorts/<cohort_id>/courseware")
class Courseware(MethodView):
    @roles_required(*READERS)
    @blp.response(200, CoursewareOut)
    def get(self, cohort_id: str) -> dict[str, Any]:
        """The cohort's courseware, the merchant's decision, uncovered topics and the project's sources
        (FAQ and materials from project.confirmed)"""
        session = db_session()
        return service.courseware_view(session, service.get_cohort(session, cohort_id, _actor()))

    @idempotent
    @roles_required(*TRAINERS)
    @blp.doc(**_COURSEWARE_BODY_DOC)
    @blp.response(201, CoursewareItemOut)
    def post(self, cohort_id: str) -> Any:
        """Add a courseware item (a link, or a file upload); the merchant must (re)confirm afterwards"""
        session = db_session()
        actor = _actor()
        if request.mimetype == "multipart/form-data":
            return _add_file_item(session, cohort_id, actor)
        if not request.is_json:
            raise UnsupportedMediaType(
                "Send a link item as application/json or a file item as multipart/form-data."
            )
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            raise ValidationFailed({"_schema": ["The body must be a JSON object."]})
        try:
            values = CoursewareLinkIn().load(payload)
        except ValidationError as exc:
            raise ValidationFailed(flatten_errors(exc.messages)) from exc
        item = service.add_courseware_item(session, cohort_id, values, actor)
        _commit(session)
        return item


def _add_file_item(session: Session, cohort_id: str, actor: service.Actor) -> Any:
    """A file item: form and cohort are checked first, so a refused request leaves no file behind."""
    form: dict[str, Any] = {k: v for k, v in request.form.items() if k != "topics"}
    topics = [t.strip() for raw in request.form.getlist("topics") for t in raw.split(",") if t.strip()]
    if topics or "topics" in request.form:
        form["topics"] = topics
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    try:
        values = CoursewareFileFormIn().load(form)
    except ValidationError as exc:
        errors.update(flatten_errors(exc.messages))
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        errors["file"] = ["Attach the courseware file in the form field 'file'."]
    if errors or upload is None:
        raise ValidationFailed(errors)
    service.check_courseware_editable(session, cohort_id, actor)
    store = FileStore.from_settings(get_settings())
    stored = store.save(upload.stream, upload.filename)
    try:
        item = service.add_courseware_item(
            session,
            cohort_id,
            {
                **values,
                "kind": "file",
                "file_sha256": stored.sha256,
                "file_name": stored.filename,
                "content_type": stored.content_type,
                "size_bytes": stored.size,
            },
            actor,
        )
        _commit(session)
    except BaseException:
        if stored.created:
            store.delete(stored.sha256)
        raise
    return item


@blp.route("/cohorts/<cohort_id>/courseware/<item_id>")
class CoursewareEntry(MethodView):
    @roles_required(*READERS)
    @blp.response(200, CoursewareItemOut)
    def get(self, cohort_id: str, item_id: str) -> Any:
        """One courseware item"""
        return service.get_courseware_item(db_session(), cohort_id, item_id, _actor())

    @roles_required(*TRAINERS)
    @blp.response(204)
    def delete(self, cohort_id: str, item_id: str) -> None:
        """Remove a courseware item; the merchant must (re)confirm afterwards"""
        session = db_session()
        orphaned = service.delete_courseware_item(session, cohort_id, item_id, _actor())
        _commit(session)
        if orphaned:
            # only after the commit: a rolled-back delete must still find its file
            FileStore.from_settings(get_settings()).delete(orphaned)


@blp.route("/cohorts/<cohort_id>/courseware/<item_id>/file")
class CoursewareFile(MethodView):
    @roles_required(*READERS)
    @blp.response(200, content_type="application/octet-stream")
    def get(self, cohort_id: str, item_id: str) -> Response:
        """Download a file item with its Content-Type and Content-Disposition"""
        item = service.get_courseware_item(db_session(), cohort_id, item_id, _actor())
        if item.kind != "file" or not item.file_sha256:
            raise NotFound("This courseware item is a link, not a file; open its url instead.")
        store = FileStore.from_settings(get_settings())
        try:
            handle = store.open(item.file_sha256)
        except FileNotFoundError as exc:
            raise NotFound(
                "The file of this courseware item is missing from storage; upload it again."
            ) from exc
        response = Response(_chunks(handle), content_type=item.content_type or "application/octet-stream")
        response.headers["Content-Disposition"] = content_disposition(item.file_name or "courseware")
        if item.size_bytes is not None:
            response.headers["Content-Length"] = str(item.size_bytes)
        return response


def _chunks(handle: Any) -> Any:
    with handle:
        while chunk := handle.read(64 * 1024):
            yield chunk


@blp.route("/cohorts/<cohort_id>/courseware/confirm")
class CoursewareConfirm(MethodView):
    @idempotent
    @roles_required("merchant")
    @blp.response(200, CoursewareOut)
    def post(self, cohort_id: str) -> dict[str, Any]:
        """The merchant confirms the courseware (assessments are accepted from then on)"""
        session = db_session()
        cohort = service.decide_courseware(session, cohort_id, _actor(), confirm=True)
        _commit(session)
        return service.courseware_view(session, cohort)


@blp.route("/cohorts/<cohort_id>/courseware/reject")
class CoursewareReject(MethodView):
    @idempotent
    @roles_required("merchant")
    @blp.arguments(CoursewareRejectIn)
    @blp.response(200, CoursewareOut)
    def post(self, body: dict[str, Any], cohort_id: str) -> dict[str, Any]:
        """The merchant rejects the courseware with a reason; the trainer revises it"""
        session = db_session()
        cohort = service.decide_courseware(session, cohort_id, _actor(), confirm=False, reason=body["reason"])
        _commit(session)
        return service.courseware_view(session, cohort)


# --- project training settings --------------------------------------------------------------------------


@blp.route("/projects/<project_id>/training")
class ProjectTraining(MethodView):
    @roles_required(*READERS)
    @blp.response(200, ProjectTrainingOut)
    def get(self, project_id: str) -> dict[str, Any]:
        """A project's training: who assesses, training days, target, admitted and gap across cohorts"""
        session = db_session()
        return service.project_training_view(
            session, service.get_project(session, project_id, _actor()), _settings()
        )

    @roles_required(*TRAINERS)
    @blp.arguments(ProjectTrainingPatch)
    @blp.response(200, ProjectTrainingOut)
    def patch(self, body: dict[str, Any], project_id: str) -> dict[str, Any]:
        """Set the project's training length (1–3 working days); open cohorts' end dates follow"""
        session = db_session()
        settings = _settings()
        project = service.set_training_days(session, project_id, body["training_days"], _actor(), settings)
        _commit(session)
        return service.project_training_view(session, project, settings)


# --- retraining -----------------------------------------------------------------------------------------


@blp.route("/retrainings")
class Retrainings(MethodView):
    @roles_required(*READERS, "agent")
    @blp.arguments(RetrainingListArgs, location="query")
    @blp.response(200, RetrainingPage)
    def get(self, args: dict[str, Any]) -> Page:
        """Retraining records opened by upheld complaints (filters: project_id, agent_id, status)"""
        return paginate(
            db_session(), service.retrainings_query(_actor(), args), args["page"], args["per_page"]
        )


@blp.route("/retrainings/<retraining_id>")
class RetrainingItem(MethodView):
    @roles_required(*READERS, "agent")
    @blp.response(200, RetrainingOut)
    def get(self, retraining_id: str) -> Any:
        """One retraining record"""
        return service.get_retraining(db_session(), retraining_id, _actor())


@blp.route("/retrainings/<retraining_id>/close")
class RetrainingClose(MethodView):
    @idempotent
    @roles_required(*TRAINERS)
    @blp.arguments(RetrainingCloseIn)
    @blp.response(200, RetrainingOut)
    def post(self, body: dict[str, Any], retraining_id: str) -> Any:
        """Close a retraining record with the trainer's note"""
        session = db_session()
        record = service.close_retraining(session, retraining_id, body["note"], _actor())
        _commit(session)
        return record
