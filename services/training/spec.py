"""How the platform finds the training service: app, handlers, jobs, models, migrations."""

from pathlib import Path

from services.training import jobs
from services.training.app import create_app
from services.training.config import load_settings
from services.training.handlers import HANDLERS
from services.training.models import Base
from shared.service import Job, ServiceSpec

SPEC = ServiceSpec(
    name="training",
    metadata=Base.metadata,
    create_app=create_app,
    migrations_dir=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
    jobs=(Job("training.advance_cohorts", load_settings().job_interval_seconds, jobs.advance_cohorts),),
)
