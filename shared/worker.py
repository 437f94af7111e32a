"""``yunkefu worker SERVICE``: the service's consumer, outbox relay, periodic jobs and retention purges.

Each runs in its own thread with its own pika connection (pika connections are not thread-safe). On
SIGTERM/SIGINT the worker stops taking deliveries, lets the event in hand finish and commits and
acknowledges the part of the consumer's batch it handled (within seconds, whatever the backlog), lets the
relay finish its batch, and closes its connections: the rest of the batch and the prefetched but
unacknowledged messages go back to the queue, pending outbox rows stay pending. Nothing is lost.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType

from prometheus_client import Counter, start_http_server
from sqlalchemy import text

from shared import retention, workdays
from shared.config import ConfigError, Settings, validate_for_start
from shared.db import Database, is_postgres
from shared.events import catalogue
from shared.events.consumer import Consumer
from shared.events.relay import Relay
from shared.logging import configure_logging
from shared.service import Job, ServiceSpec
from shared.uow import Actor, Clock, system_clock, unit_of_work

log = logging.getLogger(__name__)

JOB_RUNS = Counter("worker_job_runs_total", "Periodic job runs", ["service", "job", "outcome"])


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


#: runs of each job this process skipped since it last ran it (another worker held the job's lock)
_skipped: dict[str, int] = {}


def run_job(database: Database, service: str, job: Job, *, clock: Clock = system_clock) -> bool:
    """Run a job once in its own unit of work; False when another worker holds it right now.

    Each run logs one INFO line "periodic job … ran" with its start and end (``time.monotonic()``, one
    clock for every process of the machine, and the wall time), the pid, and how many times this process
    found the job held by another worker since its previous run: the evidence that runs of one job never
    overlap, across processes. The line is written before the commit, while the lock is still held, so
    the lines of one job on PostgreSQL never overlap unless the lock failed.
    """
    with unit_of_work(database, clock=clock, actor=Actor.system(f"job:{job.name}")) as uow:
        if is_postgres(uow.session):
            locked = uow.session.execute(
                text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _lock_key(f"{service}:{job.name}")}
            ).scalar_one()
            if not locked:
                _skipped[job.name] = _skipped.get(job.name, 0) + 1
                log.debug("periodic job %s skipped: another worker runs it", job.name)
                return False
        wall, started = time.time(), time.monotonic()
        job.run(uow)
        ended = time.monotonic()
        log.info(
            "periodic job %s ran in %.3f s",
            job.name,
            ended - started,
            extra={
                "job": f"{service}:{job.name}",
                "job_started": round(started, 6),
                "job_ended": round(ended, 6),
                "job_wall_started": round(wall, 6),
                "pid": os.getpid(),
                "skipped_before": _skipped.pop(job.name, 0),
            },
        )
    return True


class Scheduler:
    """Runs the service's jobs and the platform's retention purges, each at its own interval."""

    def __init__(
        self,
        database: Database,
        service: str,
        jobs: Sequence[Job],
        stop_event: threading.Event,
        *,
        purges: Sequence[retention.Purge] = (),
        purge_interval: float = 3600.0,
        purge_batch_size: int = 5000,
    ):
        self.database = database
        self.service = service
        self.jobs = list(jobs)
        self.stop_event = stop_event
        self.tasks: list[tuple[str, float, Callable[[], bool]]] = [
            (job.name, job.interval_seconds, functools.partial(run_job, database, service, job))
            for job in self.jobs
        ]
        self.tasks += [
            (
                purge.name,
                purge_interval,
                functools.partial(self._purge, purge, purge_batch_size),
            )
            for purge in purges
        ]

    def _purge(self, purge: retention.Purge, batch_size: int) -> bool:
        return retention.run_purge(self.database, self.service, purge, batch_size) is not None

    def run(self) -> None:
        next_run = {name: time.monotonic() for name, _interval, _run in self.tasks}
        while not self.stop_event.is_set():
            now = time.monotonic()
            for name, interval, run in self.tasks:
                if now < next_run[name]:
                    continue
                next_run[name] = now + interval
                try:
                    ran = run()
                    JOB_RUNS.labels(self.service, name, "ok" if ran else "skipped").inc()
                except Exception:
                    JOB_RUNS.labels(self.service, name, "error").inc()
                    log.exception("periodic job %s failed; it runs again at its next interval", name)
                if self.stop_event.is_set():
                    break
            wait = min(next_run.values(), default=now + 1.0) - time.monotonic()
            self.stop_event.wait(max(0.05, min(wait, 1.0)))


class Worker:
    def __init__(self, spec: ServiceSpec, settings: Settings, *, database: Database | None = None) -> None:
        problems = retention.check_settings(settings)
        if problems:
            raise ConfigError(f"refusing to start the {settings.service} worker: {'; '.join(problems)}")
        self.spec = spec
        self.settings = settings
        self.database = database or Database(settings.database_url)
        self.stop_event = threading.Event()
        self.relay = Relay(self.database, settings, stop_event=self.stop_event)
        self.consumer = Consumer(self.database, settings, spec.handlers, stop_event=self.stop_event)
        self.scheduler = Scheduler(
            self.database,
            settings.service,
            spec.jobs,
            self.stop_event,
            purges=retention.purges(settings),
            purge_interval=settings.purge_interval_seconds,
            purge_batch_size=settings.purge_batch_size,
        )
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for problem in catalogue.check_handlers(self.settings.service, self.spec.handlers):
            raise RuntimeError(problem)
        missing = catalogue.unhandled(self.settings.service, self.spec.handlers)
        if missing:
            log.warning(
                "no handler yet for %s: such events will be retried and then parked in the DLQ",
                ", ".join(missing),
            )
        targets = [("relay", self.relay.run), ("consumer", self.consumer.run), ("jobs", self.scheduler.run)]
        for name, target in targets:
            thread = threading.Thread(target=target, name=f"{self.settings.service}-{name}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        self.database.dispose()

    def run_forever(self) -> None:
        def _on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %s received: stopping after the work in hand", signum)
            self.stop_event.set()

        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
        self.start()
        while not self.stop_event.wait(0.5):
            dead = [t.name for t in self.threads if not t.is_alive()]
            if dead:
                log.error("worker thread(s) %s died; stopping so the supervisor restarts us", dead)
                self.stop_event.set()
        self.stop()
        log.info("worker stopped")


def main(spec: ServiceSpec, settings: Settings) -> None:
    warnings = validate_for_start(settings)  # raises ConfigError before anything connects
    configure_logging(settings.service, settings.log_level, settings.log_json)
    for warning in warnings:
        log.warning(warning)
    # Deadlines the jobs compute (auto-escalation, due dates) depend on it: say so at start.
    workdays.log_schedule_outlook()
    try:
        worker = Worker(spec, settings)
    except ConfigError as exc:  # the retry and retention settings: one line and exit code 2, as the CLI
        print(f"yunkefu: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if settings.worker_metrics_port:
        start_http_server(settings.worker_metrics_port)
    worker.run_forever()
