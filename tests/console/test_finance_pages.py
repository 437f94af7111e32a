"""Finance pages against the real billing service: pay plans, performance data, payroll runs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook

from services.billing.handlers import HANDLERS
from shared.events.consumer import handle_once
from shared.events.envelope import build_envelope
from shared.workdays import today_shanghai
from tests.console.support import ConsoleEnv, csrf_token
from tests.support import ServiceHarness

COMPANY = "杭州云店旗舰店"


@pytest.fixture(autouse=True)
def _console_signing_key(request: pytest.FixtureRequest) -> None:
    """The console mints the services' tokens with the session's key (support.py builds its settings
    from an empty environment; a no-op once it passes the JWT variables itself, as requested)."""
    if "console_env" not in request.fixturenames:
        return
    console_env: ConsoleEnv = request.getfixturevalue("console_env")
    client = console_env.app.extensions["console.services"]
    if not client.settings.jwt_private_key_file and os.environ.get("JWT_PRIVATE_KEY_FILE"):
        client.settings = dataclasses.replace(
            client.settings, jwt_private_key_file=os.environ["JWT_PRIVATE_KEY_FILE"]
        )


def _id() -> str:
    return str(uuid.uuid4())


def feed(h: ServiceHarness, event_type: str, data: dict[str, Any]) -> None:
    """An event through billing's consumer path (its inbox and handlers), without the broker."""
    assert handle_once(h.database, HANDLERS, build_envelope(event_type, data))


