"""The stack's processes and their keys (issue 14): only the console is given the private key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from devtools.stack import Stack, StackConfig, generate_stack_keys
from shared.auth import Keyring, SigningKey, decode_token, load_keyring, load_signing_key, mint_token
from shared.config import SERVICES


def _config(tmp_path: Path, **overrides: object) -> StackConfig:
    return StackConfig(
        database_urls={**{s: f"sqlite:///{tmp_path / s}.db" for s in SERVICES}, "console": "sqlite://"},
        amqp_url="amqp://unused",
        broker_prefix="unused",
        keys_dir=generate_stack_keys(tmp_path / "keys"),
        var_dir=tmp_path,
        port_offset=300,
        **overrides,  # type: ignore[arg-type]
    )


def test_the_stack_key_pair_keeps_the_private_key_out_of_the_public_folder(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert stat.S_IMODE(config.private_key_file.stat().st_mode) == 0o600
    assert [p.name for p in config.public_keys.iterdir()] == ["stack.pub.pem"]
    key = SigningKey.load(config.private_key_file)
    assert Keyring.load(str(config.public_keys)).kids == [key.kid]


def test_services_get_the_public_keys_and_never_the_private_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # even when the environment the stack is started from has one (the tests' own session key)
    monkeypatch.setenv("JWT_PRIVATE_KEY_FILE", "/somewhere/else.key.pem")
    config = _config(tmp_path, with_console=True)
    key = SigningKey.load(config.private_key_file)
    for service in SERVICES:
        env = config.env(service)
        assert "JWT_PRIVATE_KEY_FILE" not in env, service
        assert env["JWT_PUBLIC_KEYS"] == str(config.public_keys)
        settings = config.settings(service)
        assert decode_token(mint_token(key, "qa", sub="q"), load_keyring(settings)).role == "qa"


def test_the_console_process_signs_with_the_private_key_and_knows_every_service(tmp_path: Path) -> None:
    config = _config(tmp_path, with_console=True)
    assert config.services == [*SERVICES, "console"]
    assert config.port("console") == 8300 and config.base_url("onboarding") == "http://127.0.0.1:8301"
    env = config.env("console")
    assert env["JWT_PRIVATE_KEY_FILE"] == str(config.private_key_file)
    assert env["CONSOLE_DATABASE_URL"] == "sqlite://"
    assert env["CONSOLE_COOKIE_SECURE"] == "0"
    assert env["GUNICORN_BIND"] == "127.0.0.1:8300"
    assert len(env["CONSOLE_SECRET_KEY"]) >= 32
    assert env["CONSOLE_SECRET_KEY"] != _config(tmp_path / "other", with_console=True).console_secret_key
    for service in SERVICES:
        assert env[f"CONSOLE_{service.upper()}_URL"] == config.base_url(service)
    console = config.settings("console")
    assert load_signing_key(console).kid == SigningKey.load(config.private_key_file).kid
    assert Stack(config, tmp_path / "logs")._command("console:web")[-1] == "services.console.app:create_app()"


def test_without_the_console_the_stack_is_the_six_services(tmp_path: Path) -> None:
    assert _config(tmp_path).services == list(SERVICES)
