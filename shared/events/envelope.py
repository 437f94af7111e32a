"""The message envelope every event travels in (CONTRACT.md § Events).

``{"id", "type", "version", "occurred_at", "producer", "correlation_id", "data"}``; the routing key is the
type. ``build_envelope`` validates the data against the catalogue *before* anything is written, so an
unknown type or a malformed payload never reaches the outbox.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from shared.context import get_correlation_id
from shared.events.catalogue import get_event_type
from shared.events.errors import (  # noqa: F401  (re-exported: callers catch them from here)
    EventError,
    InvalidEnvelope,
    InvalidEventData,
    UnknownEventType,
)


def _to_json_value(value: Any) -> Any:
    """JSON for the types producers naturally hold: money stays a decimal string, dates ISO 8601."""
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetime in event data; use UTC-aware datetimes")
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot put a {type(value).__name__} into an event")


def to_json_data(data: Any) -> Any:
    """Normalise producer data into plain JSON values (a round trip, so the stored form is exact)."""
    try:
        return json.loads(json.dumps(data, default=_to_json_value, ensure_ascii=False))
    except (TypeError, ValueError) as exc:
        raise EventError(str(exc)) from exc


class EnvelopeSchema(Schema):
    id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.Length(min=1, max=100))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True)
    producer = fields.String(required=True, validate=validate.Length(min=1, max=50))
    correlation_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    data = fields.Dict(required=True)


_envelope_schema = EnvelopeSchema()


@dataclass(frozen=True)
class Envelope:
    id: str
    type: str
    version: int
    occurred_at: str
    producer: str
    correlation_id: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at,
            "producer": self.producer,
            "correlation_id": self.correlation_id,
            "data": self.data,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @property
    def routing_key(self) -> str:
        return self.type


def build_envelope(
    event_type: str,
    data: dict[str, Any],
    *,
    correlation_id: str | None = None,
    occurred_at: dt.datetime | None = None,
    event_id: str | None = None,
) -> Envelope:
    """A validated envelope; raises UnknownEventType / InvalidEventData before anything is stored."""
    spec = get_event_type(event_type)
    normalised = to_json_data(data)
    if not isinstance(normalised, dict):
        raise InvalidEventData(event_type, {"_schema": ["event data must be an object"]})
    spec.validate_outgoing(normalised)
    return Envelope(
        id=event_id or str(uuid.uuid4()),
        type=event_type,
        version=spec.version,
        occurred_at=(occurred_at or dt.datetime.now(dt.UTC)).isoformat(),
        producer=spec.producer,
        correlation_id=correlation_id or get_correlation_id() or str(uuid.uuid4()),
        data=normalised,
    )


def parse_envelope(body: bytes | str) -> Envelope:
    """Read an envelope off the wire; the data is checked separately against the catalogue."""
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidEnvelope(f"message body is not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidEnvelope("message body is not a JSON object")
    try:
        # unknown top-level keys are tolerated: a newer producer may add some
        _envelope_schema.load(raw, unknown="exclude")
    except ValidationError as exc:
        raise InvalidEnvelope(f"invalid envelope: {exc.messages}") from exc
    return Envelope(
        id=str(raw["id"]),
        type=raw["type"],
        version=raw["version"],
        occurred_at=raw["occurred_at"],
        producer=raw["producer"],
        correlation_id=raw["correlation_id"],
        data=raw["data"],
    )


@dataclass(frozen=True)
class Event:
    """An incoming event as a handler receives it: validated once, by the consumer, against the catalogue.

    ``data`` is the payload loaded by the event type's schema (datetimes and dates parsed, unknown fields
    dropped); ``occurred_at`` is an aware datetime.
    """

    id: str
    type: str
    version: int
    occurred_at: dt.datetime
    producer: str
    correlation_id: str
    data: Mapping[str, Any]


def receive(envelope: Envelope) -> Event:
    """Validate an envelope's data against the catalogue; raises UnknownEventType / InvalidEventData."""
    data = get_event_type(envelope.type).load_incoming(envelope.data)
    occurred_at = dt.datetime.fromisoformat(envelope.occurred_at)
    if occurred_at.tzinfo is None:  # the envelope schema demands an aware time; be safe for old rows
        occurred_at = occurred_at.replace(tzinfo=dt.UTC)
    return Event(
        id=envelope.id,
        type=envelope.type,
        version=envelope.version,
        occurred_at=occurred_at,
        producer=envelope.producer,
        correlation_id=envelope.correlation_id,
        data=data,
    )
