"""A test-only producer/consumer pair for the event bus tests (not a business service).

The ``bus.ping`` event is produced by ``busprod`` and consumed by ``busapp``; the handler records each
event it handles in ``pings`` (one row per event, with the envelope it saw), so a test can count
exactly-once. ``fail_times`` makes the handler fail that many times for an event before it succeeds;
``FAIL_ALWAYS`` makes it fail until a test "fixes" it.
"""

from __future__ import annotations

import threading
from pathlib import Path

from flask import Flask
from marshmallow import Schema, fields
from sqlalchemy import Integer, String, Text, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.db import new_metadata
from shared.events import catalogue
from shared.events.envelope import Envelope
from shared.service import ServiceSpec

EVENT = "bus.ping"
SERVICE = "busapp"


class PingData(Schema):
    seq = fields.Integer(required=True, strict=True)
    fail_times = fields.Integer(strict=True)
    poison = fields.Boolean()
    note = fields.String()


catalogue.register(catalogue.EventType(EVENT, 1, "busprod", (SERVICE,), PingData, "test-only"))


class Base(DeclarativeBase):
    metadata = new_metadata()


class Ping(Base):
    __tablename__ = "pings"
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, index=True)
    envelope: Mapped[str] = mapped_column(Text)


_lock = threading.Lock()
ATTEMPTS: dict[str, int] = {}
FAIL_ALWAYS: set[int] = set()


def handle_ping(session: Session, envelope: Envelope) -> None:
    seq = envelope.data["seq"]
    with _lock:
        ATTEMPTS[envelope.id] = ATTEMPTS.get(envelope.id, 0) + 1
        attempt = ATTEMPTS[envelope.id]
    if seq in FAIL_ALWAYS:
        raise RuntimeError(f"ping {seq} always fails")
    if attempt <= envelope.data.get("fail_times", 0):
        raise RuntimeError(f"ping {seq} fails on attempt {attempt}")
    session.add(Ping(event_id=envelope.id, seq=seq, envelope=envelope.to_json()))


def handled_seqs(session: Session) -> list[int]:
    return list(session.scalars(select(Ping.seq).order_by(Ping.seq)))


def _no_app(*_args: object, **_kwargs: object) -> Flask:
    raise NotImplementedError("the bus test service has no HTTP API")


SPEC = ServiceSpec(
    name=SERVICE,
    metadata=Base.metadata,
    create_app=_no_app,
    migrations_dir=Path(__file__).parent / "no-migrations",
    handlers={EVENT: handle_ping},
)
