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

from prometheus_client import Counter
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.db import Database, is_postgres, utcnow
from shared.events import topology
from shared.events.outbox import outbox
from shared.events.publisher import (
    CONNECTION_ERRORS,
    Backoff,
    BatchPublisher,
    OutgoingMessage,
    PublishOutcome,
    connect,
)

log = logging.getLogger(__name__)

PUBLISHED = Counter("outbox_published_total", "Outbox events published and confirmed", ["service"])
PUBLISH_FAILURES = Counter(
    "outbox_publish_failures_total", "Outbox events nacked or unroutable (left pending)", ["service"]
)


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
                published = self.publish_once()
                self._backoff.reset()
                if published < self.settings.relay_batch_size:
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

    # --- one batch -----------------------------------------------------------------------------------

    def publish_once(self) -> int:
        """Claim, publish and mark one batch; returns how many rows were claimed."""
        assert self._publisher is not None
        with self.database.session() as session:
            rows = self._claim(session)
            if not rows:
                return 0
            exchange = topology.exchange_name(self.settings.broker_prefix)
            messages = [
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
            outcomes = self._publisher.publish(messages)
            if self.after_publish is not None:
                self.after_publish(outcomes)
            self._mark(session, rows, outcomes)
        return len(rows)

    def _claim(self, session: Session) -> list:
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
        if is_postgres(session):
            stmt = stmt.with_for_update(skip_locked=True)
        return list(session.execute(stmt).all())

    def _mark(self, session: Session, rows: list, outcomes: list[PublishOutcome]) -> None:
        now = utcnow()
        by_id = {row.event_id: row for row in rows}
        ok_ids = [by_id[o.message_id].id for o in outcomes if o.ok]
        if ok_ids:
            session.execute(update(outbox).where(outbox.c.id.in_(ok_ids)).values(published_at=now))
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
