"""The outbox relay: publishes pending outbox rows to RabbitMQ and marks them published.

One batch is one database transaction: claim up to ``RELAY_BATCH_SIZE`` pending rows in id order (on
PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so several relays never take the same rows), publish them all
with ``mandatory=True`` on a channel in confirm mode, wait until the broker confirmed every one, then mark
the confirmed ones published (one ``UPDATE … WHERE id = ANY(:ids)``) and commit.

- A crash after publishing but before the commit leaves the rows pending: they are published again and
  the consumers' inbox absorbs the duplicate (at-least-once, never lost).
- A nacked or unroutable message stays pending with ``attempts``/``last_error`` set and is retried after
  an exponential delay (``next_attempt_at``); it is logged and counted in ``outbox_publish_failures_total``.
- A lost connection rolls back every batch not yet confirmed (rows stay pending) and reconnects with
  backoff.
- Idle, it polls every ``RELAY_POLL_INTERVAL`` seconds (the publisher's I/O thread answers the heartbeats);
  while rows remain it loops at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import deque
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


#: Batches claimed and on the wire at once (PostgreSQL): the broker confirms one while the relay claims and
#: sends the next and the marker thread commits the one before.
PIPELINE_DEPTH = 3


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
        self._publisher: BatchPublisher | None = None
        self._backoff = Backoff(maximum=settings.relay_max_backoff)
        # SQLite cannot hold two write transactions: there each batch completes before the next is claimed
        self._depth = PIPELINE_DEPTH if database.engine.dialect.name == "postgresql" else 1
        # marks and commits a confirmed batch while the relay thread waits for the next one's confirms
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
                self.stop_event.wait(self.settings.relay_poll_interval)
            except CONNECTION_ERRORS as exc:
                self._drop_connection()
                delay = self._backoff.next()
                log.warning("relay lost the broker (%r); reconnecting in %.1fs", exc, delay)
                self.stop_event.wait(delay)
            except topology.TopologyMissing as exc:
                # nothing is published (the rows stay pending) until the queues are there
                self._drop_connection()
                delay = self._backoff.next()
                log.error("relay waits for the broker topology: %s; trying again in %.1fs", exc, delay)
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

    def connect(self) -> None:
        """Check the topology and open the publisher (``run`` does it by itself)."""
        self._ensure_connected()

    def close(self) -> None:
        self._drop_connection()

    def _ensure_connected(self) -> None:
        if self._publisher is not None and self._publisher.is_open:
            return
        self._drop_connection()
        # the topology first, so that nothing published is unroutable for want of a consumer's queue:
        # `yunkefu broker setup` declared it; a missing queue raises, and run() retries after a backoff
        connection = connect(self.settings.amqp_url, name=f"{self.name}-check")
        try:
            topology.require(connection, self.settings)
        finally:
            if connection.is_open:
                connection.close()
        self._publisher = BatchPublisher(self.settings.amqp_url, name=self.name)
        self.connects += 1
        log.info("relay connected to the broker", extra={"relay": self.name})

    def _drop_connection(self) -> None:
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            try:
                publisher.close()
            except Exception:
                log.debug("error while closing a broken connection", exc_info=True)

    # --- batches ------------------------------------------------------------------------------------

    def publish_once(self) -> int:
        """Claim, publish and mark one batch; returns how many rows were claimed."""
        batch = self._claim_and_send(after_id=None)
        if batch is None:
            return 0
        try:
            outcomes = self._publisher_wait(batch)
        except BaseException:
            batch.abandon()
            raise
        self._mark_and_commit(batch, outcomes)
        return len(batch.rows)

    def drain(self) -> int:
        """Publish until a batch comes back short; returns how many rows were published.

        On PostgreSQL up to ``PIPELINE_DEPTH`` batches are claimed (each its own transaction, its rows
        locked; ``SKIP LOCKED`` plus ``id > last`` keep them disjoint) and on the wire while the oldest is
        confirmed, and the one before is marked and committed on the marker thread. Batches are marked in
        the order they were claimed.
        """
        total = 0
        full = self.settings.relay_batch_size
        window: deque[_Batch] = deque()
        confirmed: _Batch | None = None
        marking: Future[None] | None = None
        after_id: int | None = None
        more = True
        try:
            while True:
                while more and len(window) < self._depth and not self.stop_event.is_set():
                    claimed = self._claim_and_send(after_id)
                    if claimed is None:
                        more = False
                        break
                    window.append(claimed)
                    after_id = claimed.rows[-1].id
                    more = len(claimed.rows) == full
                if not window:
                    break
                confirmed = window.popleft()
                outcomes = self._publisher_wait(confirmed)
                if marking is not None:
                    previous, marking = marking, None
                    previous.result()
                batch, confirmed = confirmed, None
                if self._depth > 1:
                    marking = self._marker.submit(self._mark_and_commit, batch, outcomes)
                else:
                    self._mark_and_commit(batch, outcomes)
                total += len(batch.rows)
        except BaseException:
            for unfinished in (confirmed, *window):
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
        # the outcomes come in the order the rows were sent
        ok_ids = [row.id for row, outcome in zip(rows, outcomes, strict=True) if outcome.ok]
        if ok_ids:
            if is_postgres(session):
                # one array parameter instead of an IN list of hundreds of placeholders; and the mark
                # need not wait for the WAL flush: losing it in a database crash only republishes,
                # which the consumers' inbox absorbs
                session.execute(text("SET LOCAL synchronous_commit TO OFF"))
                match = outbox.c.id == any_(bindparam("ids", ok_ids, type_=ARRAY(BigInteger)))
            else:
                match = outbox.c.id.in_(ok_ids)
            session.execute(update(outbox).where(match).values(published_at=now))
            PUBLISHED.labels(self.settings.service).inc(len(ok_ids))
        for row, outcome in zip(rows, outcomes, strict=True):
            if outcome.ok:
                continue
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
