"""The billing service's Flask app (port 8006)."""

from flask import Flask

from services.billing.api import blp
from services.billing.api_invoices import blp as invoices_blp
from services.billing.schemas import PerformanceIn
from shared.config import Settings
from shared.db import Database
from shared.web import app_state
from shared.web import create_app as create_service_app


def _register_schemas(app: Flask) -> None:
    # POST /performance takes one object or an array: documented by hand, so its schema is named here
    api = app_state(app).api
    assert api is not None
    api.spec.components.schema("PerformanceIn", schema=PerformanceIn)


def create_app(settings: Settings | None = None, database: Database | None = None) -> Flask:
    return create_service_app(
        "billing",
        settings=settings,
        database=database,
        blueprints=[blp, invoices_blp],
        configure=_register_schemas,
    )
