"""Engines, sessions, naming convention and UTC timestamps shared by every service.

Each service has its own database and its own ``MetaData`` (``new_metadata()``); the platform's tables
(outbox, inbox, idempotency keys) live in ``platform_metadata`` and are created in every service's
database by its first migration.
"""

from __future__ import annotations

import datetime as dt
import select
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


platform_metadata = new_metadata()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC timestamp is required")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    # a dead database host must fail /readyz and the workers' retries quickly, not hang them
    kwargs.setdefault("connect_args", {"connect_timeout": 5})
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    # Connections idle past a firewall's or proxy's idle timeout are replaced before they are used.
    kwargs.setdefault("pool_recycle", POOL_RECYCLE_SECONDS)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine, "checkout", _refuse_dead_connection)
    return engine


#: Older pooled connections are closed and replaced on checkout (see ``make_engine``).
POOL_RECYCLE_SECONDS = 1800


def _refuse_dead_connection(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """The cheap pessimistic check on checkout: no round trip (``pool_pre_ping`` costs one per checkout,
    a fifth of a read request's database time), one ``poll`` of the socket instead.

    An idle connection has nothing to read: the server talks only when asked. A socket that is readable
    (the server's "terminating connection" notice after a restart, ``pg_terminate_backend`` or an idle
    timeout, or the end of the stream) or already closed is a dead connection; raising
    ``DisconnectionError`` makes the pool discard it and check out another (up to three times, then a new
    connection). A connection that dies while in use is still caught by SQLAlchemy's disconnect handling,
    which invalidates the pool's older connections at once.
    """
    if getattr(dbapi_conn, "closed", False):
        raise DisconnectionError("the connection was closed")
    pgconn = getattr(dbapi_conn, "pgconn", None)
    if pgconn is None:  # not psycopg 3: nothing cheap to look at
        return
    try:
        fd = pgconn.socket
    except Exception as exc:  # psycopg raises OperationalError when the connection is bad
        raise DisconnectionError("the connection has no socket") from exc
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    if poller.poll(0):
        raise DisconnectionError("the server closed the connection or sent an unsolicited message")


def _ensure_sqlite_dir(url: str) -> None:
    from pathlib import Path

    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def is_postgres(engine_or_session: Engine | Session) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "postgresql"


class Database:
    """One service's engine and session factory."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        # Reads in autocommit: no BEGIN before the first statement and no ROLLBACK at the end, two of a
        # read request's round trips. The same pool: the option is set on checkout and reset on return
        # (both client-side in psycopg). At READ COMMITTED each statement of a transaction sees its own
        # snapshot anyway, so reads see nothing different.
        self.read_engine = (
            self.engine
            if url.startswith("sqlite")
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self.read_sessionmaker = sessionmaker(self.read_engine, expire_on_commit=False)
        event.listen(self.read_sessionmaker, "before_flush", _refuse_writes)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any exception."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def read_session(self) -> Session:
        """A session for reads only (a request that writes nothing): autocommit, and a flush of any change
        raises ``ReadOnlySession`` rather than committing it statement by statement."""
        return self.read_sessionmaker()

    def dispose(self) -> None:
        self.engine.dispose()


class ReadOnlySession(RuntimeError):
    """A write through a read session: the view must be ``@transactional`` to write."""


def _refuse_writes(session: Session, _context: Any, _instances: Any) -> None:
    raise ReadOnlySession(
        "this session only reads (a GET without @transactional); writes need a transactional view"
    )
