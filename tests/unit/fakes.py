"""The fake unit of work of the unit tier: use cases run in milliseconds, without PostgreSQL or RabbitMQ.

The database is an in-memory SQLite with the service's tables (the product runs on SQLite too, so the
models are portable); the edge that is faked is the message bus: ``emit`` validates the event against the
catalogue exactly as the outbox does and keeps it in ``events`` instead of a table. The clock is fixed
(``advance`` moves it) and ``commit`` fails the test, because use cases never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import MetaData, create_engine
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool

from shared.db import platform_metadata
from shared.events.envelope import Envelope, build_envelope
from shared.uow import Actor, UnitOfWork

#: 2026-11-11 10:00 Asia/Shanghai — Double 11, the seed documents' festival.
DEFAULT_NOW = dt.datetime(2026, 11, 11, 2, 0, tzinfo=dt.UTC)


class FakeUnitOfWork(UnitOfWork):
    def __init__(
        self,
        metadata: MetaData,
        *,
        now: dt.datetime = DEFAULT_NOW,
        actor: Actor | None = None,
    ) -> None:
        engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
        platform_metadata.create_all(engine)
        metadata.create_all(engine)
        self.current = now
        super().__init__(
            sessionmaker(engine, expire_on_commit=False)(), clock=lambda: self.current, actor=actor
        )
        self.events: list[Envelope] = []

    def emit(
        self, event_type: str, data: Mapping[str, Any], *, correlation_id: str | None = None
    ) -> Envelope:
        envelope = build_envelope(
            event_type, dict(data), correlation_id=correlation_id, occurred_at=self.current
        )
        self.events.append(envelope)
        return envelope

    def emit_many(
        self, events: Sequence[tuple[str, Mapping[str, Any]]], *, correlation_id: str | None = None
    ) -> list[Envelope]:
        return [self.emit(t, d, correlation_id=correlation_id) for t, d in events]

    def emitted(self, event_type: str) -> list[dict[str, Any]]:
        """The data of the events of one type, in the order they were emitted."""
        return [envelope.data for envelope in self.events if envelope.type == event_type]

    def advance(self, **delta: float) -> dt.datetime:
        self.current += dt.timedelta(**delta)
        return self.current

    def commit(self) -> None:
        raise AssertionError("a use case committed: only entry points commit a unit of work")

    def close(self) -> None:
        self.session.close()
