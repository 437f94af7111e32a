"""Benchmark (not a test): several ``yunkefu worker`` processes per service, and several relays on one outbox.

On PostgreSQL + RabbitMQ:

- (a) end to end with 1, 2 and 3 workers per service: each run gets fresh databases (migrated) and a fresh
  broker prefix (``yunkefu broker setup``), starts N real ``yunkefu worker`` processes for each of the
  seven services and waits until every consumer and relay is connected. Then ``--events`` events are
  committed into outboxes in one transaction each — 80% ``agent.admitted`` into training's (its relays
  publish them; scheduling, recruitment, complaints, billing and quality each handle every one) and 20%
  ``qa.finding`` into quality's (training handles them) — and the clock runs from those commits until every
  consuming service's inbox holds all its events. The measure is deliveries handled per second, summed
  over the services. Same-run baseline: the same number of messages of the same bodies, fanned out by the
  same exchange into the same queues beforehand, drained by raw pika (``basic_consume``, one ``basic_ack``
  each, prefetch 200), one queue after the other: what the broker and a client without any database work
  deliver on this machine.
- (b) relays on one outbox: ``--relay-events`` 1 KB rows published by one relay process, then (on a fresh
  outbox and queue) by three relay processes at once, timed from the rows' commit until no row is
  pending. Every message of the queue is then read: the measure also reports how many ids arrived more
  than once (relays claim rows with ``FOR UPDATE SKIP LOCKED``: expected 0).

On 2 cores the gain from more processes is bounded by the CPU the handlers, PostgreSQL and RabbitMQ share:
the figures say how much. Its databases, queues, exchange and folders are deleted however the run ends
(``bench/_support.py``). A quick run: ``--events 2000 --relay-events 5000``.

    python bench/workers.py [--events 5000] [--workers 1,2,3] [--relay-events 20000]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import multiprocessing
import os
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pika
from marshmallow import Schema, fields
from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._support import Result, Scratch, report
from devtools.stack import Stack, StackConfig, generate_stack_keys
from shared.config import SERVICES, Settings
from shared.db import Database, platform_metadata, utcnow
from shared.events import catalogue, topology
from shared.events.envelope import Envelope, build_envelope
from shared.events.outbox import add_events, outbox, outbox_row
from shared.events.publisher import CONNECTION_ERRORS, connect
from shared.events.relay import Relay

BENCH = "workers"
PREFETCH = 200
#: who handles each type of the mix (the catalogue's consumers)
ADMITTED_BY = ("scheduling", "recruitment", "complaints", "billing", "quality")
FINDING_BY = ("training",)
RELAY_SERVICE = "benchrelays"
RELAY_EVENT = "bench.relayed"
BODY_BYTES = 1024


class RelayedData(Schema):
    seq = fields.Integer(required=True)
    pad = fields.String(required=True)


catalogue.register(
    catalogue.EventType(RELAY_EVENT, 1, "benchprod", (RELAY_SERVICE,), RelayedData, "benchmark only")
)


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- the event mix ----------------------------------------------------------------------------------------


def mix(events: int, tag: str) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, dict[str, Any]]]]:
    """(agent.admitted for training's outbox, qa.finding for quality's): 80% / 20% of ``events``."""
    findings = events // 5
    admitted = [
        (
            "agent.admitted",
            {
                "project_id": f"bench-{tag}",
                "candidate_id": f"bx-{tag}-{i:06d}",
                "cohort_id": f"bench-cohort-{tag}",
                "name": f"坐席{i:06d}",
                "skills": ["presale"],
                "shifts_available": ["morning", "night"],
                "quiz_score": 80.0,
                "simulation_score": 75.0,
                "rank": i + 1,
                "merchant_id": "m-bench",
            },
        )
        for i in range(events - findings)
    ]
    qa = [
        (
            "qa.finding",
            {
                "project_id": f"bench-qa-{tag}",
                "agent_id": f"bq-{tag}-{i:06d}",
                "review_id": f"br-{tag}-{i:06d}",
                "problems": ["未使用欢迎语"],
                "good_cases": [],
            },
        )
        for i in range(findings)
    ]
    return admitted, qa


def expected_inbox(admitted: int, findings: int) -> dict[str, int]:
    counts = dict.fromkeys(ADMITTED_BY, admitted)
    counts["training"] = findings
    return counts


# --- (a) 1, 2, 3 workers per service ----------------------------------------------------------------------


@dataclass
class WorkersRun:
    workers: int
    deliveries: int
    seconds: float
    raw: float  # raw pika consume + ack of the same deliveries, msg/s

    @property
    def product(self) -> float:
        return rate(self.deliveries, self.seconds)


def raw_baseline(settings: Settings, bodies: list[str], queues: dict[str, int]) -> float:
    """Publish ``bodies`` through the exchange (they fan out as the relays' would), then drain every
    queue with raw pika, one ack per message; returns messages/s over the drains."""
    connection = connect(settings.amqp_url, name="bench-workers-raw")
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        exchange = topology.exchange_name(settings.broker_prefix)
        for body in bodies:
            envelope = json.loads(body)
            channel.basic_publish(
                exchange,
                envelope["type"],
                body.encode(),
                pika.BasicProperties(message_id=envelope["id"], delivery_mode=pika.DeliveryMode.Persistent),
                mandatory=True,
            )
        channel.basic_qos(prefetch_count=PREFETCH)
        total, elapsed = 0, 0.0
        for service, count in queues.items():
            if not count:
                continue
            queue = topology.QueueNames(settings.broker_prefix, service).main
            seen = 0

            def on_message(ch: Any, method: Any, _properties: Any, _body: bytes, want: int = count) -> None:
                nonlocal seen
                ch.basic_ack(method.delivery_tag)
                seen += 1
                if seen >= want:
                    ch.stop_consuming()

            t0 = time.perf_counter()
            tag = channel.basic_consume(queue, on_message)
            channel.start_consuming()
            elapsed += time.perf_counter() - t0
            channel.basic_cancel(tag)
            total += seen
        return rate(total, elapsed)
    finally:
        with contextlib.suppress(*CONNECTION_ERRORS):
            connection.close()


def logged(stack: Stack, name: str, phrase: str) -> int:
    path = stack.log_dir / f"{name.replace(':', '-')}.log"
    if not path.exists():
        return 0
    return path.read_text(encoding="utf-8", errors="replace").count(phrase)


def wait_connected(stack: Stack, timeout: float = 120.0) -> None:
    """Until every worker's relay, and every consuming service's consumer, says it is connected."""
    consuming = set(catalogue.consumer_services())
    deadline = time.monotonic() + timeout
    while True:
        waiting = []
        for name, process in stack.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}; see {stack.log_dir}")
            service = name.partition(":")[0]
            if not logged(stack, name, "relay connected to the broker"):
                waiting.append(f"{name} (relay)")
            if service in consuming and not logged(stack, name, "consumer connected"):
                waiting.append(f"{name} (consumer)")
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"not connected after {timeout:.0f}s: {', '.join(waiting)}")
        time.sleep(0.2)


def inbox_counts(databases: dict[str, Database]) -> dict[str, int]:
    counts = {}
    for service, database in databases.items():
        with database.engine.connect() as connection:
            counts[service] = int(connection.execute(text("SELECT count(*) FROM inbox")).scalar_one())
    return counts


def workers_run(scratch: Scratch, workers: int, events: int) -> WorkersRun:
    from shared.migrate import upgrade
    from shared.service import load_spec

    tag = f"w{workers}"
    urls = {s: scratch.database(f"{tag}_{s}") for s in SERVICES}
    var = scratch.folder()
    config = StackConfig(
        database_urls=urls,
        amqp_url=scratch.amqp_url,
        broker_prefix=f"yk-bench-{scratch.run}-{tag}",
        keys_dir=generate_stack_keys(var / "keys"),
        var_dir=var,
        workers_per_service=workers,
        # the product's idle poll, not the test stacks' 20 ms: idle relays of 21 processes add up
        extra_env={"LOG_JSON": "1", "RELAY_POLL_INTERVAL": str(Settings.relay_poll_interval)},
    )
    settings = config.settings("training")
    scratch.broker(settings)
    for service in SERVICES:
        upgrade(load_spec(service), urls[service])
    topology.setup(settings)

    admitted, findings = mix(events, f"{scratch.run}{tag}")
    expected = expected_inbox(len(admitted), len(findings))
    bodies = [
        build_envelope(t, d).to_json() for t, d in [*admitted[: len(admitted)], *findings[: len(findings)]]
    ]
    raw = raw_baseline(settings, bodies, expected)

    databases = {s: Database(urls[s]) for s in expected}
    stack = Stack(config, var / "logs")
    try:
        for service in SERVICES:
            for name in config.worker_names(service):
                stack.spawn(name)
        wait_connected(stack)
        sources = {"training": Database(urls["training"]), "quality": Database(urls["quality"])}
        try:
            t0 = time.perf_counter()
            for service, batch in (("training", admitted), ("quality", findings)):
                with sources[service].session() as session:
                    add_events(session, batch)
        finally:
            for database in sources.values():
                database.dispose()
        deadline = time.monotonic() + 600
        while (counts := inbox_counts(databases)) != expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{workers} worker(s): inboxes {counts}, expected {expected}")
            time.sleep(0.05)
        seconds = time.perf_counter() - t0
    finally:
        stack.stop()
        for database in databases.values():
            database.dispose()
    deliveries = sum(expected.values())
    print(
        f"# {workers} worker(s) per service: {deliveries:,} deliveries in {seconds:.1f} s = "
        f"{rate(deliveries, seconds):,.0f}/s; raw pika {raw:,.0f} msg/s; {load()}",
        flush=True,
    )
    return WorkersRun(workers, deliveries, seconds, raw)


# --- (b) relays on one outbox ------------------------------------------------------------------------------


def relay_process(settings: Settings, index: int, stop: Any) -> None:
    """One relay in a process of its own, as each worker runs its relay in production."""
    database = Database(settings.database_url)
    relay = Relay(database, settings, name=f"bench-relay-{index}")
    thread = threading.Thread(target=relay.run, name=relay.name, daemon=True)
    thread.start()
    try:
        stop.wait()
    finally:
        relay.stop()
        thread.join(60)
        database.dispose()


def padded(seq: int) -> Envelope:
    bare = build_envelope(RELAY_EVENT, {"seq": seq, "pad": ""})
    return build_envelope(
        RELAY_EVENT,
        {"seq": seq, "pad": "x" * (BODY_BYTES - len(bare.to_json().encode()))},
        correlation_id=bare.correlation_id,
        occurred_at=dt.datetime.fromisoformat(bare.occurred_at),
    )


@dataclass
class RelayRun:
    relays: int
    published: int
    seconds: float
    duplicates: int
    distinct: int

    @property
    def rate(self) -> float:
        return rate(self.published, self.seconds)


def read_queue(settings: Settings, expected: int) -> Counter[str]:
    """Every message id in the bench's queue (consumed and acknowledged), until ``expected`` distinct ids
    arrived and the queue is empty."""
    queue = topology.QueueNames(settings.broker_prefix, RELAY_SERVICE).main
    connection = connect(settings.amqp_url, name="bench-relays-read")
    seen: Counter[str] = Counter()
    try:
        channel = connection.channel()
        channel.basic_qos(prefetch_count=1000)
        deadline = time.monotonic() + 300
        for method, properties, _body in channel.consume(queue, inactivity_timeout=2.0):
            if method is None:
                if len(seen) >= expected or time.monotonic() > deadline:
                    break
                continue
            seen[properties.message_id] += 1
            channel.basic_ack(method.delivery_tag)
        channel.cancel()
    finally:
        with contextlib.suppress(*CONNECTION_ERRORS):
            connection.close()
    return seen


def relays_run(scratch: Scratch, relays: int, count: int) -> RelayRun:
    url = scratch.database(f"relays{relays}")
    settings = Settings(
        service=RELAY_SERVICE,
        database_url=url,
        amqp_url=scratch.amqp_url,
        broker_prefix=f"yk-bench-{scratch.run}-r{relays}",
        log_json=False,
    )
    scratch.broker(settings, [RELAY_SERVICE])
    topology.setup(settings, [RELAY_SERVICE])
    database = Database(url)
    platform_metadata.create_all(database.engine)
    context = multiprocessing.get_context("fork")  # the bench's catalogue entry goes with them
    stop = context.Event()
    processes = [context.Process(target=relay_process, args=(settings, i, stop)) for i in range(relays)]
    envelopes = [padded(i) for i in range(count)]
    try:
        for process in processes:
            process.start()
        time.sleep(2.0)  # their first poll found nothing: they are connected and idle
        now = utcnow()
        rows = [outbox_row(e, now) for e in envelopes]
        t0 = time.perf_counter()
        with database.engine.begin() as connection:
            connection.execute(insert(outbox), rows)
        deadline = time.monotonic() + 600
        while True:
            with database.engine.connect() as connection:
                pending = connection.execute(
                    text("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                ).scalar_one()
            if not pending:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{relays} relay(s): {pending} rows still pending")
            time.sleep(0.02)
        seconds = time.perf_counter() - t0
    finally:
        stop.set()
        for process in processes:
            process.join(60)
            if process.is_alive():
                process.kill()
        database.dispose()
    seen = read_queue(settings, count)
    duplicates = sum(n - 1 for n in seen.values())
    print(
        f"# {relays} relay(s): {count:,} rows in {seconds:.2f} s = {rate(count, seconds):,.0f}/s; "
        f"{len(seen):,} distinct ids received, {duplicates} duplicate(s); {load()}",
        flush=True,
    )
    return RelayRun(relays, count, seconds, duplicates, len(seen))


# --- the report -------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=5_000, help="events per run (80%% admitted, 20%% QA)")
    parser.add_argument("--workers", default="1,2,3", help="workers per service, one run each")
    parser.add_argument("--relay-events", type=int, default=20_000)
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",") if n.strip()]

    with Scratch("bench") as scratch:
        runs = [workers_run(scratch, n, args.events) for n in counts]
        one = next((r for r in runs if r.workers == 1), runs[0])
        for run in runs:
            common = (
                f"{args.events:,} events (80% agent.admitted → 5 services, 20% qa.finding → training) = "
                f"{run.deliveries:,} deliveries in {run.seconds:.1f} s; {os.cpu_count()} CPUs"
            )
            report(
                Result(
                    BENCH,
                    f"end to end, {run.workers} worker(s) per service",
                    run.product,
                    "deliveries/s",
                    run.raw,
                    "reported" if run.workers == 1 else f"≥ 90% of 1 worker ({one.product:,.0f}/s)",
                    run.workers == 1 or run.product >= 0.9 * one.product,
                    detail=f"baseline: raw pika consume + ack, same run; {common}; "
                    f"{run.product / one.product:.2f}x the 1-worker rate",
                )
            )
        single = relays_run(scratch, 1, args.relay_events)
        triple = relays_run(scratch, 3, args.relay_events)
        for run in (single, triple):
            lost = args.relay_events - run.distinct
            report(
                Result(
                    BENCH,
                    f"{run.relays} relay(s) on one outbox",
                    run.rate,
                    "ev/s",
                    single.rate,
                    "0 duplicates, none lost" + ("" if run.relays == 1 else "; ≥ 90% of 1 relay"),
                    run.duplicates == 0 and lost == 0 and (run.relays == 1 or run.rate >= 0.9 * single.rate),
                    detail=f"{args.relay_events:,} rows of {BODY_BYTES} B; duplicates received "
                    f"{run.duplicates}, lost {lost}; baseline: 1 relay, same run; {load()}",
                )
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
