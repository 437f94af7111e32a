"""The consumer's batches (issue 16): one transaction per batch with a savepoint per event, inbox rows in
bulk, one acknowledgement after the commit, and a stop that takes effect under a backlog. On real
PostgreSQL and RabbitMQ; the batch transaction also on SQLite (the embedded ``make run``)."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pika
import pytest
from sqlalchemy import select

from shared.config import Settings
from shared.db import Database, platform_metadata
from shared.events import topology
from shared.events.consumer import (
    DUPLICATE,
    HANDLED,
    PARK,
    RETRY,
    Consumer,
    Delivery,
    handle_batch,
    inbox,
)
from shared.events.envelope import Event, build_envelope
from shared.events.outbox import outbox
from shared.uow import UnitOfWork
from tests.integration import busapp
from tests.integration.busapp import EVENT, Ping, handled_seqs
from tests.support import wait_until

#: an offset for the events the test handler emits, so they cannot be mistaken for the consumed ones
EMITTED = 100_000


@pytest.fixture()
def settings(make_database: Callable[[str], str], amqp_url: str, unique_prefix: str) -> Settings:
    return Settings(
        service=busapp.SERVICE,
        database_url=make_database(f"batch{uuid.uuid4().hex[:6]}"),
        amqp_url=amqp_url,
        broker_prefix=unique_prefix,
        broker_topology="declare",  # busapp is no catalogued service: its processes declare
        queue_type=os.environ["QUEUE_TYPE"],  # the suite's (tests/conftest.py)
        max_delivery_attempts=3,
        retry_delay_ms=200,
        retry_total_seconds=1.0,
        consumer_prefetch=200,
        log_json=False,
    )


def _open(url: str) -> Database:
    database = Database(url)
    platform_metadata.create_all(database.engine)
    busapp.Base.metadata.create_all(database.engine)
    return database


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> Iterator[Database]:
    url = settings.database_url if request.param == "postgresql" else f"sqlite:///{tmp_path}/batch.db"
    db = _open(url)
    busapp.ATTEMPTS.clear()
    yield db
    db.dispose()


@pytest.fixture()
def pg(settings: Settings) -> Iterator[Database]:
    db = _open(settings.database_url)
    busapp.ATTEMPTS.clear()
    busapp.FAIL_ALWAYS.clear()
    yield db
    busapp.FAIL_ALWAYS.clear()
    db.dispose()


def _delivery(tag: int, body: bytes) -> Delivery:
    return Delivery(tag=tag, properties=pika.BasicProperties(), body=body)


def _writes_and_emits(failing: set[int]) -> Callable[[UnitOfWork, Event], None]:
    def handle(uow: UnitOfWork, event: Event) -> None:
        seq = event.data["seq"]
        uow.session.add(Ping(event_id=event.id, seq=seq, envelope="{}"))
        uow.emit(EVENT, {"seq": EMITTED + seq})
        uow.flush()  # the failure comes after the writes reached the database
        if seq in failing:
            raise RuntimeError(f"ping {seq} fails")

    return handle


# --- one batch, one transaction ---------------------------------------------------------------------------


def test_a_failing_handler_rolls_back_only_its_own_writes_outbox_and_inbox_row(database: Database) -> None:
    envelopes = [build_envelope(EVENT, {"seq": seq}) for seq in range(5)]
    bodies = [e.to_json().encode() for e in envelopes]
    batch = [_delivery(tag, body) for tag, body in enumerate(bodies, start=1)]
    batch.append(_delivery(6, bodies[0]))  # the same event twice in one batch
    batch.append(_delivery(7, b"{not json"))
    invalid = {**build_envelope(EVENT, {"seq": 9}).to_dict(), "data": {"seq": "x"}}
    batch.append(_delivery(8, json.dumps(invalid).encode()))

    done = handle_batch(database, {EVENT: _writes_and_emits({2})}, batch)

    assert done == len(batch)
    assert [d.outcome for d in batch] == [HANDLED, HANDLED, RETRY, HANDLED, HANDLED, DUPLICATE, PARK, PARK]
    assert "ping 2 fails" in batch[2].error
    assert "InvalidEnvelope" in batch[6].error and "InvalidEventData" in batch[7].error
    with database.session() as session:
        assert handled_seqs(session) == [0, 1, 3, 4]
        assert set(session.scalars(select(inbox.c.event_id))) == {envelopes[i].id for i in (0, 1, 3, 4)}
        emitted = sorted(json.loads(p)["data"]["seq"] for p in session.scalars(select(outbox.c.payload)))
    assert emitted == [EMITTED + i for i in (0, 1, 3, 4)]

    # the failed one, delivered again with the others: it runs, the rest are duplicates
    again = [_delivery(tag, body) for tag, body in enumerate(bodies, start=10)]
    handle_batch(database, {EVENT: _writes_and_emits(set())}, again)
    assert [d.outcome for d in again] == [DUPLICATE, DUPLICATE, HANDLED, DUPLICATE, DUPLICATE]
    with database.session() as session:
        assert handled_seqs(session) == [0, 1, 2, 3, 4]
        assert len(list(session.scalars(select(inbox.c.event_id)))) == 5


def test_a_write_that_fails_only_when_flushed_is_pinned_on_its_own_event(database: Database) -> None:
    def handle(uow: UnitOfWork, event: Event) -> None:
        # seq 1 and 2 write the same primary key: the error surfaces at the flush, after both ran
        key = "same" if event.data["seq"] in (1, 2) else event.id
        uow.session.add(Ping(event_id=key, seq=event.data["seq"], envelope="{}"))

    batch = [_delivery(tag, build_envelope(EVENT, {"seq": tag}).to_json().encode()) for tag in (0, 1, 2, 3)]
    assert handle_batch(database, {EVENT: handle}, batch) == 4

    assert [d.outcome for d in batch] == [HANDLED, HANDLED, RETRY, HANDLED]
    assert "IntegrityError" in batch[2].error
    with database.session() as session:
        assert handled_seqs(session) == [0, 1, 3]
        assert len(list(session.scalars(select(inbox.c.event_id)))) == 3


def test_a_stop_between_events_leaves_the_rest_of_the_batch_unhandled_and_without_inbox_rows(
    database: Database,
) -> None:
    stop = threading.Event()

    def handle(uow: UnitOfWork, event: Event) -> None:
        _writes_and_emits(set())(uow, event)
        stop.set()  # SIGTERM while the first event is in hand

    batch = [_delivery(tag, build_envelope(EVENT, {"seq": tag}).to_json().encode()) for tag in (1, 2, 3)]
    done = handle_batch(database, {EVENT: handle}, batch, should_stop=stop.is_set)

    assert done == 1
    assert batch[0].outcome == HANDLED
    with database.session() as session:
        assert handled_seqs(session) == [1]
        assert list(session.scalars(select(inbox.c.event_id))) == [batch[0].envelope.id]  # type: ignore[union-attr]


def test_when_the_batch_transaction_fails_every_event_goes_to_retry() -> None:
    unreachable = Database("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    try:
        batch = [_delivery(tag, build_envelope(EVENT, {"seq": tag}).to_json().encode()) for tag in (1, 2)]
        batch.append(_delivery(3, b"[]"))
        assert handle_batch(unreachable, {EVENT: _writes_and_emits(set())}, batch) == 3
    finally:
        unreachable.dispose()
    assert [d.outcome for d in batch] == [RETRY, RETRY, PARK]
    assert "OperationalError" in batch[0].error


# --- through the broker ------------------------------------------------------------------------------------


def _publish(settings: Settings, seqs: range, extra: dict[int, dict[str, object]] | None = None) -> list[str]:
    """Put events straight into the service's queue; returns their ids once the queue holds them all."""
    connection = pika.BlockingConnection(pika.URLParameters(settings.amqp_url))
    try:
        channel = connection.channel()
        names = topology.declare_service(channel, settings, busapp.SERVICE)
        ids = []
        for seq in seqs:
            envelope = build_envelope(EVENT, {"seq": seq, **(extra or {}).get(seq, {})})
            ids.append(envelope.id)
            channel.basic_publish(
                "",
                names.main,
                envelope.to_json().encode(),
                pika.BasicProperties(message_id=envelope.id, type=EVENT, delivery_mode=2),
            )
        wait_until(
            lambda: channel.queue_declare(names.main, passive=True).method.message_count == len(ids),
            what="every event in the queue",
        )
        return ids
    finally:
        connection.close()


