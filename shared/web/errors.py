"""Every error a service answers, as RFC 9457 problem+json, and documented so in OpenAPI.

``shared.errors`` builds the answers; this module turns what reaches Flask (werkzeug/webargs HTTP errors,
marshmallow errors, database errors a client caused, anything unexpected) into them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import Response, request
from flask_smorest.utils import prepare_response
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from shared.context import get_correlation_id
from shared.errors import (
    PROBLEM_CONTENT_TYPE,
    Conflict,
    ProblemError,
    ValidationFailed,
    problem_body,
    problem_type,
    status_slug,
    status_title,
    validation_detail,
)
from shared.web.state import request_session

log = logging.getLogger(__name__)


def problem_response(status: int, title: str, detail: str | None = None, **fields: Any) -> Response:
    """A complete ``application/problem+json`` response; ``fields`` are ``type``, ``errors`` or extensions."""
    body = problem_body(status, title, detail, **fields)
    return Response(
        json.dumps(body, ensure_ascii=False, default=str),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def error_response(error: ProblemError) -> Response:
    """A refusal (``shared.errors.ProblemError``) as its problem+json response, with its headers."""
    response = problem_response(
        error.status, error.title, error.detail, type=error.type, errors=error.errors, **error.extra
    )
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


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
    return error_response(error)


def handle_marshmallow_error(error: ma.ValidationError) -> Response:
    """A schema validated in service code (not through webargs) failed: still the 422 a client expects."""
    return error_response(ValidationFailed(flatten_errors(error.messages)))


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


# --- database errors a client caused ---------------------------------------------------------------------

#: SQLSTATEs of integrity errors that mean "someone else got there first" (unique, exclusion, foreign key).
_CONFLICT_SQLSTATES = frozenset({"23505", "23P01", "23503"})


def _rollback_request_session() -> None:
    session = request_session()
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
        return error_response(
            Conflict(
                "The request conflicts with data saved at the same moment (for example the same item "
                "created twice concurrently); nothing was changed. Reload the current state and retry if "
                "still needed."
            )
        )
    return error_response(
        ValidationFailed(
            {"_schema": ["A value is missing or not allowed."]},
            detail="A value is missing or not allowed for storage; nothing was changed.",
        )
    )


def handle_data_error(error: DataError) -> Response:
    """A value the database cannot store (out of range, too long, malformed): 422, not 500."""
    _rollback_request_session()
    log.warning("data error answered as a problem (sqlstate %s, %s)", _sqlstate(error), _constraint(error))
    return error_response(
        ValidationFailed(
            {"_schema": ["A value is out of range or too long to be stored."]},
            detail="A value in the request is out of range or too long to be stored; nothing was changed.",
        )
    )
