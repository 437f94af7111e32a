"""The app factory every service uses: flask-smorest, problem+json errors, probes, metrics and docs.

A service's ``app.py`` is one call to ``create_app(name, blueprints=[...])``; everything a client or an
operator relies on across services (error shape, correlation ids, /healthz, /readyz, /metrics, /docs,
per-request database session and unit of work, rate limits and the guards refusing hostile or malformed
input before any view runs) is built here once, from the sibling modules, so the six services cannot
drift apart.

Nothing here opens a broker connection at import or creation time: gunicorn forks workers after
importing the app, and a pika connection must never cross a fork.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import flask_smorest
from flask import Flask, Response
from prometheus_client import CollectorRegistry
from werkzeug.middleware.proxy_fix import ProxyFix

from shared import auth, pagination, ratelimit, workdays
from shared.auth import BEARER_SCHEME_NAME, BEARER_SECURITY_SCHEME
from shared.config import Settings, validate_for_start
from shared.db import Database
from shared.logging import configure_logging
from shared.uow import Clock, system_clock
from shared.web import docs, guards, observability, probes
from shared.web.errors import ProblemApi
from shared.web.state import EXTENSION_KEY, AppState, close_session

log = logging.getLogger(__name__)


def create_app(
    service: str,
    *,
    settings: Settings | None = None,
    blueprints: Sequence[flask_smorest.Blueprint] = (),
    database: Database | None = None,
    title: str | None = None,
    version: str = "1",
    configure: Callable[[Flask], None] | None = None,
    clock: Clock | None = None,
) -> Flask:
    """Build one service's app. ``configure`` runs after the Api exists and before the blueprints are
    registered, so it can register field converters; it may register blueprints itself as well
    (``app_state(app).api.register_blueprint``)."""
    settings = settings or Settings.from_env(service)
    configure_logging(service, settings.log_level, settings.log_json)
    for warning in validate_for_start(settings):
        log.warning(warning)
    database = database or Database(settings.database_url)

    app = Flask(__name__)
    app.config.update(
        SERVICE_NAME=service,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        API_TITLE=title or f"yunkefu {service}",
        API_VERSION=version,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "security": [{BEARER_SCHEME_NAME: []}],
            "info": {
                "description": f"The {service} service of yunkefu. Errors are application/problem+json "
                "(RFC 9457). Every /api/v1 operation needs a bearer JWT."
            },
        },
        **docs.config(),
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Chinese names stay readable
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the schema's field order

    state = AppState(
        settings=settings, database=database, registry=CollectorRegistry(), clock=clock or system_clock
    )
    app.extensions[EXTENSION_KEY] = state
    auth.init_app(app, settings)
    workdays.log_schedule_outlook()

    observability.init_app(app, state)
    # After the correlation id (a 429 carries one) and before the guards (a flood of bad bodies is counted).
    ratelimit.init_app(app, settings)
    guards.init_app(app)
    _install_total_count(app)
    if settings.trusted_proxy_hops > 0:
        # The client address (rate limits, logs) is the one the trusted proxies saw, not the proxy's own.
        hops = settings.trusted_proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.teardown_appcontext(close_session)

    api = ProblemApi(app)
    api.spec.components.security_scheme(BEARER_SCHEME_NAME, BEARER_SECURITY_SCHEME)
    state.api = api

    probes.init_app(app)
    docs.init_app(app)

    if configure is not None:
        configure(app)
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    return app


def _install_total_count(app: Flask) -> None:
    """``X-Total-Count`` on every list answer: the total ``shared.pagination`` recorded during the view."""

    @app.before_request
    def _forget_total() -> None:
        pagination.take_total_count()  # a total left by an earlier request of this thread is not ours

    @app.after_request
    def _total_header(response: Response) -> Response:
        total = pagination.take_total_count()
        if total is not None and response.status_code < 400:
            response.headers[pagination.TOTAL_COUNT_HEADER] = str(total)
        return response
