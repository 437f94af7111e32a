"""The idempotent consumer: one durable queue per service, inbox dedupe, retry queue, dead-letter queue.

Deliveries are handled in batches: the consumer collects up to ``batch_size`` of them, or what arrived
within ``batch_wait`` seconds of the first one (so an event does not wait for company at low rates), then

1. parses each envelope; a body that can never be handled (not JSON, no envelope, data not matching the
   catalogue) is parked in the DLQ at once — retrying cannot fix it;
2. in ONE database transaction for the batch: inserts the event ids into ``inbox`` in one statement
   (``ON CONFLICT DO NOTHING RETURNING event_id``; an id not returned is a duplicate, acknowledged and
   skipped), then runs each new event's handler. A handler that fails undoes only its own writes, outbox
   rows and inbox row, and the others commit: the transaction is rolled back and the batch run again
   with a SAVEPOINT around each handler, the failed event left out (``handle_batch`` says why not
   savepoints from the start);
3. commits once, republishes the failures (see below), then acknowledges the whole batch with one
   ``basic_ack(multiple=True)``. A crash between the commit and the ack redelivers the batch, and the
   inbox skips what was committed.

A handler error republishes the message (with publisher confirms) with ``x-attempts`` + 1 to the retry
queue of that attempt; the retry queues' TTLs grow from try to try (``topology.retry_delays_ms``) and
dead-letter it back, so a database outage of up to ``RETRY_TOTAL_SECONDS`` heals by itself. After
``MAX_DELIVERY_ATTEMPTS`` tries it goes to the DLQ with the last error. The original is acknowledged only
once that publish is confirmed, so a crash anywhere redelivers rather than loses. When the batch's
transaction itself fails (the database is down), every message of the batch takes that path.

The pika callback only queues a delivery; handling, publishing and acknowledging happen in the
consumer's own loop, which checks the stop flag between deliveries. That is what lets ``stop()`` take
effect under a backlog: pika's dispatch keeps calling a callback that does I/O as long as deliveries keep
arriving. On stop the batch in hand ends after the event being handled; the rest of it, and whatever was
prefetched, goes back to the queue when the connection closes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pika
from prometheus_client import Counter
from sqlalchemy import Column, Index, String, Table, delete, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.context import correlation
from shared.db import Database, UTCDateTime, platform_metadata, utcnow
from shared.events import catalogue, topology
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


def _insert_inbox_rows(session: Session, envelopes: Sequence[Envelope]) -> set[str]:
    """Insert the inbox rows of ``envelopes`` in one statement; returns the ids that were new. The rows
    commit (or not) with the handlers' effects."""
    if not envelopes:
        return set()
    now = utcnow()
    # sorted: two consumers inserting overlapping ids (a redelivery racing its original) lock the rows in
    # the same order and cannot deadlock
    rows = {e.id: {"event_id": e.id, "event_type": e.type, "received_at": now} for e in envelopes}
    values = [rows[key] for key in sorted(rows)]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt = postgresql.insert(inbox).on_conflict_do_nothing(index_elements=["event_id"])
    elif dialect == "sqlite":
        stmt = sqlite.insert(inbox).on_conflict_do_nothing(index_elements=["event_id"])
    else:  # pragma: no cover - only PostgreSQL and SQLite are supported
        stmt = insert(inbox)
    # RETURNING rather than rowcount: the ORM session reports -1 for an INSERT's rowcount. A list of
    # parameters rather than .values(rows): SQLAlchemy sends it as one multi-row INSERT ("insertmanyvalues")
    # from a statement it compiles once, not once per batch size.
    return set(session.scalars(stmt.returning(inbox.c.event_id), values))


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
        if not _insert_inbox_rows(session, [envelope]):
            return False
        handler(UnitOfWork(session, clock=clock, actor=Actor.system(f"event:{event.type}")), event)
    return True


# What became of a delivery once its batch is done.
READY = "ready"  # parsed and validated, its handler not run yet
HANDLED = "handled"
DUPLICATE = "duplicate"
RETRY = "retry"  # to the retry queue, or to the DLQ once out of attempts
PARK = "park"  # to the DLQ at once: retrying cannot help


