"""The training service's Flask app (port 8003)."""

from flask import Flask

from services.training.api import blp
from services.training.config import load_settings
from shared.config import Settings
from shared.db import Database
from shared.uow import Clock
from shared.web import app_state
from shared.web import create_app as create_service_app


def create_app(
    settings: Settings | None = None, database: Database | None = None, *, clock: Clock | None = None
) -> Flask:
    app = create_service_app("training", settings=settings, database=database, blueprints=[blp], clock=clock)
    # a bad TRAINING_* value stops the service at start-up rather than failing requests later
    load_settings(app_state(app).settings.extra)
    return app
