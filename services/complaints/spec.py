"""How the platform finds the complaints service: app, handlers, jobs, models, migrations."""

from pathlib import Path

from services.complaints import jobs
from services.complaints.app import create_app
from services.complaints.config import load_job_intervals
from services.complaints.handlers import HANDLERS
from services.complaints.models import Base
from shared.service import Job, ServiceSpec

ESCALATION_INTERVAL_SECONDS, AUTO_CLOSE_INTERVAL_SECONDS = load_job_intervals()

SPEC = ServiceSpec(
    name="complaints",
    metadata=Base.metadata,
    create_app=create_app,
    migrations_dir=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
    jobs=(
        Job("complaints.escalate", ESCALATION_INTERVAL_SECONDS, jobs.escalate),
        Job("complaints.auto_close", AUTO_CLOSE_INTERVAL_SECONDS, jobs.auto_close),
    ),
)
