"""`yunkefu broker setup` declares the topology once (quorum queues by default); processes only check it.

Many processes declaring quorum queues at the same moment wedged a single RabbitMQ 3.10 node, so the
declaration moved out of the processes into one step run before they start (make migrate, the compose
``migrate`` service, the Kubernetes migration Job).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pika
import pika.exceptions
import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from shared.cli import main
from shared.config import Settings
from shared.db import Database
from shared.events import catalogue, topology
from shared.events.consumer import Consumer
from shared.events.outbox import outbox, outbox_stats
from shared.events.relay import Relay
from shared.migrate import upgrade
from shared.service import load_spec
from tests.support import wait_until


@pytest.fixture()
def settings(amqp_url: str, unique_prefix: str) -> Settings:
    return Settings(
        service="onboarding",
        database_url="sqlite://",
        amqp_url=amqp_url,
        broker_prefix=unique_prefix,
        relay_poll_interval=0.02,
        log_json=False,
    )


@pytest.fixture()
def channel(amqp_url: str) -> Iterator[Any]:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    yield connection
    if connection.is_open:
        connection.close()


def cli(settings: Settings, *args: str) -> Any:
    env = {"AMQP_URL": settings.amqp_url, "BROKER_PREFIX": settings.broker_prefix, "QUEUE_TYPE": "quorum"}
    return CliRunner().invoke(main, ["broker", *args], env=env)


def declared_as(connection: Any, queue: str, arguments: dict[str, Any]) -> bool:
    """True when redeclaring ``queue`` with ``arguments`` is accepted, i.e. it was declared with them."""
    probe = connection.channel()
    try:
        probe.queue_declare(queue, durable=True, arguments=arguments)
    except pika.exceptions.ChannelClosedByBroker as exc:
        assert exc.reply_code == 406, exc  # PRECONDITION_FAILED: inequivalent arguments
        return False
    probe.close()
    return True


def quorum_main(settings: Settings, names: topology.QueueNames) -> dict[str, Any]:
    # x-delivery-limit (a message whose handler kills the process is parked, not redelivered forever)
    arguments = {
        "x-queue-type": "quorum",
        "x-delivery-limit": max(settings.max_delivery_attempts * 2, 10),
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": names.dlq,
    }
    return arguments


CLASSIC = {"x-queue-type": "classic"}
QUORUM = {"x-queue-type": "quorum"}


def test_setup_declares_quorum_queues_with_a_delivery_limit_once_and_check_finds_them(
    settings: Settings, channel: Any
) -> None:
    assert cli(settings, "check").exit_code == 1  # nothing there yet
    first = cli(settings, "setup")
    assert first.exit_code == 0, first.output
    assert "(quorum)" in first.output
    again = cli(settings, "setup")  # idempotent: a second run changes nothing and is not refused
    assert again.exit_code == 0, again.output
    assert "replaced" not in again.output
    checked = cli(settings, "check")
    assert checked.exit_code == 0, checked.output
    for service in catalogue.consumer_services():
        names = topology.QueueNames(settings.broker_prefix, service)
        assert declared_as(channel, names.main, quorum_main(settings, names)), names.main
        assert not declared_as(channel, names.main, CLASSIC)
        assert declared_as(channel, names.dlq, QUORUM)


def test_classic_stays_a_setting(settings: Settings, channel: Any) -> None:
    env = {"AMQP_URL": settings.amqp_url, "BROKER_PREFIX": settings.broker_prefix, "QUEUE_TYPE": "classic"}
    result = CliRunner().invoke(main, ["broker", "setup"], env=env)
    assert result.exit_code == 0, result.output
    main_queue = topology.QueueNames(settings.broker_prefix, "billing").main
    assert declared_as(channel, main_queue, CLASSIC)


def test_an_empty_queue_of_the_old_type_is_replaced_and_one_holding_messages_is_refused(
    settings: Settings, channel: Any
) -> None:
    names = topology.QueueNames(settings.broker_prefix, "complaints")
    old = channel.channel()
    old.queue_declare(names.main, durable=True, arguments={"x-queue-type": "classic"})
    old.basic_publish("", names.main, b"still here", pika.BasicProperties(delivery_mode=2))

    refused = cli(settings, "setup")
    assert refused.exit_code == 1
    assert names.main in refused.output and "1 message(s)" in refused.output
    assert declared_as(channel, names.main, CLASSIC)  # untouched: nothing lost
    _method, _props, body = old.basic_get(names.main, auto_ack=True)
    assert body == b"still here"

    converted = cli(settings, "setup")  # now empty: replaced by a quorum queue, bindings and all
    assert converted.exit_code == 0, converted.output
    assert f"replaced {names.main}" in converted.output
    assert declared_as(channel, names.main, quorum_main(settings, names))
    probe = channel.channel()
    probe.confirm_delivery()
    probe.basic_publish(
        topology.exchange_name(settings.broker_prefix),
        catalogue.consumed_by("complaints")[0],
        b"{}",
        mandatory=True,  # unroutable would raise: the binding came back with the queue
    )


def test_bad_broker_settings_are_refused_before_anything_connects(settings: Settings) -> None:
    env = {"AMQP_URL": settings.amqp_url, "BROKER_PREFIX": settings.broker_prefix, "QUEUE_TYPE": "streams"}
    result = CliRunner().invoke(main, ["broker", "setup"], env=env)
    assert result.exit_code == 2
    assert "QUEUE_TYPE must be one of quorum, classic" in result.output
    with pytest.raises(ValueError, match="BROKER_TOPOLOGY"):
        Settings(service="x", database_url="", broker_topology="sometimes")


def test_processes_only_check_and_start_their_work_once_the_topology_is_set_up(
    settings: Settings, make_database: Callable[[str], str], channel: Any
) -> None:
    """Before `broker setup` the consumer consumes nothing and the relay publishes nothing (its rows stay
    pending, nothing is published unroutable); neither declares a queue; after it both get going."""
    database = Database(make_database("brokercheck"))
    upgrade(load_spec("billing"), database.url)
    settings = Settings(**{**settings.__dict__, "service": "billing", "database_url": database.url})
    others = [t for t in catalogue.consumed_by("quality") if t not in catalogue.consumed_by("billing")]
    event_id, event_type = str(uuid.uuid4()), others[0]
    with database.session() as session:
        # a row as a use case stages it (the relay does not look inside the payload)
        session.execute(
            insert(outbox),
            {
                "event_id": event_id,
                "event_type": event_type,
                "payload": json.dumps({"id": event_id, "type": event_type, "data": {}}),
                "correlation_id": event_id,
                "created_at": dt.datetime.now(dt.UTC),
                "attempts": 0,
            },
        )
    stop = threading.Event()
    consumer = Consumer(database, settings, load_spec("billing").handlers, stop_event=stop)
    relay = Relay(database, settings, stop_event=stop)
    threads = [threading.Thread(target=t, daemon=True) for t in (consumer.run, relay.run)]
    for thread in threads:
        thread.start()
    try:
        stop.wait(1.5)
        assert not consumer.ready.is_set()
        with database.session() as session:
            assert outbox_stats(session).pending == 1
        absent = topology.missing(channel, settings, topology.declared_queues(settings))
        assert len(absent) == len(topology.declared_queues(settings)) + 1  # + the exchange: none declared

        topology.setup(settings)
        assert consumer.ready.wait(30), "the consumer did not start once the queues were there"

        def published() -> bool:
            with database.session() as session:
                return outbox_stats(session).pending == 0

        wait_until(published, timeout=30, what="the relay to publish once the queues were there")
    finally:
        stop.set()
        for thread in threads:
            thread.join(15)
        database.dispose()


def test_a_service_that_consumes_nothing_needs_no_queue(settings: Settings, channel: Any) -> None:
    """Onboarding consumes no event type: its worker's consumer neither waits for a queue nor makes one."""
    assert catalogue.consumed_by("onboarding") == []
    stop = threading.Event()
    consumer = Consumer(Database("sqlite://"), settings, {}, stop_event=stop)
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        assert consumer.ready.wait(10)
        assert topology.missing(channel, settings, [f"{settings.broker_prefix}.onboarding"]) == [
            topology.exchange_name(settings.broker_prefix),
            f"{settings.broker_prefix}.onboarding",
        ]
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
