"""JWT bearer auth, roles and tenant scoping shared by every service.

Tokens are EdDSA (Ed25519) JWTs whose header names the signing key (``kid``). Only the console (and the
``yunkefu token`` development command) hold a private key (``JWT_PRIVATE_KEY_FILE``); every service holds
the public keys alone (``JWT_PUBLIC_KEYS``) and verifies tokens locally (no auth service to call, so a
service keeps answering while the others are down), so no service can mint a token. A key's id is the
RFC 7638 thumbprint of its public key, computed rather than named, so rotation is: publish the new public
key everywhere, switch the console's private key, and remove the old public key once its tokens expired.
The claims are those of the contract: ``sub``, ``role`` and, for merchants, ``merchant_id``.

Tenant rule: a merchant only ever sees its own merchant's data. ``tenant_scope()`` gives the filter a
list query must apply and ``ensure_tenant_access()`` guards a single row, answering 404 (not 403) so that
a merchant cannot learn that another merchant's project exists.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

import jwt
from flask import Flask, current_app, g, has_request_context, request

from shared.config import Settings
from shared.errors import Forbidden, NotFound, Unauthorized
from shared.keys import ALGORITHM, Keyring, SigningKey, load_keyring

# Key handling lives in shared.keys; these names stay importable from here for existing importers.
from shared.keys import DEV_PRIVATE_KEY_NAME as DEV_PRIVATE_KEY_NAME
from shared.keys import DEV_PUBLIC_KEY_NAME as DEV_PUBLIC_KEY_NAME
from shared.keys import ensure_dev_key_pair as ensure_dev_key_pair
from shared.keys import generate_key_pair as generate_key_pair
from shared.keys import jwks as jwks
from shared.keys import key_id as key_id
from shared.keys import load_signing_key as load_signing_key
from shared.uow import Actor

ROLES: tuple[str, ...] = (
    "admin",
    "vendor",
    "merchant",
    "trainer",
    "supervisor",
    "finance",
    "agent",
    "qa",
)
#: The roles on the vendor's side: they see every merchant's data (scoped by role, not by tenant).
VENDOR_SIDE_ROLES: frozenset[str] = frozenset(ROLES) - {"merchant", "agent"}
#: Tolerated clock skew between the minting host and this one.
LEEWAY_SECONDS = 30
BEARER_SCHEME_NAME = "bearerAuth"
BEARER_SECURITY_SCHEME: dict[str, str] = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "`Authorization: Bearer <JWT>` (EdDSA/Ed25519, header `kid`). "
    "Claims: sub, role, merchant_id (merchants).",
}

P = ParamSpec("P")
R = TypeVar("R")


# --- tokens ---------------------------------------------------------------------------------------------


def mint_token(
    key: SigningKey,
    role: str,
    *,
    sub: str | None = None,
    merchant_id: str | None = None,
    ttl_seconds: int = 8 * 3600,
    now: dt.datetime | None = None,
) -> str:
    """A signed token naming its key (``kid``); ``now`` lets tests mint tokens that are already expired."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of: {', '.join(ROLES)}")
    if role == "merchant" and not merchant_id:
        raise ValueError("a merchant token needs a merchant_id")
    if role != "merchant" and merchant_id:
        # Silently carrying it would suggest a tenant scope that no check honours for other roles.
        raise ValueError(f"merchant_id only belongs in merchant tokens, not in a {role} token")
    issued = now or dt.datetime.now(dt.UTC)
    claims: dict[str, Any] = {
        "sub": sub or str(uuid.uuid4()),
        "role": role,
        "iat": int(issued.timestamp()),
        "exp": int((issued + dt.timedelta(seconds=ttl_seconds)).timestamp()),
    }
    if role == "merchant":
        claims["merchant_id"] = merchant_id
    return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})


