"""The console's settings: where the six services answer, its session secret and sign-in limits.

All come from the environment (``CONSOLE_*``), read once at start; a bad value stops the start.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from limits import parse_many

from shared.config import SERVICES, ConfigError, Settings, is_development
from shared.env import env_flag, env_float, env_int, env_str

#: Published in the README: accepted only in development (``YUNKEFU_ENV=development``).
DEV_SECRET_KEY = "dev-only-console-secret-change-me-in-production"
MIN_SECRET_KEY_BYTES = 32


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
            urls[service] = env_str(extra, f"CONSOLE_{service.upper()}_URL", default).rstrip("/")
        secret_key = env_str(extra, "CONSOLE_SECRET_KEY", DEV_SECRET_KEY)
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
            cookie_secure=env_flag(extra, "CONSOLE_COOKIE_SECURE", not development),
            session_hours=env_int(extra, "CONSOLE_SESSION_HOURS", 12),
            service_token_seconds=env_int(extra, "CONSOLE_SERVICE_TOKEN_SECONDS", 300),
            service_timeout_seconds=env_float(extra, "CONSOLE_SERVICE_TIMEOUT_SECONDS", 10.0),
            lockout_threshold=env_int(extra, "CONSOLE_LOCKOUT_THRESHOLD", 5),
            lockout_minutes=env_int(extra, "CONSOLE_LOCKOUT_MINUTES", 15),
            sign_in_rate_limit=env_str(extra, "CONSOLE_SIGN_IN_RATE_LIMIT", "10/minute;100/hour"),
            invitation_hours=env_int(extra, "CONSOLE_INVITATION_HOURS", 72),
            default_locale=env_str(extra, "CONSOLE_DEFAULT_LOCALE", "zh"),
            public_url=env_str(
                extra, "CONSOLE_PUBLIC_URL", f"http://127.0.0.1:{settings.port or 8000}"
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
