"""The whole product as real processes on PostgreSQL + RabbitMQ (gunicorn web + ``yunkefu worker``)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devtools.stack import Stack, StackConfig, generate_stack_keys
from shared.auth import SigningKey
from shared.config import SERVICES

_stacks = itertools.count()


def build_stack(make_database: Callable[[str], str], amqp_url: str, broker_prefix: str, tmp: Path) -> Stack:
    n = next(_stacks)
    config = StackConfig(
        database_urls={s: make_database(f"e2e{n}_{s}") for s in SERVICES},
        amqp_url=amqp_url,
        broker_prefix=f"{broker_prefix}-e2e{n}-{uuid.uuid4().hex[:4]}",
        keys_dir=generate_stack_keys(tmp / "keys"),
        var_dir=tmp,
        port_offset=11000 + 100 * n,
        extra_env={"SCHEDULING_SOLVER_TIME_LIMIT": "3", "MAX_DELIVERY_ATTEMPTS": "4"},
    )
    return Stack(config, tmp / "logs")


@pytest.fixture(scope="module")
def stack(
    make_database: Callable[[str], str],
    amqp_url: str,
    broker_prefix: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    running = build_stack(make_database, amqp_url, broker_prefix, tmp_path_factory.mktemp("stack"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


def urls(stack: Stack) -> dict[str, str]:
    return {s: stack.config.base_url(s) for s in SERVICES}


def signing_key(stack: Stack) -> SigningKey:
    """The private key the stack's services accept tokens from (what the console would sign with)."""
    return SigningKey.load(stack.config.private_key_file)
