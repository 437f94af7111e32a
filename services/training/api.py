"""The training API (/api/v1): thin flask-smorest views over the use cases and ``queries``.

Every view works in the request's unit of work (``current_uow()``); write views are ``@transactional``
or ``@idempotent``, which commit when the answer is a success.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Response, after_this_request, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import ValidationError

from services.training import assessments, cohorts, courseware, queries, retraining
from services.training.config import TrainingSettings, load_settings
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
from shared.auth import roles_required
from shared.errors import NotFound, UnsupportedMediaType, ValidationFailed
from shared.pagination import Page
from shared.storage import CHUNK_SIZE, Blob, FileStore, content_disposition
from shared.web import current_uow, flatten_errors, get_settings, idempotent, transactional

blp = Blueprint(
    "training",
    __name__,
    url_prefix="/api/v1",
    description="Cohorts (培训批次), courseware (课件), assessments (考核), admission (录取) and retraining.",
)

READERS = ("vendor", "trainer", "supervisor", "merchant")
TRAINERS = ("trainer", "vendor")


def _settings() -> TrainingSettings:
    return load_settings(get_settings().extra)


def _store() -> FileStore:
    return FileStore.from_settings(get_settings())


# --- cohorts -----------------------------------------------------------------------------------------


@blp.route("/cohorts")
class Cohorts(MethodView):
    @roles_required(*READERS)
    @blp.arguments(CohortListArgs, location="query")
    @blp.response(200, CohortPage)
    def get(self, args: dict[str, Any]) -> Page:
        """List cohorts, newest first (filters: project_id, status; a merchant sees its own projects'
        cohorts); pass `next_after` back as `after` for the next page"""
        return queries.cohort_page(current_uow(), args)


@blp.route("/cohorts/<cohort_id>")
class CohortItem(MethodView):
    @roles_required(*READERS)
    @blp.response(200, CohortDetailOut)
    def get(self, cohort_id: str) -> dict[str, Any]:
        """One cohort with its trainees, target (2 × seats), admitted count and status"""
        return queries.cohort_detail(current_uow(), cohort_id)


@blp.route("/cohorts/<cohort_id>/progress")
class CohortProgress(MethodView):
    @roles_required(*READERS)
    @blp.response(200, ProgressOut)
    def get(self, cohort_id: str) -> dict[str, Any]:
        """Progress summary: enrolled, assessed, passed, admitted, target, gap"""
        return queries.cohort_progress(current_uow(), cohort_id)


@blp.route("/cohorts/<cohort_id>/trainees")
class CohortTrainees(MethodView):
    @roles_required(*READERS)
    @blp.arguments(TraineeListArgs, location="query")
    @blp.response(200, TraineePage)
    def get(self, args: dict[str, Any], cohort_id: str) -> Page:
        """Trainees with their scores and verdicts (filter: status), in enrolment order; pass
        `next_after` back as `after` for the next page"""
        return queries.trainee_page(current_uow(), cohort_id, args)


@blp.route("/cohorts/<cohort_id>/start")
class CohortStart(MethodView):
    @idempotent
    @roles_required(*TRAINERS)
    @blp.response(200, CohortDetailOut)
    def post(self, cohort_id: str) -> dict[str, Any]:
        """Start training today (planned → in_training); needs confirmed courseware and trainees"""
        uow = current_uow()
        return queries.cohort_detail(uow, cohorts.start_cohort(uow, cohort_id).id)


@blp.route("/cohorts/<cohort_id>/complete")
class CohortComplete(MethodView):
    @idempotent
    @roles_required(*TRAINERS)
    @blp.response(200, CohortDetailOut)
    def post(self, cohort_id: str) -> dict[str, Any]:
        """Complete the cohort: admit passers up to the target (agent.admitted), cohort.completed and,
        below the target, training.shortfall"""
        uow = current_uow()
        cohort, _admission = cohorts.complete_cohort(uow, cohort_id, _settings())
        return queries.cohort_detail(uow, cohort.id)


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
        trainee, cohort, project = assessments.record_assessment(
            current_uow(), cohort_id, candidate_id, values
        )
        return queries.trainee_view(trainee, cohort, project)


@blp.route("/cohorts/<cohort_id>/assessments")
class BulkAssessments(MethodView):
    @idempotent
    @roles_required(*TRAINERS, "merchant")
    @blp.arguments(BulkAssessmentIn)
    @blp.response(200, BulkAssessmentOut)
    def post(self, body: dict[str, Any], cohort_id: str) -> dict[str, Any]:
        """Record many assessments at once: all or nothing, every bad row reported"""
        trainees, cohort, project = assessments.record_assessments(
            current_uow(), cohort_id, body["assessments"]
        )
        return {
            "cohort_id": cohort.id,
            "recorded": len(trainees),
            "trainees": [queries.trainee_view(t, cohort, project) for t in trainees],
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
        uow = current_uow()
        withdrawal = cohorts.withdraw_trainee(uow, cohort_id, candidate_id, body["reason"], _settings())
        return queries.withdrawal_view(uow, withdrawal)


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
        return queries.courseware_view(current_uow(), cohort_id)

    @idempotent
    @roles_required(*TRAINERS)
    @blp.doc(**_COURSEWARE_BODY_DOC)
    @blp.response(201, CoursewareItemOut)
    def post(self, cohort_id: str) -> Any:
        """Add a courseware item (a link, or a file upload); the merchant must (re)confirm afterwards"""
        if request.mimetype == "multipart/form-data":
            return _add_file_item(cohort_id)
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
        return courseware.add_courseware_item(current_uow(), cohort_id, values)


def _add_file_item(cohort_id: str) -> Any:
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
    uow = current_uow()
    courseware.check_courseware_editable(uow, cohort_id)
    store = _store()
    stored = store.save(upload.stream, upload.filename)
    try:
        item = courseware.add_courseware_item(
            uow,
            cohort_id,
            {
                **values,
                "kind": "file",
                "file_sha256": stored.sha256,
                "file_name": stored.filename,
                "content_type": stored.content_type,
                "size_bytes": stored.size,
            },
        )
    except BaseException:
        if stored.created:
            store.delete(stored.sha256)
        raise
    if stored.created:

        @after_this_request
        def forget_unless_committed(response: Response) -> Response:
            # runs after @idempotent's commit: a refused commit must not leave the new file behind
            if response.status_code >= 400:
                store.delete(stored.sha256)
            return response

    return item


@blp.route("/cohorts/<cohort_id>/courseware/<item_id>")
class CoursewareEntry(MethodView):
    @roles_required(*READERS)
    @blp.response(200, CoursewareItemOut)
    def get(self, cohort_id: str, item_id: str) -> Any:
        """One courseware item"""
        return queries.get_courseware_item(current_uow(), cohort_id, item_id)

    @transactional
    @roles_required(*TRAINERS)
    @blp.response(204)
    def delete(self, cohort_id: str, item_id: str) -> None:
        """Remove a courseware item; the merchant must (re)confirm afterwards"""
        orphaned = courseware.delete_courseware_item(current_uow(), cohort_id, item_id)
        if orphaned:

            @after_this_request
            def delete_orphaned_file(response: Response) -> Response:
                # only after @transactional's commit: a rolled-back delete must still find its file
                if response.status_code < 400:
                    _store().delete(orphaned)
                return response


@blp.route("/cohorts/<cohort_id>/courseware/<item_id>/file")
class CoursewareFile(MethodView):
    @roles_required(*READERS)
    @blp.response(200, content_type="application/octet-stream")
    def get(self, cohort_id: str, item_id: str) -> Response:
        """Download a file item with its Content-Type and Content-Disposition"""
        item = queries.get_courseware_item(current_uow(), cohort_id, item_id)
        if item.kind != "file" or not item.file_sha256:
            raise NotFound("This courseware item is a link, not a file; open its url instead.")
        try:
            handle = _store().open(item.file_sha256)
        except FileNotFoundError as exc:
            raise NotFound(
                "The file of this courseware item is missing from storage; upload it again."
            ) from exc
        response = Response(_chunks(handle), content_type=item.content_type or "application/octet-stream")
        response.call_on_close(handle.close)  # also when the body is never read (HEAD, a client gone)
        response.headers["Content-Disposition"] = content_disposition(item.file_name or "courseware")
        if item.size_bytes is not None:
            response.headers["Content-Length"] = str(item.size_bytes)
        return response


def _chunks(handle: Blob) -> Iterator[bytes]:
    # piece by piece from the folder or the bucket: a large file is never held in memory
    with handle:
        while chunk := handle.read(CHUNK_SIZE):
            yield chunk


@blp.route("/cohorts/<cohort_id>/courseware/confirm")
class CoursewareConfirm(MethodView):
    @idempotent
    @roles_required("merchant")
    @blp.response(200, CoursewareOut)
    def post(self, cohort_id: str) -> dict[str, Any]:
        """The merchant confirms the courseware (assessments are accepted from then on)"""
        uow = current_uow()
        return queries.courseware_view(uow, courseware.decide_courseware(uow, cohort_id, confirm=True).id)


@blp.route("/cohorts/<cohort_id>/courseware/reject")
class CoursewareReject(MethodView):
    @idempotent
    @roles_required("merchant")
    @blp.arguments(CoursewareRejectIn)
    @blp.response(200, CoursewareOut)
    def post(self, body: dict[str, Any], cohort_id: str) -> dict[str, Any]:
        """The merchant rejects the courseware with a reason; the trainer revises it"""
        uow = current_uow()
        cohort = courseware.decide_courseware(uow, cohort_id, confirm=False, reason=body["reason"])
        return queries.courseware_view(uow, cohort.id)


# --- project training settings --------------------------------------------------------------------------


@blp.route("/projects/<project_id>/training")
class ProjectTraining(MethodView):
    @roles_required(*READERS)
    @blp.response(200, ProjectTrainingOut)
    def get(self, project_id: str) -> dict[str, Any]:
        """A project's training: who assesses, training days, target, admitted and gap across cohorts"""
        return queries.project_training_view(current_uow(), project_id, _settings())

    @transactional
    @roles_required(*TRAINERS)
    @blp.arguments(ProjectTrainingPatch)
    @blp.response(200, ProjectTrainingOut)
    def patch(self, body: dict[str, Any], project_id: str) -> dict[str, Any]:
        """Set the project's training length (1–3 working days); open cohorts' end dates follow"""
        uow = current_uow()
        settings = _settings()
        project = cohorts.set_training_days(uow, project_id, body["training_days"], settings)
        return queries.project_training_view(uow, project.project_id, settings)


