"""Tables over HTTP: the download of an export (format negotiation, headers) and the bytes of an upload.

The tables themselves (CSV/XLSX writing and reading) are ``shared.tabular``, which knows nothing of HTTP;
views use this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from flask import Response, request

from shared import tabular
from shared.errors import BusinessRuleViolation, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from shared.storage import content_disposition
from shared.tabular import CSV_MIME, FORMATS, UPLOAD_TYPES, XLSX_MIME, Column, to_csv, to_xlsx, to_xlsx_book

#: multipart framing around an upload: the declared length may exceed the file by this much
_MULTIPART_SLACK = 16 * 1024


def negotiate_format(requested: str | None) -> str:
    """``?format=`` wins; otherwise an ``Accept`` that prefers the XLSX type gets XLSX; CSV by default
    (browsers and curl send ``*/*``, and a CSV is what every tool can open)."""
    if requested is not None and requested in FORMATS:
        return requested
    best = request.accept_mimetypes.best_match(["text/csv", XLSX_MIME], default="text/csv")
    return "xlsx" if best == XLSX_MIME else "csv"


def export_responses(description: str, *formats: str) -> dict[str, Any]:
    """The OpenAPI ``responses`` of an export endpoint: a 200 with the media type of each format."""
    media = {
        "csv": ("text/csv", {"type": "string", "description": "UTF-8 with BOM, CRLF"}),
        "xlsx": (XLSX_MIME, {"type": "string", "format": "binary"}),
    }
    content = {media[f][0]: {"schema": media[f][1]} for f in formats or FORMATS}
    return {"200": {"description": description, "content": content}}


def export_response(
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    *,
    filename: str,
    fmt: str = "csv",
    lang: str = "zh",
    sheet: str = "Sheet1",
) -> Response:
    """The download: ``filename`` is the name without extension (Chinese allowed, RFC 6266 encoded).
    An XLSX of more than ``XLSX_MAX_ROWS`` rows is a 422 that points to the CSV."""
    if fmt == "xlsx":
        rows = list(rows)
        if len(rows) > tabular.XLSX_MAX_ROWS:
            raise BusinessRuleViolation(
                f"This export has {len(rows)} rows; an .xlsx export holds at most "
                f"{tabular.XLSX_MAX_ROWS}. Narrow the filters (e.g. a shorter date range) or ask for CSV, "
                "which has no such limit.",
                rule="xlsx-row-limit",
                extra={"rows": len(rows), "max_rows": tabular.XLSX_MAX_ROWS},
            )
        body, mime, ext = to_xlsx(columns, rows, lang, sheet), XLSX_MIME, "xlsx"
    else:
        body, mime, ext = to_csv(columns, rows, lang), CSV_MIME, "csv"
    response = Response(body, content_type=mime)
    response.headers["Content-Disposition"] = content_disposition(f"{filename}.{ext}")
    response.vary.add("Accept")
    return response


def workbook_response(
    sheets: Sequence[tuple[str, Sequence[Column], Iterable[Sequence[Any]]]],
    *,
    filename: str,
    lang: str = "zh",
) -> Response:
    """The download of a report of several sheets (an xlsx workbook); ``filename`` without extension."""
    response = Response(to_xlsx_book(sheets, lang), content_type=XLSX_MIME)
    response.headers["Content-Disposition"] = content_disposition(f"{filename}.xlsx")
    return response


# --- reading -------------------------------------------------------------------------------------------


def read_upload(limit: int, *, what: str = "file") -> bytes:
    """The uploaded bytes: multipart field ``file``, or the raw body with a CSV/XLSX (or plain) type.

    More than ``limit`` bytes → 413; no file → 422; another type (JSON, a form) → 415. Nothing is parsed.
    """
    too_large = PayloadTooLarge(
        f"The {what} is larger than the import limit of {limit} bytes; split it into smaller files."
    )
    if request.content_length is not None and request.content_length > limit + _MULTIPART_SLACK:
        raise too_large
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ValidationFailed({"file": [f"Send the {what} in the multipart field 'file'."]})
        raw = upload.stream.read(limit + 1)
    elif request.mimetype in UPLOAD_TYPES:
        raw = request.get_data(cache=False)
    else:
        raise UnsupportedMediaType(
            f"Send the {what} (CSV or .xlsx) as multipart/form-data (field 'file') or as a text/csv body, "
            f"not {request.mimetype!r}."
        )
    if len(raw) > limit:
        raise too_large
    return raw


def upload_request_body() -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of a table import: multipart field ``file``, or a CSV/XLSX body."""
    return {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
            },
            "text/csv": {"schema": {"type": "string"}},
            XLSX_MIME: {"schema": {"type": "string", "format": "binary"}},
        },
    }
