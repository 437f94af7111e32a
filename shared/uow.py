"""The unit of work: one transaction of one use case, and everything a use case needs besides its input.

A use case takes a ``UnitOfWork`` as its first argument and reads

- ``uow.session`` — the SQLAlchemy session of this transaction (queries, adds, flushes);
- ``uow.now()`` — the clock (the wall clock in production, a fixed or moving one in tests);
- ``uow.actor`` — who acts: the caller's token, or a system process (a job, an event handler);
- ``uow.emit(type, data)`` — the outbox: the event is written in this same transaction.

It never commits. The entry points open a unit of work, call the use case and commit:
``shared.web.transaction`` for a request (``@transactional``/``@idempotent`` views), the event consumer
for a delivery, the worker for a periodic job, the CLI for a command. So a refused command (an exception)
rolls back everything it wrote, events included, and a use case can be run by a test on any session.

This module imports no Flask and no pika: use cases and their unit tests see only this.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from shared.db import Database
    from shared.events.envelope import Envelope

#: A clock returns an aware UTC datetime. Inject one; never call ``datetime.now`` in a use case.
Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Actor:
    """Who acts: a person from a token (``sub`` is their id; an agent's is their candidate/agent id) or a
    system process (``role="system"``, ``sub`` names it: a periodic job, an event handler, the CLI)."""

    sub: str
    role: str
    merchant_id: str | None = None

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(sub=name, role="system")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_merchant(self) -> bool:
        return self.role == "merchant"

    @property
    def is_system(self) -> bool:
        return self.role == "system"

    @property
    def label(self) -> str:
        """``role:sub``, the form history and audit columns store."""
        return f"{self.role}:{self.sub}"


class UnitOfWork:
    """A session, a clock, the acting user and the outbox, for one transaction. See the module docstring."""

    def __init__(
        self,
        session: Session,
        *,
        clock: Clock = system_clock,
        actor: Actor | None = None,
    ) -> None:
        self.session = session
        self.clock = clock
        self._actor = actor

    @property
    def actor(self) -> Actor:
        if self._actor is None:
            raise LookupError("this unit of work has no acting user")
        return self._actor

    @actor.setter
    def actor(self, value: Actor) -> None:
        self._actor = value

    @property
    def has_actor(self) -> bool:
        return self._actor is not None

    def now(self) -> dt.datetime:
        return self.clock()

    def emit(
        self, event_type: str, data: Mapping[str, Any], *, correlation_id: str | None = None
    ) -> Envelope:
        """Stage an event in this transaction's outbox (validated against the catalogue now)."""
        from shared.events.outbox import add_event  # the outbox imports the catalogue; keep this light

        return add_event(self.session, event_type, dict(data), correlation_id=correlation_id)

    def emit_many(
        self, events: Sequence[tuple[str, Mapping[str, Any]]], *, correlation_id: str | None = None
    ) -> list[Envelope]:
        """Stage several events in this transaction's outbox with one statement."""
        from shared.events.outbox import add_events

        return add_events(self.session, [(t, dict(d)) for t, d in events], correlation_id=correlation_id)

    def flush(self) -> None:
        self.session.flush()

    # Only entry points call these two.
    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


@contextmanager
def unit_of_work(
    database: Database,
    *,
    clock: Clock = system_clock,
    actor: Actor | None = None,
) -> Iterator[UnitOfWork]:
    """Open a unit of work on a database; commit when the block ends, roll back on any exception.

    For entry points outside a request: the consumer, the worker's jobs, the CLI and tests.
    """
    with database.session() as session:
        yield UnitOfWork(session, clock=clock, actor=actor)
