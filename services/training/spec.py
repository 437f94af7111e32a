"""How the platform finds the training service: app, handlers, jobs, models, migrations."""

from pathlib import Path

from services.training.app import create_app
from services.training.handlers import HANDLERS
from services.training.models import Base
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name="training",
    metadata=Base.metadata,
    create_app=create_app,
    migrations_dir=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
)
