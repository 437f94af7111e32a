"""Pagination for every list endpoint: ``?per_page=&after=`` (keyset) or ``?page=`` (numbered) in,
``{items, total, page, per_page, pages, next_after}`` out.

Two ways through a list:

- **Keyset** (``after``): the answer's ``next_after`` is an opaque cursor holding the sort key of the page's
  last row; ``?after=<cursor>`` continues with ``WHERE (sort key) < (cursor)`` and a LIMIT, which an index
  on the sort key serves without reading the rows before it (OFFSET reads and throws them away). The total
  is counted once, on the first page, and rides in the cursor: later pages do not scan the list again, so
  their ``total`` is the size when the walk began.
- **Numbered** (``page``), kept for existing clients: OFFSET and an exact count on every page.

The contract lets a client learn a list's size from either a ``total`` field or ``X-Total-Count``; we give
both. ``paginate`` records the total for the current request (a context variable, so this module stays free
of Flask and a query may call it) and the web layer's after-request hook copies it into the header
(``shared.web.app``), so a view cannot forget it.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import enum
import json
import math
import uuid
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import Schema, fields, validate
from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.types import TypeDecorator

from shared.errors import ValidationFailed

MAX_PER_PAGE = 200
#: (MAX_PAGE - 1) * MAX_PER_PAGE stays far inside the database's 64-bit OFFSET; nobody pages further.
MAX_PAGE = 1_000_000
DEFAULT_PER_PAGE = 20
#: A cursor is a handful of sort-key values; anything longer is not one of ours.
MAX_CURSOR_LENGTH = 1024
TOTAL_COUNT_HEADER = "X-Total-Count"
_total_count: ContextVar[int | None] = ContextVar("total_count", default=None)


class InvalidCursor(ValidationFailed):
    """``after`` is not a cursor this list handed out (garbled, edited, or from another list)."""

    def __init__(self, detail: str) -> None:
        super().__init__({"after": [detail]}, detail=f"after: {detail}")


class PageArgsSchema(Schema):
    """Query arguments of a list endpoint; subclass it to add filters."""

    page = fields.Integer(
        load_default=1,
        validate=validate.Range(min=1, max=MAX_PAGE),
        metadata={"description": f"1-based page number, at most {MAX_PAGE} (ignored when `after` is given)"},
    )
    per_page = fields.Integer(
        load_default=DEFAULT_PER_PAGE,
        validate=validate.Range(min=1, max=MAX_PER_PAGE),
        metadata={"description": f"items per page, 1 to {MAX_PER_PAGE}"},
    )
    after = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=MAX_CURSOR_LENGTH),
        metadata={
            "description": "continue after this cursor (the previous page's `next_after`): faster than "
            "`page` on long lists, and stable while rows are added"
        },
    )


@dataclass(frozen=True)
class Page:
    """One page of results; a response schema made by ``page_response_schema`` dumps it directly."""

    items: list[Any]
    total: int
    page: int
    per_page: int
    pages: int
    #: the cursor of the next page, ``None`` on the last one
    next_after: str | None = None

    def with_items(self, items: list[Any]) -> Page:
        """The same page with its rows turned into what the response shows."""
        return dataclasses.replace(self, items=items)


# --- cursors ------------------------------------------------------------------------------------------------
# A cursor is base64url(JSON [total, [tagged values]]); each value carries its type so that it binds back as
# the same Python type (a datetime must not come back as a string).


def _tag(value: Any) -> list[Any]:
    if isinstance(value, bool):
        return ["b", value]
    if isinstance(value, int):
        return ["i", value]
    if isinstance(value, dt.datetime):
        return ["t", value.isoformat()]
    if isinstance(value, dt.date):
        return ["d", value.isoformat()]
    if isinstance(value, Decimal):
        return ["n", str(value)]
    if isinstance(value, uuid.UUID):
        return ["u", str(value)]
    if isinstance(value, str):
        return ["s", value]
    if hasattr(value, "value") and isinstance(value.value, str):  # a str-valued enum member
        return ["s", value.value]
    raise TypeError(f"cannot put a {type(value).__name__} in a page cursor; sort on plain columns")


def _untag(item: Any) -> Any:
    if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
        raise InvalidCursor("the cursor is malformed; start again from the first page")
    kind, raw = item
    try:
        if kind == "b" and isinstance(raw, bool):
            return raw
        if kind == "i" and isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if kind == "s" and isinstance(raw, str):
            return raw
        if kind == "t" and isinstance(raw, str):
            return dt.datetime.fromisoformat(raw)
        if kind == "d" and isinstance(raw, str):
            return dt.date.fromisoformat(raw)
        if kind == "n" and isinstance(raw, str):
            return Decimal(raw)
        if kind == "u" and isinstance(raw, str):
            return uuid.UUID(raw)
    except (ValueError, InvalidOperation):
        pass
    raise InvalidCursor("the cursor is malformed; start again from the first page")


def encode_cursor(values: Sequence[Any], total: int) -> str:
    raw = json.dumps([total, [_tag(v) for v in values]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> tuple[list[Any], int]:
    """The sort-key values and the total a cursor holds; ``width`` is the number of sort columns."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        total, tagged = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise InvalidCursor("the cursor is malformed; start again from the first page") from exc
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise InvalidCursor("the cursor is malformed; start again from the first page")
    if not isinstance(tagged, list) or len(tagged) != width:
        raise InvalidCursor("the cursor belongs to another list; start again from the first page")
    return [_untag(item) for item in tagged], total


