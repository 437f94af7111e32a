"""Billing on real PostgreSQL + RabbitMQ: events from the broker flow into a payroll run, approval emits
payroll.approved and freezes the run, late data becomes the next month's adjustment; the seed's figures
through the API; bad input refused with nothing changed; agents see only their own payslips."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from services.billing.handlers import HANDLERS
from services.billing.models import KpiScore
from shared.events.consumer import handle_once
from shared.events.envelope import build_envelope
from shared.workdays import today_shanghai
from tests.support import ServiceHarness, wait_until

PROBLEM = "application/problem+json"
SEPT = [dt.date(2026, 9, d) for d in range(1, 31)]  # 30 days


def _id() -> str:
    return str(uuid.uuid4())


def confirmed(project_id: str) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "merchant_id": _id(),
        "seats": 5,
        "service_type": "presale",
        "service_hours": {"start": "09:00", "end": "21:00"},
        "go_live_date": "2026-08-01",
        "assessor": "vendor",
        "metrics": {},
        "company_name": "云店旗舰店",
    }


def admitted(project_id: str, agent_id: str, name: str, on: dt.date) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "candidate_id": agent_id,
        "cohort_id": _id(),
        "name": name,
        "skills": ["presale"],
        "shifts_available": ["morning"],
        "quiz_score": 90.0,
        "simulation_score": 88.0,
        "rank": 1,
        "admitted_at": dt.datetime.combine(on, dt.time(10), tzinfo=dt.UTC).isoformat(),
    }


def upheld(project_id: str, agent_id: str, penalty: str, resolved: dt.date) -> dict[str, Any]:
    return {
        "complaint_id": _id(),
        "number": f"TS{resolved:%Y%m%d}-0001",
        "project_id": project_id,
        "agent_id": agent_id,
        "penalty": penalty,
        "resolved_at": dt.datetime.combine(resolved, dt.time(3), tzinfo=dt.UTC).isoformat(),
    }


def feed(h: ServiceHarness, event_type: str, data: dict[str, Any]) -> None:
    """Deliver an event through the consumer's inbox path without the broker (fast setup)."""
    assert handle_once(h.database, HANDLERS, build_envelope(event_type, data))


def post(h: ServiceHarness, path: str, body: Any, role: str = "finance", **kwargs: Any) -> Any:
    return h.client.post(f"/api/v1{path}", json=body, headers=h.auth(role, **kwargs))


def get(h: ServiceHarness, path: str, role: str = "finance", **kwargs: Any) -> Any:
    return h.client.get(f"/api/v1{path}", headers=h.auth(role, **kwargs))


def lines_of(payslip: dict[str, Any]) -> list[tuple[str, str]]:
    return [(line["kind"], line["amount"]) for line in payslip["lines"]]


def perf(
    project_id: str, agent_id: str, day: dt.date, sales: str, seconds: str = "25", rate: str = "0.98"
) -> dict:
    return {
        "project_id": project_id,
        "agent_id": agent_id,
        "date": day.isoformat(),
        "sales_amount": sales,
        "avg_response_seconds": seconds,
        "response_rate": rate,
        "consultations": 100,
    }


# --- the broker flow --------------------------------------------------------------------------------------


