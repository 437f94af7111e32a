"""Request/message context carried across threads of work: the correlation id.

An HTTP request sets it from ``X-Correlation-ID`` (or mints one); the outbox stamps it on every event
written in that request; a consumer sets it from the envelope before calling a handler, so the chain
request → event → handler → next event keeps one id in every log line.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def get_correlation_id() -> str | None:
    return _correlation_id.get()


def ensure_correlation_id() -> str:
    current = _correlation_id.get()
    if current is None:
        current = str(uuid.uuid4())
        _correlation_id.set(current)
    return current


def set_correlation_id(value: str | None) -> None:
    _correlation_id.set(value)


@contextmanager
def correlation(value: str | None) -> Iterator[str]:
    token = _correlation_id.set(value or str(uuid.uuid4()))
    try:
        yield _correlation_id.get() or ""
    finally:
        _correlation_id.reset(token)
