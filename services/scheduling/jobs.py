"""The scheduling service's periodic jobs (the worker opens and commits their unit of work)."""

from __future__ import annotations

from services.scheduling import attendance
from services.scheduling.config import load_settings
from shared.uow import UnitOfWork


def check_attendance(uow: UnitOfWork) -> dict[str, int]:
    """No-shows past the tolerance call the reserve; running shifts still short raise an alert."""
    return attendance.check_attendance(uow, load_settings())
