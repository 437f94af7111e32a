"""Test infrastructure: real PostgreSQL and RabbitMQ, isolated per test session.

Every session gets a unique id; databases are named ``yk_<id>_<name>`` (created on demand, dropped at the
end) and every exchange/queue is prefixed ``yk-<id>``. When PostgreSQL or RabbitMQ cannot be reached the
tests that need them **fail** with a message saying how to start them; nothing is skipped.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator

import pika
import psycopg
import pytest
from sqlalchemy.engine import make_url

from shared.config import normalize_db_url
from tests.support import ServiceHarness, make_harness

RUN_ID = uuid.uuid4().hex[:8]
ADMIN_DB_URL = normalize_db_url(
    os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
)
AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
BROKER_PREFIX = f"yk-{RUN_ID}"

HOW_TO_START = (
    "Start them with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start; "
    "rabbitmq-server -detached — or set TEST_DATABASE_URL / AMQP_URL, or run `make up` where Docker exists."
)


def _pg_conninfo(url: str) -> str:
    u = make_url(url)
    parts = [f"host={u.host or '127.0.0.1'}", f"port={u.port or 5432}", f"user={u.username or 'postgres'}"]
    if u.password:
        parts.append(f"password={u.password}")
    parts.append(f"dbname={u.database or 'postgres'}")
    return " ".join(parts)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Callable[[str], None]]:
    """Checks PostgreSQL answers; yields an executor of admin statements (autocommit)."""
    try:
        conn = psycopg.connect(_pg_conninfo(ADMIN_DB_URL), autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL is not reachable at {ADMIN_DB_URL}: {exc}. {HOW_TO_START}", pytrace=False)

    def execute(sql: str) -> None:
        conn.execute(sql)  # type: ignore[arg-type]

    yield execute
    conn.close()


@pytest.fixture(scope="session")
def make_database(postgres_admin: Callable[[str], None]) -> Iterator[Callable[[str], str]]:
    """Factory: a fresh PostgreSQL database for this session, returned as a SQLAlchemy URL."""
    created: list[str] = []

    def factory(name: str) -> str:
        db = f"yk_{RUN_ID}_{name}".lower().replace("-", "_")
        if db not in created:
            postgres_admin(f'DROP DATABASE IF EXISTS "{db}"')
            postgres_admin(f'CREATE DATABASE "{db}"')
            created.append(db)
        return make_url(ADMIN_DB_URL).set(database=db).render_as_string(hide_password=False)

    yield factory
    for db in created:
        with contextlib.suppress(psycopg.Error):
            postgres_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    """Checks RabbitMQ answers; at the end deletes every queue and exchange of this session."""
    try:
        conn = pika.BlockingConnection(
            pika.URLParameters(AMQP_URL + ("&" if "?" in AMQP_URL else "?") + "connection_attempts=2")
        )
    except Exception as exc:  # pika raises several unrelated types
        pytest.fail(f"RabbitMQ is not reachable at {AMQP_URL}: {exc!r}. {HOW_TO_START}", pytrace=False)
    conn.close()
    yield AMQP_URL
    delete_broker_objects(BROKER_PREFIX)


def delete_broker_objects(prefix: str) -> None:
    try:
        out = subprocess.run(
            ["rabbitmqctl", "-q", "list_queues", "name"], capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return
    names = [line.strip() for line in out.splitlines() if line.strip().startswith(prefix)]
    try:
        conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    except Exception:
        return
    ch = conn.channel()
    for name in names:
        ch.queue_delete(name)
    for suffix in ("events",):
        ch.exchange_delete(f"{prefix}.{suffix}")
    conn.close()


@pytest.fixture(scope="session")
def broker_prefix(amqp_url: str) -> str:
    return BROKER_PREFIX


@pytest.fixture()
def unique_prefix(amqp_url: str) -> str:
    """A prefix of its own for a test that must not see any other test's queues."""
    return f"{BROKER_PREFIX}-{uuid.uuid4().hex[:6]}"


_harness_counter = __import__("itertools").count()


@pytest.fixture()
def service_env(
    make_database: Callable[[str], str], amqp_url: str, unique_prefix: str
) -> Iterator[Callable[..., ServiceHarness]]:
    """Factory: ``h = service_env("onboarding")`` → a migrated, isolated ServiceHarness (tests/support.py).

    Harnesses made in one test share a broker prefix, so their workers talk to each other.
    """
    made: list[ServiceHarness] = []

    def factory(service: str, **kwargs: object) -> ServiceHarness:
        url = make_database(f"{service}_{next(_harness_counter)}")
        harness = make_harness(service, url, amqp_url, unique_prefix, **kwargs)  # type: ignore[arg-type]
        made.append(harness)
        return harness

    yield factory
    for harness in made:
        harness.close()
