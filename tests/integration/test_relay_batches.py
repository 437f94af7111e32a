"""The relay's batches on real PostgreSQL and RabbitMQ: asynchronous confirms, several batches in flight,
nothing marked before the broker confirmed it, nothing lost when a batch fails half-way through the pipeline.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection

from shared.config import Settings
from shared.db import Database, platform_metadata
from shared.events import topology
from shared.events.outbox import add_event, outbox_stats
from shared.events.publisher import (
    CONNECTION_ERRORS,
    BatchPublisher,
    Confirms,
    InFlight,
    OutgoingMessage,
    PublisherClosed,
    PublishOutcome,
)
from shared.events.relay import PIPELINE_DEPTH, Relay
from tests.integration import busapp
from tests.integration.busapp import EVENT

_counter = itertools.count()


class Tap:
    """A queue of the test's own bound to ``bus.ping``: what the relay really put on the exchange."""

    def __init__(self, settings: Settings) -> None:
        self.connection: BlockingConnection = pika.BlockingConnection(pika.URLParameters(settings.amqp_url))
        self.channel: BlockingChannel = self.connection.channel()
        self.exchange = topology.exchange_name(settings.broker_prefix)
        self.queue = f"{settings.broker_prefix}.tap"
        self.channel.exchange_declare(self.exchange, "topic", durable=True)
        self.channel.queue_declare(self.queue, durable=True)
        self.channel.queue_bind(self.queue, self.exchange, EVENT)

    def take(self) -> list[dict[str, object]]:
        """Every envelope in the queue, in queue order."""
        taken = []
        while True:
            method, _props, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                return taken
            taken.append(json.loads(body))

    def close(self) -> None:
        if self.connection.is_open:
            self.channel.queue_delete(self.queue)
            self.connection.close()


@pytest.fixture()
def settings(make_database: Callable[[str], str], unique_prefix: str) -> Settings:
    return Settings(
        service=busapp.SERVICE,
        database_url=make_database(f"relaybatch{next(_counter)}"),
        amqp_url=os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"),
        broker_prefix=unique_prefix,
        broker_topology="declare",  # busapp is no catalogued service: its processes declare
        queue_type=os.environ["QUEUE_TYPE"],  # the suite's (tests/conftest.py)
        relay_poll_interval=0.02,
        relay_max_backoff=2.0,
        log_json=False,
    )


@pytest.fixture()
def database(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database_url)
    platform_metadata.create_all(database.engine)
    yield database
    database.dispose()


@pytest.fixture()
def tap(settings: Settings) -> Iterator[Tap]:
    tap = Tap(settings)
    yield tap
    tap.close()


@pytest.fixture()
def publisher(settings: Settings) -> Iterator[BatchPublisher]:
    publisher = BatchPublisher(settings.amqp_url, name="test-publisher")
    yield publisher
    publisher.close()


def produce(database: Database, count: int) -> None:
    with database.session() as session:
        for seq in range(count):
            add_event(session, EVENT, {"seq": seq})


def pending(database: Database) -> int:
    with database.session() as session:
        return outbox_stats(session).pending


def pings(exchange: str, seqs: range, routing_key: str = EVENT) -> list[OutgoingMessage]:
    return [
        OutgoingMessage(exchange, routing_key, json.dumps({"seq": s}).encode(), message_id=f"m-{s}")
        for s in seqs
    ]


# --- delivery tags (no broker) ------------------------------------------------------------------------------


def test_acks_and_nacks_are_matched_to_their_batches_by_delivery_tag_in_any_order() -> None:
    confirms = Confirms()
    a, b, c = (InFlight([f"{name}{i}" for i in range(n)]) for name, n in (("a", 3), ("b", 4), ("c", 2)))
    for batch in (a, b, c):
        confirms.add(batch)
    assert (a.first_tag, b.first_tag, c.first_tag) == (1, 4, 8)

    confirms.confirm(5, multiple=True, nack=False)  # a whole, the first two of b
    assert a.done.is_set() and not a.nacked
    assert not b.done.is_set() and b.low == 2
    confirms.confirm(7, multiple=False, nack=True)  # b's last, out of order
    confirms.confirm(9, multiple=False, nack=False)  # c's last, before c's first
    assert not b.done.is_set() and not c.done.is_set()
    confirms.confirm(6, multiple=False, nack=False)
    assert b.done.is_set() and b.nacked == {3}
    confirms.confirm(8, multiple=True, nack=True)  # covers only what was still unconfirmed
    assert c.done.is_set() and c.nacked == {0}
    assert b.nacked == {3} and len(confirms) == 0


def test_a_lost_channel_fails_every_batch_not_wholly_confirmed() -> None:
    confirms = Confirms()
    first, second = InFlight(["x", "y"]), InFlight(["z"])
    confirms.add(first)
    confirms.add(second)
    confirms.confirm(2, multiple=True, nack=False)
    confirms.fail_all(PublisherClosed("gone"))
    assert first.done.is_set() and first.error is None
    assert second.done.is_set() and isinstance(second.error, PublisherClosed)
    assert len(confirms) == 0


# --- the publisher ----------------------------------------------------------------------------------------


def test_a_batch_is_confirmed_whole_and_an_unroutable_message_in_it_is_reported(
    publisher: BatchPublisher, tap: Tap
) -> None:
    messages = pings(tap.exchange, range(200))
    messages.insert(100, pings(tap.exchange, range(999, 1000), routing_key="no.such.type")[0])
    outcomes = publisher.publish(messages)
    assert [o.message_id for o in outcomes] == [m.message_id for m in messages]
    failed = [o for o in outcomes if not o.ok]
    assert [o.message_id for o in failed] == ["m-999"]
    assert failed[0].error is not None and "unroutable" in failed[0].error and "NO_ROUTE" in failed[0].error
    assert [m["seq"] for m in tap.take()] == list(range(200))


