"""Scheduling on PostgreSQL + RabbitMQ: pool from events, rosters, departures, surges, timesheets."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.scheduling.handlers import HANDLERS
from services.scheduling.roster import PROJECT_NOT_FOUND
from services.scheduling.rostering import Assignment, RosterAgent, Rules, check_roster, parse_hhmm
from shared.events.envelope import build_envelope, receive
from shared.events.outbox import outbox
from shared.uow import UnitOfWork
from shared.web import app_state
from shared.workdays import today_shanghai
from tests.support import ServiceHarness, wait_until

PROBLEM = "application/problem+json"
#: solver time limit kept small so the suite stays fast (the problems here solve in milliseconds)
ENV = {"SCHEDULING_SOLVER_TIME_LIMIT": "3", "SCHEDULING_SOLVER_WORKERS": "2"}


def project_data(
    project_id: str, merchant_id: str, *, seats: int = 10, start: str = "09:00", end: str = "17:00"
):
    return {
        "project_id": project_id,
        "merchant_id": merchant_id,
        "seats": seats,
        "service_type": "presale",
        "service_hours": {"start": start, "end": end},
        "go_live_date": today_shanghai().isoformat(),
        "assessor": "merchant",
        "metrics": {"daily_consultations": 2000},
        "company_name": "杭州某服饰旗舰店",
    }


def admitted(project_id: str, i: int, shifts: list[str] | None = None) -> dict[str, Any]:
    # agent 0 scores best: 95, 94, … so the pool order is agent 0, 1, 2, …
    return {
        "project_id": project_id,
        "candidate_id": f"{project_id}-agent-{i:02d}",
        "cohort_id": f"{project_id}-cohort",
        "name": f"客服{i:02d}",
        "skills": ["presale"],
        "shifts_available": shifts or ["morning", "afternoon", "night"],
        "quiz_score": 95.0 - i,
        "simulation_score": 95.0 - i,
        "rank": i + 1,
    }


def apply_event(session: Session, event_type: str, data: dict[str, Any], occurred: str) -> None:
    """Apply an event in this session as the consumer does: loaded by the catalogue, through the handler."""
    event = receive(build_envelope(event_type, data, occurred_at=dt.datetime.fromisoformat(occurred)))
    HANDLERS[event_type](UnitOfWork(session), event)


def seed(h: ServiceHarness, *, agents: int = 20, seats: int = 10, start: str = "09:00", end: str = "17:00"):
    """A confirmed project with admitted agents, written through the same functions the handlers use."""
    project_id, merchant_id = f"p-{uuid.uuid4().hex[:8]}", f"m-{uuid.uuid4().hex[:8]}"
    occurred = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).isoformat()
    with h.database.session() as session:
        apply_event(
            session,
            "project.confirmed",
            project_data(project_id, merchant_id, seats=seats, start=start, end=end),
            occurred,
        )
        for i in range(agents):
            apply_event(session, "agent.admitted", admitted(project_id, i), occurred)
    return project_id, merchant_id


def agent_id(project_id: str, i: int) -> str:
    return f"{project_id}-agent-{i:02d}"


@pytest.fixture()
def h(service_env: Callable[..., ServiceHarness]) -> ServiceHarness:
    return service_env("scheduling", env=ENV)


def days(n: int) -> str:
    return (today_shanghai() + dt.timedelta(days=n)).isoformat()


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == PROBLEM
    return response.get_json()


def rules_hold(pool: list[dict[str, Any]], shifts: list[dict[str, Any]]) -> list[Any]:
    agents = [RosterAgent(a["agent_id"], frozenset(a["shifts_available"])) for a in pool]
    items = [
        Assignment(
            s["agent_id"],
            dt.date.fromisoformat(s["date"]),
            s["shift"],
            parse_hhmm(s["start"]),
            int(float(s["hours"]) * 60),
        )
        for s in shifts
    ]
    return check_roster(agents, items, Rules())


# --- pool from events -------------------------------------------------------------------------------------


def test_twenty_admitted_agents_become_15_active_and_5_reserve(h: ServiceHarness) -> None:
    h.start_worker()
    project_id, merchant_id = f"p-{uuid.uuid4().hex[:8]}", f"m-{uuid.uuid4().hex[:8]}"
    # the agents first, the project last: the pool must not depend on the order events arrive in
    for i in reversed(range(20)):
        h.publish("agent.admitted", admitted(project_id, i))
    h.publish("project.confirmed", project_data(project_id, merchant_id, seats=10))
    vendor = h.auth("vendor")

    def pool() -> Any:
        r = h.client.get(f"/api/v1/projects/{project_id}/pool?per_page=50", headers=vendor)
        return r.status_code == 200 and r.get_json()["total"] == 20 and r.get_json()

    body = wait_until(pool, what="20 agents in the pool")
    assert (body["active"], body["reserve"], body["active_target"]) == (15, 5, 15)
    roles = [a["role"] for a in body["items"]]
    assert roles == ["active"] * 15 + ["reserve"] * 5
    assert [a["agent_id"] for a in body["items"][:2]] == [agent_id(project_id, 0), agent_id(project_id, 1)]
    reserve = h.client.get(f"/api/v1/projects/{project_id}/pool?role=reserve", headers=vendor)
    assert reserve.headers["X-Total-Count"] == "5"
    own = h.client.get(
        f"/api/v1/projects/{project_id}/pool", headers=h.auth("merchant", merchant_id=merchant_id)
    )
    assert own.status_code == 200
    other = h.client.get(f"/api/v1/projects/{project_id}/pool", headers=h.auth("merchant", merchant_id="m-x"))
    assert assert_problem(other, 404)["detail"] == PROJECT_NOT_FOUND


# --- rosters ----------------------------------------------------------------------------------------------


def test_a_generated_roster_covers_every_shift_within_the_hard_rules_and_is_published(
    h: ServiceHarness,
) -> None:
    h.start_worker()
    tap = h.tap("roster.published")
    project_id, merchant_id = seed(h)
    vendor = h.auth("vendor")
    r = h.client.post(
        f"/api/v1/projects/{project_id}/roster", json={"from": days(1), "to": days(14)}, headers=vendor
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    roster = r.get_json()
    assert roster["version"] == 1 and roster["status"] == "published"
    # which one is kept depends on what the solver finds in its time on a loaded machine; either must cover
    assert roster["method"] in {"cp-sat", "greedy"}
    # 09:00–17:00 is one 8-hour day shift; 10 seats × 14 days, and 15 active agents cover it alone
    assert (roster["needed"], roster["assigned"], roster["uncovered"]) == (140, 140, [])
    assert {s["shift"] for s in roster["shifts"]} == {"morning"}
    assert {(s["start"], s["end"]) for s in roster["shifts"]} == {("09:00", "17:00")}
    assert all(s["role"] == "active" for s in roster["shifts"])
    pool = h.client.get(f"/api/v1/projects/{project_id}/pool?per_page=50", headers=vendor).get_json()["items"]
    assert rules_hold(pool, roster["shifts"]) == []

    event = tap.wait_for("roster.published")[0]
    assert event.data["project_id"] == project_id and event.data["version"] == 1
    assert (event.data["from"], event.data["to"]) == (days(1), days(14))
    assert len(event.data["shifts"]) == 140 and event.data["uncovered"] == []

    # the roster in force, filtered; an agent sees only its own shifts
    one_day = h.client.get(f"/api/v1/projects/{project_id}/roster?date={days(2)}&per_page=50", headers=vendor)
    assert one_day.get_json()["total"] == 10
    me = agent_id(project_id, 0)
    mine = h.client.get(f"/api/v1/projects/{project_id}/roster?per_page=50", headers=h.auth("agent", sub=me))
    assert mine.status_code == 200
    assert mine.get_json()["items"] and {s["agent_id"] for s in mine.get_json()["items"]} == {me}
    stranger = h.client.get(f"/api/v1/projects/{project_id}/roster", headers=h.auth("agent", sub="someone"))
    assert_problem(stranger, 404)
    merchant = h.client.get(
        f"/api/v1/projects/{project_id}/roster", headers=h.auth("merchant", merchant_id=merchant_id)
    )
    assert merchant.status_code == 200

    csv_text = h.client.get(f"/api/v1/projects/{project_id}/roster.csv", headers=vendor).get_data(
        as_text=True
    )
    assert (
        csv_text.splitlines()[0]
        == "\ufeff日期,班次,开始,结束,工时(小时),坐席编号,坐席姓名,岗位,排班版本,缺员人数,缺员原因"
    )
    assert len(csv_text.splitlines()) == 1 + 140
    ics = h.client.get(f"/api/v1/projects/{project_id}/roster.ics", headers=h.auth("agent", sub=me))
    assert ics.content_type.startswith("text/calendar")
    text = ics.get_data(as_text=True)
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert text.count("BEGIN:VEVENT") == len(mine.get_json()["items"])
    # 09:00 in Shanghai is 01:00 UTC
    assert f"DTSTART:{mine.get_json()['items'][0]['date'].replace('-', '')}T010000Z" in text

    # regenerating keeps history: version 2 is in force, version 1 is still listed
    again = h.client.post(
        f"/api/v1/projects/{project_id}/roster", json={"from": days(1), "to": days(7)}, headers=vendor
    )
    assert again.get_json()["version"] == 2
    versions = h.client.get(f"/api/v1/projects/{project_id}/rosters", headers=vendor).get_json()
    assert [v["version"] for v in versions["items"]] == [2, 1]
    view = h.client.get(f"/api/v1/projects/{project_id}/roster?from={days(1)}&to={days(14)}", headers=vendor)
    assert [v["version"] for v in view.get_json()["versions"]] == [1, 2]


def test_when_the_rules_cannot_be_met_the_gaps_are_listed_with_the_binding_rule(h: ServiceHarness) -> None:
    # round the clock: three 8-hour shifts of 10 agents = 30 a day, but the pool has 20 agents
    project_id, _ = seed(h, start="00:00", end="24:00")
    r = h.client.post(
        f"/api/v1/projects/{project_id}/roster",
        json={"from": days(1), "to": days(3)},
        headers=h.auth("vendor"),
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    roster = r.get_json()
    assert roster["needed"] == 90 and roster["assigned"] < 90 and roster["uncovered"]
    assert sum(g["missing"] for g in roster["uncovered"]) == 90 - roster["assigned"]
    assert roster["binding_rules"][0]["rule"] == "one-shift-per-day"
    assert {s["shift"] for s in roster["shifts"]} == {"night", "morning", "afternoon"}


def test_bad_roster_requests_change_nothing(h: ServiceHarness) -> None:
    project_id, _ = seed(h, agents=3)
    vendor = h.auth("vendor")
    url = f"/api/v1/projects/{project_id}/roster"
    body = assert_problem(h.client.post(url, json={"from": days(5), "to": days(1)}, headers=vendor), 422)
    assert "to" in body["errors"]
    body = assert_problem(h.client.post(url, json={"from": days(1), "to": days(32)}, headers=vendor), 422)
    assert "31 days" in body["errors"]["to"][0]
    assert_problem(h.client.post(url, json={"from": days(-1), "to": days(1)}, headers=vendor), 422)
    assert_problem(h.client.post(url, json={"from": days(1)}, headers=vendor), 422)
    assert_problem(
        h.client.post("/api/v1/projects/nope/roster", json={"from": days(1), "to": days(2)}, headers=vendor),
        404,
    )
    assert_problem(
        h.client.post(
            url, json={"from": days(1), "to": days(2)}, headers=h.auth("merchant", merchant_id="m")
        ),
        403,
    )
    assert h.client.get(f"/api/v1/projects/{project_id}/rosters", headers=vendor).get_json()["total"] == 0


# --- attrition --------------------------------------------------------------------------------------------


def test_a_departure_hands_the_future_shifts_to_the_best_reserve(h: ServiceHarness) -> None:
    h.start_worker()
    tap = h.tap("agent.departed", "agent.replaced", "reserve.shortfall", "roster.published")
    project_id, _ = seed(h)
    vendor = h.auth("vendor")
    h.client.post(
        f"/api/v1/projects/{project_id}/roster", json={"from": days(1), "to": days(10)}, headers=vendor
    )
    leaver = agent_id(project_id, 0)
    best_reserve = agent_id(project_id, 15)  # 16th by admission score: the first reserve
    before = h.client.get(
        f"/api/v1/projects/{project_id}/roster?agent_id={leaver}&per_page=50", headers=vendor
    )
    future = [s for s in before.get_json()["items"] if s["date"] >= days(3)]
    assert future

    r = h.client.post(
        f"/api/v1/agents/{leaver}/departure",
        json={"project_id": project_id, "date": days(3), "reason": "personal"},
        headers=vendor,
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    out = r.get_json()
    departure = out["departures"][0]
    assert departure["replacement_id"] == best_reserve and departure["role"] == "active"
    taken = departure["takeovers"][0]["shifts"]
    assert [(s["date"], s["shift"]) for s in taken] == [(s["date"], s["shift"]) for s in future]
    assert departure["uncovered"] == [] and out["reserve_shortfall"] == 0 and out["roster_version"] == 2

    departed = tap.wait_for("agent.departed")[0].data
    assert (departed["agent_id"], departed["replacement_id"], departed["date"]) == (
        leaver,
        best_reserve,
        days(3),
    )
    replaced = tap.wait_for("agent.replaced")[0].data
    assert (replaced["agent_id"], replaced["replacement_id"]) == (leaver, best_reserve)
    assert tap.wait_for("roster.published", 2)[1].data["version"] == 2

    after = h.client.get(
        f"/api/v1/projects/{project_id}/roster?agent_id={leaver}&from={days(3)}&to={days(10)}", headers=vendor
    )
    assert after.get_json()["total"] == 0
    pool = h.client.get(f"/api/v1/projects/{project_id}/pool?per_page=50", headers=vendor).get_json()
    assert (pool["active"], pool["reserve"]) == (15, 4)
    assert best_reserve in [a["agent_id"] for a in pool["items"] if a["role"] == "active"]
    shifts = h.client.get(
        f"/api/v1/projects/{project_id}/roster?from={days(1)}&to={days(10)}&per_page=200", headers=vendor
    )
    assert shifts.get_json()["uncovered"] == []
    assert (
        rules_hold(
            pool["items"] + [{"agent_id": leaver, "shifts_available": ["morning"]}],
            shifts.get_json()["items"],
        )
        == []
    )

    again = h.client.post(
        f"/api/v1/agents/{leaver}/departure", json={"project_id": project_id, "date": days(4)}, headers=vendor
    )
    assert assert_problem(again, 409)["rule"] == "already-departed"
    early = h.client.post(
        f"/api/v1/agents/{agent_id(project_id, 1)}/departure",
        json={"project_id": project_id, "date": days(-30)},
        headers=vendor,
    )
    assert assert_problem(early, 422)["rule"] == "departure-before-admission"
    unknown = h.client.post(
        "/api/v1/agents/nobody/departure", json={"project_id": project_id, "date": days(3)}, headers=vendor
    )
    assert_problem(unknown, 404)


def test_mass_attrition_beyond_the_reserve_emits_a_shortfall(h: ServiceHarness) -> None:
    h.start_worker()
    tap = h.tap("agent.departed", "agent.replaced", "reserve.shortfall")
    project_id, _ = seed(h)
    leavers = [agent_id(project_id, i) for i in range(6)]  # six active agents, five reserves
    r = h.client.post(
        "/api/v1/departures",
        json={"project_id": project_id, "date": days(1), "agent_ids": leavers, "reason": "mass attrition"},
        headers=h.auth("supervisor"),
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    out = r.get_json()
    assert [d["replacement_id"] for d in out["departures"]] == [
        agent_id(project_id, i) for i in range(15, 20)
    ] + [None]
    assert out["reserve_shortfall"] == 1
    assert len(tap.wait_for("agent.departed", 6)) == 6
    assert len(tap.wait_for("agent.replaced", 5)) == 5
    assert tap.wait_for("reserve.shortfall")[0].data == {
        "project_id": project_id,
        "missing": 1,
        "reason": f"1 departed agent(s) on {days(1)} without a reserve agent to take over",
    }


# --- surges -----------------------------------------------------------------------------------------------


def test_surges_follow_the_notice_rule_and_are_covered_by_reserves(h: ServiceHarness) -> None:
    h.start_worker()
    tap = h.tap("surge.accepted", "surge.rejected", "reserve.shortfall")
    project_id, merchant_id = seed(h)
    vendor, merchant = h.auth("vendor"), h.auth("merchant", merchant_id=merchant_id)
    h.client.post(
        f"/api/v1/projects/{project_id}/roster", json={"from": days(1), "to": days(10)}, headers=vendor
    )
    url = f"/api/v1/projects/{project_id}/surges"

    refused = h.client.post(
        url, json={"start_date": days(2), "end_date": days(4), "increase_pct": 30}, headers=merchant
    )
    body = assert_problem(refused, 422)
    assert body["rule"] == "surge-notice" and body["earliest_start_date"] == days(3)
    assert days(3) in body["detail"] and "3 days' notice" in body["detail"]
    rejected = tap.wait_for("surge.rejected")[0].data
    assert (rejected["surge_id"], rejected["increase_pct"], rejected["extra_seats"]) == (
        body["surge_id"],
        30.0,
        3,
    )

    too_big = assert_problem(
        h.client.post(
            url, json={"start_date": days(20), "end_date": days(21), "increase_pct": 61}, headers=merchant
        ),
        422,
    )
    assert too_big["rule"] == "surge-above-limit" and "new order" in too_big["detail"]

    accepted = h.client.post(
        url, json={"start_date": days(3), "end_date": days(5), "increase_pct": 30}, headers=merchant
    )
    assert accepted.status_code == 201, accepted.get_data(as_text=True)
    surge = accepted.get_json()
    assert (surge["status"], surge["extra_seats"], surge["covered"], surge["uncovered"]) == (
        "accepted",
        3,
        3,
        0,
    )
    assert surge["roster_version"] == 2
    event = tap.wait_for("surge.accepted")[0].data
    assert (event["surge_id"], event["covered"], event["uncovered"]) == (surge["id"], 3, 0)
    day = h.client.get(f"/api/v1/projects/{project_id}/roster?date={days(4)}", headers=vendor).get_json()
    assert day["total"] == 13 and sum(1 for s in day["items"] if s["role"] == "reserve") == 3

    overlap = h.client.post(
        url, json={"start_date": days(5), "end_date": days(8), "increase_pct": 10}, headers=merchant
    )
    assert assert_problem(overlap, 409)["rule"] == "surge-overlap"
    other = h.client.post(
        url,
        json={"start_date": days(9), "end_date": days(9), "increase_pct": 10},
        headers=h.auth("merchant", merchant_id="m-other"),
    )
    assert_problem(other, 404)
    bad = assert_problem(
        h.client.post(
            url, json={"start_date": days(9), "end_date": days(8), "increase_pct": 0}, headers=merchant
        ),
        422,
    )
    assert set(bad["errors"]) == {"end_date", "increase_pct"}

    cancelled = h.client.post(f"{url}/{surge['id']}/cancel", headers=vendor)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    day = h.client.get(f"/api/v1/projects/{project_id}/roster?date={days(4)}", headers=vendor).get_json()
    assert day["total"] == 10
    assert_problem(h.client.post(f"{url}/{surge['id']}/cancel", headers=merchant), 403)
    listed = h.client.get(url, headers=merchant).get_json()
    assert sorted(s["status"] for s in listed["items"]) == ["cancelled", "rejected", "rejected"]


def test_a_surge_without_reserves_announces_its_shortage_once(h: ServiceHarness) -> None:
    h.start_worker()
    tap = h.tap("surge.accepted", "reserve.shortfall")
    project_id, _ = seed(h, agents=10)  # all ten are active: no reserve, no roster yet
    r = h.client.post(
        f"/api/v1/projects/{project_id}/surges",
        json={"start_date": days(7), "end_date": days(8), "increase_pct": "60"},
        headers=h.auth("vendor"),
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    assert (r.get_json()["extra_seats"], r.get_json()["covered"], r.get_json()["uncovered"]) == (6, 0, 6)
    assert tap.wait_for("surge.accepted")[0].data["uncovered"] == 6
    # the same six seats are not announced again as a reserve.shortfall (recruitment would ask twice)
    with h.database.session() as session:
        types = session.scalars(
            select(outbox.c.event_type).where(
                outbox.c.payload.contains(project_id),
                outbox.c.event_type.in_(("surge.accepted", "reserve.shortfall")),
            )
        )
        assert sorted(types) == ["surge.accepted"]


def test_the_surge_rule_answers_what_a_surge_request_would_be_told(h: ServiceHarness) -> None:
    # 17:00 UTC is already the next day in Shanghai: notice is counted from the Shanghai date
    app_state(h.app).clock = lambda: dt.datetime(2026, 3, 9, 17, 0, tzinfo=dt.UTC)
    url = "/api/v1/surges/rule"
    base = {
        "small_pct": "30",
        "small_notice_days": 3,
        "large_pct": "60",
        "large_notice_days": 7,
        "max_roster_days": 31,
        "today": "2026-03-10",
    }
    plain = h.client.get(url, headers=h.auth("agent"))
    assert plain.status_code == 200, plain.get_data(as_text=True)
    assert plain.get_json() == {
        **base,
        "increase_pct": None,
        "allowed": None,
        "required_notice_days": None,
        "earliest_start": None,
    }
    small = h.client.get(f"{url}?increase_pct=25", headers=h.auth("merchant", merchant_id="m-1")).get_json()
    assert small == {
        **base,
        "increase_pct": "25",
        "allowed": True,
        "required_notice_days": 3,
        "earliest_start": "2026-03-13",
    }
    fields = ("increase_pct", "allowed", "required_notice_days", "earliest_start")
    large = h.client.get(f"{url}?increase_pct=45.5", headers=h.auth("vendor")).get_json()
    assert [large[f] for f in fields] == ["45.5", True, 7, "2026-03-17"]
    too_big = h.client.get(f"{url}?increase_pct=61", headers=h.auth("finance")).get_json()
    assert [too_big[f] for f in fields] == ["61", False, None, None]
    for bad in ("0", "-5", "abc", "NaN"):
        assert_problem(h.client.get(f"{url}?increase_pct={bad}", headers=h.auth("vendor")), 422)
    assert_problem(h.client.get(url), 401)


# --- timesheets -------------------------------------------------------------------------------------------


def test_timesheets_replace_earlier_entries_and_emit_shift_worked(h: ServiceHarness) -> None:
    h.start_worker()
    tap = h.tap("shift.worked")
    project_id, merchant_id = seed(h, agents=3)
    vendor = h.auth("vendor")
    a0, a1 = agent_id(project_id, 0), agent_id(project_id, 1)
    one = {"project_id": project_id, "agent_id": a0, "date": days(-1), "hours": "7.5"}
    r = h.client.post("/api/v1/timesheets", json=one, headers=vendor)
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.get_json()["items"][0]["hours"] == "7.50" and r.get_json()["replaced"] == 0
    many = [{**one, "hours": 8}, {"project_id": project_id, "agent_id": a1, "date": days(-1), "hours": 6}]
    r = h.client.post("/api/v1/timesheets", json=many, headers=vendor)
    assert r.status_code == 201 and r.get_json()["replaced"] == 1
    events = tap.wait_for("shift.worked", 3)
    assert [(e.data["agent_id"], e.data["hours"]) for e in events] == [
        (a0, "7.50"),
        (a0, "8.00"),
        (a1, "6.00"),
    ]

    current = h.client.get(
        f"/api/v1/timesheets?project_id={project_id}", headers=h.auth("finance")
    ).get_json()
    assert current["total"] == 2 and {t["hours"] for t in current["items"]} == {"8.00", "6.00"}
    history = h.client.get(f"/api/v1/timesheets?project_id={project_id}&include_history=true", headers=vendor)
    assert history.get_json()["total"] == 3
    mine = h.client.get("/api/v1/timesheets", headers=h.auth("agent", sub=a1)).get_json()
    assert [t["agent_id"] for t in mine["items"]] == [a1]
    theirs = h.client.get("/api/v1/timesheets", headers=h.auth("merchant", merchant_id="m-other")).get_json()
    assert theirs["total"] == 0
    csv_text = h.client.get(
        f"/api/v1/timesheets.csv?project_id={project_id}&lang=en",
        headers=h.auth("merchant", merchant_id=merchant_id),
    ).get_data(as_text=True)
    assert (
        csv_text.splitlines()[0]
        == "\ufeffdate,project_id,agent_id,hours,current,recorded_at,recorded_by,note"
    )
    assert len(csv_text.splitlines()) == 3

    bad = [
        {**one, "hours": 0},
        {**one, "date": days(1), "hours": 25},
        {"project_id": project_id, "agent_id": "stranger", "date": days(-1), "hours": 4},
    ]
    body = assert_problem(h.client.post("/api/v1/timesheets", json=bad, headers=vendor), 422)
    assert set(body["errors"]) >= {"entries.0.hours", "entries.1.hours"}
    body = assert_problem(
        h.client.post("/api/v1/timesheets", json=[{**one, "date": days(1)}, bad[2]], headers=vendor), 422
    )
    assert set(body["errors"]) == {"entries.0.date", "entries.1.agent_id"}
    assert_problem(
        h.client.post("/api/v1/timesheets", json={**one, "project_id": "nope"}, headers=vendor), 404
    )
    assert (
        h.client.get(
            f"/api/v1/timesheets?project_id={project_id}&include_history=true", headers=vendor
        ).get_json()["total"]
        == 3
    )


# --- staffing estimate ------------------------------------------------------------------------------------


def test_staffing_estimate_with_seed_003s_figures(h: ServiceHarness) -> None:
    r = h.client.post(
        "/api/v1/staffing/estimate",
        json={"presale": {"total_receptions": 2000, "agent_daily_capacity": 220}},
        headers=h.auth("vendor"),
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert (body["presale"]["exact"], body["presale"]["headcount"], body["headcount"]) == ("9.0909", 10, 10)
    assert body["funnel"] == {"seats": 10, "match": 30, "admit": 20, "schedule": 15, "reserve": 5}
    bad = h.client.post("/api/v1/staffing/estimate", json={"presale": {"uv": 1000}}, headers=h.auth("vendor"))
    assert "presale.call_in_rate" in assert_problem(bad, 422)["errors"]


def test_a_draft_version_takes_effect_only_when_published(h: ServiceHarness) -> None:
    h.start_worker()
    tap = h.tap("roster.published")
    project_id, _ = seed(h)
    vendor = h.auth("vendor")
    url = f"/api/v1/projects/{project_id}/roster"
    draft = h.client.post(
        url, json={"from": days(1), "to": days(2), "publish": False}, headers=vendor
    ).get_json()
    assert draft["status"] == "draft" and draft["published_at"] is None
    assert h.client.get(f"{url}?from={days(1)}&to={days(2)}", headers=vendor).get_json()["total"] == 0
    published = h.client.post(f"/api/v1/projects/{project_id}/rosters/{draft['id']}/publish", headers=vendor)
    assert published.status_code == 200 and published.get_json()["status"] == "published"
    assert h.client.get(f"{url}?from={days(1)}&to={days(2)}", headers=vendor).get_json()["total"] == 20
    assert tap.wait_for("roster.published")[0].data["roster_id"] == draft["id"]
    again = h.client.post(f"/api/v1/projects/{project_id}/rosters/{draft['id']}/publish", headers=vendor)
    assert assert_problem(again, 409)["rule"] == "already-published"


# --- keyset pagination ------------------------------------------------------------------------------------


def _walk(h: ServiceHarness, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every item of a list, page by page through ``next_after``."""
    page = h.client.get(url, headers=headers)
    assert page.status_code == 200, page.get_data(as_text=True)
    body = page.get_json()
    items, total = list(body["items"]), body["total"]
    while body["next_after"] is not None:
        page = h.client.get(f"{url}&after={body['next_after']}", headers=headers)
        assert page.status_code == 200, page.get_data(as_text=True)
        body = page.get_json()
        assert body["total"] == total and body["page"] == 0  # the total rides in the cursor
        items += body["items"]
    assert len(items) == total
    return items


