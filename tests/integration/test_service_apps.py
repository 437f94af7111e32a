"""Each of the six services boots on the platform: migrated database, health, readiness, docs, metrics."""

from __future__ import annotations

from collections.abc import Callable

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


def test_every_catalogued_event_is_routable() -> None:
    """Each type is consumed by a service or lands in the audit queue, so `mandatory` never drops one."""
    for event_type in catalogue.all_event_types():
        assert event_type.consumers or event_type.name in catalogue.unconsumed_types()
        assert event_type.version >= 1
        assert event_type.producer
