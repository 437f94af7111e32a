"""Every service's Alembic history builds its schema on PostgreSQL and SQLite, matching the models."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect

from shared.cli import main as cli
from shared.config import SERVICES
from shared.db import make_engine, platform_metadata
from shared.migrate import current_revision, head_revision, upgrade
from shared.service import load_spec


def _diff(url: str, service: str) -> list[object]:
    spec = load_spec(service)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, [spec.metadata, platform_metadata])
    finally:
        engine.dispose()


@pytest.mark.parametrize("service", list(SERVICES))
def test_migrations_build_the_model_schema_on_postgresql(
    service: str, make_database: Callable[[str], str]
) -> None:
    url = make_database(f"mig_{service}")
    spec = load_spec(service)
    upgrade(spec, url)
    assert current_revision(spec, url) == head_revision(spec, url)
    engine = make_engine(url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"outbox", "inbox", "idempotency_keys", "alembic_version"} <= tables
    assert _diff(url, service) == []
    upgrade(spec, url)  # a second run is a no-op


def test_migrate_all_on_sqlite_through_the_cli(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["migrate", "all"], env={"VAR_DIR": str(tmp_path), "DATABASE_URL": ""})
    assert result.exit_code == 0, result.output
    for service in SERVICES:
        url = f"sqlite:///{tmp_path / f'{service}.db'}"
        assert (tmp_path / f"{service}.db").exists()
        assert _diff(url, service) == []