def test_several_batches_in_flight_are_each_confirmed_and_arrive_in_order(
    publisher: BatchPublisher, tap: Tap
) -> None:
    batches = [publisher.send(pings(tap.exchange, range(k * 300, (k + 1) * 300))) for k in range(4)]
    results: list[list[PublishOutcome]] = [publisher.wait(b) for b in reversed(batches)]
    assert all(o.ok for outcomes in results for o in outcomes)
    assert [len(outcomes) for outcomes in results] == [300] * 4
    assert [m["seq"] for m in tap.take()] == list(range(1200))
    assert publisher.publish([]) == []


def test_a_channel_the_broker_closes_fails_the_batch_and_the_publisher(
    publisher: BatchPublisher, tap: Tap
) -> None:
    batch = publisher.send(pings(f"{tap.exchange}.missing", range(10)))
    with pytest.raises(CONNECTION_ERRORS):
        publisher.wait(batch, timeout=20)
    publisher.close()
    assert not publisher.is_open
    with pytest.raises(PublisherClosed):
        publisher.send(pings(tap.exchange, range(1)))


# --- the relay ------------------------------------------------------------------------------------------


def test_the_pipelined_relay_publishes_every_row_once_in_id_order(
    settings: Settings, database: Database, tap: Tap
) -> None:
    produce(database, 2_450)
    relay = Relay(database, replace(settings, relay_batch_size=200))
    relay.connect()
    try:
        assert relay.drain() == 2_450
    finally:
        relay.close()
    assert pending(database) == 0
    assert [m["data"]["seq"] for m in tap.take()] == list(range(2_450))  # type: ignore[index]


def test_a_batch_failing_before_its_mark_leaves_it_and_the_batches_behind_it_pending(
    settings: Settings, database: Database, tap: Tap
) -> None:
    produce(database, 1_000)
    relay = Relay(database, replace(settings, relay_batch_size=100))
    confirmed: list[int] = []

    def crash_on_third(outcomes: list[PublishOutcome]) -> None:
        confirmed.append(len(outcomes))
        if len(confirmed) == 3:
            raise RuntimeError("simulated crash after the broker confirmed, before marking")

    relay.after_publish = crash_on_third
    relay.connect()
    try:
        with pytest.raises(RuntimeError, match="simulated crash"):
            relay.drain()
        # the first two were marked; the third and the ones claimed behind it were rolled back
        assert pending(database) == 1_000 - 2 * 100
        relay.after_publish = None
        assert relay.drain() == 800
    finally:
        relay.close()
    assert pending(database) == 0
    seqs = [m["data"]["seq"] for m in tap.take()]  # type: ignore[index]
    assert set(seqs) == set(range(1_000))
    assert 1_000 + 100 <= len(seqs) <= 1_000 + PIPELINE_DEPTH * 100  # duplicates, for the inbox to absorb


def test_a_connection_lost_mid_drain_loses_nothing_and_the_relay_goes_on_after_reconnecting(
    settings: Settings, database: Database, tap: Tap
) -> None:
    produce(database, 1_000)
    relay = Relay(database, replace(settings, relay_batch_size=100))

    def drop_the_connection(_outcomes: list[PublishOutcome]) -> None:
        assert relay._publisher is not None
        relay._publisher.close()  # what a broker restart does to the batches still in flight

    relay.after_publish = drop_the_connection
    relay.connect()
    try:
        with pytest.raises(CONNECTION_ERRORS):
            relay.drain()
        # the batch confirmed before the drop was marked; the ones still in flight were rolled back
        assert 1_000 - PIPELINE_DEPTH * 100 <= pending(database) <= 1_000 - 100
        relay.after_publish = None
        relay.connect()
        assert relay.connects == 2
        relay.drain()
    finally:
        relay.close()
    assert pending(database) == 0
    assert set(m["data"]["seq"] for m in tap.take()) == set(range(1_000))  # type: ignore[index]


def test_three_pipelined_relays_publish_each_row_exactly_once(
    settings: Settings, database: Database, tap: Tap
) -> None:
    produce(database, 4_000)
    relays = [Relay(database, replace(settings, relay_batch_size=64), name=f"r{i}") for i in range(3)]
    for relay in relays:
        relay.connect()
    try:
        with ThreadPoolExecutor(3) as pool:
            counts = list(pool.map(lambda r: r.drain(), relays))
        # a relay that came back short stops; whatever another still held is left for the next poll
        while pending(database):
            counts.append(relays[0].drain())
    finally:
        for relay in relays:
            relay.close()
    assert sum(counts) == 4_000
    ids = [m["id"] for m in tap.take()]
    assert len(ids) == len(set(ids)) == 4_000


def test_on_sqlite_the_relay_publishes_batch_after_batch(
    settings: Settings, tmp_path: Path, tap: Tap
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'relay.db'}")
    platform_metadata.create_all(database.engine)
    try:
        produce(database, 450)
        relay = Relay(database, replace(settings, relay_batch_size=100))
        relay.connect()
        try:
            assert relay.drain() == 450
        finally:
            relay.close()
        assert pending(database) == 0
    finally:
        database.dispose()
    assert [m["data"]["seq"] for m in tap.take()] == list(range(450))  # type: ignore[index]
