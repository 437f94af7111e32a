"""The onboarding service on real PostgreSQL + RabbitMQ: the merchant's whole path to one project.confirmed,
tenant isolation, every bad input of issue 4, optimistic locking, idempotent retries, uploads, exports."""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from werkzeug.test import TestResponse

from services.onboarding import domain
from services.onboarding import projects as service_module
from services.onboarding.models import Material, Project, ProjectHistory
from services.onboarding.projects import promote_due_projects
from shared.events.outbox import outbox
from shared.uow import Clock, unit_of_work
from shared.workdays import SHANGHAI, add_workdays, today_shanghai
from tests.support import ServiceHarness

PROBLEM = "application/problem+json"
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200)
MAX_UPLOAD = 64 * 1024


@pytest.fixture()
def h(service_env: Callable[..., ServiceHarness], tmp_path: Path) -> ServiceHarness:
    return service_env(
        "onboarding", overrides={"media_root": str(tmp_path / "media"), "max_upload_bytes": MAX_UPLOAD}
    )


def merchant(h: ServiceHarness, merchant_id: str) -> dict[str, str]:
    return h.auth("merchant", sub=f"user-of-{merchant_id}", merchant_id=merchant_id)


def vendor(h: ServiceHarness) -> dict[str, str]:
    return h.auth("vendor", sub="vendor-pm-1")


def go_live(workdays: int = 5) -> date:
    return add_workdays(today_shanghai(), workdays)


def noon_on(day: date) -> Clock:
    """A clock stopped at noon of ``day`` in Shanghai (the go-live job reads the date from its clock)."""
    return lambda: datetime.combine(day, time(12), tzinfo=SHANGHAI)


def full_project(go_live_date: date | None = None) -> dict[str, Any]:
    return {
        "merchant": {
            "company_name": "杭州某某服饰旗舰店",
            "contact_name": "王经理",
            "contact_phone": "138-1234-5678",
            "liaison": "李娜",
        },
        "service": {
            "type": "presale",
            "hours": {"start": "09:00", "end": "24:00"},
            "seats": 10,
            "platform": "tmall",
        },
        "metrics": {
            "daily_consultations": 2000,
            "first_response_seconds": 15,
            "avg_response_seconds": 30,
            "conversion_rate": "35.5",
            "avg_order_value": "128.00",
            "satisfaction_rate": 98,
        },
        "training": {"trainer": "vendor", "assessor": "merchant", "requirements": "双11活动玩法"},
        "go_live_date": (go_live_date or go_live()).isoformat(),
        "qa": {"merchant_standard": False},
        "notes": "大促期间需要夜班",
    }


def all_answers() -> dict[str, Any]:
    return {
        "standard": [
            {"key": k, "answer": f"{domain.QUESTIONS_BY_KEY[k].question} — 答案"}
            for k in domain.STANDARD_KEYS
        ],
        "custom": [{"question": "支持七天无理由吗?", "answer": "支持"}],
    }


