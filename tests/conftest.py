"""Test infrastructure: real PostgreSQL and RabbitMQ, isolated per test session.

Every session gets a unique id; databases are named ``yk_<id>_<name>`` (created on demand, dropped at the
end) and every exchange/queue is prefixed ``yk-<id>``. The servers are the local ones when they answer;
a server that does not answer is brought up from ``docker-compose.yml`` through pytest-docker (and taken
down at the end) when a Docker engine answers; otherwise the tests that need it **fail** with a message
saying how to start it; nothing is skipped.

The session runs in development mode (``YUNKEFU_ENV=development``) with a key pair of its own, generated
under a temporary folder and exported as ``JWT_PRIVATE_KEY_FILE`` / ``JWT_PUBLIC_KEYS`` so that every
``Settings.from_env`` (and every CLI subprocess) signs and verifies tokens with it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pika
import psycopg
import pytest
from sqlalchemy.engine import make_url

from shared.config import DEVELOPMENT, normalize_db_url

# before anything builds an app or a worker; the stacks (tests/e2e) copy it into their processes
os.environ["YUNKEFU_ENV"] = DEVELOPMENT
# The product declares quorum queues (QUEUE_TYPE's default); the suite declares classic ones unless told
# otherwise. It creates and deletes well over a thousand queues per session, and the single RabbitMQ
# 3.10.8 node of the test machines stopped answering a queue.declare after some 1,300 quorum queues
# (the log stopped mid-`broker setup`). tests/integration/test_broker_setup.py declares quorum queues
# explicitly, so the default and its delivery limit are still tested against the real broker.
os.environ.setdefault("QUEUE_TYPE", "classic")

from shared.auth import generate_key_pair


def _session_key_pair() -> tuple[Path, Path]:
    """The session's key pair: ``<tmp>/test.key.pem`` and ``<tmp>/public/test.pub.pem`` (a public-key
    folder holds no private key), exported through the environment before any settings are read."""
    folder = Path(tempfile.mkdtemp(prefix="yunkefu-test-keys-"))
    private, public = generate_key_pair(folder, "test")
    (folder / "public").mkdir()
    public = public.rename(folder / "public" / public.name)
    os.environ["JWT_PRIVATE_KEY_FILE"] = str(private)
    os.environ["JWT_PUBLIC_KEYS"] = str(public.parent)
    return private, public


TEST_PRIVATE_KEY, TEST_PUBLIC_KEY = _session_key_pair()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(TEST_PRIVATE_KEY.parent, ignore_errors=True)


from tests.support import ServiceHarness, make_harness  # noqa: E402 - after the keys are exported

RUN_ID = uuid.uuid4().hex[:8]
ADMIN_DB_URL = normalize_db_url(
    os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
)
AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
BROKER_PREFIX = f"yk-{RUN_ID}"

HOW_TO_START = (
    "Start them with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start; "
    "rabbitmq-server -detached — or set TEST_DATABASE_URL / AMQP_URL, or start a Docker engine (the tests "
    "then bring them up from docker-compose.yml)."
)
ROOT = Path(__file__).resolve().parent.parent
#: the docker-compose.yml services standing in for a local server that does not answer
COMPOSE_SERVICE = {"postgresql": "postgres", "rabbitmq": "rabbitmq"}


class ServersUnavailable(Exception):
    pass


def choose_test_servers(answers: dict[str, bool], docker_available: Callable[[], bool]) -> list[str]:
    """The docker-compose services to start: none when every local server answers (nothing else is
    probed), those standing in for the silent ones when a Docker engine answers; otherwise
    :class:`ServersUnavailable` saying how to start them."""
    silent = [name for name, ok in answers.items() if not ok]
    if not silent:
        return []
    if docker_available():
        return [COMPOSE_SERVICE[name] for name in silent]
    raise ServersUnavailable(
        f"{' and '.join(silent)} not reachable and no Docker engine answers. {HOW_TO_START}"
    )


def port_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


def docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _local_answers() -> dict[str, bool]:
    pg = make_url(ADMIN_DB_URL)
    amqp = pika.URLParameters(AMQP_URL)
    return {
        "postgresql": port_answers(pg.host or "127.0.0.1", pg.port or 5432),
        "rabbitmq": port_answers(amqp.host, amqp.port),
    }


@dataclass(frozen=True)
class ServerUrls:
    admin_db_url: str
    amqp_url: str


@pytest.fixture(scope="session")
def docker_compose_file() -> str:  # pytest-docker: the product's own compose file
    return str(ROOT / "docker-compose.yml")


@pytest.fixture(scope="session")
def compose_services() -> list[str]:
    """The docker-compose services this session needs (usually none)."""
    try:
        return choose_test_servers(_local_answers(), docker_engine_answers)
    except ServersUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def docker_setup(compose_services: list[str]) -> list[str]:
    # only the missing servers (not the product), once their compose healthchecks pass
    return [f"up --wait {' '.join(compose_services)}"]


@pytest.fixture(scope="session")
def docker_cleanup() -> list[str]:
    return ["down -v"]


@pytest.fixture(scope="session")
def test_servers(request: pytest.FixtureRequest, compose_services: list[str]) -> ServerUrls:
    """Where this session's PostgreSQL and RabbitMQ are: local, or started (and stopped) by pytest-docker."""
    if not compose_services:
        return ServerUrls(ADMIN_DB_URL, AMQP_URL)
    services = request.getfixturevalue("docker_services")
    host = request.getfixturevalue("docker_ip")
    admin_db_url, amqp_url = ADMIN_DB_URL, AMQP_URL
    if "postgres" in compose_services:
        port = services.port_for("postgres", 5432)
        admin_db_url = f"postgresql+psycopg://postgres:postgres@{host}:{port}/postgres"
        # the image's first start runs its init scripts on a server that listens on no TCP port yet
        # (and docker's port proxy accepts connections for a container that does not listen)
        services.wait_until_responsive(lambda: _postgres_answers(admin_db_url), timeout=60, pause=0.5)
    if "rabbitmq" in compose_services:
        amqp_url = f"amqp://guest:guest@{host}:{services.port_for('rabbitmq', 5672)}/%2F"
    return ServerUrls(admin_db_url, amqp_url)


