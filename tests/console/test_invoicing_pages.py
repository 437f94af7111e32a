"""Invoicing pages (开票) against the real billing service: price lists, a month invoiced, approved, issued,
paid and credited, the source rows, the documents, aging, project margin, and the merchant's own bills.

Billing's clock is 10:00 on 5 December 2026 in Shanghai, so November 2026 is a whole month in the past
(the seed's figures: 10 seats × 4,000.00 per seat-month = 40,000.00 + 6% VAT 2,400.00 = 42,400.00).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from decimal import Decimal
from typing import Any

from flask.testing import FlaskClient
from openpyxl import load_workbook

from services.billing.handlers import HANDLERS
from shared.events.consumer import handle_once
from shared.events.envelope import build_envelope
from shared.web import app_state
from tests.console.support import ConsoleEnv, csrf_token
from tests.support import Clock, ServiceHarness

NOW = dt.datetime(2026, 12, 5, 2, 0, tzinfo=dt.UTC)
COMPANY_A = "杭州云店旗舰店"
COMPANY_B = "宁波海鲜专营店"


def _id() -> str:
    return str(uuid.uuid4())


def html(response: Any) -> str:
    return response.get_data(as_text=True)


def feed(h: ServiceHarness, event_type: str, data: dict[str, Any]) -> None:
    """An event through billing's consumer path (its inbox and handlers), without the broker."""
    assert handle_once(h.database, HANDLERS, build_envelope(event_type, data))


def billing_at_now(env: ConsoleEnv) -> ServiceHarness:
    billing = env.services["billing"]
    app_state(billing.app).clock = Clock(NOW)
    return billing


def confirmed_project(h: ServiceHarness, merchant_id: str, company: str = COMPANY_A, seats: int = 10) -> str:
    project_id = _id()
    feed(
        h,
        "project.confirmed",
        {
            "project_id": project_id,
            "merchant_id": merchant_id,
            "seats": seats,
            "service_type": "presale",
            "service_hours": {"start": "09:00", "end": "21:00"},
            "go_live_date": "2026-10-01",
            "assessor": "vendor",
            "metrics": {},
            "company_name": company,
        },
    )
    return project_id


def api_get(h: ServiceHarness, path: str, role: str = "finance") -> Any:
    response = h.client.get(f"/api/v1{path}", headers=h.auth(role))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def api_post(h: ServiceHarness, path: str, body: Any = None) -> Any:
    response = h.client.post(f"/api/v1{path}", json=body, headers=h.auth("finance"))
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def priced(h: ServiceHarness, project_id: str) -> None:
    api_post(
        h,
        "/price-lists",
        {
            "project_id": project_id,
            "effective_from": "2026-10-01",
            "basis": "seat_month",
            "seat_month_price": "4000.00",
        },
    )


def issued_invoice(h: ServiceHarness, project_id: str) -> dict[str, Any]:
    [invoice_id] = api_post(h, "/invoices", {"period": "2026-11", "project_id": project_id})["created"]
    api_post(h, f"/invoices/{invoice_id}/approve")
    return api_post(h, f"/invoices/{invoice_id}/issue")


def shown(text: str, name: str) -> str:
    """The text of the first element with ``data-testid=name`` (its tags stripped)."""
    match = re.search(rf'data-testid="{name}"[^>]*>(.*?)</(?:div|td|span|h1|p)>', text, re.S)
    assert match, f"no {name} on the page"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def token_of(client: FlaskClient, path: str) -> str:
    return csrf_token(html(client.get(path)))


