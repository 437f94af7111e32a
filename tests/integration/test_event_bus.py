"""The event bus on real PostgreSQL and real RabbitMQ: outbox → relay → exchange → consumer → inbox."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pika
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from shared.cli import main as cli
from shared.config import Settings
from shared.db import Database, platform_metadata
from shared.events import topology
from shared.events.consumer import DUPLICATES, Consumer, inbox
from shared.events.envelope import InvalidEventData, UnknownEventType
from shared.events.outbox import add_event, outbox, outbox_stats
from shared.events.relay import Relay
from tests.integration import busapp
from tests.integration.busapp import EVENT, Ping, handled_seqs

ROOT = Path(__file__).resolve().parents[2]
#: The CLI takes a ``module:ATTR`` spec for an app outside services/, as `yunkefu worker` does.
BUSAPP_SPEC = "tests.integration.busapp:SPEC"
_counter = itertools.count()


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@dataclass
class Bus:
    settings: Settings
    database: Database
    threads: list[tuple[threading.Thread, Callable[[], None]]] = field(default_factory=list)

    def produce(self, seqs: range | list[int], **extra: object) -> None:
        with self.database.session() as session:
            for seq in seqs:
                add_event(session, EVENT, {"seq": seq, **extra})

    def start(self, runner: Relay | Consumer) -> Relay | Consumer:
        thread = threading.Thread(target=runner.run, daemon=True)
        thread.start()
        self.threads.append((thread, runner.stop))
        return runner

    def relay(self, **kwargs: object) -> Relay:
        return self.start(Relay(self.database, self.settings, **kwargs))  # type: ignore[return-value]

    def consumer(self) -> Consumer:
        consumer = Consumer(self.database, self.settings, busapp.SPEC.handlers)
        self.start(consumer)
        assert consumer.ready.wait(20), "consumer did not connect"
        return consumer

    def handled(self) -> list[int]:
        with self.database.session() as session:
            return handled_seqs(session)

    def pending(self) -> int:
        with self.database.session() as session:
            return outbox_stats(session).pending

    def stop(self) -> None:
        for _thread, stop in self.threads:
            stop()
        for thread, _stop in self.threads:
            thread.join(15)


@pytest.fixture()
def bus(make_database: Callable[[str], str], unique_prefix: str) -> Iterator[Bus]:
    url = make_database(f"bus{next(_counter)}")
    settings = Settings(
        service=busapp.SERVICE,
        database_url=url,
        amqp_url=os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"),
        broker_prefix=unique_prefix,
        broker_topology="declare",  # busapp is no catalogued service: its processes declare
        queue_type=os.environ["QUEUE_TYPE"],  # the suite's (tests/conftest.py)
        max_delivery_attempts=3,
        retry_delay_ms=200,
        retry_total_seconds=1.0,
        relay_poll_interval=0.02,
        relay_max_backoff=2.0,
        log_json=False,
    )
    database = Database(url)
    platform_metadata.create_all(database.engine)
    busapp.Base.metadata.create_all(database.engine)
    busapp.ATTEMPTS.clear()
    busapp.FAIL_ALWAYS.clear()
    b = Bus(settings, database)
    yield b
    b.stop()
    database.dispose()


def _broker_channel(settings: Settings) -> tuple[pika.BlockingConnection, object]:
    connection = pika.BlockingConnection(pika.URLParameters(settings.amqp_url))
    return connection, connection.channel()


# --- producing --------------------------------------------------------------------------------------------


def test_invalid_or_unknown_event_raises_before_anything_is_written(bus: Bus) -> None:
    with pytest.raises(UnknownEventType), bus.database.session() as session:
        add_event(session, "no.such.event", {"seq": 1})
    with pytest.raises(InvalidEventData), bus.database.session() as session:
        add_event(session, EVENT, {"seq": "one"})
    with pytest.raises(InvalidEventData), bus.database.session() as session:
        add_event(session, "project.closed", {"project_id": "p1", "surprise": True})
    assert bus.pending() == 0


def test_committed_event_arrives_once_with_its_envelope_and_rolled_back_one_never_leaves(bus: Bus) -> None:
    with pytest.raises(RuntimeError), bus.database.session() as session:
        add_event(session, EVENT, {"seq": 999})
        raise RuntimeError("the use case failed after writing its event")
    with bus.database.session() as session:
        sent = add_event(session, EVENT, {"seq": 1, "note": "云客服"})
        marker = add_event(session, EVENT, {"seq": 2})
    bus.consumer()
    bus.relay()
    wait_until(lambda: bus.handled() == [1, 2], what="both events handled")
    with bus.database.session() as session:
        stored = {p.seq: json.loads(p.envelope) for p in session.scalars(select(Ping))}
        assert session.scalar(select(func.count()).select_from(outbox)) == 2
        assert session.scalar(select(func.count()).select_from(inbox)) == 2
    assert stored[1] == sent.to_dict()
    assert stored[2]["id"] == marker.id
    assert set(stored[1]) == {"id", "type", "version", "occurred_at", "producer", "correlation_id", "data"}
    assert stored[1]["producer"] == "busprod" and stored[1]["data"] == {"seq": 1, "note": "云客服"}
    time.sleep(0.5)  # give a stray copy of seq 999 every chance to show up
    assert bus.handled() == [1, 2]
    assert bus.pending() == 0


def test_same_envelope_delivered_twice_changes_state_once(bus: Bus) -> None:
    with bus.database.session() as session:
        envelope = add_event(session, EVENT, {"seq": 7})
    consumer = bus.consumer()
    before = DUPLICATES.labels(busapp.SERVICE)._value.get()
    connection, channel = _broker_channel(bus.settings)
    for _ in range(2):
        channel.basic_publish(  # type: ignore[attr-defined]
            topology.exchange_name(bus.settings.broker_prefix),
            EVENT,
            envelope.to_json().encode(),
            pika.BasicProperties(message_id=envelope.id, type=EVENT),
        )
    connection.close()
    wait_until(lambda: DUPLICATES.labels(busapp.SERVICE)._value.get() == before + 1, what="the duplicate")
    assert bus.handled() == [7]
    assert consumer.ready.is_set()


def test_handler_failing_twice_then_succeeding_is_processed_exactly_once(bus: Bus) -> None:
    bus.produce([5], fail_times=2)
    bus.consumer()
    bus.relay()
    wait_until(lambda: bus.handled() == [5], what="the third attempt to succeed")
    time.sleep(0.6)  # longer than the retry delay: no further copy may arrive
    assert bus.handled() == [5]
    assert list(busapp.ATTEMPTS.values()) == [3]


def _cli_env(settings: Settings) -> dict[str, str]:
    return {
        "BROKER_PREFIX": settings.broker_prefix,
        "BROKER_TOPOLOGY": "declare",
        "AMQP_URL": settings.amqp_url,
        "LOG_JSON": "0",
    }


def test_always_failing_handler_ends_in_dlq_then_list_and_replay(bus: Bus) -> None:
    busapp.FAIL_ALWAYS.add(9)
    bus.produce([9])
    bus.consumer()
    bus.relay()
    names = topology.QueueNames(bus.settings.broker_prefix, busapp.SERVICE)

    def dlq_depth() -> int:
        connection, channel = _broker_channel(bus.settings)
        depth = channel.queue_declare(names.dlq, passive=True).method.message_count  # type: ignore[attr-defined]
        connection.close()
        return depth

    wait_until(lambda: dlq_depth() == 1, what="the message in the dead-letter queue")
    assert busapp.ATTEMPTS and list(busapp.ATTEMPTS.values()) == [3]  # MAX_DELIVERY_ATTEMPTS
    assert bus.handled() == []

    runner = CliRunner()
    listed = runner.invoke(cli, ["dlq", "list", BUSAPP_SPEC, "--json"], env=_cli_env(bus.settings))
    assert listed.exit_code == 0, listed.output
    letter = json.loads(listed.output.splitlines()[0])
    assert letter["type"] == EVENT and letter["attempts"] == 3
    assert "ping 9 always fails" in letter["error"]
    assert dlq_depth() == 1, "listing must not consume"

    busapp.FAIL_ALWAYS.clear()  # the fix is deployed
    replayed = runner.invoke(
        cli, ["dlq", "replay", BUSAPP_SPEC, "--id", letter["message_id"]], env=_cli_env(bus.settings)
    )
    assert replayed.exit_code == 0, replayed.output
    assert "1 message(s) replayed" in replayed.output
    wait_until(lambda: bus.handled() == [9], what="the replayed event to be handled")
    assert dlq_depth() == 0


def test_poison_message_is_parked_without_retries(bus: Bus) -> None:
    bus.consumer()
    connection, channel = _broker_channel(bus.settings)
    channel.basic_publish(  # type: ignore[attr-defined]
        topology.exchange_name(bus.settings.broker_prefix), EVENT, b"{not json", pika.BasicProperties()
    )
    connection.close()
    names = topology.QueueNames(bus.settings.broker_prefix, busapp.SERVICE)

    def dlq_depth() -> int:
        conn, ch = _broker_channel(bus.settings)
        depth = ch.queue_declare(names.dlq, passive=True).method.message_count  # type: ignore[attr-defined]
        conn.close()
        return depth

    wait_until(lambda: dlq_depth() == 1, what="the poison message parked")
    assert busapp.ATTEMPTS == {}


def test_relay_crash_between_publish_and_mark_is_absorbed_by_the_inbox(bus: Bus) -> None:
    bus.produce(range(50))
    crashed: list[int] = []

    def crash_once(outcomes: list[object]) -> None:
        if not crashed:
            crashed.append(len(outcomes))
            raise RuntimeError("simulated crash after the broker confirmed, before marking")

    before = DUPLICATES.labels(busapp.SERVICE)._value.get()
    bus.consumer()
    relay = Relay(bus.database, bus.settings)
    relay.after_publish = crash_once
    bus.start(relay)
    wait_until(lambda: bus.handled() == list(range(50)), what="all 50 handled")
    wait_until(lambda: bus.pending() == 0, what="the outbox drained")
    assert crashed == [50]
    wait_until(lambda: DUPLICATES.labels(busapp.SERVICE)._value.get() == before + 50, what="50 duplicates")
    assert bus.handled() == list(range(50))


def test_two_relays_on_one_outbox_publish_each_row_once(bus: Bus) -> None:
    count = 3000
    settings = replace(bus.settings, relay_batch_size=100)
    connection, channel = _broker_channel(settings)
    tap = f"{settings.broker_prefix}.tap"
    channel.exchange_declare(topology.exchange_name(settings.broker_prefix), "topic", durable=True)  # type: ignore[attr-defined]
    channel.queue_declare(tap, durable=True)  # type: ignore[attr-defined]
    channel.queue_bind(tap, topology.exchange_name(settings.broker_prefix), EVENT)  # type: ignore[attr-defined]
    bus.produce(range(count))
    for name in ("relay-a", "relay-b"):
        bus.start(Relay(bus.database, settings, name=name))
    wait_until(lambda: bus.pending() == 0, timeout=60, what="the outbox drained by two relays")
    bus.stop()
    ids: list[str] = []
    while True:
        method, _props, body = channel.basic_get(tap, auto_ack=True)  # type: ignore[attr-defined]
        if method is None:
            break
        ids.append(json.loads(body)["id"])
    connection.close()
    assert len(ids) == count
    assert len(set(ids)) == count


def test_close_all_connections_during_1000_events_loses_and_doubles_nothing(bus: Bus) -> None:
    consumer = bus.consumer()
    relay = bus.relay()

    def produce_stream() -> None:  # about six seconds, so the broker drops us mid-stream
        for start in range(0, 1000, 10):
            bus.produce(range(start, start + 10))
            time.sleep(0.06)

    producer = threading.Thread(target=produce_stream)
    producer.start()
    wait_until(lambda: len(bus.handled()) >= 100, what="the stream to be flowing")
    closed = subprocess.run(
        ["rabbitmqctl", "close_all_connections", "bus test: broker closes every connection"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert closed.returncode == 0, closed.stderr
    assert producer.is_alive(), "the connections must be closed while events are still being produced"
    producer.join()
    wait_until(lambda: len(bus.handled()) >= 1000, timeout=90, what="all 1,000 handled after reconnecting")
    wait_until(lambda: bus.pending() == 0, what="the outbox drained")
    assert bus.handled() == list(range(1000))
    with bus.database.session() as session:
        assert session.scalar(select(func.count()).select_from(inbox)) == 1000
    assert consumer.connects >= 2 and relay.connects >= 2, "both must have reconnected"


def test_worker_process_stops_cleanly_on_sigterm_and_loses_nothing(bus: Bus) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BUSAPP_DATABASE_URL": bus.settings.database_url,
        "AMQP_URL": bus.settings.amqp_url,
        "BROKER_PREFIX": bus.settings.broker_prefix,
        "BROKER_TOPOLOGY": "declare",
        "RELAY_POLL_INTERVAL": "0.02",
        "LOG_JSON": "0",
    }
    command = [sys.executable, "-m", "shared.cli", "worker", "tests.integration.busapp:SPEC"]
    bus.produce(range(300))
    worker = subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: len(bus.handled()) > 0, what="the worker to start handling")
        bus.produce(range(300, 600))
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=60)
        assert worker.returncode == 0, stderr[-3000:]
        assert "worker stopped" in stderr
    finally:
        if worker.poll() is None:
            worker.kill()
    bus.produce(range(600, 700))  # written while no worker runs
    worker = subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: bus.handled() == list(range(700)), timeout=60, what="all 700 after the restart")
        wait_until(lambda: bus.pending() == 0, what="the outbox drained")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)
    assert worker.returncode == 0
    with bus.database.session() as session:
        assert session.scalar(select(func.count()).select_from(inbox)) == 700


def test_unroutable_event_stays_pending_is_reported_and_goes_out_once_routable(bus: Bus) -> None:
    from marshmallow import Schema

    from shared.events import catalogue
    from shared.events.relay import PUBLISH_FAILURES

    relay = bus.relay()
    wait_until(lambda: relay.connects == 1, what="the relay connected (topology declared)")
    # a type registered after the relay declared the topology has no queue bound: unroutable
    ghost = catalogue.register(catalogue.EventType("bus.ghost", 1, "busprod", ("ghostsvc",), Schema))
    try:
        failures = PUBLISH_FAILURES.labels(busapp.SERVICE)._value.get()
        with bus.database.session() as session:
            envelope = add_event(session, ghost.name, {})
        wait_until(
            lambda: PUBLISH_FAILURES.labels(busapp.SERVICE)._value.get() > failures, what="the failure report"
        )
        with bus.database.session() as session:
            row = session.execute(select(outbox).where(outbox.c.event_id == envelope.id)).one()
        assert row.published_at is None
        assert row.attempts >= 1
        assert "unroutable" in row.last_error and "NO_ROUTE" in row.last_error

        connection, channel = _broker_channel(bus.settings)
        names = topology.declare_service(channel, bus.settings, "ghostsvc")  # the topology is fixed
        wait_until(lambda: bus.pending() == 0, what="the event published after its backoff")
        assert channel.queue_declare(names.main, passive=True).method.message_count == 1  # type: ignore[attr-defined]
        connection.close()
    finally:
        catalogue.unregister(ghost.name)