# --- the query --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SortKey:
    column: ColumnElement[Any]
    descending: bool

    @property
    def key(self) -> str:
        return str(getattr(self.column, "key", None) or getattr(self.column, "name", ""))


def _sort_keys(order_by: Sequence[ColumnElement[Any] | Any]) -> list[_SortKey]:
    keys = []
    for element in order_by:
        if isinstance(element, UnaryExpression) and element.modifier in (operators.desc_op, operators.asc_op):
            keys.append(_SortKey(element.element, element.modifier is operators.desc_op))
        else:
            keys.append(_SortKey(element, False))
    return keys


def _python_type(column: ColumnElement[Any]) -> type | None:
    sql_type = column.type
    if isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    try:
        kind: type = sql_type.python_type
    except NotImplementedError:  # a type that does not say; the database will judge
        return None
    return kind


def _check_types(keys: list[_SortKey], values: list[Any]) -> None:
    """A well-formed cursor whose values do not fit the sort columns came from another list (or was
    edited): bound as they are, they would fail in the database — refused here as the client's error."""
    for key, value in zip(keys, values, strict=True):
        kind = _python_type(key.column)
        if kind is None:
            continue
        if isinstance(kind, type) and issubclass(kind, enum.Enum):
            kind = str
        fits = isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)
        if isinstance(value, dt.datetime):
            aware = bool(getattr(key.column.type, "timezone", False))
            fits = fits and (value.tzinfo is not None) == aware
        elif kind is dt.date:
            fits = fits and not isinstance(value, dt.datetime)
        if not fits:
            raise InvalidCursor("the cursor belongs to another list; start again from the first page")


