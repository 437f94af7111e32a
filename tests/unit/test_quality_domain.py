"""The quality rules with the seed's numbers: KPI 65/25/10, the gold-team mark at 95%, the data scaling,
scorecards and the weekly stratified sample."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.quality import domain
from services.quality.domain import AgentDay, Targets, Weights
from services.quality.weekly import last_full_week, month_of_week

D = Decimal


def test_kpi_weighs_data_65_performance_25_execution_10() -> None:
    # the example: 0.65·80 + 0.25·90 + 0.10·70 = 81.5
    kpi = domain.kpi_score(D(80), D(90), D(70), Weights())
    assert kpi.score == D("81.50")
    assert kpi.missing == ()


def test_kpi_weights_are_settings_and_must_add_up_to_100() -> None:
    assert domain.kpi_score(D(80), D(90), D(70), Weights(D(50), D(30), D(20))).score == D("81.00")
    with pytest.raises(ValueError, match="add up to 100"):
        Weights(D(65), D(25), D(20))
    with pytest.raises(ValueError, match="non-negative"):
        Weights(D(110), D(0), D(-10))


def test_a_missing_part_gives_its_weight_to_the_others_and_is_named() -> None:
    kpi = domain.kpi_score(D(80), None, D(70), Weights())
    # (65·80 + 10·70) / 75
    assert kpi.score == D("78.67")
    assert kpi.missing == ("performance",)
    with pytest.raises(ValueError, match="nothing to score"):
        domain.kpi_score(None, None, None, Weights())


def test_gold_team_at_95_percent_satisfaction_not_at_94_9() -> None:
    def month(satisfied: int, total: int) -> domain.StoreFigures:
        day = AgentDay(
            dt.date(2026, 11, 1), 100, 50, 20, None, None, D(0), (satisfied, 0, total - satisfied, 0, 0)
        )
        return domain.store_figures(domain.summarise([day]))

    assert month(950, 1000).gold_team is True
    assert month(950, 1000).satisfaction_rate == D("95.00")
    assert month(949, 1000).gold_team is False
    assert month(949, 1000).satisfaction_rate == D("94.90")
    # 94.996% would round to 95.00 for display but is not 95%
    assert month(94996, 100000).satisfaction_rate == D("95.00")
    assert month(94996, 100000).gold_team is False
    assert month(0, 0).gold_team is False


def test_store_rates_quality_refunds_per_order_and_help_per_reception() -> None:
    days = [
        AgentDay(dt.date(2026, 11, 1), 200, 100, 40, None, None, D(4000), quality_refunds=2, help_requests=3),
        AgentDay(dt.date(2026, 11, 2), 100, 50, 10, None, None, D(1000), quality_refunds=1, help_requests=0),
    ]
    figures = domain.store_figures(domain.summarise(days))
    assert figures.quality_refund_rate == D("6.00")  # 3 of 50 orders
    assert figures.help_rate == D("1.00")  # 3 of 300 receptions


def test_scaling_more_is_better_and_less_is_better() -> None:
    assert domain.score_higher_better(D(30), D(30)) == D(100)
    assert domain.score_higher_better(D(45), D(30)) == D(100)  # capped: over-achievement does not buy
    assert domain.score_higher_better(D(15), D(30)) == D("50.00")
    assert domain.score_lower_better(D(20), D(30)) == D(100)
    assert domain.score_lower_better(D(60), D(30)) == D("50.00")
    assert domain.score_lower_better(D(40), D(30)) == D("75.00")


def test_data_indicators_against_the_orders_targets() -> None:
    # the order: 1,000 consultations a day over 10 seats, 30% conversion, 200 yuan a order, 25 s average
    targets = Targets(avg_response_seconds=D(25), conversion_rate=D(30), avg_order_value=D(200),
                      daily_consultations=1000, seats=10)  # fmt: skip
    assert targets.receptions_per_agent_day == D(100)
    assert targets.sales_per_agent_day == D(6000)
    days = [
        AgentDay(dt.date(2026, 11, d), 80, 60, 15, D(10), D(50), D(3000)) for d in (1, 2)
    ]  # 80 receptions, 25% conversion, 50 s, 3,000 yuan a day
    scores = {i.name: i for i in domain.data_indicators(domain.summarise(days), targets)}
    assert scores["conversion"].actual == D("25.00")
    assert scores["conversion"].score == D("83.33")
    assert scores["avg_response"].score == D("50.00")
    assert scores["receptions"].score == D("80.00")
    assert scores["sales"].score == D("50.00")
    assert domain.data_score(list(scores.values())) == D("65.83")


def test_an_indicator_without_a_target_is_left_out_of_the_data_part() -> None:
    days = [AgentDay(dt.date(2026, 11, 1), 80, 60, 15, D(10), D(20), D(3000))]
    indicators = domain.data_indicators(domain.summarise(days), Targets(avg_response_seconds=D(25)))
    assert [i.name for i in indicators if i.score is not None] == ["avg_response"]
    assert domain.data_score(indicators) == D(100)
    assert domain.data_score(domain.data_indicators(domain.summarise(days), Targets())) is None


def test_targets_verdict_names_each_target_met_or_not() -> None:
    days = [AgentDay(dt.date(2026, 11, 1), 100, 50, 20, D(12), D(28), D(4000), (90, 5, 5, 0, 0))]
    verdict = domain.targets_verdict(
        domain.summarise(days),
        Targets(first_response_seconds=D(15), avg_response_seconds=D(25), conversion_rate=D(35),
                avg_order_value=D(180), satisfaction_rate=D(95)),
    )  # fmt: skip
    assert verdict == {
        "first_response_seconds": True,
        "avg_response_seconds": False,
        "conversion_rate": True,  # 40%
        "avg_order_value": True,  # 200
        "satisfaction_rate": True,  # 95%
    }


def test_response_times_are_weighted_by_receptions() -> None:
    days = [
        AgentDay(dt.date(2026, 11, 1), 300, 0, 0, None, D(20), D(0)),
        AgentDay(dt.date(2026, 11, 2), 100, 0, 0, None, D(60), D(0)),
    ]
    assert domain.summarise(days).avg_response_seconds == D("30.00")


def test_the_vendor_scorecard_is_100_points_over_the_six_steps_and_the_other_sections() -> None:
    assert sum(i.points for i in domain.VENDOR_SCORECARD) == 100
    flow = [i.label[0] for i in domain.VENDOR_SCORECARD if i.section == "service_flow"]
    assert flow == ["迎", "察", "问", "说", "应", "收"]
    assert {i.section for i in domain.VENDOR_SCORECARD} == set(domain.SECTIONS)
    assert {i.area for i in domain.VENDOR_SCORECARD} == set(domain.AREAS)


def test_a_review_is_scored_per_area_and_refuses_missing_or_out_of_range_points() -> None:
    items = domain.VENDOR_SCORECARD
    full = {i.key: i.points for i in items}
    assert domain.score_review(items, full).percent == D(100)
    half_tone = {**full, "greet": 4, "standard_scripts": 4, "tone": 3}
    scored = domain.score_review(items, half_tone)
    assert scored.total == 89
    assert scored.areas["tone"] == D("50.00")
    assert scored.areas["chat_quality"] == D(100)
    with pytest.raises(ValueError) as refused:
        domain.score_review(items, {**{k: v for k, v in full.items() if k != "close"}, "greet": 9, "x": 1})
    message = str(refused.value)
    assert "x: not an item" in message and "close: not scored" in message and "greet: 9 is outside" in message


def test_scorecard_errors() -> None:
    assert domain.scorecard_errors([]) == ["a scorecard needs at least one item"]
    problems = domain.scorecard_errors(
        [{"key": "a", "section": "service_flow", "area": "tone"}, {"key": "a", "section": "x", "area": "y"}]
    )
    assert len(problems) == 3


def test_kpi_streak_below_the_threshold() -> None:
    scores = [("2026-08", D(55)), ("2026-09", D(75)), ("2026-10", D(58)), ("2026-11", D(59))]
    assert domain.below_threshold_streak(scores, D(60)) == 2
    assert domain.below_threshold_streak(scores[:2], D(60)) == 0


def test_periods_and_weeks() -> None:
    assert domain.period_bounds("2026-02") == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert domain.period_bounds("2026-12") == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert domain.week_bounds("2026-W48") == (dt.date(2026, 11, 23), dt.date(2026, 11, 29))
    assert domain.week_of(dt.date(2026, 11, 29)) == "2026-W48"
    for bad in ("2026-13", "26-01", "2026-1"):
        with pytest.raises(ValueError):
            domain.period_bounds(bad)
    assert domain.week_bounds("2026-W53")[0] == dt.date(2026, 12, 28)  # 2026 has 53 ISO weeks
    with pytest.raises(ValueError, match="has no week 53"):
        domain.week_bounds("2025-W53")


def test_stratified_sample_is_proportional_covers_rare_outcomes_and_is_reproducible() -> None:
    strata = {"ordered": [f"o{i}" for i in range(60)], "lost": [f"l{i}" for i in range(30)],
              "none": [f"n{i}" for i in range(10)]}  # fmt: skip
    sample = domain.stratified_sample(strata, 10, "p1/2026-W48/a1")
    assert len(sample) == 10 and len(set(sample)) == 10
    counts = {name: sum(1 for s in sample if s[0] == name[0]) for name in strata}
    assert counts == {"ordered": 6, "lost": 3, "none": 1}
    assert sample == domain.stratified_sample(strata, 10, "p1/2026-W48/a1")
    assert sample != domain.stratified_sample(strata, 10, "p1/2026-W49/a1")
    rare = domain.stratified_sample({"ordered": [f"o{i}" for i in range(99)], "lost": ["l0"]}, 5, "s")
    assert "l0" in rare
    assert domain.stratified_sample(strata, 500, "s") == sorted(i for ids in strata.values() for i in ids)
    assert domain.stratified_sample(strata, 0, "s") == []
    small = domain.stratified_sample({"a": ["a1"], "b": [f"b{i}" for i in range(20)]}, 6, "s")
    assert len(small) == 6 and "a1" in small


# --- the weekly review ------------------------------------------------------------------------------------


def test_target_checks_judge_each_target_the_order_sets_and_leave_the_rest_open() -> None:
    data = domain.summarise(
        [
            domain.AgentDay(
                dt.date(2026, 11, 23),
                500,
                300,
                90,
                Decimal(12),
                Decimal(25),
                Decimal(18000),
                (18, 1, 1, 0, 0),
            ),
            domain.AgentDay(dt.date(2026, 11, 23), 200, 120, 24, None, Decimal(40), Decimal(4800)),
        ]
    )
    targets = domain.Targets(
        first_response_seconds=Decimal(15), avg_response_seconds=Decimal(25), conversion_rate=Decimal(30)
    )
    checks = {c.name: (c.actual, c.target, c.met) for c in domain.target_checks(data, targets)}
    assert checks["first_response_seconds"] == (Decimal("12.00"), Decimal(15), True)  # Wang's day has none
    assert checks["avg_response_seconds"] == (Decimal("29.29"), Decimal(25), False)  # weighted by receptions
    assert checks["conversion_rate"] == (Decimal("27.14"), Decimal(30), False)  # 114 of 420
    assert checks["avg_order_value"] == (Decimal("200.00"), None, None)  # the order is silent
    assert checks["satisfaction_rate"] == (Decimal("95.00"), None, None)
    assert domain.targets_verdict(data, targets) == {
        "first_response_seconds": True,
        "avg_response_seconds": False,
        "conversion_rate": False,
    }


def test_tally_counts_problems_across_reviews_most_frequent_first() -> None:
    reviews = [["首响超时", "未致歉"], ["首响超时 ", ""], ["未催付", "Slow reply"], ["slow  reply"]]
    assert domain.tally(reviews) == [("首响超时", 2), ("Slow reply", 2), ("未致歉", 1), ("未催付", 1)]
    assert domain.tally(reviews, limit=1) == [("首响超时", 2)]
    assert domain.tally([]) == []


def test_the_report_week_defaults_to_the_last_full_week_and_belongs_to_its_thursdays_month() -> None:
    assert last_full_week(dt.date(2026, 12, 2)) == "2026-W48"
    assert last_full_week(dt.date(2026, 11, 30)) == "2026-W48"  # a Monday: the week just ended
    assert month_of_week(dt.date(2026, 11, 30)) == "2026-12"  # W49: Thursday 3 December
    assert month_of_week(dt.date(2026, 10, 26)) == "2026-10"  # W44: Thursday 29 October
