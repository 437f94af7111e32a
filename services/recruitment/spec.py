"""How the platform finds the recruitment service: app, handlers, jobs, models, migrations."""

from pathlib import Path

from services.recruitment.app import create_app
from services.recruitment.handlers import HANDLERS
from services.recruitment.models import Base
from services.recruitment.service import Config, flag_overdue
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
            Config.from_env().overdue_check_seconds,
            lambda uow: flag_overdue(uow.session),
        ),
    ),
)
