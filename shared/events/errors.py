"""The errors raised while building or reading an event (kept apart so the catalogue and the envelope
both use them without importing each other's module in a cycle)."""

from __future__ import annotations

from typing import Any


class EventError(ValueError):
    """Base of the errors raised while building or reading an event."""


class UnknownEventType(EventError):
    pass


class InvalidEventData(EventError):
    def __init__(self, event_type: str, errors: dict[str, Any]) -> None:
        super().__init__(f"invalid data for event {event_type!r}: {errors}")
        self.event_type = event_type
        self.errors = errors


class InvalidEnvelope(EventError):
    pass
