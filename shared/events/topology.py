"""Exchange, queues, retry and dead-letter queues, declared idempotently.

Names, for a prefix ``p`` (``BROKER_PREFIX``, default ``yunkefu``):

- ``p.events`` — the one durable topic exchange; the routing key is the event type;
- ``p.<service>`` — the service's durable queue (``QUEUE_TYPE``), bound to the types it consumes;
- ``p.<service>.retry.<ms>ms`` — one queue per retry delay (``retry_delays_ms``): after its k-th failed
  try a delivery waits in the k-th delay's queue, whose TTL dead-letters it back to ``p.<service>``
  through the default exchange (so a retry reaches only the service that failed). The delays grow from
  ``RETRY_DELAY_MS`` so that together they last ``RETRY_TOTAL_SECONDS``. The TTL is part of the name
  because RabbitMQ refuses to redeclare a queue with other arguments: changing the settings declares new
  queues, and the old ones still empty themselves back into ``p.<service>`` (delete them once empty);
- ``p.<service>.dlq`` — parked after ``MAX_DELIVERY_ATTEMPTS`` tries, or straight away when the message can
  never succeed (not JSON, unknown envelope); ``yunkefu dlq list|replay`` reads it;
- ``p.audit`` — bound to the types no service consumes (vendor dashboards, finance), bounded in length,
  so that every catalogued type is routable and an unroutable publish really means missing topology.

The relay declares the whole topology before it publishes, so nothing is lost when a consumer has not
started yet.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
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

    def retry(self, delay_ms: int) -> str:
        return f"{self.main}.retry.{delay_ms}ms"

    @property
    def legacy_retry(self) -> str:
        """The single fixed-delay retry queue of earlier releases (no longer declared; delete it once
        empty)."""
        return f"{self.main}.retry"

    @property
    def dlq(self) -> str:
        return f"{self.main}.dlq"


def exchange_name(prefix: str) -> str:
    return f"{prefix}.events"


def audit_queue(prefix: str) -> str:
    return f"{prefix}.audit"


def retry_delays_ms(settings: Settings) -> list[int]:
    """The wait before each retry, in ms: ``MAX_DELIVERY_ATTEMPTS - 1`` waits, rising geometrically from
    ``RETRY_DELAY_MS`` so that they add up to ``RETRY_TOTAL_SECONDS`` (a single retry waits the whole
    budget). Raises ValueError for settings that cannot be met."""
    retries = settings.max_delivery_attempts - 1
    first = settings.retry_delay_ms
    total = round(settings.retry_total_seconds * 1000)
    if settings.max_delivery_attempts < 1:
        raise ValueError(f"MAX_DELIVERY_ATTEMPTS must be at least 1, got {settings.max_delivery_attempts}")
    if retries == 0:
        return []
    if first < 1:
        raise ValueError(f"RETRY_DELAY_MS must be at least 1, got {first}")
    if total < first * retries:
        raise ValueError(
            f"RETRY_TOTAL_SECONDS ({settings.retry_total_seconds:g}) is shorter than {retries} retries of "
            f"RETRY_DELAY_MS ({first} ms) each; raise it or lower RETRY_DELAY_MS / MAX_DELIVERY_ATTEMPTS"
        )
    if retries == 1:
        return [total]
    return _geometric(first, total, retries)


def _geometric(first: int, total: int, count: int) -> list[int]:
    # the ratio r >= 1 with first * (1 + r + ... + r^(count-1)) = total, by bisection (monotonic in r)
    target = total / first
    low, high = 1.0, max(target, 1.0)
    for _ in range(100):
        ratio = (low + high) / 2
        if sum(ratio**k for k in range(count)) < target:
            low = ratio
        else:
            high = ratio
    delays = [max(first, round(first * low**k)) for k in range(count)]
    delays[-1] = max(delays[-2], total - sum(delays[:-1]))  # rounding: the budget is met to the ms
    return delays


def retry_queues(names: QueueNames, settings: Settings) -> list[str]:
    """The retry queue after each failed try (index 0: after the first), in the order of the delays."""
    return [names.retry(delay) for delay in retry_delays_ms(settings)]


def _declare_retry_queues(channel: BlockingChannel, names: QueueNames, delays: Sequence[int]) -> None:
    for delay in sorted(set(delays)):
        channel.queue_declare(
            names.retry(delay),
            durable=True,
            arguments={
                "x-queue-type": "classic",
                "x-message-ttl": delay,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": names.main,
            },
        )


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
    _declare_retry_queues(channel, names, retry_delays_ms(settings))
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


def queue_depths(settings: Settings) -> dict[str, int] | None:
    """Messages in this service's queues — ``dead_letter`` (parked) and ``consumer`` (delivered, not yet
    handled) — or None when the broker cannot be asked (for /metrics). A queue the service does not have
    (a service that consumes nothing) is left out."""
    from shared.events.publisher import CONNECTION_ERRORS, connect

    names = QueueNames(settings.broker_prefix, settings.service)
    try:
        connection = connect(settings.amqp_url, name=f"{settings.service}-metrics", timeout=2.0)
    except CONNECTION_ERRORS:
        return None
    depths: dict[str, int] = {}
    try:
        for key, queue in (("dead_letter", names.dlq), ("consumer", names.main)):
            # a passive declare of a missing queue closes the channel: one channel per question
            channel = connection.channel()
            try:
                frame = channel.queue_declare(queue, passive=True)
            except CONNECTION_ERRORS:
                if not connection.is_open:
                    return None
                continue
            depths[key] = int(frame.method.message_count)
            if channel.is_open:
                channel.close()
        return depths
    finally:
        if connection.is_open:
            connection.close()


def dead_letter_depth(settings: Settings) -> int | None:
    """Messages parked in this service's DLQ, or None when the broker cannot be asked (for /metrics)."""
    depths = queue_depths(settings)
    return None if depths is None else depths.get("dead_letter")


def declared_queues(settings: Settings, services: Iterable[str] = ()) -> list[str]:
    """Every queue ``declare_all`` creates, plus those of ``declare_service`` for ``services``: what a
    clean-up (benchmarks, throw-away prefixes) must delete besides the exchange."""
    found: list[str] = []
    for service in [*catalogue.consumer_services(), *services]:
        names = QueueNames(settings.broker_prefix, service)
        found += [names.main, names.dlq, *retry_queues(names, settings)]
    found.append(audit_queue(settings.broker_prefix))
    return list(dict.fromkeys(found))
