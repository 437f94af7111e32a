"""Settings from the environment, with embedded defaults so that `make run` needs no database server.

Every setting is an environment variable; the README lists them all. A service reads its own database URL
from ``<SERVICE>_DATABASE_URL`` first, then from ``DATABASE_URL`` (one server, a database per service),
and falls back to one SQLite file per service under ``var/``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

SERVICES: dict[str, int] = {
    "onboarding": 8001,
    "recruitment": 8002,
    "training": 8003,
    "scheduling": 8004,
    "complaints": 8005,
    "billing": 8006,
}

DEFAULT_AMQP_URL = "amqp://guest:guest@localhost:5672/%2F"
DEV_JWT_SECRET = "dev-only-secret-change-me-in-production"


def project_root() -> Path:
    return Path(os.environ.get("YUNKEFU_HOME", Path(__file__).resolve().parent.parent))


def var_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get("VAR_DIR", str(project_root() / "var")))


def database_url_for(service: str, environ: Mapping[str, str] | None = None) -> str:
    """The SQLAlchemy URL of one service's own database.

    ``DATABASE_URL`` may contain ``{service}``; without it, the service name is appended to the database
    name (``.../yunkefu`` → ``.../yunkefu_onboarding``) so that services never share tables.
    """
    env = os.environ if environ is None else environ
    own = env.get(f"{service.upper()}_DATABASE_URL")
    if own:
        return normalize_db_url(own)
    common = env.get("DATABASE_URL")
    if common:
        if "{service}" in common:
            return normalize_db_url(common.format(service=service))
        url = make_url(normalize_db_url(common))
        if url.get_backend_name() == "sqlite":
            db = url.database or ""
            stem, dot, ext = db.rpartition(".")
            name = f"{stem}_{service}.{ext}" if dot else f"{db}_{service}"
            return url.set(database=name).render_as_string(hide_password=False)
        return url.set(database=f"{url.database or 'yunkefu'}_{service}").render_as_string(
            hide_password=False
        )
    return f"sqlite:///{var_dir(env) / f'{service}.db'}"


def normalize_db_url(url: str) -> str:
    """Accept the common ``postgres://`` / ``postgresql://`` spellings and use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{key} must be an integer, got {raw!r}") from exc


def _float(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(key)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{key} must be a number, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    service: str
    database_url: str
    amqp_url: str = DEFAULT_AMQP_URL
    #: names every exchange and queue: ``<prefix>.events``, ``<prefix>.<service>`` …
    broker_prefix: str = "yunkefu"
    #: ``classic`` (default) or ``quorum``; many quorum queues declared at once wedged a 3.10 node here
    queue_type: str = "classic"
    jwt_secret: str = DEV_JWT_SECRET
    jwt_ttl_seconds: int = 8 * 3600
    #: retired secrets still accepted (not used for minting) while clients move to new tokens
    jwt_previous_secrets: tuple[str, ...] = ()
    max_delivery_attempts: int = 5
    retry_delay_ms: int = 2000
    consumer_prefetch: int = 50
    relay_batch_size: int = 1000
    relay_poll_interval: float = 0.05
    relay_max_backoff: float = 30.0
    worker_metrics_port: int = 0
    max_upload_bytes: int = 20 * 1024 * 1024
    media_root: str = ""
    workdays_file: str = ""
    log_level: str = "INFO"
    log_json: bool = True
    port: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def exchange(self) -> str:
        return f"{self.broker_prefix}.events"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, service: str, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            service=service,
            database_url=database_url_for(service, env),
            amqp_url=env.get("AMQP_URL", DEFAULT_AMQP_URL),
            broker_prefix=env.get("BROKER_PREFIX", "yunkefu"),
            queue_type=env.get("QUEUE_TYPE", "classic"),
            jwt_secret=env.get("JWT_SECRET", DEV_JWT_SECRET),
            jwt_ttl_seconds=_int(env, "JWT_TTL_SECONDS", 8 * 3600),
            jwt_previous_secrets=tuple(
                s.strip() for s in env.get("JWT_PREVIOUS_SECRETS", "").split(",") if s.strip()
            ),
            max_delivery_attempts=_int(env, "MAX_DELIVERY_ATTEMPTS", 5),
            retry_delay_ms=_int(env, "RETRY_DELAY_MS", 2000),
            consumer_prefetch=_int(env, "CONSUMER_PREFETCH", 50),
            relay_batch_size=_int(env, "RELAY_BATCH_SIZE", 1000),
            relay_poll_interval=_float(env, "RELAY_POLL_INTERVAL", 0.05),
            relay_max_backoff=_float(env, "RELAY_MAX_BACKOFF", 30.0),
            worker_metrics_port=_int(env, "WORKER_METRICS_PORT", 0),
            max_upload_bytes=_int(env, "MAX_UPLOAD_BYTES", 20 * 1024 * 1024),
            media_root=env.get("MEDIA_ROOT", str(var_dir(env) / "media" / service)),
            workdays_file=env.get("WORKDAYS_FILE", ""),
            log_level=env.get("LOG_LEVEL", "INFO"),
            log_json=env.get("LOG_JSON", "1") not in ("0", "false", "no"),
            port=_int(env, f"{service.upper()}_PORT", SERVICES.get(service, 8000)),
            extra={k: v for k, v in env.items() if k.startswith(f"{service.upper()}_")},
        )
