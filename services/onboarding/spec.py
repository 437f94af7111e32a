"""How the platform finds the onboarding service: app, handlers, jobs, models, migrations."""

from pathlib import Path

from services.onboarding.app import create_app
from services.onboarding.handlers import HANDLERS
from services.onboarding.models import Base
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name="onboarding",
    metadata=Base.metadata,
    create_app=create_app,
    migrations_dir=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
)
