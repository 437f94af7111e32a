"""Tokens: EdDSA with a kid, what is accepted, and that every kind of bad token is a 401 saying why."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import stat
import threading
import uuid
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shared.auth import (
    ROLES,
    Actor,
    Keyring,
    SigningKey,
    decode_token,
    ensure_dev_key_pair,
    generate_key_pair,
    jwks,
    key_id,
    load_keyring,
    load_signing_key,
    mint_token,
)
from shared.config import ConfigError, Settings
from shared.errors import Unauthorized

KEY = SigningKey.generate()
OTHER_KEY = SigningKey.generate()
KEYRING = Keyring.of(KEY.public_key)
#: the secret services shared before tokens became EdDSA
OLD_SECRET = "unit-test-secret-" + "0123456789abcdef" * 3


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _exp() -> int:
    return int((dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).timestamp())


def _signed(claims: dict[str, object], key: SigningKey = KEY) -> str:
    """A correctly signed token with hand-made claims (what mint_token refuses to produce)."""
    return jwt.encode(claims, key.private_key, algorithm="EdDSA", headers={"kid": key.kid})


def test_roles_are_exactly_the_contracts() -> None:
    assert ROLES == ("admin", "vendor", "merchant", "trainer", "supervisor", "finance", "agent", "qa")


def test_merchant_round_trip_keeps_every_claim() -> None:
    token = mint_token(KEY, "merchant", sub="user-1", merchant_id="m-42")
    assert decode_token(token, KEYRING) == Actor(sub="user-1", role="merchant", merchant_id="m-42")


@pytest.mark.parametrize("role", [r for r in ROLES if r != "merchant"])
def test_vendor_side_round_trip_has_no_merchant(role: str) -> None:
    principal = decode_token(mint_token(KEY, role, sub="someone"), KEYRING)
    assert principal == Actor(sub="someone", role=role, merchant_id=None)


def test_sub_defaults_to_a_fresh_uuid() -> None:
    first = decode_token(mint_token(KEY, "agent"), KEYRING).sub
    second = decode_token(mint_token(KEY, "agent"), KEYRING).sub
    assert str(uuid.UUID(first)) == first
    assert first != second


def test_claims_are_sub_role_iat_exp_and_merchant_id_only_for_merchants() -> None:
    now = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    merchant = mint_token(KEY, "merchant", sub="u", merchant_id="m1", ttl_seconds=60, now=now)
    public = KEY.public_key
    claims = jwt.decode(merchant, public, algorithms=["EdDSA"], options={"verify_exp": False})
    assert claims == {
        "sub": "u",
        "role": "merchant",
        "merchant_id": "m1",
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + 60,
    }
    vendor = mint_token(KEY, "vendor", sub="v", now=now)
    assert set(jwt.decode(vendor, public, algorithms=["EdDSA"], options={"verify_exp": False})) == {
        "sub",
        "role",
        "iat",
        "exp",
    }
    assert jwt.get_unverified_header(vendor) == {"alg": "EdDSA", "typ": "JWT", "kid": KEY.kid}


def test_the_kid_is_the_rfc7638_thumbprint_of_the_public_key() -> None:
    # RFC 8037 appendix A.3: the Ed25519 example key and its thumbprint
    example = Ed25519PublicKey.from_public_bytes(
        base64.urlsafe_b64decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
    )
    assert key_id(example) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    assert KEY.kid == key_id(KEY.public_key) != OTHER_KEY.kid


def test_expired_token_is_refused() -> None:
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=9)
    token = mint_token(KEY, "vendor", ttl_seconds=8 * 3600, now=long_ago)
    with pytest.raises(Unauthorized, match="expired") as info:
        decode_token(token, KEYRING)
    assert info.value.status == 401


def test_token_within_the_clock_skew_leeway_is_accepted() -> None:
    just_expired = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=70)
    token = mint_token(KEY, "vendor", sub="v", ttl_seconds=60, now=just_expired)
    assert decode_token(token, KEYRING).sub == "v"


def test_token_signed_by_an_unknown_key_is_refused_naming_its_kid() -> None:
    with pytest.raises(Unauthorized, match=f"signed by an unknown key \\(kid '{OTHER_KEY.kid}'\\)") as info:
        decode_token(mint_token(OTHER_KEY, "admin"), KEYRING)
    assert info.value.status == 401


def test_another_key_claiming_a_known_kid_fails_the_signature_check() -> None:
    impostor = SigningKey(KEY.kid, OTHER_KEY.private_key)  # the kid is public: anyone can copy it
    with pytest.raises(Unauthorized, match="signature"):
        decode_token(mint_token(impostor, "admin"), KEYRING)


def test_token_without_a_kid_is_refused() -> None:
    token = jwt.encode({"sub": "x", "role": "admin", "exp": _exp()}, KEY.private_key, algorithm="EdDSA")
    with pytest.raises(Unauthorized, match="no 'kid' header"):
        decode_token(token, KEYRING)


def test_a_token_signed_with_the_old_shared_secret_is_refused() -> None:
    token = jwt.encode({"sub": "x", "role": "admin", "exp": _exp()}, OLD_SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized, match="algorithm not accepted; tokens must be EdDSA") as info:
        decode_token(token, KEYRING)
    assert "HS256" in info.value.detail


def test_hs256_keyed_with_the_public_key_is_refused() -> None:
    # the classic confusion attack: HMAC with the (public) verification key as the secret
    public_pem = KEY.public_pem()
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": KEY.kid})
    payload = _b64({"sub": "x", "role": "admin", "exp": _exp()})
    mac = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    forged = f"{header}.{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    with pytest.raises(Unauthorized, match="algorithm not accepted"):
        decode_token(forged, KEYRING)


def test_tampered_payload_is_refused() -> None:
    token = mint_token(KEY, "merchant", sub="u", merchant_id="m1")
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"  # privilege escalation attempt keeping the old signature
    forged = ".".join([header, _b64(claims), signature])
    with pytest.raises(Unauthorized, match="signature"):
        decode_token(forged, KEYRING)


def test_alg_none_token_is_refused() -> None:
    header = _b64({"alg": "none", "typ": "JWT", "kid": KEY.kid})
    unsigned = f"{header}.{_b64({'sub': 'x', 'role': 'admin', 'exp': _exp()})}."
    with pytest.raises(Unauthorized, match="algorithm"):
        decode_token(unsigned, KEYRING)


@pytest.mark.parametrize("garbage", ["", "not-a-jwt", "a.b.c", "Bearer abc"])
def test_malformed_token_is_refused(garbage: str) -> None:
    with pytest.raises(Unauthorized, match="malformed"):
        decode_token(garbage, KEYRING)


def test_token_without_exp_is_refused() -> None:
    with pytest.raises(Unauthorized, match="'exp'"):
        decode_token(_signed({"sub": "x", "role": "vendor"}), KEYRING)


def test_unknown_role_is_refused_when_minting_and_when_decoding() -> None:
    with pytest.raises(ValueError, match="unknown role 'owner'"):
        mint_token(KEY, "owner")
    with pytest.raises(Unauthorized, match="role 'owner' is unknown"):
        decode_token(_signed({"sub": "x", "role": "owner", "exp": _exp()}), KEYRING)


def test_merchant_without_merchant_id_is_refused_when_minting_and_when_decoding() -> None:
    with pytest.raises(ValueError, match="merchant_id"):
        mint_token(KEY, "merchant")
    with pytest.raises(Unauthorized, match="merchant_id"):
        decode_token(_signed({"sub": "x", "role": "merchant", "exp": _exp()}), KEYRING)


def test_merchant_id_on_a_vendor_token_is_refused_when_minting() -> None:
    with pytest.raises(ValueError, match="only belongs in merchant tokens"):
        mint_token(KEY, "vendor", merchant_id="m1")


def test_unauthorized_names_the_bearer_scheme() -> None:
    with pytest.raises(Unauthorized) as info:
        decode_token("x", KEYRING)
    assert info.value.headers["WWW-Authenticate"].startswith("Bearer")


# --- rotation -------------------------------------------------------------------------------------------


def test_rotation_a_token_of_the_old_key_verifies_while_its_public_key_is_kept() -> None:
    old, new = SigningKey.generate(), SigningKey.generate()
    token = mint_token(old, "vendor", sub="u-7")
    both = Keyring.of(new.public_key, old.public_key)
    assert decode_token(token, both).sub == "u-7"
    assert decode_token(mint_token(new, "vendor", sub="u-8"), both).sub == "u-8"
    with pytest.raises(Unauthorized, match="unknown key"):
        decode_token(token, Keyring.of(new.public_key))


def test_rotation_still_rejects_an_expired_token_of_the_old_key() -> None:
    old = SigningKey.generate()
    token = mint_token(old, "vendor", ttl_seconds=60, now=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(Unauthorized, match="expired"):
        decode_token(token, Keyring.of(SigningKey.generate().public_key, old.public_key))


def test_a_directory_keyring_picks_up_added_and_removed_keys_without_a_restart(tmp_path: Path) -> None:
    keys, public = tmp_path / "keys", tmp_path / "public"
    _, old_pub = generate_key_pair(keys, "old")
    _, new_pub = generate_key_pair(keys, "new")
    public.mkdir()
    os.link(old_pub, public / old_pub.name)
    settings = Settings(service="onboarding", database_url="sqlite://", jwt_public_keys=str(public))
    old_kid, new_kid = SigningKey.load(keys / "old.key.pem").kid, SigningKey.load(keys / "new.key.pem").kid
    assert load_keyring(settings).kids == [old_kid]
    os.link(new_pub, public / new_pub.name)
    assert sorted(load_keyring(settings).kids) == sorted([old_kid, new_kid])
    (public / old_pub.name).unlink()
    assert load_keyring(settings).kids == [new_kid]


# --- key files ------------------------------------------------------------------------------------------


def test_generated_key_pair_loads_back_with_the_same_kid_and_a_private_file_of_mode_0600(
    tmp_path: Path,
) -> None:
    private, public = generate_key_pair(tmp_path, "k1")
    assert (private.name, public.name) == ("k1.key.pem", "k1.pub.pem")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    key = SigningKey.load(private)
    assert Keyring.load(str(public)).kids == [key.kid]
    with pytest.raises(FileExistsError):
        generate_key_pair(tmp_path, "k1")  # a rotation adds a key, it never overwrites one


def test_public_keys_come_from_directories_files_and_jwks_separated_by_commas(tmp_path: Path) -> None:
    one, two, three = (SigningKey.generate() for _ in range(3))
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "a.pem").write_bytes(one.public_pem())
    (tmp_path / "dir" / "notes.txt").write_text("not a key")
    (tmp_path / "two.pem").write_bytes(two.public_pem())
    (tmp_path / "keys.json").write_text(json.dumps(jwks(Keyring.of(three.public_key))))
    spec = f"{tmp_path / 'dir'}, {tmp_path / 'two.pem'},{tmp_path / 'keys.json'}"
    assert sorted(Keyring.load(spec).kids) == sorted([one.kid, two.kid, three.kid])


def test_a_jwks_entry_keeps_its_own_kid(tmp_path: Path) -> None:
    document = jwks(Keyring.of(KEY.public_key))
    document["keys"][0]["kid"] = "console-2026-11"
    (tmp_path / "jwks.json").write_text(json.dumps(document))
    keyring = Keyring.load(str(tmp_path / "jwks.json"))
    assert keyring.kids == ["console-2026-11"]
    issued = SigningKey("console-2026-11", KEY.private_key)
    assert decode_token(mint_token(issued, "finance", sub="f"), keyring).role == "finance"


def test_jwks_lists_public_members_only() -> None:
    (entry,) = jwks(KEYRING)["keys"]
    assert entry == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": entry["x"],
        "kid": KEY.kid,
        "use": "sig",
        "alg": "EdDSA",
    }


@pytest.mark.parametrize("where", ["dir", "file"])
def test_a_private_key_among_the_public_keys_is_refused(tmp_path: Path, where: str) -> None:
    private, _public = generate_key_pair(tmp_path, "mixed")
    with pytest.raises(ConfigError, match="holds a PRIVATE key"):
        Keyring.load(str(tmp_path if where == "dir" else private))


def test_missing_or_unreadable_key_files_say_which(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        Keyring.load(str(tmp_path / "nowhere"))
    (tmp_path / "bad.pem").write_text("hello")
    with pytest.raises(ConfigError, match="not a PEM public key"):
        Keyring.load(str(tmp_path / "bad.pem"))
    with pytest.raises(ConfigError, match="not an unencrypted PEM private key"):
        SigningKey.load(tmp_path / "bad.pem")
    with pytest.raises(ConfigError, match="cannot read the private key"):
        SigningKey.load(tmp_path / "missing.key.pem")
    settings = Settings(service="console", database_url="sqlite://")
    with pytest.raises(ConfigError, match="JWT_PRIVATE_KEY_FILE is not set"):
        load_signing_key(settings)
    with pytest.raises(ConfigError, match="JWT_PUBLIC_KEYS is not set"):
        load_keyring(settings)


def test_development_default_is_a_pair_generated_under_var_dir_keys(tmp_path: Path) -> None:
    env = {"YUNKEFU_ENV": "development", "VAR_DIR": str(tmp_path)}
    settings = Settings.from_env("onboarding", env)
    assert settings.jwt_private_key_file == str(tmp_path / "keys" / "dev.key.pem")
    assert settings.jwt_public_keys == str(tmp_path / "keys" / "dev.pub.pem")
    key = load_signing_key(settings)
    assert stat.S_IMODE((tmp_path / "keys" / "dev.key.pem").stat().st_mode) == 0o600
    assert decode_token(mint_token(key, "qa", sub="q"), load_keyring(settings)).role == "qa"
    # the same pair on the next start
    assert load_signing_key(Settings.from_env("cli", env)).kid == key.kid


def test_no_development_default_outside_development_or_when_a_key_is_configured(tmp_path: Path) -> None:
    assert Settings.from_env("onboarding", {"VAR_DIR": str(tmp_path)}).jwt_public_keys == ""
    env = {"YUNKEFU_ENV": "development", "VAR_DIR": str(tmp_path), "JWT_PUBLIC_KEYS": "/etc/keys"}
    settings = Settings.from_env("onboarding", env)
    assert (settings.jwt_public_keys, settings.jwt_private_key_file, settings.jwt_dev_keys_dir) == (
        "/etc/keys",
        "",
        "",
    )


def test_processes_generating_the_development_pair_at_once_all_end_up_with_one_key(tmp_path: Path) -> None:
    results: list[str] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            private, public = ensure_dev_key_pair(tmp_path / "keys")
            results.append(SigningKey.load(private).kid)
            results.append(Keyring.load(str(public)).kids[0])
        except BaseException as exc:  # reported below: a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(results)) == 1
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["dev.key.pem", "dev.pub.pem"]


def test_problem_extra_members_never_clash_with_the_standard_ones() -> None:
    from shared.errors import Conflict

    problem = Conflict("not now", extra={"status": "draft", "allowed": ["submit"]})
    body = problem.to_dict()
    assert body["status"] == 409
    assert body["allowed"] == ["submit"]
