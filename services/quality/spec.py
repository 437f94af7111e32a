"""How the platform finds the quality service: app, handlers, models, migrations (no periodic job)."""

from pathlib import Path

from services.quality.app import create_app
from services.quality.handlers import HANDLERS
from services.quality.models import Base
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name="quality",
    metadata=Base.metadata,
    create_app=create_app,
    migrations_dir=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
    jobs=(),
)
