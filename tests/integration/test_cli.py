"""The `yunkefu` command's token and outbox commands."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from shared.auth import decode_token
from shared.cli import main as cli
from shared.config import SERVICES
from shared.db import Database
from shared.events.outbox import add_event


def test_token_mints_a_jwt_signed_with_jwt_secret() -> None:
    secret = "a-test-secret-that-is-long-enough-for-hs256"
    result = CliRunner().invoke(
        cli,
        ["token", "--role", "merchant", "--merchant-id", "m-001", "--sub", "u-1"],
        env={"JWT_SECRET": secret},
    )
    assert result.exit_code == 0, result.output
    principal = decode_token(result.output.strip(), secret)
    assert (principal.role, principal.merchant_id, principal.sub) == ("merchant", "m-001", "u-1")


def test_token_for_a_merchant_needs_its_merchant_id() -> None:
    result = CliRunner().invoke(cli, ["token", "--role", "merchant"])
    assert result.exit_code == 2
    assert "merchant" in result.output


def test_outbox_status_counts_pending_events_per_service(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"VAR_DIR": str(tmp_path), "DATABASE_URL": ""}
    assert runner.invoke(cli, ["migrate", "all"], env=env).exit_code == 0
    database = Database(f"sqlite:///{tmp_path / 'onboarding.db'}")
    with database.session() as session:
        add_event(session, "project.closed", {"project_id": "p-1"})
        add_event(session, "project.closed", {"project_id": "p-2"})
    database.dispose()
    result = runner.invoke(cli, ["outbox", "status"], env=env)
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    assert set(lines) == set(SERVICES)
    assert "pending=2" in lines["onboarding"]
    assert "pending=0" in lines["billing"]


def test_outbox_status_says_when_a_database_is_not_migrated(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["outbox", "status", "billing"], env={"VAR_DIR": str(tmp_path)})
    assert result.exit_code == 0
    assert "unavailable" in result.output and "yunkefu migrate billing" in result.output
