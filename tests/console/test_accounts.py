"""Accounts: lock-out, the per-address sign-in limit, password change, sign-out everywhere, invitations,
the administrator's users and audit pages, and the tokens the console mints for the services."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from devtools.console_accounts import DEMO_MERCHANT_ID, seed_demo_accounts
from services.console import accounts
from services.console.cli import user as user_group
from services.console.models import Invitation, SignInEvent, User
from services.console.web import identity_of
from shared.auth import ROLES, SigningKey, load_keyring, mint_token
from shared.db import Database, utcnow
from shared.migrate import upgrade
from shared.service import load_spec
from shared.uow import UnitOfWork, unit_of_work
from tests.console.support import PASSWORD, ConsoleEnv, csrf_token

NEW_PASSWORD = "Another-Horse-42"


def client_at(env: ConsoleEnv, address: str) -> FlaskClient:
    """A browser at its own IP address (the sign-in limit counts per address)."""
    client = env.client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def post_form(client: FlaskClient, url: str, data: dict[str, str], page: str | None = None) -> Any:
    """POST a form the way a browser does: with the CSRF token of the page it is on."""
    html = client.get(page or url).get_data(as_text=True)
    return client.post(url, data={**data, "csrf_token": csrf_token(html)})


def sign_in(client: FlaskClient, email: str, password: str) -> Any:
    return post_form(client, "/sign-in", {"email": email, "password": password})


def signed_in_as(env: ConsoleEnv, user: User, address: str, password: str = PASSWORD) -> FlaskClient:
    client = client_at(env, address)
    response = sign_in(client, user.email, password)
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    return client


def is_signed_in(client: FlaskClient) -> bool:
    response = client.get("/password")
    return response.status_code == 200


def events(env: ConsoleEnv, email: str) -> list[str]:
    with env.database.session() as session:
        return list(
            session.scalars(
                select(SignInEvent.outcome).where(SignInEvent.email == email).order_by(SignInEvent.id)
            )
        )


def states(html: str) -> list[str]:
    """The state badges of the users table, in order."""
    return re.findall(r'data-testid="user-state">([^<]+)<', html)


def invitation_path(html: str) -> str:
    match = re.search(r'value="([^"]+)" data-testid="invitation-link"', html)
    assert match, "no invitation link on the page"
    return urlsplit(match.group(1)).path


# --- lock-out and the per-address limit -------------------------------------------------------------------


def test_five_failures_lock_the_account_even_for_the_right_password_until_time_or_an_admin(
    console_env: ConsoleEnv,
) -> None:
    user = console_env.create_user("vendor")
    browser = client_at(console_env, "10.0.0.1")
    for _ in range(4):
        refused = sign_in(browser, user.email, "wrong-password-1")
        assert refused.status_code == 401 and "不正确" in refused.get_data(as_text=True)
    fifth = sign_in(browser, user.email, "wrong-password-1")
    assert "锁定" in fifth.get_data(as_text=True)
    locked = sign_in(browser, user.email, PASSWORD)
    assert locked.status_code == 401 and "锁定" in locked.get_data(as_text=True)
    assert not is_signed_in(browser)
    assert events(console_env, user.email) == ["failed"] * 4 + ["locked", "locked"]

    # The lock runs out by itself after the configured minutes (checked with the clock passed in).
    policy = accounts.LockoutPolicy(5, 15)
    with console_env.database.session() as session, pytest.raises(accounts.AccountError):
        in_14_minutes = utcnow() + dt.timedelta(minutes=14)
        accounts.authenticate(
            UnitOfWork(session, clock=lambda: in_14_minutes), user.email, PASSWORD, policy=policy
        )
    in_16_minutes = utcnow() + dt.timedelta(minutes=16)
    with unit_of_work(console_env.database, clock=lambda: in_16_minutes) as uow:
        later = accounts.authenticate(uow, user.email, PASSWORD, policy=policy)
        assert later.locked_until is None and later.failed_attempts == 0

    # Locked again; the administrator unlocks it from the users page.
    with console_env.database.session() as session:
        session.execute(
            update(User).where(User.id == user.id).values(locked_until=utcnow() + dt.timedelta(minutes=15))
        )
    admin = signed_in_as(console_env, console_env.create_user("admin"), "10.0.0.2")
    users_page = admin.get("/admin/users?state=locked").get_data(as_text=True)
    assert user.email in users_page and states(users_page) == ["已锁定"]
    assert post_form(admin, f"/admin/users/{user.id}/unlock", {}, page="/admin/users").status_code == 302
    assert "已解锁" in admin.get("/admin/users").get_data(as_text=True)
    assert sign_in(browser, user.email, PASSWORD).status_code == 302
    assert events(console_env, user.email)[-2:] == ["unlocked", "signed_in"]


def test_failed_sign_ins_are_limited_per_address_with_a_429_page_in_chinese(console_env: ConsoleEnv) -> None:
    user = console_env.create_user("finance")
    guesser = client_at(console_env, "10.0.1.1")
    for n in range(10):  # CONSOLE_SIGN_IN_RATE_LIMIT: 10/minute by default; different accounts each time
        assert sign_in(guesser, f"nobody{n}@example.com", "guess-guess-1").status_code == 401
    refused = sign_in(guesser, user.email, PASSWORD)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    page = refused.get_data(as_text=True)
    assert "登录失败次数过多" in page and 'lang="zh-CN"' in page
    assert not is_signed_in(guesser)
    assert events(console_env, user.email) == ["rate_limited"]  # refused before the password was looked at
    with console_env.database.session() as session:
        assert session.get(User, user.id).failed_attempts == 0  # type: ignore[union-attr]

    # Another address is not affected, and successful sign-ins do not spend the budget.
    for _ in range(12):
        signed_in_as(console_env, user, "10.0.1.2")


# --- the signed-in user's own account ---------------------------------------------------------------------


def test_password_change_checks_the_policy_then_ends_the_other_sessions_only(console_env: ConsoleEnv) -> None:
    user = console_env.create_user("trainer")
    here = signed_in_as(console_env, user, "10.0.2.1")
    elsewhere = signed_in_as(console_env, user, "10.0.2.2")
    page = here.get("/password").get_data(as_text=True)
    assert "修改密码" in page and "至少 10 个字符" in page

    cases = [
        ({"current": "not-my-password", "new": NEW_PASSWORD, "repeat": NEW_PASSWORD}, "当前密码不正确"),
        ({"current": PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD + "x"}, "两次输入的新密码不一致"),
        ({"current": PASSWORD, "new": "short-1", "repeat": "short-1"}, "密码至少需要 10 个字符"),
        ({"current": PASSWORD, "new": "abababababab", "repeat": "abababababab"}, "密码过于简单"),
        ({"current": PASSWORD, "new": user.email, "repeat": user.email}, "密码不能与邮箱相同"),
        ({"current": PASSWORD, "new": PASSWORD, "repeat": PASSWORD}, "新密码不能与当前密码相同"),
    ]
    for form, message in cases:
        refused = post_form(here, "/password", form)
        assert refused.status_code == 422, form
        assert message in refused.get_data(as_text=True), form
    assert sign_in(client_at(console_env, "10.0.2.9"), user.email, PASSWORD).status_code == 302  # unchanged

    changed = post_form(here, "/password", {"current": PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert changed.status_code == 302
    assert "密码已修改" in here.get("/password").get_data(as_text=True)  # this session carries on
    assert not is_signed_in(elsewhere)  # the other one is over
    assert sign_in(client_at(console_env, "10.0.2.3"), user.email, PASSWORD).status_code == 401
    assert sign_in(client_at(console_env, "10.0.2.4"), user.email, NEW_PASSWORD).status_code == 302
    assert "password_change_refused" in events(console_env, user.email)
    assert "password_changed" in events(console_env, user.email)


def test_sign_out_everywhere_ends_every_session_of_the_user(console_env: ConsoleEnv) -> None:
    user = console_env.create_user("supervisor")
    other = console_env.create_user("supervisor")
    phone, laptop = signed_in_as(console_env, user, "10.0.3.1"), signed_in_as(console_env, user, "10.0.3.2")
    colleague = signed_in_as(console_env, other, "10.0.3.3")
    response = post_form(phone, "/sign-out-everywhere", {}, page="/password")
    assert response.status_code == 302 and response.headers["Location"].endswith("/sign-in")
    assert not is_signed_in(phone) and not is_signed_in(laptop)
    assert is_signed_in(colleague)
    assert events(console_env, user.email)[-1] == "signed_out_everywhere"
    assert sign_in(client_at(console_env, "10.0.3.4"), user.email, PASSWORD).status_code == 302


# --- invitations ------------------------------------------------------------------------------------------


def test_an_invitation_link_sets_the_password_once_and_signs_the_person_in(console_env: ConsoleEnv) -> None:
    admin = signed_in_as(console_env, console_env.create_user("admin"), "10.0.4.1")
    form = admin.get("/admin/users/invite").get_data(as_text=True)
    assert "邀请用户" in form
    created = admin.post(
        "/admin/users/invite",
        data={
            "email": "Li.Na@Example.com",
            "display_name": "李娜",
            "role": "vendor",
            "csrf_token": csrf_token(form),
        },
    )
    assert created.status_code == 201
    path = invitation_path(created.get_data(as_text=True))
    invited = console_env.user("li.na@example.com")
    assert invited.password_hash is None and invited.role == "vendor"
    with console_env.database.session() as session:
        stored = session.scalar(select(Invitation.token_hash).where(Invitation.user_id == invited.id))
    token = path.rsplit("/", 1)[1]
    assert stored == accounts.token_hash(token) and token not in (stored or "")  # only the hash is kept

    # Not a way in until the password is set.
    assert sign_in(client_at(console_env, "10.0.4.2"), "li.na@example.com", "").status_code == 401

    person = client_at(console_env, "10.0.4.3")
    page = person.get(path).get_data(as_text=True)
    assert "接受邀请" in page and "李娜" in page
    mismatch = post_form(person, path, {"new": NEW_PASSWORD, "repeat": "Something-else-1"})
    assert mismatch.status_code == 422 and "两次输入的新密码不一致" in mismatch.get_data(as_text=True)
    accepted = post_form(person, path, {"new": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert accepted.status_code == 302
    assert is_signed_in(person)
    assert events(console_env, "li.na@example.com") == ["failed", "invitation_accepted"]

    used = client_at(console_env, "10.0.4.4").get(path)
    assert used.status_code == 404 and "已被使用" in used.get_data(as_text=True)
    unknown = client_at(console_env, "10.0.4.4").get("/invite/" + uuid.uuid4().hex)
    assert unknown.status_code == 404 and "无效" in unknown.get_data(as_text=True)
    assert sign_in(client_at(console_env, "10.0.4.5"), "li.na@example.com", NEW_PASSWORD).status_code == 302

    # Forgotten password: a reset link; the old password keeps working until the link is used.
    li_na = console_env.user("li.na@example.com")
    reset = post_form(admin, f"/admin/users/{li_na.id}/resend", {}, page="/admin/users")
    assert reset.status_code == 200 and "重置密码链接" in reset.get_data(as_text=True)
    reset_path = invitation_path(reset.get_data(as_text=True))
    assert sign_in(client_at(console_env, "10.0.4.6"), "li.na@example.com", NEW_PASSWORD).status_code == 302
    third = "Third-Horse-77"
    chosen = post_form(client_at(console_env, "10.0.4.7"), reset_path, {"new": third, "repeat": third})
    assert chosen.status_code == 302
    assert not is_signed_in(person)  # sessions opened with the old password end
    assert sign_in(client_at(console_env, "10.0.4.8"), "li.na@example.com", NEW_PASSWORD).status_code == 401
    assert sign_in(client_at(console_env, "10.0.4.9"), "li.na@example.com", third).status_code == 302

    listed = admin.get("/admin/users?q=li.na").get_data(as_text=True)
    assert "li.na@example.com" in listed and states(listed) == ["正常"] and "从未" not in listed


def test_expired_and_resent_invitations_stop_working(console_env: ConsoleEnv) -> None:
    admin = signed_in_as(console_env, console_env.create_user("admin"), "10.0.5.1")
    first = invitation_path(
        post_form(admin, "/admin/users/invite", {"email": "wang@example.com", "role": "finance"}).get_data(
            as_text=True
        )
    )
    invited = console_env.user("wang@example.com")
    pending = admin.get("/admin/users?state=invited").get_data(as_text=True)
    assert "wang@example.com" in pending and states(pending) == ["已邀请，尚未设置密码"]

    resent = post_form(admin, f"/admin/users/{invited.id}/resend", {}, page="/admin/users")
    assert resent.status_code == 200 and "之前的链接已失效" in resent.get_data(as_text=True)
    second = invitation_path(resent.get_data(as_text=True))
    assert second != first
    person = client_at(console_env, "10.0.5.2")
    assert person.get(first).status_code == 404  # the old link died

    with console_env.database.session() as session:
        session.execute(
            update(Invitation)
            .where(Invitation.user_id == invited.id)
            .values(expires_at=utcnow() - dt.timedelta(minutes=1))
        )
    expired = person.get(second)
    assert expired.status_code == 404 and "已过期" in expired.get_data(as_text=True)
    with pytest.raises(accounts.InvitationError), unit_of_work(console_env.database) as uow:
        accounts.accept_invitation(uow, second.rsplit("/", 1)[1], NEW_PASSWORD, NEW_PASSWORD)
    assert console_env.user("wang@example.com").password_hash is None


def test_inviting_a_merchant_mints_a_merchant_id_and_an_agent_needs_a_real_candidate(
    console_env: ConsoleEnv,
) -> None:
    admin = signed_in_as(console_env, console_env.create_user("admin"), "10.0.6.1")
    merchant = post_form(
        admin, "/admin/users/invite", {"email": "shop@example.com", "role": "merchant", "new_merchant": "1"}
    )
    assert merchant.status_code == 201
    minted = console_env.user("shop@example.com").merchant_id
    assert minted and str(uuid.UUID(minted)) == minted
    assert minted in merchant.get_data(as_text=True)

    existing = post_form(
        admin,
        "/admin/users/invite",
        {"email": "shop2@example.com", "role": "merchant", "merchant_id": minted},
    )
    assert existing.status_code == 201 and console_env.user("shop2@example.com").merchant_id == minted
    missing = post_form(admin, "/admin/users/invite", {"email": "shop3@example.com", "role": "merchant"})
    assert missing.status_code == 422 and "请输入商家 ID" in missing.get_data(as_text=True)

    unknown = post_form(
        admin,
        "/admin/users/invite",
        {"email": "agent@example.com", "role": "agent", "candidate_id": str(uuid.uuid4())},
    )
    assert unknown.status_code == 422 and "人才库中没有此 ID 的候选人" in unknown.get_data(as_text=True)
    with console_env.database.session() as session:
        assert (
            session.scalar(select(func.count()).select_from(User).where(User.email == "agent@example.com"))
            == 0
        )

    recruitment = console_env.services["recruitment"]
    candidate = recruitment.client.post(
        "/api/v1/candidates",
        json={
            "name": "张三",
            "phone": "13800138000",
            "skills": ["presale"],
            "shifts_available": ["morning"],
            "basic_training_passed": True,
            "basic_score": 85,
        },
        headers=recruitment.auth("vendor"),
    )
    assert candidate.status_code == 201, candidate.get_json()
    candidate_id = candidate.get_json()["id"]
    agent = post_form(
        admin,
        "/admin/users/invite",
        {"email": "agent@example.com", "role": "agent", "candidate_id": candidate_id},
    )
    assert agent.status_code == 201
    assert console_env.user("agent@example.com").candidate_id == candidate_id

    duplicate = post_form(admin, "/admin/users/invite", {"email": "AGENT@example.com", "role": "vendor"})
    assert duplicate.status_code == 422 and "该邮箱已被使用" in duplicate.get_data(as_text=True)


def test_deactivating_a_user_ends_their_sessions_and_reactivating_lets_them_back(
    console_env: ConsoleEnv,
) -> None:
    admin_user = console_env.create_user("admin")
    admin = signed_in_as(console_env, admin_user, "10.0.7.1")
    user = console_env.create_user("vendor")
    theirs = signed_in_as(console_env, user, "10.0.7.2")
    assert post_form(admin, f"/admin/users/{user.id}/deactivate", {}, page="/admin/users").status_code == 302
    assert not is_signed_in(theirs)
    assert sign_in(theirs, user.email, PASSWORD).status_code == 401
    assert states(admin.get("/admin/users?state=inactive").get_data(as_text=True)) == ["已停用"]

    own = post_form(admin, f"/admin/users/{admin_user.id}/deactivate", {}, page="/admin/users")
    assert own.status_code == 302 and "不能停用您自己的账号" in admin.get("/admin/users").get_data(
        as_text=True
    )
    assert console_env.user(admin_user.email).active

    assert post_form(admin, f"/admin/users/{user.id}/reactivate", {}, page="/admin/users").status_code == 302
    assert sign_in(theirs, user.email, PASSWORD).status_code == 302
    assert events(console_env, user.email)[-4:] == ["deactivated", "failed", "reactivated", "signed_in"]


def test_admin_pages_are_for_admins_and_the_audit_trail_filters_and_pages(console_env: ConsoleEnv) -> None:
    vendor, _ = console_env.signed_in("vendor")
    for url in ("/admin/users", "/admin/audit", "/admin/users/invite"):
        assert vendor.get(url).status_code == 403
    assert console_env.client().get("/admin/users").status_code == 302  # to the sign-in page

    with unit_of_work(console_env.database) as uow:
        for n in range(30):
            accounts.record(uow, "failed", "target@example.com", None, f"10.9.0.{n}", "curl/8")
        accounts.record(uow, "signed_in", "someone@example.com", None, "10.9.1.1", "Firefox")
    admin = signed_in_as(console_env, console_env.create_user("admin"), "10.0.8.1")
    first = admin.get("/admin/audit?q=target&outcome=failed").get_data(as_text=True)
    assert first.count('data-testid="audit-row"') == 25 and "30 条记录" in first
    assert "someone@example.com" not in first and "邮箱或密码错误" in first
    second = admin.get("/admin/audit?q=target&outcome=failed&page=2").get_data(as_text=True)
    assert second.count('data-testid="audit-row"') == 5
    today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    day = admin.get(f"/admin/audit?outcome=signed_in&from={today}&to={today}").get_data(as_text=True)
    assert "someone@example.com" in day
    earlier = today - dt.timedelta(days=2)
    assert "someone@example.com" not in admin.get(f"/admin/audit?to={earlier}").get_data(as_text=True)
    english = admin.get("/lang/en?next=/admin/audit")
    assert english.status_code == 302 and "Sign-in audit trail" in admin.get("/admin/audit").get_data(
        as_text=True
    )


# --- the tokens the console mints for the services --------------------------------------------------------


class Recording(httpx.BaseTransport):
    """Passes each call on and keeps the bearer token it carried."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.tokens: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.tokens.append((request.url.host, request.headers["Authorization"].removeprefix("Bearer ")))
        return self.inner.handle_request(request)


