"""Request and response schemas of the recruitment API (marshmallow)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate

from services.recruitment import domain
from services.recruitment.csv_import import MAX_CITY, MAX_NAME, MAX_NOTES, CandidateInput
from shared.money import DecimalString
from shared.pagination import PageArgsSchema, page_response_schema
from shared.privacy import ContactField


class _Normalized(fields.String):
    """A string run through one of the domain's normalisers (phone, skill, shift, platform, category)."""

    def __init__(self, normalize: Callable[[str], str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.normalize = normalize

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return self.normalize(text)
        except domain.InvalidValue as exc:
            raise ValidationError(str(exc)) from None


def _between(low: Decimal, high: Decimal) -> Callable[[Decimal], None]:
    """A range check apispec does not try to render (it cannot JSON-encode Decimal bounds for /docs)."""

    def check(value: Decimal) -> None:
        if not low <= value <= high:
            raise ValidationError(f"Must be between {low} and {high}.")

    return check


def _tags(normalize: Callable[[str], str], required: bool, description: str) -> fields.List:
    return fields.List(
        _Normalized(normalize),
        required=required,
        validate=validate.Length(min=1 if required else 0, max=20),
        metadata={"description": description},
    )


class CandidateIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=MAX_NAME))
    phone = _Normalized(
        domain.normalize_phone,
        required=True,
        metadata={"description": "Chinese mobile number; stored as 11 digits (+86 and separators dropped)"},
    )
    skills = _tags(domain.normalize_skill, True, "presale and/or aftersale (售前/售后)")
    categories = _tags(domain.normalize_category, False, "product categories worked on (lower-cased)")
    platforms = _tags(domain.normalize_platform, False, "platforms worked on: taobao (incl. Tmall), jd …")
    basic_training_passed = fields.Boolean(
        required=True, metadata={"description": "finished basic customer-service training and passed it"}
    )
    basic_score = DecimalString(
        places=2,
        required=True,
        validate=_between(Decimal(0), Decimal(100)),
        metadata={"description": "basic training score 0–100"},
    )
    shifts_available = _tags(domain.normalize_shift, True, "morning (8–16), afternoon (16–24), night (0–8)")
    city = fields.String(allow_none=True, validate=validate.Length(max=MAX_CITY))
    experience_months = fields.Integer(load_default=0, validate=validate.Range(min=0, max=600))
    notes = fields.String(allow_none=True, validate=validate.Length(max=MAX_NOTES))

    @post_load
    def _to_input(self, data: dict[str, Any], **_kwargs: Any) -> Any:
        if self.partial:
            return {k: domain.unique(v) if isinstance(v, list) else v for k, v in data.items()}
        for key in ("skills", "categories", "platforms", "shifts_available"):
            data[key] = domain.unique(data.get(key) or [])
        return CandidateInput(**data)


class CandidatePatch(CandidateIn):
    status = fields.String(
        validate=validate.OneOf([domain.CandidateStatus.AVAILABLE, domain.CandidateStatus.INACTIVE]),
        metadata={"description": "operations may only move a candidate between available and inactive"},
    )


class CandidateOut(Schema):
    id = fields.String()
    name = fields.String()
    phone = ContactField(owner="id")
    skills = fields.List(fields.String())
    categories = fields.List(fields.String())
    platforms = fields.List(fields.String())
    basic_training_passed = fields.Boolean()
    basic_score = fields.Float()
    shifts_available = fields.List(fields.String())
    status = fields.String(metadata={"description": "available, matched, in_training, assigned or inactive"})
    city = fields.String(allow_none=True)
    experience_months = fields.Integer()
    notes = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class HistoryEntryOut(Schema):
    project_id = fields.String()
    requisition_id = fields.String()
    skill = fields.String()
    score = fields.Float()
    matched_at = fields.DateTime()
    outcome = fields.String(
        metadata={"description": "matched, in_training, admitted, not_admitted, released"}
    )
    outcome_at = fields.DateTime(allow_none=True)
    cohort_id = fields.String(allow_none=True)


class CandidateDetailOut(CandidateOut):
    history = fields.List(fields.Nested(HistoryEntryOut), metadata={"description": "newest first"})