def test_lists_walk_with_an_after_cursor_in_the_same_order_as_pages(h: ServiceHarness) -> None:
    project_id, _merchant_id = seed(h, agents=3)
    vendor = h.auth("vendor")
    entries = [
        {"project_id": project_id, "agent_id": agent_id(project_id, a), "date": days(-d), "hours": 8}
        for a in range(3)
        for d in range(1, 4)
    ]
    assert h.client.post("/api/v1/timesheets", json=entries, headers=vendor).status_code == 201
    # a re-entry: history holds both, the current list only the new one
    again = {**entries[0], "hours": 7}
    assert h.client.post("/api/v1/timesheets", json=again, headers=vendor).status_code == 201

    for query in (f"project_id={project_id}", f"project_id={project_id}&include_history=true"):
        whole = h.client.get(f"/api/v1/timesheets?{query}&per_page=50", headers=vendor).get_json()
        walked = _walk(h, f"/api/v1/timesheets?{query}&per_page=4", vendor)
        assert [t["id"] for t in walked] == [t["id"] for t in whole["items"]]
        assert whole["next_after"] is None
    assert len(walked) == 10
    dates = [(t["date"], t["agent_id"], t["recorded_at"]) for t in walked]
    assert dates == sorted(dates)
    # an agent walks its own entries only
    mine = _walk(h, "/api/v1/timesheets?per_page=1", h.auth("agent", sub=agent_id(project_id, 1)))
    assert [t["date"] for t in mine] == [days(-3), days(-2), days(-1)]

    for _ in range(3):
        made = h.client.post(
            f"/api/v1/projects/{project_id}/roster", json={"from": days(1), "to": days(2)}, headers=vendor
        )
        assert made.status_code == 201, made.get_data(as_text=True)
    versions = _walk(h, f"/api/v1/projects/{project_id}/rosters?per_page=1", vendor)
    assert [v["version"] for v in versions] == [3, 2, 1]

    garbled = h.client.get(f"/api/v1/projects/{project_id}/rosters?after=not-a-cursor", headers=vendor)
    assert garbled.status_code == 422 and garbled.content_type == PROBLEM