def _postgres_answers(url: str) -> bool:
    try:
        psycopg.connect(_pg_conninfo(url), connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


def _pg_conninfo(url: str) -> str:
    u = make_url(url)
    parts = [f"host={u.host or '127.0.0.1'}", f"port={u.port or 5432}", f"user={u.username or 'postgres'}"]
    if u.password:
        parts.append(f"password={u.password}")
    parts.append(f"dbname={u.database or 'postgres'}")
    return " ".join(parts)


@pytest.fixture(scope="session")
def postgres_admin(test_servers: ServerUrls) -> Iterator[Callable[[str], None]]:
    """Checks PostgreSQL answers; yields an executor of admin statements (autocommit)."""
    admin_db_url = test_servers.admin_db_url
    try:
        conn = psycopg.connect(_pg_conninfo(admin_db_url), autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL is not reachable at {admin_db_url}: {exc}. {HOW_TO_START}", pytrace=False)

    def execute(sql: str) -> None:
        conn.execute(sql)  # type: ignore[arg-type]

    yield execute
    conn.close()


@pytest.fixture(scope="session")
def make_database(
    postgres_admin: Callable[[str], None], test_servers: ServerUrls
) -> Iterator[Callable[[str], str]]:
    """Factory: a fresh PostgreSQL database for this session, returned as a SQLAlchemy URL."""
    created: list[str] = []

    def factory(name: str) -> str:
        db = f"yk_{RUN_ID}_{name}".lower().replace("-", "_")
        if db not in created:
            postgres_admin(f'DROP DATABASE IF EXISTS "{db}"')
            postgres_admin(f'CREATE DATABASE "{db}"')
            created.append(db)
        return make_url(test_servers.admin_db_url).set(database=db).render_as_string(hide_password=False)

    yield factory
    for db in created:
        with contextlib.suppress(psycopg.Error):
            postgres_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


@pytest.fixture(scope="session")
def amqp_url(test_servers: ServerUrls) -> Iterator[str]:
    """Checks RabbitMQ answers; at the end deletes every queue and exchange of this session."""
    url = test_servers.amqp_url
    try:
        conn = pika.BlockingConnection(
            pika.URLParameters(url + ("&" if "?" in url else "?") + "connection_attempts=2")
        )
    except Exception as exc:  # pika raises several unrelated types
        pytest.fail(f"RabbitMQ is not reachable at {url}: {exc!r}. {HOW_TO_START}", pytrace=False)
    conn.close()
    yield url
    if url == AMQP_URL:  # a broker from docker-compose goes away with its volume
        delete_broker_objects(BROKER_PREFIX)


def _broker_names(kind: str, prefix: str) -> list[str]:
    try:
        out = subprocess.run(
            ["rabbitmqctl", "-q", f"list_{kind}", "name"], capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in out.splitlines() if line.strip().startswith(prefix)]


def delete_broker_objects(prefix: str) -> None:
    """Every queue and exchange named by this session's prefix, the tests' own sub-prefixes included
    (``unique_prefix``, the harnesses, the e2e stacks each declare ``<prefix>-<x>.events``)."""
    queues = _broker_names("queues", prefix)
    exchanges = _broker_names("exchanges", prefix) or [f"{prefix}.events"]
    try:
        conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    except Exception:
        return
    ch = conn.channel()
    for name in queues:
        ch.queue_delete(name)
    for name in exchanges:
        ch.exchange_delete(name)
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
