"""Benchmark (not a test): the event consumer against raw pika consuming, measured in the same run.

On PostgreSQL + RabbitMQ, with 1 KB envelopes:

- (a) throughput, each round: N events put into the service's queue and drained by raw pika
  (``basic_consume``, one ``basic_ack`` per message, the same prefetch) — the baseline; then N other events
  put into the same queue and drained by the product's ``Consumer`` (batches, inbox dedupe, a handler that
  adds one row with ``uow.session.add``, as the services' handlers write), timed from the consumer's start
  until the transaction holding the N-th event commits (then the inbox and the table are checked: N rows
  each, the queue empty). The measure reports the round whose ratio is the median of ``--rounds``.
  Target (issue 16): ≥ 33% of the baseline.
- (b) latency, at each of ``--rates`` events/s offered for ``--seconds``: events committed to the outbox by
  a producer in small transactions, published by the relay polling as in production (each in a process
  of its own, as in production), handled by the consumer. An event's latency runs from just
  before its producer's commit until the consumer's transaction that handled it committed. Reports
  p50/p95 with the ACHIEVED offered and handled rates and the queue's depth (sampled every half second).
  Target: p95 ≤ 250 ms with the achieved offered and handled rates ≥ 95% of the asked rate, and the queue
  not growing (at most a quarter second of events left in it when the producer stops).

The throughput measure also reports the CPU seconds the bench process spent per message in each (the
broker's and the database's own CPU not included): a figure that the machine's load disturbs less.

Its database, queues and exchange are deleted however the run ends (``bench/_support.py``); its own broker
connection answers heartbeats in every phase. A quick run: ``--events 3000 --rounds 1 --seconds 3``.

    python bench/consumer.py [--events 20000] [--rounds 3] [--rates 200,1000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import multiprocessing
import os
import queue
import statistics
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pika
from marshmallow import Schema, fields
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from sqlalchemy import Integer, MetaData, String, Table, event, func, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._support import Result, Scratch, report
from shared.config import Settings
from shared.db import Database, platform_metadata, utcnow
from shared.events import catalogue, topology
from shared.events.consumer import Consumer, inbox
from shared.events.envelope import Envelope, Event, build_envelope
from shared.events.outbox import outbox, outbox_row
from shared.events.publisher import CONNECTION_ERRORS, connect
from shared.events.relay import Relay
from shared.uow import UnitOfWork

BENCH = "consumer"
SERVICE = "benchcons"
EVENT = "bench.consumed"
BODY_BYTES = 1024
#: the prefetch the consumer is measured with (and the raw baseline too)
PREFETCH = 200
#: session.info key under which the handler leaves its events' send times for the after-commit hook
SENT = "bench_sent"


class TickData(Schema):
    seq = fields.Integer(required=True)
    t = fields.Float(required=True)
    pad = fields.String(required=True)


catalogue.register(catalogue.EventType(EVENT, 1, "benchprod", (SERVICE,), TickData, "benchmark only"))


class Base(DeclarativeBase):
    metadata = MetaData()


class BenchRow(Base):
    __tablename__ = "bench_rows"
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)


bench_metadata = Base.metadata
rows: Table = BenchRow.__table__  # type: ignore[assignment]


def envelope_of(seq: int, sent: float = 0.0) -> Envelope:
    """An envelope of exactly ``BODY_BYTES`` bytes of JSON."""
    bare = build_envelope(EVENT, {"seq": seq, "t": sent, "pad": ""})
    pad = "x" * (BODY_BYTES - len(bare.to_json().encode()))
    envelope = build_envelope(
        EVENT,
        {"seq": seq, "t": sent, "pad": pad},
        correlation_id=bare.correlation_id,
        occurred_at=dt.datetime.fromisoformat(bare.occurred_at),
    )
    assert len(envelope.to_json().encode()) == BODY_BYTES
    return envelope


#: the padding that makes an event of this bench 1 KB on the wire
PAD = str(envelope_of(0).data["pad"])


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def one_row(uow: UnitOfWork, ev: Event) -> None:
    """The product's handler under test: one row, in the consumer's transaction, written the way the
    services' handlers write (``uow.session.add``)."""
    uow.session.add(BenchRow(event_id=ev.id, seq=ev.data["seq"]))
    uow.session.info.setdefault(SENT, []).append(ev.data["t"])


