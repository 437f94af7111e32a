"""Retention of the platform tables: published outbox rows, inbox rows and idempotency keys.

Without it the three tables grow forever. The worker runs one periodic job per table
(``PURGE_INTERVAL_SECONDS``); each deletes rows older than its retention in batches of
``PURGE_BATCH_SIZE``, one short transaction per batch, so no lock is held for long and the relay, the
consumer and the web requests keep going. On PostgreSQL the batch skips rows another transaction has
locked (they go at the next run) and a transaction-scoped advisory lock per table keeps two workers of
one service from purging the same table at once.

Pending outbox rows are never purged, whatever their age. An inbox row must outlive every copy of its
event that can still arrive (a retry waits at most ``RETRY_TOTAL_SECONDS``; a duplicate from the relay may
sit in the queue while the consumer is down), hence ``check_settings``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import Counter
from sqlalchemy import ColumnElement, Table, delete, select, text, tuple_
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.db import Database, is_postgres, utcnow
from shared.events import topology
from shared.events.consumer import inbox
from shared.events.outbox import outbox
from shared.web.idempotency import RETENTION as IDEMPOTENCY_REPLAY_WINDOW
from shared.web.idempotency import idempotency_keys

log = logging.getLogger(__name__)

PURGED = Counter("platform_rows_purged_total", "Rows deleted by the retention jobs", ["service", "table"])


@dataclass(frozen=True)
class Purge:
    """One table's retention: rows matching ``old(cutoff)`` go, ``batch_size`` per transaction."""

    table: Table
    retention: dt.timedelta
    old: Callable[[dt.datetime], ColumnElement[bool]]

    @property
    def name(self) -> str:
        return f"purge.{self.table.name}"


def purges(settings: Settings) -> list[Purge]:
    """The retention jobs these settings ask for (a retention of 0 hours keeps that table whole)."""
    wanted = [
        (
            outbox,
            settings.outbox_retention_hours,
            # the partial index ix_outbox_published_at serves exactly this predicate
            lambda cutoff: outbox.c.published_at.is_not(None) & (outbox.c.published_at < cutoff),
        ),
        (inbox, settings.inbox_retention_hours, lambda cutoff: inbox.c.received_at < cutoff),
        (
            idempotency_keys,
            settings.idempotency_retention_hours,
            lambda cutoff: idempotency_keys.c.created_at < cutoff,
        ),
    ]
    return [Purge(table, dt.timedelta(hours=hours), old) for table, hours, old in wanted if hours > 0]


def check_settings(settings: Settings) -> list[str]:
    """What is wrong with the retry and retention settings (empty: nothing)."""
    problems: list[str] = []
    try:
        retry_window = sum(topology.retry_delays_ms(settings)) / 1000
    except ValueError as exc:
        problems.append(str(exc))
        retry_window = settings.retry_total_seconds
    hours = {
        "OUTBOX_RETENTION_HOURS": settings.outbox_retention_hours,
        "INBOX_RETENTION_HOURS": settings.inbox_retention_hours,
        "IDEMPOTENCY_RETENTION_HOURS": settings.idempotency_retention_hours,
    }
    problems += [
        f"{name} must be 0 (keep forever) or more, got {value}" for name, value in hours.items() if value < 0
    ]
    if 0 < settings.inbox_retention_hours * 3600 <= retry_window:
        problems.append(
            f"INBOX_RETENTION_HOURS ({settings.inbox_retention_hours}) must be longer than the retry window "
            f"(RETRY_TOTAL_SECONDS = {retry_window:g} s): a retried event whose inbox row is gone would be "
            "handled twice"
        )
    replay_hours = IDEMPOTENCY_REPLAY_WINDOW.total_seconds() / 3600
    if 0 < settings.idempotency_retention_hours < replay_hours:
        problems.append(
            f"IDEMPOTENCY_RETENTION_HOURS ({settings.idempotency_retention_hours}) must be at least the "
            f"{replay_hours:g} h during which a retried request is answered from its key"
        )
    if settings.purge_batch_size < 1:
        problems.append(f"PURGE_BATCH_SIZE must be at least 1, got {settings.purge_batch_size}")
    if settings.purge_interval_seconds <= 0:
        problems.append(f"PURGE_INTERVAL_SECONDS must be positive, got {settings.purge_interval_seconds:g}")
    return problems


def purge_batch(session: Session, purge: Purge, cutoff: dt.datetime, limit: int) -> int | None:
    """Delete up to ``limit`` rows older than ``cutoff`` in the session's transaction; returns how many,
    or None when another worker holds this table's purge lock right now."""
    key = list(purge.table.primary_key.columns)
    victims = select(*key).where(purge.old(cutoff)).limit(limit)
    if is_postgres(session):
        locked = session.execute(
            text("SELECT pg_try_advisory_xact_lock(hashtext(:name))"), {"name": f"yunkefu:{purge.name}"}
        ).scalar_one()
        if not locked:
            return None
        # rows a running transaction holds (an idempotency key being taken over) wait for the next run
        victims = victims.with_for_update(skip_locked=True)
    match = key[0].in_(victims) if len(key) == 1 else tuple_(*key).in_(victims)
    result = session.execute(delete(purge.table).where(match))
    return int(result.rowcount or 0)


def run_purge(
    database: Database, service: str, purge: Purge, batch_size: int, now: dt.datetime | None = None
) -> int | None:
    """Purge one table batch by batch until a batch comes back short; returns the rows deleted, or None
    when another worker is purging it (it will be back at the next interval)."""
    cutoff = (now or utcnow()) - purge.retention
    total = 0
    while True:
        with database.session() as session:
            deleted = purge_batch(session, purge, cutoff, batch_size)
        if deleted is None:
            if total == 0:
                return None
            break
        total += deleted
        PURGED.labels(service, purge.table.name).inc(deleted)
        if deleted < batch_size:
            break
    log.log(
        logging.INFO if total else logging.DEBUG,
        "purged %d row(s) of %s older than %s",
        total,
        purge.table.name,
        cutoff.isoformat(timespec="seconds"),
        extra={"table": purge.table.name, "purged": total},
    )
    return total
