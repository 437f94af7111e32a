"""RFC 9457 problem details: the one error shape every service answers with.

Code anywhere below a view raises a ``ProblemError`` subclass; ``shared.web.errors`` turns it (and every other
error, from werkzeug, webargs or marshmallow) into an ``application/problem+json`` response, so a client
parses exactly one error format across the six services.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE_URI = "https://yunkefu.dev/problems/"

#: Per-field messages: ``{"merchant.company_name": ["Missing data for required field."]}``.
FieldErrors = Mapping[str, Any]


def problem_type(slug: str) -> str:
    """The ``type`` URI of a problem kind; clients switch on it rather than on ``title`` wording."""
    return PROBLEM_BASE_URI + slug


#: Fixed titles: ``HTTPStatus.phrase`` changes between Python versions (413 and 422 were renamed in 3.13),
#: and a problem's title must not change under a client when the interpreter is upgraded.
STATUS_TITLES: dict[int, str] = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    408: "Request timeout",
    409: "Conflict",
    410: "Gone",
    411: "Length required",
    412: "Precondition failed",
    413: "Payload too large",
    414: "URI too long",
    415: "Unsupported media type",
    416: "Range not satisfiable",
    422: "Unprocessable content",
    428: "Precondition required",
    429: "Too many requests",
    431: "Request header fields too large",
    500: "Internal server error",
    501: "Not implemented",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


def status_title(status: int) -> str:
    if status in STATUS_TITLES:
        return STATUS_TITLES[status]
    try:
        return HTTPStatus(status).phrase.capitalize()
    except ValueError:
        return "Error"


def status_slug(status: int) -> str:
    """``404`` → ``not-found``: the default problem type of a plain HTTP error."""
    return status_title(status).lower().replace(" ", "-").replace("'", "")


_RESERVED_MEMBERS = frozenset({"status", "title", "detail", "type", "errors"})


class ProblemError(Exception):
    """An error that is already a client-facing answer.

    ``detail`` is written for the person reading it: it says what was wrong and, where there is one,
    what would make the request succeed. ``extra`` members are merged into the body (RFC 9457 extension
    members, e.g. ``{"rule": "surge-notice"}``); ``headers`` go on the response (``WWW-Authenticate``).
    """

    status: int = 500
    title: str = "Internal server error"
    slug: str = "internal-server-error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        title: str | None = None,
        status: int | None = None,
        type: str | None = None,
        errors: FieldErrors | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title or self.title)
        # A bare ProblemError(status=...) takes its title and kind from the status; a subclass keeps its own.
        bare = self.__class__ is ProblemError and status is not None
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title
        elif bare:
            self.title = status_title(self.status)
        self.detail = detail
        slug = status_slug(self.status) if bare else self.slug
        self.type = type or problem_type(slug)
        self.errors = dict(errors) if errors is not None else None
        # the RFC 9457 members come from the arguments above; an extra of the same name would clash
        self.extra = {k: v for k, v in (extra or {}).items() if k not in _RESERVED_MEMBERS}
        self.headers = dict(headers or {})

    def to_dict(self) -> dict[str, Any]:
        return problem_body(
            self.status, self.title, self.detail, type=self.type, errors=self.errors, **self.extra
        )


class BadRequest(ProblemError):
    status, title, slug = 400, "Bad request", "bad-request"


class Unauthorized(ProblemError):
    status, title, slug = 401, "Unauthorized", "unauthorized"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        # RFC 6750 §3: a 401 for a bearer-protected resource names the scheme to use.
        headers = {"WWW-Authenticate": 'Bearer realm="yunkefu"', **(kwargs.pop("headers", None) or {})}
        super().__init__(detail, headers=headers, **kwargs)


class Forbidden(ProblemError):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(ProblemError):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(ProblemError):
    status, title, slug = 409, "Conflict", "conflict"


class PreconditionFailed(ProblemError):
    status, title, slug = 412, "Precondition failed", "precondition-failed"


class PayloadTooLarge(ProblemError):
    status, title, slug = 413, "Payload too large", "payload-too-large"


class UnsupportedMediaType(ProblemError):
    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


class TooManyRequests(ProblemError):
    """A rate limit was reached; ``retry_after`` (seconds) becomes the ``Retry-After`` header."""

    status, title, slug = 429, "Too many requests", "too-many-requests"

    def __init__(self, detail: str | None = None, *, retry_after: int, **kwargs: Any) -> None:
        headers = {"Retry-After": str(max(1, retry_after)), **(kwargs.pop("headers", None) or {})}
        super().__init__(detail, headers=headers, **kwargs)


class BusinessRuleViolation(ProblemError):
    """A well-formed request the business refuses.

    The contract requires the ``detail`` to name the rule and what would satisfy it, so ``detail`` is
    mandatory here; ``rule`` (a stable slug such as ``"surge-notice"``) lets clients react without parsing
    prose and becomes both the problem ``type`` suffix and a ``rule`` member of the body.
    """

    status, title, slug = 422, "Business rule violated", "business-rule"

    def __init__(self, detail: str, *, rule: str | None = None, **kwargs: Any) -> None:
        if rule is not None:
            kwargs.setdefault("type", problem_type(f"business-rule/{rule}"))
            kwargs["extra"] = {"rule": rule, **(kwargs.get("extra") or {})}
        super().__init__(detail, **kwargs)


class ValidationFailed(ProblemError):
    """Bad input: ``errors`` maps each offending field to its messages, all reported at once."""

    status, title, slug = 422, "Validation failed", "validation-failed"

    def __init__(self, errors: FieldErrors, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or validation_detail(errors), errors=errors, **kwargs)


def validation_detail(errors: FieldErrors) -> str:
    names = sorted(errors)
    if not names:
        return "The request is invalid."
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return f"{len(names)} field{'s' if len(names) != 1 else ''} failed validation: {shown}."


def problem_body(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    type: str | None = None,
    errors: FieldErrors | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": type or problem_type(status_slug(status)),
        "title": title,
        "status": status,
        "detail": detail if detail is not None else title,
    }
    if errors is not None:
        body["errors"] = dict(errors)
    for key, value in extra.items():
        # Extension members never shadow the standard ones a client relies on.
        if key not in body:
            body[key] = value
    return body
