"""The console's skeleton: sign-in page, sign-in through the form, role homes, language switch, errors."""

from __future__ import annotations

from tests.console.support import ConsoleEnv, csrf_token


def test_sign_in_page_is_chinese_by_default_and_english_by_switch(console_env: ConsoleEnv) -> None:
    client = console_env.client()
    page = client.get("/sign-in").get_data(as_text=True)
    assert 'lang="zh-CN"' in page and "登录" in page
    switched = client.get("/lang/en?next=/sign-in")
    assert switched.status_code == 302
    english = client.get("/sign-in").get_data(as_text=True)
    assert 'lang="en"' in english and "Sign in" in english


def test_wrong_password_is_refused_with_a_message_and_no_session(console_env: ConsoleEnv) -> None:
    user = console_env.create_user("vendor")
    client = console_env.client()
    token = csrf_token(client.get("/sign-in").get_data(as_text=True))
    response = client.post(
        "/sign-in", data={"email": user.email, "password": "wrong-password-1", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "不正确" in response.get_data(as_text=True)
    assert client.get("/", follow_redirects=False).headers["Location"].endswith("/sign-in")


def test_form_without_csrf_token_is_refused(console_env: ConsoleEnv) -> None:
    user = console_env.create_user("vendor")
    client = console_env.client()
    response = client.post("/sign-in", data={"email": user.email, "password": "Correct-Horse-9"})
    assert response.status_code == 400


def test_signed_in_user_lands_on_their_role_home(console_env: ConsoleEnv) -> None:
    client, _user = console_env.signed_in("vendor")
    response = client.get("/", follow_redirects=True)
    assert response.status_code == 200
    assert "运营" in response.get_data(as_text=True)  # the role, in the header of every page
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_quality_staff_land_on_the_quality_page(console_env: ConsoleEnv) -> None:
    client, _user = console_env.signed_in("qa")
    page = client.get("/", follow_redirects=True)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "质检" in html
    assert 'data-testid="quality-projects"' in html or "暂无运行中的项目" in html
