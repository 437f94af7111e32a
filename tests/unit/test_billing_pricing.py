"""Merchant invoicing rules (services.billing.pricing) with the seed's figures: 4,000.00 per seat-month,
25.00 per agent-hour, training 15.00 per person-hour, 6% VAT."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.billing import pricing
from services.billing.domain import Period
from services.billing.pricing import (
    CohortItem,
    DayTotal,
    KpiVerdicts,
    MonthInputs,
    PriceTerms,
    SeatChange,
    SurgeItem,
)

NOV = Period(2026, 11)  # 30 days
D = Decimal


def seat_list(**kwargs: object) -> PriceTerms:
    values: dict[str, object] = {
        "id": "v1",
        "effective_from": dt.date(2026, 1, 1),
        "basis": pricing.SEAT_MONTH,
        "seat_month_price": D("4000.00"),
    }
    values.update(kwargs)
    return PriceTerms(**values)  # type: ignore[arg-type]


def hour_list(**kwargs: object) -> PriceTerms:
    values: dict[str, object] = {
        "id": "h1",
        "effective_from": dt.date(2026, 1, 1),
        "basis": pricing.AGENT_HOUR,
        "agent_hour_price": D("25.00"),
    }
    values.update(kwargs)
    return PriceTerms(**values)  # type: ignore[arg-type]


def month(versions: list[PriceTerms], **kwargs: object) -> MonthInputs:
    values: dict[str, object] = {
        "period": NOV,
        "versions": versions,
        "go_live": dt.date(2026, 10, 1),
        "closed_on": None,
        "seat_changes": [SeatChange(dt.date(2026, 10, 1), 10)],
    }
    values.update(kwargs)
    return MonthInputs(**values)  # type: ignore[arg-type]


def kinds(invoice: pricing.MonthInvoice) -> list[tuple[str, str]]:
    return [(line.kind, str(line.amount)) for line in invoice.lines]


def test_ten_seats_for_a_full_month_at_4000_with_6_percent_vat() -> None:
    invoice = pricing.month_invoice(month([seat_list()]))
    assert kinds(invoice) == [("seats", "40000.00")]
    line = invoice.lines[0]
    assert (line.quantity, line.unit, line.unit_price) == (D("10.0000"), "坐席月", D("4000.00"))
    assert line.sources["seat_days"] == 300 and line.sources["from"] == "2026-11-01"
    assert (invoice.subtotal, invoice.tax, invoice.total) == (D("40000.00"), D("2400.00"), D("42400.00"))
    assert invoice.warnings == ()


def test_1600_agent_hours_at_25() -> None:
    hours = {dt.date(2026, 11, d): DayTotal(D("80"), 10) for d in range(1, 21)}  # 20 days × 80 h
    invoice = pricing.month_invoice(month([hour_list()], hours=hours))
    assert kinds(invoice) == [("hours", "40000.00")]
    assert invoice.lines[0].quantity == D("1600.0000") and invoice.lines[0].sources["rows"] == 200
    assert invoice.total == D("42400.00")


def test_twenty_trainees_times_eight_hours_at_15_is_the_training_fee() -> None:
    cohort = CohortItem("c1", dt.date(2026, 11, 5), 20, D("8"))
    terms = seat_list(training_person_hour_price=D("15.00"))
    invoice = pricing.month_invoice(month([terms], cohorts=[cohort]))
    training = [line for line in invoice.lines if line.kind == pricing.TRAINING]
    assert [(t.quantity, t.unit, t.amount) for t in training] == [(D("160.0000"), "人·时", D("2400.00"))]
    assert "20 人 × 8 小时" in training[0].description
    assert invoice.subtotal == D("42400.00")


def test_training_without_a_price_is_not_charged_and_said() -> None:
    cohort = CohortItem("c1", dt.date(2026, 11, 5), 20, D("8"))
    invoice = pricing.month_invoice(month([seat_list()], cohorts=[cohort]))
    assert [w.code for w in invoice.warnings] == ["training-unpriced"]
    assert kinds(invoice) == [("seats", "40000.00")]


def test_each_day_is_priced_by_the_version_in_force_that_day() -> None:
    later = seat_list(id="v2", effective_from=dt.date(2026, 11, 16), seat_month_price=D("4500.00"))
    invoice = pricing.month_invoice(month([seat_list(), later]))
    # 15 days × 10 seats at 4,000 and 15 days × 10 seats at 4,500, each ÷ 30 days
    assert kinds(invoice) == [("seats", "20000.00"), ("seats", "22500.00")]
    assert [line.price_list_id for line in invoice.lines] == ["v1", "v2"]


def test_seats_changed_mid_month_and_a_project_going_live_and_closing() -> None:
    changes = [SeatChange(dt.date(2026, 11, 10), 10), SeatChange(dt.date(2026, 11, 20), 16)]
    inputs = month(
        [seat_list()], go_live=dt.date(2026, 11, 10), closed_on=dt.date(2026, 11, 24), seat_changes=changes
    )
    invoice = pricing.month_invoice(inputs)
    # 10 seats 10th–19th (100 seat-days) + 16 seats 20th–24th (80) = 180 seat-days ÷ 30 × 4,000
    assert kinds(invoice) == [("seats", "24000.00")]
    assert invoice.lines[0].quantity == D("6.0000")


def test_a_month_before_any_price_list_is_not_charged_and_said() -> None:
    late = seat_list(effective_from=dt.date(2026, 11, 16))
    invoice = pricing.month_invoice(month([late]))
    assert kinds(invoice) == [("seats", "20000.00")]
    assert [w.code for w in invoice.warnings] == ["days-unpriced"]
    assert "2026-11-01…2026-11-15" in invoice.warnings[0].message


def test_surge_seats_carry_the_premium() -> None:
    surge = SurgeItem("s1", dt.date(2026, 11, 10), dt.date(2026, 11, 12), 3, D("30"))
    invoice = pricing.month_invoice(month([seat_list(surge_premium_rate=D("0.2"))], surges=[surge]))
    # 3 extra seats × 3 days ÷ 30 × 4,000 × 1.2 = 1,440.00
    assert kinds(invoice) == [("seats", "40000.00"), ("surge", "1440.00")]
    assert invoice.lines[1].unit_price == D("4800.00") and invoice.lines[1].sources["surge_id"] == "s1"


def test_on_an_hourly_list_a_surge_charges_the_premium_on_its_days_hours() -> None:
    hours = {dt.date(2026, 11, d): DayTotal(D("80"), 10) for d in range(1, 21)}
    surge = SurgeItem("s1", dt.date(2026, 11, 11), dt.date(2026, 11, 11), 3, D("30"))
    invoice = pricing.month_invoice(
        month([hour_list(surge_premium_rate=D("0.5"))], hours=hours, surges=[surge])
    )
    # 80 h on the 11th × 25.00 × 50%
    assert kinds(invoice) == [("hours", "40000.00"), ("surge", "1000.00")]


def test_the_minimum_charge_tops_up_the_service_fee_not_the_training() -> None:
    terms = seat_list(minimum_charge=D("50000.00"), training_person_hour_price=D("15.00"))
    cohort = CohortItem("c1", dt.date(2026, 11, 5), 20, D("8"))
    invoice = pricing.month_invoice(month([terms], cohorts=[cohort]))
    assert kinds(invoice) == [("seats", "40000.00"), ("minimum", "10000.00"), ("training", "2400.00")]
    assert invoice.subtotal == D("52400.00")


def test_contract_credits_for_upheld_complaints_and_missed_targets() -> None:
    terms = seat_list(complaint_credit=D("200.00"), targets_missed_credit_rate=D("0.1"))
    inputs = month(
        [terms],
        upheld=[("c1", "TS20261105-0001"), ("c2", "TS20261106-0002")],
        kpi=KpiVerdicts(scored=10, missed=("a1", "a2")),
    )
    invoice = pricing.month_invoice(inputs)
    # 2 × 200; 40,000 × 10% × 2/10 missed = 800
    assert kinds(invoice) == [
        ("seats", "40000.00"),
        ("complaint_credit", "-400.00"),
        ("targets_credit", "-800.00"),
    ]
    assert invoice.lines[1].sources["complaints"] == ["TS20261105-0001", "TS20261106-0002"]
    assert invoice.lines[2].sources["agents"] == ["a1", "a2"]
    assert invoice.subtotal == D("38800.00") and invoice.tax == D("2328.00")


def test_credits_without_a_contract_term_are_not_given() -> None:
    inputs = month([seat_list()], upheld=[("c1", "TS20261105-0001")], kpi=KpiVerdicts(10, ("a1",)))
    assert kinds(pricing.month_invoice(inputs)) == [("seats", "40000.00")]


def test_credits_never_take_an_invoice_below_zero() -> None:
    inputs = month(
        [seat_list(complaint_credit=D("30000.00"))],
        upheld=[("c1", "TS1"), ("c2", "TS2")],
    )
    invoice = pricing.month_invoice(inputs)
    assert invoice.subtotal == D("0.00")
    assert [w.code for w in invoice.warnings] == ["credits-capped"]


def test_a_project_not_live_yet_has_nothing_to_charge() -> None:
    invoice = pricing.month_invoice(month([seat_list()], go_live=dt.date(2026, 12, 1)))
    assert invoice.lines == () and [w.code for w in invoice.warnings] == ["empty"]


def test_the_tax_rate_comes_from_the_price_list() -> None:
    invoice = pricing.month_invoice(month([seat_list(tax_rate=D("0.03"))]))
    assert (invoice.tax, invoice.total) == (D("1200.00"), D("41200.00"))


def test_price_list_problems() -> None:
    assert pricing.price_terms_problems(seat_list()) == {}
    missing = pricing.price_terms_problems(seat_list(seat_month_price=None))
    assert list(missing) == ["seat_month_price"]
    other = pricing.price_terms_problems(seat_list(agent_hour_price=D("25.00")))
    assert list(other) == ["agent_hour_price"]
    assert "tax_rate" in pricing.price_terms_problems(seat_list(tax_rate=D("1")))


def test_versions_in_force() -> None:
    first, second = seat_list(), seat_list(id="v2", effective_from=dt.date(2026, 11, 16))
    assert pricing.version_on([first, second], dt.date(2026, 11, 15)) is first
    assert pricing.version_on([first, second], dt.date(2026, 11, 16)) is second
    assert pricing.version_on([second], dt.date(2026, 11, 1)) is None


def test_settlement_credit_notes_and_a_negative_balance() -> None:
    total = D("42400.00")
    assert pricing.settled_status(total, D("0"), D("0")) == pricing.ISSUED
    assert pricing.settled_status(total, D("0"), D("10000.00")) == pricing.PARTLY_PAID
    assert pricing.settled_status(total, D("0"), total) == pricing.PAID
    # a credit note of 1,000.00 + 6% on a paid invoice: the merchant is owed 1,060.00
    subtotal, tax, cn_total = pricing.credit_note_totals([D("1000.00")], D("0.06"))
    assert (subtotal, tax, cn_total) == (D("-1000.00"), D("-60.00"), D("-1060.00"))
    assert pricing.balance_of(total, cn_total, total) == D("-1060.00")
    assert pricing.settled_status(total, cn_total, total) == pricing.PAID
    assert pricing.settled_status(total, -total, D("0")) == pricing.CREDITED
    assert pricing.credit_room(total, cn_total) == D("41340.00")


@pytest.mark.parametrize(
    ("days", "bucket"),
    [(0, "current"), (1, "1_30"), (30, "1_30"), (31, "31_60"), (61, "61_90"), (91, "over_90")],
)
def test_aging_buckets(days: int, bucket: str) -> None:
    assert pricing.aging_bucket(days) == bucket


def test_overdue_days_and_numbers() -> None:
    due = dt.date(2026, 12, 31)
    assert pricing.days_overdue(due, D("1"), dt.date(2026, 12, 31)) == 0
    assert pricing.days_overdue(due, D("1"), dt.date(2027, 1, 5)) == 5
    assert pricing.days_overdue(due, D("0"), dt.date(2027, 1, 5)) == 0
    assert pricing.document_number(pricing.INVOICE, 2026, 1) == "FP2026-00001"
    assert pricing.document_number(pricing.CREDIT_NOTE, 2026, 12) == "HC2026-00012"
    assert pricing.due_date(dt.date(2026, 12, 1), 30) == dt.date(2026, 12, 31)


def test_margin() -> None:
    margin = pricing.Margin(D("40000.00"), D("30000.00"), D("400.00"))
    assert margin.margin == D("9600.00") and margin.margin_rate == D("0.2400")
    assert pricing.Margin(D("0"), D("100"), D("0")).margin_rate is None
    assert (margin + margin).revenue == D("80000.00")


def test_hours_worked_before_go_live_are_charged_seats_only_in_service() -> None:
    """A warm-up before go-live (托管 of a few seats) is work delivered: hours are charged whenever worked;
    seats only count from go-live."""
    hours = {dt.date(2026, 11, 2): DayTotal(D("8"), 1)}
    by_hour = pricing.month_invoice(month([hour_list()], go_live=dt.date(2026, 12, 1), hours=hours))
    assert kinds(by_hour) == [("hours", "200.00")] and by_hour.total == D("212.00")
    late_seats = month([seat_list()], go_live=dt.date(2026, 11, 21), hours=hours)
    assert kinds(pricing.month_invoice(late_seats)) == [("seats", "13333.33")]  # 10 seats × 10 days ÷ 30
