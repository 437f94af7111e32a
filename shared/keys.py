"""The Ed25519 keys of the service tokens: signing keys, keyrings of public keys, JWKS, key files.

Only the console (and ``yunkefu token``) hold a private key (``JWT_PRIVATE_KEY_FILE``); every service
holds the public keys alone (``JWT_PUBLIC_KEYS``: *.pem files, a directory of them or a JWKS). A key's id
(``kid``) is the RFC 7638 thumbprint of its public key, computed rather than named. Files are read once
per process and again only when they change. ``shared.auth`` mints and verifies the tokens.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.env import ConfigError

if TYPE_CHECKING:
    from shared.config import Settings

ALGORITHM = "EdDSA"
#: The development key pair's file names under ``<VAR_DIR>/keys/`` (generated on first use).
DEV_PRIVATE_KEY_NAME = "dev.key.pem"
DEV_PUBLIC_KEY_NAME = "dev.pub.pem"

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
            raise ConfigError(f"cannot read the private key {path}: {exc.strerror or exc}") from exc
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"{path} is not an unencrypted PEM private key (make one with `yunkefu keys generate`)"
            ) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"{path} is not an Ed25519 key; tokens are EdDSA (`yunkefu keys generate`)")
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
                raise ConfigError(f"JWT_PUBLIC_KEYS names {path}, which does not exist")
            elif _looks_like_json(path):
                keys.update(_load_jwks(path))
            else:
                public = _load_public_pem(path)
                keys[key_id(public)] = public
        return cls(keys)


@functools.lru_cache(maxsize=64)
def _spec_paths(spec: str) -> tuple[Path, ...]:
    return tuple(Path(part.strip()).expanduser() for part in spec.split(",") if part.strip())


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
        raise ConfigError(f"cannot read the public key {path}: {exc.strerror or exc}") from exc
    if b"PRIVATE KEY" in data:
        # A private key on a service would let it mint tokens: exactly what asymmetric keys prevent.
        raise ConfigError(
            f"{path} holds a PRIVATE key: JWT_PUBLIC_KEYS must name public keys only "
            "(deploy the private key to the console alone)"
        )
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path} is not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{path} is not an Ed25519 public key; tokens are EdDSA")
    return key


def _load_jwks(path: Path) -> dict[str, Ed25519PublicKey]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the JWKS {path}: {exc}") from exc
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f"{path} is not a JWKS: expected an object with a 'keys' list")
    keys: dict[str, Ed25519PublicKey] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
            raise ConfigError(f"{path}: keys[{i}] is not an Ed25519 key (kty OKP, crv Ed25519)")
        if "d" in entry:
            raise ConfigError(f"{path}: keys[{i}] holds a PRIVATE key; publish public keys only")
        try:
            public = Ed25519PublicKey.from_public_bytes(_b64url_decode(str(entry["x"])))
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"{path}: keys[{i}] has no valid 'x'") from exc
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
        #: a folder's ``*.pem`` names by the folder's own stamp: adding, removing or renaming a file
        #: changes the folder's mtime, so the listing is only read again then (each file is still stat'ed)
        self._listings: dict[Path, tuple[tuple[int, int, int], list[Path]]] = {}

    def _pems(self, folder: Path, folder_stamp: tuple[int, int, int]) -> list[Path]:
        listed = self._listings.get(folder)
        if listed is not None and listed[0] == folder_stamp:
            return listed[1]
        pems = sorted(folder.glob("*.pem"))
        self._listings[folder] = (folder_stamp, pems)
        return pems

    def stamp(self, paths: Sequence[Path]) -> tuple[Any, ...]:
        parts: list[Any] = []
        for path in paths:
            try:
                st = os.stat(path)
            except OSError:
                parts.append(None)
                continue
            own = (st.st_mtime_ns, st.st_size, st.st_ino)
            parts.append(own)
            if stat.S_ISDIR(st.st_mode):
                parts.extend((pem.name, _stat(pem)) for pem in self._pems(path, own))
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
        st = os.stat(path)
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
        raise ConfigError(
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
        raise ConfigError(
            "JWT_PUBLIC_KEYS is not set: services verify tokens with the console's public key(s) "
            "(a directory of *.pem files, a PEM file or a JWKS file; several separated by ',')"
        )
    return _cache.get("public", spec, lambda: Keyring.load(spec))
