"""The scheduling service's Flask app (port 8004)."""

from flask import Flask

from services.scheduling.api import blp
from services.scheduling.api_alerts import blp as alerts_blp
from services.scheduling.api_calendar import blp as calendar_blp
from services.scheduling.api_duty import blp as duty_blp
from services.scheduling.api_operations import blp as operations_blp
from services.scheduling.config import load_alert_settings, load_calendar_settings, load_settings
from shared.config import Settings, is_development
from shared.db import Database
from shared.uow import Clock
from shared.web import app_state
from shared.web import create_app as create_service_app


def create_app(
    settings: Settings | None = None, database: Database | None = None, *, clock: Clock | None = None
) -> Flask:
    app = create_service_app(
        "scheduling",
        settings=settings,
        database=database,
        blueprints=[blp, operations_blp, duty_blp, alerts_blp, calendar_blp],
        clock=clock,
    )
    # a malformed SCHEDULING_* setting stops the start-up rather than failing requests later
    load_settings(app_state(app).settings.extra)
    load_alert_settings(app_state(app).settings.extra)
    # a missing or weak calendar secret too, outside development
    load_calendar_settings(app_state(app).settings.extra, development=is_development())
    return app
