"""The transactional outbox: events are rows written in the caller's own transaction.

A use case calls ``add_event(session, type, data)`` beside its domain writes; both commit or neither does.
The relay (``relay.py``) later publishes pending rows. A rolled-back transaction leaves no event behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from shared.db import UTCDateTime, platform_metadata, utcnow
from shared.events.envelope import Envelope, build_envelope

# SQLite only auto-increments an INTEGER PRIMARY KEY, PostgreSQL wants a bigint identity.
_BigId = BigInteger().with_variant(Integer(), "sqlite")

outbox = Table(
    "outbox",
    platform_metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    # not unique-indexed: ids are minted here as uuid4, and every index costs the relay's mark (an
    # UPDATE of a few hundred rows per batch); duplicates are absorbed by the consumers' inbox anyway
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("payload", Text, nullable=False),
    Column("correlation_id", String(100), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("published_at", UTCDateTime(), nullable=True),
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("next_attempt_at", UTCDateTime(), nullable=True),
    Column("last_error", Text, nullable=True),
)
# The relay's claim query reads only pending rows in id order; a partial index keeps it small forever.
Index(
    "ix_outbox_pending",
    outbox.c.id,
    postgresql_where=outbox.c.published_at.is_(None),
    sqlite_where=outbox.c.published_at.is_(None),
)
# The retention purge deletes published rows by age (``shared.migrate.create_platform_indexes_v2``).
Index(
    "ix_outbox_published_at",
    outbox.c.published_at,
    postgresql_where=outbox.c.published_at.isnot(None),
    sqlite_where=outbox.c.published_at.isnot(None),
)


def add_event(
    session: Session,
    event_type: str,
    data: dict[str, Any],
    *,
    correlation_id: str | None = None,
) -> Envelope:
    """Validate and stage an event in the session's transaction; returns its envelope."""
    return add_events(session, [(event_type, data)], correlation_id=correlation_id)[0]


def add_events(
    session: Session,
    events: Sequence[tuple[str, dict[str, Any]]],
    *,
    correlation_id: str | None = None,
) -> list[Envelope]:
    """Validate and stage several events with one INSERT (a use case announcing thousands of results
    would otherwise pay a round trip each); returns their envelopes in order."""
    envelopes = [build_envelope(t, data, correlation_id=correlation_id) for t, data in events]
    if envelopes:
        now = utcnow()
        session.execute(insert(outbox), [outbox_row(e, now) for e in envelopes])
    return envelopes


def outbox_row(envelope: Envelope, now: dt.datetime) -> dict[str, Any]:
    """The pending outbox row of an envelope (what ``add_events`` inserts)."""
    return {
        "event_id": envelope.id,
        "event_type": envelope.type,
        "payload": envelope.to_json(),
        "correlation_id": envelope.correlation_id,
        "created_at": now,
        "attempts": 0,
    }


@dataclass(frozen=True)
class OutboxStats:
    pending: int
    oldest_pending_age_seconds: float | None
    failing: int


def outbox_stats(session: Session, now: dt.datetime | None = None) -> OutboxStats:
    now = now or utcnow()
    pending, oldest = session.execute(
        select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.published_at.is_(None))
    ).one()
    failing = session.execute(
        select(func.count()).where(outbox.c.published_at.is_(None), outbox.c.attempts > 0)
    ).scalar_one()
    if oldest is not None and oldest.tzinfo is None:  # SQLite through func.min loses the type
        oldest = dt.datetime.fromisoformat(str(oldest)).replace(tzinfo=dt.UTC)
    elif isinstance(oldest, str):
        oldest = dt.datetime.fromisoformat(oldest).replace(tzinfo=dt.UTC)
    age = (now - oldest).total_seconds() if oldest is not None else None
    return OutboxStats(pending=int(pending), oldest_pending_age_seconds=age, failing=int(failing))


def republish_since(
    session: Session, since: dt.datetime, event_types: Sequence[str] = (), *, dry_run: bool = False
) -> int:
    """Make the events published at or after ``since`` pending again (of ``event_types`` only, when given):
    the relay sends them once more, in their original order. Returns how many (``dry_run``: only counts).

    For a consumer's database restored to an earlier point: it lost what it had handled since, while the
    broker had already delivered it. Every other consumer skips the copies by their event ids (its inbox
    remembers them for INBOX_RETENTION_HOURS, which is longer than the outbox keeps published rows).
    """
    conditions = [outbox.c.published_at.isnot(None), outbox.c.published_at >= since]
    if event_types:
        conditions.append(outbox.c.event_type.in_(list(event_types)))
    if dry_run:
        return int(session.execute(select(func.count()).where(*conditions)).scalar_one())
    statement = (
        update(outbox)
        .where(*conditions)
        .values(published_at=None, attempts=0, next_attempt_at=None, last_error=None)
    )
    return int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]
