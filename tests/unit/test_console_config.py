"""The console's settings: refused at start when unsafe or malformed, sensible defaults otherwise."""

from __future__ import annotations

import pytest

from services.console.config import DEV_SECRET_KEY, ConsoleConfig
from shared.config import ConfigError, Settings


def _config(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *, development: bool = False
) -> ConsoleConfig:
    if development:
        monkeypatch.setenv("YUNKEFU_ENV", "development")
    else:
        monkeypatch.delenv("YUNKEFU_ENV", raising=False)
    return ConsoleConfig.from_settings(Settings.from_env("console", env))


def test_production_refuses_the_public_development_session_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="CONSOLE_SECRET_KEY"):
        _config(monkeypatch, {})
    with pytest.raises(ConfigError, match="CONSOLE_SECRET_KEY"):
        _config(monkeypatch, {"CONSOLE_SECRET_KEY": "short"})


def test_production_defaults_to_secure_cookies_development_to_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    strong = {"CONSOLE_SECRET_KEY": "k" * 48}
    assert _config(monkeypatch, strong).cookie_secure is True
    development = _config(monkeypatch, {}, development=True)
    assert development.cookie_secure is False
    assert development.secret_key == DEV_SECRET_KEY


def test_service_addresses_follow_the_port_offset_unless_given(monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(
        monkeypatch,
        {"PORT_OFFSET": "100", "CONSOLE_BILLING_URL": "http://billing:8006/"},
        development=True,
    )
    assert config.service_urls["onboarding"] == "http://127.0.0.1:8101"
    assert config.service_urls["billing"] == "http://billing:8006"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("CONSOLE_SIGN_IN_RATE_LIMIT", "often"),
        ("CONSOLE_SERVICE_TOKEN_SECONDS", "5"),
        ("CONSOLE_DEFAULT_LOCALE", "fr"),
        ("CONSOLE_LOCKOUT_THRESHOLD", "five"),
    ],
)
def test_malformed_settings_stop_the_start(monkeypatch: pytest.MonkeyPatch, key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=key):
        _config(monkeypatch, {key: value}, development=True)


def test_money_reads_as_people_write_it() -> None:
    from services.console.i18n import format_money

    assert format_money("4000.00") == "¥4,000.00"
    assert format_money("-200.00") == "-¥200.00"
    assert format_money(None) == ""
    assert format_money("not money") == "not money"
