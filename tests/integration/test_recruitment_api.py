"""The recruitment API on PostgreSQL: the talent pool, the all-or-nothing CSV import, roles and errors."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from services.recruitment.handlers import HANDLERS
from services.recruitment.models import Candidate
from shared.events.consumer import handle_once
from shared.events.envelope import build_envelope
from shared.pagination import encode_cursor
from tests.support import ServiceHarness

PROBLEM = "application/problem+json"
HEADER = (
    "name,phone,skills,shifts_available,basic_training_passed,basic_score,"
    "categories,platforms,city,experience_months,notes\n"
)


def candidate_body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "张三",
        "phone": "+86 138-0013-8000",
        "skills": ["presale", "售后"],
        "categories": ["服装"],
        "platforms": ["天猫", "JD"],
        "basic_training_passed": True,
        "basic_score": 88.5,
        "shifts_available": ["morning", "night"],
        "city": "杭州",
        "experience_months": 12,
        "notes": "夜校毕业",
        **overrides,
    }


def csv_file(rows: list[str]) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode()


def good_rows(count: int, start: int = 0) -> list[str]:
    return [
        f"人{i},1390000{i:04d},presale,morning,yes,{60 + i % 40},,taobao,,{i % 30},"
        for i in range(start, start + count)
    ]


def upload(h: ServiceHarness, body: bytes, query: str = "", role: str = "vendor") -> Any:
    return h.client.post(
        f"/api/v1/candidates/import{query}",
        data={"file": (io.BytesIO(body), "pool.csv")},
        content_type="multipart/form-data",
        headers=h.auth(role),
    )


def pool_size(h: ServiceHarness) -> int:
    with h.database.session() as session:
        return session.scalar(select(func.count()).select_from(Candidate)) or 0


@pytest.fixture()
def h(service_env: Callable[..., ServiceHarness]) -> ServiceHarness:
    return service_env("recruitment")


# --- candidates ------------------------------------------------------------------------------------------


def test_create_normalises_and_reads_back(h: ServiceHarness) -> None:
    response = h.client.post("/api/v1/candidates", json=candidate_body(), headers=h.auth("vendor"))
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["phone"] == "13800138000"
    assert body["skills"] == ["presale", "aftersale"]
    assert body["platforms"] == ["taobao", "jd"]
    assert (body["status"], body["basic_score"], body["basic_training_passed"]) == ("available", 88.5, True)
    detail = h.client.get(f"/api/v1/candidates/{body['id']}", headers=h.auth("trainer")).get_json()
    assert detail["history"] == [] and detail["shifts_available"] == ["morning", "night"]


def test_a_second_candidate_with_the_same_phone_is_a_conflict(h: ServiceHarness) -> None:
    first = h.client.post("/api/v1/candidates", json=candidate_body(), headers=h.auth("vendor")).get_json()
    again = h.client.post(
        "/api/v1/candidates", json=candidate_body(phone="13800138000"), headers=h.auth("vendor")
    )
    assert again.status_code == 409 and again.content_type == PROBLEM
    assert again.get_json()["candidate_id"] == first["id"]


def test_bad_candidate_gets_every_fields_message_and_changes_nothing(h: ServiceHarness) -> None:
    response = h.client.post(
        "/api/v1/candidates",
        json=candidate_body(phone="12345", skills=["sales"], basic_score=101, shifts_available=[], name=""),
        headers=h.auth("vendor"),
    )
    assert response.status_code == 422 and response.content_type == PROBLEM
    assert set(response.get_json()["errors"]) == {
        "phone",
        "skills.0",
        "basic_score",
        "shifts_available",
        "name",
    }
    assert pool_size(h) == 0


def test_roles(h: ServiceHarness) -> None:
    merchant = h.auth("merchant", merchant_id="m-1")
    assert h.client.get("/api/v1/candidates", headers=merchant).status_code == 403
    assert h.client.get("/api/v1/requisitions", headers=merchant).status_code == 403
    assert (
        h.client.post("/api/v1/candidates", json=candidate_body(), headers=h.auth("trainer")).status_code
        == 403
    )
    assert h.client.post("/api/v1/candidates", json=candidate_body()).status_code == 401
    created = h.client.post("/api/v1/candidates", json=candidate_body(), headers=h.auth("vendor")).get_json()
    own = h.client.get(f"/api/v1/candidates/{created['id']}", headers=h.auth("agent", sub=created["id"]))
    assert own.status_code == 200
    other = h.client.get(f"/api/v1/candidates/{created['id']}", headers=h.auth("agent", sub="someone-else"))
    assert other.status_code == 403


def test_unknown_ids_are_404(h: ServiceHarness) -> None:
    vendor = h.auth("vendor")
    for response in (
        h.client.get(f"/api/v1/candidates/{uuid.uuid4()}", headers=vendor),
        h.client.patch(f"/api/v1/candidates/{uuid.uuid4()}", json={"city": "x"}, headers=vendor),
        h.client.get(f"/api/v1/requisitions/{uuid.uuid4()}", headers=vendor),
        h.client.post(f"/api/v1/requisitions/{uuid.uuid4()}/rematch", headers=vendor),
        h.client.get(f"/api/v1/projects/{uuid.uuid4()}", headers=vendor),
    ):
        assert response.status_code == 404 and response.content_type == PROBLEM


def test_list_filters_and_pagination(h: ServiceHarness) -> None:
    rows = [
        "甲,13900000001,presale,morning,yes,90,服装,taobao,杭州,3,会英语",
        "乙,13900000002,aftersale,night,yes,70,美妆,jd,上海,0,",
        "丙,13900000003,presale;aftersale,afternoon,no,50,,,杭州,0,",
    ]
    assert upload(h, csv_file(rows)).status_code == 200
    vendor = h.auth("vendor")

    def names(query: str) -> list[str]:
        response = h.client.get(f"/api/v1/candidates?{query}", headers=vendor)
        assert response.status_code == 200, response.get_data(as_text=True)
        return sorted(c["name"] for c in response.get_json()["items"])

    assert names("skill=aftersale") == ["丙", "乙"]
    assert names("shift=night") == ["乙"]
    assert names("category=服装") == ["甲"]
    assert names("platform=Tmall") == ["甲"]
    assert names("basic_training_passed=false") == ["丙"]
    assert names("city=杭州&min_score=60") == ["甲"]
    assert names("q=英语") == ["甲"] and names("q=0002") == ["乙"]
    page = h.client.get("/api/v1/candidates?per_page=2&page=2", headers=vendor)
    assert page.headers["X-Total-Count"] == "3" and len(page.get_json()["items"]) == 1
    assert h.client.get("/api/v1/candidates?skill=sales", headers=vendor).status_code == 422


def _walk(h: ServiceHarness, path: str, per_page: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every page of a list through ``after``: (the items in order, each page's answer)."""
    items: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    query = f"per_page={per_page}"
    while True:
        response = h.client.get(f"{path}{'&' if '?' in path else '?'}{query}", headers=h.auth("vendor"))
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        pages.append(body)
        items += body["items"]
        if body["next_after"] is None:
            return items, pages
        query = f"per_page={per_page}&after={body['next_after']}"


