"""The console's Flask app (port 8000): sign-in, the pages of every role, the language switch."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from pathlib import Path
from typing import Any

import httpx
from flask import Flask, Response, g, make_response, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix

from services.console import i18n
from services.console.bff import ApiError, ServiceClient
from services.console.config import ConsoleConfig
from services.console.labels import role_label, status_label
from services.console.models import User
from services.console.nav import links_for
from services.console.web import database, db, home_url_for, is_htmx, problem_message, request_unit_of_work
from shared.config import Settings, validate_for_start
from shared.db import Database
from shared.logging import configure_logging
from shared.uow import Clock, system_clock
from shared.web import install_unit_of_work

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
#: The page areas, each ``services/console/views/<area>.py`` exporting ``bp``.
AREAS = (
    "auth",
    "admin",
    "merchant",
    "vendor",
    "trainer",
    "ops",
    "supervisor",
    "finance",
    "agent",
    "quality",
    "planning",
    "desk",
    "onshift",
    "invoicing",
)


class SessionUser:
    """The Flask-Login view of an account. The id carries the account's session version, so changing the
    password (or signing out everywhere) invalidates every older session cookie."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.id = user.id
        self.role = user.role
        self.email = user.email
        self.display_name = user.display_name
        self.merchant_id = user.merchant_id
        self.candidate_id = user.candidate_id
        self.is_authenticated = True
        self.is_active = user.active
        self.is_anonymous = False

    def get_id(self) -> str:
        return f"{self.user.id}:{self.user.session_version}"


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
    clock: Clock = system_clock,
) -> Flask:
    settings = settings or Settings.from_env("console")
    for warning in validate_for_start(settings):
        log.warning(warning)
    config = ConsoleConfig.from_settings(settings)
    configure_logging("console", settings.log_level, settings.log_json)

    app = Flask(__name__, template_folder=str(HERE / "templates"), static_folder=str(HERE / "static"))
    app.config.update(
        SECRET_KEY=config.secret_key,
        SESSION_COOKIE_NAME="yunkefu_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.cookie_secure,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=config.session_hours),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=config.cookie_secure,
        WTF_CSRF_TIME_LIMIT=config.session_hours * 3600,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 64 * 1024,
        CONSOLE_DEFAULT_LOCALE=config.default_locale,
        SEND_FILE_MAX_AGE_DEFAULT=3600,
    )
    app.extensions["console.config"] = config
    app.extensions["console.settings"] = settings
    app.extensions["console.database"] = database or Database(settings.database_url)
    #: the one clock of the app: account use cases read it through the request's unit of work
    app.extensions["console.clock"] = clock
    install_unit_of_work(app, request_unit_of_work)
    app.extensions["console.services"] = ServiceClient(
        settings=settings,
        service_urls=config.service_urls,
        token_seconds=config.service_token_seconds,
        timeout=config.service_timeout_seconds,
        transport=transport,
    )

    if settings.trusted_proxy_hops > 0:
        # behind the gateway every browser would otherwise share the gateway's address (one sign-in
        # rate-limit bucket for everyone, the gateway's address in the audit trail)
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.trusted_proxy_hops, x_proto=settings.trusted_proxy_hops
        )
    CSRFProtect(app)
    i18n.install(app)
    app.jinja_env.globals["nav_links"] = links_for
    app.jinja_env.globals["has_endpoint"] = lambda endpoint: endpoint in app.view_functions
    app.jinja_env.filters["role_label"] = role_label
    app.jinja_env.filters["status_label"] = status_label
    _install_login(app)
    _install_hooks(app)
    _install_errors(app)
    _install_core_routes(app)
    for area in AREAS:
        if (HERE / "views" / f"{area}.py").exists():
            app.register_blueprint(importlib.import_module(f"services.console.views.{area}").bp)
    return app


def _install_login(app: Flask) -> None:
    manager = LoginManager(app)
    manager.login_view = "auth.sign_in"
    manager.login_message = ""  # the sign-in page says why by itself

    @manager.user_loader
    def load_user(session_id: str) -> SessionUser | None:
        user_id, _, version = session_id.partition(":")
        user = db().get(User, user_id)
        if user is None or not user.active or str(user.session_version) != version:
            return None
        return SessionUser(user)


def _install_hooks(app: Flask) -> None:
    @app.teardown_appcontext
    def _close_db(_exc: BaseException | None) -> None:
        session = g.pop("_console_db", None)
        if session is not None:
            session.close()

    @app.after_request
    def _security_headers(response: Response) -> Response:
        # Everything the pages load is served by the console itself (htmx is vendored): no third party.
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def _install_errors(app: Flask) -> None:
    def page(status: int, title: str, message: str) -> tuple[str, int]:
        template = "errors/fragment.html" if is_htmx() else "errors/page.html"
        return render_template(template, status=status, title=title, message=message), status

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Any:
        if error.status == 401:
            return redirect(url_for("auth.sign_in", next=request.full_path))
        status = error.status if error.status in (403, 404, 409, 422, 429) else 502
        if error.unreachable:
            status = 503
        return page(status, i18n._("The request could not be completed"), problem_message(error))

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> Any:
        return page(
            400,
            i18n._("The form has expired"),
            i18n._("The form was open too long or came from elsewhere. Reload the page and try again."),
        )

    @app.errorhandler(403)
    def _forbidden(_error: Any) -> Any:
        return page(403, i18n._("Not allowed"), i18n._("Your role does not give access to this page."))

    @app.errorhandler(404)
    def _not_found(_error: Any) -> Any:
        return page(404, i18n._("Page not found"), i18n._("Not found, or you do not have access to it."))

    @app.errorhandler(405)
    def _method(_error: Any) -> Any:
        return page(405, i18n._("Not allowed"), i18n._("This page cannot be used this way."))

    @app.errorhandler(413)
    def _too_large(_error: Any) -> Any:
        return page(413, i18n._("The file is too large"), i18n._("The file is too large."))

    @app.errorhandler(500)
    def _server_error(_error: Any) -> Any:
        return page(
            500, i18n._("Something went wrong"), i18n._("Something went wrong on our side; please try again.")
        )


def _install_core_routes(app: Flask) -> None:
    @app.get("/")
    def home() -> Any:
        if current_user.is_authenticated:
            target = home_url_for(current_user.role)
            if target != url_for("home"):
                return redirect(target)
            return render_template("home.html")
        return redirect(url_for("auth.sign_in"))

    @app.get("/lang/<code>")
    def switch_language(code: str) -> Any:
        target = request.args.get("next") or "/"
        if not target.startswith("/") or target.startswith("//"):
            target = "/"
        response = make_response(redirect(target))
        if code in i18n.LOCALES:
            response.set_cookie(
                i18n.LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True
            )
        return response

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> Any:
        checks: dict[str, str] = {}
        try:
            with database().engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"error: {type(exc).__name__}"
        ready = checks["database"] == "ok"
        return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503
