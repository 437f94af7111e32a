"""How the platform finds the training service: app, handlers, jobs, models, migrations."""

import os
from pathlib import Path

from services.training.app import create_app
from services.training.handlers import HANDLERS
from services.training.models import Base
from services.training.service import advance_cohorts
from shared.service import Job, ServiceSpec
from shared.uow import UnitOfWork


def _advance(uow: UnitOfWork) -> int:
    return advance_cohorts(uow.session)


#: How often the worker moves cohorts along the calendar (start, assessing, completion at end + 1 day).
JOB_INTERVAL_SECONDS = float(os.environ.get("TRAINING_JOB_INTERVAL_SECONDS", "300") or 300)

SPEC = ServiceSpec(
    name="training",
    metadata=Base.metadata,
    create_app=create_app,
    migrations_dir=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
    jobs=(Job("training.advance_cohorts", JOB_INTERVAL_SECONDS, _advance),),
)
