"""The service test harness itself: a worker in threads, a tap on the exchange, published events."""

from __future__ import annotations

from collections.abc import Callable

from marshmallow import Schema

from shared.events import catalogue
from shared.events.outbox import add_event
from shared.events.topology import dead_letter_depth
from tests.support import ServiceHarness, wait_until


def test_harness_runs_the_worker_and_taps_events(service_env: Callable[..., ServiceHarness]) -> None:
    h = service_env("onboarding")
    tap = h.tap("project.closed")
    h.start_worker()
    with h.database.session() as session:
        add_event(session, "project.closed", {"project_id": "p-1", "merchant_id": "m-1"})
    [closed] = tap.wait_for("project.closed")
    assert closed.data == {"project_id": "p-1", "merchant_id": "m-1"}
    assert closed.producer == "onboarding"


def test_event_routed_to_a_service_without_its_handler_is_parked_not_dropped(
    service_env: Callable[..., ServiceHarness],
) -> None:
    unhandled = catalogue.EventType("test.unhandled", 1, "tests", ("billing",), Schema, "test-only")
    catalogue.register(unhandled)
    try:
        consumer = service_env("billing")
        consumer.start_worker()
        consumer.publish("test.unhandled", {})
        wait_until(lambda: dead_letter_depth(consumer.settings) == 1, what="the event in billing's DLQ")
    finally:
        catalogue.unregister(unhandled.name)
