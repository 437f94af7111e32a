"""How the platform finds the recruitment service: app, handlers, jobs, models, migrations."""

from pathlib import Path

from services.recruitment.app import create_app
from services.recruitment.handlers import HANDLERS
from services.recruitment.models import Base
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name="recruitment",
    metadata=Base.metadata,
    create_app=create_app,
    migrations_dir=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
)
