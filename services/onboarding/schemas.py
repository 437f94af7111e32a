"""Request and response schemas of the onboarding API (marshmallow 4).

A project is written and read in the contract's nested shape (``merchant{…}``, ``service{…, hours{…}}``,
``metrics{…}``, ``training{…}``, ``qa{…}``); drafts may be partial, so every field is optional on write, and
``null`` (or an empty string) clears a field. Unknown fields are refused (422), so a typo never silently
drops a value.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from webargs.fields import DelimitedList

from services.onboarding import domain
from shared.money import DECIMAL_PATTERN, Money
from shared.pagination import PageArgsSchema
from shared.tabular import LangArgs
from shared.web import current_clock
from shared.workdays import today_shanghai

SERVICE_TYPES = ("presale", "aftersale", "both")
SIDES = ("vendor", "merchant")
STATUSES = tuple(s.value for s in domain.Status)

# --- custom fields ---------------------------------------------------------------------------------------


class Text(fields.String):
    """A trimmed string; blank becomes ``None`` (clears the field), longer than ``max_length`` is refused."""

    def __init__(self, *, max_length: int, **kwargs: Any) -> None:
        kwargs.setdefault("allow_none", True)
        kwargs["metadata"] = {"maxLength": max_length, **(kwargs.get("metadata") or {})}
        super().__init__(**kwargs)
        self.max_length = max_length

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:  # type: ignore[override]
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            return None
        if len(text) > self.max_length:
            raise ValidationError(f"Must be at most {self.max_length} characters (got {len(text)}).")
        return text


class Phone(Text):
    """A Chinese mobile (13812345678, +86 138-1234-5678), landline with area code (021-12345678,
    0755-87654321-808) or 400/800 number."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {"example": "13812345678", **(kwargs.get("metadata") or {})}
        super().__init__(max_length=40, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:  # type: ignore[override]
        text = super()._deserialize(value, attr, data, **kwargs)
        if text is not None and domain.normalize_phone(text) is None:
            raise ValidationError(
                f"{text!r} is not a Chinese phone number: give an 11-digit mobile (13812345678), a landline "
                "with its area code (021-12345678) or a 400/800 number."
            )
        return text


class Percent(fields.Field[Decimal]):
    """A percentage 0-100 with at most two decimals, e.g. ``"3.5"`` or ``98`` (= 98 %); dumped as a string."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_none", True)
        kwargs["metadata"] = {
            "type": "string",
            "pattern": DECIMAL_PATTERN,
            "example": "3.50",
            **(kwargs.get("metadata") or {}),
        }
        super().__init__(**kwargs)

    def _serialize(self, value: Decimal | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else format(value, "f")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValidationError('Must be a percentage between 0 and 100, such as "3.5".')
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValidationError(
                f"{value!r} is not a number; give a percentage between 0 and 100."
            ) from None
        if not number.is_finite() or number < 0 or number > 100:
            raise ValidationError(f"Must be a percentage between 0 and 100, got {value!r}.")
        if number != number.quantize(Decimal("0.01")):
            raise ValidationError(f"At most two decimal places, got {value!r}.")
        return number.quantize(Decimal("0.01"))


class FutureDate(fields.Date):
    """An ISO date that is not in the past (Asia/Shanghai)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        day = super()._deserialize(value, attr, data, **kwargs)
        today = today_shanghai(current_clock()())
        if day < today:
            raise ValidationError(
                f"{day.isoformat()} is in the past; today is {today.isoformat()} (Shanghai)."
            )
        return day


def _count(maximum: int, minimum: int = 0) -> fields.Integer:
    return fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=minimum, max=maximum))


# --- project, write side ---------------------------------------------------------------------------------


class MerchantIn(Schema):
    company_name = Text(max_length=200, metadata={"description": "公司名称"})
    contact_name = Text(max_length=100, metadata={"description": "联系人"})
    contact_phone = Phone()
    liaison = Text(max_length=100, metadata={"description": "对接人: who the vendor deals with"})


class HoursIn(Schema):
    start = fields.String(required=True, metadata={"example": "09:00"})
    end = fields.String(required=True, metadata={"example": "24:00"})
    overnight = fields.Boolean(
        load_default=False, metadata={"description": "true when the hours cross midnight (20:00 → 02:00)"}
    )

    @validates_schema
    def _check(self, data: dict[str, Any], **_kwargs: Any) -> None:
        problem = domain.hours_problem(data["start"], data["end"], data.get("overnight", False))
        if problem:
            field = "start" if problem.startswith("start") else "end"
            raise ValidationError(problem, field)


