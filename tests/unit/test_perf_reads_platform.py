"""The request hot path's shortcuts keep the answers they replace (issue 16): the token cache honours expiry
and key retirement, the checkout check discards a connection the server has closed, a read session never
writes, and orjson writes the JSON Flask's own provider writes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import socket
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import String
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared import auth
from shared.auth import SigningKey, decode_token, mint_token
from shared.db import Database, ReadOnlySession, _refuse_dead_connection
from shared.errors import Unauthorized
from shared.keys import Keyring
from shared.web.app import OrjsonProvider

# --- tokens -----------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> None:
    auth._verified.clear()


def test_a_verified_token_is_not_verified_again(monkeypatch: pytest.MonkeyPatch) -> None:
    key = SigningKey.generate()
    keyring = Keyring.of(key.public_key)
    token = mint_token(key, "merchant", sub="u1", merchant_id="m1")
    calls = []
    verify = auth._verify
    monkeypatch.setattr(auth, "_verify", lambda t, k: calls.append(t) or verify(t, k))
    first, second = decode_token(token, keyring), decode_token(token, keyring)
    assert first == second == auth.Actor(sub="u1", role="merchant", merchant_id="m1")
    assert len(calls) == 1


def test_a_cached_token_stops_verifying_when_its_key_is_retired() -> None:
    key, other = SigningKey.generate(), SigningKey.generate()
    token = mint_token(key, "vendor")
    decode_token(token, Keyring.of(key.public_key, other.public_key))
    with pytest.raises(Unauthorized, match="unknown key"):
        decode_token(token, Keyring.of(other.public_key))


def test_a_cached_token_stops_verifying_when_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    key = SigningKey.generate()
    keyring = Keyring.of(key.public_key)
    token = mint_token(key, "vendor", ttl_seconds=60)
    decode_token(token, keyring)
    later = dt.datetime.now(dt.UTC).timestamp() + 60 + auth.LEEWAY_SECONDS + 1
    monkeypatch.setattr(auth.time, "time", lambda: later)
    assert auth._verified.get(token, keyring) is None


def test_a_refused_token_is_not_cached() -> None:
    key = SigningKey.generate()
    token = mint_token(key, "vendor", now=dt.datetime.now(dt.UTC) - dt.timedelta(days=1), ttl_seconds=60)
    for _ in range(2):
        with pytest.raises(Unauthorized, match="expired"):
            decode_token(token, Keyring.of(key.public_key))
    assert auth._verified.get(token, Keyring.of(key.public_key)) is None


def test_the_cache_keeps_a_bounded_number_of_tokens() -> None:
    cache = auth._VerifiedTokens(size=3)
    actor = auth.Actor(sub="u", role="vendor")
    keyring = Keyring({"k": SigningKey.generate().public_key})
    far = dt.datetime.now(dt.UTC).timestamp() + 3600
    for n in range(5):
        cache.put(f"t{n}", actor, "k", far)
    assert [cache.get(f"t{n}", keyring) for n in range(5)] == [None, None, actor, actor, actor]


# --- connections ------------------------------------------------------------------------------------------


class _FakePgConn:
    def __init__(self, fd: int) -> None:
        self.socket = fd


class _FakeConnection:
    def __init__(self, fd: int, closed: bool = False) -> None:
        self.pgconn = _FakePgConn(fd)
        self.closed = closed


def test_an_idle_connection_passes_the_checkout_check() -> None:
    ours, server = socket.socketpair()
    with ours, server:
        _refuse_dead_connection(_FakeConnection(ours.fileno()), None, None)


@pytest.mark.parametrize("server_does", ["says goodbye", "hangs up"])
def test_a_connection_the_server_ended_is_discarded_on_checkout(server_does: str) -> None:
    ours, server = socket.socketpair()
    with ours:
        if server_does == "says goodbye":
            server.sendall(b"E\x00\x00\x00\x10FATAL terminating")
        server.close()
        with pytest.raises(DisconnectionError):
            _refuse_dead_connection(_FakeConnection(ours.fileno()), None, None)


def test_a_closed_connection_is_discarded_on_checkout() -> None:
    with pytest.raises(DisconnectionError):
        _refuse_dead_connection(_FakeConnection(-1, closed=True), None, None)


# --- read sessions ----------------------------------------------------------------------------------------


class _Base(DeclarativeBase):
    pass


class _Row(_Base):
    __tablename__ = "rows"
    id: Mapped[str] = mapped_column(String(10), primary_key=True)


def test_a_read_session_reads_and_refuses_to_write(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        _Base.metadata.create_all(database.engine)
        with database.session() as session:
            session.add(_Row(id="a"))
        reader = database.read_session()
        try:
            assert [r.id for r in reader.query(_Row)] == ["a"]
            reader.add(_Row(id="b"))
            with pytest.raises(ReadOnlySession):
                reader.flush()
        finally:
            reader.close()
        with database.session() as session:
            assert [r.id for r in session.query(_Row)] == ["a"]
    finally:
        database.dispose()


# --- JSON -------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Point:
    x: int
    label: str


SAMPLES: list[Any] = [
    {"名字": "旗舰店", "n": 3, "ok": True, "none": None, "f": 1.5, "nested": [{"b": 1, "a": 2}]},
    {"when": dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC), "day": dt.date(2026, 3, 2)},
    {"money": Decimal("4000.00"), "id": uuid.UUID(int=7), "point": _Point(1, "p")},
    {"big": 2**70, "keys": {1: "one"}},
    ["a", 1, None],
]


@pytest.mark.parametrize("sample", SAMPLES)
@pytest.mark.parametrize("sort_keys", [False, True])
def test_orjson_writes_what_flask_writes(sample: Any, sort_keys: bool) -> None:
    from flask.json.provider import DefaultJSONProvider

    app = Flask(__name__)
    fast, plain = OrjsonProvider(app), DefaultJSONProvider(app)
    for provider in (fast, plain):
        provider.ensure_ascii = False  # type: ignore[attr-defined]
        provider.sort_keys = sort_keys  # type: ignore[attr-defined]
    with app.app_context():
        got, expected = fast.response(sample), plain.response(sample)
        assert got.mimetype == expected.mimetype
        assert got.get_data() == expected.get_data()


def test_every_service_answers_with_orjson() -> None:
    from shared.config import Settings
    from shared.web import create_app

    database = Database("sqlite://")
    app = create_app("probe", settings=Settings(service="probe", database_url="sqlite://"), database=database)
    assert isinstance(app.json, OrjsonProvider)
    database.dispose()
