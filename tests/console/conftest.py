"""Fixtures of the console tests: ``console_env`` is the console wired to the six real services."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

from tests.console.support import ConsoleEnv, build_console_env
from tests.support import ServiceHarness, make_harness

_counter = itertools.count()


@pytest.fixture()
def console_env(
    make_database: Callable[[str], str], amqp_url: str, unique_prefix: str
) -> Iterator[ConsoleEnv]:
    """A fresh console + six services (own databases, own broker prefix) for one test."""
    made: list[ServiceHarness] = []
    n = next(_counter)

    def harness(service: str) -> ServiceHarness:
        made.append(make_harness(service, make_database(f"c{n}_{service}"), amqp_url, unique_prefix))
        return made[-1]

    env = build_console_env(harness, make_database(f"c{n}_console"))
    try:
        yield env
    finally:
        for h in made:
            h.close()
        env.database.dispose()
