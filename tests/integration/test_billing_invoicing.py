"""Merchant invoicing on PostgreSQL through the billing API: price lists, the month's invoices from the
events billing holds, approval, gap-free numbers, payments, credit notes, what a merchant may see, the
documents, aging and project margin — with the seed's figures (4,000.00 per seat-month, 25.00 per
agent-hour, 15.00 per training person-hour, 6% VAT)."""

from __future__ import annotations

import datetime as dt
import io
import threading
import uuid
from collections.abc import Callable
from typing import Any

from openpyxl import load_workbook

from services.billing.handlers import HANDLERS
from shared.events.consumer import handle_once
from shared.events.envelope import build_envelope
from shared.web import app_state
from tests.integration.test_billing_payroll import admitted, get, post
from tests.support import Clock, ServiceHarness, emitted

NOW = dt.datetime(2026, 12, 5, 2, 0, tzinfo=dt.UTC)  # 10:00 on 5 December in Shanghai
PROBLEM = "application/problem+json"


def _id() -> str:
    return str(uuid.uuid4())


def feed(h: ServiceHarness, event_type: str, data: dict[str, Any], at: dt.datetime | None = None) -> None:
    assert handle_once(h.database, HANDLERS, build_envelope(event_type, data, occurred_at=at))


def project(h: ServiceHarness, merchant_id: str, *, seats: int = 10, go_live: str = "2026-10-01") -> str:
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
            "go_live_date": go_live,
            "assessor": "vendor",
            "metrics": {},
            "company_name": "杭州云店旗舰店",
        },
    )
    return project_id


def billing(service_env: Callable[..., ServiceHarness]) -> ServiceHarness:
    h = service_env("billing")
    app_state(h.app).clock = Clock(NOW)
    return h


