"""The ``yunkefu`` command: web, worker, migrate, broker, token, dlq, outbox."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import click

from shared.auth import ROLES, load_signing_key, mint_token
from shared.config import SERVICES, ConfigError, Settings, validate_for_start
from shared.keys_cli import keys as keys_group
from shared.service import CONSOLE


def _settings(service: str) -> Settings:
    return Settings.from_env(service)


def _unknown(ctx: click.Context, value: str, known: list[str]) -> None:
    # Checked before the command runs, so a typo creates no SQLite file, queue or connection.
    command = " ".join(["yunkefu", *ctx.command_path.split()[1:]])  # the same however we were invoked
    click.echo(f"{command}: unknown service {value!r}; one of: {', '.join(known)}", err=True)
    ctx.exit(2)


def _service_or_all(ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if value != "all" and value not in SERVICES:
        _unknown(ctx, value, [*SERVICES, "all"])
    return value


def _service_or_spec(ctx: click.Context, _param: click.Parameter, value: str) -> str:
    # ``module:ATTR`` names a ServiceSpec outside services/ (the event-bus tests run one)
    if ":" not in value and value not in SERVICES:
        _unknown(ctx, value, list(SERVICES))
    return value


def _start_settings(service: str) -> Settings:
    """Settings a long-running process may start with; a refusal is one line and exit code 2."""
    try:
        settings = _settings(service)
        validate_for_start(settings)
    except (ConfigError, ValueError) as exc:  # ValueError: a number setting that is not one
        click.echo(f"yunkefu: {exc}", err=True)
        sys.exit(2)
    return settings


#: Commands that live outside the platform package, found when called (so ``shared`` imports no service
#: and the runtime never imports developer tooling): name → the service whose spec contributes it, or
#: ``module:attribute`` of a developer tool.
CONTRIBUTED_COMMANDS: dict[str, str] = {
    "user": CONSOLE,  # `yunkefu user create|invite|list|unlock`: the console's accounts
    "seed": "devtools.seed:seed",  # demo data through the public APIs
}


class _Main(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *CONTRIBUTED_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in CONTRIBUTED_COMMANDS:
            return command
        source = CONTRIBUTED_COMMANDS[cmd_name]
        if ":" in source:
            module_name, _, attribute = source.partition(":")
            return getattr(importlib.import_module(module_name), attribute)
        from shared.service import load_spec

        return {c.name: c for c in load_spec(source).commands}.get(cmd_name)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """yunkefu — the outsourced customer-service vendor's system (six services over RabbitMQ)."""


@main.command()
@click.argument("service", callback=_service_or_spec)
@click.option("--host", envvar="BIND_HOST", default="127.0.0.1", show_default=True, help="env: BIND_HOST")
@click.option("--port", type=int, default=None, help="default: the service's port (8001…8007 + PORT_OFFSET)")
def web(service: str, host: str, port: int | None) -> None:
    """Run a service's API on Flask's development server (production: gunicorn, see the Procfile)."""
    from shared.service import load_spec

    spec = load_spec(service)
    settings = _start_settings(spec.name)
    spec.create_app(settings=settings).run(host=host, port=port or settings.port, threaded=True)


@main.command()
@click.argument("service", callback=_service_or_spec)
def worker(service: str) -> None:
    """Run a service's consumer, outbox relay and periodic jobs until SIGTERM."""
    from shared.service import load_spec
    from shared.worker import main as run_worker

    spec = load_spec(service)
    run_worker(spec, _start_settings(spec.name))


@main.command()
@click.option(
    "--procfile", type=click.Path(exists=True, dir_okay=False), default="Procfile", show_default=True
)
@click.argument("processes", nargs=-1)
def run(procfile: str, processes: tuple[str, ...]) -> None:
    """Run the Procfile's processes (all, or the named ones) under honcho until Ctrl-C or SIGTERM.

    Unlike ``honcho start`` (130/143 whatever happened), a requested stop exits 0 when every process
    stopped cleanly, and non-zero when one failed. A process whose system program is not installed (the
    gateway without caddy) is skipped with one warning line, or refused when asked for by name.
    """
    from honcho.environ import parse_procfile
    from honcho.manager import Manager
    from honcho.printer import Printer

    entries = parse_procfile(Path(procfile).read_text(encoding="utf-8")).processes
    unknown = [name for name in processes if name not in entries]
    if unknown:
        click.echo(f"yunkefu run: not in {procfile}: {', '.join(unknown)}", err=True)
        sys.exit(2)
    selected, skipped = _select_processes({name: entries[name] for name in processes or entries})
    for name, program in skipped.items():
        line = f"{name}: {program} is not installed (install it with {_SYSTEM_PROGRAMS[program]})"
        if processes:  # asked for by name: starting the rest would not be what was asked
            click.echo(f"yunkefu run: cannot start {line}", err=True)
            sys.exit(2)
        click.echo(f"yunkefu run: skipping {line}; everything else runs", err=True)
    manager = Manager(Printer(sys.stdout))
    for name in selected:
        manager.add_process(name, entries[name], env=dict(os.environ))
    restore_terminal = _own_foreground_group()
    try:
        manager.loop()
    finally:
        restore_terminal()
    # honcho keeps each process's exit code only in this private table (it prints, but does not return, them)
    codes = [p.get("returncode") for p in manager._processes.values()]
    sys.exit(_run_exit_code(manager.returncode, codes))


