"""``Idempotency-Key`` for writes a client may retry (a lost response must not create a second payslip).

Only an authenticated request gets that far (an anonymous or forged one is a plain 401, writing nothing).
The first request with a key claims it by inserting an in-progress row in its own short transaction; the
primary key (principal, key) makes a concurrent duplicate fail to insert and get 409. A 2xx answer is
stored and replayed byte for byte to every later request with the same key and the same body; any other
answer frees the key, so a client can correct its request and retry with it.

The answer is stored in the view's own transaction (``shared.web.transaction``): the effects and the
stored answer commit together or not at all. A process killed before that commit leaves only the
in-progress claim and no effects; after ``IN_PROGRESS_TIMEOUT`` a retry takes the claim over and runs the
view again, which is then its first effective run.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec

from flask import Response, request
from sqlalchemy import (
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Row,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.auth import current_principal
from shared.db import Database, UTCDateTime, platform_metadata, utcnow
from shared.errors import Conflict, ProblemError, ValidationFailed, problem_type
from shared.web.state import get_database
from shared.web.transaction import before_commit, discard_before_commit, transactional

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 200
#: An in-progress claim older than this belongs to a request that died; a retry may take it over.
IN_PROGRESS_TIMEOUT = dt.timedelta(minutes=2)
#: Completed keys are replayed this long (the worker purges them later: ``shared.retention``).
RETENTION = dt.timedelta(hours=24)
#: Response headers worth replaying; per-request ones (correlation id, date, length) are not.
REPLAYED_RESPONSE_HEADERS = (
    "Content-Type",
    "Location",
    "ETag",
    "Last-Modified",
    "Content-Disposition",
    "X-Total-Count",
)

# Must stay identical to ``shared.migrate.create_platform_tables_v1`` (the migrations test compares them).
idempotency_keys = Table(
    "idempotency_keys",
    platform_metadata,
    Column("key", String(200), nullable=False),
    Column("principal", String(100), nullable=False),
    Column("method", String(10), nullable=False),
    Column("path", String(500), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("response_body", Text, nullable=True),
    Column("response_headers", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("principal", "key"),
    # The retention purge deletes keys by age (``shared.migrate.create_platform_indexes_v2``).
    Index("ix_idempotency_keys_created_at", "created_at"),
)

P = ParamSpec("P")

_HEADER_DOC: dict[str, Any] = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
    "description": (
        "Retry-safe write: a repeat with the same key and body replays the first 2xx answer "
        f"(with `{REPLAYED_HEADER}: true`); the same key with another body is refused with 422."
    ),
}


@dataclass(frozen=True)
class _Fingerprint:
    principal: str
    key: str
    method: str
    path: str
    request_hash: str


def idempotent(view: Callable[P, Any]) -> Callable[P, Response]:
    """Make a write view retry-safe and transactional; place it above the flask-smorest decorators."""
    inner = transactional(view)

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        raw_key = request.headers.get(HEADER)
        if raw_key is None:
            return inner(*args, **kwargs)
        # Authenticate before touching the key table: an anonymous or forged request must get its 401,
        # not write a claim, nor learn from a 409/422 that somebody uses this key.
        current_principal()
        fingerprint = _fingerprint(raw_key)
        database = get_database()
        replay = _claim(database, fingerprint)
        if replay is not None:
            return replay
        before_commit(lambda session, response: _store(session, fingerprint, response))
        try:
            response = inner(*args, **kwargs)
        except BaseException:
            discard_before_commit()
            _release(database, fingerprint)
            raise
        if response.status_code >= 400:
            discard_before_commit()
            _release(database, fingerprint)
        return response

    # Document the header on the operation; "arguments" parameters are merged, not replaced, by smorest.
    apidoc: dict[str, Any] = dict(getattr(wrapper, "_apidoc", {}))
    arguments = dict(apidoc.get("arguments", {}))
    arguments["parameters"] = [*arguments.get("parameters", []), dict(_HEADER_DOC)]
    apidoc["arguments"] = arguments
    wrapper._apidoc = apidoc  # type: ignore[attr-defined]
    return wrapper


def _fingerprint(raw_key: str) -> _Fingerprint:
    key = raw_key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            {HEADER: [f"Must be 1 to {MAX_KEY_LENGTH} characters; a UUID is a good choice."]},
            detail=f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} characters long.",
        )
    principal = current_principal()
    # get_data(cache=True) keeps the body for webargs/form parsing that runs afterwards.
    body = request.get_data(cache=True)
    return _Fingerprint(
        principal=principal.sub[:100],
        key=key,
        method=request.method[:10],
        path=request.path[:500],
        request_hash=hashlib.sha256(body).hexdigest(),
    )


def _where(fp: _Fingerprint) -> Any:
    return (idempotency_keys.c.principal == fp.principal) & (idempotency_keys.c.key == fp.key)


def _claim(database: Database, fp: _Fingerprint) -> Response | None:
    """None when this request now owns the key; a replayed Response; or raise 409/422."""
    for _ in range(3):  # a lost insert race or a takeover race sends us round once more
        with database.session() as session:
            row = session.execute(select(idempotency_keys).where(_where(fp))).first()
        if row is None:
            try:
                with database.session() as session:
                    session.execute(
                        insert(idempotency_keys).values(
                            key=fp.key,
                            principal=fp.principal,
                            method=fp.method,
                            path=fp.path,
                            request_hash=fp.request_hash,
                            created_at=utcnow(),
                        )
                    )
                return None
            except IntegrityError:
                continue
        if (row.method, row.path, row.request_hash) != (fp.method, fp.path, fp.request_hash):
            raise ProblemError(
                f"This {HEADER} was already used for a different request ({row.method} {row.path} with "
                "another body); use a new key for a new request.",
                status=422,
                title="Idempotency key reused",
                type=problem_type("idempotency-key-reused"),
            )
        age = utcnow() - row.created_at
        if row.status_code is None:
            if age > IN_PROGRESS_TIMEOUT and _take_over(database, fp, row):
                return None
            if age <= IN_PROGRESS_TIMEOUT:
                raise Conflict(
                    f"A request with this {HEADER} is still in progress; retry once it has completed.",
                    headers={"Retry-After": "1"},
                )
            continue
        if age > RETENTION:
            with database.session() as session:
                session.execute(
                    delete(idempotency_keys).where(
                        _where(fp), idempotency_keys.c.created_at == row.created_at
                    )
                )
            continue
        return _replay(row)
    raise Conflict(f"A request with this {HEADER} is still in progress; retry once it has completed.")


def _take_over(database: Database, fp: _Fingerprint, row: Row[Any]) -> bool:
    # Compare-and-set on created_at: of several retries racing for a dead claim, exactly one wins.
    with database.session() as session:
        result = session.execute(
            update(idempotency_keys)
            .where(
                _where(fp),
                idempotency_keys.c.status_code.is_(None),
                idempotency_keys.c.created_at == row.created_at,
            )
            .values(created_at=utcnow())
        )
        return bool(result.rowcount)


def _replay(row: Row[Any]) -> Response:
    headers: list[tuple[str, str]] = [tuple(pair) for pair in json.loads(row.response_headers or "[]")]
    response = Response(row.response_body or "", status=row.status_code, headers=headers)
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _store(session: Session, fp: _Fingerprint, response: Response) -> None:
    """Record a success for replay in the view's transaction; a body that cannot be replayed (streamed or
    binary) frees the key instead, in the same transaction."""
    body: str | None = None
    if not (response.is_streamed or response.direct_passthrough):
        try:
            body = response.get_data().decode("utf-8")
        except UnicodeDecodeError:
            body = None
    if body is None:
        session.execute(delete(idempotency_keys).where(_where(fp), idempotency_keys.c.status_code.is_(None)))
        return
    headers = [[name, value] for name, value in response.headers.items() if name in REPLAYED_RESPONSE_HEADERS]
    session.execute(
        update(idempotency_keys)
        .where(_where(fp))
        .values(status_code=response.status_code, response_body=body, response_headers=json.dumps(headers))
    )


def _release(database: Database, fp: _Fingerprint) -> None:
    try:
        with database.session() as session:
            session.execute(
                delete(idempotency_keys).where(_where(fp), idempotency_keys.c.status_code.is_(None))
            )
    except Exception:
        # Best effort: a claim left behind expires after IN_PROGRESS_TIMEOUT.
        log.exception("could not release an idempotency key", extra={"key": fp.key})
