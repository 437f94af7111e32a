"""How the platform finds the scheduling service: app, handlers, jobs, models, migrations."""

from pathlib import Path

from services.scheduling import alerts, jobs
from services.scheduling.app import create_app
from services.scheduling.config import load_alert_interval, load_settings
from services.scheduling.handlers import HANDLERS
from services.scheduling.models import Base
from shared.service import Job, ServiceSpec

SPEC = ServiceSpec(
    name="scheduling",
    metadata=Base.metadata,
    create_app=create_app,
    migrations_dir=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
    jobs=(
        Job("scheduling.check_attendance", load_settings().attendance_check_seconds, jobs.check_attendance),
        # alerts (通知): send the deliveries that are due, retry the failed ones with backoff
        Job("scheduling.deliver_alerts", load_alert_interval(), alerts.deliver_alerts),
    ),
)
