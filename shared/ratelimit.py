"""Request-rate limits for every service, built on ``limits`` (the engine under Flask-Limiter).

Two budgets, both answered with a 429 problem and ``Retry-After``:

* every request counts against its client's budget (``RATE_LIMIT_DEFAULT``). The client is the verified
  token's subject when a valid bearer token came, else the caller's IP address: many users behind one
  office NAT do not share a budget, and a token does not get more by switching address;
* every answer 401 or 403 counts against the caller's IP address (``RATE_LIMIT_AUTH_FAILURES``). The
  services have no login endpoint (tokens are minted by the CLI), so guessing tokens is the attack worth
  throttling: once the budget is spent, every request from that address is refused until it refills.

Flask-Limiter's decorators count per route and deduct one way for all its default limits; the two
budgets above need a check before the view and a count after it, so the hooks here talk to ``limits``
directly (same storage URIs: ``memory://``, ``redis://``, ``memcached://`` …).

A storage that fails (Redis down) lets the request through and logs: a broken limiter must not take
the API down with it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask import Flask, Response, g, request
from limits import RateLimitItem, parse_many
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from shared.auth import optional_principal
from shared.config import Settings
from shared.errors import ProblemError, TooManyRequests, problem_type

log = logging.getLogger(__name__)

#: Probes and scrapes are polled by machines that must always get through.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
AUTH_FAILURE_STATUSES = frozenset({401, 403})
EXTENSION_KEY = "yunkefu_ratelimit"
_G_CHECKED = "_yunkefu_rate_checked"

T = TypeVar("T")


class RateLimitConfigError(ValueError):
    """A rate-limit setting that cannot be used; the message names it."""


@dataclass
class RateLimits:
    storage: Storage
    per_client: list[RateLimitItem]
    auth_failures: list[RateLimitItem]

    def __post_init__(self) -> None:
        self.limiter = FixedWindowRateLimiter(self.storage)

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        return cls(
            storage=_storage(settings.rate_limit_storage_uri),
            per_client=_parse("RATE_LIMIT_DEFAULT", settings.rate_limit_default),
            auth_failures=_parse("RATE_LIMIT_AUTH_FAILURES", settings.rate_limit_auth_failures),
        )

    def exhausted(self, items: list[RateLimitItem], key: str, *, hit: bool) -> int | None:
        """Seconds until ``key`` may try again when one of ``items`` is spent, else None.

        ``hit`` counts this request; without it the budget is only looked at.
        """
        for item in items:
            allowed = self.limiter.hit(item, key) if hit else self.limiter.test(item, key)
            if not allowed:
                reset_at, _remaining = self.limiter.get_window_stats(item, key)
                return max(1, math.ceil(reset_at - time.time()))
        return None

    def count(self, items: list[RateLimitItem], key: str) -> None:
        for item in items:
            self.limiter.hit(item, key)


def _parse(name: str, value: str) -> list[RateLimitItem]:
    if not value.strip():
        return []
    try:
        return parse_many(value)
    except ValueError as exc:
        raise RateLimitConfigError(
            f"{name}={value!r} is not a rate limit; write e.g. '1200/minute' or '30/minute;300/hour'"
        ) from exc


def _storage(uri: str) -> Storage:
    try:
        return storage_from_string(uri)
    except Exception as exc:  # limits raises ConfigurationError for unknown schemes and missing drivers
        raise RateLimitConfigError(
            f"RATE_LIMIT_STORAGE_URI={uri!r} cannot be used ({exc}); 'memory://' needs nothing, "
            "'redis://host:6379/0' needs the redis package"
        ) from exc


def client_key() -> str:
    """The verified token's subject when a valid one came, else the caller's address."""
    try:
        principal = optional_principal()
    except ProblemError:  # a bad token: the view answers it with 401; the address is the client here
        principal = None
    if principal is not None:
        return f"sub:{principal.sub}"
    return f"ip:{request.remote_addr or 'unknown'}"


def _auth_failure_key() -> str:
    return f"authfail:{request.remote_addr or 'unknown'}"


def _guarded(what: str, check: Callable[[], T]) -> T | None:
    try:
        return check()
    except Exception:
        log.warning("rate limit storage failed (%s); letting the request through", what, exc_info=True)
        return None


def init_app(app: Flask, settings: Settings) -> RateLimits | None:
    """Install the two budgets on ``app``; nothing when ``RATE_LIMIT_ENABLED`` is off."""
    if not settings.rate_limit_enabled:
        return None
    limits = RateLimits.from_settings(settings)
    app.extensions[EXTENSION_KEY] = limits

    @app.before_request
    def _check_rate_limits() -> None:
        if request.path in EXEMPT_PATHS or request.method == "OPTIONS":
            return
        auth_key = _auth_failure_key()
        retry_after = _guarded(
            "auth failures", lambda: limits.exhausted(limits.auth_failures, auth_key, hit=False)
        )
        if retry_after is not None:
            raise TooManyRequests(
                "Too many requests from your address were refused as unauthenticated or forbidden; "
                f"wait {retry_after} s and check the token you send.",
                retry_after=retry_after,
                type=problem_type("too-many-requests/auth-failures"),
            )
        key = client_key()
        retry_after = _guarded("per client", lambda: limits.exhausted(limits.per_client, key, hit=True))
        if retry_after is not None:
            raise TooManyRequests(
                f"This client has sent more requests than its budget allows; retry in {retry_after} s.",
                retry_after=retry_after,
            )
        setattr(g, _G_CHECKED, True)

    @app.after_request
    def _count_auth_failures(response: Response) -> Response:
        if response.status_code in AUTH_FAILURE_STATUSES and g.get(_G_CHECKED):
            auth_key = _auth_failure_key()
            _guarded("auth failures", lambda: limits.count(limits.auth_failures, auth_key))
        return response

    return limits
