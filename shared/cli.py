"""The ``yunkefu`` command: web, worker, migrate, token, dlq, outbox."""

from __future__ import annotations

import json
import sys

import click

from shared.config import SERVICES, Settings


def _settings(service: str) -> Settings:
    return Settings.from_env(service)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """yunkefu — the outsourced customer-service vendor's system (six services over RabbitMQ)."""


@main.command()
@click.argument("service")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="default: the service's port (8001…8006)")
def web(service: str, host: str, port: int | None) -> None:
    """Run a service's API on Flask's development server (production: gunicorn, see the Procfile)."""
    from shared.service import load_spec

    spec = load_spec(service)
    settings = _settings(spec.name)
    spec.create_app(settings=settings).run(host=host, port=port or settings.port, threaded=True)


@main.command()
@click.argument("service")
def worker(service: str) -> None:
    """Run a service's consumer, outbox relay and periodic jobs until SIGTERM."""
    from shared.service import load_spec
    from shared.worker import main as run_worker

    spec = load_spec(service)
    run_worker(spec, _settings(spec.name))


@main.command()
@click.argument("service", default="all")
@click.option("--revision", default="head", show_default=True)
def migrate(service: str, revision: str) -> None:
    """Upgrade one service's database (or all six) to the latest schema."""
    from shared.migrate import upgrade
    from shared.service import load_spec

    names = list(SERVICES) if service == "all" else [service]
    for name in names:
        spec = load_spec(name)
        settings = _settings(spec.name)
        upgrade(spec, settings.database_url, revision)
        click.echo(f"{spec.name}: migrated to {revision} ({_safe_url(settings.database_url)})")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@main.command()
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "vendor", "merchant", "trainer", "supervisor", "finance", "agent"]),
)
@click.option("--merchant-id", default=None, help="required for --role merchant")
@click.option("--sub", default=None, help="the subject; for an agent, their candidate id")
@click.option("--ttl", "ttl_seconds", type=int, default=None, help="seconds; default JWT_TTL_SECONDS")
def token(role: str, merchant_id: str | None, sub: str | None, ttl_seconds: int | None) -> None:
    """Mint a development JWT signed with JWT_SECRET."""
    from shared.auth import mint_token

    settings = Settings.from_env("cli")
    try:
        click.echo(
            mint_token(
                settings.jwt_secret,
                role,
                sub=sub,
                merchant_id=merchant_id,
                ttl_seconds=ttl_seconds or settings.jwt_ttl_seconds,
            )
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


@main.command()
@click.option("--use-running", is_flag=True, help="play against services already on ports 8001…8006")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="seconds to wait for each event")
def demo(use_running: bool, timeout: float) -> None:
    """Play seed 004's story end to end through the public APIs; exit 1 if any outcome differs."""
    from shared.demo import run_demo

    sys.exit(run_demo(use_running=use_running, timeout=timeout))


@main.group()
def dlq() -> None:
    """Inspect and replay a service's dead-letter queue."""


@dlq.command("list")
@click.argument("service")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
def dlq_list(service: str, limit: int, as_json: bool) -> None:
    from shared.events.dlq import list_dead_letters

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
@click.argument("service")
@click.option("--id", "event_id", default=None, help="replay only this event id (default: all)")
def dlq_replay(service: str, event_id: str | None) -> None:
    from shared.events.dlq import replay

    replayed = replay(_settings(service), event_id=event_id)
    for message_id in replayed:
        click.echo(f"replayed {message_id}")
    click.echo(f"{len(replayed)} message(s) replayed to the {service} queue")
    if event_id and not replayed:
        sys.exit(1)


@main.group()
def outbox() -> None:
    """The transactional outbox of each service."""


@outbox.command("status")
@click.argument("service", default="all")
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


if __name__ == "__main__":  # pragma: no cover
    main()