def _after(keys: list[_SortKey], values: list[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the sort order."""
    # bound with each column's own type, so that e.g. a UTC timestamp is stored-form on SQLite too
    values = [literal(v, type_=k.column.type) for k, v in zip(keys, values, strict=True)]
    if all(k.descending for k in keys) or not any(k.descending for k in keys):
        # one row-value comparison: the form an index on the sort key serves directly
        row, bound = tuple_(*(k.column for k in keys)), tuple_(*values)
        return row < bound if keys[0].descending else row > bound
    # mixed directions: (a > x) OR (a = x AND b < y) OR ...
    clauses = []
    for i, key in enumerate(keys):
        beyond = key.column < values[i] if key.descending else key.column > values[i]
        clauses.append(and_(*(keys[j].column == values[j] for j in range(i)), beyond))
    return or_(*clauses)


def _key_values(item: Any, keys: list[_SortKey], entity: bool) -> list[Any]:
    if entity:
        return [getattr(item, k.key) for k in keys]
    mapping = item._mapping
    return [mapping[k.key] for k in keys]


def paginate(
    session: Session,
    select_stmt: Select[Any],
    page: int = 1,
    per_page: int = DEFAULT_PER_PAGE,
    *,
    order_by: Sequence[ColumnElement[Any] | Any] = (),
    after: str | None = None,
) -> Page:
    """Run ``select_stmt`` for one page.

    ``order_by`` is the list's sort (columns of the selected entity, or keys of the selected row, each
    optionally ``.desc()``), ending with a unique NOT NULL column; it enables ``after`` and fills
    ``next_after``. Without it the statement's own ORDER BY is used and only ``page`` works.

    A statement selecting one entity or column yields scalars (``select(Widget)`` → ``Widget`` objects);
    one selecting several yields rows. The total counts the same statement, ORDER BY dropped.
    """
    if not 1 <= page <= MAX_PAGE or not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"page must be within 1..{MAX_PAGE} and per_page within 1..{MAX_PER_PAGE}")
    keys = _sort_keys(order_by)
    if after is not None and not keys:
        raise ValueError("paginate(after=...) needs the list's order_by")
    stmt = select_stmt.order_by(*order_by) if keys else select_stmt
    entity = len(select_stmt.column_descriptions) == 1

    if after is not None:
        values, total = decode_cursor(after, len(keys))
        _check_types(keys, values)
        paged = stmt.where(_after(keys, values)).limit(per_page + 1)
        page = 0  # a keyset page has no number; 0 says so without breaking the integer field
    else:
        counted = select(func.count()).select_from(select_stmt.order_by(None).subquery())
        total = int(session.execute(counted).scalar_one())
        # one extra row tells whether there is a next page without counting again
        paged = stmt.limit(per_page + 1).offset((page - 1) * per_page)
    rows: list[Any] = list(session.scalars(paged).all()) if entity else list(session.execute(paged).all())
    more = len(rows) > per_page
    items = rows[:per_page]
    next_after = encode_cursor(_key_values(items[-1], keys, entity), total) if keys and more else None
    set_total_count(total)
    return Page(
        items=items,
        total=total,
        page=page,
        per_page=per_page,
        pages=math.ceil(total / per_page),
        next_after=next_after,
    )


def paginate_args(
    session: Session,
    select_stmt: Select[Any],
    args: Mapping[str, Any],
    *,
    order_by: Sequence[ColumnElement[Any] | Any],
) -> Page:
    """``paginate`` with a list's query arguments as ``PageArgsSchema`` loads them (``page``,
    ``per_page``, ``after``)."""
    return paginate(
        session, select_stmt, args["page"], args["per_page"], order_by=order_by, after=args.get("after")
    )


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
    """A ``{items: [item], total, page, per_page, pages, next_after}`` schema, named ``name`` in the
    OpenAPI spec.

    Cached so that building several apps in one process (the tests) reuses one class per name.
    """
    key = (item_schema_cls, name)
    cached = _page_schemas.get(key)
    if cached is not None:
        return cached
    schema_cls = Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema_cls), required=True),
            "total": fields.Integer(
                required=True,
                metadata={"description": "items across all pages (on an `after` page: when the walk began)"},
            ),
            "page": fields.Integer(required=True, metadata={"description": "0 on an `after` page"}),
            "per_page": fields.Integer(required=True),
            "pages": fields.Integer(required=True, metadata={"description": "0 when there are no items"}),
            "next_after": fields.String(
                allow_none=True,
                metadata={"description": "pass as `after` for the next page; null on the last page"},
            ),
        },
        name=name,
    )
    _page_schemas[key] = schema_cls
    return schema_cls