class Broker:
    """The bench's own connection: publishing into the queue, its depth, the raw baseline."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.queue = topology.QueueNames(settings.broker_prefix, SERVICE).main
        self._connection: BlockingConnection | None = None
        self._channel: BlockingChannel | None = None

    @property
    def channel(self) -> BlockingChannel:
        if self._connection is None or not self._connection.is_open:
            self._connection = connect(self.settings.amqp_url, name="bench-consumer")
            self._channel = None
        if self._channel is None or not self._channel.is_open:
            self._channel = self._connection.channel()
        return self._channel

    def declare(self) -> None:
        topology.declare_service(self.channel, self.settings, SERVICE)

    def depth(self) -> int:
        return int(self.channel.queue_declare(self.queue, durable=True, passive=True).method.message_count)

    def fill(self, envelopes: list[Envelope]) -> None:
        channel = self.channel
        for e in envelopes:
            channel.basic_publish(
                "",
                self.queue,
                e.to_json().encode(),
                pika.BasicProperties(
                    content_type="application/json",
                    delivery_mode=pika.DeliveryMode.Persistent,
                    message_id=e.id,
                    type=e.type,
                    correlation_id=e.correlation_id,
                ),
            )
        deadline = time.monotonic() + 60
        while self.depth() < len(envelopes) and time.monotonic() < deadline:
            self.sleep(0.05)
        if self.depth() != len(envelopes):
            raise RuntimeError(f"the queue holds {self.depth()} messages, not {len(envelopes)}")

    def raw_consume(self, count: int) -> float:
        """Drain ``count`` messages with raw pika, one ack each; messages/s."""
        channel = self.channel
        channel.basic_qos(prefetch_count=PREFETCH)
        seen = 0

        def on_message(ch: BlockingChannel, method: object, _properties: object, _body: bytes) -> None:
            nonlocal seen
            ch.basic_ack(method.delivery_tag)  # type: ignore[attr-defined]
            seen += 1
            if seen >= count:
                ch.stop_consuming()

        t0 = time.perf_counter()
        tag = channel.basic_consume(self.queue, on_message)
        channel.start_consuming()
        elapsed = time.perf_counter() - t0
        channel.basic_cancel(tag)
        return rate(count, elapsed)

    def sleep(self, seconds: float) -> None:
        """Wait while answering the broker's heartbeats."""
        assert self._connection is not None
        self._connection.sleep(seconds)

    def keepalive(self) -> None:
        if self._connection is not None and self._connection.is_open:
            self._connection.process_data_events(0)

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            with contextlib.suppress(*CONNECTION_ERRORS):
                connection.close()


class Runners:
    """The consumer and relay threads of a phase; stopped (and joined) before the clean-up deletes the
    queues, which a running consumer would declare again."""

    def __init__(self) -> None:
        self.started: list[tuple[threading.Thread, Consumer | Relay]] = []

    def start(self, runner: Consumer | Relay) -> None:
        thread = threading.Thread(target=runner.run, name=runner.name, daemon=True)
        thread.start()
        self.started.append((thread, runner))

    def stop(self) -> float:
        """Stop them all; seconds until every thread returned."""
        t0 = time.perf_counter()
        for _thread, runner in self.started:
            runner.stop()
        for thread, _runner in self.started:
            thread.join(60)
            if thread.is_alive():
                print(f"# {thread.name} is still running; its queues may be declared again")
        self.started.clear()
        return time.perf_counter() - t0


def count(database: Database, table: Table) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