def test_events_flow_into_a_run_approval_freezes_it_and_late_data_is_paid_next_month(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("billing")
    h.start_worker()
    approved_tap = h.tap("payroll.approved")
    project, agent = _id(), _id()
    h.publish("project.confirmed", confirmed(project))
    h.publish("agent.admitted", admitted(project, agent, "张三", dt.date(2026, 8, 15)))
    workdays = [d for d in SEPT if d.weekday() < 5][:20]
    for day in workdays:
        h.publish("shift.worked", {"project_id": project, "agent_id": agent, "date": day, "hours": "8"})
    h.publish("complaint.upheld", upheld(project, agent, "200.00", dt.date(2026, 9, 20)))
    wait_until(lambda: get(h, f"/worked-hours?project_id={project}").get_json()["total"] == 20, what="hours")
    wait_until(lambda: get(h, f"/deductions?agent_id={agent}").get_json()["total"] == 1, what="penalty")
    assert get(h, f"/deductions?agent_id={agent}").get_json()["items"][0]["period"] == "2026-09"

    plan = post(
        h,
        "/pay-plans",
        {"project_id": project, "type": "hourly", "hourly_rate": "20.00", "effective_from": "2026-09-01"},
    )
    assert plan.status_code == 201, plan.get_json()

    run = post(h, "/payroll-runs", {"period": "2026-09", "project_id": project})
    assert run.status_code == 201, run.get_json()
    run_id = run.get_json()["id"]
    assert (run.get_json()["status"], run.get_json()["total"], run.get_json()["payslip_count"]) == (
        "draft",
        "3000.00",
        1,
    )
    slips = get(h, f"/payroll-runs/{run_id}/payslips").get_json()["items"]
    assert lines_of(slips[0]) == [("hours", "3200.00"), ("deduction", "-200.00")]
    assert slips[0]["agent_name"] == "张三"
    assert slips[0]["lines"][0]["explanation"] == "160 h × 20.00 CNY/h"

    approve = post(h, f"/payroll-runs/{run_id}/approve", None)
    assert approve.status_code == 200, approve.get_json()
    assert approve.get_json()["status"] == "approved"
    event = approved_tap.wait_for("payroll.approved")[0]
    assert event.data == {"run_id": run_id, "period": "2026-09", "total": "3000.00", "project_id": project}

    # approved means immutable
    approved_slips = get(h, f"/payroll-runs/{run_id}/payslips").get_json()["items"]
    assert [s["status"] for s in approved_slips] == ["approved"]
    for path in (f"/payroll-runs/{run_id}/approve", f"/payroll-runs/{run_id}/recalculate"):
        refused = post(h, path, None)
        assert refused.status_code == 409 and refused.content_type == PROBLEM
    assert post(h, f"/payroll-runs/{run_id}/approve", None).get_json()["rule"] == "already-approved"
    assert h.client.delete(f"/api/v1/payroll-runs/{run_id}", headers=h.auth("finance")).status_code == 409
    again = post(h, "/payroll-runs", {"period": "2026-09", "project_id": project})
    assert again.status_code == 409 and again.get_json()["rule"] == "period-closed"
    overlapping = post(h, "/payroll-runs", {"period": "2026-09"})
    assert overlapping.status_code == 409
    rewrite = post(
        h,
        "/pay-plans",
        {"project_id": project, "type": "hourly", "hourly_rate": "25.00", "effective_from": "2026-09-15"},
    )
    assert rewrite.status_code == 409 and rewrite.get_json()["rule"] == "closed-period"
    assert "2026-10-01" in rewrite.get_json()["detail"]

    # late data: a September day arrives after approval, and October's own work
    h.publish("shift.worked", {"project_id": project, "agent_id": agent, "date": "2026-09-30", "hours": "8"})
    h.publish("shift.worked", {"project_id": project, "agent_id": agent, "date": "2026-10-01", "hours": "8"})
    wait_until(lambda: get(h, f"/worked-hours?agent_id={agent}").get_json()["total"] == 22, what="late hours")
    frozen = get(h, f"/payroll-runs/{run_id}/payslips").get_json()["items"]
    assert frozen == approved_slips
    assert get(h, f"/payroll-runs/{run_id}").get_json()["total"] == "3000.00"

    october = post(h, "/payroll-runs", {"period": "2026-10", "project_id": project})
    assert october.status_code == 201, october.get_json()
    assert october.get_json()["total"] == "320.00"
    oct_slip = get(h, f"/payroll-runs/{october.get_json()['id']}/payslips").get_json()["items"][0]
    assert lines_of(oct_slip) == [("hours", "160.00"), ("adjustment", "160.00")]
    late = oct_slip["lines"][1]
    assert late["origin_period"] == "2026-09"
    assert late["explanation"].startswith("late data for 2026-09")
    assert post(h, f"/payroll-runs/{october.get_json()['id']}/approve", None).status_code == 200
    assert approved_tap.wait_for("payroll.approved", count=2)[1].data["total"] == "320.00"

    # settled once: the next month does not pay the late September day again
    november = post(h, "/payroll-runs", {"period": "2026-11", "project_id": project})
    assert november.status_code == 201
    assert (november.get_json()["payslip_count"], november.get_json()["total"]) == (0, "0.00")


# --- the seed's figures through the API -------------------------------------------------------------------


def _seed_project(h: ServiceHarness) -> tuple[str, dict[str, str]]:
    project = _id()
    feed(h, "project.confirmed", confirmed(project))
    agents = {name: _id() for name in ("met", "slow", "seller", "hourly", "joiner")}
    for name, agent_id in agents.items():
        joined = dt.date(2026, 9, 16) if name == "joiner" else dt.date(2026, 8, 1)
        feed(h, "agent.admitted", admitted(project, agent_id, name, joined))
    plans = [
        {
            "project_id": project,
            "type": "base_commission",
            "monthly_base": "4000.00",
            "commission_rate": "0.01",
            "conditions": {"max_avg_response_seconds": "30", "min_response_rate": "0.95"},
            "base_factor_when_unmet": "0.5",
            "effective_from": "2026-09-01",
        },
        {
            "project_id": project,
            "agent_id": agents["seller"],
            "type": "commission",
            "commission_rate": "0.05",
            "effective_from": "2026-09-01",
        },
        {
            "project_id": project,
            "agent_id": agents["hourly"],
            "type": "hourly",
            "hourly_rate": "20.00",
            "effective_from": "2026-09-01",
        },
        {
            "project_id": project,
            "agent_id": agents["joiner"],
            "type": "monthly",
            "monthly_base": "4000.00",
            "effective_from": "2026-09-01",
        },
    ]
    for body in plans:
        response = post(h, "/pay-plans", body)
        assert response.status_code == 201, response.get_json()
    days = SEPT[:20]
    batch = [perf(project, agents["met"], d, "5000.00") for d in days]
    batch += [perf(project, agents["slow"], d, "5000.00", seconds="41") for d in days]
    batch += [perf(project, agents["seller"], d, "5000.00") for d in days]
    stored = post(h, "/performance", batch)
    assert stored.status_code == 200, stored.get_json()
    assert stored.get_json() == {"received": 60, "created": 60, "replaced": 0}
    for day in days:
        feed(
            h,
            "shift.worked",
            {"project_id": project, "agent_id": agents["hourly"], "date": day, "hours": "8"},
        )
    return project, agents


def test_every_plan_type_with_the_seed_figures_export_and_agent_access(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("billing")
    _project, agents = _seed_project(h)
    run = post(h, "/payroll-runs", {"period": "2026-09"})
    assert run.status_code == 201, run.get_json()
    body = run.get_json()
    assert (body["payslip_count"], body["total"], body["project_id"]) == (5, "18200.00", None)
    slips = get(h, f"/payroll-runs/{body['id']}/payslips?per_page=50").get_json()["items"]
    by_agent = {s["agent_id"]: s for s in slips}
    assert lines_of(by_agent[agents["met"]]) == [("base", "4000.00"), ("commission", "1000.00")]
    assert by_agent[agents["met"]]["total"] == "5000.00"
    slow = by_agent[agents["slow"]]
    assert lines_of(slow) == [("base", "2000.00"), ("commission", "1000.00")]
    assert slow["lines"][0]["explanation"].startswith("base at 50%: average response 41 s > 30 s")
    assert lines_of(by_agent[agents["seller"]]) == [("commission", "5000.00")]
    assert lines_of(by_agent[agents["hourly"]]) == [("hours", "3200.00")]
    joiner = by_agent[agents["joiner"]]
    assert lines_of(joiner) == [("base", "2000.00")]
    assert "15/30 days" in joiner["lines"][0]["explanation"]
    assert sum(Decimal(s["total"]) for s in slips) == Decimal(body["total"])

    # the export: BOM, header, one row per payslip with each kind's amount
    export = get(h, f"/payroll-runs/{body['id']}/export", role="vendor")
    assert export.status_code == 200
    assert export.headers["Content-Type"].startswith("text/csv")
    assert export.data.startswith("\ufeff".encode())
    rows = export.data.decode("utf-8-sig").strip().split("\r\n")
    assert len(rows) == 1 + 5
    assert rows[0].startswith(
        "核算批次,薪资周期,状态,项目编号,坐席编号,姓名,计薪方式,基本工资(元),计时工资(元),"
    )
    met_row = next(r for r in rows if agents["met"] in r).split(",")
    assert met_row[7:13] == ["4000.00", "0.00", "1000.00", "0.00", "0.00", "5000.00"]

    # agents: nothing before approval, then only their own payslip
    met, seller = agents["met"], agents["seller"]
    met_slip = by_agent[met]["id"]
    assert get(h, f"/payslips/{met_slip}", role="agent", sub=met).status_code == 404
    assert get(h, "/payslips", role="agent", sub=met).get_json()["total"] == 0
    assert get(h, f"/payroll-runs/{body['id']}/payslips", role="agent", sub=met).status_code == 403
    assert post(h, f"/payroll-runs/{body['id']}/approve", None, role="vendor").status_code == 403
    assert post(h, f"/payroll-runs/{body['id']}/approve", None).status_code == 200
    own = get(h, f"/payslips/{met_slip}", role="agent", sub=met)
    assert own.status_code == 200 and own.get_json()["total"] == "5000.00"
    assert get(h, f"/payslips/{by_agent[seller]['id']}", role="agent", sub=met).status_code == 404
    listed = get(h, f"/payslips?agent_id={seller}", role="agent", sub=met).get_json()
    assert [s["agent_id"] for s in listed["items"]] == [met]


def test_a_draft_is_recalculated_and_refuses_approval_when_data_arrived_since(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("billing")
    project, agents = _seed_project(h)
    run_id = post(h, "/payroll-runs", {"period": "2026-09", "project_id": project}).get_json()["id"]
    assert (
        post(h, "/payroll-runs", {"period": "2026-09", "project_id": project}).get_json()["rule"]
        == "run-exists"
    )
    feed(h, "complaint.upheld", upheld(project, agents["met"], "200.00", dt.date(2026, 9, 25)))
    stale = post(h, f"/payroll-runs/{run_id}/approve", None)
    assert stale.status_code == 409 and stale.get_json()["rule"] == "stale-draft"
    recalculated = post(h, f"/payroll-runs/{run_id}/recalculate", None)
    assert recalculated.get_json()["total"] == "18000.00"
    slips = get(h, f"/payroll-runs/{run_id}/payslips?agent_id={agents['met']}").get_json()["items"]
    assert lines_of(slips[0]) == [("base", "4000.00"), ("commission", "1000.00"), ("deduction", "-200.00")]
    assert post(h, f"/payroll-runs/{run_id}/approve", None).status_code == 200


# --- bad input --------------------------------------------------------------------------------------------


def test_bad_plans_and_periods_are_refused_and_change_nothing(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("billing")
    project = _id()
    feed(h, "project.confirmed", confirmed(project))
    bad = [
        ({"project_id": project, "type": "hourly", "hourly_rate": 20.0}, "hourly_rate"),
        ({"project_id": project, "type": "hourly", "hourly_rate": "-20.00"}, "hourly_rate"),
        ({"project_id": project, "type": "commission", "commission_rate": "1.5"}, "commission_rate"),
        (
            {
                "project_id": project,
                "type": "base_commission",
                "monthly_base": "4000.00",
                "commission_rate": "0.01",
                "conditions": {"max_avg_response_seconds": "30"},
            },
            "base_factor_when_unmet",
        ),
        ({"project_id": project, "type": "piecework"}, "type"),
    ]
    for body, field in bad:
        response = post(h, "/pay-plans", body)
        assert response.status_code == 422, body
        assert response.content_type == PROBLEM
        assert field in response.get_json()["errors"], response.get_json()
    unknown = post(h, "/pay-plans", {"project_id": _id(), "type": "monthly", "monthly_base": "4000.00"})
    assert unknown.status_code == 422 and unknown.get_json()["rule"] == "unknown-project"
    assert (
        post(
            h,
            "/pay-plans",
            {"project_id": project, "type": "monthly", "monthly_base": "4000.00"},
            role="vendor",
        ).status_code
        == 403
    )
    assert get(h, "/pay-plans").get_json()["total"] == 0

    future = today_shanghai().replace(day=1) + dt.timedelta(days=32)
    for period in ("2026-13", "2026-9", f"{future:%Y-%m}"):
        response = post(h, "/payroll-runs", {"period": period})
        assert response.status_code == 422 and "period" in response.get_json()["errors"]
    assert get(h, "/payroll-runs").get_json()["total"] == 0
    assert get(h, "/payroll-runs", role="agent").status_code == 403


def test_performance_is_all_or_nothing_and_a_resent_day_replaces(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("billing")
    project, agent = _id(), _id()
    feed(h, "project.confirmed", confirmed(project))
    feed(h, "agent.admitted", admitted(project, agent, "李四", dt.date(2026, 8, 1)))
    tomorrow = today_shanghai() + dt.timedelta(days=1)
    batch = [
        perf(project, agent, dt.date(2026, 9, 1), "100.00"),
        perf(project, _id(), dt.date(2026, 9, 1), "100.00"),
        perf(project, agent, tomorrow, "100.00"),
        {**perf(project, agent, dt.date(2026, 9, 2), "1"), "sales_amount": 100.5},
    ]
    refused = post(h, "/performance", batch)
    assert refused.status_code == 422
    assert set(refused.get_json()["errors"]) == {"1.agent_id", "2.date", "3.sales_amount"}
    assert get(h, "/performance").get_json()["total"] == 0

    single = post(h, "/performance", perf(project, agent, dt.date(2026, 9, 1), "100.00"))
    assert single.get_json() == {"received": 1, "created": 1, "replaced": 0}
    header = "project_id,agent_id,date,sales_amount,avg_response_seconds,response_rate,consultations\n"
    good = (
        header
        + f"{project},{agent},2026-09-01,250.00,20,0.99,80\n{project},{agent},2026-09-02,300.00,22,0.97,90\n"
    )
    bad = (
        good + f"{project},{agent},2026-09-03,abc,22,0.97,90\n{project},{_id()},2026-09-04,1.00,22,0.97,90\n"
    )
    rejected = h.client.post(
        "/api/v1/performance/import",
        data={"file": (io.BytesIO(bad.encode()), "perf.csv")},
        headers=h.auth("finance"),
        content_type="multipart/form-data",
    )
    assert rejected.status_code == 422
    assert set(rejected.get_json()["errors"]) == {"line 4.sales_amount", "line 5.agent_id"}
    assert get(h, "/performance").get_json()["items"][0]["sales_amount"] == "100.00"
    imported = h.client.post(
        "/api/v1/performance/import", data=good.encode(), headers=h.auth("finance"), content_type="text/csv"
    )
    assert imported.status_code == 200, imported.get_json()
    assert imported.get_json() == {"received": 2, "created": 1, "replaced": 1}
    stored = get(h, f"/performance?agent_id={agent}").get_json()["items"]
    assert [(p["date"], p["sales_amount"]) for p in stored] == [
        ("2026-09-01", "250.00"),
        ("2026-09-02", "300.00"),
    ]


def test_adjustments_and_out_of_order_membership_events(service_env: Callable[..., ServiceHarness]) -> None:
    h = service_env("billing")
    project, agent = _id(), _id()
    feed(h, "project.confirmed", confirmed(project))
    # the departure arrives before the admission: both dates are kept
    feed(
        h,
        "agent.departed",
        {"project_id": project, "agent_id": agent, "replacement_id": None, "date": "2026-09-10"},
    )
    feed(h, "agent.admitted", admitted(project, agent, "王五", dt.date(2026, 9, 1)))
    # a corrected timesheet replaces the day's hours
    for hours in ("8", "6.5"):
        feed(
            h,
            "shift.worked",
            {"project_id": project, "agent_id": agent, "date": "2026-09-02", "hours": hours},
        )
    worked = get(h, f"/worked-hours?agent_id={agent}").get_json()
    assert [(w["date"], w["hours"]) for w in worked["items"]] == [("2026-09-02", "6.50")]
    assert (
        post(
            h,
            "/pay-plans",
            {
                "project_id": project,
                "type": "monthly",
                "monthly_base": "4000.00",
                "effective_from": "2026-09-01",
            },
        ).status_code
        == 201
    )
    for body, field in (
        (
            {"project_id": project, "agent_id": agent, "period": "2026-09", "amount": "0.00", "reason": "x"},
            "amount",
        ),
        (
            {
                "project_id": project,
                "agent_id": agent,
                "period": "2026-09",
                "amount": "-50.00",
                "reason": " ",
            },
            "reason",
        ),
        (
            {"project_id": project, "agent_id": _id(), "period": "2026-09", "amount": "10.00", "reason": "x"},
            "agent_id",
        ),
    ):
        response = post(h, "/adjustments", body)
        assert response.status_code == 422 and field in response.get_json()["errors"], response.get_json()
    added = post(
        h,
        "/adjustments",
        {
            "project_id": project,
            "agent_id": agent,
            "period": "2026-09",
            "amount": "-50.00",
            "reason": "headset not returned",
        },
    )
    assert added.status_code == 201
    run = post(h, "/payroll-runs", {"period": "2026-09", "project_id": project}).get_json()
    slip = get(h, f"/payroll-runs/{run['id']}/payslips").get_json()["items"][0]
    assert lines_of(slip) == [("base", "1333.33"), ("adjustment", "-50.00")]  # 4000 × 10/30 days
    assert slip["lines"][1]["explanation"] == "adjustment by finance: headset not returned"
    assert run["total"] == "1283.33"


# --- a base judged on quality: kpi.scored from the quality service ------------------------------------------


def kpi(project_id: str, agent_id: str, period: str, score: str, targets_met: bool, version: int) -> dict:
    return {
        "project_id": project_id,
        "agent_id": agent_id,
        "period": period,
        "score": score,
        "components": {"data": "80.00", "performance": "90.00", "execution": "70.00"},
        "targets_met": targets_met,
        "version": version,
    }


def _kpi_versions(h: ServiceHarness, project_id: str) -> dict[str, int]:
    with h.database.session() as session:
        rows = session.execute(
            select(KpiScore.period, KpiScore.version).where(KpiScore.project_id == project_id)
        )
        return {period: version for period, version in rows}


def test_kpi_scored_reaches_billing_and_changes_a_conditional_base_on_the_next_run(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("billing")
    h.start_worker()
    project, agent = _id(), _id()
    h.publish("project.confirmed", confirmed(project))
    h.publish("agent.admitted", admitted(project, agent, "李四", dt.date(2026, 8, 1)))
    wait_until(lambda: get(h, f"/agents?project_id={project}").get_json()["total"] == 1, what="agent")
    plan = post(
        h,
        "/pay-plans",
        {
            "project_id": project,
            "type": "monthly",
            "monthly_base": "4000.00",
            "conditions": {"min_kpi_score": "80"},
            "base_factor_when_unmet": "0.8",
            "effective_from": "2026-10-01",
        },
    )
    assert plan.status_code == 201, plan.get_json()
    assert plan.get_json()["conditions"] == {
        "max_avg_response_seconds": None,
        "min_response_rate": None,
        "min_kpi_score": "80.00",
        "kpi_targets_met": False,
    }

    # October scored 75 by quality: the base at 80%
    h.publish("kpi.scored", kpi(project, agent, "2026-10", "75.00", True, 1))
    october = post(h, "/payroll-runs", {"period": "2026-10", "project_id": project})
    wait_until(
        lambda: (
            post(h, f"/payroll-runs/{october.get_json()['id']}/recalculate", None).get_json()["total"]
            == "3200.00"
        ),
        what="the KPI in the run",
    )
    slip = get(h, f"/payroll-runs/{october.get_json()['id']}/payslips").get_json()["items"][0]
    assert slip["lines"][0]["explanation"] == "base at 80%: KPI 75 < 80; monthly base 4,000.00"
    assert post(h, f"/payroll-runs/{october.get_json()['id']}/approve", None).status_code == 200

    # quality re-scores October (a late review): 81.5 = 0.65·80 + 0.25·90 + 0.10·70; a stale duplicate of
    # version 1 arriving after it changes nothing
    h.publish("kpi.scored", kpi(project, agent, "2026-10", "81.50", True, 2))
    h.publish("kpi.scored", kpi(project, agent, "2026-10", "75.00", True, 1))
    h.publish("kpi.scored", kpi(project, agent, "2026-11", "90.00", True, 1))
    wait_until(lambda: _kpi_versions(h, project) == {"2026-10": 2, "2026-11": 1}, what="the KPI events")

    # November's run pays November's base in full and October's difference as late data
    november = post(h, "/payroll-runs", {"period": "2026-11", "project_id": project})
    assert november.status_code == 201, november.get_json()
    assert november.get_json()["total"] == "4800.00"
    nov_slip = get(h, f"/payroll-runs/{november.get_json()['id']}/payslips").get_json()["items"][0]
    assert lines_of(nov_slip) == [("base", "4000.00"), ("adjustment", "800.00")]
    assert nov_slip["lines"][0]["explanation"] == "base in full: KPI 90 ≥ 80; monthly base 4,000.00"
    assert nov_slip["lines"][1]["origin_period"] == "2026-10"
