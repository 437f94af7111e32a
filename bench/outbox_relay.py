"""Benchmark (not a test): the outbox relay against raw pika publishing, measured in the same run.

Prints, on PostgreSQL + RabbitMQ:
- raw ``basic_publish`` without confirms, and with one confirm per message (the baselines);
- the relay publishing N outbox events (claim → batch publish with confirms → mark), events/s;
- the consumer handling those N events with inbox dedupe on PostgreSQL, events/s;
- commit → handled latency p50/p95 at a steady 200 events/s through relay and consumer.

Targets (issue 3): relay ≥ 50% of raw unconfirmed and ≥ 8× per-message confirms; latency p95 ≤ 250 ms.
Its database, queues and exchange are deleted however the run ends (``bench/_support.py``). A quick run:
``--events 2000 --confirm-sample 300 --seconds 2``.

    python bench/outbox_relay.py [--events 20000] [--rate 200] [--seconds 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import pika
from marshmallow import Schema, fields
from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._support import Scratch
from shared.config import Settings
from shared.db import Database, platform_metadata, utcnow
from shared.events import catalogue, topology
from shared.events.consumer import Consumer, inbox
from shared.events.envelope import Envelope, build_envelope
from shared.events.outbox import add_event, outbox, outbox_stats
from shared.events.publisher import connect
from shared.events.relay import Relay

SERVICE = "benchsvc"
EVENT = "bench.tick"


class TickData(Schema):
    seq = fields.Integer(required=True)
    t = fields.Float(required=True)


catalogue.register(catalogue.EventType(EVENT, 1, "benchprod", (SERVICE,), TickData, "benchmark only"))


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument(
        "--confirm-sample", type=int, default=3_000, help="messages for the 1-confirm baseline"
    )
    parser.add_argument("--rate", type=float, default=200.0, help="events/s for the latency phase")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the latency phase")
    args = parser.parse_args()

    with Scratch("bench") as scratch:
        url = scratch.database("relay")
        prefix = f"yk-bench-{scratch.run}"
        settings = Settings(
            service=SERVICE, database_url=url, amqp_url=scratch.amqp_url, broker_prefix=prefix, log_json=False
        )
        # the relay declares every consumer's queues under this prefix, not only the benchmark's
        scratch.broker(settings, [SERVICE])
        database = Database(url)
        runners: list[tuple[threading.Thread, Relay | Consumer]] = []
        try:
            return measure(args, settings, database, runners)
        finally:
            # stop the threads first: a consumer whose queue disappears would declare it again
            for _thread, runner in runners:
                runner.stop()
            for thread, _runner in runners:
                thread.join(60)  # a consumer finishes the deliveries in hand (up to its prefetch) first
                if thread.is_alive():
                    print(f"# {thread.name} is still running; its queues may be declared again")
            database.dispose()


def start(runner: Relay | Consumer, runners: list[tuple[threading.Thread, Relay | Consumer]]) -> None:
    thread = threading.Thread(target=runner.run, name=runner.name, daemon=True)
    thread.start()
    runners.append((thread, runner))


def baselines(settings: Settings, n: int, confirm_sample: int) -> tuple[float, float]:
    """Raw publishing, on a connection of its own that is closed before the long phases (its heartbeats
    would go unanswered while the relay and the consumer run)."""
    names = topology.QueueNames(settings.broker_prefix, SERVICE)
    exchange = topology.exchange_name(settings.broker_prefix)
    body = build_envelope(EVENT, {"seq": 0, "t": 0.0}).to_json().encode()
    props = pika.BasicProperties(content_type="application/json", delivery_mode=2, message_id="x", type=EVENT)
    connection = connect(settings.amqp_url, name="bench-baselines")
    try:
        channel = connection.channel()
        topology.declare_service(channel, settings, SERVICE)

        # (a) raw, no confirms
        t0 = time.perf_counter()
        for i in range(n):
            channel.basic_publish(exchange, EVENT, body, props)
            if i % 1000 == 999:
                connection.process_data_events(0)  # answers heartbeats however long the phase
        connection.process_data_events(0)
        raw = rate(n, time.perf_counter() - t0)
        channel.queue_purge(names.main)

        # (b) one confirm per message (each confirm round trip services the connection)
        confirm_channel = connection.channel()
        confirm_channel.confirm_delivery()
        t0 = time.perf_counter()
        for _ in range(confirm_sample):
            confirm_channel.basic_publish(exchange, EVENT, body, props, mandatory=True)
        per_confirm = rate(confirm_sample, time.perf_counter() - t0)
        channel.queue_purge(names.main)
        return raw, per_confirm
    finally:
        if connection.is_open:
            connection.close()


def measure(
    args: argparse.Namespace,
    settings: Settings,
    database: Database,
    runners: list[tuple[threading.Thread, Relay | Consumer]],
) -> int:
    platform_metadata.create_all(database.engine)
    n = args.events
    print(
        f"# outbox relay benchmark: {n} events, PostgreSQL + RabbitMQ "
        f"({topology.QueueNames(settings.broker_prefix, SERVICE).main}, {settings.queue_type})"
    )
    raw, per_confirm = baselines(settings, n, args.confirm_sample)

    # the relay: N pending rows, published in batches with confirms and marked
    envelopes: list[Envelope] = [build_envelope(EVENT, {"seq": i, "t": 0.0}) for i in range(n)]
    with database.session() as session:
        now = utcnow()
        for first in range(0, n, 2000):
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
    relay = Relay(database, settings)
    relay._ensure_connected()
    try:
        t0 = time.perf_counter()
        relay.drain()
        relay_rate = rate(n, time.perf_counter() - t0)
    finally:
        relay._drop_connection()
    with database.session() as session:
        assert outbox_stats(session).pending == 0

    # the consumer: the same N events from the queue, with inbox dedupe, one transaction each
    consumer = Consumer(database, settings, {EVENT: lambda _s, _e: None})
    t0 = time.perf_counter()
    start(consumer, runners)
    while True:
        with database.session() as session:
            done = session.scalar(select(func.count()).select_from(inbox))
        if done >= n:
            break
        time.sleep(0.05)
    consumer_rate = rate(n, time.perf_counter() - t0)

    # latency: commit → handled at a steady rate, relay polling as in production
    latencies: list[float] = []
    lock = threading.Lock()

    def record(_session: object, envelope: Envelope) -> None:
        with lock:
            latencies.append(time.time() - envelope.data["t"])

    consumer.handlers[EVENT] = record
    start(Relay(database, settings), runners)
    time.sleep(1.0)
    count = int(args.rate * args.seconds)
    interval = 1.0 / args.rate
    started = time.perf_counter()
    for i in range(count):
        delay = started + i * interval - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        with database.session() as session:
            add_event(session, EVENT, {"seq": n + i, "t": time.time()})
    deadline = time.monotonic() + 30
    while len(latencies) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    lat = sorted(latencies)
    p50 = statistics.median(lat) * 1000
    p95 = lat[max(int(len(lat) * 0.95) - 1, 0)] * 1000

    print(f"raw basic_publish, no confirms      : {raw:9.0f} msg/s   (baseline a)")
    print(f"raw basic_publish, 1 confirm each   : {per_confirm:9.0f} msg/s   (baseline b)")
    print(
        f"outbox relay (batch confirms)       : {relay_rate:9.0f} events/s"
        f"  = {relay_rate / raw:5.0%} of (a), {relay_rate / per_confirm:4.1f}x (b)"
        f"   target >= 50% of (a) and >= 8x (b): "
        f"{'MET' if relay_rate >= 0.5 * raw and relay_rate >= 8 * per_confirm else 'MISSED'}"
    )
    print(f"consumer with inbox dedupe (PG)     : {consumer_rate:9.0f} events/s")
    print(
        f"commit -> handled at {args.rate:.0f}/s ({len(lat)} of {count}): "
        f"p50 {p50:6.1f} ms, p95 {p95:6.1f} ms"
        f"   target p95 <= 250 ms: {'MET' if p95 <= 250 else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
