"""How the platform finds the billing service: app, handlers, jobs, models, migrations."""

from pathlib import Path

from services.billing.app import create_app
from services.billing.handlers import HANDLERS
from services.billing.models import Base
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name="billing",
    metadata=Base.metadata,
    create_app=create_app,
    migrations_dir=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
)
