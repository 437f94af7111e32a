"""The console in Chromium: the sign-in page is Chinese and accessible, a person signs in and out,
the language switch works, and a phone-sized screen shows the pages without horizontal scrolling."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.conftest import ConsoleStack
from tests.browser.support import assert_accessible, screenshot, sign_in, sign_out


def test_sign_in_page_is_chinese_and_accessible(
    console_stack: ConsoleStack, new_page: Callable[..., Page]
) -> None:
    page = new_page()
    page.goto(f"{console_stack.console_url}/")
    expect(page).to_have_url(f"{console_stack.console_url}/sign-in")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    screenshot(page, "sign-in")
    assert_accessible(page, "sign-in")


def test_a_person_signs_in_switches_to_english_and_signs_out(
    console_stack: ConsoleStack, new_page: Callable[..., Page]
) -> None:
    email, password = console_stack.create_user("vendor")
    page = new_page()
    page.goto(f"{console_stack.console_url}/sign-in")
    page.get_by_label("电子邮箱").fill(email)
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_contain_text("邮箱或密码不正确")
    sign_in(page, console_stack.console_url, email, password)
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.get_by_role("link", name="简体中文").click()
    sign_out(page)


def test_phone_sized_screen_has_no_horizontal_scroll(
    console_stack: ConsoleStack, new_page: Callable[..., Page]
) -> None:
    email, password = console_stack.create_user("supervisor")
    page = new_page(viewport={"width": 375, "height": 740})
    sign_in(page, console_stack.console_url, email, password)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width}px wide on a 375px screen"
    screenshot(page, "phone-supervisor-home")
