"""Reading and replaying a service's dead-letter queue (``yunkefu dlq list|replay``).

Listing takes messages without acknowledging them and then closes the channel, which returns them to the
queue: looking changes nothing. Replay republishes (confirmed) to the service's own queue with the
attempt counter reset, then acknowledges the parked copy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pika

from shared.config import Settings
from shared.events.consumer import ATTEMPTS_HEADER
from shared.events.publisher import connect
from shared.events.topology import QueueNames


@dataclass(frozen=True)
class DeadLetter:
    message_id: str | None
    event_type: str | None
    attempts: int
    error: str | None
    failed_at: str | None
    body: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "type": self.event_type,
            "attempts": self.attempts,
            "error": self.error,
            "failed_at": self.failed_at,
            "body": self.body,
        }


def _event_id(properties: pika.BasicProperties, body: bytes) -> str | None:
    if properties.message_id:
        return str(properties.message_id)
    try:
        return str(json.loads(body).get("id"))
    except (ValueError, AttributeError):
        return None


def _dead_letter(properties: pika.BasicProperties, body: bytes) -> DeadLetter:
    headers = properties.headers or {}
    death_reason = None
    if headers.get("x-death"):  # parked by the broker's delivery limit
        death_reason = f"broker dead-lettered: {headers['x-death'][0].get('reason')}"
    error = headers.get("x-last-error") or death_reason
    return DeadLetter(
        message_id=_event_id(properties, body),
        event_type=properties.type,
        attempts=int(headers.get(ATTEMPTS_HEADER, 0)),
        error=error.decode() if isinstance(error, bytes) else error,
        failed_at=headers.get("x-failed-at"),
        body=body.decode("utf-8", errors="replace"),
    )


def list_dead_letters(settings: Settings, limit: int = 100) -> list[DeadLetter]:
    names = QueueNames(settings.broker_prefix, settings.service)
    connection = connect(settings.amqp_url, name=f"{settings.service}-dlq-list")
    try:
        channel = connection.channel()
        found: list[DeadLetter] = []
        while len(found) < limit:
            method, properties, body = channel.basic_get(names.dlq, auto_ack=False)
            if method is None:
                break
            found.append(_dead_letter(properties, body))
        channel.close()  # returns every message taken above to the queue
        return found
    finally:
        connection.close()


def replay(settings: Settings, event_id: str | None = None, limit: int | None = None) -> list[str]:
    """Move parked messages (all, or the one with ``event_id``) back to the service's queue."""
    names = QueueNames(settings.broker_prefix, settings.service)
    connection = connect(settings.amqp_url, name=f"{settings.service}-dlq-replay")
    replayed: list[str] = []
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        depth = channel.queue_declare(names.dlq, passive=True).method.message_count
        for _ in range(depth):
            if limit is not None and len(replayed) >= limit:
                break
            method, properties, body = channel.basic_get(names.dlq, auto_ack=False)
            if method is None:
                break
            message_id = _event_id(properties, body)
            if event_id is not None and message_id != event_id:
                continue  # left unacknowledged: it goes back when the channel closes
            headers = {k: v for k, v in (properties.headers or {}).items() if k != "x-death"}
            headers[ATTEMPTS_HEADER] = 0
            headers["x-replayed"] = True
            channel.basic_publish(
                exchange="",
                routing_key=names.main,
                body=body,
                properties=pika.BasicProperties(
                    content_type=properties.content_type,
                    delivery_mode=pika.DeliveryMode.Persistent,
                    message_id=properties.message_id,
                    type=properties.type,
                    correlation_id=properties.correlation_id,
                    headers=headers,
                ),
                mandatory=True,
            )
            channel.basic_ack(method.delivery_tag)
            replayed.append(message_id or "?")
        channel.close()
        return replayed
    finally:
        connection.close()
