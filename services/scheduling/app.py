"""The scheduling service's Flask app (port 8004)."""

from flask import Flask

from shared.config import Settings
from shared.db import Database
from shared.http import create_app as create_service_app


def create_app(settings: Settings | None = None, database: Database | None = None) -> Flask:
    return create_service_app("scheduling", settings=settings, database=database, blueprints=[])
