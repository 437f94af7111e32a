"""``yunkefu user``: console accounts from the command line — the first administrator, invitations, a list.

Works on the console's database (``Settings.from_env("console")``: ``CONSOLE_DATABASE_URL`` or the
default), which ``yunkefu migrate console`` creates.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from services.console import accounts
from services.console.config import ConsoleConfig
from services.console.models import User
from shared.auth import ROLES
from shared.config import ConfigError, Settings
from shared.db import Database
from shared.uow import Actor, UnitOfWork, unit_of_work

#: Who the audit trail and the accounts see acting when an operator runs ``yunkefu user``.
CLI_ACTOR = Actor.system("cli")


def _database() -> Database:
    return Database(Settings.from_env("console").database_url)


def _fail(message: str) -> None:
    click.echo(f"yunkefu user: {message}", err=True)
    sys.exit(2)


def _bindings(merchant_id: str | None, candidate_id: str | None) -> dict[str, Any]:
    return {"merchant_id": merchant_id, "candidate_id": candidate_id}


def _run(action: Any) -> Any:
    """Run ``action(uow)`` in one unit of work (committed at the end); refusals and a missing schema are
    one line, exit 2."""
    database = _database()
    try:
        with unit_of_work(database, actor=CLI_ACTOR) as uow:
            return action(uow)
    except accounts.AccountError as exc:
        _fail(exc.message % exc.variables if exc.variables else exc.message)
    except SQLAlchemyError as exc:
        _fail(
            f"the console database is not usable ({type(exc).__name__}); "
            "create its tables with `yunkefu migrate console`"
        )
    finally:
        database.dispose()


_common = [
    click.option("--role", type=click.Choice(ROLES), required=True, help="the user's role"),
    click.option("--email", required=True, help="the e-mail address they sign in with"),
    click.option("--name", "display_name", default="", help="the name shown in the console"),
    click.option("--merchant-id", default=None, help="merchant users: the merchant whose projects they see"),
    click.option("--candidate-id", default=None, help="agents: their candidate id in the talent pool"),
]


def _with_common(command: Any) -> Any:
    for option in reversed(_common):
        command = option(command)
    return command


@click.group("user")
def user() -> None:
    """Console accounts: create the first administrator, invite people, list accounts."""


@user.command("create")
@_with_common
@click.option(
    "--password",
    default=None,
    help="the password (default: asked for twice on the terminal, never echoed); see the password rules",
)
def create(
    role: str,
    email: str,
    display_name: str,
    merchant_id: str | None,
    candidate_id: str | None,
    password: str | None,
) -> None:
    """Create an account with a password, ready to sign in (e.g. the first administrator)."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    created = _run(
        lambda uow: (
            accounts.create_user(
                uow,
                email=email,
                role=role,
                display_name=display_name,
                password=password,
                **_bindings(merchant_id, candidate_id),
            ).email
        )
    )
    click.echo(f"created {role} {created}; sign in at the console")


@user.command("invite")
@_with_common
def invite(
    role: str, email: str, display_name: str, merchant_id: str | None, candidate_id: str | None
) -> None:
    """Create an account without a password and print its one-time invitation link."""
    try:
        config = ConsoleConfig.from_settings(Settings.from_env("console"))
    except ConfigError as exc:
        _fail(str(exc))

    def action(uow: UnitOfWork) -> str:
        _user, token = accounts.invite_user(
            uow,
            email=email,
            role=role,
            hours=config.invitation_hours,
            display_name=display_name,
            **_bindings(merchant_id, candidate_id),
        )
        return token

    token = _run(action)
    click.echo(
        f"invited {role} {accounts.normalize_email(email)}; "
        f"the link works once, for {config.invitation_hours} hours:"
    )
    click.echo(f"{config.public_url}/invite/{token}")


@user.command("unlock")
@click.option("--email", required=True, help="the account to unlock")
def unlock(email: str) -> None:
    """Lift a lock-out after repeated failed sign-ins (also when no administrator can sign in)."""

    def action(uow: UnitOfWork) -> None:
        found = uow.session.scalar(select(User).where(User.email == accounts.normalize_email(email)))
        if found is None:
            raise accounts.AccountError("no user with the e-mail address %(email)s", email=email)
        accounts.unlock(uow, found)

    _run(action)
    click.echo(f"unlocked {accounts.normalize_email(email)}")


@user.command("list")
@click.option("--role", type=click.Choice(ROLES), default=None, help="only this role")
def list_users(role: str | None) -> None:
    """The accounts: e-mail, role, binding, state, last sign-in."""

    def action(uow: UnitOfWork) -> list[tuple[str, ...]]:
        query = select(User).order_by(User.role, User.email)
        if role:
            query = query.where(User.role == role)
        rows = []
        now = uow.now()
        for found in uow.session.scalars(query):
            state = (
                "inactive"
                if not found.active
                else "invited"
                if not found.password_hash
                else "locked"
                if accounts.is_locked(found, now)
                else "active"
            )
            binding = found.merchant_id or found.candidate_id or ""
            last = found.last_sign_in_at.isoformat(timespec="seconds") if found.last_sign_in_at else "never"
            rows.append((found.email, found.role, binding, state, last))
        return rows

    rows = _run(action)
    if not rows:
        click.echo("no users")
        return
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        click.echo("  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)))
