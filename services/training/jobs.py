"""The training service's periodic job (the worker opens and commits its unit of work)."""

from __future__ import annotations

from services.training import cohorts
from services.training.config import load_settings
from shared.uow import UnitOfWork


def advance_cohorts(uow: UnitOfWork) -> int:
    """Start, move to assessing and complete cohorts whose dates have come (see cohorts.advance_cohorts)."""
    return cohorts.advance_cohorts(uow, load_settings())
