"""A test-only producer/consumer pair for the event bus tests (not a business service).

The ``bus.ping`` event is produced by ``busprod`` and consumed by ``busapp``; the handler records each
event it handles in ``pings`` (one row per event, with the envelope it saw), so a test can count
exactly-once. ``fail_times`` makes the handler fail that many times for an event before it succeeds;
``FAIL_ALWAYS`` makes it fail until a test "fixes" it.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path

from flask import Flask
from marshmallow import Schema, fields
from sqlalchemy import Integer, String, Text, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.db import new_metadata
from shared.events import catalogue
from shared.events.envelope import Event
from shared.service import ServiceSpec
from shared.uow import UnitOfWork

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


def handle_ping(uow: UnitOfWork, event: Event) -> None:
    seq = event.data["seq"]
    with _lock:
        ATTEMPTS[event.id] = ATTEMPTS.get(event.id, 0) + 1
        attempt = ATTEMPTS[event.id]
    if seq in FAIL_ALWAYS:
        raise RuntimeError(f"ping {seq} always fails")
    if attempt <= event.data.get("fail_times", 0):
        raise RuntimeError(f"ping {seq} fails on attempt {attempt}")
    seen = {
        **dataclasses.asdict(event),
        "occurred_at": event.occurred_at.isoformat(),
        "data": dict(event.data),
    }
    uow.session.add(Ping(event_id=event.id, seq=seq, envelope=json.dumps(seen, ensure_ascii=False)))


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
