"""Start-up validation of settings (issue 13 items 1, 6, 13, 20): JWT secret, media roots, ports."""

from __future__ import annotations

import pytest

from shared.config import DEV_JWT_SECRET, ConfigError, Settings, media_root_for, validate_for_start
from shared.http import create_app

STRONG = "k" * 48


def _settings(**overrides: object) -> Settings:
    return Settings(service="onboarding", database_url="sqlite://", **overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        (DEV_JWT_SECRET, "JWT_SECRET is the public development default"),
        ("", "JWT_SECRET is not set"),
        ("x" * 31, "JWT_SECRET is shorter than 32 bytes"),
    ],
)
def test_outside_development_a_weak_secret_stops_the_process(secret: str, problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        validate_for_start(_settings(jwt_secret=secret), environ={})
    message = str(refused.value)
    assert problem in message
    assert "refusing to start onboarding" in message and "YUNKEFU_ENV=development" in message
    assert secret not in message or not secret  # never echo the secret itself


def test_missing_jwt_secret_in_the_environment_means_the_default_and_is_refused() -> None:
    settings = Settings.from_env("onboarding", {"VAR_DIR": "/nonexistent"})
    with pytest.raises(ConfigError, match="public development default"):
        validate_for_start(settings, environ={})


def test_a_retired_secret_that_is_the_default_is_refused_too() -> None:
    # a token signed with any accepted secret is valid: the default among them opens the door as well
    settings = _settings(jwt_secret=STRONG, jwt_previous_secrets=(DEV_JWT_SECRET,))
    with pytest.raises(ConfigError, match=r"JWT_PREVIOUS_SECRETS\[0\] is the public development default"):
        validate_for_start(settings, environ={"YUNKEFU_ENV": "production"})


def test_development_mode_accepts_the_default_with_a_warning() -> None:
    warnings = validate_for_start(_settings(), environ={"YUNKEFU_ENV": "development"})
    assert warnings == [
        "JWT_SECRET is the public development default (accepted only because YUNKEFU_ENV=development)"
    ]


def test_a_strong_secret_starts_anywhere_without_warnings() -> None:
    assert validate_for_start(_settings(jwt_secret=STRONG), environ={}) == []


def test_the_app_factory_refuses_an_app_that_would_accept_a_token_signed_with_the_readme_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("YUNKEFU_ENV", raising=False)
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        create_app("onboarding", settings=_settings())


def test_the_app_factory_builds_in_development_and_with_a_real_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("YUNKEFU_ENV", "development")
    # the default still works on a development machine (make run, the tests)
    assert create_app("onboarding", settings=_settings()).test_client().get("/healthz").status_code == 200
    monkeypatch.delenv("YUNKEFU_ENV")
    assert create_app("onboarding", settings=_settings(jwt_secret=STRONG)) is not None


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
