"""Reading settings from the environment: the one set of parsers every ``config.py`` uses.

Standard library only, so a service's pure domain may import its settings type without pulling in the
database, web or broker layers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A setting that must not reach a running process; the message says which one and how to fix it."""


# --- reading settings: the one set of parsers every service's ``config.py`` uses ------------------------
#
# A setting that is absent or blank takes its default; a malformed one raises ``ConfigError`` naming the
# key, so a bad value stops the start-up with one clear line instead of failing requests later.


def _raw(env: Mapping[str, str], key: str) -> str | None:
    raw = env.get(key)
    return None if raw is None or raw.strip() == "" else raw.strip()


def env_str(env: Mapping[str, str], key: str, default: str) -> str:
    raw = _raw(env, key)
    return default if raw is None else raw


def env_int(
    env: Mapping[str, str], key: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    raw = _raw(env, key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{key} must be an integer, got {raw!r}") from exc
    _check_range(key, value, minimum, maximum)
    return value


def env_float(
    env: Mapping[str, str],
    key: str,
    default: float,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float:
    raw = _raw(env, key)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{key} must be a number, got {raw!r}") from exc
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(f"{key} must be a finite number, got {raw!r}")
    _check_range(key, value, minimum, maximum)
    return value


def env_decimal(
    env: Mapping[str, str],
    key: str,
    default: Decimal,
    *,
    minimum: Decimal | None = None,
    maximum: Decimal | None = None,
) -> Decimal:
    raw = _raw(env, key)
    if raw is None:
        return default
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise ConfigError(f"{key} must be a decimal number, got {raw!r}") from exc
    if not value.is_finite():
        raise ConfigError(f"{key} must be a finite number, got {raw!r}")
    _check_range(key, value, minimum, maximum)
    return value


def env_flag(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = _raw(env, key)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{key} must be true or false, got {raw!r}")


def _check_range(key: str, value: Any, minimum: Any, maximum: Any) -> None:
    if minimum is not None and value < minimum:
        raise ConfigError(f"{key} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{key} must be at most {maximum}, got {value}")


def service_environ(service: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """A service's own settings: the ``<SERVICE>_*`` variables (what ``Settings.extra`` holds)."""
    env = os.environ if environ is None else environ
    prefix = f"{service.upper()}_"
    return {k: v for k, v in env.items() if k.startswith(prefix)}


def load_section(
    service: str, parse: Callable[[Mapping[str, str]], T], extra: Mapping[str, str] | None = None
) -> T:
    """A service's own typed settings (its ``config.py``): from ``Settings.extra`` when given (an app
    built with explicit settings), else from the process environment (the worker, the CLI)."""
    return parse(service_environ(service) if extra is None else extra)