def test_finance_prices_invoices_issues_collects_and_credits_a_month(console_env: ConsoleEnv) -> None:
    billing = billing_at_now(console_env)
    merchant = _id()
    project = confirmed_project(billing, merchant)
    client, _user = console_env.signed_in("finance")

    page = client.get(f"/invoicing/price-lists?project_id={project}")
    assert page.status_code == 200
    text = html(page)
    assert "价目表" in text and COMPANY_A in text and 'data-testid="no-price-lists"' in text
    assert 'value="6"' in text and 'value="30"' in text  # 6% VAT and 30 days to pay, by default
    token = csrf_token(text)
    form = {
        "csrf_token": token,
        "project_id": project,
        "basis": "seat_month",
        "tax_rate": "6",
        "payment_terms_days": "30",
        "surge_premium_rate": "20",
        "training_person_hour_price": "15.00",
        "effective_from": "2026-10-01",
    }

    # the price of the basis forgotten: billing's field error beside the price input, nothing stored
    refused = client.post("/invoicing/price-lists", data={**form, "price": ""})
    assert refused.status_code == 422
    text = html(refused)
    assert 'data-testid="price-list-error"' in text and 'id="e-price"' in text
    assert "请填写所选计费方式的单价" in text and "部分信息填写有误：请查看标出的栏目" in text
    assert "failed validation" not in text  # billing's English summary stays out of the page
    assert api_get(billing, f"/price-lists?project_id={project}")["total"] == 0

    saved = client.post("/invoicing/price-lists", data={**form, "price": "4,000.00"})
    assert saved.status_code == 302, html(saved)[:2000]
    [version] = api_get(billing, f"/price-lists?project_id={project}")["items"]
    rates = (Decimal(version["tax_rate"]), Decimal(version["surge_premium_rate"]))
    assert version["seat_month_price"] == "4000.00" and rates == (Decimal("0.06"), Decimal("0.2"))
    assert (version["payment_terms_days"], version["training_person_hour_price"]) == (30, "15.00")
    listed = html(client.get(saved.headers["Location"]))
    assert listed.count('data-testid="price-list-row"') == 1
    assert "按坐席月" in listed and "¥4,000.00" in listed and "6%" in listed and "20%" in listed

    # the same day again: billing's rule, in Chinese
    clash = client.post("/invoicing/price-lists", data={**form, "price": "4500"})
    assert clash.status_code == 422 and "已有同一天生效的版本" in html(clash)

    # invoice November: one new draft, shown with its figures
    run = client.post("/invoicing/invoices", data={"csrf_token": token, "period": "2026-11"})
    assert run.status_code == 200
    text = html(run)
    assert re.search(r'data-testid="run-created" data-count="1"', text)
    assert text.count('data-testid="invoice-row"') == 1 and "草稿" in text
    invoice_id = re.search(r'data-testid="invoice-row" data-invoice-id="([^"]+)"', text).group(1)
    url = f"/invoicing/invoices/{invoice_id}"
    text = html(client.get(url))
    assert shown(text, "invoice-subtotal") == "¥40,000.00"
    assert shown(text, "invoice-tax") == "¥2,400.00"
    assert shown(text, "invoice-total") == "¥42,400.00"
    assert "坐席月费" in text and "坐席月" in text and "增值税（6%）" in text
    assert 'data-testid="approve-invoice"' in text and "data-confirm=" in text

    # the line's source rows: the project's seat count from the order
    sources_url = re.search(r'href="([^"]+/lines/1/sources)" data-testid="line-sources"', text).group(1)
    sources = client.get(sources_url)
    assert sources.status_code == 200
    text = html(sources)
    assert 'data-table="project_seats"' in text and "项目坐席数" in text
    assert text.count('data-testid="source-row"') == 1 and "2026-10-01" in text

    # approve, then issue: the year's first number, due in 30 days
    text = html(client.post(f"{url}/approve", data={"csrf_token": token}, follow_redirects=True))
    assert 'data-status="approved"' in text and 'data-testid="issue-invoice"' in text
    assert "已批准" in text and 'data-testid="approve-invoice"' not in text
    text = html(client.post(f"{url}/issue", data={"csrf_token": token}, follow_redirects=True))
    assert shown(text, "invoice-number") == "FP2026-00001"
    assert "发票 FP2026-00001 已开具，到期日 2027-01-04" in text
    assert "已开具" in text and 'data-testid="record-payment"' in text
    # issuing twice: billing's refusal as a message, nothing changes
    twice = html(client.post(f"{url}/issue", data={"csrf_token": token}, follow_redirects=True))
    assert "发票当前的状态不允许此操作" in twice and "该发票已开具，编号 FP2026-00001" in twice

    # payments: part of it, more than the balance (the field's message), then the rest
    partly = client.post(
        f"{url}/payments",
        data={"csrf_token": token, "amount": "40,000.00", "reference": "招行 001"},
        follow_redirects=True,
    )
    text = html(partly)
    assert 'data-status="partly_paid"' in text and "部分收款" in text and "招行 001" in text
    assert shown(text, "invoice-balance") == "¥2,400.00"
    too_much = client.post(f"{url}/payments", data={"csrf_token": token, "amount": "2400.01"})
    assert too_much.status_code == 422
    text = html(too_much)
    assert 'id="e-amount"' in text and "超过了该发票的未收余额" in text
    paid = client.post(
        f"{url}/payments", data={"csrf_token": token, "amount": "2400.00"}, follow_redirects=True
    )
    text = html(paid)
    assert 'data-status="paid"' in text and "已收款" in text
    assert text.count('data-testid="payment-row"') == 2 and 'data-testid="record-payment"' not in text
    # the last payment was keyed in by mistake: reversed (a reason needed), it stays listed and stops counting
    [payment] = [
        p for p in api_get(billing, f"/invoices/{invoice_id}")["payments"] if p["amount"] == "2400.00"
    ]
    reverse = f"{url}/payments/{payment['id']}/reverse"
    refused = html(client.post(reverse, data={"csrf_token": token, "reason": ""}, follow_redirects=True))
    assert "请填写冲销原因" in refused and 'data-testid="payment-reversed"' not in refused
    text = html(client.post(reverse, data={"csrf_token": token, "reason": "重复录入"}, follow_redirects=True))
    assert "收款已冲销" in text and 'data-testid="payment-reversed"' in text and "重复录入" in text
    assert 'data-status="partly_paid"' in text and shown(text, "invoice-balance") == "¥2,400.00"
    again = client.post(
        f"{url}/payments", data={"csrf_token": token, "amount": "2400.00"}, follow_redirects=True
    )
    assert 'data-status="paid"' in html(again)

    # a credit note on the paid invoice: its own number, negative amounts, the invoice shows a credit
    credited = client.post(
        f"{url}/credit-notes",
        data={
            "csrf_token": token,
            "reason": "11月2日系统故障停线",
            "lines.0.description": "停线一天 10 坐席",
            "lines.0.amount": "1,000.00",
        },
    )
    assert credited.status_code == 302
    text = html(client.get(credited.headers["Location"]))
    assert "红字结算单 HC2026-00001" in text and shown(text, "invoice-total") == "-¥1,060.00"
    assert 'data-testid="credited-invoice"' in text and "FP2026-00001" in text
    text = html(client.get(url))
    assert shown(text, "invoice-balance") == "贷方余额 ¥1,060.00"
    assert text.count('data-testid="credit-note-row"') == 1
    # more credit than is left of the invoice: refused beside the form with what is still possible
    over = client.post(
        f"{url}/credit-notes",
        data={
            "csrf_token": token,
            "reason": "x",
            "lines.0.description": "x",
            "lines.0.amount": "40000",
        },
    )
    assert over.status_code == 422
    assert "超过了该发票尚可冲红的金额" in html(over) and "最多还可冲红 ¥41,340.00" in html(over)
    # no reason and a line without its amount: each field says so
    missing = client.post(
        f"{url}/credit-notes",
        data={"csrf_token": token, "reason": "", "lines.0.description": "x"},
    )
    assert missing.status_code == 422
    text = html(missing)
    assert 'id="e-reason">必填，最多 500 个字符。<' in text
    assert 'id="e-lines-0-amount">必填。<' in text
    assert api_get(billing, "/invoices?kind=credit_note")["total"] == 1

    # the documents, as billing makes them
    pdf = client.get(f"{url}/document.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    xlsx = client.get(f"{url}/document.xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    cells = [str(cell.value) for row in sheet.iter_rows() for cell in row]
    assert any("40000" in cell.replace(",", "") for cell in cells)
    assert client.get(f"{url}/document.doc").status_code == 404

    # the list: filters by status and kind; nothing overdue
    paid_list = html(client.get("/invoicing/invoices?status=paid"))
    assert paid_list.count('data-testid="invoice-row"') == 1 and "FP2026-00001" in paid_list
    notes = html(client.get("/invoicing/invoices?kind=credit_note"))
    assert notes.count('data-testid="invoice-row"') == 1 and "HC2026-00001" in notes
    assert 'data-testid="invoice-row"' not in html(client.get("/invoicing/invoices?status=overdue"))

    # aging (settled: nothing owed) and the accounting CSV
    assert 'data-testid="no-aging"' in html(client.get("/invoicing/aging"))
    csv = client.get("/invoicing/accounting-export?from=2026-12-01&to=2026-12-31&format=csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    body = csv.data.decode("utf-8-sig")
    assert "FP2026-00001" in body and "HC2026-00001" in body and "-1060.00" in body
    backwards = client.get("/invoicing/accounting-export?from=2026-12-31&to=2026-12-01")
    assert backwards.status_code == 422 and 'id="e-to"' in html(backwards)

    # English by the switch
    client.set_cookie("lang", "en")
    english = html(client.get(url))
    assert "Invoice FP2026-00001" in english and "Total incl. VAT" in english
    assert "Credit ¥1,060.00" in english


def test_merchant_sees_its_own_issued_bills_only(console_env: ConsoleEnv) -> None:
    billing = billing_at_now(console_env)
    merchant_a, merchant_b = _id(), _id()
    project_a = confirmed_project(billing, merchant_a)
    project_b = confirmed_project(billing, merchant_b, COMPANY_B, seats=5)
    priced(billing, project_a)
    priced(billing, project_b)
    invoice_a = issued_invoice(billing, project_a)
    [draft_b] = api_post(billing, "/invoices", {"period": "2026-11", "project_id": project_b})["created"]

    client_a, _a = console_env.signed_in("merchant", merchant_id=merchant_a)
    listed = client_a.get("/invoicing/mine")
    assert listed.status_code == 200
    text = html(listed)
    assert "我的账单" in text and text.count('data-testid="my-invoice-row"') == 1
    assert "FP2026-00001" in text and "¥42,400.00" in text and "2027-01-04" in text
    assert 'data-testid="overdue-notice"' not in text
    page = client_a.get(f"/invoicing/mine/{invoice_a['id']}")
    assert page.status_code == 200
    text = html(page)
    assert shown(text, "invoice-total") == "¥42,400.00" and shown(text, "invoice-balance") == "¥42,400.00"
    assert 'data-testid="line-sources"' not in text and 'data-testid="record-payment"' not in text
    pdf = client_a.get(f"/invoicing/invoices/{invoice_a['id']}/document.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    # B's draft is nobody's business but finance's: a page saying so, not an error of ours
    hidden = client_a.get(f"/invoicing/mine/{draft_b}")
    assert hidden.status_code == 404 and "内容不存在，或您无权访问" in html(hidden)
    assert client_a.get(f"/invoicing/invoices/{draft_b}/document.pdf").status_code == 404
    # the finance pages are not the merchant's
    assert client_a.get(f"/invoicing/invoices/{invoice_a['id']}").status_code == 403
    assert client_a.get("/invoicing/margins").status_code == 403

    # merchant B: its draft is not shown, and A's invoice is not found
    client_b, _b = console_env.signed_in("merchant", merchant_id=merchant_b)
    text = html(client_b.get("/invoicing/mine"))
    assert 'data-testid="my-invoice-row"' not in text and 'data-testid="no-invoices"' in text
    assert client_b.get(f"/invoicing/mine/{invoice_a['id']}").status_code == 404
    assert client_b.get(f"/invoicing/invoices/{invoice_a['id']}/document.xlsx").status_code == 404

    # forty days on, A's invoice is ten days past due: said on the list and on the page
    app_state(billing.app).clock = Clock(NOW + dt.timedelta(days=40))
    text = html(client_a.get("/invoicing/mine"))
    assert 'data-testid="overdue-notice"' in text and "1 张发票已逾期" in text
    assert shown(text, "overdue") == "逾期 10 天"
    overdue_only = html(client_a.get("/invoicing/mine?status=overdue"))
    assert overdue_only.count('data-testid="my-invoice-row"') == 1


def test_vendor_reads_the_margin_report_and_invoices_without_forms(console_env: ConsoleEnv) -> None:
    billing = billing_at_now(console_env)
    merchant = _id()
    project = confirmed_project(billing, merchant)
    for name in ("甲", "乙", "丙", "丁", "戊"):
        feed(
            billing,
            "agent.admitted",
            {
                "project_id": project,
                "candidate_id": _id(),
                "cohort_id": _id(),
                "name": name,
                "skills": ["presale"],
                "shifts_available": ["morning"],
                "quiz_score": 90.0,
                "simulation_score": 88.0,
                "rank": 1,
                "admitted_at": "2026-10-01T02:00:00+00:00",
            },
        )
    api_post(
        billing,
        "/pay-plans",
        {"project_id": project, "type": "monthly", "monthly_base": "4000.00", "effective_from": "2026-10-01"},
    )
    payroll = api_post(billing, "/payroll-runs", {"period": "2026-11", "project_id": project})
    api_post(billing, f"/payroll-runs/{payroll['id']}/approve")
    priced(billing, project)
    invoice = issued_invoice(billing, project)

    vendor, _v = console_env.signed_in("vendor")
    home = html(vendor.get("/vendor/"))
    assert "项目毛利" in home and "/invoicing/margins" in home
    page = vendor.get("/invoicing/margins?from=2026-11&to=2026-11")
    assert page.status_code == 200
    text = html(page)
    # revenue 40,000 before VAT − 5 × 4,000 agent pay − no penalties = 20,000, half the revenue
    assert text.count('data-testid="margin-row"') == 1 and COMPANY_A in text
    assert "¥40,000.00" in text and "¥20,000.00" in text
    assert shown(text, "margin-value") == "¥20,000.00" and shown(text, "margin-rate") == "50.00%"
    assert 'data-testid="margin-total"' in text
    by_merchant = html(vendor.get("/invoicing/margins?from=2026-01&to=2026-12&group=merchant"))
    assert 'data-group="merchant"' in by_merchant and shown(by_merchant, "margin-value") == "¥20,000.00"
    by_month = html(vendor.get("/invoicing/margins?from=2026-01&to=2026-12&group=month"))
    assert "2026-11" in by_month and shown(by_month, "margin-rate") == "50.00%"
    # a range the wrong way round: the form says so
    backwards = vendor.get("/invoicing/margins?from=2026-12&to=2026-01")
    assert backwards.status_code == 422
    assert 'data-testid="margin-error"' in html(backwards) and "不能早于开始时间" in html(backwards)

    # the vendor reads invoices, price lists and aging, with no form and no button to change them
    text = html(vendor.get(f"/invoicing/invoices/{invoice['id']}"))
    assert shown(text, "invoice-number") == "FP2026-00001" and 'data-testid="line-sources"' in text
    assert 'data-testid="record-payment"' not in text and 'data-testid="create-credit-note"' not in text
    assert 'data-testid="invoice-month"' not in html(vendor.get("/invoicing/invoices"))
    assert 'data-testid="save-price-list"' not in html(vendor.get("/invoicing/price-lists"))
    aging = html(vendor.get("/invoicing/aging"))
    assert 'data-testid="aging-row"' in aging and "¥42,400.00" in aging
    token = csrf_token(text)
    paying = vendor.post(f"/invoicing/invoices/{invoice['id']}/payments", data={"csrf_token": token})
    assert paying.status_code == 403
    invoicing = vendor.post("/invoicing/invoices", data={"csrf_token": token, "period": "2026-11"})
    assert invoicing.status_code == 403


def test_a_bad_month_is_a_form_error_drafts_are_recalculated_or_deleted(console_env: ConsoleEnv) -> None:
    billing = billing_at_now(console_env)
    project = confirmed_project(billing, _id())
    confirmed_project(billing, _id(), COMPANY_B)  # live, but without a price list
    priced(billing, project)
    client, _user = console_env.signed_in("finance")
    token = token_of(client, "/invoicing/invoices")

    malformed = "请按 YYYY-MM 输入月份"
    for period, said in (("2026-13", malformed), ("2027-01", "该月尚未开始"), ("", malformed)):
        refused = client.post("/invoicing/invoices", data={"csrf_token": token, "period": period})
        assert refused.status_code == 422, period
        text = html(refused)
        assert 'data-testid="run-error"' in text and 'id="e-period"' in text and said in text, period
    assert api_get(billing, "/invoices")["total"] == 0
    filtered = client.get("/invoicing/invoices?period=November")
    assert filtered.status_code == 422 and 'data-testid="filter-error"' in html(filtered)

    # a project without a price list is skipped and said
    run = html(client.post("/invoicing/invoices", data={"csrf_token": token, "period": "2026-11"}))
    assert re.search(r'data-testid="run-skipped" data-count="1"', run)
    assert f"{COMPANY_B}: 本月没有生效的价目表" in run
    invoice_id = re.search(r'data-testid="invoice-row" data-invoice-id="([^"]+)"', run).group(1)
    url = f"/invoicing/invoices/{invoice_id}"
    again = html(client.post("/invoicing/invoices", data={"csrf_token": token, "period": "2026-11"}))
    assert re.search(r'data-testid="run-recalculated" data-count="1"', again)

    # a draft: recalculated, approved and sent back, deleted
    recalculated = html(client.post(f"{url}/recalculate", data={"csrf_token": token}, follow_redirects=True))
    assert "已按当前数据重新计算草稿" in recalculated
    client.post(f"{url}/approve", data={"csrf_token": token})
    reopened = html(client.post(f"{url}/reopen", data={"csrf_token": token}, follow_redirects=True))
    assert 'data-status="draft"' in reopened and "发票已退回草稿" in reopened
    deleted = client.post(f"{url}/delete", data={"csrf_token": token})
    assert deleted.status_code == 302 and deleted.headers["Location"].endswith("/invoicing/invoices")
    assert api_get(billing, "/invoices")["total"] == 0
    assert client.get(url).status_code == 404
    assert client.post(f"{url}/approve", data={"csrf_token": token}).status_code == 404
    assert client.post(f"{url}/cancel", data={"csrf_token": token}).status_code in (404, 405)

    # who may come in
    merchant, _m = console_env.signed_in("merchant")
    assert merchant.get("/invoicing/invoices").status_code == 403
    assert merchant.get("/invoicing/price-lists").status_code == 403
    agent, _a = console_env.signed_in("agent")
    assert agent.get("/invoicing/mine").status_code == 403
    assert agent.get("/invoicing/aging").status_code == 403
    assert console_env.client().get("/invoicing/invoices").status_code == 302  # to the sign-in page
    assert "/invoicing/price-lists" in html(client.get("/finance/runs"))  # finance's menu