#: Programs a Procfile process may run that come from the system, not from PyPI (``make install`` gets them
#: with apt-get when it runs as root): without one, ``yunkefu run`` skips its processes, and says how to
#: install it, instead of letting its shell exit 127, which would make honcho stop everything else.
_SYSTEM_PROGRAMS: dict[str, str] = {
    "caddy": "`sudo apt-get install caddy`, or `make install` as root",
}


def _select_processes(
    entries: dict[str, str], which: Callable[[str], str | None] | None = None
) -> tuple[list[str], dict[str, str]]:
    """The Procfile processes that can start here, in order, and the skipped ones (name → missing program).

    A process needs a system program when the program is one of its command's words (the Procfile runs it
    as ``exec env VAR=… caddy run …``); ``which`` finds programs on PATH (``shutil.which`` by default).
    """
    import shutil

    find = which or shutil.which
    missing = {program for program in _SYSTEM_PROGRAMS if find(program) is None}
    selected: list[str] = []
    skipped: dict[str, str] = {}
    for name, command in entries.items():
        needed = sorted(missing & set(command.split()))
        if needed:
            skipped[name] = needed[0]
        else:
            selected.append(name)
    return selected, skipped


#: what a process stopped by us returns: gunicorn and ``yunkefu worker`` exit 0 on SIGTERM; a shell
#: killed before it could exec reports the signal
_CLEAN_STOPS = frozenset({0, -signal.SIGTERM, -signal.SIGINT, 128 + signal.SIGTERM})


def _run_exit_code(manager_code: int | None, process_codes: list[int | None]) -> int:
    """0 after a requested stop (honcho's own 130/143) when every process stopped cleanly."""
    if manager_code in (128 + signal.SIGINT, 128 + signal.SIGTERM):
        return 0 if all(code in _CLEAN_STOPS for code in process_codes) else 1
    return manager_code or 0


def _own_foreground_group() -> Callable[[], None]:
    """Take the terminal's foreground for our own process group until the returned undo is called.

    Ctrl-C signals the whole foreground group, and ``make`` dies by SIGINT (status 130) whatever its
    recipe returns; in a group of our own only we (and honcho's helpers, which ignore it) see Ctrl-C.
    """
    try:
        tty = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        return lambda: None
    previous = os.tcgetpgrp(tty)
    if previous != os.getpgrp():  # started in the background: leave the terminal alone
        os.close(tty)
        return lambda: None

    def hand_to(group: int) -> None:
        old = signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # a background group may not take the tty
        try:
            os.tcsetpgrp(tty, group)
        finally:
            signal.signal(signal.SIGTTOU, old)

    try:
        os.setpgid(0, 0)
        hand_to(os.getpgrp())
    except OSError:
        os.close(tty)
        return lambda: None

    def restore() -> None:
        with contextlib.suppress(OSError):
            hand_to(previous)
        os.close(tty)

    return restore


def _migratable(ctx: click.Context, _param: click.Parameter, value: str) -> str:
    # the console has a database (and migrations) of its own but is not one of the six services
    if value not in ("all", CONSOLE, *SERVICES):
        _unknown(ctx, value, [*SERVICES, CONSOLE, "all"])
    return value