def _drain(settings: Settings) -> list[str]:
    connection = pika.BlockingConnection(pika.URLParameters(settings.amqp_url))
    try:
        channel = connection.channel()
        queue = topology.QueueNames(settings.broker_prefix, busapp.SERVICE).main
        ids = []
        while True:
            method, _properties, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return ids
            ids.append(json.loads(body)["id"])
    finally:
        connection.close()


def _start(consumer: Consumer) -> threading.Thread:
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    assert consumer.ready.wait(20), "the consumer did not connect"
    return thread


def _handled_ids(database: Database) -> list[str]:
    with database.session() as session:
        return list(session.scalars(select(Ping.event_id)))


def test_stop_under_a_backlog_returns_and_loses_or_doubles_nothing(settings: Settings, pg: Database) -> None:
    total = 5000
    ids = _publish(settings, range(total))
    consumer = Consumer(pg, settings, busapp.SPEC.handlers)
    thread = _start(consumer)
    wait_until(lambda: len(_handled_ids(pg)) > 0, what="the consumer to be handling the backlog")
    consumer.stop()
    # a liveness bound, not a performance figure: before the batches, run() never returned under a backlog
    thread.join(10)
    assert not thread.is_alive(), "stop() had no effect while the backlog kept the consumer busy"

    handled = _handled_ids(pg)
    with pg.session() as session:
        in_inbox = set(session.scalars(select(inbox.c.event_id)))
    left = _drain(settings)  # what the broker took back: the unacknowledged deliveries are requeued
    assert len(handled) == len(set(handled)) == len(in_inbox)
    assert in_inbox == set(handled)
    assert set(handled).isdisjoint(left) and len(left) == len(set(left))
    assert set(handled) | set(left) == set(ids), "every event is either handled or back in the queue"
    assert left, "the stop must have come with a backlog still queued"
    assert set(busapp.ATTEMPTS.values()) == {1}, "no event was handled twice"


def test_a_failure_in_a_batch_is_retried_alone_and_every_event_is_handled_once(
    settings: Settings, pg: Database
) -> None:
    total = 300
    ids = _publish(settings, range(total), {17: {"fail_times": 2}, 150: {"fail_times": 1}})
    consumer = Consumer(pg, settings, busapp.SPEC.handlers)
    thread = _start(consumer)
    try:
        wait_until(lambda: len(_handled_ids(pg)) == total, what="every event handled")
    finally:
        consumer.stop()
        thread.join(15)
    assert sorted(_handled_ids(pg)) == sorted(ids)
    # the failing events' batch mates ran a second time after a rollback at most; each committed once
    attempts = {busapp.ATTEMPTS[event_id] for i, event_id in enumerate(ids) if i not in (17, 150)}
    assert attempts <= {1, 2}
    assert busapp.ATTEMPTS[ids[17]] == 3 and busapp.ATTEMPTS[ids[150]] == 2
    with pg.session() as session:
        assert len(list(session.scalars(select(inbox.c.event_id)))) == total
    assert _drain(settings) == []
