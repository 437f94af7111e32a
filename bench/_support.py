"""What the benchmarks share: throw-away databases, broker objects and folders that go away however a run
ends — normally, on an exception, on Ctrl-C or on SIGTERM/SIGHUP (turned into SystemExit so that every
``finally`` runs), and at interpreter exit as a last resort.

    with Scratch("bench") as scratch:
        url = scratch.database("main")          # CREATE DATABASE yk_bench_<run>_main, dropped at the end
        scratch.broker(settings, services)      # its queues, retry queues, DLQs, audit queue and exchange
        var = scratch.folder()                  # a temporary directory, removed at the end

Clean-up opens fresh connections: a benchmark's own connections may have died during a long phase.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType, TracebackType

import psycopg
from sqlalchemy.engine import make_url

from shared.config import Settings, normalize_db_url
from shared.events import topology
from shared.events.publisher import CONNECTION_ERRORS, connect


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


class Scratch:
    def __init__(self, name: str) -> None:
        self.run = uuid.uuid4().hex[:8]
        self.name = f"yk_{name}_{self.run}"
        self.admin = make_url(
            normalize_db_url(
                os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
            )
        )
        self.amqp_url = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
        self._databases: list[str] = []
        self._brokers: list[tuple[Settings, list[str]]] = []
        self._folders: list[Path] = []
        self._closed = False
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, _exit_on_signal)
        atexit.register(self.close)

    @property
    def conninfo(self) -> str:
        a = self.admin
        info = f"host={a.host or '127.0.0.1'} port={a.port or 5432} user={a.username or 'postgres'}"
        return info + (f" password={a.password}" if a.password else "")

    def _admin(self, sql: str) -> None:
        with psycopg.connect(self.conninfo + " dbname=postgres", autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def database(self, suffix: str) -> str:
        """Create a database for this run; returns its SQLAlchemy URL."""
        name = f"{self.name}_{suffix}"
        self._databases.append(name)  # before CREATE: an interrupted CREATE is dropped too
        self._admin(f'CREATE DATABASE "{name}"')
        return self.admin.set(database=name).render_as_string(hide_password=False)

    def broker(self, settings: Settings, services: Iterable[str] = ()) -> None:
        """Delete at the end the topology ``settings`` declares, and that of ``declare_service`` for
        ``services``."""
        self._brokers.append((settings, list(services)))

    def folder(self) -> Path:
        path = Path(tempfile.mkdtemp(prefix=f"{self.name}-"))
        self._folders.append(path)
        return path

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for settings, services in self._brokers:
            self._delete_broker_objects(settings, services)
        for name in self._databases:
            try:
                self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except psycopg.Error as exc:
                print(f"# could not drop database {name}: {exc}")
        for path in self._folders:
            shutil.rmtree(path, ignore_errors=True)

    def _delete_broker_objects(self, settings: Settings, services: list[str]) -> None:
        queues = topology.declared_queues(settings, services)
        queues += [
            q for q in _listed_queues() if q.startswith(f"{settings.broker_prefix}.") and q not in queues
        ]
        try:
            connection = connect(settings.amqp_url, name=f"{self.name}-cleanup")
        except CONNECTION_ERRORS as exc:
            print(f"# could not reach the broker to delete {settings.broker_prefix}.*: {exc!r}")
            return
        try:
            channel = connection.channel()
            for queue in queues:
                channel.queue_delete(queue)  # deleting a missing queue is not an error
            channel.exchange_delete(topology.exchange_name(settings.broker_prefix))
        except CONNECTION_ERRORS as exc:
            print(f"# could not delete every {settings.broker_prefix}.* queue: {exc!r}")
        finally:
            with contextlib.suppress(*CONNECTION_ERRORS):
                connection.close()

    def __enter__(self) -> Scratch:
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()


def _listed_queues() -> list[str]:
    """Queue names from ``rabbitmqctl`` when the broker is local: catches what no setting predicts."""
    try:
        out = subprocess.run(
            ["rabbitmqctl", "-q", "list_queues", "name"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


# --- one summary table for `make bench` -------------------------------------------------------------------
#
# Each bench calls ``report(...)`` once per measure. The line is printed at once; when ``BENCH_RESULTS``
# names a file (``bench/summary.py`` sets it), the figures are appended to it as one JSON line, and the
# summary prints measure | product | baseline | ratio | target | met over all benches (medians over runs).


@dataclass(frozen=True)
class Result:
    """One measure of one run. ``product`` and ``baseline`` are numbers in ``unit`` (baseline ``None``
    when the target is absolute, e.g. seconds); ``met`` is the bench's own verdict against ``target``."""

    bench: str
    measure: str
    product: float
    unit: str
    baseline: float | None
    target: str
    met: bool
    higher_is_better: bool = True
    detail: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.product / self.baseline


def report(result: Result) -> Result:
    ratio = f"{result.ratio:6.1%}" if result.ratio is not None else "     -"
    baseline = f"{result.baseline:,.1f} {result.unit}" if result.baseline is not None else "-"
    print(
        f"[{result.bench}] {result.measure}: {result.product:,.1f} {result.unit} | baseline {baseline} | "
        f"ratio {ratio} | target {result.target} | {'MET' if result.met else 'MISSED'}"
        + (f" | {result.detail}" if result.detail else "")
    )
    path = os.environ.get("BENCH_RESULTS")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(asdict(result), ensure_ascii=False) + "\n")
    return result