class _VerifiedTokens:
    """Tokens already verified in this process: the actor each carries, its key id and its expiry.

    A client sends the same token with every request for hours; verifying its Ed25519 signature again
    each time was a tenth of a read request's CPU. A hit is honoured only while the token has not expired
    and its key is still in the keyring (a kid is the key's thumbprint, so the same kid is the same key):
    retiring a key or letting a token expire takes effect at once, as without the cache. Only successes
    are kept, at most ``size`` of them (the oldest go first).
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._entries: dict[str, tuple[Actor, str, float]] = {}
        self._lock = threading.Lock()

    def get(self, token: str, keyring: Keyring) -> Actor | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        actor, kid, expires = entry
        if time.time() >= expires + LEEWAY_SECONDS or kid not in keyring:
            return None
        return actor

    def put(self, token: str, actor: Actor, kid: str, expires: float) -> None:
        with self._lock:
            while len(self._entries) >= self.size:
                self._entries.pop(next(iter(self._entries)))
            self._entries[token] = (actor, kid, expires)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_verified = _VerifiedTokens()


def decode_token(token: str, keyring: Keyring) -> Actor:
    """Verify algorithm, key, signature and expiry; every failure is a 401 whose detail says which."""
    cached = _verified.get(token, keyring)
    if cached is not None:
        return cached
    actor, kid, expires = _verify(token, keyring)
    _verified.put(token, actor, kid, expires)
    return actor


def _verify(token: str, keyring: Keyring) -> tuple[Actor, str, float]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("The token is malformed; expected a JWT signed with EdDSA.") from exc
    alg = header.get("alg")
    # A fixed algorithm: never trust the token's own "alg" (that is how "none" and HS256-with-the-public-
    # key tokens get in). The old shared-secret (HS256) tokens end here.
    if alg != ALGORITHM:
        raise Unauthorized(f"Token algorithm not accepted; tokens must be {ALGORITHM} (this one is {alg!r}).")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Unauthorized("The token names no signing key (no 'kid' header); sign in again for a new one.")
    public_key = keyring.get(kid)
    if public_key is None:
        raise Unauthorized(
            f"The token is signed by an unknown key (kid {kid!r}): it was not issued by us, or its key was "
            "retired; sign in again for a new one."
        )
    try:
        claims = jwt.decode(
            token,
            public_key,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub", "role"]},
            leeway=LEEWAY_SECONDS,
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("The token has expired; sign in again for a new one.") from exc
    except jwt.InvalidSignatureError as exc:
        raise Unauthorized("The token's signature does not verify: it was not issued by us.") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise Unauthorized(f"Token algorithm not accepted; tokens must be {ALGORITHM}.") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthorized(f"The token lacks the required claim {exc.claim!r}.") from exc
    except jwt.ImmatureSignatureError as exc:
        raise Unauthorized("The token is not valid yet (issued in the future).") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("The token is malformed; expected a JWT signed with EdDSA.") from exc

    sub, role, merchant_id = claims.get("sub"), claims.get("role"), claims.get("merchant_id")
    if not isinstance(sub, str) or not sub:
        raise Unauthorized("The token's 'sub' claim must be a non-empty string.")
    if role not in ROLES:
        raise Unauthorized(f"The token's role {role!r} is unknown; roles are: {', '.join(ROLES)}.")
    expires = float(claims["exp"])
    if role == "merchant":
        if not isinstance(merchant_id, str) or not merchant_id:
            raise Unauthorized("A merchant token must carry a 'merchant_id' claim.")
        return Actor(sub=sub, role=role, merchant_id=merchant_id), kid, expires
    return Actor(sub=sub, role=role), kid, expires


# --- Flask helpers --------------------------------------------------------------------------------------

_G_PRINCIPAL = "_yunkefu_principal"


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    if not header.strip():
        raise Unauthorized("This endpoint needs a token: send 'Authorization: Bearer <JWT>'.")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("The Authorization header must be 'Bearer <JWT>'.")
    return token.strip()


def current_principal() -> Actor:
    """The caller of this request, verified once and cached for the rest of it (401 if none/invalid)."""
    cached = g.get(_G_PRINCIPAL)
    if cached is not None:
        return cached
    principal = decode_token(_bearer_token(), _keyring())
    setattr(g, _G_PRINCIPAL, principal)
    return principal


def optional_principal() -> Actor | None:
    """The caller if a valid token came, None without an Authorization header; a bad token is still 401."""
    if not has_request_context() or not request.headers.get("Authorization", "").strip():
        return None
    return current_principal()


#: ``app.extensions`` key of the settings an app verifies tokens with (``init_app``).
SETTINGS_EXTENSION_KEY = "yunkefu.auth_settings"


def init_app(app: Flask, settings: Settings) -> None:
    """Verify this app's bearer tokens with the keys ``settings`` names (the app factory calls it)."""
    app.extensions[SETTINGS_EXTENSION_KEY] = settings


