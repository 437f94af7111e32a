"""The app factory every service uses: flask-smorest, problem+json errors, probes, metrics and docs.

A service's ``app.py`` is one call to ``create_app(name, blueprints=[...])``; everything a client or an
operator relies on across services (error shape, correlation ids, /healthz, /readyz, /metrics, /docs,
per-request database session, rate limits and the guards refusing hostile or malformed input before any
view runs) is built here once, so the six services cannot drift apart.

Nothing here opens a broker connection at import or creation time: gunicorn forks workers after
importing the app, and a pika connection must never cross a fork. /readyz and /metrics open (and close)
their own short-lived connections per call.
"""

from __future__ import annotations

import html
import json
import logging
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import flask_smorest
import marshmallow as ma
import pika
from flask import Flask, Response, current_app, g, request
from flask_smorest.utils import prepare_response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.middleware.proxy_fix import ProxyFix

from shared import pagination, ratelimit, workdays
from shared.auth import BEARER_SCHEME_NAME, BEARER_SECURITY_SCHEME
from shared.config import Settings, validate_for_start
from shared.context import ensure_correlation_id, get_correlation_id, set_correlation_id
from shared.db import Database
from shared.errors import (
    PROBLEM_CONTENT_TYPE,
    BadRequest,
    Conflict,
    ProblemError,
    UnsupportedMediaType,
    ValidationFailed,
    problem_response,
    problem_type,
    status_slug,
    status_title,
    validation_detail,
)
from shared.logging import configure_logging
from shared.uow import Clock, system_clock
from shared.web import idempotency as _idempotency  # noqa: F401  (registers idempotency_keys on platform_metadata)

log = logging.getLogger(__name__)

EXTENSION_KEY = "yunkefu"
CORRELATION_HEADER = "X-Correlation-ID"
# Accept a caller's id only if it is short and plain: it lands in logs, headers and the outbox (String 100).
_CORRELATION_RE = re.compile(r"[A-Za-z0-9._:\-]{1,100}")
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Probe and scrape endpoints are polled constantly; their request log lines go to DEBUG.
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
PROBE_TIMEOUT_SECONDS = 2.0

_G_SESSION = "_yunkefu_session"
_G_STARTED = "_yunkefu_started"


# --- application state ----------------------------------------------------------------------------------


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


def _close_session(_exc: BaseException | None) -> None:
    session: Session | None = g.pop(_G_SESSION, None)
    if session is None:
        return
    try:
        if session.in_transaction():
            session.rollback()
    finally:
        session.close()


# --- problem+json errors ---------------------------------------------------------------------------------


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details (documentation only; responses are built by ``shared.errors``).

    The four standard members are always present. RFC 9457 lets a problem carry extension members, and
    the services do (``rule``, ``current_status``, ``etag`` …); the common ones are listed below and any
    other is allowed, so a client validating against this schema never rejects a real answer.
    """

    class Meta:
        unknown = ma.INCLUDE  # documented as additionalProperties: true (extension members)

    type = ma.fields.String(required=True, metadata={"description": "URI identifying the kind of problem"})
    title = ma.fields.String(required=True, metadata={"description": "short summary of the kind of problem"})
    status = ma.fields.Integer(required=True, metadata={"description": "HTTP status code"})
    detail = ma.fields.String(
        required=True, metadata={"description": "what went wrong and what would fix it"}
    )
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "per-field messages (validation failures); nested fields are dotted"},
    )
    rule = ma.fields.String(
        metadata={"description": "the business rule refused (a stable slug, e.g. surge-notice); on 4xx"}
    )
    current_status = ma.fields.String(
        metadata={"description": "the resource's status when a state transition was refused"}
    )
    allowed = ma.fields.List(
        ma.fields.String(), metadata={"description": "what the current state allows instead"}
    )
    required_roles = ma.fields.List(
        ma.fields.String(), metadata={"description": "on 403: the roles that may perform the action"}
    )
    correlation_id = ma.fields.String(
        metadata={"description": "on 500: quote it when reporting the error (as in X-Correlation-ID)"}
    )
    service = ma.fields.String(metadata={"description": "the answering service (/readyz)"})
    checks = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        metadata={"description": "/readyz: each dependency's state, 'ok' or the error"},
    )


_WEBARGS_LOCATIONS = frozenset(
    {
        "json",
        "query",
        "querystring",
        "form",
        "headers",
        "cookies",
        "files",
        "json_or_form",
        "view_args",
        "path",
    }
)


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Marshmallow's nested messages as ``{"a.b.0.c": ["…"]}``: one flat level clients can map to inputs."""
    out: dict[str, list[str]] = {}

    def walk(path: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, sub in value.items():
                walk(f"{path}.{key}" if path else str(key), sub)
        elif isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, Mapping | list | tuple):
                    walk(path, item)
                else:
                    out.setdefault(path or "_schema", []).append(str(item))
        else:
            out.setdefault(path or "_schema", []).append(str(value))

    walk(prefix, messages)
    return out


