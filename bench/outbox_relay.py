"""Benchmark (not a test): the outbox relay against raw pika publishing, measured in the same run.

Prints, on PostgreSQL + RabbitMQ:
- raw ``basic_publish`` without confirms, and with one confirm per message (the baselines);
- the relay publishing N outbox events (claim → batch publish with confirms → mark), events/s;
- the consumer handling those N events with inbox dedupe on PostgreSQL, events/s;
- commit → handled latency p50/p95 at a steady 200 events/s through relay and consumer.

Targets (issue 3): relay ≥ 50% of raw unconfirmed and ≥ 8× per-message confirms; latency p95 ≤ 250 ms.

    python bench/outbox_relay.py [--events 20000] [--rate 200] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

import pika
import psycopg
from marshmallow import Schema, fields
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.config import Settings, normalize_db_url
from shared.db import Database, platform_metadata, utcnow
from shared.events import catalogue, topology
from shared.events.consumer import Consumer, inbox
from shared.events.envelope import Envelope, build_envelope
from shared.events.outbox import add_event, outbox, outbox_stats
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

    admin_url = normalize_db_url(
        os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    )
    amqp_url = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    run = uuid.uuid4().hex[:8]
    db_name = f"yk_bench_{run}"
    admin = make_url(admin_url)
    conninfo = (
        f"host={admin.host or '127.0.0.1'} port={admin.port or 5432} user={admin.username or 'postgres'}"
    )
    if admin.password:
        conninfo += f" password={admin.password}"
    with psycopg.connect(conninfo + " dbname=postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')  # type: ignore[arg-type]
    url = admin.set(database=db_name).render_as_string(hide_password=False)
    prefix = f"yk-bench-{run}"
    settings = Settings(
        service=SERVICE, database_url=url, amqp_url=amqp_url, broker_prefix=prefix, log_json=False
    )
    database = Database(url)
    platform_metadata.create_all(database.engine)
    names = topology.QueueNames(prefix, SERVICE)
    exchange = topology.exchange_name(prefix)

    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    topology.declare_service(channel, settings, SERVICE)
    n = args.events
    body = build_envelope(EVENT, {"seq": 0, "t": 0.0}).to_json().encode()
    props = pika.BasicProperties(content_type="application/json", delivery_mode=2, message_id="x", type=EVENT)

    try:
        print(
            f"# outbox relay benchmark: {n} events, PostgreSQL + RabbitMQ "
            f"({names.main}, {settings.queue_type})"
        )

        # (a) raw, no confirms
        t0 = time.perf_counter()
        for _ in range(n):
            channel.basic_publish(exchange, EVENT, body, props)
        connection.process_data_events(0)
        raw = rate(n, time.perf_counter() - t0)
        channel.queue_purge(names.main)

        # (b) one confirm per message
        confirm_channel = connection.channel()
        confirm_channel.confirm_delivery()
        m = args.confirm_sample
        t0 = time.perf_counter()
        for _ in range(m):
            confirm_channel.basic_publish(exchange, EVENT, body, props, mandatory=True)
        per_confirm = rate(m, time.perf_counter() - t0)
        channel.queue_purge(names.main)

        # the relay: N pending rows, published in batches with confirms and marked
        envelopes: list[Envelope] = [build_envelope(EVENT, {"seq": i, "t": 0.0}) for i in range(n)]
        with database.session() as session:
            now = utcnow()
            for start in range(0, n, 2000):
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
                        for e in envelopes[start : start + 2000]
                    ],
                )
        relay = Relay(database, settings)
        relay._ensure_connected()
        t0 = time.perf_counter()
        relay.drain()
        relay_rate = rate(n, time.perf_counter() - t0)
        relay._drop_connection()
        with database.session() as session:
            assert outbox_stats(session).pending == 0

        # the consumer: the same N events from the queue, with inbox dedupe, one transaction each
        consumer = Consumer(database, settings, {EVENT: lambda _s, _e: None})
        t0 = time.perf_counter()
        thread = threading.Thread(target=consumer.run, daemon=True)
        thread.start()
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
        live_relay = Relay(database, settings)
        relay_thread = threading.Thread(target=live_relay.run, daemon=True)
        relay_thread.start()
        time.sleep(1.0)
        count = int(args.rate * args.seconds)
        interval = 1.0 / args.rate
        start = time.perf_counter()
        for i in range(count):
            target = start + i * interval
            delay = target - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            with database.session() as session:
                add_event(session, EVENT, {"seq": n + i, "t": time.time()})
        deadline = time.monotonic() + 30
        while len(latencies) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        live_relay.stop()
        consumer.stop()
        relay_thread.join(10)
        thread.join(10)
        lat = sorted(latencies)
        p50 = statistics.median(lat) * 1000
        p95 = lat[int(len(lat) * 0.95) - 1] * 1000

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
    finally:
        for queue in (names.main, names.retry, names.dlq):
            channel.queue_delete(queue)
        channel.exchange_delete(exchange)
        connection.close()
        database.dispose()
        with psycopg.connect(conninfo + " dbname=postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')  # type: ignore[arg-type]


if __name__ == "__main__":
    raise SystemExit(main())