class ServiceIn(Schema):
    type = fields.String(allow_none=True, validate=validate.OneOf(SERVICE_TYPES))
    hours = fields.Nested(HoursIn, allow_none=True)
    seats = _count(10_000, 1)
    platform = Text(max_length=50, metadata={"example": "taobao"})


class MetricsIn(Schema):
    daily_consultations = _count(10_000_000)
    first_response_seconds = _count(3600, 1)
    avg_response_seconds = _count(3600, 1)
    conversion_rate = Percent(metadata={"description": "percent 0-100"})
    avg_order_value = Money(allow_none=True, maximum="9999999999.99", metadata={"description": "客单价, CNY"})
    satisfaction_rate = Percent(metadata={"description": "percent 0-100"})


class TrainingIn(Schema):
    trainer = fields.String(allow_none=True, validate=validate.OneOf(SIDES))
    assessor = fields.String(allow_none=True, validate=validate.OneOf(SIDES))
    requirements = Text(max_length=5000)


class QaIn(Schema):
    merchant_standard = fields.Boolean(allow_none=True)
    standard = Text(max_length=10_000)


class MaterialsStatusIn(Schema):
    complete = fields.Boolean(
        allow_none=True, metadata={"description": "the merchant says the uploaded materials are complete"}
    )
    supplement = Text(max_length=5000, metadata={"description": "what must be supplemented (vendor)"})
    supplement_due = FutureDate(allow_none=True, metadata={"description": "by which date"})


class ProjectIn(Schema):
    """A project's fields; all optional (drafts may be partial)."""

    merchant = fields.Nested(MerchantIn, allow_none=True)
    service = fields.Nested(ServiceIn, allow_none=True)
    metrics = fields.Nested(MetricsIn, allow_none=True)
    training = fields.Nested(TrainingIn, allow_none=True)
    go_live_date = FutureDate(allow_none=True)
    qa = fields.Nested(QaIn, allow_none=True)
    notes = Text(max_length=10_000, metadata={"description": "其他信息: anything else the merchant asks for"})
    materials = fields.Nested(MaterialsStatusIn, allow_none=True)


class ProjectCreateIn(ProjectIn):
    merchant_id = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "required for the vendor; a merchant's token decides it for a merchant"},
    )


# --- project, read side ----------------------------------------------------------------------------------


class MerchantOut(Schema):
    company_name = fields.String(allow_none=True)
    contact_name = fields.String(allow_none=True)
    contact_phone = fields.String(allow_none=True)
    liaison = fields.String(allow_none=True)


class HoursOut(Schema):
    start = fields.String()
    end = fields.String()
    overnight = fields.Boolean()


class ServiceOut(Schema):
    type = fields.String(allow_none=True)
    hours = fields.Nested(HoursOut, allow_none=True)
    seats = fields.Integer(allow_none=True)
    platform = fields.String(allow_none=True)


class MetricsOut(Schema):
    daily_consultations = fields.Integer(allow_none=True)
    first_response_seconds = fields.Integer(allow_none=True)
    avg_response_seconds = fields.Integer(allow_none=True)
    conversion_rate = Percent()
    avg_order_value = Money(allow_none=True)
    satisfaction_rate = Percent()


class TrainingOut(Schema):
    trainer = fields.String(allow_none=True)
    assessor = fields.String(allow_none=True)
    requirements = fields.String(allow_none=True)


class QaOut(Schema):
    merchant_standard = fields.Boolean(allow_none=True)
    standard = fields.String(allow_none=True)


class MaterialsStatusOut(Schema):
    count = fields.Integer(metadata={"description": "files uploaded"})
    complete = fields.Boolean()
    supplement = fields.String(allow_none=True)
    supplement_due = fields.Date(allow_none=True)


class ChecklistProgressOut(Schema):
    complete = fields.Boolean(
        metadata={"description": "every section complete: the project can be submitted"}
    )
    sections_complete = fields.Integer()
    sections_total = fields.Integer()
    incomplete = fields.List(fields.String(), metadata={"description": "keys of the incomplete sections"})


