"""Test harness for one service on real PostgreSQL + RabbitMQ (used through the ``service_env`` fixture).

``ServiceHarness`` migrates a fresh database, builds the Flask app with a test client, starts the real
worker (consumer + relay + periodic jobs) in threads when asked, taps the exchange to capture published
events, publishes envelopes as another service would, and mints tokens.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pika
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from shared.auth import SigningKey, load_signing_key, mint_token
from shared.config import Settings
from shared.db import Database
from shared.events import catalogue, topology
from shared.events.envelope import Envelope, build_envelope
from shared.events.outbox import outbox
from shared.migrate import upgrade
from shared.service import ServiceSpec, load_spec
from shared.worker import Worker


def session_signing_key() -> SigningKey:
    """The test session's private key (tests/conftest.py generates it): what the console would sign with."""
    return SigningKey.load(os.environ["JWT_PRIVATE_KEY_FILE"])


def session_public_keys() -> str:
    """The test session's ``JWT_PUBLIC_KEYS``: the settings of an app built by hand verify with it."""
    return os.environ["JWT_PUBLIC_KEYS"]


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll until the predicate is truthy (returns its value); fails the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


@dataclass
class EventTap:
    """A private queue bound to some routing keys: what the service published, in order."""

    settings: Settings
    keys: list[str]
    queue: str = ""
    seen: list[Envelope] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._connection = pika.BlockingConnection(pika.URLParameters(self.settings.amqp_url))
        self._channel = self._connection.channel()
        exchange = topology.exchange_name(self.settings.broker_prefix)
        self._channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        self.queue = self._channel.queue_declare("", exclusive=True).method.queue
        for key in self.keys:
            self._channel.queue_bind(self.queue, exchange, routing_key=key)

    def drain(self) -> list[Envelope]:
        while True:
            method, _props, body = self._channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                break
            raw = json.loads(body)
            self.seen.append(Envelope(**raw))
        return self.seen

    def of_type(self, event_type: str) -> list[Envelope]:
        return [e for e in self.drain() if e.type == event_type]

    def wait_for(self, event_type: str, count: int = 1, timeout: float = 30.0) -> list[Envelope]:
        return wait_until(
            lambda: (found := self.of_type(event_type)) and len(found) >= count and found,
            timeout,
            f"{count} × {event_type}",
        )

    def close(self) -> None:
        if self._connection.is_open:
            self._connection.close()


@dataclass
class ServiceHarness:
    spec: ServiceSpec
    settings: Settings
    database: Database
    app: Flask
    client: FlaskClient
    worker: Worker | None = None
    taps: list[EventTap] = field(default_factory=list)

    @property
    def signing_key(self) -> SigningKey:
        return load_signing_key(self.settings)

    def token(self, role: str, *, sub: str | None = None, merchant_id: str | None = None) -> str:
        return mint_token(self.signing_key, role, sub=sub, merchant_id=merchant_id)

    def auth(self, role: str, *, sub: str | None = None, merchant_id: str | None = None) -> dict[str, str]:
        """Headers for the test client: ``client.get(url, headers=h.auth("vendor"))``."""
        return {"Authorization": f"Bearer {self.token(role, sub=sub, merchant_id=merchant_id)}"}

    def tap(self, *keys: str) -> EventTap:
        """Start capturing events with these routing keys (call before the action that emits them)."""
        tap = EventTap(self.settings, list(keys))
        self.taps.append(tap)
        return tap

    def start_worker(self) -> Worker:
        if self.worker is None:
            # what `yunkefu broker setup` does before a deployment's workers start (they only check)
            extra = [] if self.spec.name in catalogue.consumer_services() else [self.spec.name]
            topology.setup(self.settings, extra)
            self.worker = Worker(self.spec, self.settings, database=Database(self.settings.database_url))
            self.worker.start()
            assert self.worker.consumer.ready.wait(30), "the consumer did not connect"
        return self.worker

    def publish(self, event_type: str, data: dict[str, Any], **kwargs: Any) -> Envelope:
        """Publish an event as its producing service would (straight to the exchange)."""
        envelope = build_envelope(event_type, data, **kwargs)
        self.publish_envelope(envelope)
        return envelope

    def publish_envelope(self, envelope: Envelope) -> None:
        connection = pika.BlockingConnection(pika.URLParameters(self.settings.amqp_url))
        try:
            channel = connection.channel()
            topology.declare_all(channel, self.settings)
            channel.confirm_delivery()
            channel.basic_publish(
                topology.exchange_name(self.settings.broker_prefix),
                envelope.type,
                envelope.to_json().encode(),
                pika.BasicProperties(
                    message_id=envelope.id, type=envelope.type, delivery_mode=pika.DeliveryMode.Persistent
                ),
                mandatory=True,
            )
        finally:
            connection.close()

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        for tap in self.taps:
            tap.close()
        self.database.dispose()


def emitted(h: ServiceHarness, event_type: str) -> list[dict[str, Any]]:
    """The data of the events of a type the service wrote to its outbox, oldest first."""
    with h.database.session() as session:
        rows = session.execute(
            select(outbox.c.payload).where(outbox.c.event_type == event_type).order_by(outbox.c.id)
        ).all()
    return [json.loads(r.payload)["data"] for r in rows]


class Clock:
    """An app's or a job's clock that the test moves (``app_state(h.app).clock = clock``)."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def make_harness(
    service: str,
    database_url: str,
    amqp_url: str,
    broker_prefix: str,
    *,
    overrides: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> ServiceHarness:
    spec = load_spec(service)
    upgrade(spec, database_url)
    # the session's key pair (tests/conftest.py exports it) and queue type, unless the test brings its own
    keys = {
        k: os.environ[k] for k in ("JWT_PRIVATE_KEY_FILE", "JWT_PUBLIC_KEYS", "QUEUE_TYPE") if k in os.environ
    }
    base = Settings.from_env(spec.name, {**keys, **(env or {})})
    settings = Settings(
        **{
            **base.__dict__,
            "database_url": database_url,
            "amqp_url": amqp_url,
            "broker_prefix": broker_prefix,
            "retry_delay_ms": 200,
            "retry_total_seconds": 1.0,
            "max_delivery_attempts": 3,
            "relay_poll_interval": 0.02,
            "log_json": False,
            **(overrides or {}),
        }
    )
    database = Database(database_url)
    app = spec.create_app(settings=settings, database=database)
    app.testing = True
    return ServiceHarness(spec, settings, database, app, app.test_client())


def ids(items: Iterable[dict[str, Any]], key: str = "id") -> list[Any]:
    return [item[key] for item in items]


def walk_pages(client: FlaskClient, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every item of a list, page by page through ``next_after``; each page says the first page's total."""
    first = client.get(url, headers=headers)
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    items, total = list(body["items"]), body["total"]
    while body["next_after"]:
        joiner = "&" if "?" in url else "?"
        response = client.get(f"{url}{joiner}after={body['next_after']}", headers=headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert (body["page"], body["total"], response.headers["X-Total-Count"]) == (0, total, str(total))
        items += body["items"]
    assert len(items) == total
    return items


def raw_cursor(total: int, *tagged: list[Any]) -> str:
    """An ``after`` cursor written by hand from tagged values (``["s", "x"]``, ``["i", 4]``, …): how a test
    makes one that is well formed but belongs to another list or holds the wrong types."""
    raw = json.dumps([total, list(tagged)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
