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

import base64
import datetime as dt
import functools
import hashlib
import json
import os
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import g, has_request_context, request

from shared.errors import Forbidden, NotFound, Unauthorized
from shared.uow import Actor

if TYPE_CHECKING:
    from shared.config import Settings

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
ALGORITHM = "EdDSA"
#: Tolerated clock skew between the minting host and this one.
LEEWAY_SECONDS = 30
#: The development key pair's file names under ``<VAR_DIR>/keys/`` (generated on first use).
DEV_PRIVATE_KEY_NAME = "dev.key.pem"
DEV_PUBLIC_KEY_NAME = "dev.pub.pem"
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


#: The caller of a request is the acting user of its unit of work: one type for both.
Principal = Actor


# --- keys -----------------------------------------------------------------------------------------------


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _public_x(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _b64url(raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """The RFC 7638 JWK thumbprint (base64url SHA-256) of a public key: its ``kid``.

    Computed from the key itself, so a file's name can never give a key the wrong id.
    """
    # RFC 7638 §3.2: the required members only, in lexicographic order, no whitespace.
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": _public_x(public_key)}, separators=(",", ":"), sort_keys=True
    )
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def _config_error(message: str) -> Exception:
    from shared.config import ConfigError  # lazily: shared.config imports this module to validate

    return ConfigError(message)


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 private key and its ``kid``: what mints tokens (the console, ``yunkefu token``)."""

    kid: str
    private_key: Ed25519PrivateKey = field(repr=False)

    @classmethod
    def from_private_key(cls, private_key: Ed25519PrivateKey) -> SigningKey:
        return cls(key_id(private_key.public_key()), private_key)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls.from_private_key(Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SigningKey:
        """Read a PEM (PKCS#8) Ed25519 private key; :class:`ConfigError` says what is wrong with it."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise _config_error(f"cannot read the private key {path}: {exc.strerror or exc}") from exc
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise _config_error(
                f"{path} is not an unencrypted PEM private key (make one with `yunkefu keys generate`)"
            ) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise _config_error(f"{path} is not an Ed25519 key; tokens are EdDSA (`yunkefu keys generate`)")
        return cls.from_private_key(key)

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def public_pem(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass(frozen=True)
class Keyring:
    """The public keys tokens are accepted from, by ``kid``: what every service verifies with."""

    keys: Mapping[str, Ed25519PublicKey] = field(default_factory=dict)

    def __contains__(self, kid: object) -> bool:
        return kid in self.keys

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys)

    def __len__(self) -> int:
        return len(self.keys)

    def get(self, kid: str) -> Ed25519PublicKey | None:
        return self.keys.get(kid)

    @property
    def kids(self) -> list[str]:
        return list(self.keys)

    @classmethod
    def of(cls, *public_keys: Ed25519PublicKey) -> Keyring:
        return cls({key_id(k): k for k in public_keys})

    @classmethod
    def load(cls, spec: str) -> Keyring:
        """``JWT_PUBLIC_KEYS``: ``,``-separated paths, each a directory of ``*.pem`` public keys, a PEM
        file or a JWKS JSON file. A private key among them is refused: services hold public keys only."""
        keys: dict[str, Ed25519PublicKey] = {}
        for path in _spec_paths(spec):
            if path.is_dir():
                for pem in sorted(path.glob("*.pem")):
                    public = _load_public_pem(pem)
                    keys[key_id(public)] = public
            elif not path.exists():
                raise _config_error(f"JWT_PUBLIC_KEYS names {path}, which does not exist")
            elif _looks_like_json(path):
                keys.update(_load_jwks(path))
            else:
                public = _load_public_pem(path)
                keys[key_id(public)] = public
        return cls(keys)


def _spec_paths(spec: str) -> list[Path]:
    return [Path(part.strip()).expanduser() for part in spec.split(",") if part.strip()]


def _looks_like_json(path: Path) -> bool:
    if path.suffix.lower() in (".json", ".jwks"):
        return True
    try:
        with path.open("rb") as handle:
            return handle.read(64).lstrip()[:1] == b"{"
    except OSError:
        return False


def _load_public_pem(path: Path) -> Ed25519PublicKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _config_error(f"cannot read the public key {path}: {exc.strerror or exc}") from exc
    if b"PRIVATE KEY" in data:
        # A private key on a service would let it mint tokens: exactly what asymmetric keys prevent.
        raise _config_error(
            f"{path} holds a PRIVATE key: JWT_PUBLIC_KEYS must name public keys only "
            "(deploy the private key to the console alone)"
        )
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise _config_error(f"{path} is not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise _config_error(f"{path} is not an Ed25519 public key; tokens are EdDSA")
    return key


def _load_jwks(path: Path) -> dict[str, Ed25519PublicKey]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _config_error(f"cannot read the JWKS {path}: {exc}") from exc
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise _config_error(f"{path} is not a JWKS: expected an object with a 'keys' list")
    keys: dict[str, Ed25519PublicKey] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
            raise _config_error(f"{path}: keys[{i}] is not an Ed25519 key (kty OKP, crv Ed25519)")
        if "d" in entry:
            raise _config_error(f"{path}: keys[{i}] holds a PRIVATE key; publish public keys only")
        try:
            public = Ed25519PublicKey.from_public_bytes(_b64url_decode(str(entry["x"])))
        except (KeyError, ValueError) as exc:
            raise _config_error(f"{path}: keys[{i}] has no valid 'x'") from exc
        kid = entry.get("kid")
        # The issuer's own kid is honoured: it is what its tokens carry.
        keys[kid if isinstance(kid, str) and kid else key_id(public)] = public
    return keys


def jwks(keyring: Keyring) -> dict[str, Any]:
    """The keyring as a JSON Web Key Set (RFC 7517), e.g. to publish to services that read JWKS."""
    return {
        "keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": _public_x(k), "kid": kid, "use": "sig", "alg": ALGORITHM}
            for kid, k in keyring.keys.items()
        ]
    }


def _write_new(path: Path, data: bytes, mode: int) -> bool:
    """Create ``path`` with ``data`` atomically, unless it exists: False when another process won.

    Written to a temporary file in the same folder first and hard-linked into place, so a reader never
    sees a half-written key and two processes generating at once end up with the first one's key.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(tmp)


def generate_key_pair(directory: str | os.PathLike[str], name: str) -> tuple[Path, Path]:
    """Write ``<name>.key.pem`` (PKCS#8, mode 0600) and ``<name>.pub.pem`` into ``directory``.

    Refuses to overwrite an existing key: a rotation adds a new key pair, it never rewrites one.
    """
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"invalid key name {name!r}")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    private_path, public_path = folder / f"{name}.key.pem", folder / f"{name}.pub.pem"
    for path in (private_path, public_path):
        if path.exists():
            raise FileExistsError(f"{path} already exists; choose another --name")
    key = SigningKey.generate()
    if not _write_new(private_path, key.private_pem(), 0o600):
        raise FileExistsError(f"{private_path} already exists; choose another --name")
    if not _write_new(public_path, key.public_pem(), 0o644):
        raise FileExistsError(f"{public_path} already exists; choose another --name")
    return private_path, public_path


def ensure_dev_key_pair(directory: str | os.PathLike[str]) -> tuple[Path, Path]:
    """The development key pair under ``directory``, generated on first use.

    Safe when several processes start at once (``make run``): the private key is linked into place by
    whoever comes first and every process then derives the public file from the key that won.
    """
    folder = Path(directory)
    private_path, public_path = folder / DEV_PRIVATE_KEY_NAME, folder / DEV_PUBLIC_KEY_NAME
    if folder in _ensured and private_path.exists() and public_path.exists():
        return private_path, public_path  # every request asks: skip re-deriving the public key
    folder.mkdir(parents=True, exist_ok=True)
    if not private_path.exists():
        _write_new(private_path, SigningKey.generate().private_pem(), 0o600)
    public_pem = SigningKey.load(private_path).public_pem()
    try:
        current = public_path.read_bytes()
    except FileNotFoundError:
        current = b""
    if current != public_pem:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{DEV_PUBLIC_KEY_NAME}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(public_pem)
        os.chmod(tmp, 0o644)
        os.replace(tmp, public_path)  # every racer writes the same bytes: last rename wins harmlessly
    _ensured.add(folder)
    return private_path, public_path


_ensured: set[Path] = set()


class _FileCache:
    """Parsed keys per path spec, re-read when a file's (or a folder's) mtime, size or inode changes.

    Checked on every use (a few ``stat`` calls), so a rotated key is picked up by the next request.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[tuple[Any, ...], Any]] = {}

    @staticmethod
    def stamp(paths: Sequence[Path]) -> tuple[Any, ...]:
        parts: list[Any] = []
        for path in paths:
            parts.append(_stat(path))
            if path.is_dir():
                parts.extend((pem.name, _stat(pem)) for pem in sorted(path.glob("*.pem")))
        return tuple(parts)

    def get(self, kind: str, spec: str, loader: Callable[[], Any]) -> Any:
        stamp = self.stamp(_spec_paths(spec))
        with self._lock:
            entry = self._entries.get((kind, spec))
            if entry is not None and entry[0] == stamp:
                return entry[1]
        value = loader()
        with self._lock:
            self._entries[(kind, spec)] = (stamp, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


_cache = _FileCache()


def _dev_keys(settings: Settings) -> tuple[Path, Path] | None:
    if settings.jwt_dev_keys_dir:
        return ensure_dev_key_pair(settings.jwt_dev_keys_dir)
    return None


def load_signing_key(settings: Settings) -> SigningKey:
    """The private key tokens are minted with (``JWT_PRIVATE_KEY_FILE``; in development by default the
    generated ``<VAR_DIR>/keys/dev.key.pem``). Cached per process until the file changes."""
    _dev_keys(settings)
    path = settings.jwt_private_key_file
    if not path:
        raise _config_error(
            "JWT_PRIVATE_KEY_FILE is not set: minting tokens needs the console's Ed25519 private key "
            "(make one with `yunkefu keys generate --dir DIR`)"
        )
    return _cache.get("private", path, lambda: SigningKey.load(path))


def load_keyring(settings: Settings) -> Keyring:
    """The public keys tokens are verified with (``JWT_PUBLIC_KEYS``; in development by default the
    generated ``<VAR_DIR>/keys/dev.pub.pem``). Cached per process until a file changes."""
    _dev_keys(settings)
    spec = settings.jwt_public_keys
    if not spec.strip():
        raise _config_error(
            "JWT_PUBLIC_KEYS is not set: services verify tokens with the console's public key(s) "
            "(a directory of *.pem files, a PEM file or a JWKS file; several separated by ',')"
        )
    return _cache.get("public", spec, lambda: Keyring.load(spec))


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


def decode_token(token: str, keyring: Keyring) -> Principal:
    """Verify algorithm, key, signature and expiry; every failure is a 401 whose detail says which."""
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
    if role == "merchant":
        if not isinstance(merchant_id, str) or not merchant_id:
            raise Unauthorized("A merchant token must carry a 'merchant_id' claim.")
        return Principal(sub=sub, role=role, merchant_id=merchant_id)
    return Principal(sub=sub, role=role)


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


def current_principal() -> Principal:
    """The caller of this request, verified once and cached for the rest of it (401 if none/invalid)."""
    cached = g.get(_G_PRINCIPAL)
    if cached is not None:
        return cached
    principal = decode_token(_bearer_token(), _keyring())
    setattr(g, _G_PRINCIPAL, principal)
    return principal


def optional_principal() -> Principal | None:
    """The caller if a valid token came, None without an Authorization header; a bad token is still 401."""
    if not has_request_context() or not request.headers.get("Authorization", "").strip():
        return None
    return current_principal()


def _keyring() -> Keyring:
    # Imported lazily: shared.http imports this module, and the settings live in its app state.
    from shared.http import get_settings

    return load_keyring(get_settings())


def _check_roles(roles: tuple[str, ...]) -> None:
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown role(s) {unknown}; one of: {', '.join(ROLES)}")


def require_roles(*roles: str) -> Principal:
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


def ensure_self_or_roles(agent_id: str, *roles: str) -> Principal:
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