class Dumped(dict[str, Any]):
    """A project already in ``ProjectOut``'s JSON shape (``queries.project_json``), which ``ProjectOut``
    dumps as it is. The reads (one project, a list page) build it directly: walking the schema's fields was
    a third of a list page's time. ``queries.project_json`` is kept equal to the schema's own dump by
    tests/unit/test_perf_reads_dump.py."""


class ProjectOut(Schema):
    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        if isinstance(obj, Dumped):
            return obj
        return super().dump(obj, many=many)

    id = fields.String()
    merchant_id = fields.String()
    status = fields.String(metadata={"enum": list(STATUSES)})
    version = fields.Integer(metadata={"description": "also the ETag; send it in If-Match to PATCH"})
    allowed_actions = fields.List(fields.String())
    merchant = fields.Nested(MerchantOut)
    service = fields.Nested(ServiceOut)
    metrics = fields.Nested(MetricsOut)
    training = fields.Nested(TrainingOut)
    go_live_date = fields.Date(allow_none=True)
    qa = fields.Nested(QaOut)
    notes = fields.String(allow_none=True)
    materials = fields.Nested(MaterialsStatusOut)
    return_reason = fields.String(allow_none=True)
    close_reason = fields.String(allow_none=True)
    created_by = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True)
    confirmed_at = fields.DateTime(allow_none=True)
    confirmed_by = fields.String(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    checklist_progress = fields.Nested(
        ChecklistProgressOut,
        metadata={"description": "in the list only, with with_checklist=true: the checklist's sections done"},
    )


class ProjectListArgs(PageArgsSchema):
    with_checklist = fields.Boolean(
        load_default=False,
        metadata={"description": "add each project's checklist_progress (sections complete of seven)"},
    )
    status = DelimitedList(
        fields.String(validate=validate.OneOf(STATUSES)),
        metadata={"description": "one or more, comma-separated"},
    )
    merchant = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "merchant_id"})
    go_live_from = fields.Date(metadata={"description": "go-live on or after"})
    go_live_to = fields.Date(metadata={"description": "go-live on or before"})
    q = fields.String(
        validate=validate.Length(min=1, max=100), metadata={"description": "in the company name"}
    )

    @validates_schema
    def _range(self, data: dict[str, Any], **_kwargs: Any) -> None:
        start, end = data.get("go_live_from"), data.get("go_live_to")
        if start and end and start > end:
            raise ValidationError("go_live_to must not be before go_live_from.", "go_live_to")


class ActorOut(Schema):
    sub = fields.String()
    role = fields.String()


