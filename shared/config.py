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

from shared.env import ConfigError, env_float, env_int  # ConfigError is re-exported: callers catch it here
from shared.keys import DEV_PRIVATE_KEY_NAME, DEV_PUBLIC_KEY_NAME, load_keyring, load_signing_key

SERVICES: dict[str, int] = {
    "onboarding": 8001,
    "recruitment": 8002,
    "training": 8003,
    "scheduling": 8004,
    "complaints": 8005,
    "billing": 8006,
    "quality": 8007,
}

DEFAULT_AMQP_URL = "amqp://guest:guest@localhost:5672/%2F"
#: ``YUNKEFU_ENV`` value that relaxes the start-up checks (``make run``, ``make demo`` and the tests set it).
DEVELOPMENT = "development"


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


def is_development(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("YUNKEFU_ENV", "").strip().lower() == DEVELOPMENT


def port_offset(environ: Mapping[str, str] | None = None) -> int:
    """``PORT_OFFSET``: added to every service's port (8001…8007) by ``make run``, ``yunkefu web`` and
    ``yunkefu demo --use-running``, so a second copy can run beside the first."""
    env = os.environ if environ is None else environ
    return env_int(env, "PORT_OFFSET", 0)


def jwt_key_problems(settings: Settings) -> list[str]:
    """What is wrong with the keys a process would verify (and, the console, sign) tokens with."""
    problems = []
    try:
        if not load_keyring(settings).kids:
            problems.append(f"JWT_PUBLIC_KEYS ({settings.jwt_public_keys}) holds no public key")
    except ConfigError as exc:
        problems.append(str(exc))
    if settings.service == "console":  # the one process that signs tokens
        try:
            load_signing_key(settings)
        except ConfigError as exc:
            problems.append(str(exc))
    return problems


def validate_for_start(settings: Settings, environ: Mapping[str, str] | None = None) -> list[str]:
    """Refuse settings a web or worker process must not start with; returns the warnings to log.

    Outside development (``YUNKEFU_ENV=development``) a process without a public key to verify tokens
    with (the console: without its private key) could not authenticate anyone, so it raises
    :class:`ConfigError` instead of starting half-configured. In development the keys default to a pair
    generated under ``<VAR_DIR>/keys/``.
    """
    media = media_storage_problems(settings)
    if media:  # no development excuse: files would go nowhere, or into the wrong place
        raise ConfigError(f"refusing to start {settings.service}: {'; '.join(media)}.")
    problems = jwt_key_problems(settings)
    if not problems:
        return []
    if is_development(environ):
        return [f"{p} (accepted only because YUNKEFU_ENV={DEVELOPMENT})" for p in problems]
    raise ConfigError(
        f"refusing to start {settings.service}: {'; '.join(problems)}. Publish the console's public key(s) "
        "to JWT_PUBLIC_KEYS (`yunkefu keys generate --dir DIR` makes a pair; see docs/operations.md), or set "
        f"YUNKEFU_ENV={DEVELOPMENT} on a development machine to use a generated development key pair."
    )


def jwt_key_defaults(environ: Mapping[str, str]) -> tuple[str, str, str]:
    """``(private key file, public keys, development keys dir)`` from the environment.

    In development with neither variable set, both point into ``<VAR_DIR>/keys/``, where the pair is
    generated on first use (the third value says so); otherwise they are what the variables say.
    """
    private = environ.get("JWT_PRIVATE_KEY_FILE", "").strip()
    public = environ.get("JWT_PUBLIC_KEYS", "").strip()
    if private or public or not is_development(environ):
        return private, public, ""
    keys = var_dir(environ) / "keys"
    return str(keys / DEV_PRIVATE_KEY_NAME), str(keys / DEV_PUBLIC_KEY_NAME), str(keys)


def media_root_for(service: str, environ: Mapping[str, str] | None = None) -> str:
    """The directory of one service's uploads: ``<SERVICE>_MEDIA_ROOT``, else ``<MEDIA_ROOT>/<service>``.

    ``MEDIA_ROOT`` is a parent shared by all services, never one service's folder: each service deletes a
    blob when *its own* rows stop referencing it, so two services in one folder would delete each other's
    files (content addressing stores identical bytes once).
    """
    env = os.environ if environ is None else environ
    own = env.get(f"{service.upper()}_MEDIA_ROOT")
    if own:
        return own
    return str(Path(env.get("MEDIA_ROOT") or var_dir(env) / "media") / service)


#: ``MEDIA_STORAGE``: ``local`` keeps uploads in the service's folder (see :func:`media_root_for`), ``s3`` in
#: an S3-compatible bucket (shared/storage.py)
MEDIA_STORAGES = ("local", "s3")
S3_ADDRESSING_STYLES = ("path", "virtual", "auto")
#: the services that keep uploaded files: only they need a bucket when ``MEDIA_STORAGE=s3``, so that a console
#: or a billing process starts where only ``ONBOARDING_S3_BUCKET`` and ``TRAINING_S3_BUCKET`` are set
MEDIA_SERVICES = frozenset({"onboarding", "training"})


def s3_bucket_for(service: str, environ: Mapping[str, str] | None = None) -> str:
    """The bucket of one service's uploads: ``<SERVICE>_S3_BUCKET``, else ``S3_BUCKET``.

    Whatever the bucket, the service's objects live under ``<S3_PREFIX><service>/``: like a media folder, a
    prefix belongs to one service, which deletes a blob when *its own* rows stop referencing it.
    """
    env = os.environ if environ is None else environ
    return (env.get(f"{service.upper()}_S3_BUCKET") or env.get("S3_BUCKET") or "").strip()


def media_storage_problems(settings: Settings) -> list[str]:
    """What is wrong with the media storage settings (refused at start, in development too)."""
    if settings.media_storage not in MEDIA_STORAGES:
        return [f"MEDIA_STORAGE must be one of {', '.join(MEDIA_STORAGES)}, not {settings.media_storage!r}"]
    if settings.media_storage != "s3":
        return []
    problems = []
    if not settings.s3_bucket and settings.service in MEDIA_SERVICES:
        problems.append(
            f"MEDIA_STORAGE=s3 needs S3_BUCKET (or {settings.service.upper()}_S3_BUCKET), the bucket the "
            f"{settings.service} files are kept in"
        )
    if settings.s3_addressing_style not in S3_ADDRESSING_STYLES:
        problems.append(
            f"S3_ADDRESSING_STYLE must be one of {', '.join(S3_ADDRESSING_STYLES)}, "
            f"not {settings.s3_addressing_style!r}"
        )
    if settings.s3_endpoint_url and not settings.s3_endpoint_url.startswith(("http://", "https://")):
        problems.append(
            f"S3_ENDPOINT_URL must be an http:// or https:// URL, not {settings.s3_endpoint_url!r}"
        )
    return problems


def normalize_db_url(url: str) -> str:
    """Accept the common ``postgres://`` / ``postgresql://`` spellings and use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


QUEUE_TYPES = ("quorum", "classic")
BROKER_TOPOLOGIES = ("check", "declare")


@dataclass(frozen=True)
class Settings:
    service: str
    database_url: str
    amqp_url: str = DEFAULT_AMQP_URL
    #: names every exchange and queue: ``<prefix>.events``, ``<prefix>.<service>`` …
    broker_prefix: str = "yunkefu"
    #: ``quorum`` (default: replicated, with a delivery limit) or ``classic``; ``yunkefu broker setup``
    #: declares the queues once (many processes declaring quorum queues at once wedged a 3.10 node)
    queue_type: str = "quorum"
    #: ``check`` (default): processes only check that the topology ``yunkefu broker setup`` declared is
    #: there; ``declare``: each process declares what it uses itself (tests of ad-hoc services)
    broker_topology: str = "check"
    #: PEM (PKCS#8) Ed25519 private key tokens are minted with: the console and ``yunkefu token`` only
    jwt_private_key_file: str = ""
    #: ``,``-separated directories of ``*.pem`` public keys, PEM files or JWKS files: tokens verify by kid
    jwt_public_keys: str = ""
    #: set in development when both of the above default into this folder (the pair is generated there)
    jwt_dev_keys_dir: str = ""
    jwt_ttl_seconds: int = 8 * 3600
    max_delivery_attempts: int = 5
    #: the first retry's wait; later waits grow so that all of them last ``retry_total_seconds``
    retry_delay_ms: int = 2000
    retry_total_seconds: float = 600.0
    #: unacknowledged deliveries the broker lets one consumer hold: at least two batches, so the next one
    #: is already here while the last one commits
    consumer_prefetch: int = 200
    #: deliveries handled in one transaction, and how long the first of them waits for company (seconds)
    consumer_batch_size: int = 100
    consumer_batch_wait: float = 0.02
    relay_batch_size: int = 1000
    relay_poll_interval: float = 0.05
    relay_max_backoff: float = 30.0
    worker_metrics_port: int = 0
    #: retention of published outbox rows, inbox rows and idempotency keys (0 keeps them forever)
    outbox_retention_hours: int = 7 * 24
    inbox_retention_hours: int = 14 * 24
    idempotency_retention_hours: int = 24
    purge_interval_seconds: float = 3600.0
    purge_batch_size: int = 5000
    max_upload_bytes: int = 20 * 1024 * 1024
    #: JSON bodies get a far smaller limit than file uploads: nothing legitimate sends megabytes of JSON
    max_json_bytes: int = 1024 * 1024
    rate_limit_enabled: bool = True
    #: ``memory://`` counts per worker process; ``redis://host:6379/0`` shares the counts between workers
    rate_limit_storage_uri: str = "memory://"
    #: per client (the token's subject, else the IP address); ``limits`` notation, ``;`` separates several
    rate_limit_default: str = "3000/minute"
    #: per IP address: answers 401/403 allowed before that address is refused outright (token guessing)
    rate_limit_auth_failures: str = "30/minute;300/hour"
    #: proxies in front of the service whose X-Forwarded-For is trusted (0: use the socket's address)
    trusted_proxy_hops: int = 0
    media_root: str = ""
    #: ``local`` (default: the folder ``media_root``) or ``s3``; checked by :func:`validate_for_start`
    media_storage: str = "local"
    #: this service's bucket (``<SERVICE>_S3_BUCKET`` else ``S3_BUCKET``); objects under
    #: ``<s3_prefix><service>/ab/cd/<sha256>``
    s3_bucket: str = ""
    s3_prefix: str = ""
    #: MinIO or another S3-compatible server; empty: AWS
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    s3_addressing_style: str = "path"
    workdays_file: str = ""
    log_level: str = "INFO"
    log_json: bool = True
    port: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # refused when read, so that neither `broker setup` nor a process starts on a typo
        if self.queue_type not in QUEUE_TYPES:
            raise ValueError(f"QUEUE_TYPE must be one of {', '.join(QUEUE_TYPES)}, not {self.queue_type!r}")
        if self.broker_topology not in BROKER_TOPOLOGIES:
            raise ValueError(
                f"BROKER_TOPOLOGY must be one of {', '.join(BROKER_TOPOLOGIES)}, not {self.broker_topology!r}"
            )

    @property
    def exchange(self) -> str:
        return f"{self.broker_prefix}.events"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, service: str, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        private_key, public_keys, dev_keys = jwt_key_defaults(env)
        return cls(
            service=service,
            database_url=database_url_for(service, env),
            amqp_url=env.get("AMQP_URL", DEFAULT_AMQP_URL),
            broker_prefix=env.get("BROKER_PREFIX", "yunkefu"),
            queue_type=env.get("QUEUE_TYPE", "quorum"),
            broker_topology=env.get("BROKER_TOPOLOGY", "check"),
            jwt_private_key_file=private_key,
            jwt_public_keys=public_keys,
            jwt_dev_keys_dir=dev_keys,
            jwt_ttl_seconds=env_int(env, "JWT_TTL_SECONDS", 8 * 3600),
            max_delivery_attempts=env_int(env, "MAX_DELIVERY_ATTEMPTS", 5),
            retry_delay_ms=env_int(env, "RETRY_DELAY_MS", 2000),
            retry_total_seconds=env_float(env, "RETRY_TOTAL_SECONDS", 600.0),
            consumer_prefetch=env_int(env, "CONSUMER_PREFETCH", 200, minimum=1, maximum=65535),
            consumer_batch_size=env_int(env, "CONSUMER_BATCH_SIZE", 100, minimum=1, maximum=10000),
            consumer_batch_wait=env_int(env, "CONSUMER_BATCH_WAIT_MS", 20, minimum=0, maximum=60000) / 1000,
            relay_batch_size=env_int(env, "RELAY_BATCH_SIZE", 1000),
            relay_poll_interval=env_float(env, "RELAY_POLL_INTERVAL", 0.05),
            relay_max_backoff=env_float(env, "RELAY_MAX_BACKOFF", 30.0),
            worker_metrics_port=env_int(env, "WORKER_METRICS_PORT", 0),
            outbox_retention_hours=env_int(env, "OUTBOX_RETENTION_HOURS", 7 * 24),
            inbox_retention_hours=env_int(env, "INBOX_RETENTION_HOURS", 14 * 24),
            idempotency_retention_hours=env_int(env, "IDEMPOTENCY_RETENTION_HOURS", 24),
            purge_interval_seconds=env_float(env, "PURGE_INTERVAL_SECONDS", 3600.0),
            purge_batch_size=env_int(env, "PURGE_BATCH_SIZE", 5000),
            max_upload_bytes=env_int(env, "MAX_UPLOAD_BYTES", 20 * 1024 * 1024),
            max_json_bytes=env_int(env, "MAX_JSON_BYTES", 1024 * 1024),
            rate_limit_enabled=env.get("RATE_LIMIT_ENABLED", "1").strip().lower() not in ("0", "false", "no"),
            rate_limit_storage_uri=env.get("RATE_LIMIT_STORAGE_URI") or "memory://",
            rate_limit_default=env.get("RATE_LIMIT_DEFAULT") or "3000/minute",
            rate_limit_auth_failures=env.get("RATE_LIMIT_AUTH_FAILURES") or "30/minute;300/hour",
            trusted_proxy_hops=env_int(env, "TRUSTED_PROXY_HOPS", 0),
            media_root=media_root_for(service, env),
            media_storage=(env.get("MEDIA_STORAGE") or "local").strip().lower(),
            s3_bucket=s3_bucket_for(service, env),
            s3_prefix=env.get("S3_PREFIX", "").strip(),
            s3_endpoint_url=env.get("S3_ENDPOINT_URL", "").strip(),
            s3_region=(env.get("S3_REGION") or "us-east-1").strip(),
            s3_addressing_style=(env.get("S3_ADDRESSING_STYLE") or "path").strip().lower(),
            workdays_file=env.get("WORKDAYS_FILE", ""),
            log_level=env.get("LOG_LEVEL", "INFO"),
            log_json=env.get("LOG_JSON", "1") not in ("0", "false", "no"),
            port=env_int(env, f"{service.upper()}_PORT", SERVICES.get(service, 8000) + port_offset(env)),
            extra={k: v for k, v in env.items() if k.startswith(f"{service.upper()}_")},
        )