# --- retraining -----------------------------------------------------------------------------------------


@blp.route("/retrainings")
class Retrainings(MethodView):
    @roles_required(*READERS, "agent")
    @blp.arguments(RetrainingListArgs, location="query")
    @blp.response(200, RetrainingPage)
    def get(self, args: dict[str, Any]) -> Page:
        """Improvement training records (opened by upheld complaints or by QA findings), newest first
        (filters: project_id, agent_id, status, source); pass `next_after` back as `after` for the next
        page"""
        return queries.retraining_page(current_uow(), args)


@blp.route("/retrainings/<retraining_id>")
class RetrainingItem(MethodView):
    @roles_required(*READERS, "agent")
    @blp.response(200, RetrainingOut)
    def get(self, retraining_id: str) -> Any:
        """One retraining record"""
        return queries.get_retraining(current_uow(), retraining_id)


@blp.route("/retrainings/<retraining_id>/close")
class RetrainingClose(MethodView):
    @idempotent
    @roles_required(*TRAINERS)
    @blp.arguments(RetrainingCloseIn)
    @blp.response(200, RetrainingOut)
    def post(self, body: dict[str, Any], retraining_id: str) -> Any:
        """Close a retraining record with the trainer's note"""
        return retraining.close_retraining(current_uow(), retraining_id, body["note"])