class Committed:
    """What the consumer's transactions committed, seen from SQLAlchemy's ``after_commit``: the handler
    leaves each event's send time in ``session.info``; no polling of the database steals the consumer's
    CPU or interpreter lock."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.lock = threading.Lock()
        self.times: list[tuple[float, float]] = []  # (committed at, sent at), wall clock
        self.count = 0
        self.target = 0
        self.reached = threading.Event()
        self.reached_at = 0.0  # perf_counter
        event.listen(database.sessionmaker, "after_commit", self._after_commit)
        event.listen(database.sessionmaker, "after_rollback", self._after_rollback)

    def expect(self, target: int) -> None:
        with self.lock:
            self.times.clear()
            self.count = 0
            self.target = target
            self.reached.clear()

    def _after_commit(self, session: Session) -> None:
        sent = session.info.pop(SENT, None)
        if not sent:
            return
        now = time.time()
        with self.lock:
            self.times.extend((now, t) for t in sent)
            self.count += len(sent)
            if self.target and self.count >= self.target and not self.reached.is_set():
                self.reached_at = time.perf_counter()
                self.reached.set()

    def _after_rollback(self, session: Session) -> None:
        session.info.pop(SENT, None)

    def close(self) -> None:
        event.remove(self.database.sessionmaker, "after_commit", self._after_commit)
        event.remove(self.database.sessionmaker, "after_rollback", self._after_rollback)


# --- (a) throughput ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Round:
    raw: float
    product: float
    stop_seconds: float
    raw_cpu: float  # CPU seconds of this process per message
    product_cpu: float

    @property
    def ratio(self) -> float:
        return self.product / self.raw


def one_round(
    seq0: int,
    n: int,
    settings: Settings,
    database: Database,
    broker: Broker,
    runners: Runners,
    committed: Committed,
) -> Round:
    broker.fill([envelope_of(seq0 + i) for i in range(n)])
    cpu = time.process_time()
    raw = broker.raw_consume(n)
    raw_cpu = (time.process_time() - cpu) / n
    assert broker.depth() == 0
    before = count(database, inbox)
    broker.fill([envelope_of(seq0 + n + i) for i in range(n)])
    committed.expect(n)
    cpu = time.process_time()
    t0 = time.perf_counter()
    runners.start(Consumer(database, settings, {EVENT: one_row}, name="bench-consumer"))
    while not committed.reached.is_set():
        broker.sleep(0.05)
    product = rate(n, committed.reached_at - t0)
    product_cpu = (time.process_time() - cpu) / n
    if count(database, inbox) != before + n:
        raise RuntimeError("the inbox does not hold every event")
    stop_seconds = runners.stop()
    if count(database, rows) != before + n or broker.depth() != 0:
        raise RuntimeError("the consumer did not handle each event exactly once")
    return Round(raw, product, stop_seconds, raw_cpu, product_cpu)


def throughput(
    args: argparse.Namespace, settings: Settings, database: Database, broker: Broker, committed: Committed
) -> None:
    runners = Runners()
    rounds: list[Round] = []
    try:
        for r in range(args.rounds):
            seq0 = r * 2 * args.events
            rounds.append(one_round(seq0, args.events, settings, database, broker, runners, committed))
            x = rounds[-1]
            print(
                f"# round {r + 1}: raw {x.raw:,.0f} msg/s, consumer {x.product:,.0f} ev/s ({x.ratio:.0%}); "
                f"CPU µs/message raw {x.raw_cpu * 1e6:.0f}, consumer {x.product_cpu * 1e6:.0f}"
            )
    finally:
        runners.stop()
    median = sorted(rounds, key=lambda x: x.ratio)[len(rounds) // 2]
    report(
        Result(
            BENCH,
            "consume with inbox dedupe + a one-row handler (1 KB events)",
            median.product,
            "ev/s",
            median.raw,
            "≥ 33% of raw pika consume + ack",
            median.product >= 0.33 * median.raw,
            detail=(
                f"{args.events} events, median of {len(rounds)} round(s) by ratio; prefetch {PREFETCH}; "
                f"CPU per message: raw {median.raw_cpu * 1e6:.0f} µs, consumer "
                f"{median.product_cpu * 1e6:.0f} µs; stop() returned in {median.stop_seconds:.2f} s; {load()}"
            ),
        )
    )


# --- (b) latency -------------------------------------------------------------------------------------------


@dataclass
class Latency:
    sent: int
    offered: float
    handled: int
    handled_rate: float
    p50_ms: float
    p95_ms: float
    max_depth: int
    end_depth: int


def run_relay(settings: Settings, stop: Any) -> None:
    """In a process of its own, as the producing service's worker runs its relay in production."""
    database = Database(settings.database_url)
    relay = Relay(database, settings, name="bench-relay")
    thread = threading.Thread(target=relay.run, name="bench-relay", daemon=True)
    thread.start()
    try:
        stop.wait()
    finally:
        relay.stop()
        thread.join(30)
        database.dispose()


def produce(settings: Settings, offered: float, seconds: float, seq0: int, results: Any) -> None:
    """In a process of its own, as the producing services are (not sharing the consumer's interpreter
    lock): commit events to the outbox at ``offered``/s for ``seconds``, several per transaction above
    200/s as busy services do, each envelope built and validated as ``uow.emit`` does, the rows written in
    one statement (the services' request handling is not what is measured here). Puts ``(sent, achieved
    rate)`` on ``results`` when done."""
    database = Database(settings.database_url)
    try:
        tick = max(1.0 / offered, 0.005)
        total = int(seconds * offered)
        sent = 0
        start = time.perf_counter()
        while sent < total:
            due = min(int((time.perf_counter() - start) * offered) + 1, total)
            if due > sent:
                now = utcnow()
                with database.session() as session:
                    session.execute(
                        insert(outbox),
                        [
                            outbox_row(build_envelope(EVENT, {"seq": seq, "t": time.time(), "pad": PAD}), now)
                            for seq in range(seq0 + sent, seq0 + due)
                        ],
                    )
                sent = due
            wait = start + (sent / offered) - time.perf_counter()
            time.sleep(max(0.0, min(wait, tick)))
        results.put((sent, rate(sent, time.perf_counter() - start)))
    finally:
        database.dispose()


