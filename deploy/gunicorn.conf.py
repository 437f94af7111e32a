"""gunicorn settings shared by the six services (``gunicorn -c deploy/gunicorn.conf.py ...``).

Every value can be overridden with the environment variable named beside it.
"""

import os
from typing import Any

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
# the app factory opens no broker connection, and the database pool is created lazily per worker,
# so loading the app before forking is safe and saves memory
preload_app = os.environ.get("GUNICORN_PRELOAD", "0") == "1"
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None  # empty: no access log
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = 50

# --- request limits, refused as problem+json ------------------------------------------------------------
# gunicorn refuses an over-long request line (414), too many or too large headers (431) and unparseable
# requests (400) before the app sees them, with an HTML page; clients of this API parse one error format,
# so the page is replaced below by the same RFC 9457 body the app answers with.
limit_request_line = int(os.environ.get("GUNICORN_LIMIT_REQUEST_LINE", "4094"))
limit_request_fields = int(os.environ.get("GUNICORN_LIMIT_REQUEST_FIELDS", "100"))
limit_request_field_size = int(os.environ.get("GUNICORN_LIMIT_REQUEST_FIELD_SIZE", "8190"))

_LIMIT_DETAILS = {
    414: f"The request line (method and URL) is longer than {limit_request_line} bytes; shorten the URL.",
    431: (
        f"The request has more than {limit_request_fields} header fields or one longer than "
        f"{limit_request_field_size} bytes."
    ),
    500: "The server failed to complete the request.",
}


def problem_write_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's ``util.write_error`` (its HTML error page) as an ``application/problem+json`` answer."""
    import json

    from gunicorn import util

    from shared.errors import PROBLEM_CONTENT_TYPE, problem_body, status_title

    detail = _LIMIT_DETAILS.get(status_int) or f"The request is not valid HTTP: {mesg}"[:300]
    body = json.dumps(problem_body(status_int, status_title(status_int), detail)).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: {PROBLEM_CONTENT_TYPE}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


def _answer_limits_as_problems() -> None:
    from gunicorn import util

    util.write_error = problem_write_error  # the workers call it through the module: see Worker.handle_error


_answer_limits_as_problems()

# --- /metrics across workers (prometheus-client multiprocess mode) ---------------------------------------
# Every worker is a process with counters of its own, so a scrape answered by one worker would show only
# its share. With PROMETHEUS_MULTIPROC_DIR set, each worker writes its samples to files there and /metrics
# (shared/web/observability.py) sums them all. It must be set before prometheus_client is imported, i.e.
# here; unset, this master uses a private temporary directory and removes it when it exits. A directory
# given by the operator must belong to this master alone: it is emptied at start, so that a previous run's
# counts (and the files of pids since reused) do not leak into this one.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
_own_metrics_dir = not _metrics_dir
if _own_metrics_dir:
    import tempfile

    _metrics_dir = tempfile.mkdtemp(prefix="yunkefu-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir


def on_starting(server: Any) -> None:
    os.makedirs(_metrics_dir, exist_ok=True)
    for name in os.listdir(_metrics_dir):
        if name.endswith(".db"):
            os.remove(os.path.join(_metrics_dir, name))


def child_exit(server: Any, worker: Any) -> None:
    # a dead worker's counters stay in the sums; only its live gauges must go
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, _metrics_dir)


def on_exit(server: Any) -> None:
    if _own_metrics_dir:
        import shutil

        shutil.rmtree(_metrics_dir, ignore_errors=True)
