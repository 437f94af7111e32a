"""Start-up validation of settings (issue 13 items 1, 6, 13, 20; issue 14): token keys, media roots, ports."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.auth import generate_key_pair
from shared.config import ConfigError, Settings, media_root_for, validate_for_start
from shared.web import create_app


def _settings(**overrides: object) -> Settings:
    return Settings(service="onboarding", database_url="sqlite://", **overrides)  # type: ignore[arg-type]


@pytest.fixture()
def key_pair(tmp_path: Path) -> tuple[Path, Path]:
    private, public = generate_key_pair(tmp_path / "keys", "k")
    (tmp_path / "public").mkdir()
    return private, public.rename(tmp_path / "public" / public.name)


def test_outside_development_a_service_without_a_public_key_stops_the_process() -> None:
    with pytest.raises(ConfigError) as refused:
        validate_for_start(_settings(), environ={})
    message = str(refused.value)
    assert "JWT_PUBLIC_KEYS is not set" in message
    assert "refusing to start onboarding" in message and "YUNKEFU_ENV=development" in message


def test_missing_keys_in_the_environment_are_refused_outside_development(tmp_path: Path) -> None:
    settings = Settings.from_env("onboarding", {"VAR_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match="JWT_PUBLIC_KEYS is not set"):
        validate_for_start(settings, environ={})
    assert not (tmp_path / "keys").exists()  # no development pair is generated outside development


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        ("{tmp}/nowhere", "does not exist"),
        ("{tmp}/empty", "holds no public key"),
        ("{tmp}/keys", "holds a PRIVATE key"),  # the private key must never reach a service
    ],
)
def test_unusable_public_keys_stop_the_process(
    tmp_path: Path, key_pair: tuple[Path, Path], keys: str, problem: str
) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=problem):
        validate_for_start(_settings(jwt_public_keys=keys.format(tmp=tmp_path)), environ={})


def test_the_console_also_needs_its_private_key(key_pair: tuple[Path, Path]) -> None:
    private, public = key_pair
    console = Settings(service="console", database_url="sqlite://", jwt_public_keys=str(public.parent))
    with pytest.raises(ConfigError, match="refusing to start console: JWT_PRIVATE_KEY_FILE is not set"):
        validate_for_start(console, environ={})
    ready = Settings(**{**console.__dict__, "jwt_private_key_file": str(private)})
    assert validate_for_start(ready, environ={}) == []


def test_development_mode_generates_the_default_pair_and_starts_without_warnings(tmp_path: Path) -> None:
    env = {"YUNKEFU_ENV": "development", "VAR_DIR": str(tmp_path)}
    assert validate_for_start(Settings.from_env("console", env), environ=env) == []
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["dev.key.pem", "dev.pub.pem"]


def test_development_mode_accepts_broken_keys_with_a_warning(tmp_path: Path) -> None:
    warnings = validate_for_start(
        _settings(jwt_public_keys=str(tmp_path / "nowhere")), environ={"YUNKEFU_ENV": "development"}
    )
    assert len(warnings) == 1
    assert "does not exist (accepted only because YUNKEFU_ENV=development)" in warnings[0]


def test_public_keys_start_anywhere_without_warnings(key_pair: tuple[Path, Path]) -> None:
    assert validate_for_start(_settings(jwt_public_keys=str(key_pair[1].parent)), environ={}) == []


def test_the_app_factory_refuses_an_app_that_could_verify_no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YUNKEFU_ENV", raising=False)
    with pytest.raises(ConfigError, match="JWT_PUBLIC_KEYS"):
        create_app("onboarding", settings=_settings())


def test_the_app_factory_builds_in_development_and_with_public_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key_pair: tuple[Path, Path]
) -> None:
    monkeypatch.setenv("YUNKEFU_ENV", "development")
    # the generated pair works on a development machine (make run)
    dev = Settings.from_env("onboarding", {"YUNKEFU_ENV": "development", "VAR_DIR": str(tmp_path / "var")})
    assert create_app("onboarding", settings=dev).test_client().get("/healthz").status_code == 200
    monkeypatch.delenv("YUNKEFU_ENV")
    assert create_app("onboarding", settings=_settings(jwt_public_keys=str(key_pair[1]))) is not None


def test_each_service_gets_its_own_media_root_under_one_media_root() -> None:
    env = {"MEDIA_ROOT": "/data/media"}
    roots = {service: Settings.from_env(service, env).media_root for service in ("onboarding", "training")}
    assert roots == {"onboarding": "/data/media/onboarding", "training": "/data/media/training"}


def test_a_service_media_root_of_its_own_wins_and_the_default_is_per_service() -> None:
    env = {"MEDIA_ROOT": "/data/media", "TRAINING_MEDIA_ROOT": "/srv/courseware", "VAR_DIR": "/v"}
    assert media_root_for("training", env) == "/srv/courseware"
    assert media_root_for("onboarding", {"VAR_DIR": "/v"}) == "/v/media/onboarding"


def test_port_offset_moves_every_service_port_and_a_service_port_still_wins() -> None:
    assert Settings.from_env("onboarding", {"PORT_OFFSET": "100"}).port == 8101
    assert Settings.from_env("billing", {"PORT_OFFSET": "100", "BILLING_PORT": "9000"}).port == 9000
    with pytest.raises(ValueError, match="PORT_OFFSET must be an integer"):
        Settings.from_env("billing", {"PORT_OFFSET": "lots"})
