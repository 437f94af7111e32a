"""Marshmallow schemas of the alerts API (通知): channels, alerts and their deliveries."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.scheduling.alerts import (
    ALERT_KINDS,
    ALERT_STATUSES,
    AUDIENCES,
    CHANNEL_TYPES,
    DELIVERY_STATUSES,
    MESSAGE_FORMATS,
    TEST_KIND,
    channel_shape_problems,
)
from services.scheduling.schemas import ID_LENGTH as _ID
from shared.pagination import PageArgsSchema, page_response_schema

_URL = validate.And(
    validate.Length(max=2000),
    validate.URL(
        relative=False, schemes={"http", "https"}, require_tld=False, error="must be an http(s) URL"
    ),
)


def _channel_fields(*, for_create: bool) -> dict[str, fields.Field]:
    """The writable fields: required and defaulted on create, all optional on PATCH."""

    def opt(default: Any) -> dict[str, Any]:
        return {"load_default": default} if for_create else {}

    return {
        "name": fields.String(
            required=for_create,
            validate=validate.Length(min=1, max=100),
            metadata={"description": "shown in the console and in delivery history, e.g. 双11值班群"},
        ),
        "type": fields.String(
            required=for_create,
            validate=validate.OneOf(CHANNEL_TYPES),
            metadata={"description": "wecom (企业微信群机器人) | dingtalk (钉钉群机器人) | email"},
        ),
        "audience": fields.String(
            validate=validate.OneOf(AUDIENCES),
            metadata={"description": "whose alerts it receives: supervisor | vendor | merchant"},
            **opt("supervisor"),
        ),
        "project_id": fields.String(
            allow_none=True,
            validate=_ID,
            metadata={
                "description": "the project; null: vendor-wide (every project's alerts of the audience)"
            },
            **opt(None),
        ),
        "kinds": fields.List(
            fields.String(validate=validate.OneOf(ALERT_KINDS)),
            validate=validate.Length(max=len(ALERT_KINDS)),
            metadata={"description": "alert kinds it receives; empty: every kind"},
            **opt(list),
        ),
        "enabled": fields.Boolean(**opt(True)),
        "webhook_url": fields.String(
            allow_none=True,
            validate=_URL,
            metadata={
                "description": "wecom/dingtalk: the robot's webhook (…/cgi-bin/webhook/send?key=… or "
                "…/robot/send?access_token=…); shown masked. Sending back the masked value keeps it."
            },
            **opt(None),
        ),
        "secret": fields.String(
            allow_none=True,
            validate=validate.Length(min=1, max=200),
            metadata={
                "description": "dingtalk: the signing secret (加签, SEC…), required; shown masked. Sending "
                "back the masked value keeps it."
            },
            **opt(None),
        ),
        "recipients": fields.List(
            fields.Email(),
            validate=validate.Length(max=50),
            metadata={"description": "email: the addresses (at least one)"},
            **opt(list),
        ),
        "message_format": fields.String(
            validate=validate.OneOf(MESSAGE_FORMATS),
            metadata={"description": "robots: markdown | text"},
            **opt("markdown"),
        ),
    }


class _ChannelChecks(Schema):
    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _needs_of_the_type(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        """A new channel's type-dependent needs, reported with the fields' own errors (a PATCH is checked
        by the use case against the channel as it would become)."""
        if "type" not in data or "audience" not in data:
            return
        rejected = set(original) - set(data) if isinstance(original, dict) else set()
        problems = {k: v for k, v in channel_shape_problems(data).items() if k not in rejected}
        if problems:
            raise ValidationError(problems)


AlertChannelCreateSchema = _ChannelChecks.from_dict(
    _channel_fields(for_create=True), name="AlertChannelCreate"
)
AlertChannelUpdateSchema = Schema.from_dict(_channel_fields(for_create=False), name="AlertChannelUpdate")


class AlertChannelSchema(Schema):
    id = fields.String()
    project_id = fields.String(allow_none=True)
    name = fields.String()
    type = fields.String()
    audience = fields.String()
    kinds = fields.List(fields.String())
    enabled = fields.Boolean()
    webhook_url = fields.String(allow_none=True, metadata={"description": "masked: query values hidden"})
    secret = fields.String(allow_none=True, metadata={"description": "masked: first and last 4 characters"})
    has_secret = fields.Boolean()
    recipients = fields.List(fields.String())
    message_format = fields.String()
    created_by = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class AlertChannelArgsSchema(PageArgsSchema):
    project_id = fields.String(validate=_ID, metadata={"description": "that project's own channels"})
    vendor_wide = fields.Boolean(
        metadata={"description": "true: only vendor-wide channels; false: only projects' channels"}
    )
    type = fields.String(validate=validate.OneOf(CHANNEL_TYPES))
    audience = fields.String(validate=validate.OneOf(AUDIENCES))
    enabled = fields.Boolean()


AlertChannelPage = page_response_schema(AlertChannelSchema, "AlertChannelPage")


class DeliveryCountsSchema(Schema):
    pending = fields.Integer()
    sent = fields.Integer()
    failed = fields.Integer()


class AlertSchema(Schema):
    id = fields.String()
    kind = fields.String(metadata={"description": f"{' | '.join(ALERT_KINDS)} | {TEST_KIND}"})
    kind_label = fields.String(metadata={"description": "the kind in Chinese, e.g. 缺勤"})
    project_id = fields.String(allow_none=True)
    project_name = fields.String(allow_none=True, metadata={"description": "the merchant's company name"})
    audience = fields.String()
    title = fields.String()
    body = fields.String()
    data = fields.Dict(metadata={"description": "the facts behind the alert (ids, numbers)"})
    dedup_key = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    status = fields.String(
        metadata={
            "description": "failed (a delivery failed for good) | pending | sent (every delivery sent) | "
            "unrouted (no channel took it)"
        }
    )
    delivery_counts = fields.Nested(DeliveryCountsSchema)


class AlertDeliverySchema(Schema):
    id = fields.String()
    channel_id = fields.String(allow_none=True, metadata={"description": "null once the channel was deleted"})
    channel_type = fields.String()
    channel_name = fields.String()
    status = fields.String(metadata={"description": " | ".join(DELIVERY_STATUSES)})
    attempts = fields.Integer()
    next_attempt_at = fields.AwareDateTime(allow_none=True, metadata={"description": "while pending"})
    last_attempt_at = fields.AwareDateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    sent_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()


class AlertDetailSchema(AlertSchema):
    deliveries = fields.List(fields.Nested(AlertDeliverySchema))


class AlertArgsSchema(PageArgsSchema):
    project_id = fields.String(validate=_ID)
    kind = fields.String(validate=validate.OneOf((*ALERT_KINDS, TEST_KIND)))
    audience = fields.String(validate=validate.OneOf(AUDIENCES))
    status = fields.String(validate=validate.OneOf(ALERT_STATUSES))


AlertPage = page_response_schema(AlertSchema, "AlertPage")