def _keyring() -> Keyring:
    return load_keyring(current_app.extensions[SETTINGS_EXTENSION_KEY])


def _check_roles(roles: tuple[str, ...]) -> None:
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown role(s) {unknown}; one of: {', '.join(ROLES)}")


def require_roles(*roles: str) -> Actor:
    """The imperative form of ``roles_required``, for rules that depend on the request's data."""
    _check_roles(roles)
    principal = current_principal()
    if principal.is_admin or principal.role in roles:
        return principal
    raise Forbidden(
        f"This action needs one of the roles: {', '.join(roles)}; your token's role is {principal.role!r}.",
        extra={"required_roles": list(roles)},
    )


def roles_required(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a view: 401 without a valid token, 403 unless the role is listed (admin always passes).

    Also documents the operation in OpenAPI (bearer security and an ``x-roles`` list), whichever side of
    the flask-smorest decorators it is placed on.
    """
    if not roles:
        raise ValueError("roles_required needs at least one role")
    _check_roles(roles)

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            require_roles(*roles)
            return view(*args, **kwargs)

        _document_roles(wrapper, roles)
        return wrapper

    return decorator


def roles_documented(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Document who may call a view that checks its roles itself (``ensure_self_or_roles``, a rule that
    depends on the request's data): the same bearer security and ``x-roles`` list as ``roles_required``,
    without enforcing anything — every /api/v1 operation must tell clients which roles it admits."""
    if not roles:
        raise ValueError("roles_documented needs at least one role")
    _check_roles(roles)

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        _document_roles(view, roles)
        return view

    return decorator


def public_endpoint(authenticated_by: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Document an /api/v1 operation that takes no bearer token: ``security: []`` and ``x-public`` saying
    what authenticates the caller instead (a calendar app cannot send an Authorization header, so an
    agent's feed is reached by a signed, revocable token in its URL). The view checks that itself; every
    other /api/v1 operation declares its roles (tests/unit/test_openapi_spec.py)."""
    if not authenticated_by.strip():
        raise ValueError("say what authenticates the caller of a public endpoint")

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        apidoc: dict[str, Any] = dict(getattr(view, "_apidoc", {}))
        manual = dict(apidoc.get("manual_doc", {}))
        manual["security"] = []
        manual["x-public"] = authenticated_by
        apidoc["manual_doc"] = manual
        view._apidoc = apidoc  # type: ignore[attr-defined]
        return view

    return decorator


def _document_roles(view: Callable[..., Any], roles: Sequence[str]) -> None:
    # flask-smorest reads ``_apidoc["manual_doc"]`` into the operation whichever decorator order is used.
    apidoc: dict[str, Any] = dict(getattr(view, "_apidoc", {}))
    manual = dict(apidoc.get("manual_doc", {}))
    manual["security"] = [{BEARER_SCHEME_NAME: []}]
    manual["x-roles"] = sorted({*roles, "admin"}, key=ROLES.index)
    apidoc["manual_doc"] = manual
    view._apidoc = apidoc  # type: ignore[attr-defined]


def tenant_scope() -> str | None:
    """The merchant_id a query must be filtered to, or None when the caller may see every merchant."""
    principal = current_principal()
    return principal.merchant_id if principal.is_merchant else None


def ensure_tenant_access(merchant_id: str | None, *, detail: str | None = None) -> None:
    """Refuse a merchant another merchant's row with the same 404 a missing row gets.

    Pass the view's own not-found ``detail`` so both cases are indistinguishable to the caller.
    """
    scope = tenant_scope()
    if scope is not None and merchant_id != scope:
        raise NotFound(detail or "The requested resource was not found.")


def ensure_self_or_roles(agent_id: str, *roles: str) -> Actor:
    """An agent reaches only its own records (its ``sub``); the listed roles (and admin) reach anyone's."""
    _check_roles(roles)
    principal = current_principal()
    if principal.is_admin or principal.role in roles:
        return principal
    if principal.role == "agent":
        if principal.sub == agent_id:
            return principal
        raise Forbidden("An agent may only access their own records.")
    allowed = ", ".join(["agent (own records)", *roles])
    raise Forbidden(
        f"This action needs one of the roles: {allowed}; your token's role is {principal.role!r}.",
        extra={"required_roles": ["agent", *roles]},
    )
