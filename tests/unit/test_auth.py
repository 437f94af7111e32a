"""Tokens: what is accepted, and that every kind of bad token is a 401 saying why."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid

import jwt
import pytest

from shared.auth import ROLES, Principal, decode_token, mint_token
from shared.errors import Unauthorized

SECRET = "unit-test-secret-" + "0123456789abcdef" * 3  # 64 bytes: no short-key warnings, even HS512
OTHER_SECRET = "another-secret-0123456789abcdef-0123456789ab"


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_roles_are_exactly_the_contracts() -> None:
    assert ROLES == ("admin", "vendor", "merchant", "trainer", "supervisor", "finance", "agent")


def test_merchant_round_trip_keeps_every_claim() -> None:
    token = mint_token(SECRET, "merchant", sub="user-1", merchant_id="m-42")
    assert decode_token(token, SECRET) == Principal(sub="user-1", role="merchant", merchant_id="m-42")


@pytest.mark.parametrize("role", [r for r in ROLES if r != "merchant"])
def test_vendor_side_round_trip_has_no_merchant(role: str) -> None:
    principal = decode_token(mint_token(SECRET, role, sub="someone"), SECRET)
    assert principal == Principal(sub="someone", role=role, merchant_id=None)


def test_sub_defaults_to_a_fresh_uuid() -> None:
    first = decode_token(mint_token(SECRET, "agent"), SECRET).sub
    second = decode_token(mint_token(SECRET, "agent"), SECRET).sub
    assert str(uuid.UUID(first)) == first
    assert first != second


def test_claims_are_sub_role_iat_exp_and_merchant_id_only_for_merchants() -> None:
    now = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    merchant = mint_token(SECRET, "merchant", sub="u", merchant_id="m1", ttl_seconds=60, now=now)
    claims = jwt.decode(merchant, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims == {
        "sub": "u",
        "role": "merchant",
        "merchant_id": "m1",
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + 60,
    }
    vendor = mint_token(SECRET, "vendor", sub="v", now=now)
    assert set(jwt.decode(vendor, SECRET, algorithms=["HS256"], options={"verify_exp": False})) == {
        "sub",
        "role",
        "iat",
        "exp",
    }
    assert jwt.get_unverified_header(vendor)["alg"] == "HS256"


def test_expired_token_is_refused() -> None:
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=9)
    token = mint_token(SECRET, "vendor", ttl_seconds=8 * 3600, now=long_ago)
    with pytest.raises(Unauthorized, match="expired") as info:
        decode_token(token, SECRET)
    assert info.value.status == 401


def test_token_within_the_clock_skew_leeway_is_accepted() -> None:
    just_expired = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=70)
    token = mint_token(SECRET, "vendor", sub="v", ttl_seconds=60, now=just_expired)
    assert decode_token(token, SECRET).sub == "v"


def test_token_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(Unauthorized, match="signature"):
        decode_token(mint_token(OTHER_SECRET, "admin"), SECRET)


def test_tampered_payload_is_refused() -> None:
    token = mint_token(SECRET, "merchant", sub="u", merchant_id="m1")
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"  # privilege escalation attempt keeping the old signature
    forged = ".".join([header, _b64(claims), signature])
    with pytest.raises(Unauthorized, match="signature"):
        decode_token(forged, SECRET)


def test_alg_none_token_is_refused() -> None:
    exp = int((dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).timestamp())
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({'sub': 'x', 'role': 'admin', 'exp': exp})}."
    with pytest.raises(Unauthorized, match="algorithm"):
        decode_token(unsigned, SECRET)


def test_hs512_token_with_the_right_secret_is_still_refused() -> None:
    exp = int((dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).timestamp())
    token = jwt.encode({"sub": "x", "role": "admin", "exp": exp}, SECRET, algorithm="HS512")
    with pytest.raises(Unauthorized, match="HS256"):
        decode_token(token, SECRET)


@pytest.mark.parametrize("garbage", ["", "not-a-jwt", "a.b.c", "Bearer abc"])
def test_malformed_token_is_refused(garbage: str) -> None:
    with pytest.raises(Unauthorized, match="malformed"):
        decode_token(garbage, SECRET)


def test_token_without_exp_is_refused() -> None:
    token = jwt.encode({"sub": "x", "role": "vendor"}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized, match="'exp'"):
        decode_token(token, SECRET)


def test_unknown_role_is_refused_when_minting_and_when_decoding() -> None:
    with pytest.raises(ValueError, match="unknown role 'owner'"):
        mint_token(SECRET, "owner")
    exp = int((dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).timestamp())
    token = jwt.encode({"sub": "x", "role": "owner", "exp": exp}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized, match="role 'owner' is unknown"):
        decode_token(token, SECRET)


def test_merchant_without_merchant_id_is_refused_when_minting_and_when_decoding() -> None:
    with pytest.raises(ValueError, match="merchant_id"):
        mint_token(SECRET, "merchant")
    exp = int((dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).timestamp())
    token = jwt.encode({"sub": "x", "role": "merchant", "exp": exp}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized, match="merchant_id"):
        decode_token(token, SECRET)


def test_merchant_id_on_a_vendor_token_is_refused_when_minting() -> None:
    with pytest.raises(ValueError, match="only belongs in merchant tokens"):
        mint_token(SECRET, "vendor", merchant_id="m1")


def test_unauthorized_names_the_bearer_scheme() -> None:
    with pytest.raises(Unauthorized) as info:
        decode_token("x", SECRET)
    assert info.value.headers["WWW-Authenticate"].startswith("Bearer")


def test_rotation_accepts_tokens_of_a_retired_secret_only_when_listed() -> None:
    old, new = "old-secret-" + "o" * 32, "new-secret-" + "n" * 32
    token = mint_token(old, "vendor", sub="u-7")
    assert decode_token(token, new, previous=[old]).sub == "u-7"
    with pytest.raises(Unauthorized):
        decode_token(token, new)
    with pytest.raises(Unauthorized):
        decode_token(token, new, previous=["another-" + "x" * 32])


def test_rotation_still_rejects_an_expired_token_of_the_retired_secret() -> None:
    old = "old-secret-" + "o" * 32
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    token = mint_token(old, "vendor", ttl_seconds=60, now=past)
    with pytest.raises(Unauthorized, match="expired"):
        decode_token(token, "new-secret-" + "n" * 32, previous=[old])


def test_problem_extra_members_never_clash_with_the_standard_ones() -> None:
    from shared.errors import Conflict

    problem = Conflict("not now", extra={"status": "draft", "allowed": ["submit"]})
    body = problem.to_dict()
    assert body["status"] == 409
    assert body["allowed"] == ["submit"]
