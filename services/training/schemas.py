"""Request and response schemas of the training API (marshmallow)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from services.training.domain import (
    MAX_TRAINING_DAYS,
    MIN_TRAINING_DAYS,
    CohortStatus,
    CoursewareStatus,
    Topic,
    TraineeStatus,
)
from shared.money import DecimalString
from shared.pagination import PageArgsSchema, page_response_schema
from shared.privacy import ContactField

MAX_BULK_ROWS = 2000


class Score(fields.Field):
    """A score 0–100 with at most two decimals; a JSON number only (``"85"`` or ``true`` is refused)."""

    default_error_messages = {
        "invalid": "Must be a number (not a string or boolean).",
        "range": "Must be between 0 and 100.",
        "places": "At most two decimal places.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        try:
            number = Decimal(str(value))
        except InvalidOperation as exc:  # pragma: no cover - str(int|float) always parses
            raise self.make_error("invalid") from exc
        if not number.is_finite():
            raise self.make_error("invalid")
        if not Decimal(0) <= number <= Decimal(100):
            raise self.make_error("range")
        if number != number.quantize(Decimal("0.01")):
            raise self.make_error("places")
        return number.quantize(Decimal("0.01"))

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> float | None:
        return None if value is None else float(value)

    def _jsonschema_type_mapping(self) -> dict[str, Any]:  # pragma: no cover - docs only
        return {"type": "number", "minimum": 0, "maximum": 100}


def _enum(values: Any) -> validate.OneOf:
    return validate.OneOf([v.value for v in values])


# --- cohorts -----------------------------------------------------------------------------------------------


class CohortListArgs(PageArgsSchema):
    project_id = fields.String(validate=validate.Length(min=1, max=64))
    status = fields.String(validate=_enum(CohortStatus))
    merchant_id = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "vendor side only; a merchant always sees its own"},
    )


class TraineeOut(Schema):
    id = fields.String()
    candidate_id = fields.String()
    name = fields.String()
    phone = ContactField(allow_none=True, owner="candidate_id")
    skills = fields.List(fields.String())
    shifts_available = fields.List(fields.String())
    basic_score = Score(allow_none=True)
    enrolment_seq = fields.Integer(metadata={"description": "order of enrolment in the cohort (ties)"})
    enrolled_at = fields.DateTime()
    status = fields.String(metadata={"description": ", ".join(s.value for s in TraineeStatus)})
    quiz_score = Score(allow_none=True)
    simulation_score = Score(allow_none=True)
    combined_score = Score(allow_none=True)
    trainer_passed = fields.Boolean(allow_none=True)
    merchant_passed = fields.Boolean(allow_none=True)
    notes = fields.String(allow_none=True)
    merchant_notes = fields.String(allow_none=True)
    verdict = fields.String(metadata={"description": "passed | failed | pending (by the pass rule)"})
    verdict_reasons = fields.List(fields.String())
    assessed_at = fields.DateTime(allow_none=True)
    rank = fields.Integer(allow_none=True)
    admitted_at = fields.DateTime(allow_none=True)
    withdrawn_at = fields.DateTime(allow_none=True)
    withdrawal_reason = fields.String(allow_none=True)


class CohortOut(Schema):
    id = fields.String()
    project_id = fields.String()
    merchant_id = fields.String(allow_none=True)
    company_name = fields.String(allow_none=True)
    sequence = fields.Integer(metadata={"description": "1 = the project's first cohort, 2+ = follow-ups"})
    status = fields.String(metadata={"description": ", ".join(s.value for s in CohortStatus)})
    target = fields.Integer(metadata={"description": "admitted agents this cohort may deliver (2 × seats)"})
    admitted = fields.Integer()
    enrolled = fields.Integer()
    assessor = fields.String(allow_none=True)
    training_days = fields.Integer()
    start_date = fields.Date()
    end_date = fields.Date()
    completion_due = fields.Date(metadata={"description": "the periodic job completes the cohort on it"})
    pass_mark_quiz = Score()
    pass_mark_simulation = Score()
    courseware_status = fields.String(metadata={"description": ", ".join(s.value for s in CoursewareStatus)})
    courseware_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)
    shortfall = fields.Integer(allow_none=True)


class CohortDetailOut(CohortOut):
    trainees = fields.List(fields.Nested(TraineeOut))


CohortPage = page_response_schema(CohortOut, "CohortPage")


class ProgressOut(Schema):
    cohort_id = fields.String()
    status = fields.String()
    enrolled = fields.Integer(metadata={"description": "trainees ever enrolled (withdrawn included)"})
    assessed = fields.Integer(metadata={"description": "trainees with both scores recorded"})
    passed = fields.Integer(metadata={"description": "met the pass rule (admitted and waitlisted included)"})
    failed = fields.Integer()
    admitted = fields.Integer()
    waitlisted = fields.Integer()
    withdrawn = fields.Integer()
    target = fields.Integer()
    gap = fields.Integer(metadata={"description": "target − admitted"})


class TraineeListArgs(PageArgsSchema):
    status = fields.String(validate=_enum(TraineeStatus))


TraineePage = page_response_schema(TraineeOut, "TraineePage")


# --- assessments -------------------------------------------------------------------------------------------


class AssessmentIn(Schema):
    """Every field is optional: the trainer sends scores and its verdict, the merchant its own verdict."""

    quiz_score = Score(allow_none=True, metadata={"description": "online quiz 0–100 (trainer)"})
    simulation_score = Score(allow_none=True, metadata={"description": "simulated reception 0–100 (trainer)"})
    trainer_passed = fields.Boolean(allow_none=True, metadata={"description": "trainer/vendor only"})
    merchant_passed = fields.Boolean(
        allow_none=True, metadata={"description": "the project's merchant only (merchant-assessed projects)"}
    )
    notes = fields.String(allow_none=True, validate=validate.Length(max=2000))

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data:
            raise ValidationError(
                "Send at least one of quiz_score, simulation_score, trainer_passed, merchant_passed, notes."
            )


class AssessmentRowIn(AssessmentIn):
    candidate_id = fields.String(required=True, validate=validate.Length(min=1, max=64))

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **kwargs: Any) -> None:
        if len(data) <= 1 and "candidate_id" in data:
            raise ValidationError(
                "Send at least one of quiz_score, simulation_score, trainer_passed, merchant_passed, notes."
            )


class BulkAssessmentIn(Schema):
    assessments = fields.List(
        fields.Nested(AssessmentRowIn),
        required=True,
        validate=validate.Length(min=1, max=MAX_BULK_ROWS),
    )


class BulkAssessmentOut(Schema):
    cohort_id = fields.String()
    recorded = fields.Integer()
    trainees = fields.List(fields.Nested(TraineeOut))


class WithdrawIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))

    @pre_load
    def _strip(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("reason"), str):
            data = {**data, "reason": data["reason"].strip()}
        return data


class WithdrawOut(Schema):
    trainee = fields.Nested(TraineeOut)
    promoted = fields.Nested(TraineeOut, allow_none=True, metadata={"description": "admitted in their place"})
    shortfall = fields.Integer(metadata={"description": "places left open (training.shortfall emitted)"})


# --- courseware ----------------------------------------------------------------------------------------


class CoursewareLinkIn(Schema):
    kind = fields.String(load_default="link", validate=validate.OneOf(["link", "file"]))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    topics = fields.List(fields.String(validate=_enum(Topic)), required=True, validate=validate.Length(min=1))
    url = fields.Url(schemes={"http", "https"}, validate=validate.Length(max=2000))
    description = fields.String(allow_none=True, validate=validate.Length(max=4000))

    @validates_schema
    def _link_needs_url(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("kind") == "file":
            raise ValidationError(
                "A file item is uploaded as multipart/form-data (fields kind=file, title, topics, file).",
                "kind",
            )
        if not data.get("url"):
            raise ValidationError("A link item needs its url (http or https).", "url")


class CoursewareFileFormIn(Schema):
    """The form fields of a multipart file upload (``topics`` comma-separated or repeated)."""

    kind = fields.String(load_default="file", validate=validate.OneOf(["file"]))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    topics = fields.List(fields.String(validate=_enum(Topic)), required=True, validate=validate.Length(min=1))
    description = fields.String(allow_none=True, validate=validate.Length(max=4000))


class CoursewareItemOut(Schema):
    id = fields.String()
    kind = fields.String()
    title = fields.String()
    topics = fields.List(fields.String())
    description = fields.String(allow_none=True)
    url = fields.String(allow_none=True)
    file_name = fields.String(allow_none=True)
    content_type = fields.String(allow_none=True)
    size_bytes = fields.Integer(allow_none=True)
    sha256 = fields.String(attribute="file_sha256", allow_none=True)
    created_at = fields.DateTime()
    created_by = fields.String()


class CoursewareOut(Schema):
    cohort_id = fields.String()
    status = fields.String(metadata={"description": ", ".join(s.value for s in CoursewareStatus)})
    reason = fields.String(allow_none=True, metadata={"description": "the merchant's last rejection reason"})
    decided_at = fields.DateTime(allow_none=True)
    decided_by = fields.String(allow_none=True)
    topics = fields.List(fields.String(), metadata={"description": "every topic the courseware can cover"})
    topics_missing = fields.List(fields.String(), metadata={"description": "topics no item covers yet"})
    items = fields.List(fields.Nested(CoursewareItemOut))
    sources = fields.Dict(
        metadata={"description": "the project's FAQ and materials from project.confirmed (faq, materials)"}
    )


class CoursewareRejectIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


# --- project training settings ------------------------------------------------------------------------


class ProjectTrainingOut(Schema):
    project_id = fields.String()
    merchant_id = fields.String(allow_none=True)
    company_name = fields.String(allow_none=True)
    confirmed = fields.Boolean(metadata={"description": "project.confirmed received"})
    closed = fields.Boolean()
    seats = fields.Integer(allow_none=True)
    trainer = fields.String(allow_none=True)
    assessor = fields.String(allow_none=True)
    training_days = fields.Integer()
    target = fields.Integer(metadata={"description": "admitted agents the project needs (2 × seats)"})
    admitted = fields.Integer()
    gap = fields.Integer()
    cohorts = fields.Integer()


class ProjectTrainingPatch(Schema):
    training_days = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=MIN_TRAINING_DAYS, max=MAX_TRAINING_DAYS)
    )


# --- retraining -----------------------------------------------------------------------------------------


class RetrainingListArgs(PageArgsSchema):
    project_id = fields.String(validate=validate.Length(min=1, max=64))
    agent_id = fields.String(validate=validate.Length(min=1, max=64))
    status = fields.String(validate=validate.OneOf(["open", "closed"]))
    source = fields.String(
        validate=validate.OneOf(["complaint", "qa"]),
        metadata={"description": "complaint: opened by an upheld complaint; qa: by QA review findings"},
    )


class QaFindingOut(Schema):
    review_id = fields.String()
    date = fields.String(allow_none=True, metadata={"description": "the reviewed conversation's day"})
    conversation_id = fields.String(allow_none=True)
    method = fields.String(allow_none=True)
    percent = fields.String(allow_none=True, metadata={"description": "the review's score in percent"})
    problems = fields.List(fields.String())
    good_cases = fields.List(fields.String())


class RetrainingOut(Schema):
    id = fields.String()
    source = fields.String(metadata={"description": "complaint or qa"})
    complaint_id = fields.String(allow_none=True)
    complaint_number = fields.String(allow_none=True)
    project_id = fields.String()
    merchant_id = fields.String(allow_none=True)
    agent_id = fields.String()
    agent_name = fields.String(allow_none=True)
    penalty = DecimalString(places=2, allow_none=True)
    findings = fields.List(
        fields.Nested(QaFindingOut),
        allow_none=True,
        metadata={"description": "a qa record's review findings, oldest first"},
    )
    status = fields.String()
    opened_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    closed_by = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


RetrainingPage = page_response_schema(RetrainingOut, "RetrainingPage")


class RetrainingCloseIn(Schema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=4000))
