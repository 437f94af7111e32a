"""Each of the six services boots on the platform: migrated database, health, readiness, docs, metrics."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from shared.config import SERVICES, Settings
from shared.db import Database
from shared.events import catalogue
from shared.migrate import upgrade
from shared.service import load_spec


@pytest.mark.parametrize("service", list(SERVICES))
def test_service_app_is_healthy_ready_and_documented(
    service: str, make_database: Callable[[str], str], amqp_url: str, broker_prefix: str
) -> None:
    url = make_database(f"app_{service}")
    spec = load_spec(service)
    upgrade(spec, url)
    settings = Settings(service=service, database_url=url, amqp_url=amqp_url, broker_prefix=broker_prefix)
    database = Database(url)
    app = spec.create_app(settings=settings, database=database)
    client = app.test_client()
    try:
        assert client.get("/healthz").get_json() == {"status": "ok", "service": service}
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.get_json()
        assert ready.get_json()["checks"] == {"database": "ok", "broker": "ok"}
        spec_json = client.get("/openapi.json").get_json()
        assert spec_json["info"]["title"]
        assert "bearerAuth" in spec_json["components"]["securitySchemes"]
        assert client.get("/docs").status_code == 200
        metrics = client.get("/metrics").get_data(as_text=True)
        assert "outbox_pending_events" in metrics
        missing = client.get("/api/v1/no-such-thing")
        assert missing.status_code == 404
        assert missing.content_type == "application/problem+json"
    finally:
        database.dispose()


@pytest.mark.parametrize("service", list(SERVICES))
def test_handlers_only_take_events_the_catalogue_routes_to_them(service: str) -> None:
    spec = load_spec(service)
    assert catalogue.check_handlers(service, spec.handlers) == []
    for event_type in spec.handlers:
        assert service in catalogue.get_event_type(event_type).consumers


def _business_types() -> list[catalogue.EventType]:
    # the test suites register their own throw-away types (bus.*, test.*, bench.*)
    return [t for t in catalogue.all_event_types() if not t.name.startswith(("bus.", "test.", "bench."))]


def test_every_catalogued_consumer_has_a_handler_for_the_event() -> None:
    """A type routed to a service that has no handler for it would only ever reach that service's DLQ."""
    for event_type in _business_types():
        assert event_type.version >= 1
        assert event_type.producer in SERVICES, event_type.name
        for consumer in event_type.consumers:
            assert consumer in SERVICES, f"{event_type.name} is routed to unknown service {consumer!r}"
            assert event_type.name in load_spec(consumer).handlers, (
                f"the catalogue routes {event_type.name} to {consumer}, which has no handler for it"
            )
    for service in SERVICES:
        assert catalogue.unhandled(service, load_spec(service).handlers) == []


def test_every_unconsumed_event_is_documented_as_going_to_the_audit_queue() -> None:
    """An event no service consumes must be a deliberate choice: the producer's guide names it and the
    architecture page draws it into the audit queue (not silently forgotten by a consumer)."""
    docs = Path(__file__).resolve().parents[2] / "docs"
    architecture = (docs / "architecture.md").read_text(encoding="utf-8")
    unconsumed = [t for t in _business_types() if not t.consumers]
    assert unconsumed, "the contract has events for dashboards only (e.g. payroll.approved)"
    for event_type in unconsumed:
        assert event_type.name in catalogue.unconsumed_types()
        guide = (docs / "services" / f"{event_type.producer}.md").read_text(encoding="utf-8")
        assert f"`{event_type.name}" in guide, f"docs/services/{event_type.producer}.md never names it"
        drawn = f"{event_type.producer} -- {event_type.name} --> audit"
        assert drawn in architecture, f"docs/architecture.md does not show {event_type.name} going to audit"
