"""Batch writes over HTTP: a JSON body of one object or many, each item loaded and its problems
collected (not stopped at the first), and the request's unit of work flushed so that a unique-key race
lost to a concurrent request is a 409, as a later request would get."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import request
from marshmallow import Schema, ValidationError
from sqlalchemy.exc import IntegrityError

from shared.errors import Conflict, ValidationFailed
from shared.uow import UnitOfWork
from shared.web.errors import flatten_errors
from shared.web.transaction import current_uow

Batch = tuple[list[dict[str, Any]], list[str], dict[str, list[str]]]


def json_batch(schema: Schema, limit: int) -> Batch:
    """The body's items loaded with ``schema``: (items, their labels, every other item's problems).

    One object is labelled ``""`` (its problems keyed by field), items of an array by their index
    (``"3.date"``). More than ``limit`` items, or a body that is neither, is refused at once (422)."""
    body = request.get_json(silent=True)
    if isinstance(body, dict):
        raw, labels = [body], [""]
    elif isinstance(body, list) and body and all(isinstance(i, dict) for i in body):
        raw, labels = body, [str(i) for i in range(len(body))]
    else:
        raise ValidationFailed(
            {
                "_schema": [
                    "send a JSON object, or a non-empty array of objects, with Content-Type application/json"
                ]
            }
        )
    if len(raw) > limit:
        raise ValidationFailed({"_schema": [f"at most {limit} items per request; split the batch"]})
    items: list[dict[str, Any]] = []
    good: list[str] = []
    errors: dict[str, list[str]] = {}
    for label, item in zip(labels, raw, strict=True):
        try:
            items.append(schema.load(item))
            good.append(label)
        except ValidationError as exc:
            errors.update(flatten_errors(exc.messages, label))
    return items, good, errors


@contextmanager
def racing(conflict: str) -> Iterator[UnitOfWork]:
    """The request's unit of work, flushed at the end: a unique-key race lost to a concurrent request
    becomes the same 409 a later request gets, with this detail (the decorator commits, or writes nothing)."""
    uow = current_uow()
    try:
        yield uow
        uow.flush()
    except IntegrityError:
        uow.rollback()
        raise Conflict(conflict) from None


def one_or_many_body(schema_name: str) -> dict[str, Any]:
    """The OpenAPI request body of a ``json_batch`` endpoint: one ``schema_name`` object or an array."""
    ref = {"$ref": f"#/components/schemas/{schema_name}"}
    return {
        "required": True,
        "content": {"application/json": {"schema": {"oneOf": [ref, {"type": "array", "items": ref}]}}},
    }
