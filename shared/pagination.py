"""Page-number pagination for every list endpoint: ``?page=&per_page=`` in, ``{items, total, …}`` out.

The contract lets a client learn a list's size from either a ``total`` field or ``X-Total-Count``; we give
both. ``paginate`` records the total for the current request (a context variable, so this module stays free
of Flask and a query may call it) and the web layer's after-request hook copies it into the header
(``shared.web.app``), so a view cannot forget it.
"""

from __future__ import annotations

import math
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, fields, validate
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

MAX_PER_PAGE = 200
#: (MAX_PAGE - 1) * MAX_PER_PAGE stays far inside the database's 64-bit OFFSET; nobody pages further.
MAX_PAGE = 1_000_000
DEFAULT_PER_PAGE = 20
TOTAL_COUNT_HEADER = "X-Total-Count"
_total_count: ContextVar[int | None] = ContextVar("total_count", default=None)


class PageArgsSchema(Schema):
    """Query arguments of a list endpoint; subclass it to add filters."""

    page = fields.Integer(
        load_default=1,
        validate=validate.Range(min=1, max=MAX_PAGE),
        metadata={"description": f"1-based page number, at most {MAX_PAGE}"},
    )
    per_page = fields.Integer(
        load_default=DEFAULT_PER_PAGE,
        validate=validate.Range(min=1, max=MAX_PER_PAGE),
        metadata={"description": f"items per page, 1 to {MAX_PER_PAGE}"},
    )


@dataclass(frozen=True)
class Page:
    """One page of results; a response schema made by ``page_response_schema`` dumps it directly."""

    items: list[Any]
    total: int
    page: int
    per_page: int
    pages: int


def paginate(
    session: Session, select_stmt: Select[Any], page: int = 1, per_page: int = DEFAULT_PER_PAGE
) -> Page:
    """Run ``select_stmt`` for one page; the total counts the same statement (ORDER BY dropped).

    A statement selecting one entity or column yields scalars (``select(Widget)`` → ``Widget`` objects);
    one selecting several yields rows. Give the statement a deterministic ORDER BY (ending with a unique
    column), otherwise rows can repeat or go missing between pages.
    """
    if not 1 <= page <= MAX_PAGE or not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"page must be within 1..{MAX_PAGE} and per_page within 1..{MAX_PER_PAGE}")
    counted = select(func.count()).select_from(select_stmt.order_by(None).subquery())
    total = int(session.execute(counted).scalar_one())
    paged = select_stmt.limit(per_page).offset((page - 1) * per_page)
    if len(select_stmt.column_descriptions) == 1:
        items: list[Any] = list(session.scalars(paged).all())
    else:
        items = list(session.execute(paged).all())
    set_total_count(total)
    return Page(items=items, total=total, page=page, per_page=per_page, pages=math.ceil(total / per_page))


def set_total_count(total: int) -> None:
    """Announce a list's full size in ``X-Total-Count`` (for lists not built by ``paginate``)."""
    _total_count.set(total)


def take_total_count() -> int | None:
    """The total announced since the last call (the web layer's hook takes it once per request)."""
    total = _total_count.get()
    _total_count.set(None)
    return total


_page_schemas: dict[tuple[type[Schema], str], type[Schema]] = {}


def page_response_schema(item_schema_cls: type[Schema], name: str) -> type[Schema]:
    """A ``{items: [item], total, page, per_page, pages}`` schema, named ``name`` in the OpenAPI spec.

    Cached so that building several apps in one process (the tests) reuses one class per name.
    """
    key = (item_schema_cls, name)
    cached = _page_schemas.get(key)
    if cached is not None:
        return cached
    schema_cls = Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema_cls), required=True),
            "total": fields.Integer(required=True, metadata={"description": "items across all pages"}),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
            "pages": fields.Integer(required=True, metadata={"description": "0 when there are no items"}),
        },
        name=name,
    )
    _page_schemas[key] = schema_cls
    return schema_cls
