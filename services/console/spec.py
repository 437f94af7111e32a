"""How the platform finds the console: its app, migrations and `yunkefu user` commands (no events, no
worker, no jobs)."""

from pathlib import Path

from services.console.app import create_app
from services.console.cli import user
from services.console.models import Base
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name="console",
    metadata=Base.metadata,
    create_app=create_app,
    migrations_dir=Path(__file__).parent / "migrations",
    commands=(user,),
)