def test_each_call_carries_a_short_lived_eddsa_token_of_the_user(console_env: ConsoleEnv) -> None:
    services = console_env.app.extensions["console.services"]
    recording = Recording(services.transport)
    services.transport = recording  # before the first call: the pooled client is built with it
    keyring = load_keyring(console_env.services["onboarding"].settings)

    admin_user = console_env.create_user("admin")
    admin = signed_in_as(console_env, admin_user, "10.0.9.1")
    post_form(
        admin, "/admin/users/invite", {"email": "a@example.com", "role": "agent", "candidate_id": "c-404"}
    )
    host, token = recording.tokens[-1]
    assert host == "recruitment.internal"
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA" and header["kid"] in keyring
    claims = jwt.decode(token, keyring.get(header["kid"]), algorithms=["EdDSA"])
    assert claims["role"] == "admin" and claims["sub"] == admin_user.id and "merchant_id" not in claims
    lifetime = console_env.app.extensions["console.config"].service_token_seconds
    assert 0 < claims["exp"] - claims["iat"] <= lifetime <= 3600

    merchant = console_env.create_user("merchant")
    answer = services.request(identity_of(merchant), "onboarding", "GET", "/projects")
    assert answer.status == 200
    claims = jwt.decode(recording.tokens[-1][1], options={"verify_signature": False})
    assert claims["role"] == "merchant" and claims["merchant_id"] == merchant.merchant_id
    agent = console_env.create_user("agent")
    agent_claims = jwt.decode(services.token_for(identity_of(agent)), options={"verify_signature": False})
    assert agent_claims["sub"] == agent.candidate_id and agent_claims["role"] == "agent"


