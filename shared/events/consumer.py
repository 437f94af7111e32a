"""The idempotent consumer: one durable queue per service, inbox dedupe, retry queue, dead-letter queue.

For each delivery:

1. parse the envelope; a body that can never be handled (not JSON, no envelope, data not matching the
   catalogue) is parked in the DLQ at once — retrying cannot fix it;
2. in ONE database transaction: insert the event id into ``inbox`` (``ON CONFLICT DO NOTHING``; no row
   inserted means a duplicate, which is acknowledged and skipped) and run the handler, whose writes and
   new outbox events commit together with the inbox row;
3. acknowledge only after the commit.

A handler error rolls the transaction back and republishes the message (with publisher confirms) with
``x-attempts`` + 1 to the retry queue of that attempt; the retry queues' TTLs grow from try to try
(``topology.retry_delays_ms``) and dead-letter it back, so a database outage of up to
``RETRY_TOTAL_SECONDS`` heals by itself. After ``MAX_DELIVERY_ATTEMPTS`` tries it goes to the DLQ with the
last error. The original is acknowledged only once that publish is confirmed, so a crash anywhere
redelivers rather than loses.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import traceback
from collections.abc import Callable, Mapping
from typing import Any

import pika
from prometheus_client import Counter
from sqlalchemy import Column, Index, String, Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.context import correlation
from shared.db import Database, UTCDateTime, platform_metadata, utcnow
from shared.events import topology
from shared.events.envelope import Envelope, Event, EventError, InvalidEventData, parse_envelope, receive
from shared.events.publisher import CONNECTION_ERRORS, Backoff, connect
from shared.uow import Actor, Clock, UnitOfWork, system_clock

log = logging.getLogger(__name__)

#: ``handler(uow, event)``: runs in the consumer's unit of work (the inbox row commits with its effects),
#: the event already validated and loaded (``shared.events.envelope.Event``). It never commits.
Handler = Callable[[UnitOfWork, Event], None]

inbox = Table(
    "inbox",
    platform_metadata,
    Column("event_id", String(36), primary_key=True),
    Column("event_type", String(100), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    # The retention purge deletes rows by age (``shared.migrate.create_platform_indexes_v2``).
    Index("ix_inbox_received_at", "received_at"),
)

CONSUMED = Counter("events_consumed_total", "Events handled and committed", ["service", "type"])
DUPLICATES = Counter("events_duplicate_total", "Deliveries skipped by the inbox", ["service"])
FAILED = Counter("events_failed_total", "Handler failures sent to the retry queue", ["service", "type"])
DEAD = Counter("events_dead_lettered_total", "Messages parked in the dead-letter queue", ["service"])

ATTEMPTS_HEADER = "x-attempts"


class NoHandler(RuntimeError):
    """The catalogue routes a type here but the service has no handler for it (yet)."""


def _insert_inbox(session: Session, envelope: Envelope) -> bool:
    """True when this event id is new; the row commits (or not) with the handler's effects."""
    dialect = session.get_bind().dialect.name
    values = {"event_id": envelope.id, "event_type": envelope.type, "received_at": utcnow()}
    if dialect == "postgresql":
        stmt = postgresql.insert(inbox).values(**values).on_conflict_do_nothing(index_elements=["event_id"])
    elif dialect == "sqlite":
        stmt = sqlite.insert(inbox).values(**values).on_conflict_do_nothing(index_elements=["event_id"])
    else:  # pragma: no cover - only PostgreSQL and SQLite are supported
        stmt = insert(inbox).values(**values)
    # RETURNING rather than rowcount: the ORM session reports -1 for an INSERT's rowcount
    return session.execute(stmt.returning(inbox.c.event_id)).scalar_one_or_none() is not None


def handle_once(
    database: Database,
    handlers: Mapping[str, Handler],
    envelope: Envelope,
    *,
    clock: Clock = system_clock,
) -> bool:
    """Run the handler for an envelope exactly once per event id. Returns False for a duplicate."""
    handler = handlers.get(envelope.type)
    if handler is None:
        raise NoHandler(f"no handler for {envelope.type!r} in this service")
    event = receive(envelope)
    with database.session() as session:
        if not _insert_inbox(session, envelope):
            return False
        handler(UnitOfWork(session, clock=clock, actor=Actor.system(f"event:{event.type}")), event)
    return True