def price_list(h: ServiceHarness, project_id: str, **terms: Any) -> dict[str, Any]:
    body = {"project_id": project_id, "effective_from": "2026-10-01", "basis": "seat_month"}
    body.update(terms)
    if body["basis"] == "seat_month":
        body.setdefault("seat_month_price", "4000.00")
    r = post(h, "/price-lists", body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def invoice_month(h: ServiceHarness, period: str = "2026-11", **extra: Any) -> dict[str, Any]:
    r = post(h, "/invoices", {"period": period, **extra})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def issued(h: ServiceHarness, invoice_id: str) -> dict[str, Any]:
    assert post(h, f"/invoices/{invoice_id}/approve", None).status_code == 200
    r = post(h, f"/invoices/{invoice_id}/issue", None)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def amounts(invoice: dict[str, Any]) -> list[tuple[str, str]]:
    return [(line["kind"], line["amount"]) for line in invoice["lines"]]


def test_ten_seats_for_november_are_invoiced_issued_paid_and_credited(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = billing(service_env)
    merchant_a, merchant_b = _id(), _id()
    project_id = project(h, merchant_a)
    terms = price_list(h, project_id)
    assert (terms["tax_rate"], terms["payment_terms_days"]) == ("0.06", 30)

    run = invoice_month(h)
    assert (run["period"], len(run["created"]), run["kept"], run["skipped"]) == ("2026-11", 1, [], [])
    invoice_id = run["created"][0]
    draft = get(h, f"/invoices/{invoice_id}").get_json()
    assert draft["status"] == "draft" and draft["number"] is None
    assert amounts(draft) == [("seats", "40000.00")]
    assert (draft["lines"][0]["quantity"], draft["lines"][0]["unit"]) == ("10.0000", "坐席月")
    assert (draft["subtotal"], draft["tax"], draft["total"]) == ("40000.00", "2400.00", "42400.00")
    # a draft is not the merchant's to see
    assert get(h, f"/invoices/{invoice_id}", role="merchant", merchant_id=merchant_a).status_code == 404
    assert get(h, "/invoices", role="merchant", merchant_id=merchant_a).get_json()["total"] == 0

    # generating again recalculates the draft, never a second invoice
    again = invoice_month(h)
    assert (again["created"], again["recalculated"]) == ([], [invoice_id])

    done = issued(h, invoice_id)
    assert (done["status"], done["number"]) == ("issued", "FP2026-00001")
    assert (done["issued_on"], done["due_on"]) == ("2026-12-05", "2027-01-04")
    assert invoice_month(h)["kept"] == [
        {"project_id": project_id, "invoice_id": invoice_id, "status": "issued"}
    ]
    [event] = emitted(h, "invoice.issued")
    assert {
        k: event[k] for k in ("invoice_id", "number", "merchant_id", "project_id", "total", "balance")
    } == {
        "invoice_id": invoice_id,
        "number": "FP2026-00001",
        "merchant_id": merchant_a,
        "project_id": project_id,
        "total": "42400.00",
        "balance": "42400.00",
    }

    # merchants: A sees its issued invoice, B gets 404 on it and an empty list
    mine = get(h, f"/invoices/{invoice_id}", role="merchant", merchant_id=merchant_a)
    assert mine.status_code == 200 and mine.get_json()["total"] == "42400.00"
    other = get(h, f"/invoices/{invoice_id}", role="merchant", merchant_id=merchant_b)
    assert other.status_code == 404 and other.content_type == PROBLEM
    assert get(h, f"/invoices/{invoice_id}/pdf", role="merchant", merchant_id=merchant_b).status_code == 404
    assert (
        get(h, f"/invoices?merchant_id={merchant_a}", role="merchant", merchant_id=merchant_b).get_json()[
            "total"
        ]
        == 0
    )
    assert (
        post(
            h, f"/invoices/{invoice_id}/payments", {"amount": "1.00"}, role="merchant", merchant_id=merchant_a
        ).status_code
        == 403
    )

    # payments: partly, then the rest; never more than the balance
    first = post(h, f"/invoices/{invoice_id}/payments", {"amount": "40000.00", "reference": "招行 001"})
    assert first.status_code == 201
    assert get(h, f"/invoices/{invoice_id}").get_json()["status"] == "partly_paid"
    # a payment keyed in twice is reversed, not deleted: it stays listed and no longer counts
    mistake = post(h, f"/invoices/{invoice_id}/payments", {"amount": "2400.00", "reference": "招行 001"})
    assert get(h, f"/invoices/{invoice_id}").get_json()["status"] == "paid"
    path = f"/invoices/{invoice_id}/payments/{mistake.get_json()['id']}/reverse"
    assert post(h, path, {}).status_code == 422  # a reason is required
    reversed_ = post(h, path, {"reason": "重复录入"})
    assert reversed_.status_code == 200 and reversed_.get_json()["reversal_reason"] == "重复录入"
    assert post(h, path, {"reason": "again"}).get_json()["rule"] == "payment-reversed"
    assert post(h, f"/invoices/{invoice_id}/payments/nope/reverse", {"reason": "x"}).status_code == 404
    back = get(h, f"/invoices/{invoice_id}").get_json()
    assert (back["status"], back["paid"], back["balance"]) == ("partly_paid", "40000.00", "2400.00")
    reversed_ids = {p["id"] for p in back["payments"] if p["reversed_at"] is not None}
    assert len(back["payments"]) == 2 and reversed_ids == {mistake.get_json()["id"]}
    too_much = post(h, f"/invoices/{invoice_id}/payments", {"amount": "2400.01"})
    assert too_much.status_code == 422 and "amount" in too_much.get_json()["errors"]
    assert (
        post(
            h, f"/invoices/{invoice_id}/payments", {"amount": "2400.00", "paid_on": "2026-12-05"}
        ).status_code
        == 201
    )
    paid = get(h, f"/invoices/{invoice_id}").get_json()
    assert (paid["status"], paid["paid"], paid["balance"]) == ("paid", "42400.00", "0.00")
    assert [e["balance"] for e in emitted(h, "invoice.paid")] == ["2400.00", "0.00", "0.00"]
    assert [e["status"] for e in emitted(h, "invoice.paid")] == ["partly_paid", "paid", "paid"]

    # an issued invoice is never edited: a credit note corrects it, and the paid one shows a credit
    assert post(h, f"/invoices/{invoice_id}/recalculate", None).status_code == 409
    note = post(
        h,
        f"/invoices/{invoice_id}/credit-notes",
        {
            "reason": "11月2日系统故障停线",
            "lines": [{"description": "停线一天 10 坐席", "amount": "1000.00"}],
        },
    )
    assert note.status_code == 201, note.get_json()
    credit = note.get_json()
    assert (credit["kind"], credit["number"], credit["credited_invoice_number"]) == (
        "credit_note",
        "HC2026-00001",
        "FP2026-00001",
    )
    assert (credit["subtotal"], credit["tax"], credit["total"]) == ("-1000.00", "-60.00", "-1060.00")
    after = get(h, f"/invoices/{invoice_id}").get_json()
    assert (after["status"], after["credited"], after["balance"]) == ("paid", "-1060.00", "-1060.00")
    assert [n["number"] for n in after["credit_notes"]] == ["HC2026-00001"]
    assert [e["number"] for e in emitted(h, "invoice.issued")] == ["FP2026-00001", "HC2026-00001"]
    # the merchant sees the credit note too
    theirs = get(h, "/invoices", role="merchant", merchant_id=merchant_a).get_json()
    assert sorted(i["number"] for i in theirs["items"]) == ["FP2026-00001", "HC2026-00001"]
    # never more credit than what was invoiced
    over = post(
        h,
        f"/invoices/{invoice_id}/credit-notes",
        {"reason": "x", "lines": [{"description": "x", "amount": "40000.00"}]},
    )
    assert over.status_code == 409 and over.get_json()["rule"] == "credit-exceeds-invoice"
    assert post(h, f"/invoices/{credit['id']}/payments", {"amount": "1.00"}).status_code == 409

    # documents: the PDF, the lines as XLSX, the accounting CSV
    pdf = get(h, f"/invoices/{invoice_id}/pdf", role="merchant", merchant_id=merchant_a)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    xlsx = get(h, f"/invoices/{invoice_id}/export?format=xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert any("40000" in str(cell.value).replace(",", "") for row in sheet.iter_rows() for cell in row)
    csv = get(h, "/invoices/accounting-export?from=2026-12-01&to=2026-12-31").data.decode("utf-8-sig")
    assert "FP2026-00001" in csv and "HC2026-00001" in csv and "-1060.00" in csv
    # settled: nothing to age
    assert get(h, "/invoices/aging").get_json()["merchants"] == []


def test_hours_and_training_are_charged_from_their_source_rows(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = billing(service_env)
    project_id = project(h, _id())
    price_list(
        h, project_id, basis="agent_hour", agent_hour_price="25.00", training_person_hour_price="15.00"
    )
    agents = [_id() for _ in range(20)]
    for day in range(1, 11):  # 20 agents × 10 days × 8 h = 1,600 agent-hours
        for agent_id in agents:
            feed(
                h,
                "shift.worked",
                {"project_id": project_id, "agent_id": agent_id, "date": f"2026-11-{day:02d}", "hours": "8"},
            )
    feed(
        h,
        "cohort.completed",
        {
            "project_id": project_id,
            "cohort_id": (cohort := _id()),
            "admitted": 20,
            "target": 20,
            "trainees": 20,
            "training_hours": "8",
            "completed_at": "2026-11-03T09:00:00+00:00",
        },
    )
    [invoice_id] = invoice_month(h)["created"]
    invoice = get(h, f"/invoices/{invoice_id}").get_json()
    assert amounts(invoice) == [("hours", "40000.00"), ("training", "2400.00")]
    assert invoice["lines"][0]["quantity"] == "1600.0000" and invoice["lines"][0]["unit"] == "工时"
    assert invoice["lines"][1]["quantity"] == "160.0000" and invoice["lines"][1]["unit_price"] == "15.00"
    assert (invoice["subtotal"], invoice["tax"], invoice["total"]) == ("42400.00", "2544.00", "44944.00")

    hours = get(h, f"/invoices/{invoice_id}/lines/1/sources?per_page=50").get_json()
    assert (hours["total"], hours["pages"]) == (200, 4)
    assert hours["items"][0] == {
        "table": "worked_hours",
        "agent_id": hours["items"][0]["agent_id"],
        "date": "2026-11-01",
        "hours": "8.00",
    }
    training = get(h, f"/invoices/{invoice_id}/lines/2/sources").get_json()
    assert training["items"] == [
        {
            "table": "training_cohorts",
            "cohort_id": cohort,
            "completed_on": "2026-11-03",
            "trainees": 20,
            "hours_each": "8.00",
            "admitted": 20,
        }
    ]
    assert get(h, f"/invoices/{invoice_id}/lines/9/sources").status_code == 404
    assert (
        get(h, f"/invoices/{invoice_id}/lines/1/sources", role="merchant", merchant_id="m").status_code == 403
    )

    # a timesheet corrected while the invoice is a draft: recalculating picks it up
    feed(
        h,
        "shift.worked",
        {"project_id": project_id, "agent_id": agents[0], "date": "2026-11-01", "hours": "4"},
    )
    again = post(h, f"/invoices/{invoice_id}/recalculate", None).get_json()
    assert amounts(again)[0] == ("hours", "39900.00")


def test_seat_changes_surges_and_a_new_price_version_in_one_month(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = billing(service_env)
    merchant = _id()
    project_id = project(h, merchant)
    price_list(h, project_id, surge_premium_rate="0.2")
    price_list(
        h, project_id, effective_from="2026-11-16", seat_month_price="4500.00", surge_premium_rate="0.2"
    )
    changed = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
    feed(
        h,
        "project.updated",
        {"project_id": project_id, "merchant_id": merchant, "changed": ["seats"], "seats": 16},
        at=changed,
    )
    feed(
        h,
        "surge.accepted",
        {
            "project_id": project_id,
            "surge_id": (surge := _id()),
            "increase_pct": 30.0,
            "start_date": "2026-11-10",
            "end_date": "2026-11-12",
            "extra_seats": 3,
            "covered": 3,
            "uncovered": 0,
            "reason": None,
        },
    )
    [invoice_id] = invoice_month(h)["created"]
    invoice = get(h, f"/invoices/{invoice_id}").get_json()
    # 1st–15th: 10 seats at 4,000 (150 seat-days → 20,000); 16th–30th: 10 seats to the 19th, 16 from the
    # 20th (40 + 176 = 216 seat-days) at 4,500 → 32,400; the surge: 3 × 3 days ÷ 30 × 4,000 × 1.2 = 1,440
    assert amounts(invoice) == [("seats", "20000.00"), ("seats", "32400.00"), ("surge", "1440.00")]
    surge_rows = get(h, f"/invoices/{invoice_id}/lines/3/sources").get_json()["items"]
    assert [r["surge_id"] for r in surge_rows] == [surge]
    seat_rows = get(h, f"/invoices/{invoice_id}/lines/2/sources").get_json()["items"]
    assert [(r["effective_from"], r["seats"]) for r in seat_rows] == [("2026-10-01", 10), ("2026-11-20", 16)]

    # once approved, no version may take effect in that month
    assert post(h, f"/invoices/{invoice_id}/approve", None).status_code == 200
    late = post(
        h,
        "/price-lists",
        {
            "project_id": project_id,
            "effective_from": "2026-11-20",
            "basis": "seat_month",
            "seat_month_price": "1.00",
        },
    )
    assert late.status_code == 409 and late.get_json()["rule"] == "invoiced-period"
    # reopened, the draft can be recalculated again
    assert post(h, f"/invoices/{invoice_id}/reopen", None).get_json()["status"] == "draft"


def test_two_concurrent_issues_of_one_invoice_take_one_number(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = billing(service_env)
    first, second = project(h, _id()), project(h, _id())
    for project_id in (first, second):
        price_list(h, project_id)
    run = invoice_month(h)
    by_project = {get(h, f"/invoices/{i}").get_json()["project_id"]: i for i in run["created"]}
    target = by_project[first]
    assert post(h, f"/invoices/{target}/approve", None).status_code == 200
    barrier = threading.Barrier(2)
    answers: list[Any] = []

    def issue() -> None:
        client = h.app.test_client()
        barrier.wait()
        answers.append(client.post(f"/api/v1/invoices/{target}/issue", headers=h.auth("finance")))

    threads = [threading.Thread(target=issue) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200, 409]
    [refused] = [a for a in answers if a.status_code == 409]
    assert refused.get_json()["number"] == "FP2026-00001"
    assert [e["number"] for e in emitted(h, "invoice.issued")] == ["FP2026-00001"]
    # the next invoice takes the next number: no gap
    assert issued(h, by_project[second])["number"] == "FP2026-00002"


def test_bad_requests_are_refused_and_change_nothing(service_env: Callable[..., ServiceHarness]) -> None:
    h = billing(service_env)
    project_id = project(h, _id())
    bad = post(h, "/price-lists", {"project_id": project_id, "basis": "seat_month"})
    assert bad.status_code == 422 and "seat_month_price" in bad.get_json()["errors"]
    both = post(
        h,
        "/price-lists",
        {
            "project_id": project_id,
            "basis": "seat_month",
            "seat_month_price": "4000",
            "agent_hour_price": "25",
        },
    )
    assert both.status_code == 422 and "agent_hour_price" in both.get_json()["errors"]
    unknown = post(
        h, "/price-lists", {"project_id": "nope", "basis": "seat_month", "seat_month_price": "4000"}
    )
    assert unknown.status_code == 422 and unknown.get_json()["rule"] == "unknown-project"
    assert post(h, "/price-lists", {"project_id": project_id, "basis": "per_chat"}).status_code == 422
    assert (
        post(
            h, "/price-lists", {"project_id": project_id, "basis": "seat_month", "seat_month_price": 4000.5}
        ).status_code
        == 422
    )
    assert (
        post(
            h,
            "/price-lists",
            {"project_id": project_id, "basis": "seat_month", "seat_month_price": "4000", "tax_rate": "1.5"},
        ).status_code
        == 422
    )
    assert get(h, f"/price-lists?project_id={project_id}").get_json()["total"] == 0
    price_list(h, project_id)
    # the vendor agrees the prices at confirmation and may set them; a merchant may not
    vendor = post(
        h,
        "/price-lists",
        {
            "project_id": project_id,
            "effective_from": "2026-12-01",
            "basis": "seat_month",
            "seat_month_price": "4200.00",
        },
        role="vendor",
    )
    assert vendor.status_code == 201 and vendor.get_json()["created_by"]
    merchant = post(
        h,
        "/price-lists",
        {"project_id": project_id, "basis": "seat_month", "seat_month_price": "1"},
        role="merchant",
        merchant_id="m",
    )
    assert merchant.status_code == 403
    clash = post(
        h,
        "/price-lists",
        {
            "project_id": project_id,
            "effective_from": "2026-10-01",
            "basis": "seat_month",
            "seat_month_price": "1",
        },
    )
    assert clash.status_code == 409 and clash.get_json()["rule"] == "price-list-exists"

    future = post(h, "/invoices", {"period": "2027-01"})
    assert future.status_code == 422 and "period" in future.get_json()["errors"]
    assert post(h, "/invoices", {"period": "2026-13"}).status_code == 422
    assert post(h, "/invoices", {"period": "2026-11"}, role="vendor").status_code == 403
    assert post(h, "/invoices", {"period": "2026-11"}, role="merchant", merchant_id="m").status_code == 403
    unpriced = project(h, _id())  # live since October, no price list yet: reported, not invoiced
    gone = project(h, _id())  # priced, closed in October: not reported month after month
    price_list(h, gone)
    feed(h, "project.closed", {"project_id": gone}, at=dt.datetime(2026, 10, 20, 2, 0, tzinfo=dt.UTC))
    before = invoice_month(h, "2026-09")  # before either went live
    assert (before["created"], before["skipped"]) == ([], [])
    run = invoice_month(h)
    assert run["skipped"] == [{"project_id": unpriced, "reason": "no price list in force in 2026-11"}]
    invoice_id = run["created"][0]
    assert post(h, f"/invoices/{invoice_id}/issue", None).status_code == 409  # not approved yet
    assert post(h, f"/invoices/{invoice_id}/payments", {"amount": "1.00"}).status_code == 409
    assert (
        post(
            h,
            f"/invoices/{invoice_id}/credit-notes",
            {"reason": "x", "lines": [{"description": "x", "amount": "1.00"}]},
        ).status_code
        == 409
    )
    assert post(h, f"/invoices/{invoice_id}/approve", None).status_code == 200
    twice = post(h, f"/invoices/{invoice_id}/approve", None)
    assert (
        twice.status_code == 409
        and twice.content_type == PROBLEM
        and twice.get_json()["rule"] == "invoice-status"
    )
    assert h.client.delete(f"/api/v1/invoices/{invoice_id}", headers=h.auth("finance")).status_code == 409
    assert get(h, "/invoices/not-an-invoice").status_code == 404
    assert post(h, f"/invoices/{invoice_id}/payments", {"amount": "-5"}).status_code == 422
    assert get(h, "/margins?from=2026-12&to=2026-01").status_code == 422
    assert get(h, "/margins").status_code == 422
    assert get(h, "/invoices?status=lost").status_code == 422
    assert get(h, "/invoices", role="agent").status_code == 403
    # a draft can be deleted; the month can be drafted again
    assert post(h, f"/invoices/{invoice_id}/reopen", None).status_code == 200
    assert h.client.delete(f"/api/v1/invoices/{invoice_id}", headers=h.auth("finance")).status_code == 204
    assert len(invoice_month(h)["created"]) == 1


def test_overdue_invoices_age_and_margin_subtracts_pay_and_penalties(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = billing(service_env)
    merchant = _id()
    project_id = project(h, merchant)
    price_list(h, project_id, complaint_credit="200.00", payment_terms_days=10)
    agents = [_id() for _ in range(5)]
    for agent_id in agents:
        feed(h, "agent.admitted", admitted(project_id, agent_id, "坐席", dt.date(2026, 10, 1)))
    assert (
        post(
            h,
            "/pay-plans",
            {
                "project_id": project_id,
                "type": "monthly",
                "monthly_base": "4000.00",
                "effective_from": "2026-10-01",
            },
        ).status_code
        == 201
    )
    feed(
        h,
        "complaint.upheld",
        {
            "complaint_id": _id(),
            "number": "TS20261110-0001",
            "project_id": project_id,
            "agent_id": agents[0],
            "penalty": "100.00",
            "resolved_at": "2026-11-10T04:00:00+00:00",
        },
    )
    run = post(h, "/payroll-runs", {"period": "2026-11", "project_id": project_id}).get_json()
    assert post(h, f"/payroll-runs/{run['id']}/approve", None).status_code == 200

    [invoice_id] = invoice_month(h)["created"]
    invoice = issued(h, invoice_id)
    assert amounts(invoice) == [("seats", "40000.00"), ("complaint_credit", "-200.00")]
    assert invoice["due_on"] == "2026-12-15"

    # 20 days later it is 5 days overdue
    app_state(h.app).clock = Clock(NOW + dt.timedelta(days=15))
    overdue = get(h, "/invoices?status=overdue").get_json()
    assert [(i["number"], i["days_overdue"]) for i in overdue["items"]] == [("FP2026-00001", 5)]
    aging = get(h, "/invoices/aging").get_json()
    [row] = aging["merchants"]
    assert (row["merchant_id"], row["1_30"], row["current"], row["total"]) == (
        merchant,
        "42188.00",
        "0.00",
        "42188.00",
    )

    margin = get(h, f"/margins?from=2026-11&to=2026-11&project_id={project_id}").get_json()
    [line] = margin["rows"]
    # revenue 40,000 (before tax); pay 5 × 4,000 − the 100 penalty deducted = 19,900; the 200 credit
    assert (line["revenue"], line["agent_pay"], line["penalties"], line["margin"], line["margin_rate"]) == (
        "40000.00",
        "19900.00",
        "200.00",
        "19900.00",
        "0.4975",
    )
    by_merchant = get(h, f"/margins?from=2026-01&to=2026-12&group=merchant&merchant_id={merchant}").get_json()
    assert [(r["merchant_id"], r["margin"]) for r in by_merchant["rows"]] == [(merchant, "19900.00")]
    by_month = get(h, f"/margins?from=2026-01&to=2026-12&group=month&project_id={project_id}").get_json()
    assert [(r["period"], r["margin"]) for r in by_month["rows"]] == [("2026-11", "19900.00")]
    assert (
        get(h, "/margins?from=2026-11&to=2026-11", role="merchant", merchant_id=merchant).status_code == 403
    )
