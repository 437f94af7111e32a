"""Alembic, one history per service, driven from code (``yunkefu migrate``).

Each service's ``migrations/env.py`` is two lines that call ``run_env`` with the service's metadata.
The platform's tables (outbox, inbox, idempotency keys) are created by ``create_platform_tables_v1``
from each service's first revision; a later platform change gets a ``..._v2`` called from a new revision
of every service, so old revisions keep meaning what they meant.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData

from shared.db import UTCDateTime, make_engine, platform_metadata
from shared.service import ServiceSpec

log = logging.getLogger(__name__)


def alembic_config(spec: ServiceSpec, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(spec.migrations_dir))
    # ConfigParser interpolation would eat a '%' in a password
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["service"] = spec.name
    return cfg


def upgrade(spec: ServiceSpec, url: str, revision: str = "head") -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            cfg = alembic_config(spec, url)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


def current_revision(spec: ServiceSpec, url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision(spec: ServiceSpec, url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(spec, url)).get_current_head()


def run_env(metadata: MetaData) -> None:
    """The body of every service's ``env.py``."""
    cfg = context.config
    target = [metadata, platform_metadata]
    connection = cfg.attributes.get("connection")
    if connection is None:
        engine = make_engine(cfg.get_main_option("sqlalchemy.url") or "")
        with engine.begin() as conn:
            _run(conn, target)
        engine.dispose()
    else:
        _run(connection, target)


def _run(connection: sa.Connection, target: list[MetaData]) -> None:
    context.configure(
        connection=connection,
        target_metadata=target,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def create_platform_tables_v1() -> None:
    """Outbox, inbox and idempotency keys, as first defined (called from each service's first revision)."""
    op.create_table(
        "outbox",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("correlation_id", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["id"],
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_inbox"),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("principal", sa.String(100), nullable=False),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("response_body", sa.Text, nullable=True),
        sa.Column("response_headers", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("principal", "key", name="pk_idempotency_keys"),
    )


def drop_platform_tables_v1() -> None:
    op.drop_table("idempotency_keys")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("inbox")


def create_platform_indexes_v2() -> None:
    """Indexes the retention purge reads by: published outbox rows, inbox rows and idempotency keys by age."""
    op.create_index(
        "ix_outbox_published_at",
        "outbox",
        ["published_at"],
        postgresql_where=sa.text("published_at IS NOT NULL"),
        sqlite_where=sa.text("published_at IS NOT NULL"),
    )
    op.create_index("ix_inbox_received_at", "inbox", ["received_at"])
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def drop_platform_indexes_v2() -> None:
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
    op.drop_index("ix_inbox_received_at", table_name="inbox")
    op.drop_index("ix_outbox_published_at", table_name="outbox")
