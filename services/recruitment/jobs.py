"""Recruitment's periodic jobs (定时任务): thin, each one use case run in the worker's unit of work."""

from __future__ import annotations

from services.recruitment import service
from shared.uow import UnitOfWork
from shared.workdays import today_shanghai


def flag_overdue_requisitions(uow: UnitOfWork) -> int:
    """A short requisition past its due date (confirmation + 3 working days) is flagged overdue."""
    return service.flag_overdue(uow.session, today=today_shanghai(uow.now()))
