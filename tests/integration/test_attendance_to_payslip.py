"""Attendance to pay, across services on PostgreSQL and RabbitMQ: a day clocked in and out at scheduling,
confirmed by the supervisor, reaches billing through the broker and becomes a payslip line."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from services.billing.handlers import HANDLERS as BILLING
from shared.events.consumer import handle_once
from shared.events.envelope import build_envelope
from shared.web import app_state
from shared.workdays import today_shanghai
from tests.integration.test_billing_payroll import admitted, confirmed, get, lines_of, post
from tests.integration.test_scheduling_api import ENV, agent_id, seed
from tests.integration.test_scheduling_operations import agent, at, publish
from tests.support import Clock, ServiceHarness, wait_until


def test_a_confirmed_day_of_attendance_becomes_a_timesheet_and_a_payslip_line(
    service_env: Callable[..., ServiceHarness],
) -> None:
    scheduling = service_env("scheduling", env=ENV)
    billing = service_env("billing")
    project_id, _ = seed(scheduling, agents=5, seats=2, start="08:00", end="24:00")
    worker = agent_id(project_id, 0)
    day = today_shanghai().replace(day=1) - dt.timedelta(days=1)  # last day of the previous month
    period = f"{day:%Y-%m}"
    for event_type, data in (
        ("project.confirmed", {**confirmed(project_id), "project_id": project_id}),
        ("agent.admitted", admitted(project_id, worker, "客服00", day - dt.timedelta(days=20))),
    ):
        assert handle_once(billing.database, BILLING, build_envelope(event_type, data))
    publish(scheduling, project_id, [(0, day, "morning")])

    clock = Clock(at(day, "08:05"))
    app_state(scheduling.app).clock = clock
    base = f"/api/v1/projects/{project_id}/attendance"
    assert (
        scheduling.client.post(
            f"{base}/clock-in", json={}, headers=agent(scheduling, project_id, 0)
        ).status_code
        == 200
    )
    clock.now = at(day, "16:00")
    out = scheduling.client.post(
        f"{base}/clock-out", json={}, headers=agent(scheduling, project_id, 0)
    ).get_json()
    assert (out["status"], out["worked_hours"]) == ("present", "7.75")
    clock.now = at(day, "16:30")
    confirmed_day = scheduling.client.post(
        f"{base}/confirm", json={"date": day.isoformat()}, headers=scheduling.auth("supervisor")
    )
    assert confirmed_day.status_code == 200, confirmed_day.get_data(as_text=True)
    assert confirmed_day.get_json()["confirmed"][0]["confirmed_hours"] == "7.75"

    scheduling.start_worker()
    billing.start_worker()
    wait_until(
        lambda: get(billing, f"/worked-hours?project_id={project_id}").get_json()["total"] == 1,
        what="the confirmed hours in billing",
    )
    wait_until(
        lambda: get(billing, f"/attendance?project_id={project_id}").get_json()["total"] == 1,
        what="the confirmed attendance in billing",
    )
    plan = post(
        billing,
        "/pay-plans",
        {
            "project_id": project_id,
            "type": "hourly",
            "hourly_rate": "20.00",
            "effective_from": f"{period}-01",
        },
    )
    assert plan.status_code == 201, plan.get_json()
    run = post(billing, "/payroll-runs", {"period": period, "project_id": project_id})
    assert run.status_code == 201, run.get_json()
    [slip] = get(billing, f"/payroll-runs/{run.get_json()['id']}/payslips").get_json()["items"]
    assert slip["agent_id"] == worker
    assert lines_of(slip) == [("hours", "155.00")]  # 7.75 h × 20.00
    assert slip["attendance"] == {
        "days_recorded": 1,
        "present": 1,
        "late": 0,
        "early_leave": 0,
        "no_show": 0,
        "late_minutes": 0,
        "early_minutes": 0,
    }
