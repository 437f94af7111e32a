"""The training service's Flask app (port 8003)."""

from flask import Flask

from services.training.api import blp
from services.training.service import load_settings
from shared.config import Settings
from shared.db import Database
from shared.http import create_app as create_service_app


def create_app(settings: Settings | None = None, database: Database | None = None) -> Flask:
    app = create_service_app("training", settings=settings, database=database, blueprints=[blp])
    # a bad TRAINING_* value stops the service at start-up rather than failing requests later
    load_settings(app.extensions["yunkefu"].settings.extra)
    return app
