"""How the platform finds the complaints service: app, handlers, jobs, models, migrations."""

import os
from pathlib import Path

from services.complaints.app import create_app
from services.complaints.handlers import HANDLERS
from services.complaints.models import Base
from services.complaints.service import load_policy, run_auto_close, run_escalations
from shared.service import Job, ServiceSpec
from shared.uow import UnitOfWork


def _escalations(uow: UnitOfWork) -> int:
    return run_escalations(uow.session, uow.now(), load_policy())


def _auto_close(uow: UnitOfWork) -> int:
    return run_auto_close(uow.session, uow.now(), load_policy())


#: How often the worker looks for complaints to escalate or flag as breached (seconds).
ESCALATION_INTERVAL_SECONDS = float(os.environ.get("COMPLAINTS_ESCALATION_INTERVAL_SECONDS", "60") or 60)
#: How often it closes complaints resolved longer ago than the reopening window (seconds).
AUTO_CLOSE_INTERVAL_SECONDS = float(os.environ.get("COMPLAINTS_AUTO_CLOSE_INTERVAL_SECONDS", "900") or 900)

SPEC = ServiceSpec(
    name="complaints",
    metadata=Base.metadata,
    create_app=create_app,
    migrations_dir=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
    jobs=(
        Job("complaints.escalate", ESCALATION_INTERVAL_SECONDS, _escalations),
        Job("complaints.auto_close", AUTO_CLOSE_INTERVAL_SECONDS, _auto_close),
    ),
)
