"""The quality service's HTTP API on PostgreSQL: platform figures and chat records in (JSON and files,
all or nothing, a day re-imported replaced), the machine check, weekly samples, scorecards and reviews
(``qa.finding``), execution ratings, the KPI (``kpi.scored``, 65/25/10) and the store's month (gold team).

Read models are fed through the real handlers (``handle_once``, inbox included); the clock is the app's.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import func, select

from services.quality.handlers import HANDLERS
from services.quality.models import AgentDay, Conversation
from shared.events.consumer import handle_once
from shared.events.envelope import build_envelope
from shared.web import app_state
from tests.support import ServiceHarness, emitted

PROBLEM = "application/problem+json"
MERCHANT = "m-haoyun"
OTHER_MERCHANT = "m-other"
PROJECT = "p-haoyun"
OTHER_PROJECT = "p-other"
LI, WANG = "agent-li", "agent-wang"
NOW = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC)  # 10:00 on 2 December in Shanghai
CST = dt.timezone(dt.timedelta(hours=8))


def project_confirmed(project_id: str = PROJECT, merchant_id: str = MERCHANT, **qa: Any) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "merchant_id": merchant_id,
        "seats": 10,
        "service_type": "presale",
        "service_hours": {"start": "08:00", "end": "24:00"},
        "go_live_date": "2026-11-01",
        "assessor": "vendor",
        "metrics": {
            "daily_consultations": 1000,
            "first_response_seconds": 15,
            "avg_response_seconds": "25",
            "conversion_rate": "30.00",
            "avg_order_value": "200.00",
            "satisfaction_rate": "95.00",
        },
        "qa": {"merchant_standard": False, "standard": None, **qa},
        "company_name": "好运旗舰店",
    }


def agent_admitted(agent_id: str, project_id: str = PROJECT, name: str = "李客服") -> dict[str, Any]:
    return {
        "project_id": project_id,
        "candidate_id": agent_id,
        "cohort_id": "cohort-1",
        "name": name,
        "skills": ["presale"],
        "shifts_available": ["morning"],
        "quiz_score": 90,
        "simulation_score": 88,
        "rank": 1,
    }


def feed(h: ServiceHarness, event_type: str, data: dict[str, Any]) -> None:
    assert handle_once(h.database, HANDLERS, build_envelope(event_type, data))


def setup(service_env: Callable[..., ServiceHarness], **env: str) -> ServiceHarness:
    h = service_env("quality", env=env)
    app_state(h.app).clock = lambda: NOW
    feed(h, "agent.admitted", agent_admitted(LI))  # before its project: order-tolerant
    feed(h, "project.confirmed", project_confirmed())
    feed(h, "agent.admitted", agent_admitted(WANG, name="王客服"))
    feed(h, "project.confirmed", project_confirmed(OTHER_PROJECT, OTHER_MERCHANT))
    feed(h, "agent.admitted", agent_admitted("agent-zhao", OTHER_PROJECT, "赵客服"))
    return h


def day(agent_id: str, date: str, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "project_id": PROJECT,
        "agent_id": agent_id,
        "date": date,
        "receptions": 100,
        "inquiries": 60,
        "orders": 18,
        "first_response_seconds": "12",
        "avg_response_seconds": "25",
        "sales_amount": "3600.00",
        "votes_very_satisfied": 18,
        "votes_satisfied": 1,
        "votes_neutral": 1,
    }
    row.update(overrides)
    return row


def count(h: ServiceHarness, model: Any) -> int:
    with h.database.session() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def at(hour: int, minute: int, second: int = 0, date: int = 1) -> str:
    return dt.datetime(2026, 12, date, hour, minute, second, tzinfo=CST).isoformat()


def chat(
    external_id: str, agent_id: str, messages: list[tuple[str, str, str]], outcome: str = "none"
) -> dict[str, Any]:
    return {
        "project_id": PROJECT,
        "external_id": external_id,
        "agent_id": agent_id,
        "customer": "tb-buyer",
        "outcome": outcome,
        "messages": [{"at": t, "sender": s, "text": x} for t, s, x in messages],
    }


GOOD = [
    (at(10, 0, 0), "customer", "你好，这款有货吗"),
    (at(10, 0, 5), "agent", "亲，您好，欢迎光临好运旗舰店，有货的哦"),
    (at(10, 1, 0), "customer", "好的，谢谢，我拍了"),
    (at(10, 1, 10), "agent", "感谢亲的支持，祝您购物愉快，再见"),
]


# --- platform figures --------------------------------------------------------------------------------------


def test_an_import_with_one_bad_row_stores_nothing_and_names_every_problem(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = setup(service_env)
    rows = [
        day(LI, "2026-11-30"),
        day(WANG, "2026-11-30", orders=70),  # more orders than inquiries
        day("agent-nobody", "2026-11-30"),
        day(LI, "2026-12-03"),  # tomorrow in Shanghai
    ]
    response = h.client.post("/api/v1/agent-days", json=rows, headers=h.auth("qa"))
    assert response.status_code == 422
    assert response.content_type == PROBLEM
    errors = response.get_json()["errors"]
    assert set(errors) >= {"1.orders", "2.agent_id", "3.date"}
    assert count(h, AgentDay) == 0


def test_a_day_imported_again_is_replaced_as_a_whole(service_env: Callable[..., ServiceHarness]) -> None:
    h = setup(service_env)
    first = h.client.post(
        "/api/v1/agent-days", json=[day(LI, "2026-11-30"), day(WANG, "2026-11-30")], headers=h.auth("qa")
    )
    assert first.status_code == 200, first.get_json()
    assert first.get_json() | {"import_id": None} == {
        "import_id": None, "received": 2, "days": 1, "created": 2, "replaced": 0, "removed": 0,
    }  # fmt: skip
    again = h.client.post(
        "/api/v1/agent-days", json=[day(LI, "2026-11-30", receptions=120)], headers=h.auth("qa")
    )
    assert again.get_json()["replaced"] == 1 and again.get_json()["removed"] == 1
    listed = h.client.get(f"/api/v1/agent-days?project_id={PROJECT}", headers=h.auth("supervisor")).get_json()
    assert [(i["agent_id"], i["receptions"]) for i in listed["items"]] == [(LI, 120)]
    # the same file twice: the same table
    h.client.post("/api/v1/agent-days", json=[day(LI, "2026-11-30", receptions=120)], headers=h.auth("qa"))
    assert count(h, AgentDay) == 1


def test_the_back_office_file_with_chinese_headers(service_env: Callable[..., ServiceHarness]) -> None:
    h = setup(service_env)
    csv_text = (
        "客服编号,日期,接待人数,询单人数,下单人数,首次响应(秒),平均响应(秒),销售额,很满意,满意,一般,不满意,很不满意,品质退款,平台求助\n"
        f"{LI},2026-11-30,100,60,18,12,25,3600.00,18,1,1,0,0,1,2\n"
        f"{WANG},2026-11-30,80,50,10,20,40,2000.00,9,0,1,0,0,0,0\n"
    )
    response = h.client.post(
        f"/api/v1/agent-days/import?project_id={PROJECT}",
        data=csv_text.encode("gb18030"),
        headers={**h.auth("qa"), "Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"] == 2
    bad = csv_text.replace("3600.00", "lots")
    refused = h.client.post(
        f"/api/v1/agent-days/import?project_id={PROJECT}",
        data=bad.encode(),
        headers={**h.auth("qa"), "Content-Type": "text/csv"},
    )
    assert refused.status_code == 422
    assert "line 2.sales_amount" in refused.get_json()["errors"]
    missing = h.client.post(
        "/api/v1/agent-days/import",
        data=csv_text.encode(),
        headers={**h.auth("qa"), "Content-Type": "text/csv"},
    )
    assert missing.status_code == 422
    assert "project_id" in missing.get_json()["detail"]


def test_another_merchants_project_is_refused_and_hidden(service_env: Callable[..., ServiceHarness]) -> None:
    h = setup(service_env)
    merchant = h.auth("merchant", merchant_id=OTHER_MERCHANT)
    refused = h.client.post("/api/v1/agent-days", json=[day(LI, "2026-11-30")], headers=merchant)
    # merchants do not import: the role is refused before the project is looked at
    assert refused.status_code == 403
    h.client.post("/api/v1/agent-days", json=[day(LI, "2026-11-30")], headers=h.auth("qa"))
    store = h.client.get(f"/api/v1/projects/{PROJECT}/store?period=2026-11", headers=merchant)
    assert store.status_code == 404
    own = h.client.get(
        f"/api/v1/projects/{PROJECT}/store?period=2026-11", headers=h.auth("merchant", merchant_id=MERCHANT)
    )
    assert own.status_code == 200


# --- conversations and the machine check ------------------------------------------------------------------


def test_conversations_are_checked_and_flagged_for_review(service_env: Callable[..., ServiceHarness]) -> None:
    h = setup(service_env, QUALITY_SENTIMENT_MODEL="0")
    slow = [
        (at(11, 0, 0), "customer", "在吗，什么时候发货"),
        (at(11, 1, 30), "agent", "明天发"),  # 90 s against 15 s; no greeting
        (at(11, 2, 0), "customer", "太慢了，我要投诉"),
    ]
    response = h.client.post(
        "/api/v1/conversations",
        json=[chat("c-good", LI, GOOD, "ordered"), chat("c-slow", WANG, slow, "lost")],
        headers=h.auth("qa"),
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"] == 2 and response.get_json()["flagged"] == 1
    listed = h.client.get(
        f"/api/v1/conversations?project_id={PROJECT}&needs_review=true", headers=h.auth("qa")
    ).get_json()
    assert [c["external_id"] for c in listed["items"]] == ["c-slow"]
    flags = set(listed["items"][0]["flags"])
    assert {"slow_first_response", "missing_greeting", "unanswered", "complaint_intent"} <= flags
    assert listed["items"][0]["first_response_seconds"] == 90.0
    by_flag = h.client.get(
        f"/api/v1/conversations?project_id={PROJECT}&flag=complaint_intent", headers=h.auth("qa")
    ).get_json()
    assert by_flag["total"] == 1
    detail = h.client.get(f"/api/v1/conversations/{listed['items'][0]['id']}", headers=h.auth("trainer"))
    assert len(detail.get_json()["messages"]) == 3


def test_a_day_of_conversations_imported_again_keeps_reviewed_ones(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = setup(service_env, QUALITY_SENTIMENT_MODEL="0")
    h.client.post(
        "/api/v1/conversations",
        json=[chat("c-1", LI, GOOD), chat("c-2", LI, GOOD), chat("c-3", WANG, GOOD)],
        headers=h.auth("qa"),
    )
    listed = h.client.get(f"/api/v1/conversations?project_id={PROJECT}", headers=h.auth("qa")).get_json()
    reviewed = next(c for c in listed["items"] if c["external_id"] == "c-2")
    scorecard = h.client.get(f"/api/v1/projects/{PROJECT}/scorecard", headers=h.auth("qa")).get_json()
    points = {item["key"]: item["points"] for item in scorecard["items"]}
    review = h.client.post(
        "/api/v1/reviews",
        json={"conversation_id": reviewed["id"], "tier": "team_leader", "points": points},
        headers=h.auth("qa", sub="qa-zhou"),
    )
    assert review.status_code == 201, review.get_json()
    again = h.client.post("/api/v1/conversations", json=[chat("c-1", LI, GOOD)], headers=h.auth("qa"))
    assert again.get_json() | {"import_id": None} == {
        "import_id": None, "received": 1, "days": 1, "created": 0, "replaced": 1, "removed": 1,
        "kept_reviewed": 1, "flagged": 0,
    }  # fmt: skip
    assert count(h, Conversation) == 2


def test_the_chat_record_file_one_row_per_message(service_env: Callable[..., ServiceHarness]) -> None:
    h = setup(service_env, QUALITY_SENTIMENT_MODEL="0")
    csv_text = (
        "会话编号,客服编号,顾客,结果,时间,发送方,内容\n"
        f"s-1,{LI},tb-1,,2026-12-01 10:00:00,顾客,这件衣服有L码吗\n"
        f"s-1,{LI},tb-1,已下单,2026-12-01 10:00:08,客服,亲，您好，有的哦，祝您购物愉快\n"
        f"s-2,{WANG},tb-2,询单流失,2026-12-01 11:00:00,顾客,能便宜点吗\n"
    )
    response = h.client.post(
        f"/api/v1/conversations/import?project_id={PROJECT}",
        data=csv_text.encode(),
        headers={**h.auth("qa"), "Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"] == 2
    items = h.client.get(f"/api/v1/conversations?project_id={PROJECT}", headers=h.auth("qa")).get_json()[
        "items"
    ]
    outcomes = {c["external_id"]: (c["outcome"], c["message_count"]) for c in items}
    assert outcomes == {"s-1": ("ordered", 2), "s-2": ("lost", 1)}
    bad = csv_text.replace("顾客,能便宜点吗", "买家?,能便宜点吗")
    refused = h.client.post(
        f"/api/v1/conversations/import?project_id={PROJECT}",
        data=bad.encode(),
        headers={**h.auth("qa"), "Content-Type": "text/csv"},
    )
    assert refused.status_code == 422
    assert "line 4.sender" in refused.get_json()["errors"]


def test_the_weekly_sample_is_stratified_reproducible_and_lost_inquiries_are_all_checked(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = setup(service_env, QUALITY_SENTIMENT_MODEL="0", QUALITY_SAMPLE_SIZE="3")
    chats = [chat(f"o-{i}", LI, GOOD, "ordered") for i in range(6)]
    chats += [chat(f"l-{i}", LI, GOOD, "lost") for i in range(3)]
    chats += [chat(f"w-{i}", WANG, GOOD, "lost") for i in range(2)]
    assert h.client.post("/api/v1/conversations", json=chats, headers=h.auth("qa")).status_code == 200
    body = {"project_id": PROJECT, "week": "2026-W49"}
    first = h.client.post("/api/v1/samples", json=body, headers=h.auth("qa"))
    assert first.status_code == 201
    again = h.client.post("/api/v1/samples", json=body, headers=h.auth("supervisor"))
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    ids = set(first.get_json()["conversation_ids"])
    assert len(ids) == 5  # 3 of Li's nine, both of Wang's
    lost = h.client.post("/api/v1/samples", json={**body, "kind": "lost_inquiries"}, headers=h.auth("qa"))
    assert len(lost.get_json()["conversation_ids"]) == 5
    bad = h.client.post("/api/v1/samples", json={**body, "week": "2026-W60"}, headers=h.auth("qa"))
    assert bad.status_code == 422


# --- scorecards, reviews, ratings ----------------------------------------------------------------------


def test_a_merchant_standard_needs_its_scorecard_before_reviews(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = setup(service_env, QUALITY_SENTIMENT_MODEL="0")
    feed(h, "project.confirmed", project_confirmed(merchant_standard=True, standard="商家质检标准 v2"))
    h.client.post("/api/v1/conversations", json=[chat("c-1", LI, GOOD)], headers=h.auth("qa"))
    conversation = h.client.get(
        f"/api/v1/conversations?project_id={PROJECT}", headers=h.auth("qa")
    ).get_json()
    cid = conversation["items"][0]["id"]
    review = {"conversation_id": cid, "tier": "supervisor", "points": {"greet": 10}}
    refused = h.client.post("/api/v1/reviews", json=review, headers=h.auth("qa"))
    assert refused.status_code == 422
    assert "merchant has its own QA standard" in refused.get_json()["detail"]
    items = [
        {"key": "greet", "section": "service_flow", "label": "迎宾话术", "points": 10, "area": "tone"},
        {"key": "push", "section": "skills", "label": "催拍催付", "points": 10, "area": "payment_reminders"},
    ]
    made = h.client.post(
        "/api/v1/scorecards",
        json={"project_id": PROJECT, "name": "好运旗舰店质检表", "items": items},
        headers=h.auth("qa"),
    )
    assert made.status_code == 201 and made.get_json()["source"] == "merchant"
    review["points"] = {"greet": 10, "push": 5}
    review["problems"] = ["未催付"]
    review["good_cases"] = ["开场白热情"]
    done = h.client.post("/api/v1/reviews", json=review, headers=h.auth("supervisor", sub="sup-1"))
    assert done.status_code == 201, done.get_json()
    assert done.get_json()["percent"] == "75.00"
    assert done.get_json()["areas"] == {"tone": "100.00", "payment_reminders": "50.00"}
    findings = emitted(h, "qa.finding")
    assert findings == [
        {
            "project_id": PROJECT, "agent_id": LI, "review_id": done.get_json()["id"], "conversation_id": cid,
            "date": "2026-12-01", "method": "chat_sampling", "percent": "75.00",
            "problems": ["未催付"], "good_cases": ["开场白热情"],
        }
    ]  # fmt: skip
    wrong = h.client.post("/api/v1/reviews", json={**review, "points": {"greet": 11}}, headers=h.auth("qa"))
    assert wrong.status_code == 422
    assert any("push: not scored" in m for m in wrong.get_json()["errors"]["points"])


def test_execution_ratings(service_env: Callable[..., ServiceHarness]) -> None:
    h = setup(service_env)
    url = f"/api/v1/projects/{PROJECT}/agents/{LI}/execution/2026-11"
    assert h.client.put(url, json={"score": "70"}, headers=h.auth("qa")).status_code == 403
    first = h.client.put(
        url, json={"score": "70", "note": "按时交接"}, headers=h.auth("supervisor", sub="s1")
    )
    assert first.status_code == 201
    again = h.client.put(url, json={"score": 72.5}, headers=h.auth("supervisor", sub="s1"))
    assert again.status_code == 200 and again.get_json()["score"] == "72.50"
    assert h.client.get(url, headers=h.auth("qa")).get_json()["score"] == "72.50"
    assert h.client.put(url, json={"score": "101"}, headers=h.auth("supervisor")).status_code == 422
    bad_period = url.replace("2026-11", "2026-13")
    assert h.client.put(bad_period, json={"score": "70"}, headers=h.auth("supervisor")).status_code == 422


# --- KPI and the store -------------------------------------------------------------------------------------


def test_kpi_is_65_data_25_performance_10_execution_and_announced_once(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = setup(service_env, QUALITY_SENTIMENT_MODEL="0")
    # Li: 30 days at exactly the order's targets: 100 receptions, 30% conversion, 200 a order, 25 s
    rows = [
        day(LI, f"2026-11-{d:02d}", inquiries=100, orders=30, sales_amount="6000.00") for d in range(1, 31)
    ]
    assert h.client.post("/api/v1/agent-days", json=rows, headers=h.auth("qa")).status_code == 200
    convo = chat("c-1", LI, GOOD)
    for m in convo["messages"]:
        m["at"] = m["at"].replace("2026-12-01", "2026-11-20")
    h.client.post("/api/v1/conversations", json=[convo], headers=h.auth("qa"))
    cid = h.client.get(f"/api/v1/conversations?project_id={PROJECT}", headers=h.auth("qa")).get_json()[
        "items"
    ][0]["id"]
    scorecard = h.client.get(f"/api/v1/projects/{PROJECT}/scorecard", headers=h.auth("qa")).get_json()
    points = {item["key"]: item["points"] for item in scorecard["items"]}
    points["respond"] = 0  # 90 of 100
    h.client.post(
        "/api/v1/reviews",
        json={"conversation_id": cid, "tier": "team_leader", "points": points},
        headers=h.auth("qa"),
    )
    h.client.put(
        f"/api/v1/projects/{PROJECT}/agents/{LI}/execution/2026-11",
        json={"score": "70"},
        headers=h.auth("supervisor"),
    )
    run = h.client.post(
        "/api/v1/kpi-runs", json={"project_id": PROJECT, "period": "2026-11"}, headers=h.auth("qa")
    )
    assert run.status_code == 200, run.get_json()
    body = run.get_json()
    assert body["unscored"] == [WANG]
    li = body["items"][0]
    assert (li["data"], li["performance"], li["execution"]) == ("100.00", "90.00", "70.00")
    assert li["score"] == "94.50"  # 0.65·100 + 0.25·90 + 0.10·70
    assert li["targets_met"] is True
    assert li["agent_name"] == "李客服"
    events = emitted(h, "kpi.scored")
    assert len(events) == 1
    assert events[0]["components"] == {"data": "100.00", "performance": "90.00", "execution": "70.00"}
    assert events[0]["score"] == "94.50" and events[0]["warning"] is False
    # the same inputs again: nothing changes, nothing is announced
    again = h.client.post(
        "/api/v1/kpi-runs", json={"project_id": PROJECT, "period": "2026-11"}, headers=h.auth("qa")
    )
    assert again.get_json()["changed"] == 0
    assert len(emitted(h, "kpi.scored")) == 1
    h.client.put(
        f"/api/v1/projects/{PROJECT}/agents/{LI}/execution/2026-11",
        json={"score": "80"},
        headers=h.auth("supervisor"),
    )
    h.client.post("/api/v1/kpi-runs", json={"project_id": PROJECT, "period": "2026-11"}, headers=h.auth("qa"))
    latest = emitted(h, "kpi.scored")[-1]
    assert latest["score"] == "95.50" and latest["version"] == 2
    listed = h.client.get(
        f"/api/v1/kpi?project_id={PROJECT}&period=2026-11", headers=h.auth("merchant", merchant_id=MERCHANT)
    )
    assert [i["score"] for i in listed.get_json()["items"]] == ["95.50"]
    future = h.client.post(
        "/api/v1/kpi-runs", json={"project_id": PROJECT, "period": "2027-01"}, headers=h.auth("qa")
    )
    assert future.status_code == 422


def test_monthly_satisfaction_of_95_percent_marks_the_gold_team(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = setup(service_env)
    # 950 of 1,000 votes satisfied in November; 949 of 1,000 in October
    rows = [day(LI, "2026-11-10", votes_very_satisfied=900, votes_satisfied=50, votes_neutral=50)]
    rows += [day(WANG, "2026-11-10", votes_very_satisfied=0, votes_satisfied=0, votes_neutral=0)]
    h.client.post("/api/v1/agent-days", json=rows, headers=h.auth("qa"))
    october = [
        day(
            LI, "2026-10-10", votes_very_satisfied=949, votes_satisfied=0, votes_neutral=51, quality_refunds=3
        )
    ]
    h.client.post("/api/v1/agent-days", json=october, headers=h.auth("qa"))
    november = h.client.get(
        f"/api/v1/projects/{PROJECT}/store?period=2026-11", headers=h.auth("vendor")
    ).get_json()
    assert november["satisfaction_rate"] == "95.00" and november["gold_team"] is True
    oct_ = h.client.get(
        f"/api/v1/projects/{PROJECT}/store?period=2026-10", headers=h.auth("vendor")
    ).get_json()
    assert oct_["satisfaction_rate"] == "94.90" and oct_["gold_team"] is False
    assert Decimal(oct_["quality_refund_rate"]) == Decimal("16.67")  # 3 refunds of 18 orders
    assert oct_["help_rate"] == "0.00"


# --- the weekly review -----------------------------------------------------------------------------------


def complaint(number: str, agent_id: str, level: str = "agent") -> dict[str, Any]:
    return {
        "complaint_id": f"cmp-{number}",
        "number": number,
        "project_id": PROJECT,
        "agent_id": agent_id,
        "level": level,
        "reason": "回复太慢",
        "status": "open",
    }


def feed_at(h: ServiceHarness, event_type: str, data: dict[str, Any], when: dt.datetime) -> None:
    assert handle_once(h.database, HANDLERS, build_envelope(event_type, data, occurred_at=when))


def test_the_weekly_review_puts_targets_agents_findings_complaints_and_kpi_together(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = setup(service_env, QUALITY_SENTIMENT_MODEL="0")
    # the last full week before 2 December is 2026-W48: 23–29 November
    rows = [day(LI, f"2026-11-{d}") for d in range(23, 28)]  # 30% conversion, 25 s, 200 a order, 95%
    rows += [
        day(WANG, f"2026-11-{d}", avg_response_seconds="40", orders=12, sales_amount="2400.00")
        for d in (23, 24)
    ]
    rows += [day(LI, "2026-11-30")]  # the next week: not in the report
    assert h.client.post("/api/v1/agent-days", json=rows, headers=h.auth("qa")).status_code == 200
    slow = [
        (at(11, 0, 0, date=25), "customer", "在吗，什么时候发货"),
        (at(11, 1, 30, date=25), "agent", "明天发"),
        (at(11, 2, 0, date=25), "customer", "太慢了，我要投诉"),
    ]
    good = [(t.replace("2026-12-01", "2026-11-25"), s, x) for t, s, x in GOOD]
    week_chats = [chat("w-slow", WANG, slow, "lost"), chat("w-good", LI, good, "ordered")]
    for convo in week_chats:
        for m in convo["messages"]:
            m["at"] = m["at"].replace("2026-12-25", "2026-11-25")
    # one import: a day imported again replaces that day's conversations
    assert h.client.post("/api/v1/conversations", json=week_chats, headers=h.auth("qa")).status_code == 200
    items = h.client.get(f"/api/v1/conversations?project_id={PROJECT}", headers=h.auth("qa")).get_json()[
        "items"
    ]
    ids = {c["external_id"]: c["id"] for c in items}
    scorecard = h.client.get(f"/api/v1/projects/{PROJECT}/scorecard", headers=h.auth("qa")).get_json()
    full = {item["key"]: item["points"] for item in scorecard["items"]}
    for cid, problems, good_cases in (
        (ids["w-slow"], ["首响超时", "未致歉"], []),
        (ids["w-good"], ["首响超时"], ["主动推荐搭配"]),
    ):
        review = h.client.post(
            "/api/v1/reviews",
            json={
                "conversation_id": cid,
                "tier": "team_leader",
                "points": full,
                "problems": problems,
                "good_cases": good_cases,
            },
            headers=h.auth("qa"),
        )
        assert review.status_code == 201, review.get_json()
    monday = dt.datetime(2026, 11, 23, 3, 0, tzinfo=dt.UTC)
    feed_at(h, "complaint.opened", complaint("TS20261123-0001", WANG), monday)
    upheld = {
        k: v for k, v in complaint("TS20261123-0001", WANG).items() if k not in ("level", "reason", "status")
    }
    feed_at(h, "complaint.upheld", {**upheld, "penalty": "50.00"}, monday)
    feed_at(h, "complaint.opened", complaint("TS20261201-0001", LI), monday + dt.timedelta(days=8))
    assert (
        h.client.post(
            "/api/v1/kpi-runs", json={"project_id": PROJECT, "period": "2026-11"}, headers=h.auth("qa")
        ).status_code
        == 200
    )

    response = h.client.get(
        f"/api/v1/projects/{PROJECT}/weekly-review", headers=h.auth("merchant", merchant_id=MERCHANT)
    )
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert (report["week"], report["date_from"], report["date_to"]) == (
        "2026-W48",
        "2026-11-23",
        "2026-11-29",
    )
    targets = {t["name"]: (t["actual"], t["target"], t["met"]) for t in report["targets"]}
    # 700 receptions: Li 500 at 25 s, Wang 200 at 40 s → 29.29 s against 25 s
    assert targets["avg_response_seconds"] == ("29.29", "25.00", False)
    assert targets["conversion_rate"] == ("27.14", "30.00", False)  # 114 orders of 420 inquiries
    assert targets["satisfaction_rate"] == ("95.00", "95.00", True)
    assert report["figures"]["agent_days"] == 7
    assert report["machine_qa"]["conversations"] == 2 and report["machine_qa"]["flagged"] == 1
    assert report["reviews"]["count"] == 2
    assert report["reviews"]["top_problems"][0] == {"problem": "首响超时", "count": 2}
    assert [g["text"] for g in report["reviews"]["good_cases"]] == ["主动推荐搭配"]
    assert (report["complaints"]["opened"], report["complaints"]["upheld"]) == (1, 1)
    assert report["complaints"]["penalties"] == "50.00"
    assert report["complaints"]["items"][0]["status"] == "open" and report["complaints"]["items"][0]["upheld"]
    assert report["kpi"]["period"] == "2026-11" and report["kpi"]["scored"] == 2
    by_agent = {a["agent_id"]: a for a in report["agents"]}
    assert (by_agent[WANG]["days"], by_agent[WANG]["complaints_upheld"], by_agent[WANG]["problems"]) == (
        2,
        1,
        2,
    )
    assert by_agent[LI]["name"] == "李客服" and by_agent[LI]["receptions"] == 500

    # the targets of any month or week
    month = h.client.get(
        f"/api/v1/projects/{PROJECT}/targets?period=2026-11", headers=h.auth("qa")
    ).get_json()
    assert month["figures"]["agent_days"] == 8
    both = h.client.get(
        f"/api/v1/projects/{PROJECT}/targets?period=2026-11&week=2026-W48", headers=h.auth("qa")
    )
    assert both.status_code == 422 and both.content_type == PROBLEM

    # the workbook: one sheet per section
    book = h.client.get(f"/api/v1/projects/{PROJECT}/weekly-review.xlsx?week=2026-W48", headers=h.auth("qa"))
    assert book.status_code == 200
    workbook = load_workbook(io.BytesIO(book.data))
    assert workbook.sheetnames == ["概要", "目标对比", "客服", "问题", "优秀案例", "投诉"]
    agents_sheet = list(workbook["客服"].iter_rows(values_only=True))
    assert agents_sheet[0][:2] == ("客服ID", "姓名") and len(agents_sheet) == 3
    assert list(workbook["投诉"].iter_rows(values_only=True))[1][0] == "TS20261123-0001"
    english = h.client.get(f"/api/v1/projects/{PROJECT}/weekly-review.xlsx?lang=en", headers=h.auth("qa"))
    assert load_workbook(io.BytesIO(english.data)).sheetnames[0] == "summary"

    # another merchant, a bad week, the current week (not over: still answered, for a look mid-week)
    hidden = h.client.get(
        f"/api/v1/projects/{PROJECT}/weekly-review", headers=h.auth("merchant", merchant_id=OTHER_MERCHANT)
    )
    assert hidden.status_code == 404
    bad = h.client.get(f"/api/v1/projects/{PROJECT}/weekly-review?week=2026-W54", headers=h.auth("qa"))
    assert bad.status_code == 422 and bad.content_type == PROBLEM
    current = h.client.get(
        f"/api/v1/projects/{PROJECT}/weekly-review?week=2026-W49", headers=h.auth("qa")
    ).get_json()
    assert current["complaints"]["opened"] == 1 and current["figures"]["agent_days"] == 1
