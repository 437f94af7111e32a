"""The whole product in real processes (six services, six workers, the console) and a real Chromium."""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.stack import CONSOLE_PORT, Stack, StackConfig, busy_ports, generate_stack_keys
from shared.config import SERVICES
from shared.db import Database
from shared.uow import unit_of_work
from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, LANG

_stacks = itertools.count()
PASSWORD = "Browser-Test-2026"


@dataclass
class ConsoleStack:
    stack: Stack
    console_url: str
    console_database_url: str

    def create_user(self, role: str, email: str | None = None, **bindings: str) -> tuple[str, str]:
        """A console account (as the admin's invitation would end), returns (email, password)."""
        from services.console import accounts

        email = email or f"{role}-{uuid.uuid4().hex[:6]}@example.com"
        database = Database(self.console_database_url)
        try:
            with unit_of_work(database) as uow:
                accounts.create_user(
                    uow,
                    email=email,
                    role=role,
                    display_name=f"{role} 测试",
                    password=PASSWORD,
                    **bindings,
                )
        finally:
            database.dispose()
        return email, PASSWORD

    def url(self, service: str) -> str:
        return self.stack.config.base_url(service)


@contextlib.contextmanager
def free_port_offset(start: int, tries: int = 40) -> Iterator[int]:
    """The first offset from ``start`` (steps of 100) whose seven ports are free, held for the stack's life.

    Another pytest on the same machine may be starting a stack of its own: its ports are not bound yet while
    its migrations run, so each offset is also claimed by an exclusive lock on a file while in use.
    """
    ports = [CONSOLE_PORT, *SERVICES.values()]
    for offset in range(start, start + 100 * tries, 100):
        claim = open(Path(tempfile.gettempdir()) / f"yunkefu-browser-stack-{offset}.lock", "w")  # noqa: SIM115
        try:
            fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            claim.close()
            continue
        try:
            if busy_ports([port + offset for port in ports]):
                continue
            yield offset
            return
        finally:
            claim.close()  # closing releases the lock
    raise RuntimeError(f"no free ports for a stack between offsets {start} and {start + 100 * tries}")


@pytest.fixture(scope="module")
def console_stack(
    make_database: Callable[[str], str],
    amqp_url: str,
    broker_prefix: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ConsoleStack]:
    n = next(_stacks)
    with free_port_offset(13000 + 100 * n) as port_offset:
        yield from _console_stack(n, port_offset, make_database, amqp_url, broker_prefix, tmp_path_factory)


def _console_stack(
    n: int,
    port_offset: int,
    make_database: Callable[[str], str],
    amqp_url: str,
    broker_prefix: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ConsoleStack]:
    tmp: Path = tmp_path_factory.mktemp("browser-stack")
    names = [*SERVICES, "console"]
    config = StackConfig(
        database_urls={s: make_database(f"br{n}_{s}") for s in names},
        amqp_url=amqp_url,
        broker_prefix=f"{broker_prefix}-br{n}-{uuid.uuid4().hex[:4]}",
        keys_dir=generate_stack_keys(tmp / "keys"),
        var_dir=tmp,
        port_offset=port_offset,
        with_console=True,
        extra_env={
            "SCHEDULING_SOLVER_TIME_LIMIT": "3",
            "MAX_DELIVERY_ATTEMPTS": "4",
            # nothing is in flight when a module's stack stops: no reason to wait gunicorn's 20 s
            "GUNICORN_GRACEFUL_TIMEOUT": "3",
        },
    )
    stack = Stack(config, tmp / "logs")
    try:
        stack.start()
        yield ConsoleStack(stack, config.base_url("console"), config.database_urls["console"])
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install Debian's (`apt-get install -y chromium`, which "
            "`make install` does when run as root) or set CHROMIUM to its path",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture()
def new_page(browser: object) -> Iterator[Callable[..., object]]:
    """Factory of pages, each in its own context (its own cookies: one signed-in person each)."""
    contexts = []

    def factory(viewport: dict[str, int] | None = None) -> object:
        context = browser.new_context(  # type: ignore[attr-defined]
            locale="zh-CN", timezone_id="Asia/Shanghai", viewport=viewport or {"width": 1280, "height": 900}
        )
        context.set_default_timeout(15_000)
        if LANG != "zh":  # debugging a test in another language: the console's own language cookie
            context.add_cookies([{"name": "lang", "value": LANG, "domain": "127.0.0.1", "path": "/"}])
        contexts.append(context)
        return context.new_page()

    yield factory
    for context in contexts:
        context.close()
