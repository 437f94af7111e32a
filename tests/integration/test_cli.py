"""The `yunkefu` command's token and outbox commands."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jwt
import pytest
from click.testing import CliRunner

from shared.auth import Keyring, SigningKey, decode_token, generate_key_pair
from shared.cli import main as cli
from shared.config import SERVICES
from shared.db import Database
from shared.errors import Unauthorized
from shared.events.outbox import add_event


def test_token_mints_an_eddsa_jwt_that_verifies_with_the_public_key(tmp_path: Path) -> None:
    private, public = generate_key_pair(tmp_path, "cli")
    result = CliRunner().invoke(
        cli,
        ["token", "--role", "merchant", "--merchant-id", "m-001", "--sub", "u-1"],
        env={"JWT_PRIVATE_KEY_FILE": str(private), "JWT_PUBLIC_KEYS": ""},
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert jwt.get_unverified_header(token)["kid"] == SigningKey.load(private).kid
    principal = decode_token(token, Keyring.load(str(public)))
    assert (principal.role, principal.merchant_id, principal.sub) == ("merchant", "m-001", "u-1")
    with pytest.raises(Unauthorized, match="unknown key"):
        decode_token(token, Keyring.of(SigningKey.generate().public_key))


def test_token_for_the_new_qa_role() -> None:
    result = CliRunner().invoke(cli, ["token", "--role", "qa", "--sub", "q-1"])
    assert result.exit_code == 0, result.output
    assert decode_token(result.output.strip(), Keyring.load(os.environ["JWT_PUBLIC_KEYS"])).role == "qa"


def test_token_without_a_private_key_says_which_setting_is_missing(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["token", "--role", "vendor"],
        env={"JWT_PRIVATE_KEY_FILE": "", "JWT_PUBLIC_KEYS": "", "YUNKEFU_ENV": "production"},
    )
    assert result.exit_code == 1
    assert "JWT_PRIVATE_KEY_FILE is not set" in result.output


def test_token_in_development_signs_with_the_generated_pair(tmp_path: Path) -> None:
    env = {"JWT_PRIVATE_KEY_FILE": "", "JWT_PUBLIC_KEYS": "", "VAR_DIR": str(tmp_path)}
    result = CliRunner().invoke(cli, ["token", "--role", "vendor"], env=env)
    assert result.exit_code == 0, result.output
    keyring = Keyring.load(str(tmp_path / "keys" / "dev.pub.pem"))
    assert decode_token(result.output.strip(), keyring).role == "vendor"


def test_keys_generate_list_and_jwks(tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(cli, ["keys", "generate", "--dir", str(tmp_path / "k"), "--name", "console-1"])
    assert made.exit_code == 0, made.output
    private, public = tmp_path / "k" / "console-1.key.pem", tmp_path / "k" / "console-1.pub.pem"
    kid = SigningKey.load(private).kid
    assert made.output.splitlines()[0] == f"kid: {kid}"
    assert str(private) in made.output and str(public) in made.output
    again = runner.invoke(cli, ["keys", "generate", "--dir", str(tmp_path / "k"), "--name", "console-1"])
    assert again.exit_code == 1 and "already exists" in again.output

    other = SigningKey.generate()
    (tmp_path / "other.pub.pem").write_bytes(other.public_pem())
    env = {"JWT_PUBLIC_KEYS": f"{public},{tmp_path / 'other.pub.pem'}"}
    listed = runner.invoke(cli, ["keys", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines() == [kid, other.kid]
    printed = runner.invoke(cli, ["keys", "jwks"], env=env)
    assert printed.exit_code == 0, printed.output
    document = json.loads(printed.output)
    assert [k["kid"] for k in document["keys"]] == [kid, other.kid]
    # the printed JWKS is itself a valid JWT_PUBLIC_KEYS
    (tmp_path / "jwks.json").write_text(printed.output)
    assert Keyring.load(str(tmp_path / "jwks.json")).kids == [kid, other.kid]
    refused = runner.invoke(cli, ["keys", "list"], env={"JWT_PUBLIC_KEYS": str(tmp_path / "k")})
    assert refused.exit_code == 1 and "holds a PRIVATE key" in refused.output


def test_token_for_a_merchant_needs_its_merchant_id() -> None:
    result = CliRunner().invoke(cli, ["token", "--role", "merchant"])
    assert result.exit_code == 2
    assert "merchant" in result.output


def test_outbox_status_counts_pending_events_per_service(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"VAR_DIR": str(tmp_path), "DATABASE_URL": ""}
    migrated = runner.invoke(cli, ["migrate", "all"], env=env)
    assert migrated.exit_code == 0, migrated.output
    # the console's own database (its accounts) is migrated with the six services'
    assert [line.split(":")[0] for line in migrated.output.splitlines()] == [*SERVICES, "console"]
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


def test_outbox_republish_counts_then_sends_again_what_was_published_since_a_time(tmp_path: Path) -> None:
    """After a consumer's database is restored to 11:00, the events published since go out once more."""
    import datetime as dt

    from sqlalchemy import select, update

    from shared.events.outbox import outbox

    runner = CliRunner()
    env = {"VAR_DIR": str(tmp_path), "DATABASE_URL": ""}
    assert runner.invoke(cli, ["migrate", "onboarding"], env=env).exit_code == 0
    database = Database(f"sqlite:///{tmp_path / 'onboarding.db'}")
    published = {
        "p-1": dt.datetime(2026, 11, 11, 10, 0, tzinfo=dt.UTC),
        "p-2": dt.datetime(2026, 11, 11, 12, 0, tzinfo=dt.UTC),
    }
    with database.session() as session:
        for project in published:
            add_event(session, "project.closed", {"project_id": project})
        add_event(session, "project.closed", {"project_id": "p-3"})
        ids = session.execute(select(outbox.c.id).order_by(outbox.c.id)).scalars().all()
        for row_id, moment in zip(ids, [*published.values(), published["p-2"]], strict=True):
            session.execute(update(outbox).where(outbox.c.id == row_id).values(published_at=moment))
        # p-3 stands for an event of another type (only the type column matters here)
        session.execute(update(outbox).where(outbox.c.id == ids[-1]).values(event_type="project.updated"))

    def pending() -> list[str]:
        with database.session() as session:
            rows = session.execute(select(outbox.c.payload).where(outbox.c.published_at.is_(None)))
            return sorted(json.loads(r.payload)["data"]["project_id"] for r in rows)

    since = ["--since", "2026-11-11T19:00:00+08:00"]  # 11:00 UTC
    counted = runner.invoke(cli, ["outbox", "republish", "onboarding", *since], env=env)
    assert counted.exit_code == 0, counted.output
    assert "would republish 2" in counted.output and pending() == []  # only counted
    typed = runner.invoke(
        cli, ["outbox", "republish", "onboarding", *since, "--type", "project.closed", "--yes"], env=env
    )
    assert typed.exit_code == 0, typed.output
    assert "republishing 1" in typed.output
    assert pending() == ["p-2"]  # 10:00 is before the restore point; p-3 is another type
    assert runner.invoke(cli, ["outbox", "republish", "onboarding", *since, "--yes"], env=env).exit_code == 0
    assert pending() == ["p-2", "p-3"]
    database.dispose()

    naive = runner.invoke(cli, ["outbox", "republish", "onboarding", "--since", "2026-11-11T11:00"], env=env)
    assert naive.exit_code == 2 and "UTC offset" in naive.output
    ghost = runner.invoke(cli, ["outbox", "republish", "--since", since[1], "--type", "no.such"], env=env)
    assert ghost.exit_code == 2 and "unknown event type" in ghost.output
