"""The request's unit of work, and the view decorator that commits it.

Every view reads and writes through ``current_uow()``: one session per request (rolled back and closed at
teardown unless committed), the app's clock, and the caller's token as the acting user. A write view is
decorated with ``@transactional`` (or ``@idempotent``, which implies it): the decorator calls the view,
and when the answer is a success it commits; a refusal (an exception, or a 4xx/5xx answer) commits
nothing. Views and use cases never call ``commit()`` themselves. A GET or HEAD view without the
decorator reads through a read session (``shared.web.state.db_session``: autocommit, writes refused), so
a GET that writes anything must carry ``@transactional`` too.

With an ``Idempotency-Key`` the stored answer is written in the same transaction as the effects
(``shared.web.idempotency``), so a crash can never leave effects without their key, nor a key without
its effects.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec

from flask import Flask, Response, current_app, g, make_response

from shared.auth import current_principal
from shared.uow import Actor, UnitOfWork
from shared.web.state import app_state, db_session

P = ParamSpec("P")

_G_UOW = "_yunkefu_uow"
#: Set by ``@idempotent`` for the view it wraps: called with (session, response) just before the commit.
_G_BEFORE_COMMIT = "_yunkefu_before_commit"
#: Set by ``keep_on_refusal()``: this request's writes commit although it answers with a refusal.
_G_KEEP_ON_REFUSAL = "_yunkefu_keep_on_refusal"


class RequestUnitOfWork(UnitOfWork):
    """A unit of work whose acting user is the request's authenticated caller (read when first needed,
    after the view's role check has authenticated it)."""

    @property
    def actor(self) -> Actor:
        if self._actor is None:
            self._actor = current_principal()
        return self._actor

    @actor.setter
    def actor(self, value: Actor) -> None:
        self._actor = value


#: ``app.extensions`` key of an app's own unit-of-work factory (the console's, whose callers are people
#: signed in with a cookie rather than bearer tokens); without one, the service platform's is used.
UOW_FACTORY_KEY = "yunkefu.uow_factory"


def install_unit_of_work(app: Flask, factory: Callable[[], UnitOfWork]) -> None:
    """Give an app its own request unit of work (``factory`` runs once per request, on first use)."""
    app.extensions[UOW_FACTORY_KEY] = factory


def current_uow() -> UnitOfWork:
    """This request's unit of work (created on first use; its session is closed at teardown)."""
    uow: UnitOfWork | None = g.get(_G_UOW)
    if uow is None:
        factory = current_app.extensions.get(UOW_FACTORY_KEY)
        uow = factory() if factory is not None else RequestUnitOfWork(db_session(), clock=app_state().clock)
        setattr(g, _G_UOW, uow)
    return uow


def transactional(view: Callable[P, Any]) -> Callable[P, Response]:
    """Commit the request's unit of work when the view answers with a success (< 400).

    Place it above the flask-smorest decorators: it needs their finished Response. An exception raised by
    the commit (a unique constraint lost to a concurrent request) reaches the app's error handlers like
    any other, as a problem+json answer, with nothing written.
    """
    if getattr(view, "_yunkefu_transactional", False):
        return view  # type: ignore[return-value]

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        try:
            response = make_response(view(*args, **kwargs))
        except Exception as exc:
            # A refusal raised as an exception (a ProblemError, an abort): keep its record if asked.
            if g.pop(_G_KEEP_ON_REFUSAL, False) and _is_refusal(exc):
                current_uow().commit()
            raise
        uow = current_uow()
        if response.status_code < 400:
            before_commit: Callable[[Any, Response], None] | None = g.pop(_G_BEFORE_COMMIT, None)
            if before_commit is not None:
                before_commit(uow.session, response)
            uow.commit()
        elif g.pop(_G_KEEP_ON_REFUSAL, False) and response.status_code < 500:
            uow.commit()
        else:
            uow.rollback()
        return response

    wrapper._yunkefu_transactional = True  # type: ignore[attr-defined]
    return wrapper


def keep_on_refusal() -> None:
    """Commit this request's writes although it answers with a refusal (4xx, returned or raised).

    The one exception to "a refusal writes nothing", for refusals that must leave a record: a surge
    refused by the notice rule is stored as rejected and announced (``surge.rejected``); a failed sign-in
    keeps its audit line and the failure count the lock-out depends on. A server error still commits
    nothing.
    """
    setattr(g, _G_KEEP_ON_REFUSAL, True)


def _is_refusal(exc: Exception) -> bool:
    status = getattr(exc, "status", None) or getattr(exc, "code", None)
    return isinstance(status, int) and 400 <= status < 500


def before_commit(callback: Callable[[Any, Response], None]) -> None:
    """Run ``callback(session, response)`` inside this request's transaction, just before it commits."""
    setattr(g, _G_BEFORE_COMMIT, callback)


def discard_before_commit() -> None:
    g.pop(_G_BEFORE_COMMIT, None)
