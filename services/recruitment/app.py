"""The recruitment service's Flask app (port 8002)."""

from flask import Flask

from services.recruitment.api import blp
from shared.config import Settings
from shared.db import Database
from shared.web import create_app as create_service_app


def create_app(settings: Settings | None = None, database: Database | None = None) -> Flask:
    return create_service_app("recruitment", settings=settings, database=database, blueprints=[blp])
