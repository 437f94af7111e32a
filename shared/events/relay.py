"""The outbox relay: publishes pending outbox rows to RabbitMQ and marks them published.

One batch is one database transaction: claim up to ``RELAY_BATCH_SIZE`` pending rows in id order (on
PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so several relays never take the same rows), publish them all
with publisher confirms and ``mandatory=True``, then mark the confirmed ones published and commit.

- A crash after publishing but before the commit leaves the rows pending: they are published again and
  the consumers' inbox absorbs the duplicate (at-least-once, never lost).
- A nacked or unroutable message stays pending with ``attempts``/``last_error`` set and is retried after
  an exponential delay (``next_attempt_at``); it is logged and counted in ``outbox_publish_failures_total``.
- A lost connection rolls the batch back (rows stay pending) and reconnects with backoff.
- Idle, it polls every ``RELAY_POLL_INTERVAL`` seconds while servicing the connection's heartbeats; while
  rows remain it loops at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter
from sqlalchemy import BigInteger, Row, any_, bindparam, or_, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.db import Database, is_postgres, utcnow
from shared.events import topology
from shared.events.outbox import outbox
from shared.events.publisher import (
    CONNECTION_ERRORS,
    Backoff,
    BatchPublisher,
    InFlight,
    OutgoingMessage,
    PublishOutcome,
    connect,
)

log = logging.getLogger(__name__)

PUBLISHED = Counter("outbox_published_total", "Outbox events published and confirmed", ["service"])
PUBLISH_FAILURES = Counter(
    "outbox_publish_failures_total", "Outbox events nacked or unroutable (left pending)", ["service"]
)


@dataclass
class _Batch:
    """Claimed rows (locked by the open session) whose messages are on the wire."""

    session: Session
    rows: list[Row[Any]]
    in_flight: InFlight

    def abandon(self) -> None:
        # rows stay pending; anything already published is absorbed by the consumers' inbox
        self.session.rollback()
        self.session.close()


def _retry_delay(attempts: int, maximum: float) -> dt.timedelta:
    return dt.timedelta(seconds=min(2 ** min(attempts, 16), maximum))


class Relay:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        stop_event: threading.Event | None = None,
        name: str | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.stop_event = stop_event or threading.Event()
        self.name = name or f"{settings.service}-relay"
        self._connection = None
        self._publisher: BatchPublisher | None = None
        self._backoff = Backoff(maximum=settings.relay_max_backoff)
        self._pipelined = database.engine.dialect.name == "postgresql"
        # marks and commits a confirmed batch while the relay thread works on the next one
        self._marker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self.name}-mark")
        #: test hook: called after the broker confirmed a batch and before it is marked published
        self.after_publish: Callable[[list[PublishOutcome]], None] | None = None
        #: how many times it has connected (more than once after a broker outage)
        self.connects = 0

    # --- the loop ------------------------------------------------------------------------------------

    def run(self) -> None:
        log.info("relay started", extra={"relay": self.name})
        while not self.stop_event.is_set():
            try:
                self._ensure_connected()
                self.drain()
                self._backoff.reset()
                self._idle(self.settings.relay_poll_interval)
            except CONNECTION_ERRORS as exc:
                self._drop_connection()
                delay = self._backoff.next()
                log.warning("relay lost the broker (%r); reconnecting in %.1fs", exc, delay)
                self.stop_event.wait(delay)
            except Exception:
                # a database outage must not kill the thread: log, back off, try again
                self._drop_connection()
                delay = self._backoff.next()
                log.exception("relay batch failed; retrying in %.1fs", delay)
                self.stop_event.wait(delay)
        self._drop_connection()
        self._marker.shutdown(wait=True)
        log.info("relay stopped", extra={"relay": self.name})

    def stop(self) -> None:
        self.stop_event.set()

    def _idle(self, seconds: float) -> None:
        if self._connection is not None and self._connection.is_open:
            # process_data_events services heartbeats while we wait, unlike time.sleep
            self._connection.process_data_events(time_limit=seconds)
        else:
            self.stop_event.wait(seconds)

    def _ensure_connected(self) -> None:
        if self._connection is not None and self._connection.is_open and self._publisher is not None:
            return
        self._drop_connection()
        self._connection = connect(self.settings.amqp_url, name=self.name)
        declare_channel = self._connection.channel()
        topology.declare_all(declare_channel, self.settings)
        declare_channel.close()
        self._publisher = BatchPublisher(self._connection)
        self.connects += 1
        log.info("relay connected to the broker", extra={"relay": self.name})

    def _drop_connection(self) -> None:
        connection, self._connection, self._publisher = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except Exception:
                log.debug("error while closing a broken connection", exc_info=True)

    # --- batches ------------------------------------------------------------------------------------

    def publish_once(self) -> int:
        """Claim, publish and mark one batch; returns how many rows were claimed."""
        batch = self._claim_and_send(after_id=None)
        if batch is None:
            return 0
        self._finish(batch)
        return len(batch.rows)

    def drain(self) -> int:
        """Publish until a batch comes back short; returns how many rows were published.

        On PostgreSQL three things overlap: while the broker confirms batch k, the next batch is claimed
        (its own transaction, its rows locked, ``SKIP LOCKED`` plus ``id > last`` keep it disjoint) and
        put on the wire, and batch k-1 is marked and committed on the marker thread. SQLite cannot hold
        two write transactions, so there each batch completes before the next is claimed.
        """
        total = 0
        full = self.settings.relay_batch_size
        marking: Future[None] | None = None
        upcoming: _Batch | None = None
        current = self._claim_and_send(after_id=None)
        try:
            while current is not None:
                if self._pipelined and len(current.rows) == full and not self.stop_event.is_set():
                    upcoming = self._claim_and_send(after_id=current.rows[-1].id)
                outcomes = self._publisher_wait(current)
                if marking is not None:
                    previous, marking = marking, None
                    previous.result()
                batch, current = current, None
                if self._pipelined:
                    marking = self._marker.submit(self._mark_and_commit, batch, outcomes)
                else:
                    self._mark_and_commit(batch, outcomes)
                total += len(batch.rows)
                if upcoming is None and len(batch.rows) == full and not self.stop_event.is_set():
                    upcoming = self._claim_and_send(after_id=None)
                current, upcoming = upcoming, None
        except BaseException:
            for unfinished in (current, upcoming):
                if unfinished is not None:
                    unfinished.abandon()
            raise
        finally:
            if marking is not None:
                marking.result()
        return total

    def _claim_and_send(self, after_id: int | None) -> _Batch | None:
        assert self._publisher is not None
        session = self.database.sessionmaker()
        try:
            rows = self._claim(session, after_id)
            if not rows:
                session.rollback()
                session.close()
                return None
            exchange = topology.exchange_name(self.settings.broker_prefix)
            in_flight = self._publisher.send(
                [
                    OutgoingMessage(
                        exchange=exchange,
                        routing_key=row.event_type,
                        body=row.payload.encode(),
                        message_id=row.event_id,
                        type=row.event_type,
                        correlation_id=row.correlation_id,
                    )
                    for row in rows
                ]
            )
            return _Batch(session, rows, in_flight)
        except BaseException:
            session.rollback()
            session.close()
            raise

    def _finish(self, batch: _Batch) -> None:
        try:
            outcomes = self._publisher_wait(batch)
        except BaseException:
            batch.abandon()
            raise
        self._mark_and_commit(batch, outcomes)

    def _publisher_wait(self, batch: _Batch) -> list[PublishOutcome]:
        assert self._publisher is not None
        outcomes = self._publisher.wait(batch.in_flight)
        if self.after_publish is not None:
            self.after_publish(outcomes)
        return outcomes

    def _mark_and_commit(self, batch: _Batch, outcomes: list[PublishOutcome]) -> None:
        try:
            self._mark(batch.session, batch.rows, outcomes)
            batch.session.commit()
        except BaseException:
            batch.session.rollback()
            raise
        finally:
            batch.session.close()

    def _claim(self, session: Session, after_id: int | None) -> list[Row[Any]]:
        now = utcnow()
        stmt = (
            select(
                outbox.c.id,
                outbox.c.event_id,
                outbox.c.event_type,
                outbox.c.payload,
                outbox.c.correlation_id,
                outbox.c.attempts,
            )
            .where(
                outbox.c.published_at.is_(None),
                or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now),
            )
            .order_by(outbox.c.id)
            .limit(self.settings.relay_batch_size)
        )
        if after_id is not None:
            stmt = stmt.where(outbox.c.id > after_id)
        if is_postgres(session):
            stmt = stmt.with_for_update(skip_locked=True)
        return list(session.execute(stmt).all())

    def _mark(self, session: Session, rows: list[Row[Any]], outcomes: list[PublishOutcome]) -> None:
        now = utcnow()
        by_id = {row.event_id: row for row in rows}
        ok_ids = [by_id[o.message_id].id for o in outcomes if o.ok]
        if ok_ids:
            if self._pipelined:
                # one array parameter instead of an IN list of hundreds of placeholders; and the mark
                # need not wait for the WAL flush: losing it in a database crash only republishes,
                # which the consumers' inbox absorbs
                session.execute(text("SET LOCAL synchronous_commit TO OFF"))
                match = outbox.c.id == any_(bindparam("ids", ok_ids, type_=ARRAY(BigInteger)))
            else:
                match = outbox.c.id.in_(ok_ids)
            session.execute(update(outbox).where(match).values(published_at=now))
            PUBLISHED.labels(self.settings.service).inc(len(ok_ids))
        for outcome in outcomes:
            if outcome.ok:
                continue
            row = by_id[outcome.message_id]
            attempts = row.attempts + 1
            session.execute(
                update(outbox)
                .where(outbox.c.id == row.id)
                .values(
                    attempts=attempts,
                    last_error=outcome.error,
                    next_attempt_at=now + _retry_delay(attempts, self.settings.relay_max_backoff),
                )
            )
            PUBLISH_FAILURES.labels(self.settings.service).inc()
            log.error(
                "event %s (%s) was not accepted by the broker: %s; it stays pending (attempt %d)",
                row.event_id,
                row.event_type,
                outcome.error,
                attempts,
            )
