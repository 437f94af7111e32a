"""An app's platform state and the request's database session: what every other ``shared.web`` module
reads, so it depends on none of them (the factory in ``shared.web.app`` fills it in)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import flask_smorest
from flask import Flask, current_app, g, has_app_context, has_request_context, request
from prometheus_client import CollectorRegistry
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.db import Database
from shared.uow import Clock, system_clock

EXTENSION_KEY = "yunkefu"

_G_SESSION = "_yunkefu_session"


@dataclass
class AppState:
    settings: Settings
    database: Database
    #: Per app, because the tests build many apps in one process and default-registry names would clash.
    registry: CollectorRegistry
    api: flask_smorest.Api | None = None
    #: The one clock of this app's use cases (``UnitOfWork.now``); tests replace it.
    clock: Clock = system_clock


def app_state(app: Flask | None = None) -> AppState:
    return (app or current_app).extensions[EXTENSION_KEY]


def get_settings() -> Settings:
    return app_state().settings


def get_database() -> Database:
    return app_state().database


def db_session() -> Session:
    """This request's session: created on first use, rolled back unless committed, closed at teardown.

    A GET or HEAD whose view is not ``@transactional`` gets a read session (``Database.read_session``:
    autocommit, so no BEGIN and no ROLLBACK round trips; a write through it raises instead of committing).
    """
    session: Session | None = g.get(_G_SESSION)
    if session is None:
        database = get_database()
        session = database.read_session() if _reads_only() else database.sessionmaker()
        setattr(g, _G_SESSION, session)
    return session


_SAFE_METHODS = frozenset({"GET", "HEAD"})


def _reads_only() -> bool:
    if not has_request_context() or request.method not in _SAFE_METHODS or request.endpoint is None:
        return False
    view: Any = current_app.view_functions.get(request.endpoint)
    view_class = getattr(view, "view_class", None)
    if view_class is not None:  # a MethodView: the method's own function carries the decorators' marks
        view = getattr(view_class, "get", None)
    # ``@transactional`` marks its wrapper; ``functools.wraps`` carries the mark out through later decorators
    return view is not None and not getattr(view, "_yunkefu_transactional", False)


def request_session() -> Session | None:
    """This request's session if one was opened (an error handler rolls it back; nothing is created)."""
    return g.get(_G_SESSION)


def close_session(_exc: BaseException | None) -> None:
    """Teardown: roll back whatever was not committed, then close."""
    session: Session | None = g.pop(_G_SESSION, None)
    if session is None:
        return
    try:
        if session.in_transaction():
            session.rollback()
    finally:
        session.close()


#: Probe and scrape endpoints are polled constantly: no request guards, and their log lines go to DEBUG.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def current_clock() -> Clock:
    """The app's clock where a request is being served (request validation that needs today's date reads
    it, as use cases read ``uow.now()``); the system clock outside an app."""
    return app_state().clock if has_app_context() else system_clock
