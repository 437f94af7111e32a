"""axe-core on the main page of every role, with real data in them: no serious or critical violation.

The data is the seed's story played through the services' APIs (shared/demo.py, signed with the stack's
own key): how a person makes it is test_story.py's business; here it only has to be there, so that the
pages show their tables, grids, funnels and calendars rather than empty states. Each page is opened in
Chinese, screenshotted and checked (``visit``); the agent's pages on a 375 px wide screen.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from devtools.demo import MERCHANT_ID, Outcome, Story
from devtools.stack import Api
from shared.auth import SigningKey, mint_token
from shared.config import SERVICES
from tests.browser.conftest import ConsoleStack
from tests.browser.support import assert_accessible, screenshot, sign_in, visit

PHONE = {"width": 375, "height": 740}


@pytest.fixture(scope="module")
def story(console_stack: ConsoleStack) -> Outcome:
    """The whole seed story (order → 20 admitted → roster → complaint → approved payroll) via the APIs."""
    key = SigningKey.load(console_stack.stack.config.private_key_file)
    urls = {service: console_stack.url(service) for service in SERVICES}
    said: list[str] = []
    outcome = Story(urls, key, say=said.append, timeout=60.0).run()
    assert not outcome.failures, "\n".join(said)
    return outcome


def signed_in(stack: ConsoleStack, new_page: Callable[..., Page], role: str, **kwargs: Any) -> Page:
    viewport = kwargs.pop("viewport", None)
    email, password = stack.create_user(role, **kwargs)
    page = new_page(viewport=viewport)
    sign_in(page, stack.console_url, email, password)
    return page


def check_pages(page: Page, stack: ConsoleStack, pages: dict[str, str]) -> None:
    """Every page named → its path: opened, screenshotted, checked; all problems reported together."""
    problems = []
    for name, path in pages.items():
        try:
            visit(page, f"{stack.console_url}{path}", name)
        except AssertionError as problem:
            problems.append(str(problem))
    assert not problems, "\n\n".join(problems)


def test_sign_in_page(console_stack: ConsoleStack, new_page: Callable[..., Page]) -> None:
    page = new_page()
    visit(page, f"{console_stack.console_url}/sign-in", "a11y-sign-in")
    page = new_page(viewport=PHONE)
    visit(page, f"{console_stack.console_url}/sign-in", "a11y-sign-in-phone")


def test_merchant_pages(console_stack: ConsoleStack, story: Outcome, new_page: Callable[..., Page]) -> None:
    page = signed_in(console_stack, new_page, "merchant", merchant_id=MERCHANT_ID)
    project = f"/merchant/projects/{story.project_id}"
    check_pages(
        page,
        console_stack,
        {
            "a11y-merchant-projects": "/merchant/projects",
            "a11y-merchant-wizard": "/merchant/projects/new",
            "a11y-merchant-project": project,
            "a11y-merchant-faq": f"{project}/faq",
            "a11y-merchant-materials": f"{project}/materials",
            "a11y-merchant-surges": f"{project}/surges",
            "a11y-merchant-complaints": "/merchant/complaints",
            "a11y-merchant-live-status": f"/desk/projects/{story.project_id}",
        },
    )


def test_vendor_pages(console_stack: ConsoleStack, story: Outcome, new_page: Callable[..., Page]) -> None:
    page = signed_in(console_stack, new_page, "vendor")
    project = story.project_id
    check_pages(
        page,
        console_stack,
        {
            "a11y-vendor-board": "/vendor/",
            "a11y-vendor-project": f"/vendor/projects/{project}",
            "a11y-vendor-talent-pool": "/vendor/talent-pool",
            "a11y-vendor-requisitions": "/vendor/requisitions",
            "a11y-vendor-pool": f"/ops/projects/{project}",
            "a11y-vendor-roster": f"/ops/projects/{project}/roster",
            "a11y-vendor-complaints": "/ops/complaints",
            "a11y-vendor-timesheets": f"/ops/timesheets?project_id={project}",
            "a11y-vendor-planning": "/planning/",
            "a11y-vendor-planning-project": f"/planning/projects/{project}",
            "a11y-vendor-campaign-new": f"/planning/projects/{project}/campaigns/new",
            "a11y-vendor-campaign": f"/planning/projects/{project}/campaigns/{story.plan['campaign_id']}",
            "a11y-vendor-plan": f"/planning/projects/{project}/plans/{story.plan['id']}",
        },
    )
    page.goto(f"{console_stack.console_url}/vendor/projects/{project}")
    expect(page.get_by_test_id("funnel-admitted")).to_have_text("20")
    screenshot(page, "a11y-vendor-funnel")


def test_trainer_pages(console_stack: ConsoleStack, story: Outcome, new_page: Callable[..., Page]) -> None:
    page = signed_in(console_stack, new_page, "trainer")
    cohort = f"/trainer/cohorts/{story.cohort['cohort_id']}"
    check_pages(
        page,
        console_stack,
        {
            "a11y-trainer-cohorts": "/trainer/cohorts",
            "a11y-trainer-cohort": cohort,
            "a11y-trainer-courseware": f"{cohort}/courseware",
            "a11y-trainer-grid": f"{cohort}/assessments",
        },
    )
    expect(page.get_by_test_id("trainee-row")).to_have_count(30)


def test_supervisor_pages_on_a_phone(
    console_stack: ConsoleStack, story: Outcome, new_page: Callable[..., Page]
) -> None:
    page = signed_in(console_stack, new_page, "supervisor", viewport=PHONE)
    check_pages(
        page,
        console_stack,
        {
            "a11y-supervisor-queue-phone": "/supervisor/queue",
            "a11y-supervisor-projects-phone": "/supervisor/projects",
            "a11y-supervisor-complaint-phone": f"/ops/complaints/{story.complaint['id']}",
        },
    )


def test_desk_pages(console_stack: ConsoleStack, story: Outcome, new_page: Callable[..., Page]) -> None:
    """The day of operation (值班运营) as a supervisor runs it, and the live status board on a phone."""
    page = signed_in(console_stack, new_page, "supervisor")
    project = f"/desk/projects/{story.project_id}"
    check_pages(
        page,
        console_stack,
        {
            "a11y-desk-live-status": "/desk/",
            "a11y-desk-board": project,
            "a11y-desk-attendance": f"{project}/attendance",
            "a11y-desk-leave": "/desk/leave",
            "a11y-desk-swaps": f"{project}/swaps",
            "a11y-desk-open-shifts": f"{project}/open-shifts",
            "a11y-desk-duty": f"{project}/duty",
            "a11y-desk-settings": f"{project}/settings",
            "a11y-desk-alerts": "/desk/alerts",
            "a11y-desk-channel-new": "/desk/alerts/channels/new",
        },
    )
    phone = signed_in(console_stack, new_page, "supervisor", viewport=PHONE)
    check_pages(phone, console_stack, {"a11y-desk-board-phone": project})
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the status board is {width}px wide on a {PHONE['width']}px screen"


def test_finance_pages(console_stack: ConsoleStack, story: Outcome, new_page: Callable[..., Page]) -> None:
    page = signed_in(console_stack, new_page, "finance")
    check_pages(
        page,
        console_stack,
        {
            "a11y-finance-runs": "/finance/runs",
            "a11y-finance-run": f"/finance/runs/{story.payroll['id']}",
            "a11y-finance-pay-plans": f"/finance/pay-plans?project_id={story.project_id}",
            "a11y-finance-performance": "/finance/performance",
        },
    )
    page.goto(f"{console_stack.console_url}/finance/runs/{story.payroll['id']}")
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-status", "approved")


def test_invoicing_pages(console_stack: ConsoleStack, story: Outcome, new_page: Callable[..., Page]) -> None:
    """Invoicing (开票) as finance and the vendor read it, and the merchant's bills (我的账单), desktop and
    phone: the story's month invoiced through billing's API (an agent-hour price list, the invoice approved,
    issued, partly paid and corrected by a credit note), so every table and figure has rows."""
    key = SigningKey.load(console_stack.stack.config.private_key_file)
    billing = Api(console_stack.url("billing"), mint_token(key, "finance", sub="a11y-finance"))

    def ok(answer: tuple[int, Any, dict[str, str]], *statuses: int) -> Any:
        status, body, _headers = answer
        assert status in (statuses or (200, 201)), f"billing answered {status}: {body}"
        return body

    period, project = story.payroll["period"], story.project_id
    ok(
        billing.post(
            "/api/v1/price-lists",
            {
                "project_id": project,
                "effective_from": f"{period}-01",
                "basis": "agent_hour",
                "agent_hour_price": "25.00",
                "training_person_hour_price": "15.00",
                "surge_premium_rate": "0.2",
            },
        ),
        201,
    )
    run = ok(billing.post("/api/v1/invoices", {"period": period, "project_id": project}))
    [invoice_id] = run["created"]
    ok(billing.post(f"/api/v1/invoices/{invoice_id}/approve"))
    invoice = ok(billing.post(f"/api/v1/invoices/{invoice_id}/issue"))
    half = (Decimal(invoice["total"]) / 2).quantize(Decimal("0.01"))
    payment = {"amount": str(half), "reference": "招行 0001"}
    ok(billing.post(f"/api/v1/invoices/{invoice_id}/payments", payment), 201)
    note = ok(
        billing.post(
            f"/api/v1/invoices/{invoice_id}/credit-notes",
            {"reason": "系统故障停线半小时", "lines": [{"description": "停线补偿", "amount": "10.00"}]},
        ),
        201,
    )

    finance = signed_in(console_stack, new_page, "finance")
    check_pages(
        finance,
        console_stack,
        {
            "a11y-invoicing-invoices": f"/invoicing/invoices?period={period}",
            "a11y-invoicing-invoice": f"/invoicing/invoices/{invoice_id}",
            "a11y-invoicing-credit-note": f"/invoicing/invoices/{note['id']}",
            "a11y-invoicing-sources": f"/invoicing/invoices/{invoice_id}/lines/1/sources",
            "a11y-invoicing-price-lists": f"/invoicing/price-lists?project_id={project}",
            "a11y-invoicing-aging": "/invoicing/aging",
            "a11y-invoicing-margins": f"/invoicing/margins?from={period}&to={period}",
        },
    )
    finance.goto(f"{console_stack.console_url}/invoicing/invoices/{invoice_id}")
    expect(finance.get_by_test_id("invoice-status")).to_have_attribute("data-status", "partly_paid")
    expect(finance.get_by_test_id("payment-row")).to_have_count(1)
    expect(finance.get_by_test_id("credit-note-row")).to_have_count(1)
    screenshot(finance, "invoicing-invoice")
    # a form refused by billing: the message and the field's error must be as accessible as the form
    finance.goto(f"{console_stack.console_url}/invoicing/price-lists?project_id={project}")
    finance.get_by_test_id("save-price-list").click()
    expect(finance.get_by_test_id("price-list-error")).to_be_visible()
    screenshot(finance, "a11y-invoicing-price-list-refused")
    assert_accessible(finance, "a11y-invoicing-price-list-refused")

    vendor = signed_in(console_stack, new_page, "vendor", viewport=PHONE)
    check_pages(
        vendor,
        console_stack,
        {
            "a11y-invoicing-margins-phone": f"/invoicing/margins?from={period}&to={period}",
            "a11y-invoicing-invoice-phone": f"/invoicing/invoices/{invoice_id}",
        },
    )

    merchant = signed_in(console_stack, new_page, "merchant", merchant_id=MERCHANT_ID)
    check_pages(
        merchant,
        console_stack,
        {
            "a11y-invoicing-merchant": "/invoicing/mine",
            "a11y-invoicing-merchant-invoice": f"/invoicing/mine/{invoice_id}",
            "a11y-invoicing-merchant-credit-note": f"/invoicing/mine/{note['id']}",
        },
    )
    merchant.goto(f"{console_stack.console_url}/invoicing/mine")
    expect(merchant.get_by_test_id("my-invoice-row")).to_have_count(2)
    screenshot(merchant, "invoicing-merchant")
    phone = signed_in(console_stack, new_page, "merchant", merchant_id=MERCHANT_ID, viewport=PHONE)
    check_pages(
        phone,
        console_stack,
        {
            "a11y-invoicing-merchant-phone": "/invoicing/mine",
            "a11y-invoicing-merchant-invoice-phone": f"/invoicing/mine/{invoice_id}",
        },
    )
    for path in ("/invoicing/mine", f"/invoicing/mine/{invoice_id}"):
        phone.goto(f"{console_stack.console_url}{path}")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width}px wide on a {PHONE['width']}px screen"


def test_agent_pages_on_a_phone(
    console_stack: ConsoleStack, story: Outcome, new_page: Callable[..., Page]
) -> None:
    # an active agent with a payslip in the approved run
    agent_id = next(
        slip["agent_id"] for slip in story.payslips if story.agents.get(slip["agent_id"]) == "active"
    )
    page = signed_in(console_stack, new_page, "agent", candidate_id=agent_id, viewport=PHONE)
    check_pages(
        page,
        console_stack,
        {"a11y-agent-shifts-phone": "/agent/shifts", "a11y-agent-payslips-phone": "/agent/payslips"},
    )
    page.goto(f"{console_stack.console_url}/agent/shifts")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the shifts page is {width}px wide on a {PHONE['width']}px screen"
    expect(page.get_by_test_id("shift-item").first).to_be_visible()


def test_agent_on_shift_pages_on_a_phone(
    console_stack: ConsoleStack, story: Outcome, new_page: Callable[..., Page]
) -> None:
    # an active agent of the story's roster: the day-of-operation pages (onshift.*) with a project in them
    agent_id = next(a for a, role in story.agents.items() if role == "active")
    page = signed_in(console_stack, new_page, "agent", candidate_id=agent_id, viewport=PHONE)
    check_pages(
        page,
        console_stack,
        {
            "a11y-agent-on-shift-phone": "/onshift/",
            "a11y-agent-availability-phone": "/onshift/availability",
            "a11y-agent-leave-phone": "/onshift/leave",
            "a11y-agent-swaps-phone": "/onshift/swaps",
            "a11y-agent-open-shifts-phone": "/onshift/open-shifts",
            "a11y-agent-help-phone": "/onshift/help",
            "a11y-agent-calendar-phone": "/onshift/calendar",
        },
    )
    # a link just issued: the copy field, the buttons and the phone hints
    page.get_by_test_id("feed-issue").click()
    expect(page.get_by_test_id("feed-url")).to_be_visible()
    screenshot(page, "a11y-agent-calendar-issued-phone")
    assert_accessible(page, "a11y-agent-calendar-issued-phone")
    for path in ("/onshift/", "/onshift/availability", "/onshift/swaps"):
        page.goto(f"{console_stack.console_url}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width}px wide on a {PHONE['width']}px screen"
    page.goto(f"{console_stack.console_url}/onshift/")
    expect(page.get_by_test_id("shift-card").first).to_be_visible()
    expect(page.get_by_test_id("help-form")).to_be_visible()


def test_admin_pages(console_stack: ConsoleStack, new_page: Callable[..., Page]) -> None:
    page = signed_in(console_stack, new_page, "admin")
    check_pages(
        page,
        console_stack,
        {"a11y-admin-users": "/admin/users", "a11y-admin-health": "/vendor/health"},
    )