@dataclass
class Delivery:
    tag: int
    properties: Any
    body: bytes
    headers: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    envelope: Envelope | None = None
    event: Event | None = None
    handler: Handler | None = None
    outcome: str = READY
    error: str = ""

    def fail(self, outcome: str, exc: BaseException) -> None:
        self.outcome = outcome
        self.error = "".join(traceback.format_exception_only(exc)).strip()


def _prepare(delivery: Delivery, handlers: Mapping[str, Handler]) -> None:
    """Parse and validate before the transaction: what fails here never touches the database."""
    try:
        delivery.envelope = parse_envelope(delivery.body)
    except EventError as exc:
        delivery.outcome, delivery.error = PARK, f"{type(exc).__name__}: {exc}"
        return
    delivery.handler = handlers.get(delivery.envelope.type)
    if delivery.handler is None:
        delivery.fail(RETRY, NoHandler(f"no handler for {delivery.envelope.type!r} in this service"))
        return
    try:
        delivery.event = receive(delivery.envelope)
    except InvalidEventData as exc:
        delivery.outcome, delivery.error = PARK, f"InvalidEventData: {exc}"
    except Exception as exc:
        delivery.fail(RETRY, exc)


class _HandlerFailed(Exception):
    """A handler, or the flush of what the handlers wrote, failed in the pass without savepoints: roll
    back, go again with them."""


