"""Local copies of other services' records, kept from events (read models; 投影).

Five services keep a copy of the projects onboarding confirms and of the agents training admits, each with
the columns it needs. Events arrive late, twice or out of order (an admission before its project's
confirmation), so every copy is written the same way: find the row by its key or create it, then take
from the event only the fields it carries, never erasing what an earlier event said. This module is that
one way; a service's ``projections.py`` says which columns it keeps.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.orm import Session

from shared.db import is_postgres

M = TypeVar("M")


def copy_of(
    session: Session,
    model: type[M],
    key: Any,
    *,
    lock: bool = False,
    defaults: Mapping[str, Any] | None = None,
) -> tuple[M, bool]:
    """The copy with this primary key (a value, or a tuple for a composite key) and whether it is new.

    A new row gets ``defaults`` and the key columns and is added to the session. ``lock`` takes a row
    lock on PostgreSQL, for copies that two deliveries may update at once. On PostgreSQL a key not yet
    copied is also locked (an advisory lock to the end of the transaction), so that several workers
    receiving its first events at once create it once instead of failing on a duplicate key.
    """
    postgres = is_postgres(session)
    row = session.get(model, key, with_for_update=lock and postgres)
    if row is not None:
        return row, False
    if postgres:
        # Two workers meeting the same new key at once would both insert it and one would fail on the
        # primary key (its whole batch retried). Whoever is second waits here for the first to commit,
        # then reads its row: the lock is held to the end of the transaction that creates the row.
        table = model.__table__.name  # type: ignore[attr-defined]
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"copy:{table}:{key!r}"})
        row = session.get(model, key, with_for_update=lock, populate_existing=True)
        if row is not None:
            return row, False
    names = [column.key for column in model.__mapper__.primary_key]  # type: ignore[attr-defined]
    values = key if isinstance(key, tuple) else (key,)
    row = model(**dict(zip(names, values, strict=True)), **dict(defaults or {}))
    session.add(row)
    return row, True


def take(row: Any, data: Mapping[str, Any], fields: Iterable[str] | Mapping[str, str]) -> None:
    """Copy the event's fields that are present and not null onto the row; a mapping renames
    (``{"candidate_id": "agent_id"}`` writes ``data["candidate_id"]`` to ``row.agent_id``)."""
    pairs = fields.items() if isinstance(fields, Mapping) else ((name, name) for name in fields)
    for source, target in pairs:
        value = data.get(source)
        if value is not None:
            setattr(row, target, value)


def company_name(data: Mapping[str, Any], *, limit: int = 200) -> str | None:
    """The merchant's company name of a project event: top level, or inside its ``merchant`` object."""
    merchant = data.get("merchant")
    nested = merchant.get("company_name") if isinstance(merchant, Mapping) else None
    name = data.get("company_name") or nested
    return str(name)[:limit] if name else None


def is_newer(last: dt.datetime | None, occurred_at: dt.datetime | None) -> bool:
    """Whether an event that occurred at ``occurred_at`` is newer than the copy's last applied one (an
    older event arriving late must not overwrite newer data). Unknown times count as newer."""
    return last is None or occurred_at is None or occurred_at >= last
