"""Availability (可上班时间): an agent's weekly pattern and dated exceptions, across every project.

Rosters, swaps and open-shift claims read them through :func:`load_availability`, together with approved
leave, so that nothing puts an agent on a shift they said they cannot work.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.scheduling.dayrules import Availability, hhmm, merge_windows, window_problems
from services.scheduling.models import AvailabilityException, AvailabilityWindow, LeaveRequest
from shared.errors import ValidationFailed
from shared.uow import UnitOfWork
from shared.workdays import today_shanghai

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _minute(value: str) -> int:
    return 1440 if value == "24:00" else int(value[:2]) * 60 + int(value[3:])


def load_availability(session: Session, agent_ids: Iterable[str]) -> dict[str, Availability]:
    """Each agent's availability; agents who declared nothing and have no approved leave are left out."""
    ids = sorted(set(agent_ids))
    if not ids:
        return {}
    weekly: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for w in session.scalars(select(AvailabilityWindow).where(AvailabilityWindow.agent_id.in_(ids))):
        weekly[w.agent_id].append((w.weekday, w.start_minute, w.end_minute))
    exceptions: dict[str, list[tuple[dt.date, tuple[tuple[int, int], ...]]]] = defaultdict(list)
    for e in session.scalars(select(AvailabilityException).where(AvailabilityException.agent_id.in_(ids))):
        exceptions[e.agent_id].append((e.date, tuple((int(s), int(t)) for s, t in e.windows)))
    leave: dict[str, set[dt.date]] = defaultdict(set)
    for r in session.scalars(
        select(LeaveRequest).where(LeaveRequest.agent_id.in_(ids), LeaveRequest.status == "approved")
    ):
        day = r.date_from
        while day <= r.date_to:
            leave[r.agent_id].add(day)
            day += dt.timedelta(days=1)
    return {
        a: Availability(tuple(sorted(weekly[a])), tuple(sorted(exceptions[a])), frozenset(leave[a]))
        for a in ids
        if a in weekly or a in exceptions or a in leave
    }


def _windows_out(windows: Sequence[tuple[int, int]]) -> list[dict[str, str]]:
    return [{"start": hhmm(s), "end": hhmm(e)} for s, e in windows]


def availability_view(uow: UnitOfWork, agent_id: str) -> dict[str, Any]:
    """The agent's weekly pattern, exceptions from today on, and approved leave from today on."""
    session = uow.session
    today = today_shanghai(uow.now())
    rows = session.scalars(
        select(AvailabilityWindow)
        .where(AvailabilityWindow.agent_id == agent_id)
        .order_by(AvailabilityWindow.weekday, AvailabilityWindow.start_minute)
    ).all()
    weekly = {
        name: _windows_out(merge_windows((r.start_minute, r.end_minute) for r in rows if r.weekday == i))
        for i, name in enumerate(WEEKDAYS)
    }
    exceptions = session.scalars(
        select(AvailabilityException)
        .where(AvailabilityException.agent_id == agent_id, AvailabilityException.date >= today)
        .order_by(AvailabilityException.date)
    ).all()
    return {
        "agent_id": agent_id,
        "declared": bool(rows),
        "weekly": weekly,
        "exceptions": [
            {
                "date": e.date,
                "available": bool(e.windows),
                "windows": _windows_out([(int(s), int(t)) for s, t in e.windows]),
                "note": e.note,
            }
            for e in exceptions
        ],
    }


def _parse_windows(
    raw: Sequence[dict[str, str]], field: str, errors: dict[str, list[str]]
) -> list[tuple[int, int]]:
    windows = [(_minute(w["start"]), _minute(w["end"])) for w in raw]
    for problem in window_problems(windows):
        errors.setdefault(field, []).append(problem)
    return windows


def set_weekly(uow: UnitOfWork, agent_id: str, weekly: dict[str, list[dict[str, str]]]) -> dict[str, Any]:
    """Replace the weekly pattern; an empty pattern (every day empty or omitted) means always available."""
    errors: dict[str, list[str]] = {}
    parsed = {day: _parse_windows(weekly.get(day, []), f"weekly.{day}", errors) for day in WEEKDAYS}
    if errors:
        raise ValidationFailed(errors, detail="The weekly availability is malformed; nothing was changed.")
    session = uow.session
    session.execute(delete(AvailabilityWindow).where(AvailabilityWindow.agent_id == agent_id))
    now = uow.now()
    for i, day in enumerate(WEEKDAYS):
        for start, end in merge_windows(parsed[day]):
            session.add(
                AvailabilityWindow(
                    agent_id=agent_id, weekday=i, start_minute=start, end_minute=end, updated_at=now
                )
            )
    session.flush()
    return availability_view(uow, agent_id)


def set_exception(
    uow: UnitOfWork, agent_id: str, day: dt.date, windows: Sequence[dict[str, str]], note: str | None
) -> dict[str, Any]:
    """Declare a date's availability (no window: not available); today or later only."""
    today = today_shanghai(uow.now())
    errors: dict[str, list[str]] = {}
    if day < today:
        errors["date"] = [f"must be today ({today.isoformat()}) or later: the past cannot be declared"]
    parsed = _parse_windows(windows, "windows", errors)
    if errors:
        raise ValidationFailed(errors, detail="The availability exception is malformed; nothing was changed.")
    session = uow.session
    row = session.scalar(
        select(AvailabilityException).where(
            AvailabilityException.agent_id == agent_id, AvailabilityException.date == day
        )
    )
    if row is None:
        row = AvailabilityException(agent_id=agent_id, date=day)
        session.add(row)
    row.windows = [list(w) for w in merge_windows(parsed)]
    row.note = note
    row.updated_at = uow.now()
    session.flush()
    return availability_view(uow, agent_id)


def clear_exception(uow: UnitOfWork, agent_id: str, day: dt.date) -> bool:
    result = uow.session.execute(
        delete(AvailabilityException).where(
            AvailabilityException.agent_id == agent_id, AvailabilityException.date == day
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
