"""Billing's copy of attendance (issue 19 part 3) on real PostgreSQL: scheduling's attendance.recorded and
agent.no_show in any order and repeated leave one row per agent and day with the supervisor's word; the
payslip shows the month's attendance beside hours paid once (from shift.worked); who may list it."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from services.billing.handlers import HANDLERS
from services.billing.models import AttendanceDay
from shared.events.consumer import handle_once
from shared.events.envelope import Envelope, build_envelope
from tests.integration.test_billing_payroll import _id, admitted, confirmed, feed, get, post
from tests.support import ServiceHarness, wait_until

PROBLEM = "application/problem+json"
DAY = dt.date(2026, 9, 7)
T0 = dt.datetime(2026, 9, 7, 1, 0, tzinfo=dt.UTC)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def recorded(project: str, agent: str, day: dt.date = DAY, **fields: Any) -> dict[str, Any]:
    """A supervisor's confirmation: a morning shift 09:00-17:00 (Shanghai), 8 hours, on time by default."""
    start = dt.datetime.combine(day, dt.time(1, 0), tzinfo=dt.UTC)
    data = {
        "project_id": project,
        "agent_id": agent,
        "date": day,
        "clock_in": start,
        "clock_out": start + dt.timedelta(hours=8),
        "status": "present",
        "shift": "morning",
        "late_minutes": 0,
        "early_minutes": 0,
        "hours": "8.00",
        "corrected": False,
    }
    return {**data, **fields}


def no_show(project: str, agent: str, day: dt.date = DAY, replacement: str | None = None) -> dict[str, Any]:
    return {
        "project_id": project,
        "agent_id": agent,
        "shift": "morning",
        "replacement_id": replacement,
        "date": day,
        "start": "09:00",
    }


def envelope(event_type: str, data: dict[str, Any], occurred_at: dt.datetime) -> Envelope:
    return build_envelope(event_type, data, occurred_at=occurred_at)


def deliver(h: ServiceHarness, message: Envelope) -> bool:
    return handle_once(h.database, HANDLERS, message)


def row_of(h: ServiceHarness, project: str, agent: str, day: dt.date = DAY) -> AttendanceDay:
    with h.database.session() as session:
        count = session.scalar(
            select(func.count()).select_from(AttendanceDay).where(AttendanceDay.agent_id == agent)
        )
        assert count == 1
        row = session.get(AttendanceDay, (agent, project, day))
        assert row is not None
        session.expunge(row)
        return row


# --- the read model ---------------------------------------------------------------------------------------


def test_events_in_any_order_and_repeated_leave_the_supervisors_latest_word(
    service_env: Callable[..., ServiceHarness],
) -> None:
    """The tolerance passes (no-show, reserve called), the supervisor confirms the day as late, then
    corrects it to present: whichever order the three arrive in, each also delivered twice (the same
    message, and the same event republished under a new id), the day ends as the correction says."""
    h = service_env("billing")
    project, reserve = _id(), _id()
    for order in itertools.permutations(range(3)):
        agent = _id()
        messages = [
            envelope("agent.no_show", no_show(project, agent, replacement=reserve), at(16)),
            envelope(
                "attendance.recorded",
                recorded(project, agent, status="late", late_minutes=40, hours="7.33"),
                at(600),
            ),
            envelope(
                "attendance.recorded",
                recorded(project, agent, status="present", corrected=True, hours="8.00"),
                at(900),
            ),
        ]
        for i in order:
            assert deliver(h, messages[i])
            assert not deliver(h, messages[i])  # the inbox: the same message twice is one delivery
            republished = envelope(
                messages[i].type, messages[i].data, dt.datetime.fromisoformat(messages[i].occurred_at)
            )
            assert deliver(h, republished)  # a new id: the projection itself must hold its ground
        row = row_of(h, project, agent)
        assert (row.status, row.late_minutes, row.corrected, str(row.hours)) == ("present", 0, True, "8.00")
        assert (row.source, row.no_show_replacement_id, row.shift) == ("attendance", reserve, "morning")
        assert row.clock_in == dt.datetime(2026, 9, 7, 1, 0, tzinfo=dt.UTC)
        assert row.recorded_at == at(900), order


