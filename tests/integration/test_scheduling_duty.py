"""The on-duty supervisor desk (值班) and mass attrition (全员上岗) on PostgreSQL: the rota and its overlap
rule, gaps, help requests routed to the supervisor on duty with a response-time clock, the settlement
authority, hand-overs, and all-hands declared only once departures exceed the reserve."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from services.scheduling.duty import instant, on_duty
from services.scheduling.models import Alert, AllHands, DutyShift, HelpRequest
from shared.events.outbox import outbox
from shared.web import app_state
from shared.workdays import today_shanghai
from tests.integration.test_scheduling_api import (
    ENV,
    agent_id,
    apply_event,
    assert_problem,
    project_data,
    seed,
)
from tests.support import Clock, ServiceHarness

#: a fixed business day ahead of the real one: agents are admitted "now", so departures on DAY are valid
DAY = today_shanghai() + dt.timedelta(days=1)
NEXT = DAY + dt.timedelta(days=1)


def at(day: dt.date, hhmm: str, seconds: int = 0) -> dt.datetime:
    hours, minutes = hhmm.split(":")
    return instant(day, int(hours) * 60 + int(minutes)) + dt.timedelta(seconds=seconds)


@pytest.fixture()
def h(service_env: Callable[..., ServiceHarness]) -> ServiceHarness:
    return service_env("scheduling", env=ENV)


@pytest.fixture()
def clock(h: ServiceHarness) -> Clock:
    c = Clock(at(DAY, "07:00"))
    app_state(h.app).clock = c
    return c


def events(h: ServiceHarness, event_type: str) -> list[dict[str, Any]]:
    with h.database.session() as session:
        rows = session.scalars(
            select(outbox.c.payload).where(outbox.c.event_type == event_type).order_by(outbox.c.id)
        ).all()
    return [json.loads(p)["data"] for p in rows]


def alerts(h: ServiceHarness, kind: str) -> list[tuple[str, str, dict[str, Any]]]:
    with h.database.session() as session:
        rows = session.scalars(select(Alert).where(Alert.kind == kind).order_by(Alert.created_at)).all()
        return [(a.audience, a.title, a.data) for a in rows]


def shift(name: str, sub: str, day: dt.date, start: str, end: str) -> dict[str, Any]:
    return {
        "supervisor_id": sub,
        "supervisor_name": name,
        "date": day.isoformat(),
        "start": start,
        "end": end,
    }


def put_on_duty(h: ServiceHarness, project_id: str, *shifts: dict[str, Any]) -> list[dict[str, Any]]:
    r = h.client.post(f"/api/v1/projects/{project_id}/duty", json=list(shifts), headers=h.auth("vendor"))
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.get_json()["items"]


# --- the rota -----------------------------------------------------------------------------------------------


def test_the_rota_refuses_one_supervisor_twice_at_once_and_says_who_is_on_duty(
    h: ServiceHarness, clock: Clock
) -> None:
    project_id, merchant_id = seed(h, agents=3, seats=2, start="08:00", end="02:00")
    other_project, _ = seed(h, agents=3, seats=2)
    vendor = h.auth("vendor")
    url = f"/api/v1/projects/{project_id}/duty"

    day_shift, night_shift = put_on_duty(
        h,
        project_id,
        shift("王主管", "sup-wang", DAY, "08:00", "16:00"),
        shift("李主管", "sup-li", DAY, "16:00", "02:00"),
    )
    assert (day_shift["start"], day_shift["end"], day_shift["minutes"], day_shift["overnight"]) == (
        "08:00",
        "16:00",
        480,
        False,
    )
    assert (night_shift["end"], night_shift["minutes"], night_shift["overnight"]) == ("02:00", 600, True)
    assert night_shift["ends_at"] == at(NEXT, "02:00").isoformat()
    assert night_shift["duty"] == "desk" and night_shift["created_by"].startswith("vendor:")

    # the same supervisor on the same project at overlapping times: refused, nothing written
    clash = h.client.post(url, json=shift("王主管", "sup-wang", DAY, "15:00", "18:00"), headers=vendor)
    body = assert_problem(clash, 409)
    assert body["rule"] == "duty-overlap" and body["duty_id"] == day_shift["id"]
    assert "08:00–16:00" in body["detail"]
    # across midnight too: 李 until 02:00 the next day
    assert_problem(
        h.client.post(url, json=shift("李主管", "sup-li", NEXT, "01:00", "03:00"), headers=vendor), 409
    )
    # a batch with an overlap inside it is refused whole
    batch = [
        shift("赵主管", "sup-zhao", NEXT, "08:00", "12:00"),
        shift("赵主管", "sup-zhao", NEXT, "11:00", "13:00"),
    ]
    assert assert_problem(h.client.post(url, json=batch, headers=vendor), 409)["rule"] == "duty-overlap"
    # one desk may answer several projects at once
    other = h.client.post(
        f"/api/v1/projects/{other_project}/duty",
        json=shift("王主管", "sup-wang", DAY, "15:00", "18:00"),
        headers=vendor,
    )
    assert other.status_code == 201
    # a shift already over, and malformed times
    past = h.client.post(
        url, json=shift("王主管", "sup-wang", DAY - dt.timedelta(days=1), "08:00", "09:00"), headers=vendor
    )
    assert "shifts.0.date" in assert_problem(past, 422)["errors"]
    bad = h.client.post(url, json=shift("王主管", "sup-wang", DAY, "24:00", "25:00"), headers=vendor)
    assert set(assert_problem(bad, 422)["errors"]) == {"shifts.0.start", "shifts.0.end"}

    listed = h.client.get(f"{url}?from={DAY.isoformat()}&to={NEXT.isoformat()}", headers=vendor).get_json()
    assert [s["supervisor_id"] for s in listed["items"]] == ["sup-wang", "sup-li"] and listed["total"] == 2
    with h.database.session() as session:
        assert session.query(DutyShift).filter(DutyShift.project_id == project_id).count() == 2

    def now_on_duty(moment: dt.datetime) -> dict[str, Any]:
        clock.now = moment
        r = h.client.get(f"{url}/now", headers=vendor)
        assert r.status_code == 200, r.get_data(as_text=True)
        return r.get_json()

    early = now_on_duty(at(DAY, "07:00"))
    assert early["on_duty"] is None and early["next"]["supervisor_id"] == "sup-wang"
    assert now_on_duty(at(DAY, "10:00"))["on_duty"]["supervisor_id"] == "sup-wang"
    assert now_on_duty(at(DAY, "16:00"))["on_duty"]["supervisor_id"] == "sup-li"  # 王 ends as 李 starts
    late = now_on_duty(at(NEXT, "01:30"))
    assert late["on_duty"]["supervisor_id"] == "sup-li" and late["next"] is None
    assert now_on_duty(at(NEXT, "02:00"))["on_duty"] is None
    with h.database.session() as session:
        assert on_duty(session, project_id, at(DAY, "15:59")).supervisor_id == "sup-wang"  # type: ignore[union-attr]
        assert on_duty(session, project_id, at(NEXT, "03:00")) is None
        # two at once: the one who started first answers
        session.add(
            DutyShift(
                id=str(uuid.uuid4()),
                project_id=project_id,
                supervisor_id="sup-zhou",
                supervisor_name="周主管",
                date=DAY,
                start_minute=9 * 60,
                minutes=120,
                duty="desk",
            )
        )
        session.commit()
        assert on_duty(session, project_id, at(DAY, "10:00")).supervisor_id == "sup-wang"  # type: ignore[union-attr]
    both = now_on_duty(at(DAY, "10:00"))
    assert [s["supervisor_id"] for s in both["desk"]] == ["sup-wang", "sup-zhou"]

    # an agent of the pool may ask who is on duty; readers see the rota, others may not change it
    assert h.client.get(f"{url}/now", headers=h.auth("agent", sub=agent_id(project_id, 0))).status_code == 200
    assert_problem(h.client.get(f"{url}/now", headers=h.auth("agent", sub="stranger")), 404)
    assert h.client.get(url, headers=h.auth("merchant", merchant_id=merchant_id)).status_code == 200
    assert_problem(h.client.get(url, headers=h.auth("merchant", merchant_id="m-other")), 404)
    agent_post = h.client.post(
        url, json=shift("x", "x", NEXT, "08:00", "09:00"), headers=h.auth("agent", sub="x")
    )
    assert_problem(agent_post, 403)

    # off the rota: a future shift goes, one under way ends now, a finished one stays
    clock.now = at(DAY, "17:00")
    zhou = next(s for s in both["desk"] if s["supervisor_id"] == "sup-zhou")
    assert_problem(h.client.delete(f"{url}/{zhou['id']}", headers=vendor), 409)
    cut = h.client.delete(f"{url}/{night_shift['id']}", headers=vendor).get_json()
    assert cut["deleted"] is False and cut["shift"]["end"] == "17:00" and cut["shift"]["minutes"] == 60
    future = put_on_duty(h, project_id, shift("赵主管", "sup-zhao", NEXT, "08:00", "12:00"))[0]
    assert h.client.delete(f"{url}/{future['id']}", headers=vendor).get_json() == {
        "deleted": True,
        "shift": None,
    }
    assert_problem(h.client.delete(f"{url}/{future['id']}", headers=vendor), 404)


# --- gaps ---------------------------------------------------------------------------------------------------


def test_gaps_are_the_service_minutes_no_desk_shift_covers(h: ServiceHarness, clock: Clock) -> None:
    late_project, merchant_id = seed(h, agents=3, seats=2, start="08:00", end="02:00")
    all_day, _ = seed(h, agents=3, seats=2, start="00:00", end="24:00")
    closed, _ = seed(h, agents=3, seats=2)
    with h.database.session() as session:
        occurred = dt.datetime.now(dt.UTC).isoformat()
        apply_event(session, "project.closed", {"project_id": closed}, occurred)
    put_on_duty(
        h,
        late_project,
        shift("王主管", "sup-wang", DAY, "08:00", "16:00"),
        shift("李主管", "sup-li", DAY, "16:00", "01:00"),
        shift("李主管", "sup-li", NEXT, "08:00", "12:00"),
    )
    put_on_duty(h, all_day, shift("王主管", "sup-wang", DAY, "06:00", "18:00"))
    vendor = h.auth("vendor")

    one = h.client.get(
        f"/api/v1/projects/{late_project}/duty/gaps?from={DAY.isoformat()}&to={NEXT.isoformat()}",
        headers=vendor,
    )
    assert one.status_code == 200, one.get_data(as_text=True)
    body = one.get_json()
    assert (body["service_minutes"], body["gap_minutes"]) == (2 * 1080, 60 + 840)
    assert [(g["date"], g["start"], g["end"], g["minutes"]) for g in body["gaps"]] == [
        (DAY.isoformat(), "01:00", "02:00", 60),  # past midnight: Tuesday 01:00–02:00 of Monday's hours
        (NEXT.isoformat(), "12:00", "02:00", 840),
    ]
    assert body["gaps"][0]["starts_at"] == at(NEXT, "01:00").isoformat()
    assert body["gaps"][1]["ends_at"] == at(NEXT + dt.timedelta(days=1), "02:00").isoformat()
    merchant = h.client.get(
        f"/api/v1/projects/{late_project}/duty/gaps", headers=h.auth("merchant", merchant_id=merchant_id)
    )
    assert merchant.status_code == 200
    month_on = (DAY + dt.timedelta(days=31)).isoformat()
    too_long = h.client.get(
        f"/api/v1/projects/{late_project}/duty/gaps?from={DAY.isoformat()}&to={month_on}", headers=vendor
    )
    assert "to" in assert_problem(too_long, 422)["errors"]

    wide = h.client.get(f"/api/v1/duty/gaps?date={DAY.isoformat()}", headers=vendor).get_json()
    assert (wide["projects"], wide["uncovered_projects"], wide["gap_minutes"]) == (2, 2, 720 + 60)
    assert [(p["project_id"], p["gap_minutes"]) for p in wide["items"]] == [
        (all_day, 720),
        (late_project, 60),
    ]
    assert [(g["start"], g["end"]) for g in wide["items"][0]["gaps"]] == [
        ("00:00", "06:00"),
        ("18:00", "24:00"),
    ]
    put_on_duty(h, late_project, shift("赵主管", "sup-zhao", DAY, "23:00", "03:00"))
    covered = h.client.get(f"/api/v1/duty/gaps?date={DAY.isoformat()}&uncovered_only=true", headers=vendor)
    assert [p["project_id"] for p in covered.get_json()["items"]] == [all_day]
    assert covered.headers["X-Total-Count"] == "1"
    assert_problem(
        h.client.get("/api/v1/duty/gaps", headers=h.auth("merchant", merchant_id=merchant_id)), 403
    )


# --- help requests (求助) ----------------------------------------------------------------------------------


def test_help_reaches_the_supervisor_on_duty_and_the_answer_stops_the_clock(
    h: ServiceHarness, clock: Clock
) -> None:
    project_id, merchant_id = seed(h, agents=3, seats=2)
    put_on_duty(h, project_id, shift("王主管", "sup-wang", DAY, "08:00", "16:00"))
    me, colleague = agent_id(project_id, 0), agent_id(project_id, 1)
    url = f"/api/v1/projects/{project_id}/help"

    clock.now = at(DAY, "10:00")
    r = h.client.post(
        url, json={"kind": "question", "text": "赠品可以多送吗?"}, headers=h.auth("agent", sub=me)
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    asked = r.get_json()
    assert (asked["supervisor_id"], asked["supervisor_name"], asked["status"]) == (
        "sup-wang",
        "王主管",
        "open",
    )
    assert (asked["agent_id"], asked["agent_name"], asked["waiting_seconds"], asked["waited_seconds"]) == (
        me,
        "客服00",
        0,
        None,
    )
    requested = events(h, "help.requested")
    assert requested == [
        {
            "project_id": project_id,
            "help_id": asked["id"],
            "agent_id": me,
            "supervisor_id": "sup-wang",
            "kind": "question",
            "waited_seconds": 0,
            "requested_at": at(DAY, "10:00").isoformat(),
            "status": "open",
        }
    ]
    raised = alerts(h, "help_requested")
    assert [(audience, data["help_id"]) for audience, _, data in raised] == [("supervisor", asked["id"])]
    assert "王主管" in h.client.get(url, headers=h.auth("vendor")).get_json()["items"][0]["supervisor_name"]

    # the list counts the wait on while it is open
    clock.now = at(DAY, "10:01", 35)
    listed = h.client.get(f"{url}?status=open", headers=h.auth("supervisor", sub="sup-wang")).get_json()
    assert [(x["id"], x["waiting_seconds"]) for x in listed["items"]] == [(asked["id"], 95)]

    clock.now = at(DAY, "10:02", 5)
    answered = h.client.post(
        f"{url}/{asked['id']}/answer",
        json={"answer": "每单限送一份"},
        headers=h.auth("supervisor", sub="sup-wang"),
    )
    assert answered.status_code == 200, answered.get_data(as_text=True)
    done = answered.get_json()
    assert (done["status"], done["waited_seconds"], done["waiting_seconds"]) == ("answered", 125, 125)
    assert (done["answered_by"], done["answered_by_duty"]) == ("supervisor:sup-wang", True)
    assert [(e["help_id"], e["waited_seconds"], e["answered_by"]) for e in events(h, "help.answered")] == [
        (asked["id"], 125, "supervisor:sup-wang")
    ]
    clock.now = at(DAY, "11:00")
    again = h.client.post(f"{url}/{asked['id']}/answer", json={"answer": "再答"}, headers=h.auth("vendor"))
    assert assert_problem(again, 409)["rule"] == "help-closed"
    assert h.client.get(f"{url}/{asked['id']}", headers=h.auth("vendor")).get_json()["waited_seconds"] == 125

    # tenancy: an agent sees its own, a merchant reads its projects', nobody else
    mine = h.client.get(url, headers=h.auth("agent", sub=colleague)).get_json()
    assert mine["total"] == 0
    assert_problem(h.client.get(f"{url}/{asked['id']}", headers=h.auth("agent", sub=colleague)), 404)
    assert h.client.get(f"{url}/{asked['id']}", headers=h.auth("agent", sub=me)).status_code == 200
    assert_problem(h.client.get(url, headers=h.auth("agent", sub="stranger")), 404)
    merchant = h.auth("merchant", merchant_id=merchant_id)
    assert h.client.get(url, headers=merchant).get_json()["total"] == 1
    assert_problem(h.client.get(url, headers=h.auth("merchant", merchant_id="m-other")), 404)
    assert_problem(h.client.post(f"{url}/{asked['id']}/answer", json={"answer": "x"}, headers=merchant), 403)
    assert_problem(h.client.post(url, json={"kind": "question", "text": "?"}, headers=h.auth("vendor")), 403)
    queue = h.client.get("/api/v1/help?supervisor_id=me", headers=h.auth("supervisor", sub="sup-wang"))
    assert [x["id"] for x in queue.get_json()["items"]] == [asked["id"]]


def test_with_nobody_on_duty_the_request_is_kept_and_the_vendor_alerted(
    h: ServiceHarness, clock: Clock
) -> None:
    project_id, _ = seed(h, agents=3, seats=2)
    clock.now = at(DAY, "03:00")
    r = h.client.post(
        f"/api/v1/projects/{project_id}/help",
        json={"kind": "question", "text": "发票怎么开?"},
        headers=h.auth("agent", sub=agent_id(project_id, 0)),
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.get_json()["supervisor_id"] is None
    assert events(h, "help.requested")[0]["supervisor_id"] is None
    assert sorted(audience for audience, _, _ in alerts(h, "help_requested")) == ["supervisor", "vendor"]
    vendor_title = next(title for audience, title, _ in alerts(h, "help_requested") if audience == "vendor")
    assert "无人值班" in vendor_title
    # answered by the vendor: not the (absent) supervisor on duty
    answered = h.client.post(
        f"/api/v1/projects/{project_id}/help/{r.get_json()['id']}/answer",
        json={"answer": "电子发票"},
        headers=h.auth("vendor", sub="v-1"),
    ).get_json()
    assert answered["answered_by_duty"] is False


def test_a_dispute_within_the_agents_authority_is_refused_and_changes_nothing(
    h: ServiceHarness, clock: Clock
) -> None:
    project_id, _ = seed(h, agents=3, seats=2)
    put_on_duty(h, project_id, shift("王主管", "sup-wang", DAY, "08:00", "16:00"))
    clock.now = at(DAY, "09:00")
    agent = h.auth("agent", sub=agent_id(project_id, 0))
    url = f"/api/v1/projects/{project_id}/help"

    # no authority set: every dispute goes to the supervisor
    first = h.client.post(
        url,
        json={"kind": "dispute", "text": "运费争议", "amount": "8.00", "order_amount": "300.00"},
        headers=agent,
    )
    assert first.status_code == 201 and "every dispute" in first.get_json()["authority_note"]

    settings = h.client.patch(
        f"/api/v1/projects/{project_id}/operation-settings",
        json={"settlement_limit_amount": "50.00", "settlement_limit_pct": "10"},
        headers=h.auth("vendor"),
    )
    assert settings.status_code == 200, settings.get_data(as_text=True)
    before = (len(events(h, "help.requested")), len(alerts(h, "help_requested")))
    within = h.client.post(
        url,
        json={"kind": "dispute", "text": "小额补偿", "amount": "20.00", "order_amount": "300.00"},
        headers=agent,
    )
    body = assert_problem(within, 409)
    assert body["rule"] == "within-authority"
    assert (body["limit_amount"], body["limit_pct"], body["pct_cap"]) == ("50.00", "10", "30.00")
    assert "at most 50.00 and at most 10% of the order (30.00)" in body["detail"]
    assert (len(events(h, "help.requested")), len(alerts(h, "help_requested"))) == before
    with h.database.session() as session:
        assert session.query(HelpRequest).filter(HelpRequest.project_id == project_id).count() == 1

    above = h.client.post(
        url,
        json={
            "kind": "dispute",
            "text": "质量问题退款",
            "amount": "40.00",
            "order_amount": "300.00",
            "order_ref": "T1",
        },
        headers=agent,
    )
    assert above.status_code == 201, above.get_data(as_text=True)
    created = above.get_json()
    assert (created["amount"], created["order_amount"], created["order_ref"]) == ("40.00", "300.00", "T1")
    assert created["authority_note"] == "40.00 is above 10% of the order's 300.00 (30.00)"
    assert created["supervisor_id"] == "sup-wang"
    missing = h.client.post(url, json={"kind": "dispute", "text": "退款"}, headers=agent)
    assert set(assert_problem(missing, 422)["errors"]) == {"amount", "order_amount"}
    floats = h.client.post(
        url, json={"kind": "dispute", "text": "x", "amount": 40.5, "order_amount": "300.00"}, headers=agent
    )
    assert "amount" in assert_problem(floats, 422)["errors"]


def test_a_complaint_not_about_the_agent_is_handed_over_with_who_and_when(
    h: ServiceHarness, clock: Clock
) -> None:
    project_id, _ = seed(h, agents=3, seats=2)
    put_on_duty(h, project_id, shift("王主管", "sup-wang", DAY, "08:00", "16:00"))
    agent = h.auth("agent", sub=agent_id(project_id, 0))
    url = f"/api/v1/projects/{project_id}/help"
    clock.now = at(DAY, "09:00")
    complaint = h.client.post(
        url, json={"kind": "handover", "text": "顾客投诉发错颜色", "party": "warehouse"}, headers=agent
    ).get_json()
    assert (complaint["kind"], complaint["party"], complaint["status"]) == ("handover", "warehouse", "open")

    clock.now = at(DAY, "09:10")
    sup = h.auth("supervisor", sub="sup-wang")
    handed = h.client.post(
        f"{url}/{complaint['id']}/handover",
        json={"party": "logistics", "note": "快递错发,已转物流"},
        headers=sup,
    )
    assert handed.status_code == 200, handed.get_data(as_text=True)
    record = handed.get_json()
    assert (record["status"], record["party"], record["handover_note"]) == (
        "handed_over",
        "logistics",
        "快递错发,已转物流",
    )
    assert (record["handed_over_by"], record["handed_over_at"]) == (
        "supervisor:sup-wang",
        at(DAY, "09:10").isoformat(),
    )
    assert record["waited_seconds"] == 600  # the hand-over was the response
    assert [(e["status"], e["party"], e["waited_seconds"]) for e in events(h, "help.answered")] == [
        ("handed_over", "logistics", 600)
    ]
    again = h.client.post(
        f"{url}/{complaint['id']}/handover", json={"party": "product", "note": "x"}, headers=sup
    )
    assert assert_problem(again, 409)["rule"] == "already-handed-over"
    assert_problem(h.client.post(f"{url}/{complaint['id']}/answer", json={"answer": "x"}, headers=sup), 409)

    # an answered question later handed over keeps its response time and is announced once
    question = h.client.post(
        url, json={"kind": "question", "text": "这个算质量问题吗?"}, headers=agent
    ).get_json()
    clock.now = at(DAY, "09:11")
    h.client.post(f"{url}/{question['id']}/answer", json={"answer": "转产品部确认"}, headers=sup)
    clock.now = at(DAY, "09:30")
    later = h.client.post(
        f"{url}/{question['id']}/handover", json={"party": "product", "note": "请产品部确认材质"}, headers=sup
    ).get_json()
    assert (later["status"], later["waited_seconds"], later["answer"]) == ("handed_over", 60, "转产品部确认")
    assert len(events(h, "help.answered")) == 2
    bad = h.client.post(
        f"{url}/{question['id']}/handover", json={"party": "finance", "note": "x"}, headers=sup
    )
    assert "party" in assert_problem(bad, 422)["errors"]


def test_a_departed_agent_cannot_ask(h: ServiceHarness, clock: Clock) -> None:
    project_id, _ = seed(h, agents=3, seats=2)
    leaver = agent_id(project_id, 2)
    r = h.client.post(
        f"/api/v1/agents/{leaver}/departure",
        json={"project_id": project_id, "date": DAY.isoformat(), "reason": "离职"},
        headers=h.auth("vendor"),
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    asked = h.client.post(
        f"/api/v1/projects/{project_id}/help",
        json={"kind": "question", "text": "?"},
        headers=h.auth("agent", sub=leaver),
    )
    assert_problem(asked, 403)


# --- all-hands (全员上岗) ----------------------------------------------------------------------------------

STAFF = [
    {"person_id": "sup-wang", "name": "王主管", "role": "supervisor"},
    {"person_id": "lead-chen", "name": "陈组长", "role": "team_lead"},
    {"person_id": "trainer-liu", "name": "刘老师", "role": "trainer"},
    {"person_id": "qa-sun", "name": "孙质检", "role": "qa"},
]


def test_all_hands_only_when_departures_exceed_the_reserve(h: ServiceHarness, clock: Clock) -> None:
    # 4 seats: active target ceil(1.5 × 4) = 6; 7 admitted = 6 active + 1 reserve
    project_id, merchant_id = seed(h, agents=7, seats=4)
    vendor = h.auth("vendor")
    url = f"/api/v1/projects/{project_id}/all-hands"
    declaration = {
        "reason": "大促前夜客服集体离职",
        "staff": STAFF,
        "from": DAY.isoformat(),
        "to": (DAY + dt.timedelta(days=2)).isoformat(),
    }

    def depart(*indexes: int) -> None:
        r = h.client.post(
            "/api/v1/departures",
            json={
                "project_id": project_id,
                "date": DAY.isoformat(),
                "reason": "离职",
                "agent_ids": [agent_id(project_id, i) for i in indexes],
            },
            headers=vendor,
        )
        assert r.status_code == 200, r.get_data(as_text=True)

    def nothing_declared() -> None:
        with h.database.session() as session:
            assert session.query(AllHands).count() == 0
            assert session.query(DutyShift).filter(DutyShift.duty == "agent").count() == 0
        assert alerts(h, "mass_attrition") == []
        assert not [e for e in events(h, "reserve.shortfall") if e["reason"].startswith("all-hands")]

    refused = assert_problem(h.client.post(url, json=declaration, headers=vendor), 409)
    assert refused["rule"] == "reserve-covers"
    assert (refused["active_target"], refused["present_agents"], refused["reserve"]) == (6, 7, 1)
    depart(0)  # the reserve moves up: still covered
    assert assert_problem(h.client.post(url, json=declaration, headers=vendor), 409)["present_agents"] == 6
    nothing_declared()

    manager = {
        **declaration,
        "staff": [*STAFF, {"person_id": "mgr-zhang", "name": "张经理", "role": "manager"}],
    }
    errors = assert_problem(h.client.post(url, json=manager, headers=vendor), 422)["errors"]
    assert "below manager" in json.dumps(errors, ensure_ascii=False)
    assert_problem(
        h.client.post(url, json=declaration, headers=h.auth("merchant", merchant_id=merchant_id)), 403
    )

    depart(1, 2)  # 4 present for a target of 6, no reserve: departures exceed the reserve
    shortfalls_before = len(events(h, "reserve.shortfall"))
    clock.now = at(DAY, "07:00")
    r = h.client.post(url, json=declaration, headers=h.auth("supervisor", sub="sup-wang"))
    assert r.status_code == 201, r.get_data(as_text=True)
    declared = r.get_json()
    assert (declared["active_target"], declared["present_agents"], declared["missing"]) == (6, 4, 2)
    assert (declared["status"], declared["start"], declared["end"]) == ("active", "09:00", "17:00")
    assert declared["duty_entries"] == 4 * 3 and declared["merchant_alert_id"]

    # one requirement for the real gap
    new = events(h, "reserve.shortfall")[shortfalls_before:]
    assert len(new) == 1
    assert new[0]["project_id"] == project_id and new[0]["missing"] == 2
    assert new[0]["reason"].startswith(f"all-hands {declared['id']}")
    # the merchant is told through the alert channel
    [(audience, title, data)] = alerts(h, "mass_attrition")
    assert audience == "merchant" and "全员上岗" in title
    assert (data["all_hands_id"], data["missing"]) == (declared["id"], 2)

    # their rota shows it: the project's rota and each person's own
    rota = h.client.get(
        f"/api/v1/projects/{project_id}/duty?duty=agent&per_page=50", headers=vendor
    ).get_json()
    assert rota["total"] == 12
    assert {(s["supervisor_id"], s["role"]) for s in rota["items"]} == {
        (s["person_id"], s["role"]) for s in STAFF
    }
    assert {(s["duty"], s["start"], s["end"], s["all_hands_id"]) for s in rota["items"]} == {
        ("agent", "09:00", "17:00", declared["id"])
    }
    trainer = h.client.get(
        f"/api/v1/duty/mine?from={DAY.isoformat()}", headers=h.auth("trainer", sub="trainer-liu")
    ).get_json()
    assert [s["date"] for s in trainer["items"]] == [
        (DAY + dt.timedelta(days=i)).isoformat() for i in range(3)
    ]
    assert trainer["items"][0]["project_name"] == "杭州某服饰旗舰店"
    assert h.client.get("/api/v1/duty/mine", headers=h.auth("qa", sub="qa-sun")).get_json()["total"] == 3
    # agent duty does not cover the supervisor desk
    gaps = h.client.get(
        f"/api/v1/projects/{project_id}/duty/gaps?from={DAY.isoformat()}", headers=vendor
    ).get_json()
    assert gaps["gap_minutes"] == 480

    clash = assert_problem(h.client.post(url, json=declaration, headers=vendor), 409)
    assert clash["rule"] == "all-hands-active"
    merchant = h.auth("merchant", merchant_id=merchant_id)
    assert h.client.get(url, headers=merchant).get_json()["items"][0]["id"] == declared["id"]

    # ending it mid-day: today's entries end now, the later days' come off the rota
    clock.now = at(DAY, "12:30")
    ended = h.client.post(f"{url}/{declared['id']}/end", headers=vendor)
    assert ended.status_code == 200, ended.get_data(as_text=True)
    body = ended.get_json()
    assert (body["status"], body["removed_entries"], body["duty_entries"]) == ("ended", 8, 4)
    kept = h.client.get(f"/api/v1/projects/{project_id}/duty?duty=agent", headers=vendor).get_json()["items"]
    assert {(s["date"], s["start"], s["end"]) for s in kept} == {(DAY.isoformat(), "09:00", "12:30")}
    again = h.client.delete(f"{url}/{declared['id']}", headers=vendor)
    assert assert_problem(again, 409)["rule"] == "all-hands-ended"
    assert_problem(
        h.client.get(f"{url}/{declared['id']}", headers=h.auth("merchant", merchant_id="m-other")), 404
    )


def test_an_all_hands_declared_during_its_hours_starts_now(h: ServiceHarness, clock: Clock) -> None:
    project_id, _ = seed(h, agents=2, seats=2)  # 2 present for a target of 3
    url = f"/api/v1/projects/{project_id}/all-hands"
    vendor = h.auth("vendor")
    clock.now = at(DAY, "21:00", 30)
    night = {"reason": "流失", "staff": STAFF[:1], "from": DAY.isoformat(), "to": NEXT.isoformat()}
    r = h.client.post(url, json={**night, "start": "20:00", "end": "02:00"}, headers=vendor)
    assert r.status_code == 201, r.get_data(as_text=True)
    assert (r.get_json()["start"], r.get_json()["end"], r.get_json()["missing"]) == ("20:00", "02:00", 1)
    rota = h.client.get(f"/api/v1/projects/{project_id}/duty?duty=agent", headers=vendor).get_json()["items"]
    assert [(s["date"], s["start"], s["end"]) for s in rota] == [
        (DAY.isoformat(), "21:00", "02:00"),
        (NEXT.isoformat(), "20:00", "02:00"),
    ]
    clock.now = at(NEXT, "01:00")
    now = h.client.get(f"/api/v1/projects/{project_id}/duty/now", headers=vendor).get_json()
    assert [s["supervisor_id"] for s in now["agent_duty"]] == ["sup-wang"] and now["on_duty"] is None
    yesterday = {**night, "from": DAY.isoformat(), "to": NEXT.isoformat()}
    assert "from" in assert_problem(h.client.post(url, json=yesterday, headers=vendor), 422)["errors"]
    half = {**night, "from": NEXT.isoformat(), "start": "08:00"}
    assert "end" in assert_problem(h.client.post(url, json=half, headers=vendor), 422)["errors"]


def test_unknown_ids_are_404(h: ServiceHarness, clock: Clock) -> None:
    project_id, _ = seed(h, agents=2, seats=2)
    vendor = h.auth("vendor")
    base = f"/api/v1/projects/{project_id}"
    assert_problem(h.client.get(f"{base}/help/nope", headers=vendor), 404)
    assert_problem(h.client.post(f"{base}/help/nope/answer", json={"answer": "x"}, headers=vendor), 404)
    assert_problem(h.client.get(f"{base}/all-hands/nope", headers=vendor), 404)
    assert_problem(h.client.post(f"{base}/all-hands/nope/end", headers=vendor), 404)
    assert_problem(h.client.get("/api/v1/projects/p-missing/duty", headers=vendor), 404)
    with h.database.session() as session:
        apply_event(
            session,
            "project.confirmed",
            project_data("p-unused", "m-unused"),
            dt.datetime.now(dt.UTC).isoformat(),
        )
    assert h.client.get("/api/v1/projects/p-unused/duty", headers=vendor).get_json()["total"] == 0
