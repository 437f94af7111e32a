"""How the platform finds the complaints service: app, handlers, jobs, models, migrations."""

from pathlib import Path

from services.complaints.app import create_app
from services.complaints.handlers import HANDLERS
from services.complaints.models import Base
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name="complaints",
    metadata=Base.metadata,
    create_app=create_app,
    migrations_dir=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
)