def kpi_event(project_id: str, agent: str, period: str, score: str, streak: int, version: int = 1) -> dict:
    return {
        "project_id": project_id,
        "agent_id": agent,
        "period": period,
        "score": score,
        "components": {"data": score, "performance": None, "execution": None},
        "targets_met": False,
        "below_threshold_streak": streak,
        "warning": streak >= 2,
        "version": version,
    }


def test_kpi_scored_flags_an_agent_below_the_threshold_two_months_running(h: ServiceHarness) -> None:
    project_id, merchant_id = seed(h, agents=4, seats=2)
    weak, fine = agent_id(project_id, 1), agent_id(project_id, 2)
    h.start_worker()
    h.publish("kpi.scored", kpi_event(project_id, weak, "2026-10", "55.00", 1))
    h.publish("kpi.scored", kpi_event(project_id, fine, "2026-10", "85.00", 0))
    h.publish("kpi.scored", kpi_event(project_id, weak, "2026-11", "52.50", 2))
    # an October re-score arriving after November's changes nothing: November is the latest month
    h.publish("kpi.scored", kpi_event(project_id, weak, "2026-10", "58.00", 1, version=2))
    h.publish("kpi.scored", kpi_event(project_id, fine, "2026-11", "88.00", 0))
    url = f"/api/v1/projects/{project_id}/kpi-warnings"
    supervisor = h.auth("supervisor")
    wait_until(
        lambda: (
            h.client.get(f"{url}?all=true", headers=supervisor).get_json()["items"][-1]["period"] == "2026-11"
            and len(h.client.get(f"{url}?all=true", headers=supervisor).get_json()["items"]) == 2
        ),
        what="the KPI events",
    )
    flagged = h.client.get(url, headers=supervisor).get_json()
    assert flagged["total"] == 1
    assert flagged["items"][0] == {
        "agent_id": weak,
        "name": "客服01",
        "period": "2026-11",
        "score": "52.50",
        "below_threshold_streak": 2,
        "warning": True,
        "updated_at": flagged["items"][0]["updated_at"],
    }
    every = h.client.get(f"{url}?all=true", headers=supervisor).get_json()
    assert [(i["agent_id"], i["warning"]) for i in every["items"]] == [(weak, True), (fine, False)]
    # merchants do not see it; an unknown project is a 404; a bad flag a 422
    assert_problem(h.client.get(url, headers=h.auth("merchant", merchant_id=merchant_id)), 403)
    assert_problem(h.client.get("/api/v1/projects/nope/kpi-warnings", headers=supervisor), 404)
    assert_problem(h.client.get(f"{url}?all=maybe", headers=supervisor), 422)
