"""gunicorn settings shared by the six services (``gunicorn -c deploy/gunicorn.conf.py ...``).

Every value can be overridden with the environment variable named beside it.

Worker class and threads were chosen by measurement (issue 16; ``python bench/http_api.py --configs
sync:2:1,sync:3:1,...``): wrk -c32 against onboarding on PostgreSQL (10,000 projects, a real token) and a
bare Flask hello under the same settings, in the same run, on this 2-core machine shared with PostgreSQL,
wrk and other jobs (load average 8 to 16 during the run: absolute figures are low and noisy; compare the
ratios, product ÷ hello, within a row):

    | settings              | GET one project | list 50/page, first | list 100/page, first | list 100, after |
    |-----------------------|-----------------|---------------------|----------------------|-----------------|
    | sync, 2 workers       | 91 / 242 = 38%  | 33 / 242 = 14%      | 26 / 242 = 11%       | 50 / 242 = 21%  |
    | sync, 3 workers       | 106 / 395 = 27% | 44 / 395 = 11%      | 31 / 395 = 8%        | 20 / 395 = 5%   |
    | sync, 4 workers       | 69 / 256 = 27%  | 26 / 256 = 10%      | 18 / 256 = 7%        | 14 / 256 = 6%   |
    | gthread, 2 × 2 threads| 123 / 1157 = 11%| 30 / 1157 = 3%      | 14 / 1157 = 1%       | 9 / 1157 = 1%   |
    | gthread, 2 × 4 threads| 83 / 768 = 11%  | 18 / 768 = 2%       | 14 / 768 = 2%        | 19 / 768 = 3%   |
    | gthread, 3 × 2 threads| 62 / 441 = 14%  | 24 / 441 = 5%       | 16 / 441 = 4%        | 18 / 441 = 4%   |
    | gthread, 4 × 2 threads| 95 / 862 = 11%  | 27 / 862 = 3%       | 17 / 862 = 2%        | 19 / 862 = 2%   |

(req/s of the product / of the hello.) A second run with the final code, sync 2 workers against gthread
2 × 4 threads (the former default) in turn, agreed: GET one project 42% against 15%, list 100/page after
page 9% against 3%. The product's own rate hardly moves with the settings: its requests
are CPU-bound Python and the two cores are the limit. Threads only add GIL hand-offs to that; extra workers
add processes competing for the same two cores with PostgreSQL. What gthread does buy is keep-alive, which
helps a trivial hello far more than a real request. Default: ``sync``, 2 workers (one per core), no
threads. A sync worker serves one request at a time and closes the connection after it: put the gateway
(Caddy) or another proxy in front, so that slow clients are buffered there and not by a worker.
"""

import os
from typing import Any

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# by measurement (see above); with GUNICORN_THREADS > 1 gunicorn itself runs gthread instead of sync
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
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