def test_a_service_refuses_tokens_from_an_unknown_key_and_the_old_shared_secret(
    console_env: ConsoleEnv,
) -> None:
    onboarding = console_env.services["onboarding"]
    stranger = mint_token(SigningKey.generate(), "vendor", ttl_seconds=300)
    refused = onboarding.client.get("/api/v1/projects", headers={"Authorization": f"Bearer {stranger}"})
    assert refused.status_code == 401 and "unknown key" in refused.get_json()["detail"]
    old_style = jwt.encode(
        {"sub": "x", "role": "vendor", "exp": int(dt.datetime.now(dt.UTC).timestamp()) + 300},
        "the-old-shared-secret-of-at-least-32-bytes",
        algorithm="HS256",
    )
    refused = onboarding.client.get("/api/v1/projects", headers={"Authorization": f"Bearer {old_style}"})
    assert refused.status_code == 401
    mine = console_env.app.extensions["console.services"].token_for(
        identity_of(console_env.create_user("vendor"))
    )
    assert (
        onboarding.client.get("/api/v1/projects", headers={"Authorization": f"Bearer {mine}"}).status_code
        == 200
    )


# --- the command line and the demo accounts ---------------------------------------------------------------


@pytest.fixture()
def console_database(make_database: Callable[[str], str]) -> Iterator[str]:
    url = make_database(f"accounts_cli_{uuid.uuid4().hex[:6]}")
    upgrade(load_spec("console"), url)
    yield url