def latency_phase(
    offered: float,
    seconds: float,
    seq0: int,
    settings: Settings,
    broker: Broker,
    committed: Committed,
) -> Latency:
    """Events offered at ``offered``/s for ``seconds`` by a producer process; the consumer is running."""
    committed.expect(0)
    recorded = committed.times
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(
        target=produce, args=(settings, offered, seconds, seq0, results), name="bench-producer", daemon=True
    )
    child.start()
    try:
        max_depth = 0
        while True:
            max_depth = max(max_depth, broker.depth())  # also answers the broker's heartbeats
            try:
                sent, achieved = results.get(timeout=0.5)
                break
            except queue.Empty:
                if not child.is_alive():
                    raise RuntimeError(f"the producer process died (exit code {child.exitcode})") from None
        end_depth = broker.depth()
        max_depth = max(max_depth, end_depth)
        deadline = time.monotonic() + 30
        while len(recorded) < sent and time.monotonic() < deadline:
            broker.sleep(0.02)
        child.join(60)
    finally:
        if child.is_alive():
            child.terminate()
            child.join(10)
    with committed.lock:
        done = list(recorded)
    lat = sorted(at - t for at, t in done)
    last = max((at for at, _t in done), default=time.time())
    first_sent = min((t for _at, t in done), default=last)
    return Latency(
        sent=sent,
        offered=achieved,
        handled=len(done),
        handled_rate=rate(len(done), last - first_sent),
        p50_ms=statistics.median(lat) * 1000 if lat else float("nan"),
        p95_ms=lat[max(int(len(lat) * 0.95) - 1, 0)] * 1000 if lat else float("nan"),
        max_depth=max_depth,
        end_depth=end_depth,
    )


def latencies(
    args: argparse.Namespace, settings: Settings, database: Database, broker: Broker, committed: Committed
) -> None:
    runners = Runners()
    context = multiprocessing.get_context("spawn")
    stop_relay = context.Event()
    relay = context.Process(target=run_relay, args=(settings, stop_relay), name="bench-relay", daemon=True)
    try:
        runners.start(Consumer(database, settings, {EVENT: one_row}, name="bench-consumer"))
        relay.start()
        broker.sleep(1.5)  # the relay connected and declared the topology
        for index, offered in enumerate(args.rates):
            seq0 = 10_000_000 * (index + 1)
            x = latency_phase(offered, args.seconds, seq0, settings, broker, committed)
            floor = 0.95 * offered
            met = (
                x.p95_ms <= 250
                and x.offered >= floor
                and x.handled == x.sent
                and x.handled_rate >= floor
                and x.end_depth <= offered / 4
            )
            report(
                Result(
                    BENCH,
                    f"commit → handled p95 at {offered:,.0f} ev/s offered",
                    x.p95_ms,
                    "ms",
                    None,
                    f"≤ 250 ms, achieved ≥ {floor:,.0f}/s offered and handled",
                    met,
                    higher_is_better=False,
                    detail=(
                        f"p50 {x.p50_ms:.1f} ms; offered {x.offered:,.0f}/s, handled {x.handled:,} of "
                        f"{x.sent:,} at {x.handled_rate:,.0f}/s; queue depth max {x.max_depth}, "
                        f"{x.end_depth} when the producer stopped; relay poll "
                        f"{settings.relay_poll_interval * 1000:.0f} ms; {load()}"
                    ),
                )
            )
    finally:
        stop_relay.set()
        if relay.pid is not None:
            relay.join(60)
            if relay.is_alive():
                relay.terminate()
                relay.join(10)
        runners.stop()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000, help="events per throughput round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--rates",
        type=lambda s: [float(x) for x in s.split(",")],
        default=[200.0, 1000.0],
        help="events/s offered in the latency phases",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each latency phase")
    args = parser.parse_args()

    with Scratch("bench") as scratch:
        url = scratch.database("consumer")
        base = Settings(service=SERVICE, database_url=url, amqp_url=scratch.amqp_url, log_json=False)
        settings = replace(
            base,
            broker_prefix=f"yk-bench-{scratch.run}",
            consumer_prefetch=PREFETCH,
            broker_topology="declare",  # the benchmark's service is no catalogued one: it declares its queue
        )
        # the relay declares every consumer's queues under this prefix, not only the benchmark's
        scratch.broker(settings, [SERVICE])
        database = Database(url)
        broker = Broker(settings)
        try:
            platform_metadata.create_all(database.engine)
            bench_metadata.create_all(database.engine)
            broker.declare()
            print(
                f"# consumer benchmark: {args.events} × {args.rounds} events of {BODY_BYTES} B, "
                f"then {args.seconds:g} s at each of {', '.join(f'{r:g}' for r in args.rates)} ev/s; "
                f"PostgreSQL + RabbitMQ ({broker.queue}, {settings.queue_type}); {load()}"
            )
            committed = Committed(database)
            throughput(args, settings, database, broker, committed)
            latencies(args, settings, database, broker, committed)
            committed.close()
            return 0
        finally:
            broker.close()
            database.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