class HistoryOut(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.Nested(ActorOut)
    action = fields.String()
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    changes = fields.Dict(allow_none=True, metadata={"description": "{field: {from, to}}"})
    reason = fields.String(allow_none=True)


# --- transitions -----------------------------------------------------------------------------------------


class ReasonIn(Schema):
    reason = Text(max_length=2000)


class ReturnIn(Schema):
    reason = Text(
        max_length=2000,
        allow_none=False,
        required=True,
        metadata={"description": "what the merchant must change before submitting again"},
    )

    @validates_schema
    def _not_blank(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data.get("reason"):
            raise ValidationError("Say what the merchant must change.", "reason")


# --- checklist -------------------------------------------------------------------------------------------


class MissingItemOut(Schema):
    field = fields.String()
    message = fields.String()


class SectionOut(Schema):
    key = fields.String()
    title = fields.String()
    complete = fields.Boolean()
    missing = fields.List(fields.Nested(MissingItemOut))


class FaqStatusOut(Schema):
    complete = fields.Boolean(
        metadata={"description": "every standard question answered or not applicable, and the shop's own"}
    )
    unanswered = fields.List(
        fields.String(), metadata={"description": "standard questions neither answered nor not applicable"}
    )
    not_applicable = fields.List(fields.String(), metadata={"description": "standard questions: 不适用"})
    own_questions = fields.Integer(metadata={"description": "the shop's own questions on the sheet"})
    min_own_questions = fields.Integer(metadata={"description": "how many of its own the sheet needs"})
    problems = fields.List(fields.String(), metadata={"description": "what the sheet still needs"})


class ChecklistOut(Schema):
    project_id = fields.String()
    status = fields.String()
    complete = fields.Boolean(
        metadata={"description": "every section complete: the project can be submitted"}
    )
    sections = fields.List(fields.Nested(SectionOut))
    reference_day = fields.Date(metadata={"description": "the day the go-live rule counts from"})
    min_go_live_workdays = fields.Integer()
    earliest_go_live_date = fields.Date()
    notes = fields.List(fields.String())
    faq = fields.Nested(FaqStatusOut, metadata={"description": "confirmation also needs every answer"})
    can_confirm = fields.Boolean()


# --- FAQ -------------------------------------------------------------------------------------------------


class StandardAnswerIn(Schema):
    key = fields.String(required=True, validate=validate.OneOf(domain.STANDARD_KEYS))
    answer = Text(max_length=5000)
    not_applicable = fields.Boolean(
        load_default=False,
        metadata={"description": "the question does not apply to this shop (不适用); then no answer"},
    )
    # what GET returns beside the answer may be sent back unchanged; it is ignored
    question = fields.Raw(load_only=True)
    label = fields.Raw(load_only=True)
    group = fields.Raw(load_only=True)
    hint = fields.Raw(load_only=True)
    answered = fields.Raw(load_only=True)
    not_applicable_by = fields.Raw(load_only=True, allow_none=True)
    not_applicable_by_role = fields.Raw(load_only=True, allow_none=True)
    not_applicable_at = fields.Raw(load_only=True, allow_none=True)

    @validates_schema
    def _answer_or_not_applicable(self, data: dict[str, Any], **_kwargs: Any) -> None:
        problem = domain.not_applicable_problem(data.get("answer"), data.get("not_applicable", False))
        if problem:
            raise ValidationError(problem, "answer")


class CustomQuestionIn(Schema):
    question = Text(max_length=500, allow_none=False, required=True)
    answer = Text(max_length=5000)


class FaqIn(Schema):
    """The whole sheet (PUT replaces it): a standard key left out is unanswered."""

    standard = fields.List(fields.Nested(StandardAnswerIn), load_default=list)
    custom = fields.List(
        fields.Nested(CustomQuestionIn), load_default=list, validate=validate.Length(max=200)
    )

    @validates_schema
    def _unique(self, data: dict[str, Any], **_kwargs: Any) -> None:
        keys = [item["key"] for item in data.get("standard", [])]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValidationError(f"Each question once; repeated: {', '.join(dupes)}.", "standard")


class StandardAnswerOut(Schema):
    key = fields.String()
    question = fields.String(metadata={"description": "the seed's wording (Chinese)"})
    label = fields.String()
    group = fields.String(metadata={"description": "faq (seed 004) or script (festival scripts, seed 003)"})
    hint = fields.String()
    answer = fields.String(allow_none=True)
    answered = fields.Boolean()
    not_applicable = fields.Boolean(metadata={"description": "marked as not applying to this shop"})
    not_applicable_by = fields.String(allow_none=True, metadata={"description": "who marked it (token sub)"})
    not_applicable_by_role = fields.String(allow_none=True, metadata={"description": "merchant or vendor …"})
    not_applicable_at = fields.DateTime(allow_none=True)


class CustomQuestionOut(Schema):
    question = fields.String()
    answer = fields.String(allow_none=True)


class FaqOut(Schema):
    project_id = fields.String()
    version = fields.Integer(metadata={"description": 'also the ETag ("faq-N") for If-Match on PUT'})
    complete = fields.Boolean(
        metadata={"description": "every standard question answered or not applicable, and the shop's own"}
    )
    unanswered = fields.List(fields.String())
    not_applicable = fields.List(fields.String())
    own_questions = fields.Integer(metadata={"description": "the shop's own questions (custom)"})
    min_own_questions = fields.Integer()
    problems = fields.List(fields.String(), metadata={"description": "what the sheet still needs"})
    standard = fields.List(fields.Nested(StandardAnswerOut))
    custom = fields.List(fields.Nested(CustomQuestionOut))


class ExportArgs(LangArgs):
    format = fields.String(
        validate=validate.OneOf(("csv", "xlsx", "md")),
        metadata={"description": "csv (UTF-8 with BOM), xlsx or md; without it the Accept header decides "
                  "between csv and xlsx, CSV by default"},
    )  # fmt: skip


# --- materials -------------------------------------------------------------------------------------------


class UploadIn(Schema):
    file = Upload(required=True, metadata={"description": "the file (multipart/form-data)"})


class MaterialOut(Schema):
    id = fields.String()
    project_id = fields.String()
    filename = fields.String()
    kind = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_by = fields.String()
    uploaded_by_role = fields.String()
    uploaded_at = fields.DateTime()
    download_path = fields.String()