def flatten_webargs_errors(messages: Any) -> dict[str, list[str]]:
    """Drop webargs' location level (``{"json": {"name": …}}`` → ``{"name": …}``).

    The location only matters when two locations report the same field name; then the later one keeps
    its location as a prefix (``query.page``) instead of silently merging messages about two inputs.
    """
    if not isinstance(messages, Mapping) or not set(messages) <= _WEBARGS_LOCATIONS:
        return flatten_errors(messages)
    merged: dict[str, list[str]] = {}
    for location, value in messages.items():
        if isinstance(value, Mapping):
            flat = flatten_errors(value)
        else:  # a whole-location message, e.g. the body was not an object
            flat = {"_schema" if location in ("json", "form", "json_or_form") else location: list(value)}
        for key, msgs in flat.items():
            merged[key if key not in merged else f"{location}.{key}"] = msgs
    return merged


def _max_upload_detail() -> str:
    # The limit of this request: MAX_JSON_BYTES for a JSON body, MAX_UPLOAD_BYTES for anything else.
    limit = request.max_content_length
    if not limit:
        return "The request body is too large."
    return f"The request body is larger than the limit of {limit} bytes."


class ProblemApi(flask_smorest.Api):
    """flask-smorest's Api, answering every error as RFC 9457 problem+json and documenting it so."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        # Same lazy components as flask-smorest registers, but under the problem+json media type.
        for status in HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not 100 <= status < 200 and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        default: dict[str, Any] = {"description": "Problem details (RFC 9457)", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, PROBLEM_CONTENT_TYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, default, lazy=True)

    def _register_error_handlers(self) -> None:
        app = self._app
        app.register_error_handler(HTTPException, self.handle_http_exception)
        app.register_error_handler(ProblemError, handle_problem_error)
        app.register_error_handler(ma.ValidationError, handle_marshmallow_error)
        app.register_error_handler(IntegrityError, handle_integrity_error)
        app.register_error_handler(DataError, handle_data_error)
        # Anything else: a handler for Exception also stops Flask from propagating it in testing mode,
        # so tests see exactly the 500 a client would.
        app.register_error_handler(Exception, handle_unexpected_error)

    def handle_http_exception(self, error: HTTPException) -> Response:  # type: ignore[override]
        """werkzeug/Flask/webargs errors (404, 405, 413, webargs' 422 …) as problem+json."""
        if error.response is not None:  # abort(some_response): the view chose its answer deliberately
            return error.response  # type: ignore[return-value]
        status = error.code or 500
        data: Mapping[str, Any] = getattr(error, "data", None) or {}
        title = status_title(status)
        type_ = problem_type(status_slug(status))
        detail: str | None = data.get("message") or error.description
        errors: dict[str, list[str]] | None = None

        if "errors" in data:
            errors = flatten_errors(data["errors"])
        elif "messages" in data:
            errors = flatten_webargs_errors(data["messages"])
        # webargs.abort puts the cause on the exception itself, flask_smorest.abort may put it in data.
        exc = getattr(error, "exc", None) or data.get("exc")
        if status == 400 and isinstance(exc, json.JSONDecodeError):
            detail = f"The request body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
            errors = None
        elif status == 400 and isinstance(exc, UnicodeDecodeError):
            detail = "The request body is not valid UTF-8 JSON."
            errors = None
        elif status == 422 and errors is not None:
            title, type_ = ValidationFailed.title, problem_type(ValidationFailed.slug)
            detail = data.get("message") or validation_detail(errors)
        elif status == 405 and isinstance(error, MethodNotAllowed):
            allowed = ", ".join(sorted(error.valid_methods or ()))
            detail = f"{request.method} is not allowed on {request.path}; allowed: {allowed}."
        elif status == 404 and request.url_rule is None:
            # werkzeug's default text talks about typing URLs into a browser; say what is useful instead.
            detail = f"There is no endpoint at {request.path}; the API is described at /docs."
        elif status == 413:
            detail = _max_upload_detail()
        elif status == 500:
            # An explicit abort(500, description=str(exc)) must not leak internals either.
            detail = "The server could not complete the request."

        response = problem_response(status, title, detail, type=type_, errors=errors)
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        for name, value in (data.get("headers") or {}).items():
            response.headers[name] = value
        return response


def handle_problem_error(error: ProblemError) -> Response:
    return error.to_response()


def handle_marshmallow_error(error: ma.ValidationError) -> Response:
    """A schema validated in service code (not through webargs) failed: still the 422 a client expects."""
    return ValidationFailed(flatten_errors(error.messages)).to_response()


def handle_unexpected_error(error: Exception) -> Response:
    log.exception("unhandled error in %s %s", request.method, request.path)
    correlation_id = get_correlation_id()
    return problem_response(
        500,
        "Internal server error",
        "The server failed to complete the request. It has been logged; quote the correlation id "
        "when reporting it.",
        correlation_id=correlation_id,
    )


# --- request guards: body size, media type, hostile strings and numbers ----------------------------------

#: Deeper JSON than this is refused before any schema walks it (the C parser recurses).
MAX_JSON_DEPTH = 64
#: JSON numbers beyond ±(2^53 − 1) lose precision in JavaScript clients and overflow int64 columns.
MAX_JSON_NUMBER = 2**53 - 1
#: PostgreSQL text cannot hold NUL, and a lone surrogate cannot even be encoded as UTF-8: both would
#: surface as a 500 deep in a view, so they are refused at the door.
_HOSTILE_CHARS = re.compile("[\x00\ud800-\udfff]")
_HOSTILE_MESSAGE = "Must not contain NUL characters or unpaired UTF-16 surrogates."
_NUMBER_MESSAGE = f"Must be a number between -{MAX_JSON_NUMBER} and {MAX_JSON_NUMBER}."
_MAX_REPORTED = 20


def _is_json_mimetype(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def _has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _json_argument() -> Mapping[str, Any] | None:
    """The view's ``blp.arguments(..., location="json")`` declaration, if it has one.

    flask-smorest records it in ``_apidoc`` on the view, and every decorator here copies that attribute
    outwards, so the outermost function carries it.
    """
    if request.url_rule is None or request.endpoint is None:
        return None
    view: Any = current_app.view_functions.get(request.endpoint)
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        method = "get" if request.method == "HEAD" else request.method.lower()
        view = getattr(view_class, method, None)
    apidoc = getattr(view, "_apidoc", None) or {}
    for parameter in apidoc.get("arguments", {}).get("parameters", []):
        if isinstance(parameter, Mapping) and parameter.get("in") == "json":
            return parameter
    return None


def _hostile_in_url() -> None:
    if _HOSTILE_CHARS.search(request.path):
        raise BadRequest(
            "The URL path contains a NUL character or an unpaired surrogate; no resource is named so."
        )
    errors: dict[str, list[str]] = {}
    for name, value in request.args.items(multi=True):
        if _HOSTILE_CHARS.search(name) or _HOSTILE_CHARS.search(value):
            errors[name if not _HOSTILE_CHARS.search(name) else "_query"] = [_HOSTILE_MESSAGE]
    if errors:
        raise ValidationFailed(errors)


def _check_json_value(document: Any) -> dict[str, list[str]]:
    """Walk a parsed body without recursion and name each hostile string or out-of-range number."""
    errors: dict[str, list[str]] = {}
    stack: list[tuple[Any, str]] = [(document, "")]
    while stack and len(errors) < _MAX_REPORTED:
        value, path = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if _HOSTILE_CHARS.search(key):  # never echo such a key: it may not even encode as UTF-8
                    errors[f"{path}._key" if path else "_key"] = [_HOSTILE_MESSAGE]
                else:
                    stack.append((item, f"{path}.{key}" if path else str(key)))
        elif isinstance(value, list):
            stack.extend((item, f"{path}.{i}" if path else str(i)) for i, item in enumerate(value))
        elif isinstance(value, str):
            if _HOSTILE_CHARS.search(value):
                errors[path or "_schema"] = [_HOSTILE_MESSAGE]
        elif (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and (not math.isfinite(value) or abs(value) > MAX_JSON_NUMBER)
        ):
            errors[path or "_schema"] = [_NUMBER_MESSAGE]
    return errors


def _nested_deeper_than(document: Any, limit: int) -> bool:
    # Level by level in comprehensions: a 1 MB body of 10,000 rows takes milliseconds, not a Python loop.
    level = [document] if isinstance(document, dict | list) else []
    for _ in range(limit):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True


#: A NUL or a surrogate can only arrive as a \u escape (a raw NUL byte is not JSON, a raw surrogate not
#: UTF-8), so a body without one needs no look at its strings.
_MAYBE_HOSTILE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def _parse_json_body(raw: bytes) -> tuple[Any, bool]:
    """The body and whether a number in it is out of range (seen by the parser itself, at C speed)."""
    huge = False

    def parse_int(text: str) -> float:
        nonlocal huge
        if len(text.lstrip("-")) > 16:  # also spares int() its 4,300-digit ValueError
            huge = True
            return math.inf  # the walk below names the field
        value = int(text)
        huge = huge or abs(value) > MAX_JSON_NUMBER
        return value

    def parse_float(text: str) -> float:
        nonlocal huge
        value = float(text)
        huge = huge or not math.isfinite(value) or abs(value) > MAX_JSON_NUMBER
        return value

    def parse_constant(name: str) -> float:  # NaN, Infinity, -Infinity: Python's parser takes them
        nonlocal huge
        huge = True
        return math.nan

    document = json.loads(raw, parse_int=parse_int, parse_float=parse_float, parse_constant=parse_constant)
    return document, huge


def _guard_json_body() -> None:
    raw = request.get_data(cache=True)  # past request.max_content_length this raises the 413
    if not raw.strip():
        return
    try:
        document, huge = _parse_json_body(raw)
    except RecursionError:
        raise BadRequest(f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.") from None
    except ValueError:  # not JSON or not UTF-8: the parser of the view reports it with the position
        return
    # bytes.count is C: only a body with enough brackets can be too deep
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and _nested_deeper_than(document, MAX_JSON_DEPTH):
        raise BadRequest(f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.")
    if huge or _MAYBE_HOSTILE.search(raw):
        errors = _check_json_value(document)
        if errors or huge:
            raise ValidationFailed(errors or {"_schema": [_NUMBER_MESSAGE]})


def _guard_request() -> None:
    """Refuse, before any view runs, what no endpoint can take; nothing has been read or changed yet."""
    if request.path in _QUIET_PATHS:
        return
    settings = get_settings()
    mimetype = request.mimetype or ""
    is_json = _is_json_mimetype(mimetype)
    if is_json:
        request.max_content_length = min(settings.max_json_bytes, settings.max_upload_bytes)
    _hostile_in_url()
    argument = _json_argument()
    if argument is not None and request.method not in ("GET", "HEAD", "OPTIONS"):
        if _has_body() and not is_json:
            raise UnsupportedMediaType(
                f"{request.method} {request.path} takes a JSON body: send it with Content-Type: "
                f"application/json{f', not {mimetype}' if mimetype else ''}."
            )
        if argument.get("required", True) and not (is_json and _has_body()):
            raise ValidationFailed(
                {"_schema": ["A JSON body is required."]},
                detail=f"{request.method} {request.path} needs a JSON body (Content-Type: application/json);"
                " none was sent, so nothing was changed.",
            )
    if is_json and _has_body():
        _guard_json_body()


# --- database errors a client caused ---------------------------------------------------------------------

#: SQLSTATEs of integrity errors that mean "someone else got there first" (unique, exclusion, foreign key).
_CONFLICT_SQLSTATES = frozenset({"23505", "23P01", "23503"})


def _rollback_request_session() -> None:
    session: Session | None = g.get(_G_SESSION)
    if session is not None:
        try:
            session.rollback()
        except Exception:  # the original error is what matters; teardown closes the session anyway
            log.debug("rollback after a database error failed", exc_info=True)


def _sqlstate(error: DBAPIError) -> str:
    return str(getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None) or "")


def _constraint(error: DBAPIError) -> str:
    # The name only: the driver's message quotes the offending values (phone numbers, names).
    diag = getattr(error.orig, "diag", None)
    return str(getattr(diag, "constraint_name", None) or getattr(diag, "column_name", None) or "?")


def handle_integrity_error(error: IntegrityError) -> Response:
    """A constraint refused the write, typically a concurrent create of the same thing: 409, not 500."""
    _rollback_request_session()
    state = _sqlstate(error)
    log.warning("integrity error answered as a problem (sqlstate %s, %s)", state, _constraint(error))
    if state in _CONFLICT_SQLSTATES or not state:
        return Conflict(
            "The request conflicts with data saved at the same moment (for example the same item created "
            "twice concurrently); nothing was changed. Reload the current state and retry if still needed."
        ).to_response()
    return ValidationFailed(
        {"_schema": ["A value is missing or not allowed."]},
        detail="A value is missing or not allowed for storage; nothing was changed.",
    ).to_response()


def handle_data_error(error: DataError) -> Response:
    """A value the database cannot store (out of range, too long, malformed): 422, not 500."""
    _rollback_request_session()
    log.warning("data error answered as a problem (sqlstate %s, %s)", _sqlstate(error), _constraint(error))
    return ValidationFailed(
        {"_schema": ["A value is out of range or too long to be stored."]},
        detail="A value in the request is out of range or too long to be stored; nothing was changed.",
    ).to_response()


# --- correlation, request metrics and request log --------------------------------------------------------


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests answered, by method, route and status.",
            ["method", "endpoint", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route.",
            ["method", "endpoint"],
            registry=registry,
        )


def _route_label() -> str:
    # The url rule (/api/v1/projects/<id>) not the raw path: one series per route, whatever the ids.
    return request.url_rule.rule if request.url_rule is not None else "<unmatched>"


def _install_request_hooks(app: Flask, metrics: HttpMetrics) -> None:
    @app.before_request
    def _start_request() -> None:
        incoming = request.headers.get(CORRELATION_HEADER, "").strip()
        set_correlation_id(incoming if _CORRELATION_RE.fullmatch(incoming) else None)
        ensure_correlation_id()
        setattr(g, _G_STARTED, time.perf_counter())

    @app.after_request
    def _finish_request(response: Response) -> Response:
        response.headers[CORRELATION_HEADER] = ensure_correlation_id()
        started = g.get(_G_STARTED)
        elapsed = time.perf_counter() - started if started is not None else 0.0
        method = request.method if request.method in _KNOWN_METHODS else "OTHER"
        route = _route_label()
        metrics.requests.labels(method, route, str(response.status_code)).inc()
        metrics.duration.labels(method, route).observe(elapsed)
        log.log(
            logging.DEBUG if request.path in _QUIET_PATHS else logging.INFO,
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "http_method": request.method,
                "http_path": request.path,
                "http_status": response.status_code,
                "duration_ms": round(elapsed * 1000, 1),
            },
        )
        return response

    @app.teardown_request
    def _forget_correlation(_exc: BaseException | None) -> None:
        # gunicorn's sync workers reuse the thread: the next request must not inherit this id.
        set_correlation_id(None)


class PlatformCollector(Collector):
    """Outbox lag and dead-letter depth, read on each scrape.

    Imports are lazy and every failure just omits the sample: /metrics must answer even while the
    database or the broker is down (that is when its other series matter most).
    """

    def __init__(self, settings: Settings, database: Database) -> None:
        self.settings = settings
        self.database = database

    def describe(self) -> Iterable[Metric]:
        # Declared empty so that registering the collector does not run a scrape (no DB/broker at import).
        return []

    def collect(self) -> Iterator[Metric]:
        try:
            from shared.events.outbox import outbox_stats

            with self.database.session() as session:
                stats = outbox_stats(session)
        except Exception as exc:
            log.debug("outbox metrics unavailable: %r", exc)
        else:
            yield GaugeMetricFamily(
                "outbox_pending_events", "Events written but not yet published.", value=stats.pending
            )
            if stats.oldest_pending_age_seconds is not None:
                yield GaugeMetricFamily(
                    "outbox_oldest_pending_age_seconds",
                    "Age of the oldest unpublished event.",
                    value=stats.oldest_pending_age_seconds,
                )
        try:
            from shared.events.topology import queue_depths

            depths = queue_depths(self.settings) or {}
        except Exception as exc:
            log.debug("queue metrics unavailable: %r", exc)
            depths = {}
        if "dead_letter" in depths:
            yield GaugeMetricFamily(
                "dead_letter_queue_messages",
                "Messages parked in this service's dead-letter queue.",
                value=depths["dead_letter"],
            )
        if "consumer" in depths:
            yield GaugeMetricFamily(
                "consumer_queue_messages",
                "Events delivered to this service and not yet handled (a growing number: its worker is "
                "down or too slow).",
                value=depths["consumer"],
            )


class CalendarCollector(Collector):
    """How many of the next 60 days rest on a provisional or missing holiday schedule (0 = all official)."""

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "calendar_provisional_days",
            "Days of the next 60 whose working days rest on a provisional or missing holiday schedule.",
            value=workdays.schedule_outlook().weak_days,
        )


# --- probes, metrics and docs routes ---------------------------------------------------------------------


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


def _metrics() -> Response:
    return Response(generate_latest(app_state().registry), content_type=CONTENT_TYPE_LATEST)


def _counters_registry(scraped: CollectorRegistry) -> CollectorRegistry:
    """Where the request counters register: the scraped registry itself in a single process; under
    gunicorn (``PROMETHEUS_MULTIPROC_DIR`` set, see deploy/gunicorn.conf.py) each worker writes its
    samples to files in that directory and a scrape, whichever worker answers it, sums every worker's
    files. The counters then go to a registry nobody scrapes, or they would be counted twice."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return scraped
    MultiProcessCollector(scraped, path=directory)
    return CollectorRegistry()


def _docs() -> Response:
    api = app_state().api
    assert api is not None
    return Response(render_docs(api.spec.to_dict()), content_type="text/html; charset=utf-8")


# --- the factory -----------------------------------------------------------------------------------------


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
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Chinese names stay readable
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the schema's field order

    registry = CollectorRegistry()
    state = AppState(settings=settings, database=database, registry=registry, clock=clock or system_clock)
    app.extensions[EXTENSION_KEY] = state
    metrics = HttpMetrics(_counters_registry(registry))
    registry.register(PlatformCollector(settings, database))
    registry.register(CalendarCollector())
    workdays.log_schedule_outlook()

    _install_request_hooks(app, metrics)
    # After the correlation id (a 429 carries one) and before the guards (a flood of bad bodies is counted).
    ratelimit.init_app(app, settings)
    app.before_request(_guard_request)
    pagination.init_app(app)
    if settings.trusted_proxy_hops > 0:
        # The client address (rate limits, logs) is the one the trusted proxies saw, not the proxy's own.
        hops = settings.trusted_proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.teardown_appcontext(_close_session)

    api = ProblemApi(app)
    api.spec.components.security_scheme(BEARER_SCHEME_NAME, BEARER_SECURITY_SCHEME)
    state.api = api

    app.add_url_rule("/healthz", "healthz", _healthz, methods=["GET"])
    app.add_url_rule("/readyz", "readyz", _readyz, methods=["GET"])
    app.add_url_rule("/metrics", "metrics", _metrics, methods=["GET"])
    app.add_url_rule("/docs", "docs", _docs, methods=["GET"])

    if configure is not None:
        configure(app)
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    return app


# --- /docs: the spec rendered as one self-contained HTML page --------------------------------------------

_DOCS_CSS = """
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1rem 2rem;color:#222}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #ddd;margin-top:2.5rem}
section.op{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.6rem 1rem}
.m{display:inline-block;min-width:4.5rem;font-weight:700;color:#fff;border-radius:4px;text-align:center;
padding:0 .4rem;margin-right:.5rem}.get{background:#2b7bb9}.post{background:#2f9e44}.put{background:#c07d00}
.patch{background:#8a5cc2}.delete{background:#c92a2a}.head,.options{background:#666}
table{border-collapse:collapse;margin:.4rem 0;width:100%}th,td{border:1px solid #e3e3e3;padding:.25rem .5rem;
text-align:left;vertical-align:top}th{background:#f6f6f6}code{background:#f3f3f3;padding:0 .2rem}
.muted{color:#777}nav ul{columns:2}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _resolve(spec: Mapping[str, Any], obj: Any) -> Any:
    """Follow a local ``$ref`` (responses/parameters/schemas) one level, as the docs need."""
    if isinstance(obj, Mapping) and "$ref" in obj:
        node: Any = spec
        for part in obj["$ref"].lstrip("#/").split("/"):
            node = node.get(part, {}) if isinstance(node, Mapping) else {}
        return node
    return obj


def _type_html(schema: Any) -> str:
    if not isinstance(schema, Mapping):
        return ""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f'<a href="#schema-{_e(name)}">{_e(name)}</a>'
    for combinator in ("allOf", "oneOf", "anyOf"):
        if combinator in schema:
            joiner = " & " if combinator == "allOf" else " | "
            return joiner.join(_type_html(s) for s in schema[combinator])
    kind = schema.get("type", "object" if "properties" in schema else "any")
    if kind == "array":
        out = f"array of {_type_html(schema.get('items', {}))}"
    elif kind == "object" and isinstance(schema.get("additionalProperties"), Mapping):
        out = f"map of {_type_html(schema['additionalProperties'])}"
    else:
        out = _e(kind)
    if "format" in schema:
        out += f" ({_e(schema['format'])})"
    if "enum" in schema:
        out += " one of " + ", ".join(f"<code>{_e(v)}</code>" for v in schema["enum"])
    if schema.get("nullable"):
        out += " | null"
    return out


def _constraints(schema: Mapping[str, Any]) -> str:
    keys = ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems", "pattern", "default")
    return ", ".join(
        f"{k}={_e(json.dumps(schema[k], ensure_ascii=False, default=str))}" for k in keys if k in schema
    )


def _content_html(content: Mapping[str, Any] | None) -> str:
    if not content:
        return '<span class="muted">no body</span>'
    return "<br>".join(
        f"<code>{_e(media)}</code>: {_type_html(body.get('schema', {}))}" for media, body in content.items()
    )


def _operation_html(
    spec: Mapping[str, Any], path: str, method: str, op: Mapping[str, Any], path_params: Sequence[Any] = ()
) -> str:
    anchor = f"op-{method}-{re.sub(r'[^A-Za-z0-9]+', '-', path).strip('-')}"
    parts = [f'<section class="op" id="{_e(anchor)}">']
    parts.append(f'<h3><span class="m {_e(method)}">{_e(method.upper())}</span><code>{_e(path)}</code></h3>')
    if op.get("summary"):
        parts.append(f"<p><strong>{_e(op['summary'])}</strong></p>")
    if op.get("description"):
        parts.append(f"<p>{_e(op['description'])}</p>")
    security = op.get("security", spec.get("security", []))
    if security:
        schemes = sorted({name for requirement in security for name in requirement})
        parts.append(f"<p>Security: {', '.join(f'<code>{_e(s)}</code>' for s in schemes)}")
    else:
        parts.append("<p>Security: none (public)")
    if op.get("x-roles"):
        parts.append(" — roles: " + ", ".join(f"<code>{_e(r)}</code>" for r in op["x-roles"]))
    parts.append("</p>")
    # Path-item parameters (``{widget_id}``) apply to every operation unless one overrides them.
    own = [_resolve(spec, p) for p in op.get("parameters", [])]
    seen = {(p.get("in"), p.get("name")) for p in own}
    inherited = [_resolve(spec, p) for p in path_params]
    params = [p for p in inherited if (p.get("in"), p.get("name")) not in seen] + own
    if params:
        parts.append(
            "<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th><th>type</th>"
            "<th>description</th></tr>"
        )
        for p in params:
            schema = p.get("schema", {})
            constraints = _constraints(schema) if isinstance(schema, Mapping) else ""
            parts.append(
                f"<tr><td><code>{_e(p.get('name', ''))}</code></td><td>{_e(p.get('in', ''))}</td>"
                f"<td>{'yes' if p.get('required') else 'no'}</td><td>{_type_html(schema)}"
                f"{' <span class=muted>' + constraints + '</span>' if constraints else ''}</td>"
                f"<td>{_e(p.get('description', ''))}</td></tr>"
            )
        parts.append("</table>")
    if "requestBody" in op:
        body = _resolve(spec, op["requestBody"])
        required = " (required)" if body.get("required") else ""
        parts.append(f"<h4>Request body{required}</h4><p>{_content_html(body.get('content'))}</p>")
    parts.append("<h4>Responses</h4><table><tr><th>status</th><th>description</th><th>body</th></tr>")
    for status, response in op.get("responses", {}).items():
        resolved = _resolve(spec, response)
        parts.append(
            f"<tr><td>{_e(status)}</td><td>{_e(resolved.get('description', ''))}</td>"
            f"<td>{_content_html(resolved.get('content'))}</td></tr>"
        )
    parts.append("</table></section>")
    return "".join(parts)


def _schema_html(name: str, schema: Mapping[str, Any]) -> str:
    parts = [f'<section class="op" id="schema-{_e(name)}"><h3>{_e(name)}</h3>']
    if schema.get("description"):
        parts.append(f"<p>{_e(schema['description'])}</p>")
    properties: Mapping[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    if properties:
        parts.append("<table><tr><th>field</th><th>type</th><th>required</th><th>notes</th></tr>")
        for field_name, prop in properties.items():
            notes = " ".join(
                x
                for x in (
                    _e(prop.get("description", "")),
                    "read-only" if prop.get("readOnly") else "",
                    "write-only" if prop.get("writeOnly") else "",
                    _constraints(prop),
                )
                if x
            )
            parts.append(
                f"<tr><td><code>{_e(field_name)}</code></td><td>{_type_html(prop)}</td>"
                f"<td>{'yes' if field_name in required else 'no'}</td><td>{notes}</td></tr>"
            )
        parts.append("</table>")
    else:
        parts.append(f"<p>{_type_html(schema)}</p>")
    parts.append("</section>")
    return "".join(parts)


def render_docs(spec: Mapping[str, Any]) -> str:
    """Human docs rendered on the server from the OpenAPI dict: no scripts, no CDN, readable offline."""
    info = spec.get("info", {})
    title = f"{info.get('title', 'API')} {info.get('version', '')}".strip()
    methods = ("get", "post", "put", "patch", "delete", "head", "options")
    paths: Mapping[str, Any] = spec.get("paths", {})
    operations = [
        (path, method, op)
        for path, item in sorted(paths.items())
        for method, op in item.items()
        if method in methods
    ]
    components = spec.get("components", {})
    out = [
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>',
        f"<style>{_DOCS_CSS}</style></head><body><h1>{_e(title)}</h1>",
        f"<p>{_e(info.get('description', ''))}</p>",
        '<p>Machine-readable spec: <a href="openapi.json"><code>openapi.json</code></a> (OpenAPI '
        f"{_e(spec.get('openapi', ''))}).</p>",
    ]
    schemes = components.get("securitySchemes", {})
    if schemes:
        out.append("<h2>Authentication</h2><ul>")
        for name, scheme in schemes.items():
            kind = " ".join(
                str(scheme.get(k, "")) for k in ("type", "scheme", "bearerFormat") if scheme.get(k)
            )
            out.append(f"<li><code>{_e(name)}</code>: {_e(kind)} — {_e(scheme.get('description', ''))}</li>")
        out.append("</ul>")
    out.append("<h2>Operations</h2><nav><ul>")
    for path, method, op in operations:
        anchor = f"op-{method}-{re.sub(r'[^A-Za-z0-9]+', '-', path).strip('-')}"
        summary = f" — {_e(op['summary'])}" if op.get("summary") else ""
        out.append(f'<li><a href="#{_e(anchor)}">{_e(method.upper())} {_e(path)}</a>{summary}</li>')
    out.append("</ul></nav>")
    out.extend(
        _operation_html(spec, path, method, op, paths[path].get("parameters", []))
        for path, method, op in operations
    )
    schemas = components.get("schemas", {})
    if schemas:
        out.append("<h2>Schemas</h2>")
        out.extend(_schema_html(name, schema) for name, schema in sorted(schemas.items()))
    out.append("</body></html>")
    return "".join(out)