def create(h: ServiceHarness, headers: dict[str, str], body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = h.client.post("/api/v1/projects", json=body or {}, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def patch(h: ServiceHarness, pid: str, headers: dict[str, str], body: dict[str, Any]) -> TestResponse:
    current = h.client.get(f"/api/v1/projects/{pid}", headers=headers)
    return h.client.patch(
        f"/api/v1/projects/{pid}", json=body, headers={**headers, "If-Match": current.headers["ETag"]}
    )


def upload(
    h: ServiceHarness, pid: str, headers: dict[str, str], content: bytes = PDF, name: str = "培训资料.pdf"
) -> TestResponse:
    return h.client.post(
        f"/api/v1/projects/{pid}/materials",
        data={"file": (io.BytesIO(content), name)},
        headers=headers,
        content_type="multipart/form-data",
    )


def ready_to_submit(h: ServiceHarness, headers: dict[str, str], answer_faq: bool = True) -> str:
    """A draft with every checklist section complete (and the FAQ answered): returns its id."""
    pid = create(h, headers, full_project())["id"]
    assert upload(h, pid, headers).status_code == 201
    assert patch(h, pid, headers, {"materials": {"complete": True}}).status_code == 200
    if answer_faq:
        assert (
            h.client.put(f"/api/v1/projects/{pid}/faq", json=all_answers(), headers=headers).status_code
            == 200
        )
    return pid


def action(h: ServiceHarness, pid: str, name: str, headers: dict[str, str], body: Any = None) -> TestResponse:
    return h.client.post(f"/api/v1/projects/{pid}/{name}", json=body or {}, headers=headers)


def assert_problem(response: TestResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status and body["detail"]
    return body


def count(h: ServiceHarness, model: Any, *where: Any) -> int:
    with h.database.session() as session:
        return int(session.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def outbox_events(h: ServiceHarness, event_type: str) -> list[dict[str, Any]]:
    with h.database.session() as session:
        rows = session.execute(select(outbox.c.payload).where(outbox.c.event_type == event_type)).all()
    return [json.loads(r.payload) for r in rows]


def media_files(h: ServiceHarness) -> list[Path]:
    root = Path(h.settings.media_root)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# --- the merchant's whole path ---------------------------------------------------------------------------


def test_the_merchant_path_ends_in_exactly_one_project_confirmed(h: ServiceHarness) -> None:
    h.start_worker()
    tap = h.tap("project.confirmed")
    m = merchant(h, "m-hz-001")

    draft = create(h, m, {"merchant": {"company_name": "杭州某某服饰旗舰店"}})
    pid = draft["id"]
    assert draft["status"] == "draft" and draft["merchant_id"] == "m-hz-001" and draft["version"] == 1
    assert draft["allowed_actions"] == ["submit", "cancel"]
    checklist = h.client.get(f"/api/v1/projects/{pid}/checklist", headers=m).get_json()
    assert checklist["complete"] is False
    assert checklist["earliest_go_live_date"] == add_workdays(today_shanghai(), 3).isoformat()

    body = full_project()
    del body["merchant"]["company_name"]
    assert patch(h, pid, m, body).status_code == 200
    material = upload(h, pid, m).get_json()
    assert patch(h, pid, m, {"materials": {"complete": True}}).status_code == 200
    assert h.client.put(f"/api/v1/projects/{pid}/faq", json=all_answers(), headers=m).status_code == 200
    checklist = h.client.get(f"/api/v1/projects/{pid}/checklist", headers=m).get_json()
    assert checklist["complete"] is True
    assert checklist["faq"]["complete"] is True and checklist["faq"]["unanswered"] == []
    assert (checklist["faq"]["own_questions"], checklist["faq"]["problems"]) == (1, [])
    assert [s["complete"] for s in checklist["sections"]] == [True] * 7

    assert action(h, pid, "submit", m).get_json()["status"] == "submitted"
    key = {"Idempotency-Key": f"confirm-{pid}"}
    confirmed = action(h, pid, "confirm", {**vendor(h), **key})
    assert confirmed.status_code == 200, confirmed.get_data(as_text=True)
    assert confirmed.get_json()["status"] == "confirmed"
    retried = action(h, pid, "confirm", {**vendor(h), **key})
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert retried.get_json() == confirmed.get_json()

    event = tap.wait_for("project.confirmed")[0]
    data = event.data
    assert event.producer == "onboarding"
    assert {
        k: data[k] for k in ("project_id", "merchant_id", "seats", "service_type", "go_live_date", "assessor")
    } == {
        "project_id": pid,
        "merchant_id": "m-hz-001",
        "seats": 10,
        "service_type": "presale",
        "go_live_date": go_live().isoformat(),
        "assessor": "merchant",
    }
    assert data["service_hours"] == {"start": "09:00", "end": "24:00", "overnight": False}
    assert data["metrics"] == {
        "daily_consultations": 2000,
        "first_response_seconds": 15,
        "avg_response_seconds": 30,
        "conversion_rate": "35.50",
        "avg_order_value": "128.00",
        "satisfaction_rate": "98.00",
    }
    assert data["company_name"] == data["merchant"]["company_name"] == "杭州某某服饰旗舰店"
    assert data["training"] == {"trainer": "vendor", "assessor": "merchant", "requirements": "双11活动玩法"}
    assert data["trainer"] == "vendor" and data["platform"] == "tmall"
    assert [m_["download_path"] for m_ in data["materials"]] == [
        f"/api/v1/projects/{pid}/materials/{material['id']}"
    ]
    assert len(data["faq"]) == 17
    assert data["faq"][0] == {
        "key": "stock",
        "question": "能拍的都有货吗?",
        "answer": "能拍的都有货吗? — 答案",
        "standard": True,
        "not_applicable": False,
    }
    assert data["faq"][-1] == {
        "key": None,
        "question": "支持七天无理由吗?",
        "answer": "支持",
        "standard": False,
        "not_applicable": False,
    }

    # the download path the event carries works for a trainer
    download = h.client.get(data["materials"][0]["download_path"], headers=h.auth("trainer"))
    assert download.status_code == 200 and download.data == PDF
    # exactly one: one outbox row, and the tap has nothing else
    assert len(outbox_events(h, "project.confirmed")) == 1
    assert len(tap.of_type("project.confirmed")) == 1

    actions = [
        e["action"] for e in h.client.get(f"/api/v1/projects/{pid}/history", headers=m).get_json()["items"]
    ]
    assert actions == [
        "created",
        "updated",
        "material_added",
        "updated",
        "faq_updated",
        "submitted",
        "confirmed",
    ]


# --- checklist and the rules of submit / confirm ---------------------------------------------------------


def test_submit_is_refused_listing_every_missing_item_and_changes_nothing(h: ServiceHarness) -> None:
    m = merchant(h, "m-1")
    pid = create(h, m)["id"]
    sections = h.client.get(f"/api/v1/projects/{pid}/checklist", headers=m).get_json()["sections"]
    assert [(s["key"], s["complete"]) for s in sections] == [
        ("basics", False),
        ("metrics", False),
        ("materials", False),
        ("training", False),
        ("go_live", False),
        ("qa", False),
        ("other", True),
    ]
    body = assert_problem(action(h, pid, "submit", m), 422)
    assert body["rule"] == "checklist-incomplete"
    assert sorted(body["missing"]) == ["basics", "go_live", "materials", "metrics", "qa", "training"]
    assert [i["field"] for i in body["missing"]["training"]] == ["training.trainer", "training.assessor"]
    for field in ("merchant.company_name", "metrics.avg_order_value", "qa.merchant_standard", "go_live_date"):
        assert field in body["detail"]
    project = h.client.get(f"/api/v1/projects/{pid}", headers=m).get_json()
    assert project["status"] == "draft" and project["version"] == 1
    assert count(h, ProjectHistory, ProjectHistory.project_id == pid) == 1


def test_confirm_needs_every_faq_answer_and_the_go_live_notice(h: ServiceHarness) -> None:
    m, v = merchant(h, "m-2"), vendor(h)
    pid = ready_to_submit(h, m, answer_faq=False)
    assert action(h, pid, "submit", m).status_code == 200

    body = assert_problem(action(h, pid, "confirm", v), 422)
    assert body["rule"] == "confirmation-incomplete"
    assert body["unanswered_faq"] == list(domain.STANDARD_KEYS)
    assert "stock (能拍的都有货吗?)" in body["detail"]

    # the merchant still answers the sheet while the vendor reviews
    assert h.client.put(f"/api/v1/projects/{pid}/faq", json=all_answers(), headers=m).status_code == 200
    # the vendor moves go-live to 1 working day away: now the notice rule refuses, naming the earliest date
    soon, earliest = go_live(1), go_live(3)
    assert patch(h, pid, v, {"go_live_date": soon.isoformat()}).status_code == 200
    body = assert_problem(action(h, pid, "confirm", v), 422)
    assert body["rule"] == "go-live-notice"
    assert body["earliest_go_live_date"] == earliest.isoformat()
    assert f"The earliest acceptable go-live date is {earliest.isoformat()}." in body["detail"]
    assert h.client.get(f"/api/v1/projects/{pid}", headers=v).get_json()["status"] == "submitted"
    assert outbox_events(h, "project.confirmed") == []

    assert patch(h, pid, v, {"go_live_date": earliest.isoformat()}).status_code == 200
    assert action(h, pid, "confirm", v).get_json()["status"] == "confirmed"
    assert len(outbox_events(h, "project.confirmed")) == 1


def test_return_resubmit_go_live_and_close(h: ServiceHarness) -> None:
    m, v = merchant(h, "m-3"), vendor(h)
    pid = ready_to_submit(h, m)
    assert action(h, pid, "submit", m).status_code == 200
    assert_problem(action(h, pid, "return", v), 422)  # a return needs its reason
    returned = action(h, pid, "return", v, {"reason": "客单价请按近三个月的平均值填写"}).get_json()
    assert returned["status"] == "returned" and returned["return_reason"] == "客单价请按近三个月的平均值填写"
    assert patch(h, pid, m, {"metrics": {"avg_order_value": "119.90"}}).status_code == 200
    assert action(h, pid, "submit", m).get_json()["return_reason"] is None
    assert action(h, pid, "confirm", v).status_code == 200
    assert action(h, pid, "go-live", v).get_json()["status"] == "live"
    closed = action(h, pid, "close", v, {"reason": "合同到期"}).get_json()
    assert closed["status"] == "closed" and closed["allowed_actions"] == []
    assert [e["data"] for e in outbox_events(h, "project.closed")] == [
        {"project_id": pid, "merchant_id": "m-3", "reason": "合同到期"}
    ]
    history = h.client.get(f"/api/v1/projects/{pid}/history?per_page=50", headers=v).get_json()["items"]
    moves = [(e["action"], e["from_status"], e["to_status"]) for e in history if e["to_status"]]
    assert moves[1:] == [
        ("submitted", "draft", "submitted"),
        ("returned", "submitted", "returned"),
        ("resubmitted", "returned", "submitted"),
        ("confirmed", "submitted", "confirmed"),
        ("went_live", "confirmed", "live"),
        ("closed", "live", "closed"),
    ]
    returned_entry = next(e for e in history if e["action"] == "returned")
    assert returned_entry["actor"] == {"sub": "vendor-pm-1", "role": "vendor"}
    assert returned_entry["reason"] == "客单价请按近三个月的平均值填写"
    updated = next(
        e for e in history if e["action"] == "updated" and "metrics.avg_order_value" in e["changes"]
    )
    assert updated["changes"]["metrics.avg_order_value"] == {"from": "128.00", "to": "119.90"}
    assert updated["actor"]["role"] == "merchant"


def test_illegal_transitions_are_409_listing_the_allowed_ones(h: ServiceHarness) -> None:
    m, v = merchant(h, "m-4"), vendor(h)
    pid = create(h, m)["id"]
    body = assert_problem(action(h, pid, "confirm", v), 409)
    assert body["allowed"] == ["submit", "cancel"] and body["current_status"] == "draft"
    assert "from draft the allowed actions are: submit, cancel" in body["detail"]
    assert_problem(action(h, pid, "confirm", m), 403)  # a merchant never confirms
    assert action(h, pid, "cancel", m).get_json()["status"] == "cancelled"
    body = assert_problem(action(h, pid, "submit", m), 409)
    assert body["allowed"] == []
    body = assert_problem(patch(h, pid, m, {"notes": "改一下"}), 409)
    assert "can no longer be changed" in body["detail"]


def test_a_confirmed_project_changes_only_by_the_vendor_and_announces_it(h: ServiceHarness) -> None:
    m, v = merchant(h, "m-5"), vendor(h)
    pid = ready_to_submit(h, m)
    action(h, pid, "submit", m)
    action(h, pid, "confirm", v)

    assert_problem(patch(h, pid, m, {"service": {"seats": 12}}), 409)
    body = assert_problem(patch(h, pid, v, {"metrics": {"conversion_rate": 40}}), 409)
    assert body["editable"] == list(domain.EDITABLE_AFTER_CONFIRMATION)
    body = assert_problem(patch(h, pid, v, {"go_live_date": go_live(1).isoformat()}), 422)
    assert body["rule"] == "go-live-notice"
    assert outbox_events(h, "project.updated") == []

    changed = patch(
        h, pid, v, {"service": {"seats": 12, "hours": {"start": "20:00", "end": "02:00", "overnight": True}}}
    )
    assert changed.status_code == 200, changed.get_data(as_text=True)
    [event] = outbox_events(h, "project.updated")
    assert event["data"] == {
        "project_id": pid,
        "merchant_id": "m-5",
        "changed": ["seats", "service_hours"],
        "seats": 12,
        "service_hours": {"start": "20:00", "end": "02:00", "overnight": True},
        "go_live_date": go_live().isoformat(),
        "service_type": "presale",
    }
    # contacts change without an event
    assert patch(h, pid, v, {"merchant": {"liaison": "张三"}}).status_code == 200
    assert len(outbox_events(h, "project.updated")) == 1


def test_the_worker_job_takes_confirmed_projects_live_on_their_date(h: ServiceHarness) -> None:
    m, v = merchant(h, "m-6"), vendor(h)
    pid = ready_to_submit(h, m)
    action(h, pid, "submit", m)
    action(h, pid, "confirm", v)
    with unit_of_work(h.database, clock=noon_on(go_live() - timedelta(days=1))) as uow:
        assert promote_due_projects(uow) == 0
    with unit_of_work(h.database, clock=noon_on(go_live())) as uow:
        assert promote_due_projects(uow) == 1
    project = h.client.get(f"/api/v1/projects/{pid}", headers=m).get_json()
    assert project["status"] == "live" and project["version"] == 5
    last = h.client.get(f"/api/v1/projects/{pid}/history?per_page=50", headers=m).get_json()["items"][-1]
    assert last["actor"] == {"sub": "system", "role": "system"} and last["action"] == "went_live"


# --- tenant isolation ------------------------------------------------------------------------------------


def test_a_merchant_never_sees_or_touches_another_merchants_project(h: ServiceHarness) -> None:
    a, b, v = merchant(h, "m-a"), merchant(h, "m-b"), vendor(h)
    pid = ready_to_submit(h, a)
    mid = h.client.get(f"/api/v1/projects/{pid}/materials", headers=a).get_json()["items"][0]["id"]
    create(h, b, {"merchant": {"company_name": "B店"}})
    missing = str(uuid.uuid4())

    for method, path, kwargs in [
        ("get", "", {}),
        ("patch", "", {"json": {"notes": "x"}, "headers_extra": {"If-Match": '"1"'}}),
        ("get", "/checklist", {}),
        ("get", "/history", {}),
        ("get", "/faq", {}),
        ("put", "/faq", {"json": {"standard": []}}),
        ("get", "/faq/export", {}),
        ("get", "/materials", {}),
        ("get", f"/materials/{mid}", {}),
        ("delete", f"/materials/{mid}", {}),
        ("post", "/submit", {"json": {}}),
        ("post", "/cancel", {"json": {}}),
    ]:
        extra = kwargs.pop("headers_extra", {})
        theirs = getattr(h.client, method)(f"/api/v1/projects/{pid}{path}", headers={**b, **extra}, **kwargs)
        nobody = getattr(h.client, method)(
            f"/api/v1/projects/{missing}{path}", headers={**b, **extra}, **kwargs
        )
        assert theirs.status_code == nobody.status_code == 404, (method, path, theirs.get_data(as_text=True))
        assert theirs.get_json()["detail"].replace(pid, "?") == nobody.get_json()["detail"].replace(
            missing, "?"
        )

    assert [p["merchant_id"] for p in h.client.get("/api/v1/projects", headers=b).get_json()["items"]] == [
        "m-b"
    ]
    assert h.client.get("/api/v1/projects?merchant=m-a", headers=b).get_json()["total"] == 0
    assert h.client.get("/api/v1/projects", headers=v).get_json()["total"] == 2
    assert h.client.get(f"/api/v1/projects/{pid}", headers=a).get_json()["status"] == "draft"
    assert count(h, Material) == 1

    body = assert_problem(h.client.post("/api/v1/projects", json={"merchant_id": "m-a"}, headers=b), 403)
    assert "only for itself" in body["detail"]
    body = assert_problem(h.client.post("/api/v1/projects", json={}, headers=v), 422)
    assert list(body["errors"]) == ["merchant_id"]
    on_behalf = create(h, v, {"merchant_id": "m-b", "merchant": {"company_name": "B店二号项目"}})
    assert on_behalf["merchant_id"] == "m-b" and on_behalf["created_by"] == "vendor-pm-1"
    assert_problem(h.client.get("/api/v1/projects", headers=h.auth("agent")), 403)


# --- bad input -------------------------------------------------------------------------------------------


def test_bad_fields_are_422_each_named_and_nothing_is_created(h: ServiceHarness) -> None:
    m = merchant(h, "m-bad")
    yesterday = (today_shanghai() - timedelta(days=1)).isoformat()
    response = h.client.post(
        "/api/v1/projects",
        json={
            "merchant": {"contact_phone": "12345", "company_name": 42},
            "service": {"type": "sales", "hours": {"start": "18:00", "end": "09:00"}, "seats": 0},
            "metrics": {
                "conversion_rate": 101,
                "satisfaction_rate": -1,
                "avg_order_value": 128.5,
                "first_response_seconds": "15",
            },
            "training": {"trainer": "nobody"},
            "go_live_date": yesterday,
            "qa": {"merchant_standard": "maybe"},
            "colour": "red",
        },
        headers=m,
    )
    body = assert_problem(response, 422)
    assert sorted(body["errors"]) == [
        "colour",
        "go_live_date",
        "merchant.company_name",
        "merchant.contact_phone",
        "metrics.avg_order_value",
        "metrics.conversion_rate",
        "metrics.first_response_seconds",
        "metrics.satisfaction_rate",
        "qa.merchant_standard",
        "service.hours.end",
        "service.seats",
        "service.type",
        "training.trainer",
    ]
    assert "not a float" in body["errors"]["metrics.avg_order_value"][0]
    assert "overnight: true" in body["errors"]["service.hours.end"][0]
    assert "in the past" in body["errors"]["go_live_date"][0]
    assert count(h, Project) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"service": {"seats": 10_001}}, "service.seats"),
        ({"service": {"seats": -3}}, "service.seats"),
        ({"service": {"seats": 2.5}}, "service.seats"),
        ({"metrics": {"avg_order_value": "12.345"}}, "metrics.avg_order_value"),
        ({"metrics": {"avg_order_value": "abc"}}, "metrics.avg_order_value"),
        ({"metrics": {"conversion_rate": "3.555"}}, "metrics.conversion_rate"),
        ({"merchant": {"contact_phone": "+1 415 555 0100"}}, "merchant.contact_phone"),
        ({"service": {"hours": {"start": "09:00", "end": "18:00", "overnight": True}}}, "service.hours.end"),
        ({"service": {"hours": {"start": "9am"}}}, "service.hours.end"),
        ({"materials": {"supplement_due": "2020-01-01"}}, "materials.supplement_due"),
        ({"go_live_date": "next week"}, "go_live_date"),
        ({"merchant": {"company_name": "店" * 201}}, "merchant.company_name"),
    ],
)
def test_each_bad_value_is_422(h: ServiceHarness, body: dict[str, Any], field: str) -> None:
    problem = assert_problem(h.client.post("/api/v1/projects", json=body, headers=merchant(h, "m-x")), 422)
    assert field in problem["errors"]
    assert count(h, Project) == 0


