"""Exchange, queues, retry and dead-letter queues, declared idempotently.

Names, for a prefix ``p`` (``BROKER_PREFIX``, default ``yunkefu``):

- ``p.events`` — the one durable topic exchange; the routing key is the event type;
- ``p.<service>`` — the service's durable queue (quorum by default), bound to the types it consumes;
- ``p.<service>.retry`` — failed deliveries wait here ``RETRY_DELAY_MS`` and are dead-lettered back to
  ``p.<service>`` through the default exchange (so a retry reaches only the service that failed);
- ``p.<service>.dlq`` — parked after ``MAX_DELIVERY_ATTEMPTS`` tries, or straight away when the message can
  never succeed (not JSON, unknown envelope); ``yunkefu dlq list|replay`` reads it;
- ``p.audit`` — bound to the types no service consumes (vendor dashboards, finance), bounded in length,
  so that every catalogued type is routable and an unroutable publish really means missing topology.

The relay declares the whole topology before it publishes, so nothing is lost when a consumer has not
started yet.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pika.adapters.blocking_connection import BlockingChannel

from shared.config import Settings
from shared.events import catalogue

log = logging.getLogger(__name__)

AUDIT_MAX_LENGTH = 100_000


@dataclass(frozen=True)
class QueueNames:
    prefix: str
    service: str

    @property
    def main(self) -> str:
        return f"{self.prefix}.{self.service}"

    @property
    def retry(self) -> str:
        return f"{self.main}.retry"

    @property
    def dlq(self) -> str:
        return f"{self.main}.dlq"


def exchange_name(prefix: str) -> str:
    return f"{prefix}.events"


def audit_queue(prefix: str) -> str:
    return f"{prefix}.audit"


def _main_arguments(names: QueueNames, queue_type: str, max_attempts: int) -> dict[str, Any]:
    args: dict[str, Any] = {"x-queue-type": queue_type}
    if queue_type == "quorum":
        # A message whose handler kills the process never reaches our own retry logic; the broker's
        # delivery limit parks it in the DLQ instead of redelivering it forever.
        args["x-delivery-limit"] = max(max_attempts * 2, 10)
        args["x-dead-letter-exchange"] = ""
        args["x-dead-letter-routing-key"] = names.dlq
    return args


def declare_service(
    channel: BlockingChannel,
    settings: Settings,
    service: str,
    routing_keys: Iterable[str] | None = None,
) -> QueueNames:
    """Declare (idempotently) one service's queue, retry and dead-letter queues, and its bindings."""
    names = QueueNames(settings.broker_prefix, service)
    exchange = exchange_name(settings.broker_prefix)
    channel.exchange_declare(exchange, exchange_type="topic", durable=True)
    channel.queue_declare(names.dlq, durable=True, arguments={"x-queue-type": settings.queue_type})
    channel.queue_declare(
        names.retry,
        durable=True,
        arguments={
            "x-queue-type": "classic",
            "x-message-ttl": settings.retry_delay_ms,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": names.main,
        },
    )
    channel.queue_declare(
        names.main,
        durable=True,
        arguments=_main_arguments(names, settings.queue_type, settings.max_delivery_attempts),
    )
    keys = catalogue.consumed_by(service) if routing_keys is None else list(routing_keys)
    for key in keys:
        channel.queue_bind(names.main, exchange, routing_key=key)
    return names


def declare_all(channel: BlockingChannel, settings: Settings) -> None:
    """Every consuming service's queues plus the audit queue: what a relay needs before publishing."""
    exchange = exchange_name(settings.broker_prefix)
    channel.exchange_declare(exchange, exchange_type="topic", durable=True)
    for service in catalogue.consumer_services():
        declare_service(channel, settings, service)
    audit = audit_queue(settings.broker_prefix)
    channel.queue_declare(
        audit,
        durable=True,
        arguments={"x-queue-type": "classic", "x-max-length": AUDIT_MAX_LENGTH, "x-overflow": "drop-head"},
    )
    for key in catalogue.unconsumed_types():
        channel.queue_bind(audit, exchange, routing_key=key)


def dead_letter_depth(settings: Settings) -> int | None:
    """Messages parked in this service's DLQ, or None when the broker cannot be asked (for /metrics)."""
    from shared.events.publisher import CONNECTION_ERRORS, connect

    try:
        connection = connect(settings.amqp_url, name=f"{settings.service}-metrics", timeout=2.0)
    except CONNECTION_ERRORS:
        return None
    try:
        channel = connection.channel()
        frame = channel.queue_declare(QueueNames(settings.broker_prefix, settings.service).dlq, passive=True)
        return int(frame.method.message_count)
    except CONNECTION_ERRORS:
        return None
    finally:
        if connection.is_open:
            connection.close()
