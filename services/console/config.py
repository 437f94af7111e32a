"""The console's settings: where the six services answer, its session secret and sign-in limits.

All come from the environment (``CONSOLE_*``), read once at start; a bad value stops the start.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from limits import parse_many

from shared.config import SERVICES, ConfigError, Settings, is_development

#: Published in the README: accepted only in development (``YUNKEFU_ENV=development``).
DEV_SECRET_KEY = "dev-only-console-secret-change-me-in-production"
MIN_SECRET_KEY_BYTES = 32


def _int(extra: Mapping[str, str], key: str, default: int) -> int:
    raw = extra.get(key, "")
    if raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{key} must be an integer, got {raw!r}") from exc


def _flag(extra: Mapping[str, str], key: str, default: bool) -> bool:
    raw = extra.get(key, "").strip().lower()
    if raw == "":
        return default
    return raw not in ("0", "false", "no", "off")


@dataclass(frozen=True)
class ConsoleConfig:
    #: base URL of each service's API (without ``/api/v1``)
    service_urls: dict[str, str] = field(default_factory=dict)
    secret_key: str = DEV_SECRET_KEY
    #: the session cookie is sent over HTTPS only; off only where the console is reached over plain HTTP
    cookie_secure: bool = True
    session_hours: int = 12
    #: lifetime of the tokens the console mints for one request to a service
    service_token_seconds: int = 300
    #: timeout of one call to a service
    service_timeout_seconds: float = 10.0
    #: failed sign-ins in a row before the account is locked, and for how long
    lockout_threshold: int = 5
    lockout_minutes: int = 15
    #: per IP address (``limits`` notation)
    sign_in_rate_limit: str = "10/minute;100/hour"
    invitation_hours: int = 72
    default_locale: str = "zh"
    #: the address people use to reach the console (for invitation and calendar links)
    public_url: str = "http://127.0.0.1:8000"

    @classmethod
    def from_settings(cls, settings: Settings) -> ConsoleConfig:
        extra = settings.extra
        development = is_development()
        urls = {}
        for service, port in SERVICES.items():
            default = f"http://127.0.0.1:{port + (settings.port - 8000 if settings.port else 0)}"
            urls[service] = extra.get(f"CONSOLE_{service.upper()}_URL", default).rstrip("/")
        secret_key = extra.get("CONSOLE_SECRET_KEY", "") or DEV_SECRET_KEY
        if not development and (
            secret_key == DEV_SECRET_KEY or len(secret_key.encode()) < MIN_SECRET_KEY_BYTES
        ):
            raise ConfigError(
                "refusing to start the console: CONSOLE_SECRET_KEY must be a random value of at least "
                f"{MIN_SECRET_KEY_BYTES} bytes (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`), or YUNKEFU_ENV=development on a development machine."
            )
        config = cls(
            service_urls=urls,
            secret_key=secret_key,
            cookie_secure=_flag(extra, "CONSOLE_COOKIE_SECURE", not development),
            session_hours=_int(extra, "CONSOLE_SESSION_HOURS", 12),
            service_token_seconds=_int(extra, "CONSOLE_SERVICE_TOKEN_SECONDS", 300),
            service_timeout_seconds=float(_int(extra, "CONSOLE_SERVICE_TIMEOUT_SECONDS", 10)),
            lockout_threshold=_int(extra, "CONSOLE_LOCKOUT_THRESHOLD", 5),
            lockout_minutes=_int(extra, "CONSOLE_LOCKOUT_MINUTES", 15),
            sign_in_rate_limit=extra.get("CONSOLE_SIGN_IN_RATE_LIMIT", "") or "10/minute;100/hour",
            invitation_hours=_int(extra, "CONSOLE_INVITATION_HOURS", 72),
            default_locale=extra.get("CONSOLE_DEFAULT_LOCALE", "") or "zh",
            public_url=(
                extra.get("CONSOLE_PUBLIC_URL", "") or f"http://127.0.0.1:{settings.port or 8000}"
            ).rstrip("/"),
        )
        if config.default_locale not in ("zh", "en"):
            raise ConfigError(f"CONSOLE_DEFAULT_LOCALE must be zh or en, got {config.default_locale!r}")
        try:
            parse_many(config.sign_in_rate_limit)
        except ValueError as exc:
            raise ConfigError(
                f"CONSOLE_SIGN_IN_RATE_LIMIT {config.sign_in_rate_limit!r} is not a rate limit "
                "(e.g. '10/minute;100/hour')"
            ) from exc
        if not 30 <= config.service_token_seconds <= 3600:
            raise ConfigError("CONSOLE_SERVICE_TOKEN_SECONDS must be between 30 and 3600")
        return config


def random_secret() -> str:
    return secrets.token_urlsafe(48)
