"""The console's calls to the six services (backend-for-frontend).

Every call carries a token minted for the signed-in user and this call only (EdDSA, a few minutes), so the
browser never holds a service token and a stolen session cookie is worth nothing without the console.
Errors come back as :class:`ApiError` holding the service's problem document; pages turn it into a message
in the reader's language (``services.console.web.problem_message``) — never raw JSON.

A page that needs several widgets fetches them in parallel with :meth:`Backend.gather` (one round trip per
widget, all at once), so a page costs the slowest call, not the sum.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared import auth
from shared.config import SERVICES, Settings

_POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="console-bff")


class ApiError(Exception):
    """A service answered with an error (or did not answer: status 503, ``unreachable``)."""

    def __init__(self, service: str, status: int, problem: Mapping[str, Any] | None = None) -> None:
        self.service = service
        self.status = status
        self.problem: dict[str, Any] = dict(problem or {})
        super().__init__(f"{service}: {status} {self.problem.get('detail') or self.problem.get('title', '')}")

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail") or self.problem.get("title") or "")

    @property
    def field_errors(self) -> dict[str, list[str]]:
        errors = self.problem.get("errors")
        if not isinstance(errors, Mapping):
            return {}
        return {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in errors.items()}

    @property
    def unreachable(self) -> bool:
        return bool(self.problem.get("unreachable"))


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]
    content: bytes
    data: Any = None

    @property
    def total(self) -> int | None:
        raw = self.headers.get("x-total-count")
        if raw is not None and raw.isdigit():
            return int(raw)
        if isinstance(self.data, Mapping) and isinstance(self.data.get("total"), int):
            return self.data["total"]
        return None

    @property
    def items(self) -> list[Any]:
        """The rows of a list answer, whether the service wraps them (``items``) or not."""
        if isinstance(self.data, list):
            return self.data
        if isinstance(self.data, Mapping):
            for key in ("items", "data", "results"):
                if isinstance(self.data.get(key), list):
                    return self.data[key]
        return []


@dataclass(frozen=True)
class Identity:
    """Who the console calls the services as: the signed-in user's role and bindings."""

    sub: str
    role: str
    merchant_id: str | None = None


@dataclass(frozen=True)
class Call:
    """One request, for :meth:`Backend.gather`."""

    service: str
    path: str
    method: str = "GET"
    params: Mapping[str, Any] | None = None
    json: Any = None


@dataclass
class ServiceClient:
    """Process-wide: one pooled HTTP client, the signing key, the service addresses."""

    settings: Settings
    service_urls: Mapping[str, str]
    token_seconds: int = 300
    timeout: float = 10.0
    #: tests route the calls to in-process apps (``httpx.WSGITransport``) instead of the network
    transport: httpx.BaseTransport | None = None
    _client: httpx.Client | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(
                    timeout=self.timeout,
                    transport=self.transport,
                    limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
                )
            return self._client

    def signing_key(self) -> Any:
        # shared.auth caches the key per process and re-reads the file when it changes: a rotated key
        # (docs/operations.md, "Service tokens") takes effect without restarting the console
        return auth.load_signing_key(self.settings)

    def token_for(self, identity: Identity) -> str:
        return auth.mint_token(
            self.signing_key(),
            identity.role,
            sub=identity.sub,
            merchant_id=identity.merchant_id if identity.role == "merchant" else None,
            ttl_seconds=self.token_seconds,
        )

    def url(self, service: str, path: str) -> str:
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}")
        return f"{self.service_urls[service]}/api/v1/{path.lstrip('/')}"

    def request(
        self,
        identity: Identity,
        service: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        files: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        timeout: float | None = None,
    ) -> Reply:
        """``timeout``: this call's seconds instead of the client's (a call known to be slow, such as
        computing a staffing plan)."""
        sent = {"Authorization": f"Bearer {self.token_for(identity)}", **(headers or {})}
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            response = self.client().request(
                method,
                self.url(service, path),
                params=clean,
                json=json,
                files=files,
                data=data,
                content=content,
                headers=sent,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise ApiError(
                service,
                503,
                {
                    "title": "Service Unavailable",
                    "detail": f"{service} did not answer: {exc}",
                    "unreachable": True,
                },
            ) from exc
        body: Any = None
        kind = response.headers.get("content-type", "")
        if "json" in kind and response.content:
            try:
                body = response.json()
            except ValueError:
                body = None
        if response.status_code >= 400:
            raise ApiError(service, response.status_code, body if isinstance(body, Mapping) else None)
        return Reply(response.status_code, response.headers, response.content, body)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


class Backend:
    """The services as seen by one signed-in user during one request (``services.console.web.api()``)."""

    def __init__(self, client: ServiceClient, identity: Identity) -> None:
        self.client = client
        self.identity = identity

    def call(self, service: str, method: str, path: str, **kwargs: Any) -> Reply:
        return self.client.request(self.identity, service, method, path, **kwargs)

    def get(self, service: str, path: str, **params: Any) -> Any:
        return self.call(service, "GET", path, params=params).data

    def page(self, service: str, path: str, **params: Any) -> Reply:
        """A list answer: ``.items`` and ``.total``."""
        return self.call(service, "GET", path, params=params)

    def post(self, service: str, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.call(service, "POST", path, json=json if json is not None else {}, **kwargs).data

    def put(self, service: str, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.call(service, "PUT", path, json=json, **kwargs).data

    def patch(self, service: str, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.call(service, "PATCH", path, json=json, **kwargs).data

    def delete(self, service: str, path: str, **kwargs: Any) -> Any:
        return self.call(service, "DELETE", path, **kwargs).data

    def gather(self, calls: Mapping[str, Call]) -> dict[str, Reply | ApiError]:
        """Several calls at once; each result is its :class:`Reply` or the :class:`ApiError` it raised."""
        futures = {
            name: _POOL.submit(
                self.client.request,
                self.identity,
                call.service,
                call.method,
                call.path,
                params=call.params,
                json=call.json,
            )
            for name, call in calls.items()
        }
        results: dict[str, Reply | ApiError] = {}
        for name, future in futures.items():
            try:
                results[name] = future.result()
            except ApiError as exc:
                results[name] = exc
        return results