def test_a_no_show_stands_until_a_supervisor_confirms_and_never_overrides_one(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("billing")
    project, agent, reserve = _id(), _id(), _id()
    # the notice alone: a no-show, its reserve, no hours
    assert deliver(h, envelope("agent.no_show", no_show(project, agent, replacement=reserve), at(16)))
    row = row_of(h, project, agent)
    assert (row.status, row.source, row.no_show_replacement_id, row.hours) == (
        "no_show",
        "no_show",
        reserve,
        None,
    )

    # the supervisor confirms the no-show (0 hours); a later second notice (no reserve left) changes nothing
    confirmation = recorded(project, agent, status="no_show", clock_in=None, clock_out=None, hours="0")
    assert deliver(h, envelope("attendance.recorded", confirmation, at(700)))
    assert deliver(h, envelope("agent.no_show", no_show(project, agent), at(800)))
    row = row_of(h, project, agent)
    assert (row.status, row.source, str(row.hours)) == ("no_show", "attendance", "0.00")
    assert (row.clock_in, row.no_show_replacement_id) == (None, reserve)

    # a no-show notice after the agent's day was confirmed present does not turn it into an absence
    other = _id()
    assert deliver(h, envelope("attendance.recorded", recorded(project, other), at(700)))
    assert deliver(h, envelope("agent.no_show", no_show(project, other, replacement=reserve), at(16)))
    row = row_of(h, project, other)
    assert (row.status, row.source, row.no_show_replacement_id) == ("present", "attendance", reserve)

    # a notice without a date falls on the Shanghai day of its time: 2026-09-07 17:00 UTC is the 8th
    late_night = _id()
    undated = {k: v for k, v in no_show(project, late_night).items() if k != "date"}
    assert deliver(h, envelope("agent.no_show", undated, dt.datetime(2026, 9, 7, 17, 0, tzinfo=dt.UTC)))
    assert row_of(h, project, late_night, dt.date(2026, 9, 8)).status == "no_show"


def test_events_through_the_broker_reach_the_list(service_env: Callable[..., ServiceHarness]) -> None:
    """The worker consumes both types from the broker (the catalogue routes them to billing's queue)."""
    h = service_env("billing")
    h.start_worker()
    project, agent = _id(), _id()
    h.publish("attendance.recorded", recorded(project, agent, status="late", late_minutes=12, hours="7.80"),
              occurred_at=at(600))  # fmt: skip
    h.publish("agent.no_show", no_show(project, agent), occurred_at=at(16))
    h.publish("agent.no_show", no_show(project, agent, day=DAY + dt.timedelta(days=1)))
    wait_until(lambda: get(h, f"/attendance?agent_id={agent}").get_json()["total"] == 2, what="attendance")
    items = get(h, f"/attendance?agent_id={agent}").get_json()["items"]
    assert [(i["date"], i["status"], i["late_minutes"], i["source"]) for i in items] == [
        ("2026-09-07", "late", 12, "attendance"),
        ("2026-09-08", "no_show", 0, "no_show"),
    ]
    assert items[0]["hours"] == "7.80" and items[1]["hours"] is None


# --- the payslip ------------------------------------------------------------------------------------------


def test_the_payslip_summarises_the_months_attendance_and_pays_the_hours_once(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("billing")
    project, agent, quiet = _id(), _id(), _id()
    feed(h, "project.confirmed", confirmed(project))
    feed(h, "agent.admitted", admitted(project, agent, "王五", dt.date(2026, 8, 1)))
    feed(h, "agent.admitted", admitted(project, quiet, "赵六", dt.date(2026, 8, 1)))
    plan = {"project_id": project, "type": "hourly", "hourly_rate": "20.00", "effective_from": "2026-09-01"}
    assert post(h, "/pay-plans", plan).status_code == 201

    days = [dt.date(2026, 9, d) for d in (1, 2, 3, 4, 7)]
    attendance = [
        recorded(project, agent, days[0]),
        recorded(project, agent, days[1], status="late", late_minutes=15, hours="7.75"),
        recorded(project, agent, days[2], status="late_early_leave", late_minutes=5, early_minutes=30,
                 hours="7.42"),
        recorded(project, agent, days[4], status="early_leave", early_minutes=20, hours="7.67"),
        # October's day belongs to October's payslip
        recorded(project, agent, dt.date(2026, 10, 1)),
    ]  # fmt: skip
    for data in attendance:
        # as scheduling sends a confirmation: the attendance and the timesheet's hours (shift.worked)
        feed(h, "attendance.recorded", data)
        worked = {"project_id": project, "agent_id": agent, "date": data["date"], "hours": data["hours"]}
        feed(h, "shift.worked", worked)
    feed(h, "agent.no_show", no_show(project, agent, days[3], replacement=quiet))
    feed(h, "shift.worked", {"project_id": project, "agent_id": quiet, "date": days[3], "hours": "8"})

    run = post(h, "/payroll-runs", {"period": "2026-09", "project_id": project})
    assert run.status_code == 201, run.get_json()
    slips = {
        s["agent_id"]: s for s in get(h, f"/payroll-runs/{run.get_json()['id']}/payslips").get_json()["items"]
    }
    mine = slips[agent]
    # 8 + 7.75 + 7.42 + 7.67 = 30.84 h, paid once: the attendance's hours are not added again
    assert [(line["kind"], line["amount"]) for line in mine["lines"]] == [("hours", "616.80")]
    assert mine["attendance"] == {
        "days_recorded": 5,
        "present": 1,
        "late": 2,
        "early_leave": 2,
        "no_show": 1,
        "late_minutes": 20,
        "early_minutes": 50,
    }
    assert slips[quiet]["attendance"] == dict.fromkeys(mine["attendance"], 0)

    # frozen with the payslip: a correction arriving after approval does not rewrite the approved slip
    assert post(h, f"/payroll-runs/{run.get_json()['id']}/approve", None).status_code == 200
    correction = recorded(project, agent, days[3], status="present", corrected=True)
    feed(h, "attendance.recorded", correction)
    own = get(h, f"/payslips/{mine['id']}", role="agent", sub=agent)
    assert own.status_code == 200 and own.get_json()["attendance"] == mine["attendance"]
    assert (
        get(h, f"/payslips?agent_id={agent}", role="agent", sub=agent).get_json()["items"][0]["attendance"][
            "no_show"
        ]
        == 1
    )
    # the export keeps its columns (the summary is in the JSON only)
    export = get(h, f"/payroll-runs/{run.get_json()['id']}/export?lang=en").get_data(as_text=True)
    assert export.lstrip("\ufeff").startswith(
        "run_id,period,status,project_id,agent_id,agent_name,plan_type,"
    )
    assert "attendance" not in export.splitlines()[0]


# --- who may read it --------------------------------------------------------------------------------------


def test_the_list_is_finances_vendors_a_merchants_own_projects_and_an_agents_own_days(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("billing")
    mine, theirs = confirmed(_id()), confirmed(_id())
    feed(h, "project.confirmed", mine)
    feed(h, "project.confirmed", theirs)
    me, colleague, stranger = _id(), _id(), _id()
    for day in (1, 2, 3):
        feed(h, "attendance.recorded", recorded(mine["project_id"], me, dt.date(2026, 9, day)))
    feed(
        h, "attendance.recorded", recorded(mine["project_id"], colleague, DAY, status="late", late_minutes=3)
    )
    feed(h, "agent.no_show", no_show(theirs["project_id"], stranger))

    def listed(path: str, role: str, **kwargs: Any) -> list[tuple[str, str]]:
        response = get(h, path, role=role, **kwargs)
        assert response.status_code == 200, response.get_json()
        return [(i["agent_id"], i["date"]) for i in response.get_json()["items"]]

    for role in ("finance", "vendor", "admin"):
        assert len(listed("/attendance", role)) == 5
    assert listed(
        f"/attendance?project_id={mine['project_id']}&from=2026-09-02&to=2026-09-03", "finance"
    ) == [
        (me, "2026-09-02"),
        (me, "2026-09-03"),
    ]
    # by pages: the same rows
    first = get(h, "/attendance?per_page=2").get_json()
    assert (first["total"], len(first["items"])) == (5, 2) and first["next_after"]

    merchant = {"role": "merchant", "merchant_id": mine["merchant_id"]}
    assert len(listed("/attendance", **merchant)) == 4
    assert listed(f"/attendance?project_id={theirs['project_id']}", **merchant) == []
    assert listed(f"/attendance?agent_id={stranger}", **merchant) == []

    assert listed("/attendance", "agent", sub=me) == [(me, f"2026-09-0{d}") for d in (1, 2, 3)]
    assert listed(f"/attendance?agent_id={colleague}", "agent", sub=me) == [
        (me, f"2026-09-0{d}") for d in (1, 2, 3)
    ]

    for role in ("supervisor", "trainer", "qa"):
        refused = get(h, "/attendance", role=role)
        assert refused.status_code == 403 and refused.content_type == PROBLEM
    assert h.client.get("/api/v1/attendance").status_code == 401
    bad = get(h, "/attendance?from=yesterday")
    assert bad.status_code == 422 and "from" in bad.get_json()["errors"]