def test_lists_walk_with_after_newest_first_and_refuse_foreign_cursors(h: ServiceHarness) -> None:
    # one import: every row has the same created_at, so the order within it is the id (descending)
    assert upload(h, csv_file(good_rows(5))).status_code == 200
    assert upload(h, csv_file(good_rows(2, start=5))).status_code == 200
    everyone = h.client.get("/api/v1/candidates?per_page=200", headers=h.auth("vendor")).get_json()["items"]
    assert len(everyone) == 7
    items, pages = _walk(h, "/api/v1/candidates", 3)
    assert [c["id"] for c in items] == [c["id"] for c in everyone]
    assert [len(p["items"]) for p in pages] == [3, 3, 1]
    assert [p["page"] for p in pages] == [1, 0, 0] and {p["total"] for p in pages} == {7}
    # the second import is newer: it comes first
    assert {c["name"] for c in items[:2]} == {"人5", "人6"}
    # a filter holds across the pages
    few, _ = _walk(h, "/api/v1/candidates?min_score=63", 2)
    assert sorted(c["name"] for c in few) == ["人3", "人4", "人5", "人6"]

    for n in range(3):
        _confirm(h, f"p-walk-{n}", 1)
    requisitions, pages = _walk(h, "/api/v1/requisitions", 2)
    assert [r["project_id"] for r in requisitions] == ["p-walk-2", "p-walk-1", "p-walk-0"]
    assert [len(p["items"]) for p in pages] == [2, 1]

    # a garbled cursor, or another list's cursor whose values are not (time, id), is refused
    foreign = encode_cursor([3, 4], 7)
    for cursor in ("not-a-cursor", foreign, pages[0]["next_after"][:-3]):
        response = h.client.get(f"/api/v1/candidates?after={cursor}", headers=h.auth("vendor"))
        assert response.status_code == 422, (cursor, response.get_data(as_text=True))
        assert "after" in response.get_json()["errors"]


