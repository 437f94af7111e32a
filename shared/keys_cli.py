"""``yunkefu keys``: the Ed25519 key pairs service tokens are signed with (see docs/operations.md).

The console alone holds a private key; every service gets the public keys (``JWT_PUBLIC_KEYS``) and
accepts a token whose ``kid`` names one of them.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from shared.config import ConfigError, Settings
from shared.keys import Keyring, SigningKey, generate_key_pair, jwks, load_keyring


@click.group("keys")
def keys() -> None:
    """Generate and inspect the key pairs service tokens are signed with."""


@keys.command("generate")
@click.option(
    "--dir",
    "directory",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="where to write <NAME>.key.pem (mode 0600) and <NAME>.pub.pem",
)
@click.option("--name", default=None, help="file name stem (default: yunkefu-<date>-<kid prefix>)")
def generate(directory: Path, name: str | None) -> None:
    """Write a new Ed25519 key pair; prints its kid and both paths."""
    import datetime as dt
    import secrets

    stem = name or f"yunkefu-{dt.date.today():%Y%m%d}-{secrets.token_hex(3)}"
    try:
        private_path, public_path = generate_key_pair(directory, stem)
    except (FileExistsError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    kid = SigningKey.load(private_path).kid
    click.echo(f"kid: {kid}")
    click.echo(f"private key: {private_path}  (the console only: JWT_PRIVATE_KEY_FILE)")
    click.echo(f"public key:  {public_path}  (every service: add to JWT_PUBLIC_KEYS)")


def _keyring_or_exit() -> Keyring:
    try:
        return load_keyring(Settings.from_env("cli"))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@keys.command("list")
def list_keys() -> None:
    """The kids of the public keys in JWT_PUBLIC_KEYS (tokens signed by these are accepted)."""
    keyring = _keyring_or_exit()
    if not keyring.kids:
        raise click.ClickException("JWT_PUBLIC_KEYS holds no public key")
    for kid in keyring.kids:
        click.echo(kid)


@keys.command("jwks")
def print_jwks() -> None:
    """Print the public keys of JWT_PUBLIC_KEYS as a JSON Web Key Set."""
    keyring = _keyring_or_exit()
    click.echo(json.dumps(jwks(keyring), indent=2))
