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

The topology is declared **once**, by ``yunkefu broker setup`` (:func:`setup`; ``make migrate``, the compose
``migrate`` service and the Kubernetes migration Job run it), not by every process at start: many processes
declaring quorum queues at the same moment wedged a single RabbitMQ 3.10 node. The processes only check
(:func:`require`): a relay publishes nothing and a consumer consumes nothing until the topology is there, so
no event is published unroutable for want of a consumer's queue; they log what is missing and retry.
``BROKER_TOPOLOGY=declare`` makes a process declare what it uses itself (tests of ad-hoc services).

Quorum queues (``QUEUE_TYPE=quorum``, the default) are replicated over the cluster's nodes and carry a
delivery limit; ``classic`` stays a setting for a broker without them (RabbitMQ before 3.8).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
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


class TopologyMissing(RuntimeError):
    """The exchange or a queue a process needs is not on the broker: ``yunkefu broker setup`` was not run
    (with this ``BROKER_PREFIX`` and ``AMQP_URL``)."""


class TopologyConflict(RuntimeError):
    """A queue exists with other arguments (another ``QUEUE_TYPE``) and holds messages or consumers, so it
    cannot be replaced without losing them."""


def required_queues(settings: Settings, service: str | None) -> list[str]:
    """What a process must find: a consumer its own queues; a relay (``service`` None) every consuming
    service's main queue and the audit queue, where whatever it publishes is routed."""
    if service is not None:
        names = QueueNames(settings.broker_prefix, service)
        return [names.main, names.dlq, *retry_queues(names, settings)]
    mains = [QueueNames(settings.broker_prefix, s).main for s in catalogue.consumer_services()]
    return [*mains, audit_queue(settings.broker_prefix)]


def missing(connection: Any, settings: Settings, queues: Iterable[str]) -> list[str]:
    """The exchange and those of ``queues`` that are not on the broker (passive declares, which create
    nothing; a failed one closes its channel, so a new channel follows each miss)."""
    from shared.events.publisher import CONNECTION_ERRORS

    absent: list[str] = []
    channel = connection.channel()
    checks: list[tuple[str, Any]] = [
        (exchange_name(settings.broker_prefix), lambda ch, n: ch.exchange_declare(n, passive=True)),
        *((q, lambda ch, n: ch.queue_declare(n, passive=True)) for q in queues),
    ]
    for name, check in checks:
        try:
            check(channel, name)
        except CONNECTION_ERRORS:
            if not connection.is_open:
                raise
            absent.append(name)
            channel = connection.channel()
    if channel.is_open:
        channel.close()
    return absent


def require(
    connection: Any,
    settings: Settings,
    service: str | None = None,
    routing_keys: Iterable[str] | None = None,
) -> None:
    """Check (or, with ``BROKER_TOPOLOGY=declare``, declare) what a process needs: a consumer (``service``)
    its queues, a relay (None) every queue it publishes to; raises :class:`TopologyMissing` naming what is
    absent."""
    if settings.broker_topology == "declare":
        channel = connection.channel()
        if service is None:
            declare_all(channel, settings)
        else:
            declare_service(channel, settings, service, routing_keys)
        channel.close()
        return
    absent = missing(connection, settings, required_queues(settings, service))
    if absent:
        shown = ", ".join(absent[:5]) + (f" and {len(absent) - 5} more" if len(absent) > 5 else "")
        raise TopologyMissing(
            f"the broker has no {shown}: run `yunkefu broker setup` (BROKER_PREFIX={settings.broker_prefix})"
        )


def setup(settings: Settings, services: Iterable[str] = ()) -> list[str]:
    """Declare the whole topology (every consuming service's queues, the audit queue, and those of
    ``services``), replacing a queue of the wrong type when it is empty and unused. Returns what was
    replaced. Raises :class:`TopologyConflict` when a queue of another type still holds messages."""
    from shared.events.publisher import connect

    connection = connect(settings.amqp_url, name="yunkefu-broker-setup")
    try:
        if settings.queue_type == "quorum" and not supports_quorum(connection):
            log.warning("the broker has no quorum queues (RabbitMQ before 3.8): declaring classic queues")
            settings = replace(settings, queue_type="classic")
        replaced = _declare_replacing(connection, settings, lambda ch: declare_all(ch, settings))
        for service in services:
            replaced += _declare_replacing(
                connection, settings, lambda ch, s=service: declare_service(ch, settings, s)
            )
        return replaced
    finally:
        if connection.is_open:
            connection.close()


def supports_quorum(connection: Any) -> bool:
    """Quorum queues came with RabbitMQ 3.8; a server that does not say its version is assumed recent."""
    properties = getattr(getattr(connection, "_impl", None), "server_properties", None) or {}
    version = properties.get("version", b"")
    text = version.decode() if isinstance(version, bytes) else str(version)
    parts = text.split(".")
    try:
        return (int(parts[0]), int(parts[1])) >= (3, 8)
    except (ValueError, IndexError):
        return True


def _declare_replacing(connection: Any, settings: Settings, declare: Any) -> list[str]:
    """Run ``declare`` on a fresh channel; on PRECONDITION_FAILED (a queue with other arguments) replace
    that queue if nothing is in it and nobody consumes it, then try again."""
    import pika.exceptions

    replaced: list[str] = []
    while True:
        channel = connection.channel()
        try:
            declare(channel)
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code != 406:
                raise
            queue = _queue_in(exc.reply_text)
            if queue is None or queue in replaced:
                raise TopologyConflict(f"the broker refused the topology: {exc.reply_text}") from exc
            _replace_if_idle(connection, queue, exc.reply_text)
            replaced.append(queue)
            log.warning(
                "queue %s had other arguments and was empty: replaced (%s)", queue, settings.queue_type
            )
            continue
        if channel.is_open:
            channel.close()
        return replaced


def _queue_in(reply_text: str) -> str | None:
    # "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'p.svc' in vhost '/': ..."
    marker = "for queue '"
    start = reply_text.find(marker)
    if start < 0:
        return None
    start += len(marker)
    end = reply_text.find("'", start)
    return reply_text[start:end] if end > start else None


def _replace_if_idle(connection: Any, queue: str, reason: str) -> None:
    channel = connection.channel()
    frame = channel.queue_declare(queue, passive=True)
    messages, consumers = int(frame.method.message_count), int(frame.method.consumer_count)
    if messages or consumers:
        channel.close()
        raise TopologyConflict(
            f"queue {queue} exists with other arguments ({reason}) and holds {messages} message(s) with "
            f"{consumers} consumer(s): stop its workers and let it drain (or set QUEUE_TYPE to its type), "
            "then run `yunkefu broker setup` again"
        )
    channel.queue_delete(queue, if_unused=True, if_empty=True)
    channel.close()


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