def last_month() -> dt.date:
    """The first day of the previous month: a whole period in the past, so every day of it is allowed."""
    return (today_shanghai().replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def seed_project(billing: ServiceHarness, agents: dict[str, str]) -> str:
    """A confirmed project with agents admitted before the period (names → ids)."""
    project = _id()
    feed(
        billing,
        "project.confirmed",
        {
            "project_id": project,
            "merchant_id": _id(),
            "seats": 5,
            "service_type": "presale",
            "service_hours": {"start": "09:00", "end": "21:00"},
            "go_live_date": "2026-01-01",
            "assessor": "vendor",
            "metrics": {},
            "company_name": COMPANY,
        },
    )
    admitted_on = last_month() - dt.timedelta(days=40)
    for name, agent_id in agents.items():
        feed(
            billing,
            "agent.admitted",
            {
                "project_id": project,
                "candidate_id": agent_id,
                "cohort_id": _id(),
                "name": name,
                "skills": ["presale"],
                "shifts_available": ["morning"],
                "quiz_score": 90.0,
                "simulation_score": 88.0,
                "rank": 1,
                "admitted_at": dt.datetime.combine(admitted_on, dt.time(10), tzinfo=dt.UTC).isoformat(),
            },
        )
    return project


def api_get(h: ServiceHarness, path: str, role: str = "finance", **kwargs: Any) -> Any:
    response = h.client.get(f"/api/v1{path}", headers=h.auth(role, **kwargs))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def api_post(h: ServiceHarness, path: str, body: Any, role: str = "finance") -> Any:
    response = h.client.post(f"/api/v1{path}", json=body, headers=h.auth(role))
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def html(response: Any) -> str:
    return response.get_data(as_text=True)


def test_pay_plans_page_creates_a_default_and_an_override_and_shows_refusals(console_env: ConsoleEnv) -> None:
    billing = console_env.services["billing"]
    agents = {"张三": _id(), "李四": _id()}
    project = seed_project(billing, agents)
    client, _user = console_env.signed_in("finance")

    page = client.get(f"/finance/pay-plans?project_id={project}")
    assert page.status_code == 200
    text = html(page)
    assert "计薪方案" in text and COMPANY in text and "张三" in text
    token = csrf_token(text)

    # the project's default: hourly 20.00 (the commission input of the form is ignored for this type)
    made = client.post(
        "/finance/pay-plans",
        data={
            "csrf_token": token,
            "project_id": project,
            "agent_id": "",
            "type": "hourly",
            "hourly_rate": "20.00",
            "commission_rate": "5",
            "effective_from": last_month().isoformat(),
        },
    )
    assert made.status_code == 302, html(made)[:2000]
    # an override for one agent: 4,000 + 1% with targets, typed as percentages
    made = client.post(
        "/finance/pay-plans",
        data={
            "csrf_token": token,
            "project_id": project,
            "agent_id": agents["李四"],
            "type": "base_commission",
            "monthly_base": "4000",
            "commission_rate": "1",
            "conditions.max_avg_response_seconds": "30",
            "conditions.min_response_rate": "95",
            "base_factor_when_unmet": "50",
            "effective_from": last_month().isoformat(),
        },
    )
    assert made.status_code == 302, html(made)[:2000]
    plans = {p["agent_id"]: p for p in api_get(billing, f"/pay-plans?project_id={project}")["items"]}
    assert plans[None]["type"] == "hourly" and plans[None]["hourly_rate"] == "20.00"
    override = plans[agents["李四"]]
    terms = [override[k] for k in ("monthly_base", "commission_rate", "base_factor_when_unmet")]
    assert [Decimal(t) for t in terms] == [Decimal("4000"), Decimal("0.01"), Decimal("0.5")]
    targets = override["conditions"]
    assert Decimal(targets["max_avg_response_seconds"]) == 30
    assert Decimal(targets["min_response_rate"]) == Decimal("0.95")

    # a monthly base judged on quality (纯底薪): the KPI from the quality service, response fields ignored
    made = client.post(
        "/finance/pay-plans",
        data={
            "csrf_token": token,
            "project_id": project,
            "agent_id": agents["张三"],
            "type": "monthly",
            "monthly_base": "4000",
            "conditions.max_avg_response_seconds": "30",
            "conditions.min_kpi_score": "80",
            "conditions.kpi_targets_met": "on",
            "base_factor_when_unmet": "80",
            "effective_from": last_month().isoformat(),
        },
    )
    assert made.status_code == 302, html(made)[:2000]
    plans = {p["agent_id"]: p for p in api_get(billing, f"/pay-plans?project_id={project}")["items"]}
    judged = plans[agents["张三"]]
    assert judged["conditions"] == {
        "max_avg_response_seconds": None,
        "min_response_rate": None,
        "min_kpi_score": "80.00",
        "kpi_targets_met": True,
    }
    assert Decimal(judged["base_factor_when_unmet"]) == Decimal("0.8")

    listed = html(client.get(f"/finance/pay-plans?project_id={project}"))
    assert listed.count('data-testid="plan-row"') == 3
    assert "底薪+提成" in listed and "¥20.00" in listed and "1%" in listed
    assert "质检 KPI ≥ 80.00" in listed and "订单服务指标达成（质检）" in listed

    # a refusal: conditions without the share of the base → the field's message, nothing stored
    refused = client.post(
        "/finance/pay-plans",
        data={
            "csrf_token": token,
            "project_id": project,
            "agent_id": agents["张三"],
            "type": "base_commission",
            "monthly_base": "4000",
            "commission_rate": "1",
            "conditions.max_avg_response_seconds": "30",
            "effective_from": last_month().isoformat(),
        },
    )
    assert refused.status_code == 422
    text = html(refused)
    assert 'data-testid="plan-error"' in text and "部分信息填写有误" in text
    assert 'id="e-base_factor_when_unmet"' in text
    assert len(api_get(billing, f"/pay-plans?project_id={project}")["items"]) == 3

    # English by the switch, percentages included
    client.set_cookie("lang", "en")
    english = html(client.get(f"/finance/pay-plans?project_id={project}"))
    assert "New pay plan" in english and "1% of sales" in english and "Commission rate (%)" in english
    assert "Response rate (%)" in html(client.get("/finance/performance"))


def test_performance_import_shows_row_errors_and_stores_nothing_then_imports(console_env: ConsoleEnv) -> None:
    billing = console_env.services["billing"]
    agents = {"王五": _id()}
    project = seed_project(billing, agents)
    agent = agents["王五"]
    client, _user = console_env.signed_in("finance")
    token = csrf_token(html(client.get("/finance/performance")))
    day = last_month()
    header = "项目编号,坐席编号,日期,销售额,平均响应秒数,响应率,咨询量\n"
    bad = (
        header
        + f"{project},{agent},{day},abc,25,0.98,100\n{project},{agent},{day + dt.timedelta(1)},100,25,2,100\n"
    )
    refused = client.post(
        "/finance/performance/import",
        data={"csrf_token": token, "file": (io.BytesIO(bad.encode("gbk")), "nov.csv")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    text = html(refused)
    assert "没有导入" in text
    errors = re.findall(r'data-testid="import-row-error">([^<]+)<', text)
    assert [e.split(":")[0] for e in errors] == ["line 2.sales_amount", "line 3.response_rate"]
    assert api_get(billing, "/performance")["total"] == 0

    good = header + "".join(
        f"{project},{agent},{day + dt.timedelta(i)},5000.00,25,0.98,100\n" for i in range(3)
    )
    done = client.post(
        "/finance/performance/import",
        data={"csrf_token": token, "file": (io.BytesIO(good.encode("utf-8-sig")), "nov.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert done.status_code == 200
    text = html(done)
    assert "已导入 3 行" in text
    assert text.count('data-testid="performance-row"') == 3
    assert api_get(billing, "/performance")["total"] == 3

    # one day by hand, as a percentage; it replaces the imported figures of that day
    entered = client.post(
        "/finance/performance",
        data={
            "csrf_token": token,
            "project_id": project,
            "agent_id": agent,
            "date": day.isoformat(),
            "sales_amount": "6,000.00",
            "avg_response_seconds": "20",
            "response_rate": "99",
            "consultations": "120",
        },
    )
    assert entered.status_code == 302
    rows = {r["date"]: r for r in api_get(billing, f"/performance?agent_id={agent}")["items"]}
    assert (rows[day.isoformat()]["sales_amount"], Decimal(rows[day.isoformat()]["response_rate"])) == (
        "6000.00",
        Decimal("0.99"),
    )

    # a future day is refused beside its input, nothing changes
    future = client.post(
        "/finance/performance",
        data={
            "csrf_token": token,
            "project_id": project,
            "agent_id": agent,
            "date": (today_shanghai() + dt.timedelta(days=2)).isoformat(),
            "sales_amount": "1",
            "avg_response_seconds": "20",
            "response_rate": "99",
            "consultations": "1",
        },
    )
    assert future.status_code == 422
    assert 'id="e-date"' in html(future)
    assert api_get(billing, "/performance")["total"] == 3

    # filters: another agent has no rows
    assert 'data-testid="performance-row"' not in html(client.get(f"/finance/performance?agent_id={_id()}"))


def _ready_for_payroll(console_env: ConsoleEnv) -> tuple[str, dict[str, str]]:
    """Plans, hours, sales and a penalty in billing for last month, the way the demo story has them."""
    billing = console_env.services["billing"]
    agents = {"时薪": _id(), "提成": _id()}
    project = seed_project(billing, agents)
    first = last_month()
    api_post(
        billing,
        "/pay-plans",
        {
            "project_id": project,
            "type": "hourly",
            "hourly_rate": "20.00",
            "effective_from": first.isoformat(),
        },
    )
    api_post(
        billing,
        "/pay-plans",
        {
            "project_id": project,
            "agent_id": agents["提成"],
            "type": "commission",
            "commission_rate": "0.05",
            "effective_from": first.isoformat(),
        },
    )
    feed(
        billing,
        "shift.worked",
        {"project_id": project, "agent_id": agents["时薪"], "date": first, "hours": "8"},
    )
    api_post(
        billing,
        "/performance",
        {
            "project_id": project,
            "agent_id": agents["提成"],
            "date": first.isoformat(),
            "sales_amount": "100000.00",
            "avg_response_seconds": "28",
            "response_rate": "0.97",
            "consultations": 450,
        },
    )
    feed(
        billing,
        "complaint.upheld",
        {
            "complaint_id": _id(),
            "number": f"TS{first:%Y%m%d}-0001",
            "project_id": project,
            "agent_id": agents["提成"],
            "penalty": "200",
            "resolved_at": dt.datetime.combine(first, dt.time(3), tzinfo=dt.UTC).isoformat(),
        },
    )
    return project, agents


def test_payroll_run_draft_review_approve_and_export(console_env: ConsoleEnv) -> None:
    billing = console_env.services["billing"]
    project, _agents = _ready_for_payroll(console_env)
    period = f"{last_month():%Y-%m}"
    client, _user = console_env.signed_in("finance")
    page = client.get("/finance/runs")
    assert page.status_code == 200 and "薪资核算" in html(page)
    token = csrf_token(html(page))

    created = client.post(
        "/finance/runs", data={"csrf_token": token, "period": period, "project_id": project}
    )
    assert created.status_code == 302
    run_url = created.headers["Location"]
    run_id = run_url.rstrip("/").rsplit("/", 1)[-1]
    text = html(client.get(run_url))
    assert re.search(r'data-testid="run-status" data-status="draft"', text)
    assert "草稿" in text
    total = re.search(r'data-testid="run-total">([^<]+)<', text)
    assert total and total.group(1) == "¥4,960.00"  # 8 h × 20 + 5% of 100,000 − 200
    assert text.count('data-testid="payslip-row"') == 2
    assert "时薪" in text and "¥160.00" in text and "¥5,000.00" in text and "-¥200.00" in text
    assert 'data-testid="approve-run"' in text and "data-confirm=" in text

    # the same period and project again: the service's refusal, localized, leads to the holding run
    again = client.post("/finance/runs", data={"csrf_token": token, "period": period, "project_id": project})
    assert again.status_code == 302 and again.headers["Location"].endswith(run_id)
    assert len(api_get(billing, "/payroll-runs")["items"]) == 1

    # a vendor reads the run but has no approve button, and the console refuses the POST
    vendor, _v = console_env.signed_in("vendor")
    seen = html(vendor.get(run_url))
    assert 'data-testid="run-total"' in seen and 'data-testid="approve-run"' not in seen
    assert (
        vendor.post(f"/finance/runs/{run_id}/approve", data={"csrf_token": csrf_token(seen)}).status_code
        == 403
    )

    approved = client.post(
        f"/finance/runs/{run_id}/approve", data={"csrf_token": token}, follow_redirects=True
    )
    text = html(approved)
    assert re.search(r'data-testid="run-status" data-status="approved"', text)
    assert "已批准" in text and 'data-testid="approve-run"' not in text
    assert api_get(billing, f"/payroll-runs/{run_id}")["status"] == "approved"

    # approving again: billing's refusal as a message, the run unchanged
    twice = client.post(f"/finance/runs/{run_id}/approve", data={"csrf_token": token}, follow_redirects=True)
    assert 'class="flash flash-error"' in html(twice)

    csv = client.get(f"/finance/runs/{run_id}/export.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert f"payroll-{period}-{project}.csv" in csv.headers["Content-Disposition"]
    body = csv.data.decode("utf-8-sig")
    assert body.startswith("核算批次,薪资周期,状态") and body.count("\r\n") == 3
    xlsx = client.get(f"/finance/runs/{run_id}/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    assert ".xlsx" in xlsx.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    totals = [row[-2] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sum(Decimal(str(t)) for t in totals) == Decimal("4960.00")
    assert client.get(f"/finance/runs/{run_id}/export.pdf").status_code == 404
    # English by the switch: the page and the export's headers
    client.set_cookie("lang", "en")
    english = html(client.get(run_url))
    assert "Payroll " + period in english and "Net pay" in english
    assert (
        client.get(f"/finance/runs/{run_id}/export.csv").data.decode("utf-8-sig").startswith("run_id,period")
    )


def test_run_warnings_are_shown_before_approval_and_a_draft_can_be_deleted(console_env: ConsoleEnv) -> None:
    billing = console_env.services["billing"]
    project, agents = _ready_for_payroll(console_env)
    period = f"{last_month():%Y-%m}"
    # a negative adjustment bigger than the hourly pay: a warning finance must see
    api_post(
        billing,
        "/adjustments",
        {
            "project_id": project,
            "agent_id": agents["时薪"],
            "period": period,
            "amount": "-300.00",
            "reason": "借支",
        },
    )
    client, _user = console_env.signed_in("finance")
    token = csrf_token(html(client.get("/finance/runs")))
    run_url = client.post("/finance/runs", data={"csrf_token": token, "period": period}).headers["Location"]
    text = html(client.get(run_url))
    assert 'data-code="negative-net"' in text and "实发低于零" in text
    run_id = run_url.rsplit("/", 1)[-1]
    deleted = client.post(f"/finance/runs/{run_id}/delete", data={"csrf_token": token})
    assert deleted.status_code == 302
    assert api_get(billing, "/payroll-runs")["total"] == 0


def test_bad_period_is_refused_on_the_form_and_other_roles_are_kept_out(console_env: ConsoleEnv) -> None:
    billing = console_env.services["billing"]
    client, _user = console_env.signed_in("finance")
    token = csrf_token(html(client.get("/finance/runs")))
    future = today_shanghai().replace(day=1) + dt.timedelta(days=40)
    refused = client.post("/finance/runs", data={"csrf_token": token, "period": f"{future:%Y-%m}"})
    assert refused.status_code == 422
    text = html(refused)
    assert 'data-testid="run-error"' in text and 'id="e-period"' in text
    assert api_get(billing, "/payroll-runs")["total"] == 0
    assert client.get(f"/finance/runs/{_id()}").status_code == 404

    merchant, _m = console_env.signed_in("merchant")
    assert merchant.get("/finance/runs").status_code == 403
    assert merchant.get("/finance/pay-plans").status_code == 403
    agent, _a = console_env.signed_in("agent")
    assert agent.get("/finance/performance").status_code == 403
    assert console_env.client().get("/finance/runs").status_code == 302  # to the sign-in page


def test_every_message_of_the_finance_and_agent_pages_has_a_chinese_translation() -> None:
    """Each msgid these pages use (Python and templates) is in a catalogue part, with the same
    placeholders in the translation (a missing one would raise when the page is rendered)."""
    from pathlib import Path

    from babel.messages.extract import extract_from_file

    from services.console.i18n import load_catalogue

    root = Path(__file__).resolve().parents[2] / "services" / "console"
    files = [root / "views" / "finance.py", root / "views" / "agent.py"]
    files += sorted((root / "templates" / "finance").glob("*.html"))
    files += sorted((root / "templates" / "agent").glob("*.html"))
    keywords = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None}
    used: set[str] = set()
    for path in files:
        method = "python" if path.suffix == ".py" else "jinja2"
        options = {"extensions": "jinja2.ext.i18n"} if method == "jinja2" else {}
        for _line, message, _comments, _context in extract_from_file(
            method, str(path), keywords=keywords, options=options
        ):
            used.add(message if isinstance(message, str) else message[0])
    assert len(used) > 100
    catalogue = load_catalogue("zh")
    missing = sorted(m for m in used if m not in catalogue or not catalogue[m].string)
    assert missing == []
    placeholder = re.compile(r"%\([a-z_]+\)s|%%")
    for message in used:
        assert sorted(placeholder.findall(catalogue[message].string)) == sorted(
            placeholder.findall(message)
        ), message
