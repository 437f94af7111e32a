"""How the platform finds the scheduling service: app, handlers, jobs, models, migrations."""

from pathlib import Path

from services.scheduling.app import create_app
from services.scheduling.handlers import HANDLERS
from services.scheduling.models import Base
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name="scheduling",
    metadata=Base.metadata,
    create_app=create_app,
    migrations_dir=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
)
