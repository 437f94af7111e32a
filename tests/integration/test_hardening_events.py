"""Issue 13 hardening of the event machinery: growing retry delays (item 16) and the retention purges of
the outbox, the inbox and the idempotency keys (item 14), on real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import threading
import uuid
from collections.abc import Callable, Iterator

import pika
import pytest
from sqlalchemy import func, insert, select, text

from shared import retention
from shared.config import ConfigError, Settings
from shared.db import Database, platform_metadata, utcnow
from shared.events import topology
from shared.events.consumer import Consumer, inbox
from shared.events.envelope import build_envelope
from shared.events.outbox import outbox
from shared.web.idempotency import idempotency_keys
from shared.worker import JOB_RUNS, Scheduler, Worker
from tests.integration import busapp
from tests.support import wait_until


@pytest.fixture()
def settings(make_database: Callable[[str], str], amqp_url: str, unique_prefix: str) -> Settings:
    return Settings(
        service=busapp.SERVICE,
        database_url=make_database(f"hard{uuid.uuid4().hex[:6]}"),
        amqp_url=amqp_url,
        broker_prefix=unique_prefix,
        broker_topology="declare",  # busapp is no catalogued service: its processes declare
        queue_type=os.environ["QUEUE_TYPE"],  # the suite's (tests/conftest.py)
        max_delivery_attempts=3,
        retry_delay_ms=200,
        retry_total_seconds=1.0,
        log_json=False,
    )


@pytest.fixture()
def database(settings: Settings) -> Iterator[Database]:
    db = Database(settings.database_url)
    platform_metadata.create_all(db.engine)
    busapp.Base.metadata.create_all(db.engine)
    yield db
    db.dispose()


# --- item 16: growing retry delays ----------------------------------------------------------------------


def test_retry_delays_rise_from_the_first_delay_and_add_up_to_the_budget() -> None:
    base = Settings(service="x", database_url="sqlite://")
    assert topology.retry_delays_ms(base) == sorted(topology.retry_delays_ms(base))
    delays = topology.retry_delays_ms(base)
    assert len(delays) == base.max_delivery_attempts - 1
    assert delays[0] == base.retry_delay_ms
    assert delays[-1] > 10 * delays[0]  # a database outage of minutes is ridden out, not parked
    assert sum(delays) == base.retry_total_seconds * 1000
    short = dataclasses.replace(base, max_delivery_attempts=3, retry_delay_ms=200, retry_total_seconds=1.0)
    assert topology.retry_delays_ms(short) == [200, 800]
    assert topology.retry_delays_ms(dataclasses.replace(base, max_delivery_attempts=1)) == []
    with pytest.raises(ValueError, match="RETRY_TOTAL_SECONDS"):
        topology.retry_delays_ms(dataclasses.replace(base, retry_total_seconds=1.0))


def test_a_failing_delivery_waits_in_one_retry_queue_per_attempt_with_rising_ttls(
    settings: Settings, database: Database
) -> None:
    busapp.FAIL_ALWAYS.add(41)
    consumer = Consumer(database, settings, busapp.SPEC.handlers)
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    connection = pika.BlockingConnection(pika.URLParameters(settings.amqp_url))
    try:
        assert consumer.ready.wait(20), "the consumer did not connect"
        channel = connection.channel()
        topology.declare_all(channel, settings)
        envelope = build_envelope(busapp.EVENT, {"seq": 41})
        channel.basic_publish(
            topology.exchange_name(settings.broker_prefix),
            busapp.EVENT,
            envelope.to_json().encode(),
            pika.BasicProperties(message_id=envelope.id, type=busapp.EVENT),
        )
        names = topology.QueueNames(settings.broker_prefix, busapp.SERVICE)

        def parked() -> object:
            method, properties, _body = channel.basic_get(names.dlq, auto_ack=True)
            return properties if method is not None else None

        properties = wait_until(parked, what="the message in the dead-letter queue")
        deaths = {d["queue"]: d for d in properties.headers["x-death"]}
        assert set(deaths) == {names.retry(200), names.retry(800)}
        assert all(d["reason"] == "expired" and d["count"] == 1 for d in deaths.values())
        assert properties.headers["x-attempts"] == 3
        for delay in (200, 800):
            frame = channel.queue_declare(names.retry(delay), passive=True)
            assert frame.method.message_count == 0
    finally:
        consumer.stop()
        thread.join(15)
        busapp.FAIL_ALWAYS.clear()
        connection.close()


def test_changing_the_retry_settings_declares_new_queues_instead_of_being_refused(
    settings: Settings,
) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(settings.amqp_url))
    try:
        channel = connection.channel()
        topology.declare_service(channel, settings, busapp.SERVICE)
        longer = dataclasses.replace(settings, retry_total_seconds=3.0, max_delivery_attempts=4)
        # a TTL change on an existing queue would close the channel with PRECONDITION_FAILED
        topology.declare_service(channel, longer, busapp.SERVICE)
        names = topology.QueueNames(settings.broker_prefix, busapp.SERVICE)
        for queue in topology.retry_queues(names, settings) + topology.retry_queues(names, longer):
            channel.queue_declare(queue, passive=True)
        assert channel.is_open
    finally:
        connection.close()


def test_a_stopping_consumer_gives_its_prefetched_deliveries_back_instead_of_handling_them(
    settings: Settings, database: Database
) -> None:
    handled: list[str] = []
    consumer: Consumer | None = None

    def handle(_session: object, envelope: object) -> None:
        handled.append(envelope.id)  # type: ignore[attr-defined]
        assert consumer is not None
        consumer.stop()  # SIGTERM while the first delivery is in hand

    connection = pika.BlockingConnection(pika.URLParameters(settings.amqp_url))
    try:
        channel = connection.channel()
        names = topology.declare_service(channel, settings, busapp.SERVICE)
        channel.confirm_delivery()
        for seq in range(5):
            envelope = build_envelope(busapp.EVENT, {"seq": seq})
            channel.basic_publish(
                "",
                names.main,
                envelope.to_json().encode(),
                pika.BasicProperties(message_id=envelope.id, type=busapp.EVENT),
            )
        consumer = Consumer(database, settings, {busapp.EVENT: handle})
        thread = threading.Thread(target=consumer.run, daemon=True)
        thread.start()
        thread.join(30)
        assert not thread.is_alive()
        assert len(handled) == 1
        assert channel.queue_declare(names.main, passive=True).method.message_count == 4
    finally:
        connection.close()


# --- item 14: retention purges ---------------------------------------------------------------------------


def _fill(database: Database, now: dt.datetime) -> None:
    old, recent = now - dt.timedelta(days=30), now - dt.timedelta(minutes=5)
    outbox_rows = [(old, old)] * 5 + [(recent, recent), (old, None)]  # (created, published)
    with database.session() as session:
        session.execute(
            insert(outbox),
            [
                {
                    "event_id": str(uuid.uuid4()),
                    "event_type": busapp.EVENT,
                    "payload": "{}",
                    "correlation_id": "c",
                    "created_at": created,
                    "published_at": published,
                    "attempts": 0,
                }
                for created, published in outbox_rows
            ],
        )
        session.execute(
            insert(inbox),
            [
                {"event_id": str(uuid.uuid4()), "event_type": busapp.EVENT, "received_at": at}
                for at in [old] * 5 + [recent]
            ],
        )
        session.execute(
            insert(idempotency_keys),
            [
                {
                    "key": f"k{i}",
                    "principal": "p",
                    "method": "POST",
                    "path": "/x",
                    "request_hash": "h",
                    "created_at": at,
                }
                for i, at in enumerate([old] * 5 + [recent])
            ],
        )


def _counts(database: Database) -> dict[str, int]:
    with database.session() as session:
        return {
            "published": session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_not(None))
            ),
            "pending": session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            ),
            "inbox": session.scalar(select(func.count()).select_from(inbox)),
            "keys": session.scalar(select(func.count()).select_from(idempotency_keys)),
        }


def test_the_worker_purges_old_published_outbox_rows_inbox_rows_and_keys_in_batches(
    settings: Settings, database: Database
) -> None:
    _fill(database, utcnow())
    assert _counts(database) == {"published": 6, "pending": 1, "inbox": 6, "keys": 6}
    purged_before = {
        table: retention.PURGED.labels(busapp.SERVICE, table)._value.get()
        for table in ("outbox", "inbox", "idempotency_keys")
    }
    stop = threading.Event()
    scheduler = Scheduler(
        database,
        busapp.SERVICE,
        [],
        stop,
        purges=retention.purges(settings),
        purge_interval=3600,
        purge_batch_size=2,  # five old rows: three batches per table
    )
    thread = threading.Thread(target=scheduler.run, daemon=True)
    thread.start()
    try:
        expected = {"published": 1, "pending": 1, "inbox": 1, "keys": 1}
        wait_until(lambda: _counts(database) == expected, what="the old rows purged")
        wait_until(
            lambda: JOB_RUNS.labels(busapp.SERVICE, "purge.idempotency_keys", "ok")._value.get() > 0,
            what="the last purge job reported",
        )
    finally:
        stop.set()
        thread.join(15)
    for table, before in purged_before.items():
        assert retention.PURGED.labels(busapp.SERVICE, table)._value.get() == before + 5


def test_a_purge_waits_for_the_worker_already_purging_that_table(
    settings: Settings, database: Database
) -> None:
    _fill(database, utcnow())
    purge = next(p for p in retention.purges(settings) if p.table is outbox)
    with database.session() as holder:  # another worker's purge transaction, mid-batch
        holder.execute(text("SELECT pg_advisory_xact_lock(hashtext('yunkefu:purge.outbox'))"))
        assert retention.run_purge(database, busapp.SERVICE, purge, batch_size=100) is None
        assert _counts(database)["published"] == 6
    assert retention.run_purge(database, busapp.SERVICE, purge, batch_size=100) == 5


def test_a_retention_of_zero_keeps_the_table_and_the_inbox_must_outlive_the_retry_window(
    settings: Settings, database: Database
) -> None:
    keep = dataclasses.replace(settings, outbox_retention_hours=0, idempotency_retention_hours=0)
    assert [p.table.name for p in retention.purges(keep)] == ["inbox"]
    assert retention.check_settings(settings) == []

    too_short = dataclasses.replace(settings, retry_total_seconds=7200.0, inbox_retention_hours=2)
    problems = retention.check_settings(too_short)
    assert any("INBOX_RETENTION_HOURS" in p for p in problems)
    with pytest.raises(ConfigError, match="INBOX_RETENTION_HOURS"):
        Worker(busapp.SPEC, too_short, database=database).start()

    bad = dataclasses.replace(
        settings, idempotency_retention_hours=1, purge_batch_size=0, outbox_retention_hours=-1
    )
    problems = " ".join(retention.check_settings(bad))
    for name in ("IDEMPOTENCY_RETENTION_HOURS", "PURGE_BATCH_SIZE", "OUTBOX_RETENTION_HOURS"):
        assert name in problems