def handle_batch(
    database: Database,
    handlers: Mapping[str, Handler],
    deliveries: Sequence[Delivery],
    *,
    clock: Clock = system_clock,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """Handle ``deliveries`` (in delivery order) in one transaction; sets each one's ``outcome``. Returns
    how many of them are done: when ``should_stop()`` turns true the rest are left untouched (no inbox
    row) for the broker to redeliver.

    A SAVEPOINT and its RELEASE are two round trips per event, which cost more than a one-row handler
    itself; each RELEASE also flushes the ORM, so the rows the handlers ``add`` cannot go out as one
    INSERT; and past 64 savepoints that wrote, PostgreSQL's per-backend subtransaction cache overflows and
    every snapshot slows down. So the batch first runs without them. Only when a handler fails (or the
    flush of their writes does) is that transaction rolled back and the batch run again with a savepoint
    per event, the failed event left out: it goes to retry. A handler may thus run a second time after
    its effects were rolled back, as after any redelivery; what commits is the same: every event's effects
    once, or not at all."""
    for delivery in deliveries:
        _prepare(delivery, handlers)
    if not any(d.outcome == READY for d in deliveries):
        return len(deliveries)
    savepoints = False
    while True:
        done = len(deliveries)
        try:
            with database.session() as session:
                done = _run_batch(session, deliveries, clock, should_stop, savepoints=savepoints)
            return done
        except _HandlerFailed:
            savepoints = True
            for delivery in deliveries:
                if delivery.outcome in (HANDLED, DUPLICATE):
                    delivery.outcome = READY
        except Exception as exc:
            # the batch's own transaction failed (database down, commit refused): nothing of it committed
            log.warning("a batch of %d deliveries failed as a whole: %s", len(deliveries), exc)
            # failed handlers keep their own error, parked ones stay parked
            for delivery in deliveries[:done]:
                if delivery.outcome in (READY, HANDLED, DUPLICATE):
                    delivery.fail(RETRY, exc)
            return done


def _run_batch(
    session: Session,
    deliveries: Sequence[Delivery],
    clock: Clock,
    should_stop: Callable[[], bool],
    *,
    savepoints: bool,
) -> int:
    ready = [d for d in deliveries if d.outcome == READY]
    new = _insert_inbox_rows(session, [d.envelope for d in ready if d.envelope is not None])
    handled: set[str] = set()
    done = len(deliveries)
    for index, delivery in enumerate(deliveries):
        if should_stop():
            done = index
            break
        if delivery.outcome != READY:
            continue
        assert delivery.envelope is not None
        event_id = delivery.envelope.id
        if event_id not in new or event_id in handled:
            delivery.outcome = DUPLICATE
            continue
        handled.add(event_id)
        _run_handler(session, delivery, clock, savepoint=savepoints)
        if delivery.outcome == HANDLED:
            continue
        if not savepoints:
            raise _HandlerFailed(event_id)
        # its savepoint is gone with its effects; the inbox row was inserted before it
        session.execute(delete(inbox).where(inbox.c.event_id == event_id))
    if not savepoints:
        try:
            # the handlers' ORM writes go out together here; an error cannot be told apart per event
            session.flush()
        except Exception as exc:
            raise _HandlerFailed(None) from exc
    left = {d.envelope.id for d in deliveries[done:] if d.outcome == READY and d.envelope is not None}
    left &= new - handled
    if left:
        session.execute(delete(inbox).where(inbox.c.event_id.in_(left)))
    return done


def _run_handler(session: Session, delivery: Delivery, clock: Clock, *, savepoint: bool) -> None:
    assert delivery.envelope is not None and delivery.event is not None and delivery.handler is not None
    event = delivery.event
    uow = UnitOfWork(session, clock=clock, actor=Actor.system(f"event:{event.type}"))
    with correlation(delivery.envelope.correlation_id):
        try:
            with session.begin_nested() if savepoint else contextlib.nullcontext():
                delivery.handler(uow, event)
        except InvalidEventData as exc:
            delivery.outcome, delivery.error = PARK, f"InvalidEventData: {exc}"
        except Exception as exc:
            delivery.fail(RETRY, exc)
        else:
            delivery.outcome = HANDLED


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
        batch_size: int | None = None,
        batch_wait: float | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.handlers = dict(handlers)
        self.stop_event = stop_event or threading.Event()
        self.routing_keys = routing_keys
        self.name = name or f"{settings.service}-consumer"
        self.names = topology.QueueNames(settings.broker_prefix, settings.service)
        self.retry_queues = topology.retry_queues(self.names, settings)
        size = batch_size or settings.consumer_batch_size
        # the broker never has more than the prefetch unacknowledged with us: a larger batch never fills
        self.batch_size = max(1, min(size, settings.consumer_prefetch))
        wait = settings.consumer_batch_wait if batch_wait is None else batch_wait
        self.batch_wait = max(0.0, float(wait))
        self._backoff = Backoff(maximum=30.0)
        self._connection: pika.BlockingConnection | None = None
        self._channel: Any = None
        self._confirm_channel: Any = None
        self._pending: list[Delivery] = []
        self._first_at = 0.0
        self.ready = threading.Event()
        #: how many times it has connected (more than once after a broker outage)
        self.connects = 0

    def run(self) -> None:
        if self.routing_keys is None and not catalogue.consumed_by(self.settings.service):
            # a service that consumes no event type (onboarding) has no queue: `broker setup` declares none
            log.info("the service consumes no event type: no queue to consume from")
            self.ready.set()
            self.stop_event.wait()
            return
        log.info("consumer started", extra={"queue": self.names.main})
        while not self.stop_event.is_set():
            try:
                self._connect()
                self._backoff.reset()
                self.ready.set()
                while not self.stop_event.is_set():
                    self._step()
            except CONNECTION_ERRORS as exc:
                self.ready.clear()
                delay = self._backoff.next()
                log.warning("consumer lost the broker (%r); reconnecting in %.1fs", exc, delay)
                self._close()
                self.stop_event.wait(delay)
            except topology.TopologyMissing as exc:
                delay = self._backoff.next()
                log.error("consumer waits for the broker topology: %s; trying again in %.1fs", exc, delay)
                self._close()
                self.stop_event.wait(delay)
        self._close()
        log.info("consumer stopped", extra={"queue": self.names.main})

    def stop(self) -> None:
        """Ask ``run`` to return: it finishes the event in hand, commits and acknowledges what it handled,
        and closes its connection (the rest goes back to the queue). Does not wait."""
        self.stop_event.set()

    def _step(self) -> None:
        assert self._connection is not None
        due = self._first_at + self.batch_wait
        limit = max(0.0, due - time.monotonic()) if self._pending else 0.25
        # returns as soon as deliveries were dispatched (to _on_message, which only queues them)
        self._connection.process_data_events(time_limit=limit)
        if not self._pending or self.stop_event.is_set():
            return
        due = self._first_at + self.batch_wait  # the first delivery may just have arrived
        if len(self._pending) >= self.batch_size or time.monotonic() >= due:
            batch, self._pending = self._pending[: self.batch_size], self._pending[self.batch_size :]
            self._first_at = time.monotonic()
            self._process(batch)

    def _connect(self) -> None:
        self._close()
        self._connection = connect(self.settings.amqp_url, name=self.name)
        # checked, not declared (`yunkefu broker setup` did): raises TopologyMissing, and run() retries
        topology.require(self._connection, self.settings, self.settings.service, self.routing_keys)
        channel = self._connection.channel()
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
        # delivery tags belong to the channel: after a reconnect the broker redelivers these
        self._pending = []
        if connection is not None and connection.is_open:
            try:
                # unacknowledged deliveries go back to the queue when the connection closes
                connection.close()
            except Exception:
                log.debug("error closing the consumer connection", exc_info=True)

    def _on_message(self, _channel: Any, method: Any, properties: pika.BasicProperties, body: bytes) -> None:
        # no I/O here: an ack from inside pika's dispatch lets it read (and dispatch) more deliveries,
        # and with a backlog the dispatch would never return to the loop that checks the stop flag
        if not self._pending:
            self._first_at = time.monotonic()
        headers = dict(properties.headers or {})
        self._pending.append(
            Delivery(
                tag=method.delivery_tag,
                properties=properties,
                body=body,
                headers=headers,
                attempts=int(headers.get(ATTEMPTS_HEADER, 0)),
            )
        )

    # --- one batch -----------------------------------------------------------------------------------

    def _process(self, batch: list[Delivery]) -> None:
        done = handle_batch(self.database, self.handlers, batch, should_stop=self.stop_event.is_set)
        finished = batch[:done]
        for delivery in finished:
            self._settle(delivery)
        if finished:
            # every earlier tag of this channel was acknowledged with an earlier batch
            self._channel.basic_ack(finished[-1].tag, multiple=True)
        if done < len(batch):
            log.info("stopping: %d deliveries of the batch go back to the queue", len(batch) - done)

    def _settle(self, delivery: Delivery) -> None:
        """Count the outcome and publish what has to go elsewhere (confirmed, before the ack)."""
        service = self.settings.service
        envelope = delivery.envelope
        event_type = envelope.type if envelope is not None else "?"
        if delivery.outcome == HANDLED:
            CONSUMED.labels(service, event_type).inc()
        elif delivery.outcome == DUPLICATE:
            DUPLICATES.labels(service).inc()
            log.info("duplicate event %s (%s) skipped", envelope.id if envelope else "?", event_type)
        elif delivery.outcome == PARK:
            self._park(delivery, delivery.attempts + 1, delivery.error)
        elif delivery.outcome == RETRY:
            FAILED.labels(service, event_type).inc()
            attempts = delivery.attempts + 1
            event_id = envelope.id if envelope else "?"
            if attempts >= self.settings.max_delivery_attempts:
                log.error("event %s (%s) failed for the last time: %s", event_id, event_type, delivery.error)
                self._park(delivery, attempts, delivery.error)
            else:
                log.warning(
                    "event %s (%s) failed (attempt %d of %d): %s",
                    event_id,
                    event_type,
                    attempts,
                    self.settings.max_delivery_attempts,
                    delivery.error,
                )
                # a replayed or pre-upgrade message may count more tries than there are queues
                queue = self.retry_queues[min(delivery.attempts, len(self.retry_queues) - 1)]
                self._republish(queue, delivery, attempts, delivery.error)

    def _park(self, delivery: Delivery, attempts: int, error: str) -> None:
        DEAD.labels(self.settings.service).inc()
        log.error("message %s parked in %s: %s", delivery.properties.message_id, self.names.dlq, error)
        self._republish(self.names.dlq, delivery, attempts, error)

    def _republish(self, queue: str, delivery: Delivery, attempts: int, error: str) -> None:
        properties = delivery.properties
        headers = {
            **delivery.headers,
            ATTEMPTS_HEADER: attempts,
            "x-last-error": error[:2000],
            "x-failed-at": dt.datetime.now(dt.UTC).isoformat(),
            "x-service": self.settings.service,
        }
        # confirmed publish before the ack: if this raises, the original is redelivered, not lost
        self._confirm_channel.basic_publish(
            exchange="",
            routing_key=queue,
            body=delivery.body,
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
