"""Issue 13's domain defects, end to end on PostgreSQL: one missing agent is one recruitment request of
three candidates, and a merchant never sees a trainee's or candidate's contact data."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
from flask import Flask
from sqlalchemy import select

from services.recruitment.handlers import HANDLERS as RECRUITMENT_HANDLERS
from services.recruitment.schemas import CandidateOut, MatchOut
from services.training.schemas import TraineeOut
from shared import privacy
from shared.events.consumer import handle_once
from shared.events.envelope import Envelope
from shared.events.outbox import outbox
from shared.uow import Actor
from tests.integration import test_onboarding_api as onboarding
from tests.integration import test_training_api as training
from tests.integration.test_recruitment_matching import confirmed, deliver, import_rows, requisitions, row
from tests.integration.test_scheduling_api import ENV as SCHEDULING_ENV
from tests.integration.test_scheduling_api import admitted, apply_event, days, project_data, seed
from tests.support import ServiceHarness

# --- 11: one uncovered surge seat → one requisition of 3 candidates ---------------------------------------


def _outbox(h: ServiceHarness) -> list[Envelope]:
    with h.database.session() as session:
        payloads = session.scalars(select(outbox.c.payload).order_by(outbox.c.id)).all()
    return [Envelope(**json.loads(p)) for p in payloads]


def _hand_to_recruitment(recruitment: ServiceHarness, envelopes: list[Envelope]) -> None:
    """What the broker would do: every event recruitment consumes, in the order it was written."""
    for envelope in envelopes:
        if envelope.type in RECRUITMENT_HANDLERS:
            handle_once(recruitment.database, RECRUITMENT_HANDLERS, envelope)


def test_one_uncovered_surge_seat_is_one_requisition_of_three_candidates(
    service_env: Callable[..., ServiceHarness],
) -> None:
    scheduling = service_env("scheduling", env=SCHEDULING_ENV)
    recruitment = service_env("recruitment")
    # 3 seats, 3 admitted agents: all active (1:1.5 wants 5), no reserve to send into a surge
    project_id, _ = seed(scheduling, agents=3, seats=3)
    surge = scheduling.client.post(
        f"/api/v1/projects/{project_id}/surges",
        json={"start_date": days(7), "end_date": days(8), "increase_pct": "30"},
        headers=scheduling.auth("vendor"),
    )
    assert surge.status_code == 201, surge.get_data(as_text=True)
    # +30% on 3 seats is one more seat, which no reserve agent covers
    assert (surge.get_json()["extra_seats"], surge.get_json()["uncovered"]) == (1, 1)

    import_rows(recruitment, [row() for _ in range(12)])
    deliver(recruitment, "project.confirmed", confirmed(project_id, seats=3))
    events = _outbox(scheduling)
    _hand_to_recruitment(recruitment, events)
    _hand_to_recruitment(recruitment, events)  # the broker delivers twice: still one request

    extra = [r for r in requisitions(recruitment, project_id) if r["reason"] != "project_confirmed"]
    assert [(r["reason"], r["seats"], r["target"], r["matched"]) for r in extra] == [("surge", 1, 3, 3)]


def test_one_departure_without_a_reserve_is_one_requisition_of_three(
    service_env: Callable[..., ServiceHarness],
) -> None:
    scheduling = service_env("scheduling", env=SCHEDULING_ENV)
    recruitment = service_env("recruitment")
    project_id, _ = seed(scheduling, agents=3, seats=3)
    departed = scheduling.client.post(
        f"/api/v1/agents/{project_id}-agent-00/departure",
        json={"project_id": project_id, "date": days(1), "reason": "离职"},
        headers=scheduling.auth("vendor"),
    )
    assert departed.status_code in (200, 201), departed.get_data(as_text=True)
    import_rows(recruitment, [row() for _ in range(3)])
    _hand_to_recruitment(recruitment, _outbox(scheduling))
    (request,) = requisitions(recruitment, project_id)
    assert (request["reason"], request["seats"], request["target"]) == ("reserve_shortfall", 1, 3)


# --- 3: a merchant never sees a person's contact data ------------------------------------------------------

PHONE_PREFIX = (
    "1380000"  # every trainee's phone in these tests starts so (tests.integration.test_training_api)
)


def _text_of(response: Any) -> str:
    """A response's text, spreadsheets included (their cells are zipped XML, not searchable bytes)."""
    if "spreadsheetml" in (response.content_type or ""):
        book = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True)
        return " ".join(
            str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row
        )
    return response.get_data().decode("utf-8", errors="replace")


