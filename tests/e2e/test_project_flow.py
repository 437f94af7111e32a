"""Seed 004's story across all six services as real processes, asserting what the seed prescribes."""

from __future__ import annotations

import re
from decimal import Decimal

from devtools.demo import SEATS, Story
from devtools.stack import Stack
from tests.e2e.conftest import signing_key, urls


def test_one_order_travels_from_confirmation_to_payroll(stack: Stack) -> None:
    lines: list[str] = []
    story = Story(urls(stack), signing_key(stack), say=lines.append, timeout=60)
    outcome = story.run()
    assert outcome.failures == [], "\n".join(lines)

    # the funnel: 10 seats → 30 matched (1:3) → 20 admitted (1:2) → 15 active + 5 reserve (1:1.5)
    assert (outcome.requisition["target"], outcome.requisition["matched"]) == (3 * SEATS, 30)
    assert outcome.requisition["status"] == "filled"
    assert (outcome.cohort["enrolled"], outcome.cohort["passed"]) == (30, 24)
    assert (outcome.cohort["admitted"], outcome.cohort["waitlisted"]) == (20, 4)
    assert (outcome.pool["active"], outcome.pool["reserve"]) == (15, 5)
    assert sorted(outcome.agents.values()).count("reserve") == 5

    # a 14-day roster of one day shift of 10 seats, fully covered by the 15 active agents
    assert outcome.roster["needed"] == 14 * SEATS
    assert outcome.roster["assigned"] == 14 * SEATS and outcome.roster["uncovered"] == []

    # surges: +30% with 3 days' notice accepted (3 extra seats, all covered by reserves); +60% with 5 refused
    accepted = outcome.surge_accepted
    assert (accepted["status"], accepted["extra_seats"], accepted["covered"], accepted["uncovered"]) == (
        "accepted",
        3,
        3,
        0,
    )
    refused = outcome.surge_refused
    assert refused["status"] == 422
    assert "7 days" in refused["detail"]

    # attrition: a reserve agent replaces the departed active one
    [departure] = outcome.departure["departures"]
    assert departure["role"] == "active"
    assert outcome.agents[departure["replacement_id"]] == "reserve"
    assert departure["uncovered"] == []

    # workforce planning: a campaign's plan, published, its roster following the demand per half-hour
    plan = outcome.plan
    assert plan["status"] == "published" and plan["roster_id"]
    assert plan["summary"]["coverage"]["required_agent_intervals"] > 0
    assert (
        plan["summary"]["coverage"]["coverage_pct"] >= plan["summary"]["compared"]["greedy"]["coverage_pct"]
    )
    assert plan["available_agents"] == 19  # 20 admitted, one departed
    assert {w["rule"] for w in plan["warnings"]} <= {"lead-time", "outside-service-hours"}

    # the complaint: numbered TSYYYYMMDD-NNNN, escalated to the supervisor, upheld with a 200.00 penalty
    complaint = outcome.complaint
    assert re.fullmatch(r"TS\d{8}-\d{4}", complaint["number"])
    assert (complaint["level"], complaint["status"]) == ("supervisor", "resolved")
    assert Decimal(complaint["penalty"]) == Decimal("200.00")

    # quality: the day's figures and chats in, the rude slow chat flagged and reviewed, KPI scored for the
    # two agents: 65% data + 25% work performance + 10% execution, the reviewed one lower
    assert len(outcome.kpi) >= 2
    for k in outcome.kpi.values():
        parts = {"data": Decimal(65), "performance": Decimal(25), "execution": Decimal(10)}
        present = {name: Decimal(k[name]) for name in parts if k[name] is not None}
        expected = sum(parts[n] * v for n, v in present.items()) / sum(parts[n] for n in present)
        assert abs(Decimal(k["score"]) - expected) <= Decimal("0.01")

    # the week's review has the flagged chat, the review's problems and the complaint; the finding opened
    # improvement training for the reviewed agent
    review = outcome.weekly_review
    assert review["machine_qa"]["flagged"] == 1 and review["reviews"]["count"] == 1
    assert {p["problem"] for p in review["reviews"]["top_problems"]} >= {"未问候"}
    assert review["complaints"]["opened"] == 1 and review["complaints"]["upheld"] == 1
    assert outcome.improvement["source"] == "qa" and len(outcome.improvement["findings"]) == 1

    # payroll: hourly 8 h × 20 = 160.00; monthly 4,000 prorated from the join day; base + 1% of 100,000 on
    # targets met; 5% of 100,000 less the 200.00 penalty; approved; CSV with a BOM and a row per payslip
    slips = {p["plan_type"]: p for p in outcome.payslips}
    assert set(slips) == {"hourly", "monthly", "base_commission", "commission"}
    assert Decimal(slips["hourly"]["total"]) == Decimal("160.00")
    assert Decimal(slips["commission"]["total"]) == Decimal("4800.00")
    assert [line["kind"] for line in slips["commission"]["lines"]] == ["commission", "deduction"]
    base_line = Decimal(slips["monthly"]["total"])
    assert Decimal(slips["base_commission"]["total"]) == base_line + Decimal("1000.00")
    assert outcome.payroll["status"] == "approved"
    assert Decimal(outcome.payroll["total"]) == sum(Decimal(p["total"]) for p in outcome.payslips)
    assert outcome.export_csv.startswith("\ufeff")
    assert len(outcome.export_csv.strip().splitlines()) == 1 + 4
