"""The complaints service's HTTP API on PostgreSQL: numbering (concurrent too), intake and routing, the
promise and its clock, escalation, resolution and penalty, the state machine, stats, tenant isolation and
every refusal of the issue.

Read models are fed through the real handlers with the consumer's ``handle_once`` (inbox included); time
is the app's injectable clock (``app_state(app).clock``), so no test waits for an SLA window. What the service
emits is read from its outbox here; the broker round trips are in test_complaints_events.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select

from services.complaints.config import load_settings
from services.complaints.deadlines import close_unreopened, escalate_overdue
from services.complaints.handlers import HANDLERS
from services.complaints.models import Complaint, DailyCounter, HistoryEntry
from shared.events.consumer import handle_once
from shared.events.envelope import build_envelope
from shared.uow import Actor, unit_of_work
from shared.web import app_state
from tests.support import ServiceHarness, emitted, raw_cursor, walk_pages

PROBLEM = "application/problem+json"
MERCHANT = "m-haoyun"
OTHER_MERCHANT = "m-other"
PROJECT = "p-haoyun"
OTHER_PROJECT = "p-other"
AGENT = "agent-li"
AGENT_2 = "agent-wang"
OUTSIDER = "agent-zhao"  # admitted to the other project only
T0 = dt.datetime(2026, 11, 11, 2, 0, tzinfo=dt.UTC)  # 10:00 on 11 November in Shanghai
H = dt.timedelta(hours=1)
URL = "/api/v1/complaints"


# --- helpers (also used by test_complaints_events.py) -----------------------------------------------------


def project_confirmed(project_id: str = PROJECT, merchant_id: str = MERCHANT) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "merchant_id": merchant_id,
        "seats": 10,
        "service_type": "aftersale",
        "service_hours": {"start": "08:00", "end": "24:00"},
        "go_live_date": "2026-11-01",
        "assessor": "vendor",
        "metrics": {"first_response_seconds": 15},
        "company_name": "好运旗舰店",
    }


def agent_admitted(agent_id: str, project_id: str = PROJECT, name: str = "李客服") -> dict[str, Any]:
    return {
        "project_id": project_id,
        "candidate_id": agent_id,
        "cohort_id": "cohort-1",
        "name": name,
        "skills": ["aftersale"],
        "shifts_available": ["morning"],
        "quiz_score": 90,
        "simulation_score": 88,
        "rank": 1,
    }


def complaint_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "project_id": PROJECT,
        "channel": "chat",
        "category": "delivery",
        "agent_id": AGENT,
        "customer_ref": "buyer-tb-8812 / order 2026111100123",
        "description": "买家说双十一订单承诺48小时发货, 三天了还没有发货。",
        "severity": "normal",
    }
    body.update(overrides)
    return body


class Clock:
    def __init__(self, now: dt.datetime = T0) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, delta: dt.timedelta) -> None:
        self.now += delta


def feed(h: ServiceHarness, event_type: str, data: dict[str, Any]) -> None:
    assert handle_once(h.database, HANDLERS, build_envelope(event_type, data))


def setup(service_env: Callable[..., ServiceHarness], **kwargs: Any) -> tuple[ServiceHarness, Clock]:
    h = service_env("complaints", **kwargs)
    clock = Clock()
    app_state(h.app).clock = clock
    feed(h, "agent.admitted", agent_admitted(AGENT))  # before its project: order-tolerant
    feed(h, "project.confirmed", project_confirmed())
    feed(h, "agent.admitted", agent_admitted(AGENT_2, name="王客服"))
    feed(h, "project.confirmed", project_confirmed(OTHER_PROJECT, OTHER_MERCHANT))
    feed(h, "agent.admitted", agent_admitted(OUTSIDER, OTHER_PROJECT, name="赵客服"))
    return h, clock


def create(h: ServiceHarness, role: str = "vendor", **overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"merchant_id": MERCHANT} if role == "merchant" else {}
    if role == "agent":
        kwargs["sub"] = AGENT
    response = h.client.post(URL, json=complaint_body(**overrides), headers=h.auth(role, **kwargs))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def count_complaints(h: ServiceHarness) -> int:
    with h.database.session() as session:
        return int(session.execute(select(func.count()).select_from(Complaint)).scalar_one())


def kinds(detail: dict[str, Any]) -> list[str]:
    return [entry["kind"] for entry in detail["history"]]


def iso(value: dt.datetime) -> str:
    return value.isoformat()


def parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


# --- numbering ---------------------------------------------------------------------------------------------


def test_fifty_concurrent_intakes_get_numbers_0001_to_0050(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h, _clock = setup(service_env)
    headers = h.auth("vendor")

    def one(i: int) -> str:
        client = h.app.test_client()
        response = client.post(URL, json=complaint_body(customer_ref=f"buyer-{i}"), headers=headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["number"]

    with ThreadPoolExecutor(max_workers=12) as pool:
        numbers = list(pool.map(one, range(50)))
    assert sorted(numbers) == [f"TS20261111-{n:04d}" for n in range(1, 51)]
    assert len(emitted(h, "complaint.opened")) == 50


def test_counter_restarts_each_shanghai_day_and_a_refusal_takes_no_number(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h, clock = setup(service_env)
    assert create(h)["number"] == "TS20261111-0001"
    refused = h.client.post(URL, json=complaint_body(description="   "), headers=h.auth("vendor"))
    assert refused.status_code == 422
    assert create(h)["number"] == "TS20261111-0002"
    clock.now = dt.datetime(2026, 11, 11, 16, 0, tzinfo=dt.UTC)  # midnight in Shanghai
    assert create(h)["number"] == "TS20261112-0001"
    with h.database.session() as session:
        counters = {c.day: c.last for c in session.scalars(select(DailyCounter))}
    assert counters == {dt.date(2026, 11, 11): 2, dt.date(2026, 11, 12): 1}


def test_a_retried_intake_with_the_same_idempotency_key_is_numbered_once(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h, _clock = setup(service_env)
    headers = {**h.auth("vendor", sub="vendor-1"), "Idempotency-Key": "intake-7f3a"}
    first = h.client.post(URL, json=complaint_body(), headers=headers)
    again = h.client.post(URL, json=complaint_body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["number"] == first.get_json()["number"] == "TS20261111-0001"
    assert count_complaints(h) == 1


def test_lookup_by_id_and_by_number(service_env: Callable[..., ServiceHarness]) -> None:
    h, _clock = setup(service_env)
    created = create(h)
    by_id = h.client.get(f"{URL}/{created['id']}", headers=h.auth("supervisor"))
    by_number = h.client.get(f"{URL}/{created['number']}", headers=h.auth("supervisor"))
    assert by_id.status_code == by_number.status_code == 200
    assert by_id.get_json()["id"] == by_number.get_json()["id"] == created["id"]
    listed = h.client.get(URL, query_string={"number": created["number"]}, headers=h.auth("vendor"))
    assert [c["id"] for c in listed.get_json()["items"]] == [created["id"]]
    missing = h.client.get(f"{URL}/TS20261111-0999", headers=h.auth("vendor"))
    assert missing.status_code == 404
    assert missing.content_type == PROBLEM


# --- intake and routing ------------------------------------------------------------------------------------


def test_intake_answers_number_status_level_assignee_and_promise(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h, _clock = setup(service_env)
    created = create(h, "merchant")
    assert created["number"] == "TS20261111-0001"
    assert created["status"] == "open"
    assert created["level"] == "agent"
    assert created["assignee"] == AGENT  # the agent concerned handles a non-staff complaint
    assert created["agent_name"] == "李客服"
    assert parse(created["due_at"]) == T0 + 24 * H  # normal: 24 h
    assert created["due_at_source"] == "policy"
    assert parse(created["first_response_due_at"]) == T0 + dt.timedelta(minutes=30)
    assert created["merchant_id"] == MERCHANT
    assert created["allowed_transitions"] == ["in_progress", "waiting_customer", "resolved"]
    assert kinds(created) == ["created", "assigned"]
    assert emitted(h, "complaint.opened") == [
        {
            "complaint_id": created["id"],
            "number": "TS20261111-0001",
            "project_id": PROJECT,
            "agent_id": AGENT,
            "level": "agent",
            "status": "open",
        }
    ]


def test_the_recording_agent_handles_it_and_a_given_promise_is_kept(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h, _clock = setup(service_env)
    created = create(h, "agent", agent_id=AGENT_2, severity="urgent", due_at=iso(T0 + 5 * H), channel="phone")
    assert created["assignee"] == AGENT  # seed 004 ②: the agent who received it records and handles it
    assert created["agent_id"] == AGENT_2
    assert parse(created["due_at"]) == T0 + 5 * H
    assert created["due_at_source"] == "given"
    policy = create(h, "vendor", severity="urgent")
    assert parse(policy["due_at"]) == T0 + 2 * H


def test_staff_complaints_go_straight_to_the_least_loaded_supervisor(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h, _clock = setup(service_env)
    staff = {
        "supervisors": [{"user_id": "sup-chen", "name": "陈主管"}, {"user_id": "sup-liu", "name": "刘主管"}],
        "managers": [{"user_id": "mgr-zhou", "name": "周经理"}],
    }
    assert (
        h.client.put(
            f"/api/v1/projects/{PROJECT}/staff", json=staff, headers=h.auth("supervisor")
        ).status_code
        == 403
    )
    put = h.client.put(f"/api/v1/projects/{PROJECT}/staff", json=staff, headers=h.auth("vendor"))
    assert put.status_code == 200, put.get_json()
    assert h.client.get(f"/api/v1/projects/{PROJECT}/staff", headers=h.auth("supervisor")).get_json() == {
        "project_id": PROJECT,
        **staff,
    }
    first = create(h, category="service_attitude")  # about_staff defaults to true
    assert (first["about_staff"], first["level"], first["assignee"]) == (True, "supervisor", "sup-chen")
    second = create(h, category="product", about_staff=True)
    assert (second["level"], second["assignee"]) == ("supervisor", "sup-liu")
    third = create(h, category="service_quality", about_staff=False)
    assert (third["level"], third["assignee"]) == ("agent", AGENT)
    unknown = h.client.put("/api/v1/projects/p-nope/staff", json=staff, headers=h.auth("vendor"))
    assert unknown.status_code == 404


def test_without_listed_staff_the_configured_default_supervisor_takes_it(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h, _clock = setup(service_env, env={"COMPLAINTS_DEFAULT_SUPERVISOR": "sup-duty"})
    created = create(h, category="service_attitude")
    assert (created["level"], created["assignee"]) == ("supervisor", "sup-duty")


def test_bad_intake_is_refused_with_every_reason_and_changes_nothing(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h, _clock = setup(service_env)
    headers = h.auth("vendor")
    fields = h.client.post(
        URL,
        json=complaint_body(category="rude", severity="critical", channel="fax", description=""),
        headers=headers,
    )
    assert fields.status_code == 422
    assert fields.content_type == PROBLEM
    assert set(fields.get_json()["errors"]) == {"category", "severity", "channel", "description"}
    for overrides, field in [
        ({"project_id": "p-unknown"}, "project_id"),
        ({"agent_id": OUTSIDER}, "agent_id"),
        ({"due_at": iso(T0 - H)}, "due_at"),
        ({"due_at": "2026-11-12T10:00:00"}, "due_at"),  # naive: which zone?
        ({"description": "   \n "}, "description"),
        ({"penalty": "10.00"}, "penalty"),  # unknown field
    ]:
        response = h.client.post(URL, json=complaint_body(**overrides), headers=headers)
        assert response.status_code == 422, (overrides, response.get_json())
        assert field in response.get_json()["errors"], response.get_json()
    outsider = h.client.post(URL, json=complaint_body(), headers=h.auth("agent", sub=OUTSIDER))
    assert outsider.status_code == 403
    assert h.client.post(URL, json=complaint_body(), headers=h.auth("trainer")).status_code == 403
    assert h.client.post(URL, json=complaint_body()).status_code == 401
    assert count_complaints(h) == 0
    assert emitted(h, "complaint.opened") == []


def test_a_closed_project_takes_no_complaints(service_env: Callable[..., ServiceHarness]) -> None:
    h, _clock = setup(service_env)
    feed(h, "project.closed", {"project_id": PROJECT})
    response = h.client.post(URL, json=complaint_body(), headers=h.auth("vendor"))
    assert response.status_code == 422
    assert response.get_json()["rule"] == "project-closed"
    feed(h, "project.confirmed", project_confirmed())  # a late confirmation does not reopen it
    assert h.client.post(URL, json=complaint_body(), headers=h.auth("vendor")).status_code == 422
    assert count_complaints(h) == 0


# --- the promise, first response and pauses ----------------------------------------------------------------


def test_first_response_pause_and_moving_the_promise(service_env: Callable[..., ServiceHarness]) -> None:
    h, clock = setup(service_env)
    created = create(h)
    cid = created["id"]
    agent = h.auth("agent", sub=AGENT)

    clock.advance(dt.timedelta(minutes=10))
    internal = h.client.post(f"{URL}/{cid}/notes", json={"body": "查物流中"}, headers=agent)
    assert internal.status_code == 201
    assert internal.get_json()["first_responded_at"] is None
    assert internal.get_json()["status"] == "open"

    clock.advance(dt.timedelta(minutes=10))
    told = h.client.post(
        f"{URL}/{cid}/notes",
        json={"body": "您好, 已为您催促仓库发货", "visibility": "customer"},
        headers=agent,
    ).get_json()
    assert parse(told["first_responded_at"]) == T0 + dt.timedelta(minutes=20)
    assert told["first_response_met"] is True
    assert told["status"] == "in_progress"

    clock.now = T0 + 1 * H
    waiting = h.client.post(
        f"{URL}/{cid}/status",
        json={"status": "waiting_customer", "reason": "等买家提供订单截图"},
        headers=agent,
    ).get_json()
    assert waiting["status"] == "waiting_customer"
    assert waiting["paused"] is True

    clock.now = T0 + 4 * H
    resumed = h.client.post(f"{URL}/{cid}/status", json={"status": "in_progress"}, headers=agent).get_json()
    assert resumed["paused"] is False
    assert resumed["paused_seconds"] == 3 * 3600
    assert parse(resumed["due_at"]) == T0 + 24 * H  # the promise to the customer did not move
    assert parse(resumed["effective_due_at"]) == T0 + 27 * H

    new_due = iso(T0 + 48 * H)
    quiet = h.client.post(f"{URL}/{cid}/notes", json={"body": "延期", "new_due_at": new_due}, headers=agent)
    assert quiet.status_code == 422
    assert "new_due_at" in quiet.get_json()["errors"]
    moved = h.client.post(
        f"{URL}/{cid}/notes",
        json={
            "body": "已告知买家: 仓库缺货, 预计后天处理完毕",
            "visibility": "customer",
            "new_due_at": new_due,
        },
        headers=agent,
    ).get_json()
    assert parse(moved["due_at"]) == T0 + 48 * H
    assert moved["due_at_source"] == "moved"
    assert kinds(moved) == [
        "created",
        "assigned",
        "note",
        "note",
        "first_response",
        "status",
        "status",
        "status",
        "note",
        "due_moved",
    ]
    statuses = [(e["from_status"], e["to_status"]) for e in moved["history"] if e["kind"] == "status"]
    assert statuses == [
        ("open", "in_progress"),
        ("in_progress", "waiting_customer"),
        ("waiting_customer", "in_progress"),
    ]
    assert all(e["actor"] == AGENT and e["at"] for e in moved["history"][2:])


def test_a_late_first_response_is_recorded_as_missed(service_env: Callable[..., ServiceHarness]) -> None:
    h, clock = setup(service_env)
    cid = create(h)["id"]
    clock.advance(dt.timedelta(minutes=31))
    before = h.client.get(f"{URL}/{cid}", headers=h.auth("vendor")).get_json()
    assert before["first_response_met"] is False
    after = h.client.post(
        f"{URL}/{cid}/notes", json={"body": "抱歉久等", "visibility": "customer"}, headers=h.auth("vendor")
    ).get_json()
    assert after["first_response_met"] is False
    assert [e["details"]["met"] for e in after["history"] if e["kind"] == "first_response"] == [False]


# --- escalation --------------------------------------------------------------------------------------------


def test_manual_escalation_reassigns_notes_why_and_emits(service_env: Callable[..., ServiceHarness]) -> None:
    h, _clock = setup(service_env)
    h.client.put(
        f"/api/v1/projects/{PROJECT}/staff",
        json={"supervisors": [{"user_id": "sup-chen"}], "managers": [{"user_id": "mgr-zhou"}]},
        headers=h.auth("vendor"),
    )
    cid = create(h)["id"]
    no_reason = h.client.post(
        f"{URL}/{cid}/escalate", json={"reason": " "}, headers=h.auth("agent", sub=AGENT)
    )
    assert no_reason.status_code == 422
    not_mine = h.client.post(
        f"{URL}/{cid}/escalate", json={"reason": "x"}, headers=h.auth("agent", sub=AGENT_2)
    )
    assert not_mine.status_code == 404  # not assigned to or recorded by them: invisible
    up = h.client.post(
        f"{URL}/{cid}/escalate",
        json={"reason": "买家要求退一赔三, 超出我的权限"},
        headers=h.auth("agent", sub=AGENT),
    ).get_json()
    assert (up["level"], up["assignee"]) == ("supervisor", "sup-chen")
    escalated = [e for e in up["history"] if e["kind"] == "escalated"]
    assert [(e["from_level"], e["to_level"], e["text"]) for e in escalated] == [
        ("agent", "supervisor", "买家要求退一赔三, 超出我的权限")
    ]
    top = h.client.post(
        f"{URL}/{cid}/escalate", json={"reason": "商家要求"}, headers=h.auth("supervisor")
    ).get_json()
    assert (top["level"], top["assignee"]) == ("manager", "mgr-zhou")
    beyond = h.client.post(f"{URL}/{cid}/escalate", json={"reason": "again"}, headers=h.auth("vendor"))
    assert beyond.status_code == 422
    assert beyond.get_json()["rule"] == "escalation-top"
    assert [(e["level"], e["reason"]) for e in emitted(h, "complaint.escalated")] == [
        ("supervisor", "买家要求退一赔三, 超出我的权限"),
        ("manager", "商家要求"),
    ]
    reassigned = h.client.post(
        f"{URL}/{cid}/assign", json={"assignee": "mgr-wu", "reason": "周经理休假"}, headers=h.auth("vendor")
    ).get_json()
    assert reassigned["assignee"] == "mgr-wu"
    assert kinds(reassigned)[-1] == "assigned"


def test_the_job_escalates_by_half_time_then_by_the_promise_and_flags_the_breach(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h, _clock = setup(service_env)
    cid = create(h, severity="high")["id"]  # 8 h promise
    policy = load_settings({}).policy
    job = Actor.system("job:complaints.escalate")
    with unit_of_work(h.database, clock=lambda: T0 + 4 * H - dt.timedelta(seconds=1), actor=job) as uow:
        assert escalate_overdue(uow, policy) == 0
    with unit_of_work(h.database, clock=lambda: T0 + 4 * H, actor=job) as uow:
        assert escalate_overdue(uow, policy) == 1
    with unit_of_work(h.database, clock=lambda: T0 + 8 * H, actor=job) as uow:
        assert escalate_overdue(uow, policy) == 0
    with unit_of_work(h.database, clock=lambda: T0 + 8 * H + dt.timedelta(seconds=1), actor=job) as uow:
        assert escalate_overdue(uow, policy) == 2
    with unit_of_work(h.database, clock=lambda: T0 + 9 * H, actor=job) as uow:
        assert escalate_overdue(uow, policy) == 0
    detail = h.client.get(f"{URL}/{cid}", headers=h.auth("vendor")).get_json()
    assert detail["level"] == "manager"
    assert detail["breached"] is True
    assert parse(detail["breached_at"]) == T0 + 8 * H + dt.timedelta(seconds=1)
    assert [e["actor"] for e in detail["history"] if e["kind"] in ("escalated", "breached")] == ["system"] * 3
    assert [e["level"] for e in emitted(h, "complaint.escalated")] == ["supervisor", "manager"]


# --- resolution, penalty, closing, reopening ---------------------------------------------------------------


def test_upheld_complaint_emits_the_penalty_and_refusals_change_nothing(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h, clock = setup(service_env)
    cid = create(h, category="service_attitude")["id"]
    clock.advance(2 * H)
    url = f"{URL}/{cid}/resolve"
    ruling = {
        "resolution": "经调查客服态度恶劣, 已向买家道歉并补偿",
        "agent_at_fault": True,
        "penalty": "150.00",
    }
    as_agent = h.client.post(url, json=ruling, headers=h.auth("agent", sub=AGENT))
    assert as_agent.status_code == 404  # a supervisor-level complaint about them is not theirs to see
    create(h, "agent")  # the agent's own complaint at the agent level
    mine = h.client.get(URL, headers=h.auth("agent", sub=AGENT)).get_json()["items"][0]
    refused_agent = h.client.post(
        f"{URL}/{mine['id']}/resolve", json=ruling, headers=h.auth("agent", sub=AGENT)
    )
    assert refused_agent.status_code == 403
    assert refused_agent.get_json()["rule"] == "ruling-role"
    above = h.client.post(url, json={**ruling, "penalty": "500.01"}, headers=h.auth("supervisor"))
    assert above.status_code == 422
    assert "penalty" in above.get_json()["errors"]
    negative = h.client.post(url, json={**ruling, "penalty": "-1.00"}, headers=h.auth("supervisor"))
    assert negative.status_code == 422
    as_float = h.client.post(url, json={**ruling, "penalty": 150.0}, headers=h.auth("supervisor"))
    assert as_float.status_code == 422
    no_fault = h.client.post(url, json={**ruling, "agent_at_fault": False}, headers=h.auth("supervisor"))
    assert no_fault.status_code == 422
    with h.database.session() as session:
        unchanged = session.get(Complaint, cid)
        assert unchanged is not None and unchanged.status == "open" and unchanged.penalty is None
    assert emitted(h, "complaint.resolved") == []

    resolved = h.client.post(url, json=ruling, headers=h.auth("supervisor")).get_json()
    assert resolved["status"] == "resolved"
    assert resolved["penalty"] == "150.00"
    assert resolved["agent_at_fault"] is True
    assert parse(resolved["resolved_at"]) == T0 + 2 * H
    assert emitted(h, "complaint.upheld") == [
        {
            "complaint_id": cid,
            "number": "TS20261111-0001",
            "project_id": PROJECT,
            "agent_id": AGENT,
            "penalty": "150.00",
            "resolved_at": iso(T0 + 2 * H),
        }
    ]
    assert [(e["level"], e["status"]) for e in emitted(h, "complaint.resolved")] == [
        ("supervisor", "resolved")
    ]


def test_an_agent_resolves_its_own_agent_level_complaint_without_a_ruling(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h, _clock = setup(service_env)
    cid = create(h)["id"]
    resolved = h.client.post(
        f"{URL}/{cid}/resolve", json={"resolution": "已补发"}, headers=h.auth("agent", sub=AGENT)
    ).get_json()
    assert (resolved["status"], resolved["agent_at_fault"], resolved["penalty"]) == ("resolved", False, None)
    assert emitted(h, "complaint.upheld") == []
    assert len(emitted(h, "complaint.resolved")) == 1


def test_state_machine_close_reopen_and_auto_close(service_env: Callable[..., ServiceHarness]) -> None:
    h, clock = setup(service_env)
    vendor = h.auth("vendor")
    cid = create(h)["id"]
    early_close = h.client.post(f"{URL}/{cid}/close", headers=vendor)
    assert early_close.status_code == 409
    assert early_close.get_json()["allowed"] == ["in_progress", "waiting_customer", "resolved"]
    assert early_close.get_json()["current_status"] == "open"
    h.client.post(f"{URL}/{cid}/resolve", json={"resolution": "已补发"}, headers=vendor)
    clock.advance(24 * H)
    reopened = h.client.post(
        f"{URL}/{cid}/reopen", json={"reason": "买家说补发的也不对"}, headers=vendor
    ).get_json()
    assert reopened["status"] == "reopened"
    assert reopened["reopen_count"] == 1
    assert parse(reopened["due_at"]) == clock.now + 24 * H
    assert reopened["resolved_at"] is None
    h.client.post(f"{URL}/{cid}/resolve", json={"resolution": "退款处理"}, headers=vendor)
    closed = h.client.post(
        f"{URL}/{cid}/close", json={"note": "买家确认满意"}, headers=h.auth("merchant", merchant_id=MERCHANT)
    ).get_json()
    assert (closed["status"], closed["close_reason"]) == ("closed", "accepted")
    again = h.client.post(f"{URL}/{cid}/resolve", json={"resolution": "x"}, headers=vendor)
    assert again.status_code == 409
    assert again.get_json()["allowed"] == []
    assert h.client.post(f"{URL}/{cid}/reopen", json={"reason": "x"}, headers=vendor).status_code == 409
    assert h.client.post(f"{URL}/{cid}/notes", json={"body": "x"}, headers=vendor).status_code == 409

    late = create(h)["id"]
    h.client.post(f"{URL}/{late}/resolve", json={"resolution": "已处理"}, headers=vendor)
    resolved_at = clock.now
    clock.now = resolved_at + dt.timedelta(days=7, seconds=1)
    too_late = h.client.post(f"{URL}/{late}/reopen", json={"reason": "还是不满意"}, headers=vendor)
    assert too_late.status_code == 422
    assert too_late.get_json()["rule"] == "reopen-window"
    policy = load_settings({}).policy
    job = Actor.system("job:complaints.auto_close")
    before = resolved_at + dt.timedelta(days=7) - dt.timedelta(seconds=1)
    with unit_of_work(h.database, clock=lambda: before, actor=job) as uow:
        assert close_unreopened(uow, policy) == 0
    with unit_of_work(h.database, clock=lambda: resolved_at + dt.timedelta(days=7), actor=job) as uow:
        assert close_unreopened(uow, policy) == 1
    auto = h.client.get(f"{URL}/{late}", headers=vendor).get_json()
    assert (auto["status"], auto["close_reason"]) == ("closed", "auto")
    assert auto["history"][-1]["actor"] == "system"


def test_resolving_from_waiting_ends_the_pause_and_a_late_resolution_is_a_breach(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h, clock = setup(service_env)
    vendor = h.auth("vendor")
    cid = create(h, severity="urgent")["id"]  # 2 h
    clock.now = T0 + 1 * H
    h.client.post(f"{URL}/{cid}/status", json={"status": "waiting_customer"}, headers=vendor)
    clock.now = T0 + 2 * H + dt.timedelta(minutes=30)  # 1.5 h waited: effective promise T0 + 3.5 h
    on_time = h.client.post(f"{URL}/{cid}/resolve", json={"resolution": "ok"}, headers=vendor).get_json()
    assert (on_time["breached"], on_time["paused"], on_time["paused_seconds"]) == (False, False, 5400.0)
    late = create(h, severity="urgent")["id"]
    clock.now += 2 * H + dt.timedelta(seconds=1)
    breached = h.client.post(f"{URL}/{late}/resolve", json={"resolution": "ok"}, headers=vendor).get_json()
    assert breached["breached"] is True
    stats = h.client.get(f"{URL}/stats", headers=vendor).get_json()
    assert (stats["resolved"], stats["resolved_within_promise"], stats["within_promise_share"]) == (2, 1, 0.5)


# --- stats and tenancy -------------------------------------------------------------------------------------


def test_stats_per_project_and_period(service_env: Callable[..., ServiceHarness]) -> None:
    h, clock = setup(service_env)
    sup = h.auth("supervisor")
    a = create(h, category="service_attitude")["id"]
    b = create(h, category="delivery")["id"]
    create(h, category="refund")
    clock.advance(dt.timedelta(minutes=10))
    h.client.post(f"{URL}/{b}/notes", json={"body": "您好", "visibility": "customer"}, headers=sup)
    clock.advance(dt.timedelta(minutes=20))
    h.client.post(f"{URL}/{a}/notes", json={"body": "您好", "visibility": "customer"}, headers=sup)
    clock.advance(90 * dt.timedelta(minutes=1))  # T0 + 2 h
    h.client.post(
        f"{URL}/{a}/resolve",
        json={"resolution": "道歉", "agent_at_fault": True, "penalty": "80.00"},
        headers=sup,
    )
    stats = h.client.get(
        f"{URL}/stats",
        query_string={"project_id": PROJECT, "from": "2026-11-11", "to": "2026-11-11"},
        headers=sup,
    ).get_json()
    assert stats["total"] == 3
    assert stats["by_category"]["service_attitude"] == 1
    assert stats["by_category"]["refund"] == 1
    assert stats["by_level"] == {"agent": 2, "supervisor": 1, "manager": 0}
    assert stats["by_status"]["resolved"] == 1
    assert (stats["by_status"]["in_progress"], stats["by_status"]["open"]) == (1, 1)
    assert stats["within_promise_share"] == 1.0
    assert stats["first_response"] == {"count": 2, "avg_seconds": 1200.0, "p90_seconds": 1800.0}
    assert stats["resolution"] == {"count": 1, "avg_seconds": 7200.0, "p90_seconds": 7200.0}
    assert stats["upheld"] == [{"agent_id": AGENT, "name": "李客服", "upheld": 1, "penalties": "80.00"}]
    assert stats["penalties_total"] == "80.00"
    next_day = h.client.get(f"{URL}/stats", query_string={"from": "2026-11-12"}, headers=sup).get_json()
    assert next_day["total"] == 0
    backwards = h.client.get(
        f"{URL}/stats", query_string={"from": "2026-11-12", "to": "2026-11-11"}, headers=sup
    )
    assert backwards.status_code == 422
    assert h.client.get(f"{URL}/stats", headers=h.auth("agent", sub=AGENT)).status_code == 403


def test_merchants_and_agents_see_only_their_own(service_env: Callable[..., ServiceHarness]) -> None:
    h, _clock = setup(service_env)
    mine = create(h, "merchant")
    theirs = create(h, project_id=OTHER_PROJECT, agent_id=OUTSIDER)
    merchant = h.auth("merchant", merchant_id=MERCHANT)
    listed = h.client.get(URL, headers=merchant)
    assert [c["id"] for c in listed.get_json()["items"]] == [mine["id"]]
    assert listed.headers["X-Total-Count"] == "1"
    for key in (theirs["id"], theirs["number"]):
        hidden = h.client.get(f"{URL}/{key}", headers=merchant)
        assert hidden.status_code == 404
        assert (
            hidden.get_json()["detail"] == h.client.get(f"{URL}/nope", headers=merchant).get_json()["detail"]
        )
        assert h.client.post(f"{URL}/{key}/notes", json={"body": "x"}, headers=merchant).status_code == 404
    filtered = h.client.get(URL, query_string={"project_id": OTHER_PROJECT}, headers=merchant).get_json()
    assert filtered["total"] == 0
    on_theirs = h.client.post(
        URL, json=complaint_body(project_id=OTHER_PROJECT, agent_id=OUTSIDER), headers=merchant
    )
    assert on_theirs.status_code == 422
    assert (
        on_theirs.get_json()["errors"]["project_id"]
        == h.client.post(URL, json=complaint_body(project_id="p-none"), headers=merchant).get_json()[
            "errors"
        ]["project_id"]
    )
    stats = h.client.get(f"{URL}/stats", headers=merchant).get_json()
    assert stats["total"] == 1
    other_stats = h.client.get(
        f"{URL}/stats", headers=h.auth("merchant", merchant_id=OTHER_MERCHANT)
    ).get_json()
    assert other_stats["total"] == 1
    outsider = h.client.get(URL, headers=h.auth("agent", sub=OUTSIDER)).get_json()
    assert [c["id"] for c in outsider["items"]] == [theirs["id"]]
    assert h.client.get(URL, headers=h.auth("agent", sub="agent-nobody")).get_json()["total"] == 0
    vendor = h.client.get(URL, headers=h.auth("vendor")).get_json()
    assert vendor["total"] == 2


def test_list_filters(service_env: Callable[..., ServiceHarness]) -> None:
    h, _clock = setup(service_env)
    create(h, category="service_attitude", severity="high")
    create(h, category="refund", channel="phone")
    vendor = h.auth("vendor")

    def total(**query: Any) -> int:
        response = h.client.get(URL, query_string=query, headers=vendor)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["total"]

    assert total(level="supervisor") == 1
    assert total(category="refund", channel="phone") == 1
    assert total(severity="high") == 1
    assert total(status="open") == 2
    assert total(about_staff="true") == 1
    assert total(breached="false") == 2
    assert total(agent_id=AGENT) == 2
    bad = h.client.get(URL, query_string={"status": "lost", "level": "ceo"}, headers=vendor)
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"status", "level"}


def test_history_lists_every_action_with_who_and_when(service_env: Callable[..., ServiceHarness]) -> None:
    h, clock = setup(service_env)
    cid = create(h, "agent")["id"]
    with h.database.session() as session:
        entries = session.scalars(select(HistoryEntry).where(HistoryEntry.complaint_id == cid)).all()
    assert [(e.kind, e.actor, e.actor_role, e.at) for e in entries] == [
        ("created", AGENT, "agent", T0),
        ("assigned", AGENT, "agent", T0),
    ]
    clock.advance(H)
    detail = h.client.post(
        f"{URL}/{cid}/escalate", json={"reason": "需要主管协调仓库"}, headers=h.auth("agent", sub=AGENT)
    ).get_json()
    last = detail["history"][-2:]
    assert [(e["kind"], e["actor"], parse(e["at"])) for e in last] == [
        ("escalated", AGENT, T0 + H),
        ("assigned", AGENT, T0 + H),
    ]


# --- keyset pages -------------------------------------------------------------------------------------------


def test_the_list_walks_with_after_and_shows_each_complaint_once(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h, clock = setup(service_env)
    made = []
    for i in range(11):
        # several intakes within one clock tick: the number breaks the tie on created_at
        if i % 3 == 0:
            clock.advance(H)
        made.append(create(h, agent_id=AGENT if i % 2 else AGENT_2))
    made.append(create(h, project_id=OTHER_PROJECT, agent_id=OUTSIDER))
    newest_first = [c["id"] for c in sorted(made, key=lambda c: (c["created_at"], c["number"]), reverse=True)]
    vendor = walk_pages(h.client, f"{URL}?per_page=4", h.auth("vendor"))
    assert [c["id"] for c in vendor] == newest_first
    assert {c["agent_name"] for c in vendor} == {"李客服", "王客服", "赵客服"}
    merchant = walk_pages(h.client, f"{URL}?per_page=3", h.auth("merchant", merchant_id=MERCHANT))
    assert [c["id"] for c in merchant] == newest_first[1:]
    agent = walk_pages(h.client, f"{URL}?per_page=2&active=true", h.auth("agent", sub=AGENT))
    assert [c["id"] for c in agent] == [c for c in newest_first if c in {m["id"] for m in made[1:11:2]}]
    filtered = walk_pages(
        h.client, f"{URL}?per_page=2&project_id={PROJECT}&agent_id={AGENT_2}", h.auth("vendor")
    )
    assert [c["id"] for c in filtered] == [c for c in newest_first if c in {m["id"] for m in made[0:11:2]}]


def test_a_tampered_cursor_is_a_validation_problem(service_env: Callable[..., ServiceHarness]) -> None:
    h, _clock = setup(service_env)
    create(h)
    for cursor in (
        "not-a-cursor",
        raw_cursor(1, ["s", "TS20261111-0001"]),  # another list's width
        raw_cursor(1, ["i", 4], ["s", "TS20261111-0001"]),  # the right width, a value of the wrong type
        raw_cursor(1, ["t", "2026-11-11T10:00:00"], ["s", "TS20261111-0001"]),  # a timestamp without its zone
    ):
        response = h.client.get(URL, query_string={"after": cursor}, headers=h.auth("vendor"))
        assert (response.status_code, response.content_type) == (422, PROBLEM), cursor
        assert "after" in response.get_json()["errors"]
