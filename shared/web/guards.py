"""The before-request guards: refuse, before any view runs, what no endpoint can take.

A hostile URL (NUL, lone surrogates), a JSON body where none is declared or none where one is required,
a body too large, too deep, with hostile strings or numbers beyond what clients and columns can hold:
each is a problem+json answer before anything has been read or changed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, request

from shared.errors import BadRequest, UnsupportedMediaType, ValidationFailed
from shared.web.state import QUIET_PATHS, get_settings

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


def guard_request() -> None:
    """Refuse, before any view runs, what no endpoint can take; nothing has been read or changed yet."""
    if request.path in QUIET_PATHS:
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


def init_app(app: Flask) -> None:
    app.before_request(guard_request)
