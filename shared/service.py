"""What a service is to the platform: its app factory, handlers, periodic jobs, models and migrations.

Each ``services/<name>/spec.py`` exports ``SPEC``; the CLI, the worker and the migrations find a service
through ``load_spec``. A dotted ``module:attribute`` also works, which the tests use for their own
test-only services.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy import MetaData

from shared.config import SERVICES
from shared.uow import UnitOfWork

if TYPE_CHECKING:
    from flask import Flask

    from shared.events.consumer import Handler


@dataclass(frozen=True)
class Job:
    """A periodic job: ``run(uow)`` in its own unit of work, committed by the worker.

    On PostgreSQL a transaction-scoped advisory lock keyed on the job's name makes sure only one worker
    runs it at a time, so several workers per service are safe.
    """

    name: str
    interval_seconds: float
    run: Callable[[UnitOfWork], Any]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    metadata: MetaData
    create_app: Callable[..., Flask]
    migrations_dir: Path
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    jobs: Sequence[Job] = ()
    #: command-line groups the service contributes to ``yunkefu`` (the console's ``user``)
    commands: Sequence[click.Command] = ()


#: The web console has a spec (app factory, models, migrations) but neither events nor a worker, so it
#: is not one of ``SERVICES``.
CONSOLE = "console"


def load_spec(name: str) -> ServiceSpec:
    if ":" in name:
        module_name, _, attr = name.partition(":")
        return getattr(importlib.import_module(module_name), attr)
    if name not in SERVICES and name != CONSOLE:
        raise LookupError(f"unknown service {name!r}; one of: {', '.join([*SERVICES, CONSOLE])}")
    return importlib.import_module(f"services.{name}.spec").SPEC
