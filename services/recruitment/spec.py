"""How the platform finds the recruitment service: app, handlers, jobs, models, migrations."""

from pathlib import Path

from services.recruitment.app import create_app
from services.recruitment.config import load_settings
from services.recruitment.handlers import HANDLERS
from services.recruitment.jobs import flag_overdue_requisitions
from services.recruitment.models import Base
from shared.service import Job, ServiceSpec

SPEC = ServiceSpec(
    name="recruitment",
    metadata=Base.metadata,
    create_app=create_app,
    migrations_dir=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
    jobs=(
        # a short requisition past its due date (confirmation + 3 working days) is flagged overdue
        Job(
            "flag-overdue-requisitions",
            load_settings().overdue_check_seconds,
            flag_overdue_requisitions,
        ),
    ),
)
