"""An app's platform state and the request's database session: what every other ``shared.web`` module
reads, so it depends on none of them (the factory in ``shared.web.app`` fills it in)."""

from __future__ import annotations

from dataclasses import dataclass

import flask_smorest
from flask import Flask, current_app, g, has_app_context
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
    """This request's session: created on first use, rolled back unless committed, closed at teardown."""
    session: Session | None = g.get(_G_SESSION)
    if session is None:
        session = get_database().sessionmaker()
        setattr(g, _G_SESSION, session)
    return session


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