def test_status_by_hand_only_between_available_and_inactive(h: ServiceHarness) -> None:
    created = h.client.post("/api/v1/candidates", json=candidate_body(), headers=h.auth("vendor")).get_json()
    url = f"/api/v1/candidates/{created['id']}"
    response = h.client.patch(url, json={"status": "inactive", "city": "苏州"}, headers=h.auth("vendor"))
    assert response.status_code == 200
    assert (response.get_json()["status"], response.get_json()["city"]) == ("inactive", "苏州")
    # matched by a project while inactive? no: inactive people are not eligible
    handle_once(
        h.database,
        HANDLERS,
        build_envelope(
            "project.confirmed",
            {
                "project_id": "p-1",
                "merchant_id": "m-1",
                "seats": 1,
                "service_type": "presale",
                "service_hours": {"start": "09:00", "end": "18:00"},
                "go_live_date": "2026-12-01",
                "assessor": "vendor",
                "metrics": {},
            },
        ),
    )
    assert h.client.get(url, headers=h.auth("vendor")).get_json()["status"] == "inactive"
    # back to available: the short requisition takes the person at once
    assert (
        h.client.patch(url, json={"status": "available"}, headers=h.auth("vendor")).get_json()["status"]
        == "matched"
    )
    refused = h.client.patch(url, json={"status": "inactive"}, headers=h.auth("vendor"))
    assert refused.status_code == 409 and refused.get_json()["rule"] == "candidate-status"
    assert h.client.patch(url, json={"status": "assigned"}, headers=h.auth("vendor")).status_code == 422


# --- the CSV import --------------------------------------------------------------------------------------


def test_import_is_all_or_nothing_with_every_bad_row_listed(h: ServiceHarness) -> None:
    rows = [
        *good_rows(3),
        "坏,12345,presale,morning,yes,80,,,,,",
        *good_rows(2, 10),
        "坏2,13900009999,cook,morning,yes,120,,,,,",
    ]
    response = upload(h, csv_file(rows))
    assert response.status_code == 422 and response.content_type == PROBLEM
    body = response.get_json()
    assert [r["line"] for r in body["rows"]] == [5, 8]
    assert set(body["rows"][1]["errors"]) == {"skills", "basic_score"}
    assert "line 5.phone" in body["errors"]
    assert "nothing was imported" in body["detail"]
    assert pool_size(h) == 0


def test_dry_run_counts_and_writes_nothing(h: ServiceHarness) -> None:
    response = upload(h, csv_file(good_rows(4)), "?dry_run=true")
    assert response.status_code == 200
    assert response.get_json() == {"dry_run": True, "rows": 4, "created": 4, "updated": 0, "topped_up": []}
    assert pool_size(h) == 0


def test_a_known_phone_updates_the_candidate(h: ServiceHarness) -> None:
    assert upload(h, csv_file(good_rows(3))).get_json()["created"] == 3
    changed = [r.replace(",presale,", ",aftersale,") for r in good_rows(2)] + good_rows(1, 50)
    body = upload(h, csv_file(changed)).get_json()
    assert (body["created"], body["updated"], body["rows"]) == (1, 2, 3)
    assert pool_size(h) == 4
    listed = h.client.get("/api/v1/candidates?skill=aftersale", headers=h.auth("vendor")).get_json()
    assert sorted(c["phone"] for c in listed["items"]) == ["13900000000", "13900000001"]


def test_ten_thousand_rows_in_one_request(h: ServiceHarness) -> None:
    response = upload(h, csv_file(good_rows(10_000)))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert (response.get_json()["created"], response.get_json()["updated"]) == (10_000, 0)
    assert pool_size(h) == 10_000


