"""A WSGI app whose requests take a while: what is in flight when the web process is told to stop."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    seconds = float(environ.get("QUERY_STRING", "").partition("=")[2] or 0)
    time.sleep(seconds)
    body = f"slept {seconds:g}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