def test_the_user_command_creates_the_first_admin_invites_lists_and_unlocks(console_database: str) -> None:
    runner = CliRunner()
    env = {"CONSOLE_DATABASE_URL": console_database, "CONSOLE_PUBLIC_URL": "https://console.example.cn"}

    def run(*args: str, input: str | None = None) -> Any:
        return runner.invoke(user_group, list(args), env=env, input=input)

    created = run(
        "create",
        "--role",
        "admin",
        "--email",
        "Boss@Example.com",
        "--name",
        "老板",
        input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )
    assert created.exit_code == 0, created.output
    assert "created admin boss@example.com" in created.output and NEW_PASSWORD not in created.output
    again = run("create", "--role", "admin", "--email", "boss@example.com", "--password", NEW_PASSWORD)
    assert again.exit_code == 2 and "already exists" in again.output
    weak = run("create", "--role", "vendor", "--email", "weak@example.com", "--password", "short")
    assert weak.exit_code == 2 and "at least 10 characters" in weak.output
    unbound = run("create", "--role", "merchant", "--email", "m@example.com", "--password", NEW_PASSWORD)
    assert unbound.exit_code == 2 and "merchant id" in unbound.output

    invited = run("invite", "--role", "merchant", "--email", "shop@example.com", "--merchant-id", "m-1")
    assert invited.exit_code == 0, invited.output
    link = invited.output.strip().splitlines()[-1]
    assert link.startswith("https://console.example.cn/invite/")
    database = Database(console_database)
    try:
        with unit_of_work(database) as uow:
            accounts.accept_invitation(uow, link.rsplit("/", 1)[1], NEW_PASSWORD, NEW_PASSWORD)
        with unit_of_work(database) as uow:
            boss = uow.session.scalar(select(User).where(User.email == "boss@example.com"))
            assert boss is not None and boss.role == "admin" and boss.display_name == "老板"
            accounts.authenticate(uow, "boss@example.com", NEW_PASSWORD, policy=accounts.LockoutPolicy())
            boss.locked_until = utcnow() + dt.timedelta(minutes=15)

        listed = run("list")
        assert listed.exit_code == 0
        lines = {line.split()[0]: line.split() for line in listed.output.splitlines()}
        assert lines["boss@example.com"][1:3] == ["admin", "locked"]
        assert lines["shop@example.com"][1:4] == ["merchant", "m-1", "active"]
        assert run("unlock", "--email", "BOSS@example.com").exit_code == 0
        assert run("list", "--role", "admin").output.split()[:3] == ["boss@example.com", "admin", "active"]
        assert run("unlock", "--email", "nobody@example.com").exit_code == 2
    finally:
        database.dispose()


