"""The console against the six real services, in one process (for the console's page tests).

Each service is its real Flask app on its own fresh PostgreSQL database (``tests/support.make_harness``);
the console's HTTP client reaches them through ``httpx.WSGITransport`` instead of sockets, so a page test
exercises the console, the service and the database for real without starting servers. Workers (the event
consumers) are started on demand, so events flow between the in-process services over the real broker.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from services.console import accounts
from services.console.models import User
from shared.config import SERVICES, Settings
from shared.db import Database
from shared.migrate import upgrade
from shared.service import load_spec
from shared.uow import unit_of_work
from tests.support import ServiceHarness

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "Correct-Horse-9"


class RoutingTransport(httpx.BaseTransport):
    """``http://<service>.internal/...`` → that service's WSGI app."""

    def __init__(self, apps: dict[str, Flask]) -> None:
        self.transports = {f"{name}.internal": httpx.WSGITransport(app=app) for name, app in apps.items()}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        transport = self.transports.get(request.url.host)
        if transport is None:
            raise httpx.ConnectError(f"no service at {request.url.host}", request=request)
        return transport.handle_request(request)


@dataclass
class ConsoleEnv:
    app: Flask
    database: Database
    services: dict[str, ServiceHarness]
    users: dict[str, User] = field(default_factory=dict)

    def client(self) -> FlaskClient:
        return self.app.test_client()

    def create_user(
        self, role: str, *, email: str | None = None, password: str = PASSWORD, **bindings: Any
    ) -> User:
        if role == "merchant":
            bindings.setdefault("merchant_id", str(uuid.uuid4()))
        if role == "agent":
            bindings.setdefault("candidate_id", str(uuid.uuid4()))
        with unit_of_work(self.database) as uow:
            user = accounts.create_user(
                uow,
                email=email or f"{role}-{uuid.uuid4().hex[:8]}@example.com",
                role=role,
                display_name=f"{role.title()} Test",
                password=password,
                **bindings,
            )
        return user

    def user(self, email: str) -> User:
        with self.database.session() as session:
            found = session.scalar(select(User).where(User.email == email))
            assert found is not None
            return found

    def sign_in(self, client: FlaskClient, user: User, password: str = PASSWORD) -> Any:
        """Sign in through the real form (with its CSRF token); returns the response."""
        page = client.get("/sign-in")
        token = csrf_token(page.get_data(as_text=True))
        return client.post("/sign-in", data={"email": user.email, "password": password, "csrf_token": token})

    def signed_in(self, role: str, **bindings: Any) -> tuple[FlaskClient, User]:
        """A fresh test client signed in as a new user of ``role``."""
        user = self.create_user(role, **bindings)
        client = self.client()
        response = self.sign_in(client, user)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client, user

    def start_workers(self, *names: str) -> None:
        for name in names or tuple(self.services):
            self.services[name].start_worker()


def csrf_token(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def build_console_env(
    make_harness: Callable[[str], ServiceHarness], console_database_url: str, **extra: str
) -> ConsoleEnv:
    from services.console.app import create_app

    services = {name: make_harness(name) for name in SERVICES}
    upgrade(load_spec("console"), console_database_url)
    # the session's key pair (tests/conftest.py): the console signs, the in-process services verify
    keys = {k: os.environ[k] for k in ("JWT_PRIVATE_KEY_FILE", "JWT_PUBLIC_KEYS") if k in os.environ}
    base = Settings.from_env("console", keys)
    env = {f"CONSOLE_{name.upper()}_URL": f"http://{name}.internal" for name in SERVICES}
    env.update({"CONSOLE_COOKIE_SECURE": "0", **extra})
    settings = Settings(
        **{**base.__dict__, "database_url": console_database_url, "log_json": False, "extra": env}
    )
    database = Database(console_database_url)
    app = create_app(
        settings=settings,
        database=database,
        transport=RoutingTransport({name: h.app for name, h in services.items()}),
    )
    app.testing = True
    return ConsoleEnv(app=app, database=database, services=services)
