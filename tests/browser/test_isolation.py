"""Tenant isolation in the browser: merchant B never sees merchant A's project, by list or by link.

The two orders are made through onboarding's API (what is tested here is what B's browser shows, not how
A typed his order); each merchant then looks through the console in his own browser context.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from devtools.stack import Api
from shared.auth import SigningKey, mint_token
from tests.browser.conftest import ConsoleStack
from tests.browser.support import assert_accessible, screenshot, sign_in, t

MERCHANT_A, MERCHANT_B = "m-isolation-a", "m-isolation-b"
SHOP_A, SHOP_B = "甲店专属旗舰店", "乙店自营旗舰店"
#: every console page of one order a merchant can open by its address
ORDER_PAGES = ("", "/faq", "/materials", "/checklist", "/edit/merchant", "/edit/service", "/surges")


#: the error page's title: the service said 404 ("could not be completed"), or the console found nothing
NOT_FOUND_TITLES = re.compile(
    f"^({re.escape(t('The request could not be completed'))}|{re.escape(t('Page not found'))})$"
)


def order(stack: ConsoleStack, merchant_id: str, company: str) -> str:
    """A draft order of one merchant, made through onboarding's API; returns its id."""
    key = SigningKey.load(stack.stack.config.private_key_file)
    onboarding = Api(
        stack.url("onboarding"), mint_token(key, "merchant", merchant_id=merchant_id, sub=merchant_id)
    )
    status, body, _ = onboarding.post(
        "/api/v1/projects",
        {
            "merchant": {"company_name": company, "contact_name": "店长", "contact_phone": "13800138000"},
            "service": {"type": "presale", "seats": 5, "platform": "Tmall"},
        },
    )
    assert status == 201, body
    return str(body["id"])


@pytest.fixture(scope="module")
def orders(console_stack: ConsoleStack) -> Iterator[dict[str, str]]:
    yield {"a": order(console_stack, MERCHANT_A, SHOP_A), "b": order(console_stack, MERCHANT_B, SHOP_B)}


def merchant_page(stack: ConsoleStack, new_page: Callable[..., Page], merchant_id: str) -> Page:
    email, password = stack.create_user("merchant", merchant_id=merchant_id)
    page = new_page()
    sign_in(page, stack.console_url, email, password)
    return page


def test_each_merchant_lists_only_his_own_orders(
    console_stack: ConsoleStack, orders: dict[str, str], new_page: Callable[..., Page]
) -> None:
    a = merchant_page(console_stack, new_page, MERCHANT_A)
    a.goto(f"{console_stack.console_url}/merchant/projects")
    expect(a.get_by_test_id("project-row")).to_have_count(1)
    expect(a.locator(f"[data-testid=project-row][data-project-id='{orders['a']}']")).to_contain_text(SHOP_A)

    b = merchant_page(console_stack, new_page, MERCHANT_B)
    b.goto(f"{console_stack.console_url}/merchant/projects")
    expect(b.get_by_test_id("project-row")).to_have_count(1)
    expect(b.locator(f"[data-testid=project-row][data-project-id='{orders['b']}']")).to_contain_text(SHOP_B)
    expect(b.locator("main")).not_to_contain_text(SHOP_A)
    assert orders["a"] not in b.content()
    screenshot(b, "merchant-b-projects")


def test_merchant_b_opening_a_s_order_by_link_gets_the_not_found_page(
    console_stack: ConsoleStack, orders: dict[str, str], new_page: Callable[..., Page]
) -> None:
    b = merchant_page(console_stack, new_page, MERCHANT_B)
    for suffix in ORDER_PAGES:
        address = f"{console_stack.console_url}/merchant/projects/{orders['a']}{suffix}"
        response = b.goto(address)
        assert response is not None and response.status == 404, (
            f"{address}: HTTP {response and response.status}"
        )
        expect(b.get_by_role("heading", level=1)).to_have_text(NOT_FOUND_TITLES)
        expect(b.get_by_role("alert").first).to_be_visible()
        expect(b.locator("body")).not_to_contain_text(SHOP_A)
    # the same pages of B's own order open: the 404s above are about A's order, not broken pages
    response = b.goto(f"{console_stack.console_url}/merchant/projects/{orders['b']}")
    assert response is not None and response.status == 200
    expect(b.locator("main")).to_contain_text(SHOP_B)
    b.goto(f"{console_stack.console_url}/merchant/projects/{orders['a']}")
    screenshot(b, "merchant-b-not-found")
    assert_accessible(b, "merchant-b-not-found")