@main.command()
@click.argument("service", default="all", callback=_migratable)
@click.option("--revision", default="head", show_default=True)
def migrate(service: str, revision: str) -> None:
    """Upgrade one service's database (or all six and the console's) to the latest schema."""
    from shared.migrate import upgrade
    from shared.service import load_spec

    names = [*SERVICES, CONSOLE] if service == "all" else [service]
    for name in names:
        spec = load_spec(name)
        settings = _settings(spec.name)
        upgrade(spec, settings.database_url, revision)
        click.echo(f"{spec.name}: migrated to {revision} ({_safe_url(settings.database_url)})")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@main.command()
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--merchant-id", default=None, help="required for --role merchant")
@click.option("--sub", default=None, help="the subject; for an agent, their candidate id")
@click.option("--ttl", "ttl_seconds", type=int, default=None, help="seconds; default JWT_TTL_SECONDS")
def token(role: str, merchant_id: str | None, sub: str | None, ttl_seconds: int | None) -> None:
    """Mint a development JWT signed with the private key (JWT_PRIVATE_KEY_FILE; in development the
    generated var/keys/dev.key.pem)."""
    settings = Settings.from_env("cli")
    try:
        key = load_signing_key(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        click.echo(
            mint_token(
                key,
                role,
                sub=sub,
                merchant_id=merchant_id,
                ttl_seconds=ttl_seconds or settings.jwt_ttl_seconds,
            )
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


@main.command()
@click.option("--use-running", is_flag=True, help="play against services already on ports 8001…8007")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="seconds to wait for each event")
def demo(use_running: bool, timeout: float) -> None:
    """Play seed 004's story end to end through the public APIs; exit 1 if any outcome differs."""
    from devtools.demo import run_demo

    sys.exit(run_demo(use_running=use_running, timeout=timeout))


main.add_command(keys_group)


@main.group()
def dlq() -> None:
    """Inspect and replay a service's dead-letter queue."""


def _service_name(service: str) -> str:
    """A service name, or the name of the ``module:ATTR`` spec given instead (the event-bus tests' app)."""
    if ":" not in service:
        return service
    from shared.service import load_spec

    return load_spec(service).name


@dlq.command("list")
@click.argument("service", callback=_service_or_spec)
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
def dlq_list(service: str, limit: int, as_json: bool) -> None:
    from shared.events.dlq import list_dead_letters

    service = _service_name(service)
    letters = list_dead_letters(_settings(service), limit=limit)
    if not letters:
        click.echo(f"{service}: the dead-letter queue is empty")
        return
    for letter in letters:
        if as_json:
            click.echo(json.dumps(letter.to_dict(), ensure_ascii=False))
        else:
            click.echo(
                f"{letter.message_id}  {letter.event_type or '?'}  attempts={letter.attempts}  "
                f"failed_at={letter.failed_at or '?'}  error={letter.error or '?'}"
            )
    click.echo(f"{len(letters)} message(s)")


@dlq.command("replay")
@click.argument("service", callback=_service_or_spec)
@click.option("--id", "event_id", default=None, help="replay only this event id (default: all)")
def dlq_replay(service: str, event_id: str | None) -> None:
    from shared.events.dlq import replay

    service = _service_name(service)
    replayed = replay(_settings(service), event_id=event_id)
    for message_id in replayed:
        click.echo(f"replayed {message_id}")
    click.echo(f"{len(replayed)} message(s) replayed to the {service} queue")
    if event_id and not replayed:
        sys.exit(1)


@main.group()
def broker() -> None:
    """The broker's exchange and queues (declared once per deployment, before the processes start)."""


def _broker_settings() -> Settings:
    # the exchange, queue and retry settings are the same for every service: any one's will do
    try:
        return _settings(next(iter(SERVICES)))
    except ValueError as exc:  # a setting that is not one (QUEUE_TYPE=x, MAX_DELIVERY_ATTEMPTS=many)
        click.echo(f"yunkefu: {exc}", err=True)
        sys.exit(2)


@broker.command("setup")
@click.option(
    "--wait", "wait_seconds", type=float, default=0.0, show_default=True, help="wait this long for the broker"
)
def broker_setup(wait_seconds: float) -> None:
    """Declare the exchange, every service's queue (QUEUE_TYPE), retry and dead-letter queues: idempotent.

    Run once per deployment before the processes start (`make migrate`, the compose `migrate` service and
    the Kubernetes migration Job do): the processes only check that it is there. A queue of another type is
    replaced when it is empty and unused, and refused otherwise."""
    import time

    from shared.events import topology
    from shared.events.publisher import CONNECTION_ERRORS

    settings = _broker_settings()
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            replaced = topology.setup(settings)
            break
        except topology.TopologyConflict as exc:
            click.echo(f"yunkefu broker setup: {exc}", err=True)
            sys.exit(1)
        except CONNECTION_ERRORS as exc:
            if time.monotonic() >= deadline:
                where = _safe_url(settings.amqp_url)
                click.echo(f"yunkefu broker setup: the broker at {where} does not answer ({exc!r})", err=True)
                sys.exit(1)
            time.sleep(1.0)
    for queue in replaced:
        click.echo(f"replaced {queue} (it was empty and of another type)")
    queues = topology.declared_queues(settings)
    click.echo(
        f"broker ready: {topology.exchange_name(settings.broker_prefix)} and {len(queues)} queues "
        f"({settings.queue_type}) at {_safe_url(settings.amqp_url)}"
    )


@broker.command("check")
def broker_check() -> None:
    """Exit 0 when every queue the processes need is there, 1 (naming what is missing) otherwise."""
    from shared.events import topology
    from shared.events.publisher import CONNECTION_ERRORS, connect

    settings = _broker_settings()
    try:
        connection = connect(settings.amqp_url, name="yunkefu-broker-check", timeout=5.0)
    except CONNECTION_ERRORS as exc:
        click.echo(f"yunkefu broker check: the broker does not answer ({exc!r})", err=True)
        sys.exit(1)
    try:
        queues = topology.declared_queues(settings)
        absent = topology.missing(connection, settings, queues)
    finally:
        if connection.is_open:
            connection.close()
    if absent:
        click.echo(f"missing: {', '.join(absent)}; run `yunkefu broker setup`", err=True)
        sys.exit(1)
    click.echo(f"broker ready: {len(queues)} queues under {settings.broker_prefix}")


@main.group()
def outbox() -> None:
    """The transactional outbox of each service."""


@outbox.command("status")
@click.argument("service", default="all", callback=_service_or_all)
def outbox_status(service: str) -> None:
    """Pending events and the age of the oldest, per service."""
    from sqlalchemy.exc import SQLAlchemyError

    from shared.db import Database
    from shared.events.outbox import outbox_stats

    names = list(SERVICES) if service == "all" else [service]
    for name in names:
        settings = _settings(name)
        database = Database(settings.database_url)
        try:
            with database.session() as session:
                stats = outbox_stats(session)
            age = (
                "-"
                if stats.oldest_pending_age_seconds is None
                else f"{stats.oldest_pending_age_seconds:.1f}s"
            )
            click.echo(f"{name:12} pending={stats.pending:<6} oldest={age:<8} failing={stats.failing}")
        except SQLAlchemyError as exc:
            click.echo(f"{name:12} unavailable: {str(exc).splitlines()[0]} (run `yunkefu migrate {name}`?)")
        finally:
            database.dispose()


def _aware(_ctx: click.Context, _param: click.Parameter, value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time, e.g. 2026-11-11T08:00:00+08:00"
        ) from None
    if moment.tzinfo is None:
        raise click.BadParameter("give the UTC offset too, e.g. 2026-11-11T08:00:00+08:00")
    return moment


@outbox.command("republish")
@click.argument("service", default="all", callback=_service_or_all)
@click.option("--since", required=True, callback=_aware, help="published at or after this time (with offset)")
@click.option("--type", "event_types", multiple=True, help="only events of this type (repeatable)")
@click.option("--yes", is_flag=True, help="do it (without it: only count)")
def outbox_republish(service: str, since: dt.datetime, event_types: tuple[str, ...], yes: bool) -> None:
    """Send again the events published since a time: after a consumer's database was restored to it.

    Every consumer skips what it already handled (by event id); the restored one handles what it lost.
    Without --yes it only counts them."""
    from sqlalchemy.exc import SQLAlchemyError

    from shared.db import Database
    from shared.events import catalogue
    from shared.events.outbox import republish_since

    unknown = [t for t in event_types if t not in {e.name for e in catalogue.all_event_types()}]
    if unknown:
        click.echo(f"yunkefu outbox republish: unknown event type(s) {', '.join(unknown)}", err=True)
        sys.exit(2)
    total = 0
    for name in list(SERVICES) if service == "all" else [service]:
        database = Database(_settings(name).database_url)
        try:
            with database.session() as session:
                count = republish_since(session, since, event_types, dry_run=not yes)
        except SQLAlchemyError as exc:
            click.echo(f"{name:12} unavailable: {str(exc).splitlines()[0]} (run `yunkefu migrate {name}`?)")
            continue
        finally:
            database.dispose()
        total += count
        click.echo(f"{name:12} {'republishing' if yes else 'would republish'} {count}")
    if not yes:
        click.echo(f"{total} event(s) in all; run again with --yes to send them")


if __name__ == "__main__":  # pragma: no cover
    main()