class Consumer:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        handlers: Mapping[str, Handler],
        *,
        stop_event: threading.Event | None = None,
        routing_keys: list[str] | None = None,
        name: str | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.handlers = dict(handlers)
        self.stop_event = stop_event or threading.Event()
        self.routing_keys = routing_keys
        self.name = name or f"{settings.service}-consumer"
        self.names = topology.QueueNames(settings.broker_prefix, settings.service)
        self.retry_queues = topology.retry_queues(self.names, settings)
        self._backoff = Backoff(maximum=30.0)
        self._connection: pika.BlockingConnection | None = None
        self._channel: Any = None
        self._confirm_channel: Any = None
        self.ready = threading.Event()
        #: how many times it has connected (more than once after a broker outage)
        self.connects = 0

    def run(self) -> None:
        log.info("consumer started", extra={"queue": self.names.main})
        while not self.stop_event.is_set():
            try:
                self._connect()
                self._backoff.reset()
                self.ready.set()
                while not self.stop_event.is_set():
                    self._connection.process_data_events(time_limit=0.25)  # type: ignore[union-attr]
            except CONNECTION_ERRORS as exc:
                self.ready.clear()
                delay = self._backoff.next()
                log.warning("consumer lost the broker (%r); reconnecting in %.1fs", exc, delay)
                self._close()
                self.stop_event.wait(delay)
        self._close()
        log.info("consumer stopped", extra={"queue": self.names.main})

    def stop(self) -> None:
        self.stop_event.set()

    def _connect(self) -> None:
        self._close()
        self._connection = connect(self.settings.amqp_url, name=self.name)
        channel = self._connection.channel()
        topology.declare_service(channel, self.settings, self.settings.service, self.routing_keys)
        channel.basic_qos(prefetch_count=self.settings.consumer_prefetch)
        self._confirm_channel = self._connection.channel()
        self._confirm_channel.confirm_delivery()
        channel.basic_consume(self.names.main, self._on_message)
        self._channel = channel
        self.connects += 1
        log.info("consumer connected", extra={"queue": self.names.main})

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        self._channel = self._confirm_channel = None
        if connection is not None and connection.is_open:
            try:
                # unacknowledged deliveries go back to the queue when the connection closes
                connection.close()
            except Exception:
                log.debug("error closing the consumer connection", exc_info=True)

    # --- one delivery --------------------------------------------------------------------------------

    def _on_message(self, channel: Any, method: Any, properties: pika.BasicProperties, body: bytes) -> None:
        if self.stop_event.is_set():
            # pika hands over every prefetched delivery in one go: once stopping, give the rest back at
            # once rather than handling up to CONSUMER_PREFETCH more before the thread can exit
            channel.basic_reject(method.delivery_tag, requeue=True)
            return
        headers = dict(properties.headers or {})
        attempts = int(headers.get(ATTEMPTS_HEADER, 0))
        try:
            envelope = parse_envelope(body)
        except EventError as exc:
            self._park(properties, body, headers, attempts + 1, f"{type(exc).__name__}: {exc}")
            channel.basic_ack(method.delivery_tag)
            return
        with correlation(envelope.correlation_id):
            try:
                handled = handle_once(self.database, self.handlers, envelope)
            except InvalidEventData as exc:
                self._park(properties, body, headers, attempts + 1, f"InvalidEventData: {exc}")
            except Exception as exc:
                error = "".join(traceback.format_exception_only(exc)).strip()
                FAILED.labels(self.settings.service, envelope.type).inc()
                if attempts + 1 >= self.settings.max_delivery_attempts:
                    log.exception("event %s (%s) failed for the last time", envelope.id, envelope.type)
                    self._park(properties, body, headers, attempts + 1, error)
                else:
                    log.warning(
                        "event %s (%s) failed (attempt %d of %d): %s",
                        envelope.id,
                        envelope.type,
                        attempts + 1,
                        self.settings.max_delivery_attempts,
                        error,
                    )
                    # a replayed or pre-upgrade message may count more tries than there are queues
                    queue = self.retry_queues[min(attempts, len(self.retry_queues) - 1)]
                    self._republish(queue, properties, body, headers, attempts + 1, error)
            else:
                if handled:
                    CONSUMED.labels(self.settings.service, envelope.type).inc()
                else:
                    DUPLICATES.labels(self.settings.service).inc()
                    log.info("duplicate event %s (%s) skipped", envelope.id, envelope.type)
        channel.basic_ack(method.delivery_tag)

    def _park(self, properties: Any, body: bytes, headers: dict[str, Any], attempts: int, error: str) -> None:
        DEAD.labels(self.settings.service).inc()
        log.error("message %s parked in %s: %s", properties.message_id, self.names.dlq, error)
        self._republish(self.names.dlq, properties, body, headers, attempts, error)

    def _republish(
        self, queue: str, properties: Any, body: bytes, headers: dict[str, Any], attempts: int, error: str
    ) -> None:
        headers = {
            **headers,
            ATTEMPTS_HEADER: attempts,
            "x-last-error": error[:2000],
            "x-failed-at": dt.datetime.now(dt.UTC).isoformat(),
            "x-service": self.settings.service,
        }
        # confirmed publish before the ack: if this raises, the original is redelivered, not lost
        self._confirm_channel.basic_publish(
            exchange="",
            routing_key=queue,
            body=body,
            properties=pika.BasicProperties(
                content_type=properties.content_type or "application/json",
                delivery_mode=pika.DeliveryMode.Persistent,
                message_id=properties.message_id,
                type=properties.type,
                correlation_id=properties.correlation_id,
                headers=headers,
            ),
            mandatory=True,
        )
