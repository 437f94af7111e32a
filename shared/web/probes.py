"""The probes: /healthz (the process answers) and /readyz (its database and broker answer too).

Nothing here keeps a broker connection: gunicorn forks workers after importing the app, and a pika
connection must never cross a fork, so /readyz opens and closes its own short-lived one per call.
"""

from __future__ import annotations

import logging

import pika
from flask import Flask, Response, current_app
from sqlalchemy import text

from shared import workdays
from shared.db import Database
from shared.errors import problem_type
from shared.web.errors import problem_response
from shared.web.state import app_state, get_settings

log = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 2.0


def _error_text(exc: BaseException) -> str:
    text_ = str(exc).strip() or repr(exc)
    return f"{type(exc).__name__}: {text_}"[:500]


def check_database(database: Database) -> str | None:
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        return _error_text(exc)
    return None


def check_broker(amqp_url: str, *, name: str = "yunkefu-readyz") -> str | None:
    """Open and close a real AMQP connection: proves the broker is up and accepts our credentials."""
    try:
        params = pika.URLParameters(amqp_url)
        params.socket_timeout = PROBE_TIMEOUT_SECONDS
        params.stack_timeout = PROBE_TIMEOUT_SECONDS + 1
        params.blocked_connection_timeout = PROBE_TIMEOUT_SECONDS
        params.connection_attempts = 1
        params.retry_delay = 0
        params.client_properties = {"connection_name": name}
        connection = pika.BlockingConnection(params)
    except Exception as exc:  # pika raises several unrelated exception types
        return _error_text(exc)
    try:
        connection.close()
    except Exception:  # the check passed; a failed close changes nothing for readiness
        log.debug("closing the readiness connection failed", exc_info=True)
    return None


def _healthz() -> Response:
    return current_app.json.response({"status": "ok", "service": get_settings().service})


def _readyz() -> Response:
    state = app_state()
    failures = {
        "database": check_database(state.database),
        "broker": check_broker(state.settings.amqp_url, name=f"{state.settings.service}-readyz"),
    }
    checks = {name: error or "ok" for name, error in failures.items()}
    failing = [name for name, error in failures.items() if error]
    # A provisional holiday calendar is a warning, not unreadiness: deadlines still come out, maybe a day off.
    outlook = workdays.schedule_outlook()
    warnings = {} if outlook.ok else {"calendar": outlook.message()}
    if not failing:
        return current_app.json.response(
            {"status": "ready", "service": state.settings.service, "checks": checks, "warnings": warnings}
        )
    return problem_response(
        503,
        "Not ready",
        f"Unreachable: {', '.join(failing)}.",
        type=problem_type("not-ready"),
        service=state.settings.service,
        checks=checks,
    )


def init_app(app: Flask) -> None:
    app.add_url_rule("/healthz", "healthz", _healthz, methods=["GET"])
    app.add_url_rule("/readyz", "readyz", _readyz, methods=["GET"])
