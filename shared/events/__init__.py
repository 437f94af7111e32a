"""The event bus: envelope, catalogue, transactional outbox, relay, idempotent consumer, topology."""

from shared.events.envelope import Envelope, build_envelope, parse_envelope
from shared.events.outbox import add_event

__all__ = ["Envelope", "add_event", "build_envelope", "parse_envelope"]