def test_good_edge_values_are_accepted(h: ServiceHarness) -> None:
    m = merchant(h, "m-edge")
    project = create(
        h,
        m,
        {
            "service": {"seats": 10_000, "hours": {"start": "20:00", "end": "02:00", "overnight": True}},
            "merchant": {"contact_phone": "021-12345678", "company_name": "  上海店  "},
            "metrics": {"conversion_rate": "0", "satisfaction_rate": "100", "avg_order_value": "0.01"},
            "go_live_date": today_shanghai().isoformat(),
        },
    )
    assert project["service"]["seats"] == 10_000
    assert project["service"]["hours"] == {"start": "20:00", "end": "02:00", "overnight": True}
    assert project["merchant"]["company_name"] == "上海店"
    assert project["metrics"]["conversion_rate"] == "0.00" and project["metrics"]["avg_order_value"] == "0.01"


def test_malformed_bodies_are_400_or_422_never_500(h: ServiceHarness) -> None:
    m = merchant(h, "m-y")
    broken = h.client.post("/api/v1/projects", data="{not json", content_type="application/json", headers=m)
    assert_problem(broken, 400)
    assert_problem(h.client.post("/api/v1/projects", json=[1, 2], headers=m), 422)
    pid = create(h, m)["id"]
    assert_problem(h.client.put(f"/api/v1/projects/{pid}/faq", json={"standard": "all"}, headers=m), 422)
    body = assert_problem(
        h.client.put(
            f"/api/v1/projects/{pid}/faq",
            json={
                "standard": [
                    {"key": "stock", "answer": "有"},
                    {"key": "stock", "answer": "无"},
                    {"key": "nope"},
                ]
            },
            headers=m,
        ),
        422,
    )
    assert "standard" in body["errors"] or "standard.2.key" in body["errors"]
    garbage = h.client.post(
        f"/api/v1/projects/{pid}/materials",
        data=b'--xx\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF',
        content_type="multipart/form-data; boundary=xx",
        headers=m,
    )
    assert_problem(garbage, 422)
    no_file = h.client.post(
        f"/api/v1/projects/{pid}/materials", data={}, headers=m, content_type="multipart/form-data"
    )
    assert list(assert_problem(no_file, 422)["errors"]) == ["file"]
    assert_problem(h.client.get("/api/v1/projects?status=bogus", headers=m), 422)
    assert_problem(
        h.client.get("/api/v1/projects?go_live_from=2026-02-01&go_live_to=2026-01-01", headers=m), 422
    )


