"""The scheduling service's Flask app (port 8004)."""

from flask import Flask

from services.scheduling.api import blp
from services.scheduling.config import load_settings
from shared.config import Settings
from shared.db import Database
from shared.uow import Clock
from shared.web import app_state
from shared.web import create_app as create_service_app


def create_app(
    settings: Settings | None = None, database: Database | None = None, *, clock: Clock | None = None
) -> Flask:
    app = create_service_app(
        "scheduling", settings=settings, database=database, blueprints=[blp], clock=clock
    )
    # a malformed SCHEDULING_* setting stops the start-up rather than failing requests later
    load_settings(app_state(app).settings.extra)
    return app
