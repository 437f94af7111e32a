"""The onboarding service's Flask app (port 8001)."""

from flask import Flask

from services.onboarding.api import blp
from services.onboarding.config import load_settings
from shared.config import Settings
from shared.db import Database
from shared.uow import Clock
from shared.web import create_app as create_service_app

#: Room for the multipart envelope around a file of exactly MAX_UPLOAD_BYTES: the file store's own limit
#: (with its message naming the file) is the one a user meets.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def create_app(
    settings: Settings | None = None, database: Database | None = None, *, clock: Clock | None = None
) -> Flask:
    settings = settings or Settings.from_env("onboarding")
    load_settings(settings.extra)  # a bad ONBOARDING_* value stops the start, not a request

    def configure(app: Flask) -> None:
        app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES

    return create_service_app(
        "onboarding", settings=settings, database=database, blueprints=[blp], configure=configure, clock=clock
    )
