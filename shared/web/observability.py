"""What an operator watches: correlation ids, the request log, request metrics and /metrics.

Every answer carries ``X-Correlation-ID`` (the caller's, if plain enough, or a new one) and is counted by
route and status. /metrics adds the outbox lag, the dead-letter depth and the holiday calendar's health,
read on each scrape; it never fails because the database or the broker is down.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable, Iterator

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from shared import workdays
from shared.config import Settings
from shared.context import ensure_correlation_id, set_correlation_id
from shared.db import Database
from shared.events.outbox import outbox_stats
from shared.events.topology import queue_depths
from shared.web.state import QUIET_PATHS, AppState, app_state

log = logging.getLogger(__name__)

CORRELATION_HEADER = "X-Correlation-ID"
# Accept a caller's id only if it is short and plain: it lands in logs, headers and the outbox (String 100).
_CORRELATION_RE = re.compile(r"[A-Za-z0-9._:\-]{1,100}")
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

_G_STARTED = "_yunkefu_started"


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests answered, by method, route and status.",
            ["method", "endpoint", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route.",
            ["method", "endpoint"],
            registry=registry,
        )


def _route_label() -> str:
    # The url rule (/api/v1/projects/<id>) not the raw path: one series per route, whatever the ids.
    return request.url_rule.rule if request.url_rule is not None else "<unmatched>"


def _install_request_hooks(app: Flask, metrics: HttpMetrics) -> None:
    @app.before_request
    def _start_request() -> None:
        incoming = request.headers.get(CORRELATION_HEADER, "").strip()
        set_correlation_id(incoming if _CORRELATION_RE.fullmatch(incoming) else None)
        ensure_correlation_id()
        setattr(g, _G_STARTED, time.perf_counter())

    @app.after_request
    def _finish_request(response: Response) -> Response:
        response.headers[CORRELATION_HEADER] = ensure_correlation_id()
        started = g.get(_G_STARTED)
        elapsed = time.perf_counter() - started if started is not None else 0.0
        method = request.method if request.method in _KNOWN_METHODS else "OTHER"
        route = _route_label()
        metrics.requests.labels(method, route, str(response.status_code)).inc()
        metrics.duration.labels(method, route).observe(elapsed)
        log.log(
            logging.DEBUG if request.path in QUIET_PATHS else logging.INFO,
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "http_method": request.method,
                "http_path": request.path,
                "http_status": response.status_code,
                "duration_ms": round(elapsed * 1000, 1),
            },
        )
        return response

    @app.teardown_request
    def _forget_correlation(_exc: BaseException | None) -> None:
        # gunicorn's sync workers reuse the thread: the next request must not inherit this id.
        set_correlation_id(None)


class PlatformCollector(Collector):
    """Outbox lag and dead-letter depth, read on each scrape.

    Every failure just omits the sample: /metrics must answer even while the database or the broker is
    down (that is when its other series matter most).
    """

    def __init__(self, settings: Settings, database: Database) -> None:
        self.settings = settings
        self.database = database

    def describe(self) -> Iterable[Metric]:
        # Declared empty so that registering the collector does not run a scrape (no DB/broker at import).
        return []

    def collect(self) -> Iterator[Metric]:
        try:
            with self.database.session() as session:
                stats = outbox_stats(session)
        except Exception as exc:
            log.debug("outbox metrics unavailable: %r", exc)
        else:
            yield GaugeMetricFamily(
                "outbox_pending_events", "Events written but not yet published.", value=stats.pending
            )
            if stats.oldest_pending_age_seconds is not None:
                yield GaugeMetricFamily(
                    "outbox_oldest_pending_age_seconds",
                    "Age of the oldest unpublished event.",
                    value=stats.oldest_pending_age_seconds,
                )
        try:
            depths = queue_depths(self.settings) or {}
        except Exception as exc:
            log.debug("queue metrics unavailable: %r", exc)
            depths = {}
        if "dead_letter" in depths:
            yield GaugeMetricFamily(
                "dead_letter_queue_messages",
                "Messages parked in this service's dead-letter queue.",
                value=depths["dead_letter"],
            )
        if "consumer" in depths:
            yield GaugeMetricFamily(
                "consumer_queue_messages",
                "Events delivered to this service and not yet handled (a growing number: its worker is "
                "down or too slow).",
                value=depths["consumer"],
            )


class CalendarCollector(Collector):
    """How many of the next 60 days rest on a provisional or missing holiday schedule (0 = all official)."""

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "calendar_provisional_days",
            "Days of the next 60 whose working days rest on a provisional or missing holiday schedule.",
            value=workdays.schedule_outlook().weak_days,
        )


def _metrics() -> Response:
    return Response(generate_latest(app_state().registry), content_type=CONTENT_TYPE_LATEST)


def _counters_registry(scraped: CollectorRegistry) -> CollectorRegistry:
    """Where the request counters register: the scraped registry itself in a single process; under
    gunicorn (``PROMETHEUS_MULTIPROC_DIR`` set, see deploy/gunicorn.conf.py) each worker writes its
    samples to files in that directory and a scrape, whichever worker answers it, sums every worker's
    files. The counters then go to a registry nobody scrapes, or they would be counted twice."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return scraped
    MultiProcessCollector(scraped, path=directory)
    return CollectorRegistry()


def init_app(app: Flask, state: AppState) -> None:
    """Correlation ids, request metrics and log, the platform's gauges and the /metrics route."""
    _install_request_hooks(app, HttpMetrics(_counters_registry(state.registry)))
    state.registry.register(PlatformCollector(state.settings, state.database))
    state.registry.register(CalendarCollector())
    app.add_url_rule("/metrics", "metrics", _metrics, methods=["GET"])
