"""The demo story, every step a person takes done in Chromium, in Chinese, against the whole product.

One module, one stack: the tests run in file order and hand what they learn (the project's id, the cohort,
the agents) to the next through ``STORY``. Only the console accounts are made directly (the admin's
invitation is tested elsewhere); everything a person does — importing the talent pool, ordering, the FAQ,
the material, confirming, training, assessing, rostering, the complaint, pay — goes through the pages.
Waiting for other services' events is waiting on what the page shows (Playwright's polling expectations,
or reloading as a person would, up to a minute), never a fixed sleep in place of a condition.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from shared.config import project_root
from shared.workdays import add_workdays, today_shanghai
from tests.browser.conftest import ConsoleStack
from tests.browser.support import screenshot, sign_in, t, visit

SAMPLES = project_root() / "samples"
#: what one test learns and a later one needs (the tests of this module run in file order)
STORY: dict[str, Any] = {}
#: events travel between six services: a page may need this long to show their outcome
EVENTUAL = 60_000


@pytest.fixture(scope="module")
def people(console_stack: ConsoleStack) -> dict[str, tuple[str, str]]:
    """One console account per person of the story (the agent's is made once he is admitted)."""
    return {
        "vendor": console_stack.create_user("vendor"),
        "merchant": console_stack.create_user("merchant", merchant_id="m-yunshang-tmall"),
        "trainer": console_stack.create_user("trainer"),
        "supervisor": console_stack.create_user("supervisor"),
        "finance": console_stack.create_user("finance"),
    }


@pytest.fixture()
def person(
    console_stack: ConsoleStack, people: dict[str, tuple[str, str]], new_page: Callable[..., Page]
) -> Iterator[Callable[..., Page]]:
    """``person("merchant")`` → a signed-in page of that person (a browser context of his own)."""

    def open_as(role: str, **viewport: int) -> Page:
        page = new_page(viewport=viewport or None)
        email, password = people[role]
        sign_in(page, console_stack.console_url, email, password)
        return page

    yield open_as


def url(stack: ConsoleStack, path: str) -> str:
    return f"{stack.console_url}{path}"


def labelled(scope: Page | Locator, msgid: str) -> Locator:
    """The input whose label reads the msgid's translation (a required field's label ends with " *")."""
    return scope.get_by_label(re.compile(rf"^{re.escape(t(msgid))}( \*)?$"))


def confirm_click(page: Page, target: Locator) -> str:
    """Click a button whose form asks "are you sure?" first (data-confirm), say yes; returns the question."""
    asked: list[str] = []

    def accept(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    target.click()
    return asked[0] if asked else ""


def reload_until(page: Page, target: Locator, text: str) -> None:
    """Reload a page that does not refresh itself until ``target`` reads ``text`` (events still arriving)."""
    deadline = time.monotonic() + EVENTUAL / 1000
    while target.inner_text().strip() != text:
        assert time.monotonic() < deadline, f"still {target.inner_text()!r} instead of {text!r} on {page.url}"
        page.wait_for_timeout(500)  # a pause between polls, not a wait for the outcome
        page.reload()


def section(checklist: Locator, key: str) -> Locator:
    return checklist.locator(f"[data-testid=checklist-section][data-section={key}]")


def bare_name(text: str) -> str:
    """An agent's name without what a page adds after it in brackets ("(reserve)", "(recorded)")."""
    return re.sub(r"\s*[(（].*$", "", text.strip()).strip()


def project_path(page: Page) -> str:
    found = re.search(r"/projects/([0-9a-f-]{36})", page.url)
    assert found, f"no project id in {page.url}"
    return found.group(1)


# --- 1. the vendor fills the talent pool -------------------------------------------------------------


def test_vendor_imports_the_talent_pool(console_stack: ConsoleStack, person: Callable[..., Page]) -> None:
    page = person("vendor")
    visit(page, url(console_stack, "/vendor/talent-pool"), "vendor-talent-pool-empty")
    expect(page.get_by_test_id("pool-total")).to_have_text("0")
    page.get_by_label(t("Candidate file (CSV or Excel)")).set_input_files(SAMPLES / "candidates.csv")
    page.get_by_role("button", name=t("Import"), exact=True).click()
    expect(page.get_by_test_id("import-success")).to_be_visible()
    rows = sum(1 for _ in csv.DictReader(io.StringIO((SAMPLES / "candidates.csv").read_text("utf-8-sig"))))
    expect(page.get_by_test_id("import-success")).to_contain_text(str(rows))
    page.goto(url(console_stack, "/vendor/talent-pool"))
    expect(page.get_by_test_id("pool-total")).to_have_text(str(rows))
    screenshot(page, "vendor-talent-pool")


# --- 2. the merchant orders 10 seats ----------------------------------------------------------------


def test_merchant_orders_ten_seats_through_the_wizard(
    console_stack: ConsoleStack, person: Callable[..., Page]
) -> None:
    order = json.loads((SAMPLES / "project.json").read_text("utf-8"))
    page = person("merchant")
    visit(page, url(console_stack, "/merchant/projects"), "merchant-projects-empty")
    page.get_by_test_id("new-order").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("New order"))
    screenshot(page, "merchant-wizard")

    def next_step() -> None:
        page.get_by_test_id("wizard-next").click()

    # 1 merchant information: the first "continue" creates the draft
    for key, label in (
        ("company_name", "Company name"),
        ("contact_name", "Contact person"),
        ("contact_phone", "Contact phone"),
        ("liaison", "Liaison"),
    ):
        labelled(page, label).fill(order["merchant"][key])
    next_step()
    expect(page).to_have_url(re.compile(r"/merchant/projects/[0-9a-f-]{36}/edit/service"))
    STORY["project_id"] = project_path(page)
    live = page.get_by_test_id("checklist-live")
    expect(live).to_be_visible()
    # 2 service
    service = order["service"]
    labelled(page, "Service type").select_option(service["type"])
    labelled(page, "Service starts at").fill(service["hours"]["start"])
    labelled(page, "Service ends at").fill(service["hours"]["end"])
    labelled(page, "Seats (agents)").fill(str(service["seats"]))
    labelled(page, "Platform").fill(service["platform"])
    screenshot(page, "merchant-wizard-service")
    next_step()
    # the checklist beside the form follows the order: the basics are complete, the metrics not yet
    expect(section(live, "basics")).to_have_attribute("data-complete", "yes")
    expect(section(live, "metrics")).to_have_attribute("data-complete", "no")
    # 3 metrics
    metrics = order["metrics"]
    for key, label in (
        ("daily_consultations", "Daily consultations"),
        ("first_response_seconds", "First response (seconds)"),
        ("avg_response_seconds", "Average response (seconds)"),
        ("conversion_rate", "Conversion rate (%)"),
        ("avg_order_value", "Average order value (CNY)"),
        ("satisfaction_rate", "Satisfaction (%)"),
    ):
        labelled(page, label).fill(str(metrics[key]))
    next_step()
    # 4 training
    training = order["training"]
    labelled(page, "Who trains the agents").select_option(training["trainer"])
    labelled(page, "Who assesses the agents").select_option(training["assessor"])
    labelled(page, "Training requirements").fill(training["requirements"])
    next_step()
    # 5 go-live: five working days ahead, as the seed's story
    go_live = add_workdays(today_shanghai(), 5)
    labelled(page, "Go-live date").fill(go_live.isoformat())
    next_step()
    # 6 quality: the vendor's standard
    page.get_by_label(t("Use the vendor's quality standard")).check()
    next_step()
    # 7 notes
    labelled(page, "Other requests").fill(order["notes"])
    expect(section(live, "go_live")).to_have_attribute("data-complete", "yes")
    next_step()
    expect(page).to_have_url(url(console_stack, f"/merchant/projects/{STORY['project_id']}"))
    # what is left is what the next test does: the training materials
    missing = page.locator("[data-testid=checklist-section][data-complete=no]")
    expect(missing).to_have_count(1)
    expect(missing).to_have_attribute("data-section", "materials")
    screenshot(page, "merchant-project-draft")


def test_merchant_fills_the_faq_uploads_the_rules_and_submits(
    console_stack: ConsoleStack, person: Callable[..., Page]
) -> None:
    project_id = STORY["project_id"]
    page = person("merchant")
    page.goto(url(console_stack, f"/merchant/projects/{project_id}"))
    page.get_by_test_id("faq-link").click()
    faq = json.loads((SAMPLES / "faq.json").read_text("utf-8"))
    for row in faq["standard"]:
        page.locator(f"[data-testid=faq-row][data-key='{row['key']}'] textarea").fill(row["answer"])
    own = page.get_by_test_id("own-row")
    for i, row in enumerate(faq.get("custom", [])):
        own.nth(i).get_by_role("textbox").nth(0).fill(row["question"])
        own.nth(i).get_by_role("textbox").nth(1).fill(row["answer"])
    page.get_by_test_id("faq-save").click()
    expect(page.get_by_test_id("faq-status")).to_contain_text(t("The sheet is complete."))
    screenshot(page, "merchant-faq")
    assert_page_accessible(page, "merchant-faq")

    page.get_by_test_id("materials-link").click()
    page.get_by_test_id("file-input").set_input_files(SAMPLES / "double11-rules.txt")
    page.get_by_role("button", name=t("Upload"), exact=True).click()
    expect(page.get_by_test_id("material-row")).to_have_count(1)
    expect(page.get_by_test_id("material-download")).to_have_text("double11-rules.txt")
    page.get_by_test_id("mark-complete").click()
    expect(page.get_by_test_id("materials-complete")).to_be_visible()
    screenshot(page, "merchant-materials")

    page.goto(url(console_stack, f"/merchant/projects/{project_id}"))
    question = confirm_click(page, page.get_by_test_id("submit-order"))
    assert question, "submitting asks for a confirmation first"
    expect(page.get_by_test_id("project-status")).to_contain_text(t("Submitted"))
    screenshot(page, "merchant-project-submitted")


def assert_page_accessible(page: Page, name: str) -> None:
    from tests.browser.support import assert_accessible

    assert_accessible(page, name)


# --- 3. the vendor confirms and watches recruitment ---------------------------------------------------


def test_vendor_confirms_and_the_funnel_reaches_30_matched(
    console_stack: ConsoleStack, person: Callable[..., Page]
) -> None:
    project_id = STORY["project_id"]
    page = person("vendor")
    visit(page, url(console_stack, "/vendor/"), "vendor-board")
    row = page.locator(f"[data-testid=project-row][data-project-id='{project_id}']")
    expect(row.get_by_test_id("project-status")).to_have_text(t("Submitted"))
    row.get_by_role("link").first.click()  # the order, with its checklist and the confirm button
    expect(page).to_have_url(url(console_stack, f"/vendor/projects/{project_id}"))
    confirm_click(page, page.get_by_test_id("confirm-project"))
    expect(page.get_by_test_id("confirm-project")).to_have_count(0)
    expect(page.get_by_test_id("funnel-seats")).to_have_text("10")
    # no reload from here: the funnel is a live widget (polled every 3 s) and recruitment matches as soon
    # as project.confirmed arrives
    expect(page.locator("#funnel")).to_have_attribute("hx-trigger", re.compile("every"))
    expect(page.get_by_test_id("funnel-matched")).to_have_text("30", timeout=EVENTUAL)
    expect(page.get_by_test_id("funnel-matched-target")).to_have_text("30")
    screenshot(page, "vendor-funnel-matched")
    assert_page_accessible(page, "vendor-project")


# --- 4. training: courseware, start, the 30-row grid, the merchant's verdicts, admission -----------------


def open_cohort(console_stack: ConsoleStack, page: Page) -> str:
    """The project's cohort from the cohorts list (it fills as recruitment's matches arrive)."""
    project_id = STORY["project_id"]
    page.goto(url(console_stack, "/trainer/cohorts"))
    row = page.get_by_test_id("cohort-row").filter(has_text=project_id)
    expect(row).to_have_count(1, timeout=EVENTUAL)
    row.get_by_role("link").first.click()
    found = re.search(r"/trainer/cohorts/([0-9a-f-]{36})", page.url)
    assert found, page.url
    return found.group(1)


def test_trainer_builds_courseware_and_the_merchant_confirms_it(
    console_stack: ConsoleStack, person: Callable[..., Page]
) -> None:
    trainer = person("trainer")
    cohort_id = open_cohort(console_stack, trainer)
    STORY["cohort_id"] = cohort_id
    # all 30 matched candidates become trainees (training hears of each match): the trainer reloads
    reload_until(trainer, trainer.get_by_test_id("enrolled-count"), "30")
    screenshot(trainer, "trainer-cohort")
    trainer.goto(url(console_stack, f"/trainer/cohorts/{cohort_id}/courseware"))
    labelled(trainer, "Title").fill("双11 售前话术与活动规则")
    for topic in trainer.get_by_test_id("courseware-form").locator("input[name=topics]").all():
        topic.check()
    labelled(trainer, "Link (http or https)").fill("https://kb.example.com/yunshang/double11")
    trainer.get_by_test_id("add-courseware").click()
    expect(trainer.get_by_test_id("courseware-row")).to_have_count(1)
    screenshot(trainer, "trainer-courseware")

    merchant = person("merchant")
    merchant.goto(url(console_stack, f"/trainer/cohorts/{cohort_id}/courseware"))
    merchant.get_by_test_id("confirm-courseware").click()
    expect(merchant.get_by_test_id("confirm-courseware")).to_have_count(0)

    trainer.goto(url(console_stack, f"/trainer/cohorts/{cohort_id}"))
    trainer.get_by_test_id("start-cohort").click()
    expect(trainer.get_by_test_id("complete-cohort")).to_be_visible()


def test_trainer_records_the_30_row_grid_the_merchant_judges_and_20_are_admitted(
    console_stack: ConsoleStack, person: Callable[..., Page]
) -> None:
    cohort_id = STORY["cohort_id"]
    trainer = person("trainer")
    trainer.goto(url(console_stack, f"/trainer/cohorts/{cohort_id}/assessments"))
    rows = trainer.get_by_test_id("trainee-row")
    expect(rows).to_have_count(30)
    # the seed's numbers (shared/demo.py): in candidate order, 24 pass and 6 fail → 20 admitted, 4 waitlisted
    ids = sorted(rows.nth(i).get_attribute("data-candidate-id") or "" for i in range(30))
    passing = set(ids[:24])
    for i, candidate_id in enumerate(ids):
        row = trainer.locator(f"[data-testid=trainee-row][data-candidate-id='{candidate_id}']")
        passes = candidate_id in passing
        row.get_by_test_id("cell-quiz_score").fill(str(99 - (i % 10) if passes else 70))
        row.get_by_test_id("cell-simulation_score").fill(str(90 - (i % 5) if passes else 75))
        row.get_by_test_id("cell-trainer_passed").select_option("yes" if passes else "no")
    screenshot(trainer, "trainer-assessment-grid")
    trainer.evaluate("window.scrollTo(0, 0)")
    screenshot(trainer, "trainer-assessment-grid-screen", full_page=False)
    trainer.get_by_test_id("save-assessments").click()
    expect(trainer.get_by_test_id("cell-error")).to_have_count(0)
    first = trainer.locator(f"[data-testid=trainee-row][data-candidate-id='{ids[0]}']")
    expect(first.get_by_test_id("cell-quiz_score")).to_have_value("99")
    assert_page_accessible(trainer, "trainer-assessment-grid")

    merchant = person("merchant")
    merchant.goto(url(console_stack, f"/trainer/cohorts/{cohort_id}/assessments"))
    expect(merchant.get_by_test_id("trainee-row")).to_have_count(30)
    for candidate_id in ids:
        row = merchant.locator(f"[data-testid=trainee-row][data-candidate-id='{candidate_id}']")
        row.get_by_test_id("cell-merchant_passed").select_option("yes" if candidate_id in passing else "no")
    merchant.get_by_test_id("save-assessments").click()
    expect(merchant.get_by_test_id("cell-error")).to_have_count(0)
    screenshot(merchant, "merchant-assessment-verdicts")

    trainer.goto(url(console_stack, f"/trainer/cohorts/{cohort_id}"))
    confirm_click(trainer, trainer.get_by_test_id("complete-cohort"))
    expect(trainer.get_by_test_id("admitted-count")).to_have_text("20")
    expect(trainer.get_by_test_id("waitlisted-count")).to_have_text("4")
    expect(trainer.get_by_test_id("admitted-row")).to_have_count(20)
    screenshot(trainer, "trainer-admission")


def test_the_funnel_shows_20_admitted_and_15_active_plus_5_reserve(
    console_stack: ConsoleStack, person: Callable[..., Page]
) -> None:
    page = person("vendor")
    page.goto(url(console_stack, f"/vendor/projects/{STORY['project_id']}"))
    expect(page.get_by_test_id("funnel-admitted")).to_have_text("20", timeout=EVENTUAL)
    expect(page.get_by_test_id("funnel-active")).to_have_text("15", timeout=EVENTUAL)
    expect(page.get_by_test_id("funnel-reserve")).to_have_text("5", timeout=EVENTUAL)
    screenshot(page, "vendor-funnel")


# --- 5. operations: the roster, the project's staff, a complaint, hours -----------------------------------


def test_vendor_generates_a_14_day_roster(console_stack: ConsoleStack, person: Callable[..., Page]) -> None:
    project_id = STORY["project_id"]
    page = person("vendor")
    page.goto(url(console_stack, f"/vendor/projects/{project_id}"))
    page.get_by_test_id("link-roster").click()
    today = today_shanghai()
    generate = page.locator("form[method=post]").filter(has=page.get_by_test_id("roster-generate"))
    labelled(generate, "First day").fill(today.isoformat())
    labelled(generate, "Last day").fill((today + dt.timedelta(days=13)).isoformat())
    generate.get_by_label(t("Publish at once")).check()
    generate.get_by_test_id("roster-generate").click()
    expect(page.get_by_test_id("roster-grid")).to_be_visible()
    expect(page.get_by_test_id("roster-day")).to_have_count(14)
    expect(page.get_by_test_id("roster-coverage")).to_be_visible()
    # the agents on today's first staffed shift: one of them will look at his shifts
    first_day = page.locator(f"[data-testid=roster-day][data-date='{today.isoformat()}']")
    names = first_day.locator(".ops-names li").all_inner_texts()
    assert names, "nobody is rostered today"
    STORY["rostered_today"] = [bare_name(name) for name in names]
    screenshot(page, "vendor-roster")
    assert_page_accessible(page, "vendor-roster")


def test_a_complaint_is_opened_escalated_and_resolved_with_a_penalty(
    console_stack: ConsoleStack, person: Callable[..., Page]
) -> None:
    project_id = STORY["project_id"]
    vendor = person("vendor")
    # the project's supervisor: the console's supervisor account
    vendor.goto(url(console_stack, f"/ops/projects/{project_id}/staff"))
    vendor.get_by_test_id("staff-supervisor").first.check()
    vendor.get_by_test_id("staff-save").click()
    expect(vendor.get_by_test_id("staff-supervisor").first).to_be_checked()

    vendor.goto(url(console_stack, f"/ops/complaints/new?project_id={project_id}"))
    labelled(vendor, "Category").select_option("delivery")
    labelled(vendor, "Severity").select_option("high")
    agent = labelled(vendor, "Agent concerned")
    agent_id = agent.locator("option").nth(1).get_attribute("value") or ""
    agent.select_option(agent_id)
    STORY["penalised_agent"] = agent_id
    labelled(vendor, "Customer reference").fill("tb-20261111-8812")
    labelled(vendor, "What the customer complains about").fill("买家称客服承诺 48 小时发货, 三天仍未发货")
    vendor.get_by_test_id("complaint-submit").click()
    # complaints learns the project's agents from agent.admitted: until then it refuses the agent (the
    # form comes back with the reason, keeping what was typed) and the person sends it again
    deadline = time.monotonic() + EVENTUAL / 1000
    while not vendor.get_by_test_id("complaint-status").count():
        assert time.monotonic() < deadline, vendor.locator("main").inner_text()
        vendor.wait_for_timeout(500)  # a pause between attempts, not a wait for the outcome
        vendor.get_by_test_id("complaint-submit").click()
    expect(vendor.get_by_test_id("complaint-status")).to_have_text(t("Open"))
    expect(vendor.get_by_test_id("complaint-level")).to_have_text(t("Agent"))
    labelled(vendor, "Why it goes one level up").fill("客服无法解决, 需协调仓库")
    vendor.get_by_test_id("complaint-escalate").click()
    expect(vendor.get_by_test_id("complaint-level")).to_have_text(t("Supervisor"))
    screenshot(vendor, "vendor-complaint")

    supervisor = person("supervisor", width=375, height=740)
    visit(supervisor, url(console_stack, "/supervisor/queue"), "supervisor-queue-phone")
    mine = supervisor.get_by_test_id("queue-mine")
    expect(mine.get_by_test_id("complaint-row")).to_have_count(1)
    mine.get_by_test_id("complaint-number").click()
    labelled(supervisor, "Resolution").fill("经调查客服错误承诺发货时间, 已向买家道歉并补偿优惠券")
    supervisor.get_by_label(t("The agent was at fault")).check()
    labelled(supervisor, "Penalty (CNY)").fill("200.00")
    supervisor.get_by_test_id("complaint-resolve").click()
    expect(supervisor.get_by_test_id("complaint-status")).to_have_text(t("Resolved"))
    expect(supervisor.get_by_test_id("complaint-penalty")).to_contain_text("200")
    screenshot(supervisor, "supervisor-complaint-resolved-phone")


def test_vendor_records_the_hours_worked(console_stack: ConsoleStack, person: Callable[..., Page]) -> None:
    project_id = STORY["project_id"]
    page = person("vendor")
    page.goto(
        url(console_stack, f"/ops/timesheets?project_id={project_id}&date={today_shanghai().isoformat()}")
    )
    rows = page.get_by_test_id("timesheet-row")
    expect(rows).to_have_count(20)
    agents = {}
    for row in rows.all():
        name = bare_name(row.locator("td").first.inner_text())
        agents[name] = row.get_attribute("data-agent-id")
        row.get_by_test_id("timesheet-hours").fill("8")
    # the agent who will look at his pay: on today's roster, and not the one the complaint penalised
    STORY["agent_id"] = next(
        agents[name] for name in STORY["rostered_today"] if agents[name] != STORY["penalised_agent"]
    )
    page.get_by_test_id("timesheet-submit").click()
    expect(page.get_by_test_id("timesheet-error")).to_have_count(0)
    expect(page.get_by_test_id("recorded-row")).to_have_count(20)
    screenshot(page, "vendor-timesheets")


# --- 6. finance: pay plan, payroll run, approval, export -------------------------------------------------


def test_finance_pays_the_month_and_downloads_the_export(
    console_stack: ConsoleStack, person: Callable[..., Page], tmp_path: Path
) -> None:
    project_id = STORY["project_id"]
    page = person("finance")
    visit(page, url(console_stack, "/finance/pay-plans"), "finance-pay-plans")
    form = page.locator("form[data-plan-form]")
    labelled(form, "Project").select_option(project_id)
    labelled(form, "Plan type").select_option("hourly")
    labelled(form, "Hourly rate (CNY)").fill("30.00")
    page.get_by_test_id("save-plan").click()
    expect(page.get_by_test_id("plan-row")).to_have_count(1)

    visit(page, url(console_stack, "/finance/runs"), "finance-runs")
    labelled(page, "Period (month)").fill(f"{today_shanghai():%Y-%m}")
    labelled(page, "Project").select_option(project_id)
    page.get_by_test_id("create-run").click()
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-status", "draft")
    expect(page.get_by_test_id("payslip-row")).not_to_have_count(0)
    # 8 h × 30 CNY for the agent who will look; the complaint's 200 CNY off the penalised one's 240. The
    # hours (shift.worked) and the penalty reach billing as events: until they have, the draft is
    # recalculated as finance would, on the page
    deadline = time.monotonic() + EVENTUAL / 1000
    while not run_includes_hours_and_penalty(page):
        assert time.monotonic() < deadline, "the draft never showed the 8 hours and the 200 CNY penalty"
        page.wait_for_timeout(500)  # a pause between polls, not a wait for the outcome
        page.get_by_test_id("recalculate-run").click()
        page.wait_for_load_state()
    screenshot(page, "finance-payroll-draft")
    confirm_click(page, page.get_by_test_id("approve-run"))
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-status", "approved")
    screenshot(page, "finance-payroll-run")
    assert_page_accessible(page, "finance-payroll-run")

    with page.expect_download() as downloading:
        page.get_by_test_id("export-csv").click()
    download = downloading.value
    # billing names the file: payroll-<period>-<project>.csv
    assert download.suggested_filename == f"payroll-{today_shanghai():%Y-%m}-{project_id}.csv", (
        download.suggested_filename
    )
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    lines = [line for line in saved.read_text("utf-8-sig").splitlines() if line.strip()]
    assert len(lines) >= 2, f"the export has no rows: {lines}"
    STORY["export_rows"] = len(lines) - 1


def run_includes_hours_and_penalty(page: Page) -> bool:
    def net(agent_id: str) -> str:
        cell = page.locator(
            f"[data-testid=payslip-row][data-agent-id='{agent_id}'] [data-testid=payslip-net]"
        )
        return cell.inner_text() if cell.count() else ""

    return (
        "240.00" in net(STORY["agent_id"])
        and re.search(r"(?<![\d,])40\.00", net(STORY["penalised_agent"])) is not None
    )


# --- 7. the agent: his shifts on a phone, his payslip --------------------------------------------------


def test_an_admitted_agent_sees_his_shift_and_his_payslip(
    console_stack: ConsoleStack, new_page: Callable[..., Page]
) -> None:
    email, password = console_stack.create_user("agent", candidate_id=STORY["agent_id"])
    page = new_page(viewport={"width": 375, "height": 740})
    sign_in(page, console_stack.console_url, email, password)
    visit(page, url(console_stack, "/agent/shifts"), "agent-shifts-phone")
    expect(page.get_by_test_id("shift-item").first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the shifts page is {width}px wide on a 375px screen"
    visit(page, url(console_stack, "/agent/payslips"), "agent-payslips-phone")
    expect(page.get_by_test_id("payslip-row")).to_have_count(1)
    page.get_by_test_id("payslip-open").click()
    expect(page.get_by_test_id("payslip-total")).to_contain_text("240")
    screenshot(page, "agent-payslip-phone")