def _merchant_get_paths(h: ServiceHarness, values: dict[str, str]) -> list[str]:
    """Every GET the service documents for merchants, with its path parameters filled in."""
    spec = h.client.get("/openapi.json").get_json()
    paths = []
    for template, operations in spec["paths"].items():
        get = operations.get("get")
        if not get or "merchant" not in get.get("x-roles", []):
            continue
        path = template
        for name, value in values.items():
            path = path.replace("{" + name + "}", value)
        if "{" not in path:
            paths.append(path)
    return paths


def test_a_merchant_sees_trainees_names_and_results_but_never_their_phones(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("training")
    project_id = str(uuid.uuid4())
    training.deliver(h, "project.confirmed", training.project_confirmed(project_id, seats=2))
    training.deliver(h, "candidates.matched", training.candidates_matched(project_id, 4))
    cohort_id = training.cohort_of(h, project_id)["id"]
    training.ready_cohort(h, cohort_id)
    ids = [f"cand-{i:02d}" for i in range(4)]
    assert training.assess(h, cohort_id, training.trainer_rows(ids, passing=4)).status_code == 200
    merchant = h.auth("merchant", merchant_id=training.MERCHANT)

    trainees = h.client.get(f"/api/v1/cohorts/{cohort_id}/trainees", headers=merchant).get_json()["items"]
    assert [t["name"] for t in trainees] == ["客服00", "客服01", "客服02", "客服03"]
    assert all(t["quiz_score"] is not None and t["verdict"] for t in trainees)
    assert all("phone" not in t for t in trainees)
    # the merchant's own writes answer with the trainee too
    verdict = h.client.put(
        f"/api/v1/cohorts/{cohort_id}/trainees/cand-00/assessment",
        json={"merchant_passed": True},
        headers=merchant,
    )
    assert verdict.status_code == 200 and "phone" not in verdict.get_json()
    bulk = training.assess(
        h,
        cohort_id,
        [{"candidate_id": "cand-01", "merchant_passed": True}],
        role="merchant",
        merchant_id=training.MERCHANT,
    )
    assert bulk.status_code == 200 and PHONE_PREFIX not in bulk.get_data(as_text=True)
    swept = _merchant_get_paths(h, {"cohort_id": cohort_id, "project_id": project_id})
    assert f"/api/v1/cohorts/{cohort_id}/trainees" in swept and f"/api/v1/cohorts/{cohort_id}" in swept
    for path in swept:
        response = h.client.get(path, headers=merchant)
        assert response.status_code < 500, path
        assert PHONE_PREFIX not in _text_of(response), f"{path} shows a trainee's phone"

    # the vendor's staff who deal with the trainees still see the numbers
    for role in ("vendor", "trainer", "supervisor", "admin"):
        listed = h.client.get(f"/api/v1/cohorts/{cohort_id}", headers=h.auth(role)).get_json()["trainees"]
        assert [t["phone"] for t in listed] == [f"138{i:08d}" for i in range(4)], role
    # an agent sees their own number on their own record, not another trainee's
    own = h.client.post(
        f"/api/v1/cohorts/{cohort_id}/trainees/cand-03/withdraw",
        json={"reason": "找到全职工作"},
        headers=h.auth("agent", sub="cand-03"),
    )
    assert own.status_code == 200, own.get_data(as_text=True)
    assert own.get_json()["trainee"]["phone"] == "13800000003"


def test_a_merchant_reading_its_pool_and_roster_sees_no_agent_phone(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("scheduling", env=SCHEDULING_ENV)
    project_id, merchant_id = f"p-{uuid.uuid4().hex[:8]}", f"m-{uuid.uuid4().hex[:8]}"
    occurred = "2026-11-01T08:00:00+00:00"
    with h.database.session() as session:
        apply_event(session, "project.confirmed", project_data(project_id, merchant_id), occurred)
        for i in range(20):  # agent.admitted carries the phone (internal); scheduling keeps it
            data = {**admitted(project_id, i), "phone": f"{PHONE_PREFIX}{i:04d}"}
            apply_event(session, "agent.admitted", data, occurred)
    roster = h.client.post(
        f"/api/v1/projects/{project_id}/roster",
        json={"from": days(1), "to": days(3)},
        headers=h.auth("vendor"),
    )
    assert roster.status_code == 201, roster.get_data(as_text=True)
    merchant = h.auth("merchant", merchant_id=merchant_id)
    swept = _merchant_get_paths(h, {"project_id": project_id})
    assert f"/api/v1/projects/{project_id}/pool" in swept
    for path in swept:
        response = h.client.get(path, headers=merchant)
        assert response.status_code < 500, path
        assert PHONE_PREFIX not in _text_of(response), f"{path} shows an agent's phone"
    pool = h.client.get(f"/api/v1/projects/{project_id}/pool", headers=merchant).get_json()
    assert pool["total"] == 20 and all("phone" not in a for a in pool["items"])


def test_the_rule_is_the_same_for_every_schema_that_carries_contact_data() -> None:
    vendor, merchant = Actor("u-1", "vendor"), Actor("u-2", "merchant", "m-1")
    agent = Actor("cand-07", "agent")
    assert privacy.may_see_contact(vendor) and privacy.may_see_contact(Actor("u-3", "supervisor"))
    assert not privacy.may_see_contact(merchant, "cand-07")
    assert not privacy.may_see_contact(Actor("u-4", "finance"))
    assert privacy.may_see_contact(agent, "cand-07") and not privacy.may_see_contact(agent, "cand-08")
    assert not privacy.may_see_contact(None)
    # every response schema that carries a phone marks it as contact data
    for schema in (TraineeOut, CandidateOut, MatchOut):
        assert isinstance(schema._declared_fields["phone"], privacy.ContactField), schema
    app = Flask(__name__)
    with app.test_request_context():  # no token at all: nothing personal
        assert "phone" not in TraineeOut().dump({"candidate_id": "cand-07", "phone": "13800000007"})


# --- 24: the FAQ sheet: a standard question may not apply; the shop's own questions count --------------


def test_a_project_confirms_with_questions_marked_not_applicable_and_its_own_questions(
    service_env: Callable[..., ServiceHarness], tmp_path: Path
) -> None:
    h = service_env("onboarding", overrides={"media_root": str(tmp_path / "media")})
    m = onboarding.merchant(h, "m-faq-na")
    pid = onboarding.ready_to_submit(h, m, answer_faq=False)
    url = f"/api/v1/projects/{pid}/faq"
    sheet = onboarding.all_answers()
    gifts = next(q for q in sheet["standard"] if q["key"] == "gifts")
    gifts.pop("answer")
    gifts["not_applicable"] = True  # the shop gives no gifts: the merchant says the question does not apply
    own = sheet.pop("custom")

    both = {
        **sheet,
        "standard": [*sheet["standard"][:-1], {"key": "arrival_time", "answer": "x", "not_applicable": True}],
    }
    refused = h.client.put(url, json=both, headers=m)
    assert refused.status_code == 422 and "not applicable" in refused.get_data(as_text=True)
    assert h.client.get(url, headers=m).get_json()["version"] == 0  # nothing changed

    # without a question of the shop's own, the sheet is not done (seed 004: those come first)
    put = h.client.put(url, json=sheet, headers=m)
    assert put.status_code == 200, put.get_data(as_text=True)
    body = put.get_json()
    assert (body["complete"], body["unanswered"], body["not_applicable"]) == (False, [], ["gifts"])
    assert body["own_questions"] == 0 and "shop's own" in body["problems"][0]
    marked = next(q for q in body["standard"] if q["key"] == "gifts")
    assert (marked["not_applicable"], marked["answered"], marked["answer"]) == (True, False, None)
    assert (marked["not_applicable_by"], marked["not_applicable_by_role"]) == ("user-of-m-faq-na", "merchant")
    decided_at = marked["not_applicable_at"]
    assert decided_at
    assert onboarding.action(h, pid, "submit", m).status_code == 200
    blocked = onboarding.action(h, pid, "confirm", onboarding.vendor(h))
    assert blocked.status_code == 422, blocked.get_data(as_text=True)
    assert "shop's own" in blocked.get_json()["detail"]
    assert blocked.get_json()["faq"]["own_questions"] == 0

    # the vendor adds the shop's question; the merchant's decision on gifts stays the merchant's
    put = h.client.put(url, json={**sheet, "custom": own}, headers=onboarding.vendor(h))
    assert put.status_code == 200 and put.get_json()["complete"] is True
    marked = next(q for q in put.get_json()["standard"] if q["key"] == "gifts")
    assert (marked["not_applicable_by_role"], marked["not_applicable_at"]) == ("merchant", decided_at)
    checklist = h.client.get(f"/api/v1/projects/{pid}/checklist", headers=m).get_json()
    assert checklist["faq"]["not_applicable"] == ["gifts"] and checklist["faq"]["own_questions"] == 1
    assert checklist["can_confirm"] is True
    confirmed = onboarding.action(h, pid, "confirm", onboarding.vendor(h))
    assert confirmed.status_code == 200, confirmed.get_data(as_text=True)
