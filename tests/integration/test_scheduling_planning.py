"""Workforce planning on PostgreSQL + RabbitMQ: history → campaign → plan (forecast, Erlang C, a roster that
follows demand) → publish (plan.published) → site plan; bad input changes nothing."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from services.scheduling import forecasting
from services.scheduling.models import DemandHistory, Roster, RosterAssignment, RosterSlot, StaffingPlan
from services.scheduling.rostering import Assignment, RosterAgent, Rules, check_roster
from shared.events.outbox import outbox
from shared.workdays import today_shanghai
from tests.integration.test_scheduling_api import apply_event, assert_problem, project_data
from tests.support import ServiceHarness

ENV = {
    "SCHEDULING_SOLVER_TIME_LIMIT": "3",
    "SCHEDULING_SOLVER_WORKERS": "2",
    "SCHEDULING_PLAN_TIME_LIMIT": "6",
}


@pytest.fixture()
def h(service_env: Callable[..., ServiceHarness]) -> ServiceHarness:
    return service_env("scheduling", env=ENV)


def seed(h: ServiceHarness, agents: int) -> str:
    """A project open 08:00–24:00 with ``agents`` admitted: every third one does after-sales too."""
    project_id, merchant_id = f"p-{uuid.uuid4().hex[:8]}", f"m-{uuid.uuid4().hex[:8]}"
    occurred = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).isoformat()
    data = project_data(project_id, merchant_id, seats=max(1, agents // 2), start="08:00", end="24:00")
    data["metrics"] = {"first_response_seconds": 20}
    with h.database.session() as session:
        apply_event(session, "project.confirmed", data, occurred)
        for i in range(agents):
            apply_event(
                session,
                "agent.admitted",
                {
                    "project_id": project_id,
                    "candidate_id": f"{project_id}-a{i:02d}",
                    "cohort_id": f"{project_id}-c",
                    "name": f"客服{i:02d}",
                    "skills": ["presale", "aftersale"]
                    if i % 3 == 0
                    else ["presale"]
                    if i % 3 == 1
                    else ["aftersale"],
                    "shifts_available": ["morning", "afternoon", "night"],
                    "quiz_score": 95.0 - i / 2,
                    "simulation_score": 95.0 - i / 2,
                    "rank": i + 1,
                },
                occurred,
            )
    return project_id


FESTIVAL = today_shanghai() + dt.timedelta(days=20)
LAST_YEAR = FESTIVAL.replace(year=FESTIVAL.year - 1)


def campaign_body(**extra: Any) -> dict[str, Any]:
    day = dt.timedelta(days=1)
    body: dict[str, Any] = {
        "name": "双11",
        "festival_day": FESTIVAL.isoformat(),
        "phases": [
            {"name": "warmup", "from": (FESTIVAL - 2 * day).isoformat(), "to": (FESTIVAL - day).isoformat()},
            {"name": "festival", "from": FESTIVAL.isoformat(), "to": FESTIVAL.isoformat()},
            {
                "name": "aftersales",
                "from": (FESTIVAL + day).isoformat(),
                "to": (FESTIVAL + 3 * day).isoformat(),
            },
        ],
        "growth": 1.2,
        "bot_share": {"presale": 0.2},
        "hours": {"festival": "00:00-24:00"},
        "service": {"presale": {"aht_seconds": 240, "concurrency": 3}, "aftersale": {"aht_seconds": 420}},
        "shifts": {"full_hours": [8], "part_hours": [4], "start_step_minutes": 60},
    }
    body.update(extra)
    return body


def history_rows() -> list[dict[str, Any]]:
    """Last year: 1,200 consultations a day, 3,000 on the festival day, kept as a channel-less total."""
    rows = []
    for offset in range(-5, 6):
        day = LAST_YEAR + dt.timedelta(days=offset)
        rows.append(
            {"date": day.isoformat(), "channel": "合计", "consultations": 3000 if offset == 0 else 1200}
        )
    return rows


def plan_for(h: ServiceHarness, project_id: str, headers: dict[str, str], **extra: Any) -> dict[str, Any]:
    r = h.client.post(
        f"/api/v1/projects/{project_id}/demand-history", json={"rows": history_rows()}, headers=headers
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    r = h.client.post(
        f"/api/v1/projects/{project_id}/campaigns", json=campaign_body(**extra), headers=headers
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    campaign = r.get_json()
    r = h.client.post(
        f"/api/v1/projects/{project_id}/campaigns/{campaign['id']}/plans", json={}, headers=headers
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.get_json()


def plan_events(h: ServiceHarness, plan_id: str) -> list[dict[str, Any]]:
    """The plan.published events staged for ``plan_id`` (their data)."""
    with h.database.session() as session:
        payloads = session.scalars(
            select(outbox.c.payload).where(
                outbox.c.event_type == "plan.published", outbox.c.payload.contains(plan_id)
            )
        ).all()
    return [json.loads(p)["data"] for p in payloads]


def walk(h: ServiceHarness, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    items, after = [], None
    while True:
        r = h.client.get(
            url + ("&" if "?" in url else "?") + "per_page=200" + (f"&after={after}" if after else ""),
            headers=headers,
        )
        assert r.status_code == 200, r.get_data(as_text=True)
        body = r.get_json()
        items += body["items"]
        after = body.get("next_after")
        if not after:
            return items


def test_a_plan_follows_the_forecast_within_the_rules_and_flips_skills(h: ServiceHarness) -> None:
    project_id = seed(h, 60)
    vendor = h.auth("vendor")
    # part-timers: agents 1 and 4 (pre-sales)
    for agent in (f"{project_id}-a01", f"{project_id}-a04"):
        r = h.client.patch(
            f"/api/v1/projects/{project_id}/pool/{agent}", json={"part_time": True}, headers=vendor
        )
        assert r.status_code == 200 and r.get_json() == {"part_time": True}
    plan = plan_for(h, project_id, vendor)
    assert plan["status"] == "draft" and plan["version"] == 1
    assert plan["date_from"] == (FESTIVAL - dt.timedelta(days=2)).isoformat()
    coverage = plan["summary"]["coverage"]
    assert coverage["required_agent_intervals"] > 0
    # 60 agents are plenty: every required half-hour is covered
    assert coverage["short"] == 0 and plan["gap"] == 0
    assert plan["summary"]["compared"]["greedy"]["coverage_pct"] <= 100
    assert plan["available_agents"] == 60 and plan["peak_agents"] > 0

    # the forecast beside last year: the festival day is last year's × 1.2
    rows = walk(
        h, f"/api/v1/projects/{project_id}/plans/{plan['id']}/intervals?date={FESTIVAL.isoformat()}", vendor
    )
    assert len(rows) == 96  # 48 half-hours × 2 channels
    last_year = sum(r["last_year"] for r in rows)
    assert last_year == pytest.approx(3000, rel=1e-3)
    assert sum(r["forecast"] for r in rows) == pytest.approx(3600, rel=1e-3)
    presale = [r for r in rows if r["channel"] == "presale"]
    assert sum(r["bot"] for r in presale) == pytest.approx(
        0.2 * sum(r["forecast"] for r in presale), rel=1e-3
    )
    # peaks need more agents than the small hours
    by_time = {r["time"]: r["required"] for r in presale}
    assert by_time["00:30"] > by_time["04:00"] and by_time["13:00"] > by_time["05:00"]

    # the roster: a draft version of planned shifts, every hard rule kept, skills respected
    with h.database.session() as session:
        roster = session.get(Roster, plan["roster_id"])
        assert roster is not None and roster.reason == "plan" and roster.status == "draft"
        shifts = session.scalars(
            select(RosterAssignment).where(RosterAssignment.roster_id == roster.id)
        ).all()
    assert shifts and all(s.skill in ("presale", "aftersale", "triage") for s in shifts)
    starts = {s.start_minute for s in shifts}
    assert len(starts) > 3, "shifts start at the times demand rises, not at three fixed times"
    pool = h.client.get(f"/api/v1/projects/{project_id}/pool?per_page=200", headers=vendor).get_json()[
        "items"
    ]
    assert {p["agent_id"] for p in pool if p["part_time"]} == {f"{project_id}-a01", f"{project_id}-a04"}
    skills = {p["agent_id"]: set(p["skills"]) for p in pool}
    part_timers = {f"{project_id}-a01", f"{project_id}-a04"}
    agents = [
        RosterAgent(p["agent_id"], frozenset(p["shifts_available"]), part_time=p["agent_id"] in part_timers)
        for p in pool
    ]
    found = check_roster(
        agents,
        [Assignment(s.agent_id, s.date, s.shift, s.start_minute, s.minutes, s.skill) for s in shifts],
        Rules(),
    )
    assert found == []
    for s in shifts:
        if s.agent_id in part_timers:
            assert s.minutes == 240 and s.skill in ("presale", "triage")
        elif s.skill == "aftersale" and s.date != FESTIVAL and s.date <= FESTIVAL:
            assert "aftersale" in skills[s.agent_id]

    # 7:3 before, 3:7 after the promotion: the forecast splits the day before 7:3 for pre-sales and the
    # day after 3:7, and on the day after the roster puts more after-sales agents on duty than pre-sales.
    # (The warm-up day's rostered heads are not compared: with a 60-agent pool both channels sit at their
    # minimum staffing there, and where a time-limited search leaves the surplus varies from run to run.)
    def forecast(day: dt.date, channel: str) -> float:
        rows = walk(h, f"/api/v1/projects/{project_id}/plans/{plan['id']}/intervals?date={day}", vendor)
        return sum(r["forecast"] for r in rows if r["channel"] == channel)

    warmup, day_after = FESTIVAL - dt.timedelta(days=1), FESTIVAL + dt.timedelta(days=1)
    assert forecast(warmup, "presale") == pytest.approx(7 / 3 * forecast(warmup, "aftersale"), rel=1e-3)
    assert forecast(day_after, "aftersale") == pytest.approx(7 / 3 * forecast(day_after, "presale"), rel=1e-3)
    days = {d["date"]: d["agents"] for d in plan["summary"]["days"]}
    after = days[day_after.isoformat()]
    assert after["aftersale"] + after["triage"] > after["presale"]

    # coverage per interval, filtered
    short = walk(h, f"/api/v1/projects/{project_id}/plans/{plan['id']}/coverage?short=true", vendor)
    assert short == []
    cover = walk(
        h, f"/api/v1/projects/{project_id}/plans/{plan['id']}/coverage?skill=presale&date={FESTIVAL}", vendor
    )
    assert cover and all(c["scheduled"] >= c["required"] for c in cover)

    # the site plan from the busiest half-hour
    site = h.client.get(
        f"/api/v1/projects/{project_id}/plans/{plan['id']}/site-plan", headers=vendor
    ).get_json()
    lines = {line["item"]: line for line in site["lines"]}
    peak = plan["peak_agents"]
    reserve = -(-peak // 10)
    assert lines["reserve agents on site"]["quantity"] == reserve
    assert lines["computers"]["quantity"] == peak + reserve + -(-(peak + reserve) // 10)
    assert lines["network bandwidth"]["quantity"] == "100–200"
    r = h.client.get(f"/api/v1/projects/{project_id}/plans/{plan['id']}/site-plan.xlsx", headers=vendor)
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(r.data))
    assert book.sheetnames == ["场地与物资", "每日"]
    assert book["场地与物资"]["A2"].value == "单班高峰客服"

    # the lead time: planned 20 days ahead, with no pilot
    rules = {w["rule"]: w["severity"] for w in plan["warnings"]}
    # (and the warm-up and after-sales days' night-time consultations wait for the 08:00 opening)
    assert rules == {"lead-time": "high", "no-pilot": "medium", "outside-service-hours": "medium"}

    # publish: the roster is in force and plan.published asks for nothing (no gap)
    r = h.client.post(f"/api/v1/projects/{project_id}/plans/{plan['id']}/publish", headers=vendor)
    assert r.status_code == 200 and r.get_json()["status"] == "published"
    with h.database.session() as session:
        assert session.get(Roster, plan["roster_id"]).status == "published"
    mine = plan_events(h, plan["id"])
    assert len(mine) == 1
    assert mine[0]["gap"] == 0 and mine[0]["intervals"] == 6 * 48
    assert_problem(
        h.client.post(f"/api/v1/projects/{project_id}/plans/{plan['id']}/publish", headers=vendor), 409
    )

    # a +30% surge on the festival day scales each planned shift by 30%, not by the seats per shift
    def festival_slots(roster_id: str) -> dict[str, int]:
        with h.database.session() as session:
            rows = session.scalars(
                select(RosterSlot).where(RosterSlot.roster_id == roster_id, RosterSlot.date == FESTIVAL)
            ).all()
        return {row.shift: row.needed for row in rows}

    def newest_roster() -> str:
        with h.database.session() as session:
            return session.scalars(
                select(Roster.id).where(Roster.project_id == project_id).order_by(Roster.version.desc())
            ).first()

    before = festival_slots(plan["roster_id"])
    r = h.client.post(
        f"/api/v1/projects/{project_id}/surges",
        json={"start_date": FESTIVAL.isoformat(), "end_date": FESTIVAL.isoformat(), "increase_pct": 30},
        headers=vendor,
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    surge = r.get_json()
    assert festival_slots(newest_roster()) == {name: n + math.ceil(n * 0.3) for name, n in before.items()}
    # cancelled: back to the plan's headcounts
    r = h.client.post(f"/api/v1/projects/{project_id}/surges/{surge['id']}/cancel", headers=vendor)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert festival_slots(newest_roster()) == before


def test_a_small_pool_leaves_intervals_short_and_publishing_asks_for_the_gap(h: ServiceHarness) -> None:
    project_id = seed(h, 6)
    vendor = h.auth("vendor")
    plan = plan_for(h, project_id, vendor)
    assert plan["summary"]["coverage"]["short"] > 0
    assert plan["required_agents"] > plan["available_agents"] == 6
    assert plan["gap"] == plan["required_agents"] - 6
    short = walk(h, f"/api/v1/projects/{project_id}/plans/{plan['id']}/coverage?short=true", vendor)
    assert short and all(row["reasons"] for row in short)
    reasons = Counter(reason for row in short for reason in row["reasons"])
    assert reasons["pool-too-small"] > 0, reasons
    r = h.client.post(f"/api/v1/projects/{project_id}/plans/{plan['id']}/publish", headers=vendor)
    assert r.status_code == 200
    (event,) = plan_events(h, plan["id"])
    assert event["gap"] == plan["gap"] and event["available"] == 6


def test_demand_outside_the_service_hours_is_reported_not_staffed(h: ServiceHarness) -> None:
    project_id = seed(h, 60)
    vendor = h.auth("vendor")
    plan = plan_for(h, project_id, vendor, hours={})  # the festival too is 08:00–24:00
    base = f"/api/v1/projects/{project_id}/plans/{plan['id']}"
    cover = walk(h, f"{base}/coverage?date={FESTIVAL}", vendor)
    assert cover and min(row["time"] for row in cover if row["required"]) >= "08:00"
    forecast = walk(h, f"{base}/intervals?date={FESTIVAL}&channel=presale", vendor)
    night = [row for row in forecast if row["time"] < "08:00"]
    assert sum(row["forecast"] for row in night) > 0  # forecast, shown, but not staffed
    assert plan["summary"]["outside_hours_agent_hours"] > 0
    assert any(w["rule"] == "outside-service-hours" for w in plan["warnings"])


def test_history_files_and_bad_input_change_nothing(h: ServiceHarness) -> None:
    project_id = seed(h, 6)
    vendor = h.auth("vendor")
    base = f"/api/v1/projects/{project_id}"
    # a file: half-hours and a daily total, Chinese headers and channels
    csv = "日期,时段,渠道,咨询量\n2025-11-10,00:00,售前,30\n2025-11-10,00:30,售前,20\n2025-11-10,,售后,480\n"
    r = h.client.post(
        f"{base}/demand-history/import", data=csv.encode(), headers={**vendor, "Content-Type": "text/csv"}
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json() == {
        "project_id": project_id, "days": 1, "intervals": 50, "channels": ["aftersale", "presale"],
        "from": "2025-11-10", "to": "2025-11-10",
    }  # fmt: skip
    days = h.client.get(f"{base}/demand-history?from=2025-11-01&to=2025-11-30", headers=vendor).get_json()[
        "items"
    ]
    assert days == [
        {"date": "2025-11-10", "channel": "aftersale", "consultations": pytest.approx(480, abs=0.05)},
        {"date": "2025-11-10", "channel": "presale", "consultations": 50.0},
    ]

    # the sample in the repository: daily totals of a Double 11, channel-less
    sample = (Path(__file__).resolve().parents[2] / "samples" / "scheduling" / "history.csv").read_bytes()
    r = h.client.post(
        f"{base}/demand-history/import", data=sample, headers={**vendor, "Content-Type": "text/csv"}
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    assert (r.get_json()["days"], r.get_json()["intervals"], r.get_json()["channels"]) == (
        18,
        18 * 48,
        ["all"],
    )

    def stored() -> int:
        with h.database.session() as session:
            return session.scalar(
                select(func.count()).select_from(DemandHistory).where(DemandHistory.project_id == project_id)
            )

    before = stored()
    bad = [
        {"rows": [{"date": "2025-11-10", "time": "00:15", "channel": "presale", "consultations": 3}]},
        {"rows": [{"date": "2025-11-10", "channel": "phone", "consultations": 3}]},
        {"rows": [{"date": "2025-11-10", "channel": "presale", "consultations": -1}]},
        {"rows": [{"date": "2025-11-11", "channel": "presale", "consultations": 9}], "profile": [1, 2]},
        {
            "rows": [
                {"date": "2025-11-11", "channel": "presale", "consultations": 9},
                {"date": "2025-11-11", "time": "10:00", "channel": "presale", "consultations": 9},
            ]
        },
        {"rows": []},
    ]
    for body in bad:
        assert_problem(h.client.post(f"{base}/demand-history", json=body, headers=vendor), 422)
    bad_csv = "日期,时段,渠道,咨询量\n2025-11-12,25:00,售前,3\n"
    r = h.client.post(
        f"{base}/demand-history/import", data=bad_csv.encode(), headers={**vendor, "Content-Type": "text/csv"}
    )
    assert_problem(r, 422)
    assert stored() == before

    # campaigns that cannot be planned
    overlapping = campaign_body()
    overlapping["phases"][1]["from"] = overlapping["phases"][0]["to"]
    past = campaign_body(festival_day=(today_shanghai() - dt.timedelta(days=1)).isoformat())
    past["phases"] = [{"name": "festival", "from": past["festival_day"], "to": past["festival_day"]}]
    for body in (
        overlapping,
        campaign_body(method="guess"),
        campaign_body(hours={"festival": "25:00-24:00"}),
        campaign_body(service={"presale": {"level": 1.5}}),
        campaign_body(shifts={"full_hours": [30]}),
        campaign_body(phases=[{"name": "festival", "from": "2026-01-01", "to": "2026-01-01", "uv": 10}]),
        campaign_body(festival_day=(FESTIVAL + dt.timedelta(days=40)).isoformat()),
    ):
        assert_problem(h.client.post(f"{base}/campaigns", json=body, headers=vendor), 422)
    r = h.client.post(f"{base}/campaigns", json=past, headers=vendor)
    assert r.status_code == 201
    assert_problem(
        h.client.post(f"{base}/campaigns/{r.get_json()['id']}/plans", json={}, headers=vendor), 422
    )
    with h.database.session() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(StaffingPlan).where(StaffingPlan.project_id == project_id)
            )
            == 0
        )

    # who may do what
    assert (
        h.client.post(f"{base}/campaigns", json=campaign_body(), headers=h.auth("agent")).status_code == 403
    )
    other = h.auth("merchant", merchant_id="someone-else")
    assert h.client.get(f"{base}/campaigns", headers=other).status_code == 404
    assert_problem(h.client.patch(f"{base}/pool/nobody", json={"part_time": True}, headers=vendor), 404)


def test_the_forecast_splits_a_channel_less_history_seven_to_three_then_three_to_seven() -> None:
    # (a unit check beside the service test: the same split the plan above relies on)
    split = forecasting.Split()
    assert split.presale_share(LAST_YEAR - dt.timedelta(days=1), LAST_YEAR) == 0.7
    assert split.presale_share(LAST_YEAR + dt.timedelta(days=3), LAST_YEAR) == 0.3
    assert split.presale_share(LAST_YEAR + dt.timedelta(days=4), LAST_YEAR) == 0.7
