"""The scheduling service's Flask app (port 8004)."""

from flask import Flask

from services.scheduling.api import blp
from services.scheduling.domain import SchedulingSettings
from shared.config import Settings
from shared.db import Database
from shared.http import create_app as create_service_app


def create_app(settings: Settings | None = None, database: Database | None = None) -> Flask:
    settings = settings or Settings.from_env("scheduling")
    SchedulingSettings.from_env(settings.extra)  # a malformed SCHEDULING_* setting stops the start-up
    return create_service_app("scheduling", settings=settings, database=database, blueprints=[blp])
