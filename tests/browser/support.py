"""Playwright helpers for the browser tests: sign in, check accessibility with axe-core, save screenshots.

The browser is Debian's Chromium (``/usr/bin/chromium``, or ``CHROMIUM``): Playwright's own browser
download cannot work on machines without internet access, so it is never used.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from services.console.i18n import HTML_LANG
from shared.config import project_root

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
#: as the machine's own probe starts it: without the background-networking flags, Chromium's calls home
#: are refused by the closed network, many at a time
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
#: the console language the tests drive (``zh`` as a person would see it; ``en`` only to debug a test)
LANG = os.environ.get("BROWSER_LANG", "zh")
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", project_root() / "test-artifacts" / "screenshots"))
#: axe-core impacts that fail a page
BLOCKING_IMPACTS = ("serious", "critical")


def t(msgid: str, **variables: Any) -> str:
    """What the console shows for a msgid in the tests' language (its Chinese catalogue by default).

    The tests find buttons and inputs by the text a person reads; looking the text up in the console's own
    catalogues keeps them in step with a reworded translation while still driving the Chinese pages.
    """
    from services.console.i18n import translations

    text = translations(LANG).gettext(msgid)
    return text % variables if variables else text


def sign_in(page: Page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/sign-in")
    page.get_by_label(t("E-mail")).fill(email)
    page.get_by_label(t("Password")).fill(password)
    page.get_by_role("button", name=t("Sign in"), exact=True).click()
    expect(page.get_by_role("button", name=t("Sign out"))).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", HTML_LANG[LANG])  # the console speaks Chinese


def sign_out(page: Page) -> None:
    page.get_by_role("button", name=t("Sign out")).click()
    expect(page.get_by_role("button", name=t("Sign in"), exact=True)).to_be_visible()


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """A PNG of the page (whole, or what the screen shows) under test-artifacts/screenshots (CI keeps it)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """The serious and critical axe-core violations of the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations = results.response.get("violations", [])
    return [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]


def assert_accessible(page: Page, name: str) -> None:
    found = axe_violations(page)
    if found:
        lines = [
            f"- {v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(str(n.get("target")) for n in v.get("nodes", [])[:5])
            for v in found
        ]
        raise AssertionError(
            f"axe-core: {len(found)} serious/critical violation(s) on {name}:\n" + "\n".join(lines)
        )


def visit(page: Page, url: str, name: str) -> None:
    """Open a page, check it is accessible and keep a screenshot of it."""
    response = page.goto(url)
    assert response is not None and response.status < 400, f"{name}: HTTP {response and response.status}"
    screenshot(page, name)
    assert_accessible(page, name)