# --- optimistic locking ----------------------------------------------------------------------------------


def test_a_stale_etag_is_412_and_a_missing_one_428(h: ServiceHarness) -> None:
    m, v = merchant(h, "m-lock"), vendor(h)
    pid = create(h, m, {"service": {"seats": 5}})["id"]
    read = h.client.get(f"/api/v1/projects/{pid}", headers=m)
    assert read.headers["ETag"] == '"1"'

    first = h.client.patch(
        f"/api/v1/projects/{pid}", json={"service": {"seats": 6}}, headers={**m, "If-Match": '"1"'}
    )
    assert first.status_code == 200 and first.headers["ETag"] == '"2"'
    stale = h.client.patch(
        f"/api/v1/projects/{pid}", json={"service": {"seats": 9}}, headers={**v, "If-Match": '"1"'}
    )
    body = assert_problem(stale, 412)
    assert body["etag"] == '"2"'
    body = assert_problem(h.client.patch(f"/api/v1/projects/{pid}", json={"notes": "x"}, headers=m), 428)
    assert body["etag"] == '"2"'
    assert h.client.get(f"/api/v1/projects/{pid}", headers=m).get_json()["service"]["seats"] == 6
    # a transition honours If-Match when sent
    assert_problem(action(h, pid, "cancel", {**m, "If-Match": '"1"'}), 412)
    assert (
        h.client.patch(
            f"/api/v1/projects/{pid}", json={"notes": "ok"}, headers={**m, "If-Match": "*"}
        ).status_code
        == 200
    )


