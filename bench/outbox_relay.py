"""Benchmark (not a test): the outbox relay against raw pika publishing, measured in the same run.

Each round, on PostgreSQL + RabbitMQ, with the same 1 KB envelopes and message properties (persistent,
message id, type, correlation id), published to the same durable queue:

- (a) raw ``basic_publish`` without confirms on a blocking channel (the issue's anchor);
- (c) raw ``basic_publish`` without confirms on pika's asynchronous ``SelectConnection``, the adapter the
  relay's publisher runs on — the strongest pika baseline, reported beside (a) so that the ratio does not
  flatter the relay;
- (b) ``basic_publish`` with one publisher confirm per message (pika's blocking ``confirm_delivery``);
- the relay: N pending outbox rows claimed, published with confirms and marked published, timed from the
  first claim until the last row is marked; the queue must then hold exactly N messages, the outbox none.

Each measure reports the rate achieved in the round whose ratio is the median of ``--rounds`` (product and
baseline from the same round). Target (issue 16): relay ≥ 50% of (a); the bench also holds it to 50% of (c)
and to 8× (b) (issue 3). The consumer is measured by ``bench/consumer.py``. Its database, queues and
exchange are deleted however the run ends (``bench/_support.py``); its own broker connection answers
heartbeats during every phase and is reopened if the broker closed it; a round during which someone else
closed the broker's connections is repeated (say so in the output).

    python bench/outbox_relay.py [--events 20000] [--confirm-sample 3000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pika
from marshmallow import Schema, fields
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.adapters.select_connection import SelectConnection
from pika.channel import Channel
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._support import Result, Scratch, report
from shared.config import Settings
from shared.db import Database, platform_metadata, utcnow
from shared.events import catalogue, topology
from shared.events.envelope import Envelope, build_envelope
from shared.events.outbox import outbox, outbox_stats
from shared.events.publisher import CONNECTION_ERRORS, OutgoingMessage, connect, parameters
from shared.events.relay import Relay

BENCH = "outbox_relay"
SERVICE = "benchsvc"
EVENT = "bench.tick"
BODY_BYTES = 1024


class TickData(Schema):
    seq = fields.Integer(required=True)
    pad = fields.String(required=True)


catalogue.register(catalogue.EventType(EVENT, 1, "benchprod", (SERVICE,), TickData, "benchmark only"))


def envelope_of(seq: int) -> Envelope:
    """An envelope of exactly ``BODY_BYTES`` bytes of JSON."""
    bare = build_envelope(EVENT, {"seq": seq, "pad": ""})
    pad = "x" * (BODY_BYTES - len(bare.to_json().encode()))
    envelope = build_envelope(
        EVENT,
        {"seq": seq, "pad": pad},
        correlation_id=bare.correlation_id,
        occurred_at=dt.datetime.fromisoformat(bare.occurred_at),
    )
    assert len(envelope.to_json().encode()) == BODY_BYTES
    return envelope


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


class Broker:
    """The bench's own connection, for the baselines and the queue checks; reopened when it was closed."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.queue = topology.QueueNames(settings.broker_prefix, SERVICE).main
        self.exchange = topology.exchange_name(settings.broker_prefix)
        self._connection: BlockingConnection | None = None
        self._channel: BlockingChannel | None = None

    @property
    def connection(self) -> BlockingConnection:
        if self._connection is None or not self._connection.is_open:
            self._connection = connect(self.settings.amqp_url, name="bench-baselines")
            self._channel = None
        return self._connection

    @property
    def channel(self) -> BlockingChannel:
        connection = self.connection
        if self._channel is None or not self._channel.is_open:
            self._channel = connection.channel()
        return self._channel

    def depth(self) -> int:
        return int(self.channel.queue_declare(self.queue, durable=True, passive=True).method.message_count)

    def wait_depth(self, expected: int, timeout: float = 30.0) -> int:
        """The queue's depth once it reached ``expected`` (or the timeout): the queue counts a message a
        moment after the channel took it."""
        deadline = time.monotonic() + timeout
        while (depth := self.depth()) < expected and time.monotonic() < deadline:
            self.connection.sleep(0.05)
        return depth

    def keepalive(self) -> None:
        """Answer the broker's heartbeats during a long phase that does not use the connection."""
        self.connection.process_data_events(0)

    def reset(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            with contextlib.suppress(*CONNECTION_ERRORS):
                connection.close()

    def purge(self) -> None:
        self.channel.queue_purge(self.queue)

    def close(self) -> None:
        if self._connection is not None and self._connection.is_open:
            self._connection.close()


def messages_of(envelopes: list[Envelope], exchange: str) -> list[tuple[bytes, pika.BasicProperties]]:
    """What the relay puts on the wire for these rows: same body, same properties."""
    return [
        (
            e.to_json().encode(),
            OutgoingMessage(
                exchange=exchange,
                routing_key=e.type,
                body=b"",
                message_id=e.id,
                type=e.type,
                correlation_id=e.correlation_id,
            ).properties(),
        )
        for e in envelopes
    ]


def raw_unconfirmed(broker: Broker, messages: list[tuple[bytes, pika.BasicProperties]]) -> float:
    channel = broker.channel
    connection = broker.connection
    t0 = time.perf_counter()
    for i, (body, props) in enumerate(messages):
        channel.basic_publish(broker.exchange, EVENT, body, props)
        if i % 1000 == 999:
            connection.process_data_events(0)  # answers heartbeats however long the phase
    # a round trip behind every publish on this channel: the broker has read them all
    broker.depth()
    elapsed = time.perf_counter() - t0
    depth = broker.wait_depth(len(messages))
    assert depth == len(messages), f"(a): {depth} of {len(messages)} messages reached the queue"
    return rate(len(messages), elapsed)


def raw_async_unconfirmed(broker: Broker, messages: list[tuple[bytes, pika.BasicProperties]]) -> float:
    """(c) The strongest pika baseline: the asynchronous adapter the relay's publisher uses, no confirms,
    published 1,000 at a time, the I/O loop writing between; timed until a round trip behind the last one."""
    ready, done = threading.Event(), threading.Event()
    channels: list[Channel] = []

    def on_channel(channel: Channel) -> None:
        channels.append(channel)
        ready.set()

    connection = SelectConnection(
        parameters(broker.settings.amqp_url, name="bench-raw-async"),
        on_open_callback=lambda c: c.channel(on_open_callback=on_channel),
        on_open_error_callback=lambda c, _e: (ready.set(), c.ioloop.stop()),
        on_close_callback=lambda c, _r: c.ioloop.stop(),
    )
    thread = threading.Thread(target=connection.ioloop.start, name="bench-raw-async", daemon=True)
    thread.start()
    try:
        assert ready.wait(30) and channels, "(c): no channel"
        channel = channels[0]

        def publish(first: int) -> None:
            for body, props in messages[first : first + 1000]:
                channel.basic_publish(broker.exchange, EVENT, body, props)
            if first + 1000 >= len(messages):
                channel.queue_declare(broker.queue, passive=True, callback=lambda _frame: done.set())
            else:
                # the next thousand after the loop has had a turn at the socket
                connection.ioloop.call_later(0, partial(publish, first + 1000))

        t0 = time.perf_counter()
        connection.ioloop.add_callback_threadsafe(partial(publish, 0))
        assert done.wait(300), "(c): no answer from the broker"
        elapsed = time.perf_counter() - t0
    finally:
        if thread.is_alive():
            connection.ioloop.add_callback_threadsafe(connection.close)
            thread.join(30)
    depth = broker.wait_depth(len(messages))
    assert depth == len(messages), f"(c): {depth} of {len(messages)} messages reached the queue"
    return rate(len(messages), elapsed)


def one_confirm_each(broker: Broker, messages: list[tuple[bytes, pika.BasicProperties]]) -> float:
    channel = broker.connection.channel()
    try:
        channel.confirm_delivery()
        t0 = time.perf_counter()
        for body, props in messages:
            channel.basic_publish(broker.exchange, EVENT, body, props, mandatory=True)
        return rate(len(messages), time.perf_counter() - t0)
    finally:
        if channel.is_open:
            channel.close()


def seed(database: Database, envelopes: list[Envelope], broker: Broker) -> None:
    with database.session() as session:
        now = utcnow()
        for first in range(0, len(envelopes), 2000):
            session.execute(
                insert(outbox),
                [
                    {
                        "event_id": e.id,
                        "event_type": e.type,
                        "payload": e.to_json(),
                        "correlation_id": e.correlation_id,
                        "created_at": now,
                        "attempts": 0,
                    }
                    for e in envelopes[first : first + 2000]
                ],
            )
            broker.keepalive()
    with database.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE outbox")  # as autovacuum would after a bulk load


@dataclass
class Round:
    raw: float
    raw_async: float
    per_confirm: float
    relay: float


def one_round(
    args: argparse.Namespace, settings: Settings, database: Database, broker: Broker, relay: Relay
) -> Round:
    n = args.events
    envelopes = [envelope_of(i) for i in range(n)]
    messages = messages_of(envelopes, broker.exchange)

    raw = raw_unconfirmed(broker, messages)
    broker.purge()
    raw_async = raw_async_unconfirmed(broker, messages)
    broker.purge()
    per_confirm = one_confirm_each(broker, messages[: args.confirm_sample])
    broker.purge()

    seed(database, envelopes, broker)
    with ThreadPoolExecutor(1, thread_name_prefix="bench-drain") as pool:
        t0 = time.perf_counter()
        draining = pool.submit(relay.drain)
        while not draining.done():
            broker.connection.sleep(0.05)  # answers heartbeats however long the phase
        published = draining.result()
    relay_rate = rate(published, time.perf_counter() - t0)
    with database.session() as session:
        pending = outbox_stats(session).pending
    depth = broker.wait_depth(n)
    assert pending == 0 and published == n, f"relay: {published} published, {pending} of {n} still pending"
    assert depth == n, f"relay: {depth} of {n} messages reached the queue"
    broker.purge()
    with database.engine.begin() as conn:
        conn.execute(outbox.delete())
    return Round(raw, raw_async, per_confirm, relay_rate)


def measure(args: argparse.Namespace, settings: Settings, database: Database, broker: Broker) -> int:
    platform_metadata.create_all(database.engine)
    relay = Relay(database, settings, name="bench-relay")
    rounds: list[Round] = []
    disturbed = 0
    try:
        while len(rounds) < args.rounds:
            try:
                relay.connect()
                r = one_round(args, settings, database, broker, relay)
            except CONNECTION_ERRORS as exc:
                # someone else on this machine closed the broker's connections: the round means nothing
                disturbed += 1
                print(f"# round disturbed ({exc!r}); repeated", flush=True)
                if disturbed > 3:
                    raise
                relay.close()
                broker.reset()
                broker.purge()
                with database.engine.begin() as conn:
                    conn.execute(outbox.delete())
                continue
            rounds.append(r)
            print(
                f"# round {len(rounds)}/{args.rounds}: raw {r.raw:,.0f} msg/s, raw async {r.raw_async:,.0f} "
                f"msg/s, one confirm each {r.per_confirm:,.0f} msg/s, relay {r.relay:,.0f} ev/s "
                f"= {r.relay / r.raw:.0%} of raw",
                flush=True,
            )
    finally:
        relay.close()

    # the round whose ratio is the median: product and baselines measured side by side
    by_ratio = sorted(rounds, key=lambda r: r.relay / r.raw)
    middle = by_ratio[len(by_ratio) // 2]
    by_async = sorted(rounds, key=lambda r: r.relay / r.raw_async)
    middle_async = by_async[len(by_async) // 2]
    by_confirm = sorted(rounds, key=lambda r: r.relay / r.per_confirm)
    middle_confirm = by_confirm[len(by_confirm) // 2]
    ratios = ", ".join(f"{r.relay / r.raw:.0%}" for r in rounds)
    common = f"{args.events:,} events of {BODY_BYTES} B, batch {settings.relay_batch_size}"
    report(
        Result(
            BENCH,
            "relay 1 KB confirmed vs raw unconfirmed",
            middle.relay,
            "ev/s",
            middle.raw,
            ">= 50% of raw",
            middle.relay >= 0.5 * middle.raw,
            detail=f"{common}; median round of {len(rounds)} (ratio per round: {ratios})",
        )
    )
    report(
        Result(
            BENCH,
            "relay 1 KB confirmed vs raw async unconfirmed",
            middle_async.relay,
            "ev/s",
            middle_async.raw_async,
            ">= 50% of raw async",
            middle_async.relay >= 0.5 * middle_async.raw_async,
            detail=f"{common}; (c) pika SelectConnection, no confirms, 1,000 messages per loop turn",
        )
    )
    report(
        Result(
            BENCH,
            "relay 1 KB confirmed vs one confirm each",
            middle_confirm.relay,
            "ev/s",
            middle_confirm.per_confirm,
            ">= 8x one confirm each",
            middle_confirm.relay >= 8 * middle_confirm.per_confirm,
            detail=f"{common}; one-confirm sample {args.confirm_sample:,} messages",
        )
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument(
        "--confirm-sample", type=int, default=3_000, help="messages for the one-confirm-each baseline"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each with its own baselines")
    args = parser.parse_args()
    args.confirm_sample = min(args.confirm_sample, args.events)

    with Scratch("bench") as scratch:
        url = scratch.database("relay")
        settings = Settings(
            service=SERVICE,
            database_url=url,
            amqp_url=scratch.amqp_url,
            broker_prefix=f"yk-bench-{scratch.run}",
            broker_topology="declare",  # the relay declares what it publishes to, as before `broker setup`
            log_json=False,
        )
        # the relay declares every consumer's queues under this prefix, not only the benchmark's
        scratch.broker(settings, [SERVICE])
        database = Database(url)
        broker = Broker(settings)
        try:
            connection = broker.connection
            topology.declare_service(connection.channel(), settings, SERVICE)
            print(
                f"# outbox relay benchmark: {args.events:,} events of {BODY_BYTES} B x {args.rounds} rounds, "
                f"PostgreSQL + RabbitMQ ({broker.queue}, {settings.queue_type}); "
                f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
                flush=True,
            )
            return measure(args, settings, database, broker)
        finally:
            with contextlib.suppress(*CONNECTION_ERRORS):
                broker.close()
            database.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