def test_demo_accounts_one_per_role_with_random_passwords_and_idempotent(console_database: str) -> None:
    database = Database(console_database)
    try:
        first = seed_demo_accounts(database, candidate_id="cand-1")
        assert sorted(role for role, _, _ in first) == sorted(ROLES)
        passwords = {role: password for role, _, password in first}
        assert all(passwords.values()) and len(set(passwords.values())) == len(ROLES)
        with unit_of_work(database) as uow:
            for role, email, password in first:
                user = accounts.authenticate(uow, email, password, policy=accounts.LockoutPolicy())
                assert user.role == role
            merchant = uow.session.scalar(select(User).where(User.role == "merchant"))
            agent = uow.session.scalar(select(User).where(User.role == "agent"))
            assert merchant is not None and merchant.merchant_id == DEMO_MERCHANT_ID
            assert agent is not None and agent.candidate_id == "cand-1"
            hashes = dict(uow.session.execute(select(User.email, User.password_hash)).all())

        second = seed_demo_accounts(database)
        assert [(role, email) for role, email, _ in second] == [(role, email) for role, email, _ in first]
        assert all(password == "" for _, _, password in second)
        with database.session() as session:
            assert dict(session.execute(select(User.email, User.password_hash)).all()) == hashes
    finally:
        database.dispose()
