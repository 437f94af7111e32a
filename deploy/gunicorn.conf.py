"""gunicorn settings shared by the six services (``gunicorn -c deploy/gunicorn.conf.py ...``).

Every value can be overridden with the environment variable named beside it.
"""

import os

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