def test_a_raw_text_csv_body_is_accepted(h: ServiceHarness) -> None:
    response = h.client.post(
        "/api/v1/candidates/import",
        data=csv_file(good_rows(2)),
        content_type="text/csv; charset=utf-8",
        headers=h.auth("vendor"),
    )
    assert response.status_code == 200 and response.get_json()["created"] == 2


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "empty"),
        (HEADER.encode(), "no candidate rows"),
        (b"name,phone,wage\n", "unknown column(s): wage"),
        ((HEADER + "张三,13800138000,售前,早班,是,80,,,,,\n").encode("gbk") + b"\xff\n", "GB18030"),
    ],
)
def test_bad_files_are_422_with_the_reason(h: ServiceHarness, body: bytes, fragment: str) -> None:
    response = upload(h, body)
    assert response.status_code == 422 and response.content_type == PROBLEM
    assert fragment in response.get_json()["detail"]
    assert pool_size(h) == 0


def test_files_over_ten_megabytes_are_413(h: ServiceHarness) -> None:
    big = csv_file(good_rows(1)) + b"#" * (10 * 1024 * 1024)
    response = upload(h, big)
    assert response.status_code == 413 and response.content_type == PROBLEM
    assert "10485760" in response.get_json()["detail"]


def test_import_needs_a_file_and_a_vendor(h: ServiceHarness) -> None:
    assert upload(h, csv_file(good_rows(1)), role="trainer").status_code == 403
    missing = h.client.post(
        "/api/v1/candidates/import", data={}, content_type="multipart/form-data", headers=h.auth("vendor")
    )
    assert missing.status_code == 422 and "file" in missing.get_json()["errors"]
    wrong = h.client.post("/api/v1/candidates/import", json={"rows": []}, headers=h.auth("vendor"))
    assert wrong.status_code == 415


# --- requisitions and project settings -------------------------------------------------------------------


def _confirm(h: ServiceHarness, project_id: str, seats: int) -> None:
    handle_once(
        h.database,
        HANDLERS,
        build_envelope(
            "project.confirmed",
            {
                "project_id": project_id,
                "merchant_id": "m-1",
                "seats": seats,
                "service_type": "presale",
                "service_hours": {"start": "09:00", "end": "18:00"},
                "go_live_date": "2026-12-01",
                "assessor": "vendor",
                "metrics": {},
            },
        ),
    )


def test_rematch_of_a_filled_requisition_is_refused(h: ServiceHarness) -> None:
    upload(h, csv_file(good_rows(3)))
    _confirm(h, "p-full", 1)
    (req,) = h.client.get("/api/v1/requisitions?project_id=p-full", headers=h.auth("trainer")).get_json()[
        "items"
    ]
    assert req["status"] == "filled"
    response = h.client.post(f"/api/v1/requisitions/{req['id']}/rematch", headers=h.auth("vendor"))
    assert response.status_code == 409 and response.get_json()["rule"] == "rematch-open-only"
    assert (
        h.client.post(f"/api/v1/requisitions/{req['id']}/rematch", headers=h.auth("trainer")).status_code
        == 403
    )


def test_a_per_project_ratio_set_before_confirmation_is_used(h: ServiceHarness) -> None:
    upload(h, csv_file(good_rows(10)))
    response = h.client.patch("/api/v1/projects/p-2", json={"match_ratio": 2}, headers=h.auth("vendor"))
    assert response.status_code == 200 and response.get_json()["status"] == "pending"
    _confirm(h, "p-2", 3)
    (req,) = h.client.get("/api/v1/requisitions?project_id=p-2", headers=h.auth("vendor")).get_json()["items"]
    assert (req["ratio"], req["target"], req["matched"]) == (2.0, 6, 6)
    # raising it tops up at once; lowering below what is matched is refused with the floor
    raised = h.client.patch("/api/v1/projects/p-2", json={"match_ratio": 3}, headers=h.auth("vendor"))
    assert raised.status_code == 200
    (req,) = h.client.get("/api/v1/requisitions?project_id=p-2", headers=h.auth("vendor")).get_json()["items"]
    assert (req["target"], req["matched"], req["status"]) == (9, 9, "filled")
    lowered = h.client.patch("/api/v1/projects/p-2", json={"match_ratio": 1}, headers=h.auth("vendor"))
    assert lowered.status_code == 422 and lowered.get_json()["rule"] == "match-ratio-floor"
    assert "at least 3.00" in lowered.get_json()["detail"]
    bad = h.client.patch("/api/v1/projects/p-2", json={"match_ratio": 0}, headers=h.auth("vendor"))
    assert bad.status_code == 422 and "match_ratio" in bad.get_json()["errors"]
