"""The quality service's Flask app (port 8007)."""

from flask import Flask

from services.quality.api import blp
from services.quality.config import load_settings
from shared.config import Settings
from shared.db import Database
from shared.uow import Clock
from shared.web import app_state
from shared.web import create_app as create_service_app


def create_app(
    settings: Settings | None = None, database: Database | None = None, *, clock: Clock | None = None
) -> Flask:
    app = create_service_app("quality", settings=settings, database=database, blueprints=[blp], clock=clock)
    # a wrong QUALITY_* setting stops the service at start-up, not every request with a 500
    load_settings(app_state(app).settings.extra)
    return app
