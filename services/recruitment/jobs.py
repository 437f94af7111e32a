"""Recruitment's periodic jobs (定时任务): thin, each one use case run in the worker's unit of work."""

from __future__ import annotations

from services.recruitment import requisitions
from shared.uow import UnitOfWork


def flag_overdue_requisitions(uow: UnitOfWork) -> int:
    """A short requisition past its due date (confirmation + 3 working days) is flagged overdue."""
    return requisitions.flag_overdue(uow)