def test_a_concurrent_write_between_read_and_commit_is_412_not_a_lost_update(
    h: ServiceHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both requests carry the right ETag; the other one commits while this one is in flight."""
    m = merchant(h, "m-race")
    pid = create(h, m, {"service": {"seats": 5}})["id"]
    real_diff = service_module.diff

    def diff_then_someone_else_commits(project: Project, changes: dict[str, Any]) -> Any:
        with h.database.session() as other:
            other.execute(
                update(Project).where(Project.id == pid).values(seats=7, version=Project.version + 1)
            )
        return real_diff(project, changes)

    monkeypatch.setattr(service_module, "diff", diff_then_someone_else_commits)
    response = h.client.patch(
        f"/api/v1/projects/{pid}", json={"service": {"seats": 6}}, headers={**m, "If-Match": '"1"'}
    )
    assert "changed by someone else" in assert_problem(response, 412)["detail"]
    monkeypatch.undo()
    project = h.client.get(f"/api/v1/projects/{pid}", headers=m).get_json()
    assert project["service"]["seats"] == 7 and project["version"] == 2
    assert count(h, ProjectHistory, ProjectHistory.project_id == pid) == 1


def test_faq_put_honours_its_own_etag(h: ServiceHarness) -> None:
    m = merchant(h, "m-faq")
    pid = create(h, m)["id"]
    sheet = h.client.get(f"/api/v1/projects/{pid}/faq", headers=m)
    assert sheet.headers["ETag"] == '"faq-0"'
    assert [q["key"] for q in sheet.get_json()["standard"]] == list(domain.STANDARD_KEYS)
    one = {"standard": [{"key": "stock", "answer": "能拍的都有货"}]}
    assert (
        h.client.put(
            f"/api/v1/projects/{pid}/faq", json=one, headers={**m, "If-Match": '"faq-0"'}
        ).status_code
        == 200
    )
    assert_problem(
        h.client.put(f"/api/v1/projects/{pid}/faq", json=one, headers={**m, "If-Match": '"faq-0"'}), 412
    )
    # GET's output can be sent back as it is
    round_trip = h.client.get(f"/api/v1/projects/{pid}/faq", headers=m).get_json()
    again = h.client.put(f"/api/v1/projects/{pid}/faq", json={"standard": round_trip["standard"]}, headers=m)
    assert again.status_code == 200, again.get_data(as_text=True)
    assert again.get_json()["unanswered"] == list(domain.STANDARD_KEYS[1:])


# --- idempotency -----------------------------------------------------------------------------------------


def test_idempotent_retries_create_nothing_new(h: ServiceHarness) -> None:
    m = merchant(h, "m-idem")
    headers = {**m, "Idempotency-Key": "create-1"}
    first = h.client.post("/api/v1/projects", json=full_project(), headers=headers)
    second = h.client.post("/api/v1/projects", json=full_project(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.get_json()["id"] == second.get_json()["id"]
    assert second.headers["ETag"] == '"1"'
    assert count(h, Project) == 1

    pid = ready_to_submit(h, m)
    submit_key = {**m, "Idempotency-Key": "submit-1"}
    a, b = action(h, pid, "submit", submit_key), action(h, pid, "submit", submit_key)
    assert a.status_code == b.status_code == 200 and b.headers["Idempotent-Replayed"] == "true"
    assert (
        count(h, ProjectHistory, ProjectHistory.project_id == pid, ProjectHistory.action == "submitted") == 1
    )
    assert assert_problem(action(h, pid, "submit", m), 409)["allowed"] == ["return", "confirm"]


# --- materials -------------------------------------------------------------------------------------------


def test_materials_upload_list_download_and_delete(h: ServiceHarness) -> None:
    m, v = merchant(h, "m-files"), vendor(h)
    pid = create(h, m)["id"]
    first = upload(h, pid, m)
    assert first.status_code == 201
    material = first.get_json()
    assert {k: material[k] for k in ("filename", "kind", "content_type", "size", "uploaded_by_role")} == {
        "filename": "培训资料.pdf",
        "kind": "pdf",
        "content_type": "application/pdf",
        "size": len(PDF),
        "uploaded_by_role": "merchant",
    }
    again = upload(h, pid, m, name="copy.pdf")
    assert again.status_code == 200 and again.get_json()["id"] == material["id"]
    assert upload(h, pid, v, PNG, "logo.png").status_code == 201
    listed = h.client.get(f"/api/v1/projects/{pid}/materials", headers=m)
    assert listed.headers["X-Total-Count"] == "2"
    assert [x["filename"] for x in listed.get_json()["items"]] == ["培训资料.pdf", "logo.png"]
    assert len(media_files(h)) == 2

    download = h.client.get(material["download_path"], headers=m)
    assert download.status_code == 200 and download.data == PDF
    assert download.content_type == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert (
        "filename*=UTF-8''%E5%9F%B9%E8%AE%AD%E8%B5%84%E6%96%99.pdf" in download.headers["Content-Disposition"]
    )
    assert download.headers["X-Content-Type-Options"] == "nosniff"

    # the same bytes in another merchant's project: listed there too, stored once
    other = create(h, merchant(h, "m-other"))["id"]
    assert upload(h, other, merchant(h, "m-other")).status_code == 201
    assert len(media_files(h)) == 2
    assert h.client.delete(material["download_path"], headers=m).status_code == 204
    assert len(media_files(h)) == 2  # still referenced by the other project
    assert h.client.delete(f"/api/v1/projects/{other}/materials", headers=m).status_code == 405
    other_material = h.client.get(f"/api/v1/projects/{other}/materials", headers=v).get_json()["items"][0]
    assert h.client.delete(other_material["download_path"], headers=v).status_code == 204
    assert len(media_files(h)) == 1
    assert_problem(h.client.get(material["download_path"], headers=m), 404)


def test_oversized_and_wrong_type_uploads_leave_nothing(h: ServiceHarness) -> None:
    m = merchant(h, "m-upl")
    pid = create(h, m)["id"]
    too_big = assert_problem(upload(h, pid, m, b"a" * (MAX_UPLOAD + 1), "big.txt"), 413)
    assert str(MAX_UPLOAD) in too_big["detail"]
    way_too_big = upload(h, pid, m, b"a" * (MAX_UPLOAD + 200 * 1024), "huge.txt")
    assert_problem(way_too_big, 413)
    assert "accepted" in assert_problem(upload(h, pid, m, EXE, "setup.exe"), 415)
    assert "PNG image" in assert_problem(upload(h, pid, m, PNG, "invoice.pdf"), 415)["detail"]
    assert_problem(upload(h, pid, m, EXE, "manual.pdf"), 415)
    assert_problem(upload(h, pid, m, b"", "empty.pdf"), 422)
    assert media_files(h) == []
    assert count(h, Material) == 0
    assert count(h, ProjectHistory, ProjectHistory.project_id == pid) == 1


def test_materials_are_kept_once_confirmed(h: ServiceHarness) -> None:
    m, v = merchant(h, "m-keep"), vendor(h)
    pid = ready_to_submit(h, m)
    action(h, pid, "submit", m)
    action(h, pid, "confirm", v)
    path = h.client.get(f"/api/v1/projects/{pid}/materials", headers=m).get_json()["items"][0][
        "download_path"
    ]
    body = assert_problem(h.client.delete(path, headers=m), 409)
    assert "draft, submitted or returned" in body["detail"]
    # a supplement can still be uploaded after confirmation
    assert upload(h, pid, m, PNG, "补充.png").status_code == 201
    assert_problem(h.client.put(f"/api/v1/projects/{pid}/faq", json=all_answers(), headers=m), 409)


# --- exports and lists -----------------------------------------------------------------------------------


def test_faq_exports_as_excel_csv_and_markdown(h: ServiceHarness) -> None:
    m = merchant(h, "m-exp")
    pid = create(h, m, {"merchant": {"company_name": "杭州店"}})["id"]
    sheet = all_answers()
    sheet["standard"][0]["answer"] = '=HYPERLINK("x")'
    sheet["standard"][1]["answer"] = "最多9折|不含包邮\n限会员"
    h.client.put(f"/api/v1/projects/{pid}/faq", json=sheet, headers=m)

    exported = h.client.get(f"/api/v1/projects/{pid}/faq/export", headers=m)
    assert exported.status_code == 200
    assert exported.content_type == "text/csv; charset=utf-8"
    assert exported.data.startswith(b"\xef\xbb\xbf")
    assert "filename*=UTF-8''faq-%E6%9D%AD%E5%B7%9E%E5%BA%97.csv" in exported.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert rows[0] == ["序号", "类型", "键", "问题", "答案或话术"]
    assert rows[1] == ["1", "标准", "stock", "能拍的都有货吗?", '\'=HYPERLINK("x")']
    assert rows[-1] == ["17", "商家自定义", "", "支持七天无理由吗?", "支持"]
    assert exported.data.count(b"\r\n") == 18

    md = h.client.get(f"/api/v1/projects/{pid}/faq/export?format=md", headers=h.auth("trainer"))
    text = md.get_data(as_text=True)
    assert md.content_type == "text/markdown; charset=utf-8"
    assert text.startswith("# 常见问题咨询&话术 — 杭州店\n")
    assert "| 最大议价空间是多少? | 最多9折\\|不含包邮<br>限会员 |" in text
    assert "| 欢迎语<br>*话术要包含:欢迎语 活动 引导自助购物* |" in text
    assert "| 支持七天无理由吗? | 支持 |" in text
    assert_problem(h.client.get(f"/api/v1/projects/{pid}/faq/export?format=pdf", headers=m), 422)


def test_list_filters_search_and_pagination(h: ServiceHarness) -> None:
    v = vendor(h)
    a = create(
        h,
        v,
        {
            "merchant_id": "m-l1",
            "merchant": {"company_name": "杭州服饰"},
            "go_live_date": go_live(5).isoformat(),
        },
    )
    b = create(
        h,
        v,
        {
            "merchant_id": "m-l2",
            "merchant": {"company_name": "上海美妆100%"},
            "go_live_date": go_live(20).isoformat(),
        },
    )
    c = create(h, v, {"merchant_id": "m-l2", "merchant": {"company_name": "深圳数码"}})
    action(h, c["id"], "cancel", v)

    def ids(query: str) -> list[str]:
        response = h.client.get(f"/api/v1/projects{query}", headers=v)
        assert response.status_code == 200, response.get_data(as_text=True)
        return [p["id"] for p in response.get_json()["items"]]

    assert ids("") == [c["id"], b["id"], a["id"]]
    assert ids("?status=draft") == [b["id"], a["id"]]
    assert ids("?status=draft,cancelled&merchant=m-l2") == [c["id"], b["id"]]
    assert ids(f"?go_live_from={go_live(6).isoformat()}") == [b["id"]]
    assert ids(f"?go_live_to={go_live(5).isoformat()}") == [a["id"]]
    assert ids("?q=服饰") == [a["id"]]
    assert ids("?q=100%25") == [b["id"]]
    assert ids("?q=%25") == [b["id"]]
    page = h.client.get("/api/v1/projects?per_page=2&page=2", headers=v)
    assert page.headers["X-Total-Count"] == "3"
    assert page.get_json()["pages"] == 2 and [p["id"] for p in page.get_json()["items"]] == [a["id"]]


def test_upload_archive_and_office_files_through_the_api(h: ServiceHarness) -> None:
    m = merchant(h, "m-office")
    pid = create(h, m)["id"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    uploaded = upload(h, pid, m, buffer.getvalue(), "SKU库存.xlsx").get_json()
    assert uploaded["kind"] == "xlsx"
    assert uploaded["content_type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disguised = upload(h, pid, m, buffer.getvalue(), "SKU库存.docx")
    assert "an Excel workbook" in assert_problem(disguised, 415)["detail"]
