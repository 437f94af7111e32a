"""Net pay never goes below zero: deductions beyond a period's pay are carried to the next period, shown on
both payslips; and the warnings a run lists for the clerk who approves it. Seed 000 §10.3's figures."""

from __future__ import annotations

from decimal import Decimal

from services.billing import domain
from services.billing.domain import (
    CARRY_REF,
    HOURLY,
    CarriedIn,
    DeductionItem,
    Line,
    Period,
    PeriodInputs,
    PlanTerms,
    SlipSummary,
    carried_in,
    carried_out,
    compute_lines,
    floor_deductions,
    run_warnings,
    total_of,
)

NOV = Period(2026, 11)
HOURLY_20 = PlanTerms(type=HOURLY, hourly_rate=Decimal("20.00"))


def _kinds(lines: list[Line]) -> list[tuple[str, str, str | None]]:
    return [(line.kind, str(line.amount), line.ref) for line in lines]


def test_an_8_hour_day_at_20_less_a_200_penalty_nets_zero_and_carries_40() -> None:
    inputs = PeriodInputs(
        hours=Decimal("8"), deductions=[DeductionItem("c-1", "TS20261120-0001", Decimal("200"))]
    )
    raw = compute_lines(HOURLY_20, NOV, inputs)
    assert total_of(raw) == Decimal("-40.00")  # what used to be approved silently

    lines = floor_deductions(raw, NOV)
    assert _kinds(lines) == [
        ("hours", "160.00", None),
        ("deduction", "-200.00", "c-1"),
        ("deduction", "40.00", CARRY_REF),
    ]
    assert total_of(lines) == Decimal("0.00")
    assert carried_out(lines) == Decimal("40.00")
    assert (
        lines[-1].explanation == "40.00 of the deductions carried to 2026-12: net pay never goes below zero"
    )
    assert lines[-1].origin_period == "2026-11"


def test_the_next_period_takes_the_carried_deduction_after_its_earnings() -> None:
    dec = Period(2026, 12)
    raw = compute_lines(HOURLY_20, dec, PeriodInputs(hours=Decimal("8")))
    lines = floor_deductions(raw, dec, CarriedIn(Decimal("40.00"), "2026-11"))
    assert _kinds(lines) == [("hours", "160.00", None), ("deduction", "-40.00", CARRY_REF)]
    assert lines[1].explanation == "deductions carried from 2026-11: 40.00 still owed"
    assert lines[1].origin_period == "2026-11"
    assert total_of(lines) == Decimal("120.00")
    assert (carried_in(lines), carried_out(lines)) == (Decimal("40.00"), Decimal("0"))


def test_what_the_next_period_cannot_bear_either_is_carried_again() -> None:
    dec = Period(2026, 12)
    raw = compute_lines(HOURLY_20, dec, PeriodInputs(hours=Decimal("0.5")))
    lines = floor_deductions(raw, dec, CarriedIn(Decimal("40.00"), "2026-11"))
    assert _kinds(lines) == [
        ("hours", "10.00", None),
        ("deduction", "-40.00", CARRY_REF),
        ("deduction", "30.00", CARRY_REF),
    ]
    assert total_of(lines) == Decimal("0.00")
    assert lines[-1].explanation.startswith("30.00 of the deductions carried to 2027-01")


def test_only_deductions_are_carried_not_a_negative_adjustment() -> None:
    adjustment_only = [
        Line("hours", Decimal("100.00"), "5 h × 20.00 CNY/h", "2026-11"),
        Line("adjustment", Decimal("-150.00"), "adjustment by finance: headset", "2026-11", "a-1"),
    ]
    assert floor_deductions(adjustment_only, NOV) == adjustment_only  # −50.00 stays, and is warned about

    both = [
        *adjustment_only[:1],
        Line("deduction", Decimal("-50.00"), "penalty", "2026-11", "c-1"),
        adjustment_only[1],
    ]
    lines = floor_deductions(both, NOV)
    # 100 − 50 − 150 = −100: the penalty is carried in full, the adjustment's −50 remains
    assert lines[-1] == Line(
        "deduction",
        Decimal("50.00"),
        "50.00 of the deductions carried to 2026-12: net pay never goes below zero",
        "2026-11",
        CARRY_REF,
    )
    assert total_of(lines) == Decimal("-50.00")


def test_a_payslip_that_covers_its_deductions_is_left_alone() -> None:
    inputs = PeriodInputs(hours=Decimal("160"), deductions=[DeductionItem("c-1", "TS-1", Decimal("200"))])
    raw = compute_lines(HOURLY_20, NOV, inputs)
    assert floor_deductions(raw, NOV) == raw
    assert total_of(raw) == Decimal("3000.00")


def test_the_run_warns_about_everything_unusual() -> None:
    carried = floor_deductions(
        compute_lines(
            HOURLY_20,
            NOV,
            PeriodInputs(hours=Decimal("8"), deductions=[DeductionItem("c-1", "TS-1", Decimal("200"))]),
        ),
        NOV,
    )
    taking = floor_deductions(
        [
            Line("hours", Decimal("3200.00"), "160 h", "2026-11"),
            Line("adjustment", Decimal("160.00"), "late data for 2026-10", "2026-10"),
        ],
        NOV,
        CarriedIn(Decimal("25.00"), "2026-10"),
    )
    negative = [
        Line("base", Decimal("100.00"), "base", "2026-11"),
        Line("adjustment", Decimal("-150.00"), "adjustment", "2026-11", "a-1"),
    ]
    penalty_only = floor_deductions([Line("deduction", Decimal("-50.00"), "penalty", "2026-11", "c-2")], NOV)
    slips = [
        SlipSummary("a1", "p", "张三", HOURLY, total_of(carried), carried, Decimal("8")),
        SlipSummary("a2", "p", None, HOURLY, total_of(taking), taking, Decimal("160")),
        SlipSummary("a3", "p", "王五", "monthly", total_of(negative), negative),
        SlipSummary("a4", "p", "赵六", HOURLY, total_of(penalty_only), penalty_only, Decimal("0")),
    ]
    warnings = run_warnings(
        NOV,
        slips,
        without_plan=[("a5", "p")],
        idle=[("a6", "p", "孙七", HOURLY)],
        outstanding=[("a7", "p", Decimal("12.50"))],
    )
    found = [(w.code, w.agent_id, str(w.amount) if w.amount is not None else None) for w in warnings]
    assert found == [
        ("zero-net", "a1", "0.00"),
        ("deductions-carried", "a1", "40.00"),
        ("carried-deductions-applied", "a2", "25.00"),
        ("late-data", "a2", "160.00"),
        ("negative-net", "a3", "-50.00"),
        ("zero-net", "a4", "0.00"),
        ("deductions-carried", "a4", "50.00"),
        ("no-hours", "a4", None),
        ("idle-agent", "a6", None),
        ("without-plan", "a5", None),
        ("carry-outstanding", "a7", "12.50"),
    ]
    assert {w.code for w in warnings} <= set(domain.WARNING_CODES)
    first = warnings[1].as_dict()
    assert first == {
        "code": "deductions-carried",
        "message": "张三 (a1) in project p: 40.00 of deductions exceed the pay of 2026-11 and are carried to "
        "2026-12",
        "agent_id": "a1",
        "project_id": "p",
        "amount": "40.00",
    }


def test_an_ordinary_run_has_no_warnings() -> None:
    lines = compute_lines(HOURLY_20, NOV, PeriodInputs(hours=Decimal("160")))
    slip = SlipSummary("a1", "p", "张三", HOURLY, total_of(lines), lines, Decimal("160"))
    assert run_warnings(NOV, [slip]) == []
