"""Billing's pay rules with the seed's own figures (seed 000 §10.3–10.4): 20 CNY/hour, 4,000/month,
4,000 + 1% of sales, 5% of sales; deductions, proration and half-up rounding per line."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.billing import domain
from services.billing.domain import (
    AdjustmentItem,
    Conditions,
    DeductionItem,
    Kpi,
    Membership,
    Period,
    PeriodInputs,
    PlanTerms,
    PlanVersion,
    ServiceStats,
)
from services.billing.exports import PAYROLL_COLUMNS, ExportRow, parse_performance_csv, payroll_rows
from services.billing.schemas import PayPlanIn, PerformanceIn
from shared.tabular import to_csv

NOV = Period(2026, 11)  # 30 days
D = Decimal

HOURLY = PlanTerms("hourly", hourly_rate=D("20.00"))
MONTHLY = PlanTerms("monthly", monthly_base=D("4000.00"))
BASE_COMMISSION = PlanTerms(
    "base_commission",
    monthly_base=D("4000.00"),
    commission_rate=D("0.01"),
    conditions=Conditions(max_avg_response_seconds=D("30"), min_response_rate=D("0.95")),
    base_factor_when_unmet=D("0.5"),
)
COMMISSION = PlanTerms("commission", commission_rate=D("0.05"))


def stats(consultations: int, avg_seconds: str, rate: str) -> ServiceStats:
    return ServiceStats.from_days([(consultations, D(avg_seconds), D(rate))])


def amounts(lines: list[domain.Line]) -> list[tuple[str, str]]:
    return [(line.kind, str(line.amount)) for line in lines]


# --- the seed's figures ---------------------------------------------------------------------------------


def test_hourly_160_hours_at_20_is_3200() -> None:
    lines = domain.compute_lines(HOURLY, NOV, PeriodInputs(hours=D("160")))
    assert amounts(lines) == [("hours", "3200.00")]
    assert lines[0].explanation == "160 h × 20.00 CNY/h"
    assert domain.total_of(lines) == D("3200.00")


def test_monthly_4000_for_a_full_month() -> None:
    lines = domain.compute_lines(MONTHLY, NOV, PeriodInputs(membership=Membership(dt.date(2026, 3, 1))))
    assert amounts(lines) == [("base", "4000.00")]
    assert lines[0].explanation == "monthly base 4,000.00"


def test_base_commission_met_is_4000_plus_1_percent_of_100000_equals_5000() -> None:
    inputs = PeriodInputs(sales=D("100000.00"), performance_days=20, stats=stats(3000, "25", "0.98"))
    lines = domain.compute_lines(BASE_COMMISSION, NOV, inputs)
    assert amounts(lines) == [("base", "4000.00"), ("commission", "1000.00")]
    assert domain.total_of(lines) == D("5000.00")
    assert lines[0].explanation.startswith(
        "base in full: average response 25 s ≤ 30 s, response rate 98% ≥ 95%"
    )
    assert lines[1].explanation == "1% of sales 100,000.00"


def test_base_commission_slow_response_pays_the_base_at_the_unmet_factor() -> None:
    inputs = PeriodInputs(sales=D("100000.00"), performance_days=20, stats=stats(3000, "41", "0.98"))
    lines = domain.compute_lines(BASE_COMMISSION, NOV, inputs)
    assert amounts(lines) == [("base", "2000.00"), ("commission", "1000.00")]
    assert lines[0].explanation.startswith("base at 50%: average response 41 s > 30 s")


def test_base_commission_low_response_rate_also_misses_the_target() -> None:
    inputs = PeriodInputs(sales=D("0"), performance_days=1, stats=stats(100, "20", "0.90"))
    lines = domain.compute_lines(BASE_COMMISSION, NOV, inputs)
    assert lines[0].amount == D("2000.00")
    assert lines[0].explanation.startswith("base at 50%: response rate 90% < 95%")


def test_base_commission_with_2_percent_and_no_conditions_pays_the_base() -> None:
    terms = PlanTerms("base_commission", monthly_base=D("4000.00"), commission_rate=D("0.02"))
    lines = domain.compute_lines(terms, NOV, PeriodInputs(sales=D("50000.00"), performance_days=1))
    assert amounts(lines) == [("base", "4000.00"), ("commission", "1000.00")]


def test_targets_without_service_data_are_not_met() -> None:
    lines = domain.compute_lines(
        BASE_COMMISSION, NOV, PeriodInputs(membership=Membership(dt.date(2026, 1, 1)))
    )
    assert lines[0].amount == D("2000.00")
    assert "no service data" in lines[0].explanation


def test_average_response_is_weighted_by_consultations() -> None:
    # 900 consultations at 20 s and 100 at 120 s: 30 s on average (a plain mean of the days would be 70 s)
    weighted = ServiceStats.from_days([(900, D("20"), D("1")), (100, D("120"), D("0.5"))])
    assert weighted.avg_response_seconds == D("30")
    assert weighted.response_rate == D("0.95")
    met, _ = domain.targets_verdict(BASE_COMMISSION.conditions, weighted)  # type: ignore[arg-type]
    assert met is True


# --- a base judged on quality: the KPI from the quality service (kpi.scored) -----------------------------

#: 纯底薪, "judged on service quality": the base in full when the month's KPI is at least 80
MONTHLY_ON_KPI = PlanTerms(
    "monthly",
    monthly_base=D("4000.00"),
    conditions=Conditions(min_kpi_score=D("80")),
    base_factor_when_unmet=D("0.8"),
)
#: 底薪+提成 with the order's targets judged by quality instead of hand-sent service data
BASE_COMMISSION_ON_KPI = PlanTerms(
    "base_commission",
    monthly_base=D("4000.00"),
    commission_rate=D("0.01"),
    conditions=Conditions(kpi_targets_met=True),
    base_factor_when_unmet=D("0.5"),
)
MEMBER = Membership(dt.date(2026, 1, 1))


def test_a_kpi_of_81_5_meets_a_minimum_of_80_and_pays_the_monthly_base_in_full() -> None:
    # the seed's KPI: 0.65·80 + 0.25·90 + 0.10·70 = 81.5
    lines = domain.compute_lines(
        MONTHLY_ON_KPI, NOV, PeriodInputs(kpi=Kpi(D("81.5"), False), membership=MEMBER)
    )
    assert amounts(lines) == [("base", "4000.00")]
    assert lines[0].explanation == "base in full: KPI 81.5 ≥ 80; monthly base 4,000.00"


def test_a_kpi_below_the_minimum_pays_the_base_at_the_unmet_factor() -> None:
    lines = domain.compute_lines(
        MONTHLY_ON_KPI, NOV, PeriodInputs(kpi=Kpi(D("79.99"), True), membership=MEMBER)
    )
    assert amounts(lines) == [("base", "3200.00")]
    assert lines[0].explanation == "base at 80%: KPI 79.99 < 80; monthly base 4,000.00"


def test_without_a_kpi_from_quality_the_condition_is_not_met() -> None:
    lines = domain.compute_lines(MONTHLY_ON_KPI, NOV, PeriodInputs(membership=MEMBER))
    assert lines[0].amount == D("3200.00")
    assert "no KPI from quality for the period" in lines[0].explanation


def test_base_commission_on_the_order_targets_judged_by_quality() -> None:
    met = PeriodInputs(sales=D("100000.00"), performance_days=20, kpi=Kpi(D("70"), True))
    assert amounts(domain.compute_lines(BASE_COMMISSION_ON_KPI, NOV, met)) == [
        ("base", "4000.00"),
        ("commission", "1000.00"),
    ]
    missed = PeriodInputs(sales=D("100000.00"), performance_days=20, kpi=Kpi(D("95"), False))
    lines = domain.compute_lines(BASE_COMMISSION_ON_KPI, NOV, missed)
    assert amounts(lines) == [("base", "2000.00"), ("commission", "1000.00")]
    assert lines[0].explanation.startswith("base at 50%: the order's service targets missed (quality)")


def test_service_data_and_kpi_conditions_must_all_hold() -> None:
    both = PlanTerms(
        "base_commission",
        monthly_base=D("4000.00"),
        commission_rate=D("0.01"),
        conditions=Conditions(max_avg_response_seconds=D("30"), min_kpi_score=D("80")),
        base_factor_when_unmet=D("0.5"),
    )
    fast = stats(3000, "25", "0.98")
    ok = domain.compute_lines(both, NOV, PeriodInputs(performance_days=1, stats=fast, kpi=Kpi(D("85"), True)))
    assert ok[0].amount == D("4000.00")
    assert ok[0].explanation.startswith("base in full: average response 25 s ≤ 30 s; KPI 85 ≥ 80")
    low = domain.compute_lines(
        both, NOV, PeriodInputs(performance_days=1, stats=fast, kpi=Kpi(D("60"), True))
    )
    assert low[0].amount == D("2000.00")
    assert low[0].explanation.startswith("base at 50%: KPI 60 < 80;")


def test_kpi_conditions_are_valid_on_monthly_and_base_commission_plans_only() -> None:
    assert domain.plan_problems(MONTHLY_ON_KPI) == {}
    assert domain.plan_problems(BASE_COMMISSION_ON_KPI) == {}
    hourly = PlanTerms("hourly", hourly_rate=D("20"), conditions=Conditions(min_kpi_score=D("80")))
    assert "not used" in domain.plan_problems(hourly)["conditions"][0]
    no_factor = PlanTerms("monthly", monthly_base=D("4000"), conditions=Conditions(kpi_targets_met=True))
    assert (
        "required when conditions are given" in domain.plan_problems(no_factor)["base_factor_when_unmet"][0]
    )
    empty = PlanTerms(
        "monthly", monthly_base=D("4000"), conditions=Conditions(), base_factor_when_unmet=D("0.5")
    )
    assert "min_kpi_score" in domain.plan_problems(empty)["conditions"][0]
    errors = PayPlanIn().validate(
        {
            "project_id": "p",
            "type": "monthly",
            "monthly_base": "4000",
            "conditions": {"min_kpi_score": "101"},
            "base_factor_when_unmet": "0.5",
        }
    )
    assert "conditions" in errors


def test_commission_5_percent_of_100000_is_5000() -> None:
    lines = domain.compute_lines(COMMISSION, NOV, PeriodInputs(sales=D("100000.00"), performance_days=30))
    assert amounts(lines) == [("commission", "5000.00")]
    assert lines[0].explanation == "5% of sales 100,000.00"


def test_a_penalty_of_200_is_deducted() -> None:
    inputs = PeriodInputs(hours=D("160"), deductions=[DeductionItem("c1", "TS20261105-0001", D("200.00"))])
    lines = domain.compute_lines(HOURLY, NOV, inputs)
    assert amounts(lines) == [("hours", "3200.00"), ("deduction", "-200.00")]
    assert lines[1].explanation == "penalty for upheld complaint TS20261105-0001"
    assert lines[1].ref == "c1"
    assert domain.total_of(lines) == D("3000.00")


def test_manual_adjustments_carry_their_reason() -> None:
    inputs = PeriodInputs(hours=D("10"), adjustments=[AdjustmentItem("a1", D("-50.00"), "headset lost")])
    lines = domain.compute_lines(HOURLY, NOV, inputs)
    assert amounts(lines) == [("hours", "200.00"), ("adjustment", "-50.00")]
    assert lines[1].explanation == "adjustment by finance: headset lost"


# --- proration and rounding -----------------------------------------------------------------------------


def test_monthly_base_prorated_for_a_mid_month_join() -> None:
    inputs = PeriodInputs(membership=Membership(joined_on=dt.date(2026, 11, 16)))
    lines = domain.compute_lines(MONTHLY, NOV, inputs)
    assert amounts(lines) == [("base", "2000.00")]  # 15 of 30 days, the join day counted
    assert lines[0].explanation == "monthly base 4,000.00 × 15/30 days in the project (joined 2026-11-16)"


def test_monthly_base_prorated_for_a_departure_counting_the_last_day() -> None:
    inputs = PeriodInputs(membership=Membership(dt.date(2026, 1, 5), left_on=dt.date(2026, 11, 10)))
    assert domain.compute_lines(MONTHLY, NOV, inputs)[0].amount == D("1333.33")  # 4000 × 10/30


def test_a_third_rounds_half_up_per_line() -> None:
    # 4000 × 10/30 = 1333.333… → 1333.33; 4000 × 20/30 = 2666.666… → 2666.67
    third = PeriodInputs(membership=Membership(dt.date(2026, 11, 21)))
    two_thirds = PeriodInputs(membership=Membership(dt.date(2026, 11, 11)))
    assert domain.compute_lines(MONTHLY, NOV, third)[0].amount == D("1333.33")
    assert domain.compute_lines(MONTHLY, NOV, two_thirds)[0].amount == D("2666.67")
    # 1/3 hour at 20: 6.666… → 6.67; 0.125 h × 20 = 2.50; 1% of 0.50 = 0.005 → 0.01 (half-up, not banker's)
    assert domain.compute_lines(HOURLY, NOV, PeriodInputs(hours=D(1) / D(3)))[0].amount == D("6.67")
    assert domain.compute_lines(COMMISSION, NOV, PeriodInputs(sales=D("0.10")))[0].amount == D("0.01")
    half = PlanTerms("commission", commission_rate=D("0.01"))
    assert domain.compute_lines(half, NOV, PeriodInputs(sales=D("0.50")))[0].amount == D("0.01")


def test_payslip_total_is_the_sum_of_rounded_lines() -> None:
    inputs = PeriodInputs(
        sales=D("33333.33"),
        performance_days=1,
        stats=stats(10, "10", "1"),
        membership=Membership(dt.date(2026, 11, 21)),
        deductions=[DeductionItem("c", "TS20261101-0001", D("0.01"))],
    )
    lines = domain.compute_lines(BASE_COMMISSION, NOV, inputs)
    assert amounts(lines) == [("base", "1333.33"), ("commission", "333.33"), ("deduction", "-0.01")]
    assert domain.total_of(lines) == D("1666.65")


def test_days_in_project() -> None:
    assert domain.days_in_project(NOV, None) == 30
    assert domain.days_in_project(NOV, Membership(dt.date(2026, 12, 1))) == 0
    assert domain.days_in_project(NOV, Membership(dt.date(2026, 1, 1), dt.date(2026, 10, 31))) == 0
    assert domain.days_in_project(NOV, Membership(dt.date(2026, 11, 30))) == 1
    assert domain.days_in_project(Period(2026, 2), Membership(None, dt.date(2026, 2, 14))) == 14


def test_activity_decides_who_gets_a_payslip() -> None:
    assert not domain.has_activity("hourly", NOV, PeriodInputs(membership=Membership(dt.date(2026, 1, 1))))
    assert domain.has_activity("monthly", NOV, PeriodInputs(membership=Membership(dt.date(2026, 1, 1))))
    assert not domain.has_activity("monthly", NOV, PeriodInputs(membership=Membership(dt.date(2026, 12, 1))))
    assert domain.has_activity("commission", NOV, PeriodInputs(performance_days=1))


# --- late data, plans, periods --------------------------------------------------------------------------


def test_late_data_becomes_an_adjustment_naming_its_period() -> None:
    line = domain.late_adjustment(Period(2026, 10), D("3360.00"), D("3200.00"))
    assert line is not None
    assert (line.kind, line.amount, line.origin_period) == ("adjustment", D("160.00"), "2026-10")
    assert line.explanation.startswith("late data for 2026-10:")
    assert domain.late_adjustment(Period(2026, 10), D("3200.00"), D("3200.00")) is None
    negative = domain.late_adjustment(Period(2026, 10), D("3000.00"), D("3200.00"))
    assert negative is not None and negative.amount == D("-200.00")


def test_resolve_plan_prefers_the_agents_override_and_the_latest_in_force() -> None:
    plans = [
        PlanVersion("default-old", "p", None, dt.date(2026, 1, 1)),
        PlanVersion("default-new", "p", None, dt.date(2026, 11, 20)),
        PlanVersion("override", "p", "a1", dt.date(2026, 6, 1)),
        PlanVersion("future", "p", None, dt.date(2026, 12, 1)),
    ]
    assert domain.resolve_plan(plans, "a2", NOV).id == "default-new"  # type: ignore[union-attr]
    assert domain.resolve_plan(plans, "a2", Period(2026, 10)).id == "default-old"  # type: ignore[union-attr]
    assert domain.resolve_plan(plans, "a1", NOV).id == "override"  # type: ignore[union-attr]
    assert domain.resolve_plan(plans, "a1", Period(2026, 5)).id == "default-old"  # type: ignore[union-attr]
    assert domain.resolve_plan(plans, "a1", Period(2025, 12)) is None


@pytest.mark.parametrize(
    ("terms", "field", "message"),
    [
        (PlanTerms("hourly"), "hourly_rate", "required for a hourly plan"),
        (
            PlanTerms("monthly", monthly_base=D("4000"), commission_rate=D("0.01")),
            "commission_rate",
            "not used",
        ),
        (PlanTerms("commission"), "commission_rate", "required"),
        (
            PlanTerms(
                "base_commission",
                monthly_base=D("4000"),
                commission_rate=D("0.01"),
                conditions=Conditions(D("30"), None),
            ),
            "base_factor_when_unmet",
            "required when conditions are given",
        ),
        (
            PlanTerms(
                "base_commission",
                monthly_base=D("4000"),
                commission_rate=D("0.01"),
                base_factor_when_unmet=D("0.5"),
            ),
            "base_factor_when_unmet",
            "only applies together with conditions",
        ),
        (PlanTerms("hourly", hourly_rate=D("0")), "hourly_rate", "more than 0"),
        (PlanTerms("piecework"), "type", "unknown plan type"),
    ],
)
def test_plan_problems(terms: PlanTerms, field: str, message: str) -> None:
    problems = domain.plan_problems(terms)
    assert field in problems
    assert any(message in m for m in problems[field])


def test_valid_plans_have_no_problems() -> None:
    for terms in (HOURLY, MONTHLY, BASE_COMMISSION, COMMISSION):
        assert domain.plan_problems(terms) == {}


def test_plan_schema_refuses_floats_rates_over_100_percent_and_unknown_types() -> None:
    errors = PayPlanIn().validate(
        {"project_id": "p", "type": "base_commission", "monthly_base": 4000.0, "commission_rate": "1.5"}
    )
    assert "not a float" in errors["monthly_base"][0]
    assert "at most 1" in errors["commission_rate"][0]
    assert "unknown plan type" in PayPlanIn().validate({"project_id": "p", "type": "piecework"})["type"][0]
    negative = PayPlanIn().validate({"project_id": "p", "type": "hourly", "hourly_rate": "-20.00"})
    assert "must not be negative" in negative["hourly_rate"][0]


def test_periods() -> None:
    assert str(Period.parse("2026-11")) == "2026-11"
    assert Period.parse("2026-12").next() == Period(2027, 1)
    assert Period(2028, 2).days == 29
    today = dt.date(2026, 11, 27)
    assert domain.period_problem("2026-11", today) is None
    assert "in the future" in (domain.period_problem("2026-12", today) or "")
    for bad in ("2026-13", "2026-1", "11/2026", "2026-11-01", ""):
        assert "YYYY-MM" in (domain.period_problem(bad, today) or "")


# --- CSV in and out -------------------------------------------------------------------------------------


def test_csv_import_reports_every_bad_line() -> None:
    raw = (
        b"project_id,agent_id,date,sales_amount,avg_response_seconds,response_rate,consultations\n"
        b"p,a1,2026-11-02,3500.00,25,0.98,120\n"
        b"p,a2,2026-11-02,abc,25,1.5,12\n"
        b"p,a3,2026-11-31,1.00,25,0.9,x\n"
    )
    parsed = parse_performance_csv(raw, PerformanceIn(), max_rows=100)
    assert parsed.labels == ["line 2"]
    assert parsed.items[0]["sales_amount"] == D("3500.00")
    assert set(parsed.errors) == {
        "line 3.sales_amount",
        "line 3.response_rate",
        "line 4.date",
        "line 4.consultations",
    }


def test_csv_import_accepts_excel_bom_and_gb18030() -> None:
    text = "project_id,agent_id,date,sales_amount,avg_response_seconds,response_rate,consultations\n"
    text += "项目,a1,2026-11-02,1.00,25,0.98,1\n"
    for raw in (("\ufeff" + text).encode("utf-8"), text.encode("gb18030")):
        parsed = parse_performance_csv(raw, PerformanceIn(), max_rows=10)
        assert parsed.errors == {}
        assert parsed.items[0]["project_id"] == "项目"


def test_export_csv_has_a_bom_and_one_row_per_payslip_with_every_kind() -> None:
    rows = [
        ExportRow(
            "a1",
            "=张三",
            "p",
            "hourly",
            D("3000.00"),
            [
                {"kind": "hours", "amount": D("3200.00"), "explanation": "160 h × 20.00 CNY/h"},
                {"kind": "deduction", "amount": D("-200.00"), "explanation": "penalty"},
            ],
        )
    ]
    body = to_csv(PAYROLL_COLUMNS, payroll_rows("r1", "2026-11", "approved", rows), lang="en")
    assert body.startswith("\ufeff".encode())
    header, row, *_ = body.decode("utf-8-sig").split("\r\n")
    assert header.split(",")[7:13] == [
        "base_pay",
        "hourly_pay",
        "commission_pay",
        "deductions",
        "adjustments",
        "total",
    ]
    cells = row.split(",")
    assert cells[5] == "'=张三"  # no formula injection in Excel
    assert cells[7:13] == ["0.00", "3200.00", "0.00", "-200.00", "0.00", "3000.00"]
