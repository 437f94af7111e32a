"""The web platform every service's app is built on.

``app`` (the factory), ``state`` (an app's settings, database, clock; the request's session), ``errors``
(problem+json), ``guards`` (hostile input refused before any view), ``probes`` (/healthz, /readyz),
``observability`` (correlation ids, request log, /metrics), ``docs`` (/docs), ``transaction`` (the
request's unit of work, ``@transactional``) and ``idempotency`` (``@idempotent``). Services import from
here only.
"""

from __future__ import annotations

from shared.web.app import create_app
from shared.web.errors import ProblemApi, ProblemSchema, flatten_errors, flatten_webargs_errors
from shared.web.idempotency import idempotent
from shared.web.observability import CORRELATION_HEADER
from shared.web.probes import check_broker, check_database
from shared.web.state import AppState, app_state, current_clock, db_session, get_database, get_settings
from shared.web.transaction import current_uow, install_unit_of_work, keep_on_refusal, transactional

__all__ = [
    "CORRELATION_HEADER",
    "AppState",
    "ProblemApi",
    "ProblemSchema",
    "app_state",
    "check_broker",
    "check_database",
    "create_app",
    "current_clock",
    "current_uow",
    "db_session",
    "flatten_errors",
    "flatten_webargs_errors",
    "get_database",
    "get_settings",
    "idempotent",
    "install_unit_of_work",
    "keep_on_refusal",
    "transactional",
]
