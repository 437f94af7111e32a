"""What every page of the console uses: the signed-in user, the backend, role guards, error messages.

Page blueprints (``services/console/views/<area>.py``) call :func:`api` for the services, guard views
with :func:`role_required`, and show an :class:`ApiError` with :func:`problem_message` /
:func:`flash_problem` — in the reader's language, never as raw JSON.

The console's own writes (accounts) go through the request's unit of work (``shared.web.current_uow()``,
made by :func:`request_unit_of_work`: this request's session, the app's clock, the signed-in person as the
actor) and a view that writes is decorated with :func:`transactional`, which commits on success.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

from flask import Response, abort, current_app, flash, g, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import Session

from services.console.bff import ApiError, Backend, Identity, Reply, ServiceClient
from services.console.i18n import _
from shared import web
from shared.db import Database
from shared.uow import Actor, Clock, UnitOfWork

P = ParamSpec("P")
R = TypeVar("R")

#: Where each role lands after signing in (its blueprint's home page endpoint).
HOME_ENDPOINTS: dict[str, str] = {
    "admin": "vendor.board",
    "vendor": "vendor.board",
    "merchant": "merchant.projects",
    "trainer": "trainer.cohorts",
    "supervisor": "supervisor.queue",
    "finance": "finance.runs",
    "agent": "onshift.index",  # the day of operation: clock in from the phone
    "qa": "quality.index",
}


def database() -> Database:
    return current_app.extensions["console.database"]


def db() -> Session:
    """This request's session of the console's own database (closed at the end of the request)."""
    session = g.get("_console_db")
    if session is None:
        session = g._console_db = database().sessionmaker()
    return session


def clock() -> Clock:
    """The console app's one clock (``create_app(clock=...)``)."""
    return current_app.extensions["console.clock"]


class ConsoleUnitOfWork(UnitOfWork):
    """The request's unit of work. The actor is the signed-in person, read when a use case first asks:
    reading it earlier would load the user (Flask-Login) through this very unit of work's session."""

    @property
    def has_actor(self) -> bool:
        return self._actor is not None or bool(current_user and current_user.is_authenticated)

    @property
    def actor(self) -> Actor:
        if self._actor is None:
            if not (current_user and current_user.is_authenticated):
                raise LookupError("nobody is signed in")
            self._actor = Actor(
                sub=current_user.id, role=current_user.role, merchant_id=current_user.merchant_id
            )
        return self._actor

    @actor.setter
    def actor(self, value: Actor) -> None:
        self._actor = value


def request_unit_of_work() -> UnitOfWork:
    """The factory installed with ``shared.web.install_unit_of_work`` (once per request, on first use)."""
    return ConsoleUnitOfWork(db(), clock=clock())


def uow() -> UnitOfWork:
    """This request's unit of work (``shared.web.current_uow``): what the views hand to account use cases."""
    return web.current_uow()


def service_client() -> ServiceClient:
    return current_app.extensions["console.services"]


def identity_of(user: Any) -> Identity:
    """The claims the services see for a console user: an agent is their candidate id (the contract's
    ``sub`` of an agent token), everyone else their account id; merchants carry their merchant id."""
    sub = user.candidate_id if user.role == "agent" and user.candidate_id else user.id
    return Identity(sub=sub, role=user.role, merchant_id=user.merchant_id)


def api() -> Backend:
    """The services, called as the signed-in user."""
    backend = g.get("_console_backend")
    if backend is None:
        backend = Backend(service_client(), identity_of(current_user))
        g._console_backend = backend
    return backend


def role_required(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Sign-in required (redirect to the sign-in page), then one of ``roles`` (admin always passes): 403."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        @login_required
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if current_user.role != "admin" and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def home_url_for(role: str) -> str:
    endpoint = HOME_ENDPOINTS.get(role, "home")
    try:
        return url_for(endpoint)
    except Exception:
        return url_for("home")


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


# --- errors from the services, in the reader's language ---------------------------------------------------

_STATUS_MESSAGES: dict[int, str] = {
    400: "The request was not understood.",
    401: "Your sign-in has expired; please sign in again.",
    403: "You are not allowed to do this.",
    404: "Not found, or you do not have access to it.",
    409: "This conflicts with the current state; reload the page and try again.",
    413: "The file is too large.",
    415: "This file type is not accepted.",
    422: "Some of the information is not valid.",
    429: "Too many requests; wait a moment and try again.",
    503: "A service is temporarily unavailable; please try again shortly.",
}


def problem_message(error: ApiError) -> str:
    """One sentence for the user: the kind of failure in their language, then the service's own rule
    (which names the rule and what would satisfy it) when it says more than the status does."""
    headline = _(_STATUS_MESSAGES.get(error.status, "Something went wrong; please try again."))
    if error.status >= 500 and not error.unreachable:
        return _("Something went wrong on our side; please try again.")
    detail = error.detail
    if error.unreachable or not detail or detail == error.problem.get("title"):
        return headline
    return _("%(headline)s Details: %(detail)s", headline=headline, detail=translate_detail(detail))


#: Business rules the services state in English, as readers of the console know them (substring → msgid).
_KNOWN_DETAILS: tuple[tuple[str, str], ...] = (
    ("is named as", "The file's content does not match its name; upload it under its real type."),
    (
        "which is not accepted here",
        "Files of this kind are not accepted; upload PDF, Word, Excel, PowerPoint, text, CSV, images or ZIP.",
    ),
    (
        "is not a file type we accept",
        "Files of this kind are not accepted; upload PDF, Word, Excel, PowerPoint, text, CSV, images or ZIP.",
    ),
    ("is larger than the limit", "The file is larger than the upload limit (20 MB by default)."),
    ("is empty; choose a file", "The file is empty; choose a file with content."),
    (
        "row(s) are invalid",
        "Some rows of the file are invalid; nothing was imported. "
        "Correct them and upload the whole file again.",
    ),
)


def translate_detail(detail: str) -> str:
    for needle, message in _KNOWN_DETAILS:
        if needle in detail:
            return _(message)
    return detail


def field_messages(error: ApiError) -> dict[str, str]:
    """Per-field messages (``{"service.seats": "…"}``) for showing beside the inputs."""
    return {name: "; ".join(messages) for name, messages in error.field_errors.items()}


def flash_problem(error: ApiError) -> None:
    flash(problem_message(error), "error")


def pass_through(reply: Reply, *, fallback_filename: str | None = None, no_store: bool = False) -> Response:
    """A service's file (export, material, courseware) handed to the browser as the service sent it: its
    bytes, content type and file name (``fallback_filename`` when the service names none)."""
    headers: dict[str, str] = {"Cache-Control": "no-store"} if no_store else {}
    disposition = reply.headers.get("content-disposition")
    if disposition:
        headers["Content-Disposition"] = disposition
    elif fallback_filename:
        headers["Content-Disposition"] = f'attachment; filename="{fallback_filename}"'
    return Response(
        reply.content,
        content_type=reply.headers.get("content-type", "application/octet-stream"),
        headers=headers,
    )


def redirect_back(default: str, **values: Any) -> Any:
    """Back to the page the form was on (same origin only), else ``default``."""
    target = request.form.get("next") or request.args.get("next") or ""
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(url_for(default, **values))


def pick(data: Mapping[str, Any] | None, *path: str, default: Any = None) -> Any:
    """``pick(project, "service", "seats")`` without a chain of ``.get`` on possibly missing parts."""
    value: Any = data
    for key in path:
        if not isinstance(value, Mapping):
            return default
        value = value.get(key)
    return default if value is None else value
