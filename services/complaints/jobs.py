"""The complaints service's periodic jobs (the worker opens and commits their unit of work)."""

from __future__ import annotations

from services.complaints import deadlines
from services.complaints.config import load_settings
from shared.uow import UnitOfWork


def escalate(uow: UnitOfWork) -> int:
    """Escalate complaints half-way to or past their promise, flag breaches (deadlines.escalate_overdue)."""
    return deadlines.escalate_overdue(uow, load_settings().policy)


def auto_close(uow: UnitOfWork) -> int:
    """Close resolved complaints nobody reopened in time (deadlines.close_unreopened)."""
    return deadlines.close_unreopened(uow, load_settings().policy)