class CandidateListArgs(PageArgsSchema):
    skill = fields.String(validate=validate.OneOf(domain.SKILLS))
    category = fields.String(validate=validate.Length(min=1, max=40))
    platform = fields.String(validate=validate.Length(min=1, max=40))
    shift = fields.String(validate=validate.OneOf(domain.SHIFTS))
    status = fields.String(validate=validate.OneOf([s.value for s in domain.CandidateStatus]))
    basic_training_passed = fields.Boolean()
    city = fields.String(validate=validate.Length(min=1, max=MAX_CITY))
    min_score = DecimalString(
        validate=_between(Decimal(0), Decimal(100)), metadata={"description": "basic_score at least (0–100)"}
    )
    q = fields.String(
        validate=validate.Length(min=1, max=100), metadata={"description": "text in name, phone or notes"}
    )


CandidatePage = page_response_schema(CandidateOut, "CandidatePage")


class ImportArgs(Schema):
    dry_run = fields.Boolean(
        load_default=False, metadata={"description": "validate and count only; nothing is written"}
    )


class ToppedUpOut(Schema):
    requisition_id = fields.String()
    project_id = fields.String()
    newly_matched = fields.Integer()
    status = fields.String()


class ImportResultOut(Schema):
    dry_run = fields.Boolean()
    rows = fields.Integer(metadata={"description": "candidate rows in the file"})
    created = fields.Integer()
    updated = fields.Integer(metadata={"description": "rows whose phone was already in the pool"})
    topped_up = fields.List(fields.Nested(ToppedUpOut), metadata={"description": "short requisitions filled"})


class MatchOut(Schema):
    candidate_id = fields.String()
    name = fields.Function(lambda m: m.candidate.name)
    phone = ContactField(attribute="candidate.phone", owner="candidate_id")
    skill = fields.String(metadata={"description": "the skill slot filled"})
    score = fields.Float(metadata={"description": "the ranking score when matched"})
    rank = fields.Integer()
    matched_at = fields.DateTime()
    outcome = fields.String()
    outcome_at = fields.DateTime(allow_none=True)
    cohort_id = fields.String(allow_none=True)


class RequisitionOut(Schema):
    id = fields.String()
    project_id = fields.String()
    merchant_id = fields.String(allow_none=True)
    reason = fields.String(
        metadata={"description": "project_confirmed, training_shortfall, reserve_shortfall or surge"}
    )
    cohort_id = fields.String(allow_none=True)
    seats = fields.Integer()
    ratio = fields.Float()
    target = fields.Integer(metadata={"description": "ceil(seats × ratio)"})
    matched = fields.Integer()
    shortfall = fields.Integer()
    due_date = fields.Date()
    status = fields.String(metadata={"description": "filled, short, overdue or closed"})
    created_at = fields.DateTime()
    overdue_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    matches = fields.List(fields.Nested(MatchOut))


class RequisitionListArgs(PageArgsSchema):
    project_id = fields.String(validate=validate.Length(min=1, max=64))
    status = fields.String(validate=validate.OneOf([s.value for s in domain.RequisitionStatus]))
    reason = fields.String(validate=validate.OneOf([r.value for r in domain.RequisitionReason]))


RequisitionPage = page_response_schema(RequisitionOut, "RequisitionPage")


class RematchOut(Schema):
    newly_matched = fields.Integer()
    requisition = fields.Nested(RequisitionOut)


class ServiceHoursOut(Schema):
    start = fields.String(allow_none=True)
    end = fields.String(allow_none=True)


class ProjectOut(Schema):
    project_id = fields.String()
    merchant_id = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "pending (not confirmed yet), confirmed or closed"})
    seats = fields.Integer(allow_none=True)
    service_type = fields.String(allow_none=True)
    service_hours = fields.Function(lambda p: {"start": p.hours_start, "end": p.hours_end})
    shifts_needed = fields.Function(lambda p: domain.project_shifts(p.hours_start, p.hours_end))
    platform = fields.String(allow_none=True)
    categories = fields.List(fields.String())
    match_ratio = fields.Float(allow_none=True, metadata={"description": "this project's override, if any"})
    go_live_date = fields.Date(allow_none=True)
    confirmed_on = fields.Date(allow_none=True)


class ProjectPatch(Schema):
    match_ratio = DecimalString(
        places=2,
        allow_none=True,
        validate=_between(Decimal("0.5"), Decimal(10)),
        metadata={"description": "candidates per seat for this project, 0.5–10 (null: the default setting)"},
    )
    platform = _Normalized(domain.normalize_platform, allow_none=True)
    categories = _tags(domain.normalize_category, False, "the merchant's product categories (ranking bonus)")
