"""The onboarding worker's periodic jobs (listed in spec.py)."""

from __future__ import annotations

from services.onboarding.projects import promote_due_projects
from shared.uow import UnitOfWork


def go_live(uow: UnitOfWork) -> int:
    """Take confirmed projects whose go-live date has come live."""
    return promote_due_projects(uow)
