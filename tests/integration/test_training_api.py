"""The training service's HTTP API on PostgreSQL: courseware gate, dual assessment, 1:2 admission,
withdrawal, retraining, the periodic job and every refusal of the issue.

Events are fed to the real handlers through the consumer's ``handle_once`` (inbox included); what the
service emits is read from its outbox. The broker round trips are in test_training_events.py.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.training.cohorts import advance_cohorts
from services.training.config import load_settings
from services.training.handlers import HANDLERS
from services.training.models import Cohort, CoursewareItem, Trainee
from shared.events.consumer import handle_once
from shared.events.envelope import Envelope, build_envelope
from shared.uow import Actor, UnitOfWork
from shared.workdays import SHANGHAI, add_workdays, next_workday_on_or_after
from tests.support import ServiceHarness, emitted, raw_cursor, walk_pages

PROBLEM = "application/problem+json"
MERCHANT = "m-haoyun"
OTHER_MERCHANT = "m-other"


# --- helpers (also used by test_training_events.py) -------------------------------------------------------


def project_confirmed(project_id: str, *, seats: int = 10, assessor: str = "merchant") -> dict[str, Any]:
    return {
        "project_id": project_id,
        "merchant_id": MERCHANT,
        "seats": seats,
        "service_type": "presale",
        "service_hours": {"start": "08:00", "end": "24:00"},
        "go_live_date": "2026-12-15",
        "assessor": assessor,
        "metrics": {"first_response_seconds": 15},
        "trainer": "vendor",
        "company_name": "好运旗舰店",
        "training": {"trainer": "vendor", "assessor": assessor, "requirements": "双十二话术"},
        "faq": [{"key": "stock", "question": "能拍的都有货吗", "answer": "是"}],
        "materials": [
            {"id": "mat-1", "name": "产品手册.pdf", "download": "/api/v1/projects/p/materials/mat-1"}
        ],
    }


def candidate(i: int, prefix: str = "cand") -> dict[str, Any]:
    return {
        "candidate_id": f"{prefix}-{i:02d}",
        "name": f"客服{i:02d}",
        "phone": f"138{i:08d}",
        "skills": ["presale"],
        "shifts_available": ["morning", "afternoon"],
        "basic_score": 85,
    }


def candidates_matched(project_id: str, n: int, prefix: str = "cand", start: int = 0) -> dict[str, Any]:
    """recruitment's CandidatesMatchedData."""
    return {
        "requisition_id": f"req-{prefix}",
        "project_id": project_id,
        "candidates": [candidate(i, prefix) for i in range(start, start + n)],
    }


def passing_scores(i: int) -> dict[str, Any]:
    """Scores that pass 80/80; combined score falls with i, so candidate 0 ranks first."""
    return {"quiz_score": 99 - i // 2, "simulation_score": 98 - i // 3, "trainer_passed": True}


def trainer_rows(candidate_ids: list[str], passing: int) -> list[dict[str, Any]]:
    rows = []
    for i, cid in enumerate(candidate_ids):
        scores = passing_scores(i) if i < passing else {"quiz_score": 70, "simulation_score": 82}
        rows.append({"candidate_id": cid, **scores, "trainer_passed": i < passing})
    return rows


def deliver(h: ServiceHarness, event_type: str, data: dict[str, Any]) -> Envelope:
    envelope = build_envelope(event_type, data)
    handle_once(h.database, HANDLERS, envelope)
    return envelope


def cohort_of(h: ServiceHarness, project_id: str, sequence: int = 1) -> dict[str, Any]:
    listing = h.client.get(f"/api/v1/cohorts?project_id={project_id}", headers=h.auth("trainer")).get_json()
    return next(c for c in listing["items"] if c["sequence"] == sequence)


def ready_cohort(h: ServiceHarness, cohort_id: str) -> None:
    """The trainer adds courseware, the merchant confirms it, the trainer starts training."""
    link = {"title": "项目介绍", "topics": ["project", "scripts"], "url": "https://kb.example.com/intro"}
    r = h.client.post(f"/api/v1/cohorts/{cohort_id}/courseware", json=link, headers=h.auth("trainer"))
    assert r.status_code == 201, r.get_json()
    r = h.client.post(
        f"/api/v1/cohorts/{cohort_id}/courseware/confirm", headers=h.auth("merchant", merchant_id=MERCHANT)
    )
    assert r.status_code == 200, r.get_json()
    r = h.client.post(f"/api/v1/cohorts/{cohort_id}/start", headers=h.auth("trainer"))
    assert r.status_code == 200, r.get_json()


def assess(h: ServiceHarness, cohort_id: str, rows: list[dict[str, Any]], **auth: Any) -> Any:
    headers = h.auth(auth.pop("role", "trainer"), **auth)
    return h.client.post(
        f"/api/v1/cohorts/{cohort_id}/assessments", json={"assessments": rows}, headers=headers
    )


def merchant_passes(h: ServiceHarness, cohort_id: str, candidate_ids: list[str]) -> None:
    rows = [{"candidate_id": cid, "merchant_passed": True} for cid in candidate_ids]
    r = assess(h, cohort_id, rows, role="merchant", merchant_id=MERCHANT)
    assert r.status_code == 200, r.get_json()


def job_on(session: Session, day: dt.date) -> UnitOfWork:
    """The periodic job's unit of work on ``session``, at noon in Shanghai on ``day``."""
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=SHANGHAI)
    return UnitOfWork(session, clock=lambda: noon, actor=Actor.system("job:training.advance_cohorts"))


def snapshot(h: ServiceHarness, cohort_id: str) -> list[tuple[Any, ...]]:
    with h.database.session() as session:
        return [
            (t.candidate_id, t.status, t.quiz_score, t.simulation_score, t.trainer_passed, t.merchant_passed)
            for t in session.scalars(
                select(Trainee).where(Trainee.cohort_id == cohort_id).order_by(Trainee.id)
            )
        ]


# --- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture()
def h(service_env: Callable[..., ServiceHarness], tmp_path: Path) -> ServiceHarness:
    return service_env("training", overrides={"media_root": str(tmp_path / "media")})


@pytest.fixture()
def seeded(h: ServiceHarness) -> tuple[ServiceHarness, str, list[str]]:
    """The seed's project: 10 seats, merchant-assessed, 30 candidates matched (1:3)."""
    project_id = f"p-{uuid.uuid4().hex[:8]}"
    deliver(h, "project.confirmed", project_confirmed(project_id))
    deliver(h, "candidates.matched", candidates_matched(project_id, 30))
    cohort = cohort_of(h, project_id)
    ids = [f"cand-{i:02d}" for i in range(30)]
    return h, cohort["id"], ids


# --- cohorts from events ---------------------------------------------------------------------------------


def test_a_match_before_the_confirmation_still_gives_one_cohort_with_target_twenty(h: ServiceHarness) -> None:
    project_id = f"p-{uuid.uuid4().hex[:8]}"
    deliver(h, "candidates.matched", candidates_matched(project_id, 30))
    early = cohort_of(h, project_id)
    assert (early["target"], early["merchant_id"], early["enrolled"]) == (0, None, 30)
    deliver(h, "project.confirmed", project_confirmed(project_id))
    deliver(h, "project.confirmed", project_confirmed(project_id))  # a re-sent confirmation (new event id)
    listing = h.client.get(f"/api/v1/cohorts?project_id={project_id}", headers=h.auth("vendor"))
    assert listing.headers["X-Total-Count"] == "1"
    cohort = listing.get_json()["items"][0]
    assert (cohort["id"], cohort["target"], cohort["merchant_id"], cohort["status"]) == (
        early["id"],
        20,
        MERCHANT,
        "planned",
    )
    assert cohort["training_days"] == 2
    # planned on China's calendar: the next working day, then 2 working days
    assert dt.date.fromisoformat(cohort["end_date"]) == add_workdays(
        next_workday_on_or_after(dt.date.fromisoformat(cohort["start_date"])), 1
    )
    detail = h.client.get(f"/api/v1/cohorts/{cohort['id']}", headers=h.auth("merchant", merchant_id=MERCHANT))
    assert len(detail.get_json()["trainees"]) == 30
    # another merchant neither sees it in lists nor by id
    other = h.auth("merchant", merchant_id=OTHER_MERCHANT)
    assert h.client.get(f"/api/v1/cohorts?project_id={project_id}", headers=other).get_json()["total"] == 0
    missing = h.client.get(f"/api/v1/cohorts/{cohort['id']}", headers=other)
    assert (missing.status_code, missing.content_type) == (404, PROBLEM)


def test_project_closed_cancels_the_open_cohort_and_later_matches_are_ignored(
    seeded: tuple[ServiceHarness, str, list[str]],
) -> None:
    h, cohort_id, _ = seeded
    project_id = h.client.get(f"/api/v1/cohorts/{cohort_id}", headers=h.auth("vendor")).get_json()[
        "project_id"
    ]
    deliver(h, "project.closed", {"project_id": project_id})
    deliver(h, "candidates.matched", candidates_matched(project_id, 3, prefix="late"))
    listing = h.client.get(f"/api/v1/cohorts?project_id={project_id}", headers=h.auth("vendor")).get_json()
    assert [(c["status"], c["enrolled"]) for c in listing["items"]] == [("cancelled", 30)]


# --- courseware ------------------------------------------------------------------------------------------


def test_courseware_must_be_confirmed_by_the_merchant_before_assessments(
    seeded: tuple[ServiceHarness, str, list[str]],
) -> None:
    h, cohort_id, ids = seeded
    merchant = h.auth("merchant", merchant_id=MERCHANT)
    # nothing to confirm yet
    r = h.client.post(f"/api/v1/cohorts/{cohort_id}/courseware/confirm", headers=merchant)
    assert r.status_code == 409 and r.get_json()["rule"] == "courseware-items"
    link = {"title": "话术", "topics": ["scripts", "faq"], "url": "https://kb.example.com/scripts"}
    r = h.client.post(f"/api/v1/cohorts/{cohort_id}/courseware", json=link, headers=h.auth("trainer"))
    assert r.status_code == 201 and r.get_json()["kind"] == "link"
    view = h.client.get(f"/api/v1/cohorts/{cohort_id}/courseware", headers=merchant).get_json()
    assert view["status"] == "pending"
    assert view["topics_missing"] == ["project", "business", "industry", "cases", "qa"]
    assert view["sources"]["faq"][0]["question"] == "能拍的都有货吗"
    assert view["sources"]["materials"][0]["name"] == "产品手册.pdf"

    # the assessment gate: 409 naming the rule while the courseware is unconfirmed
    r = h.client.put(
        f"/api/v1/cohorts/{cohort_id}/trainees/{ids[0]}/assessment",
        json={"quiz_score": 90},
        headers=h.auth("trainer"),
    )
    assert r.status_code == 409
    assert (
        r.get_json()["rule"] == "courseware-confirmed"
        and "confirmed the courseware" in r.get_json()["detail"]
    )

    r = h.client.post(f"/api/v1/cohorts/{cohort_id}/courseware/reject", json={}, headers=merchant)
    assert r.status_code == 422 and "reason" in r.get_json()["errors"]
    r = h.client.post(
        f"/api/v1/cohorts/{cohort_id}/courseware/reject", json={"reason": "缺少质检要求"}, headers=merchant
    )
    assert (r.get_json()["status"], r.get_json()["reason"]) == ("rejected", "缺少质检要求")
    # only the merchant decides; another merchant cannot even see the cohort
    assert (
        h.client.post(
            f"/api/v1/cohorts/{cohort_id}/courseware/confirm", headers=h.auth("trainer")
        ).status_code
        == 403
    )
    other = h.auth("merchant", merchant_id=OTHER_MERCHANT)
    assert h.client.post(f"/api/v1/cohorts/{cohort_id}/courseware/confirm", headers=other).status_code == 404

    qa = {"title": "质检标准", "topics": ["qa"], "url": "https://kb.example.com/qa"}
    r = h.client.post(f"/api/v1/cohorts/{cohort_id}/courseware", json=qa, headers=h.auth("trainer"))
    assert r.status_code == 201
    assert (
        h.client.get(f"/api/v1/cohorts/{cohort_id}/courseware", headers=merchant).get_json()["status"]
        == "pending"
    )
    r = h.client.post(f"/api/v1/cohorts/{cohort_id}/courseware/confirm", headers=merchant)
    assert r.status_code == 200 and r.get_json()["status"] == "confirmed"

    # confirmed, but training has not started: still refused, saying what to do
    r = h.client.put(
        f"/api/v1/cohorts/{cohort_id}/trainees/{ids[0]}/assessment",
        json={"quiz_score": 90},
        headers=h.auth("trainer"),
    )
    assert r.status_code == 409 and r.get_json()["rule"] == "cohort-started"
    assert h.client.post(f"/api/v1/cohorts/{cohort_id}/start", headers=h.auth("trainer")).status_code == 200
    r = h.client.put(
        f"/api/v1/cohorts/{cohort_id}/trainees/{ids[0]}/assessment",
        json={"quiz_score": 90},
        headers=h.auth("trainer"),
    )
    assert r.status_code == 200 and r.get_json()["verdict"] == "pending"


def test_bad_courseware_input_is_refused(seeded: tuple[ServiceHarness, str, list[str]]) -> None:
    h, cohort_id, _ = seeded
    trainer = h.auth("trainer")
    r = h.client.post(
        f"/api/v1/cohorts/{cohort_id}/courseware",
        json={"title": "", "topics": ["gossip"], "url": "ftp://x"},
        headers=trainer,
    )
    assert r.status_code == 422
    assert {"title", "topics.0", "url"} <= set(r.get_json()["errors"])
    r = h.client.post(f"/api/v1/cohorts/{cohort_id}/courseware", data="title=x", headers=trainer)
    assert r.status_code == 415
    r = h.client.post(
        f"/api/v1/cohorts/{cohort_id}/courseware",
        json={"title": "x", "topics": ["project"], "url": "https://x.example.com"},
        headers=h.auth("merchant", merchant_id=MERCHANT),
    )
    assert r.status_code == 403
    with h.database.session() as session:
        assert session.scalars(select(CoursewareItem)).all() == []


def test_file_courseware_is_stored_by_content_and_downloadable(
    seeded: tuple[ServiceHarness, str, list[str]], tmp_path: Path
) -> None:
    h, cohort_id, _ = seeded
    trainer = h.auth("trainer")
    body = b"%PDF-1.4\n% course\n" + "培训课件".encode() * 50
    r = h.client.post(
        f"/api/v1/cohorts/{cohort_id}/courseware",
        data={"title": "案例分析", "topics": "cases,faq", "file": (io.BytesIO(body), "案例.pdf")},
        headers=trainer,
        content_type="multipart/form-data",
    )
    assert r.status_code == 201, r.get_json()
    item = r.get_json()
    assert (item["kind"], item["topics"], item["content_type"], item["size_bytes"]) == (
        "file",
        ["cases", "faq"],
        "application/pdf",
        len(body),
    )
    download = h.client.get(f"/api/v1/cohorts/{cohort_id}/courseware/{item['id']}/file", headers=trainer)
    assert download.status_code == 200 and download.data == body
    assert download.headers["Content-Type"] == "application/pdf"
    assert "filename*=UTF-8''%E6%A1%88%E4%BE%8B.pdf" in download.headers["Content-Disposition"]

    # content that contradicts the name: 415, no item and no new file on disk
    files_before = sorted(p.name for p in (tmp_path / "media").rglob("*") if p.is_file())
    r = h.client.post(
        f"/api/v1/cohorts/{cohort_id}/courseware",
        data={"title": "假PDF", "topics": "cases", "file": (io.BytesIO(b"MZ\x90\x00\x03"), "x.pdf")},
        headers=trainer,
        content_type="multipart/form-data",
    )
    assert r.status_code == 415 and r.content_type == PROBLEM
    r = h.client.post(
        f"/api/v1/cohorts/{cohort_id}/courseware",
        data={"title": "", "topics": "cases"},
        headers=trainer,
        content_type="multipart/form-data",
    )
    assert r.status_code == 422 and {"title", "file"} <= set(r.get_json()["errors"])
    assert sorted(p.name for p in (tmp_path / "media").rglob("*") if p.is_file()) == files_before
    with h.database.session() as session:
        assert len(session.scalars(select(CoursewareItem)).all()) == 1

    # deleting the only item that uses a file removes the file as well
    assert (
        h.client.delete(f"/api/v1/cohorts/{cohort_id}/courseware/{item['id']}", headers=trainer).status_code
        == 204
    )
    assert [p for p in (tmp_path / "media").rglob("*") if p.is_file() and ".incoming" not in p.parts] == []


# --- assessment and admission with the seed's numbers ---------------------------------------------------


def test_ten_seats_thirty_trainees_twenty_four_pass(seeded: tuple[ServiceHarness, str, list[str]]) -> None:
    h, cohort_id, ids = seeded
    ready_cohort(h, cohort_id)
    r = assess(h, cohort_id, trainer_rows(ids, passing=24))
    assert r.status_code == 200 and r.get_json()["recorded"] == 30
    progress = h.client.get(f"/api/v1/cohorts/{cohort_id}/progress", headers=h.auth("vendor")).get_json()
    # merchant-assessed: nobody passes before the merchant's own verdict
    assert (progress["status"], progress["assessed"], progress["passed"], progress["failed"]) == (
        "assessing",
        30,
        0,
        6,
    )
    merchant_passes(h, cohort_id, ids[:24])
    progress = h.client.get(f"/api/v1/cohorts/{cohort_id}/progress", headers=h.auth("vendor")).get_json()
    assert (progress["passed"], progress["target"], progress["gap"]) == (24, 20, 20)

    r = h.client.post(f"/api/v1/cohorts/{cohort_id}/complete", headers=h.auth("trainer"))
    assert r.status_code == 200, r.get_json()
    cohort = r.get_json()
    assert (cohort["status"], cohort["admitted"], cohort["target"], cohort["shortfall"]) == (
        "completed",
        20,
        20,
        None,
    )
    by_id = {t["candidate_id"]: t for t in cohort["trainees"]}
    assert [by_id[c]["status"] for c in ids[:20]] == ["admitted"] * 20
    assert [by_id[c]["status"] for c in ids[20:24]] == ["passed_waitlisted"] * 4
    assert [by_id[c]["rank"] for c in ids[:24]] == list(range(1, 25))
    admitted = emitted(h, "agent.admitted")
    assert [e["candidate_id"] for e in admitted] == ids[:20]
    first = admitted[0]
    assert (first["rank"], first["quiz_score"], first["simulation_score"], first["cohort_id"]) == (
        1,
        99,
        98,
        cohort_id,
    )
    assert (first["name"], first["phone"], first["merchant_id"], first["skills"]) == (
        "客服00",
        "13800000000",
        MERCHANT,
        ["presale"],
    )
    [completed] = emitted(h, "cohort.completed")
    assert {k: completed[k] for k in ("project_id", "cohort_id", "admitted", "target", "trainees")} == {
        "project_id": cohort["project_id"],
        "cohort_id": cohort_id,
        "admitted": 20,
        "target": 20,
        "trainees": 30,
    }
    assert emitted(h, "training.shortfall") == []
    waitlisted = h.client.get(
        f"/api/v1/cohorts/{cohort_id}/trainees?status=passed_waitlisted", headers=h.auth("trainer")
    )
    assert waitlisted.headers["X-Total-Count"] == "4"

    # a second completion, and assessing after completion, change nothing
    before = snapshot(h, cohort_id)
    again = h.client.post(f"/api/v1/cohorts/{cohort_id}/complete", headers=h.auth("trainer"))
    assert again.status_code == 409 and again.get_json()["rule"] == "cohort-completed"
    late = h.client.put(
        f"/api/v1/cohorts/{cohort_id}/trainees/{ids[25]}/assessment",
        json={"quiz_score": 100},
        headers=h.auth("trainer"),
    )
    assert late.status_code == 409
    assert snapshot(h, cohort_id) == before
    assert len(emitted(h, "agent.admitted")) == 20

    # an admitted trainee withdraws: the best waitlisted passer (rank 21) is admitted in their place
    r = h.client.post(
        f"/api/v1/cohorts/{cohort_id}/trainees/{ids[3]}/withdraw",
        json={"reason": "找到全职工作"},
        headers=h.auth("trainer"),
    )
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["trainee"]["status"], r.get_json()["promoted"]["candidate_id"]) == (
        "withdrawn",
        ids[20],
    )
    assert r.get_json()["shortfall"] == 0
    promoted = emitted(h, "agent.admitted")[-1]
    assert (promoted["candidate_id"], promoted["rank"]) == (ids[20], 21)
    again = h.client.post(
        f"/api/v1/cohorts/{cohort_id}/trainees/{ids[3]}/withdraw",
        json={"reason": "again"},
        headers=h.auth("trainer"),
    )
    assert again.status_code == 409
    # an agent withdraws only themselves
    r = h.client.post(
        f"/api/v1/cohorts/{cohort_id}/trainees/{ids[5]}/withdraw",
        json={"reason": "x"},
        headers=h.auth("agent", sub=ids[6]),
    )
    assert r.status_code == 403


def test_seventeen_pass_is_a_shortfall_of_three(h: ServiceHarness) -> None:
    project_id = f"p-{uuid.uuid4().hex[:8]}"
    deliver(h, "project.confirmed", project_confirmed(project_id, assessor="vendor"))
    deliver(h, "candidates.matched", candidates_matched(project_id, 30))
    cohort_id = cohort_of(h, project_id)["id"]
    ids = [f"cand-{i:02d}" for i in range(30)]
    ready_cohort(h, cohort_id)
    assert assess(h, cohort_id, trainer_rows(ids, passing=17)).status_code == 200
    cohort = h.client.post(f"/api/v1/cohorts/{cohort_id}/complete", headers=h.auth("vendor")).get_json()
    assert (cohort["admitted"], cohort["shortfall"]) == (17, 3)
    assert emitted(h, "training.shortfall") == [
        {"project_id": project_id, "cohort_id": cohort_id, "missing": 3}
    ]
    assert emitted(h, "cohort.completed")[0]["admitted"] == 17
    # an admitted one withdraws with nobody waitlisted: one more is asked of recruitment
    r = h.client.post(
        f"/api/v1/cohorts/{cohort_id}/trainees/{ids[0]}/withdraw",
        json={"reason": "退出"},
        headers=h.auth("agent", sub=ids[0]),
    )
    assert r.status_code == 200 and r.get_json()["shortfall"] == 1 and r.get_json()["promoted"] is None
    assert emitted(h, "training.shortfall")[-1]["missing"] == 1
    project = h.client.get(f"/api/v1/projects/{project_id}/training", headers=h.auth("vendor")).get_json()
    assert (project["target"], project["admitted"], project["gap"]) == (20, 16, 4)


# --- refusals -----------------------------------------------------------------------------------------


def test_bad_assessments_are_refused_and_change_nothing(
    seeded: tuple[ServiceHarness, str, list[str]],
) -> None:
    h, cohort_id, ids = seeded
    ready_cohort(h, cohort_id)
    url = f"/api/v1/cohorts/{cohort_id}/trainees/{ids[0]}/assessment"
    trainer, merchant = h.auth("trainer"), h.auth("merchant", merchant_id=MERCHANT)
    before = snapshot(h, cohort_id)

    r = h.client.put(
        url, json={"quiz_score": 101, "simulation_score": "85", "trainer_passed": "maybe"}, headers=trainer
    )
    assert r.status_code == 422 and r.content_type == PROBLEM
    assert set(r.get_json()["errors"]) == {"quiz_score", "simulation_score", "trainer_passed"}
    assert h.client.put(url, json={"quiz_score": True}, headers=trainer).status_code == 422
    assert h.client.put(url, json={"quiz_score": -1}, headers=trainer).status_code == 422
    assert h.client.put(url, json={"quiz_score": 80.555}, headers=trainer).status_code == 422
    assert h.client.put(url, json={}, headers=trainer).status_code == 422

    r = h.client.put(
        url, json={"merchant_passed": True}, headers=trainer
    )  # a trainer setting the merchant's verdict
    assert r.status_code == 403 and "merchant_passed" in r.get_json()["detail"]
    r = h.client.put(url, json={"quiz_score": 100}, headers=merchant)  # a merchant setting a score
    assert r.status_code == 403 and "quiz_score" in r.get_json()["detail"]
    other = h.auth("merchant", merchant_id=OTHER_MERCHANT)  # another merchant's project
    assert h.client.put(url, json={"merchant_passed": True}, headers=other).status_code == 404
    r = h.client.put(
        f"/api/v1/cohorts/{cohort_id}/trainees/stranger/assessment", json={"quiz_score": 90}, headers=trainer
    )
    assert r.status_code == 404 and "not a trainee" in r.get_json()["detail"]
    assert h.client.put(url, json={"quiz_score": 90}, headers=h.auth("supervisor")).status_code == 403

    # bulk: all or nothing, every bad row reported
    rows = [
        {"candidate_id": ids[0], **passing_scores(0)},
        {"candidate_id": "stranger", "quiz_score": 90},
        {"candidate_id": ids[2], "quiz_score": 150},
        {"candidate_id": ids[0], "quiz_score": 85},
        {"candidate_id": ids[4], "simulation_score": "x"},
    ]
    r = assess(h, cohort_id, rows)
    assert r.status_code == 422
    assert set(r.get_json()["errors"]) == {"assessments.2.quiz_score", "assessments.4.simulation_score"}
    r = assess(h, cohort_id, [rows[0], rows[1], rows[3]])
    assert r.status_code == 422
    assert set(r.get_json()["errors"]) == {"assessments.1.candidate_id", "assessments.2.candidate_id"}
    assert "nothing was recorded" in r.get_json()["detail"]
    r = assess(h, cohort_id, [rows[0], {"candidate_id": ids[1], "merchant_passed": True}])
    assert r.status_code == 403 and "assessments.1.merchant_passed" in r.get_json()["detail"]
    assert assess(h, cohort_id, []).status_code == 422
    assert snapshot(h, cohort_id) == before


def test_the_merchant_verdict_only_counts_where_the_merchant_assesses(h: ServiceHarness) -> None:
    project_id = f"p-{uuid.uuid4().hex[:8]}"
    deliver(h, "project.confirmed", project_confirmed(project_id, assessor="vendor"))
    deliver(h, "candidates.matched", candidates_matched(project_id, 2))
    cohort_id = cohort_of(h, project_id)["id"]
    ready_cohort(h, cohort_id)
    r = h.client.put(
        f"/api/v1/cohorts/{cohort_id}/trainees/cand-00/assessment",
        json={"merchant_passed": False},
        headers=h.auth("merchant", merchant_id=MERCHANT),
    )
    assert r.status_code == 409 and r.get_json()["rule"] == "merchant-assessment"
    r = h.client.put(
        f"/api/v1/cohorts/{cohort_id}/trainees/cand-00/assessment",
        json={**passing_scores(0), "notes": "表现稳定"},
        headers=h.auth("trainer"),
    )
    assert (r.get_json()["verdict"], r.get_json()["status"], r.get_json()["combined_score"]) == (
        "passed",
        "passed",
        197.0,
    )


def test_start_and_completion_refusals(seeded: tuple[ServiceHarness, str, list[str]]) -> None:
    h, cohort_id, _ = seeded
    r = h.client.post(f"/api/v1/cohorts/{cohort_id}/start", headers=h.auth("trainer"))
    assert r.status_code == 409 and r.get_json()["missing"] == [
        "the merchant has not confirmed the courseware"
    ]
    r = h.client.post(f"/api/v1/cohorts/{cohort_id}/complete", headers=h.auth("trainer"))
    assert r.status_code == 409 and r.get_json()["rule"] == "cohort-started"
    assert (
        h.client.post(
            f"/api/v1/cohorts/{cohort_id}/complete", headers=h.auth("merchant", merchant_id=MERCHANT)
        ).status_code
        == 403
    )
    assert (
        h.client.post(f"/api/v1/cohorts/{uuid.uuid4()}/complete", headers=h.auth("trainer")).status_code
        == 404
    )
    r = h.client.get("/api/v1/cohorts?status=unknown", headers=h.auth("trainer"))
    assert r.status_code == 422 and "status" in r.get_json()["errors"]


def test_training_days_are_a_project_setting(seeded: tuple[ServiceHarness, str, list[str]]) -> None:
    h, cohort_id, _ = seeded
    project_id = h.client.get(f"/api/v1/cohorts/{cohort_id}", headers=h.auth("vendor")).get_json()[
        "project_id"
    ]
    url = f"/api/v1/projects/{project_id}/training"
    for bad in (0, 4, "3"):
        r = h.client.patch(url, json={"training_days": bad}, headers=h.auth("trainer"))
        assert r.status_code == 422 and "training_days" in r.get_json()["errors"]
    r = h.client.patch(url, json={"training_days": 3}, headers=h.auth("trainer"))
    assert r.status_code == 200 and r.get_json()["training_days"] == 3
    cohort = h.client.get(f"/api/v1/cohorts/{cohort_id}", headers=h.auth("vendor")).get_json()
    start = dt.date.fromisoformat(cohort["start_date"])
    assert (cohort["training_days"], dt.date.fromisoformat(cohort["end_date"])) == (3, add_workdays(start, 2))
    assert h.client.get(url, headers=h.auth("merchant", merchant_id=OTHER_MERCHANT)).status_code == 404
    assert (
        h.client.patch(
            url, json={"training_days": 1}, headers=h.auth("merchant", merchant_id=MERCHANT)
        ).status_code
        == 403
    )


# --- the periodic job ----------------------------------------------------------------------------------


def test_the_job_starts_on_the_start_date_and_completes_a_working_day_after_the_end(
    seeded: tuple[ServiceHarness, str, list[str]],
) -> None:
    h, cohort_id, ids = seeded
    link = {"title": "业务知识", "topics": ["business"], "url": "https://kb.example.com/b"}
    h.client.post(f"/api/v1/cohorts/{cohort_id}/courseware", json=link, headers=h.auth("trainer"))
    h.client.post(
        f"/api/v1/cohorts/{cohort_id}/courseware/confirm", headers=h.auth("merchant", merchant_id=MERCHANT)
    )
    with h.database.session() as session:
        cohort = session.get(Cohort, cohort_id)
        assert cohort is not None
        start, end = cohort.start_date, cohort.end_date
        assert advance_cohorts(job_on(session, start - dt.timedelta(days=1)), load_settings({})) == 0
    with h.database.session() as session:
        advance_cohorts(job_on(session, start), load_settings({}))
    assert (
        h.client.get(f"/api/v1/cohorts/{cohort_id}", headers=h.auth("vendor")).get_json()["status"]
        == "in_training"
    )
    assert assess(h, cohort_id, trainer_rows(ids, passing=24)).status_code == 200
    merchant_passes(h, cohort_id, ids[:22])  # the merchant passes only 22 in time
    due = add_workdays(end, 1)
    with h.database.session() as session:
        assert advance_cohorts(job_on(session, end), load_settings({})) == 0  # the last training day: not yet
    assert (
        h.client.get(f"/api/v1/cohorts/{cohort_id}", headers=h.auth("vendor")).get_json()["status"]
        == "assessing"
    )
    with h.database.session() as session:
        advance_cohorts(job_on(session, due), load_settings({}))
    cohort = h.client.get(f"/api/v1/cohorts/{cohort_id}", headers=h.auth("vendor")).get_json()
    assert (cohort["status"], cohort["completed_by"], cohort["admitted"]) == ("completed", "job", 20)
    statuses = {t["candidate_id"]: t["status"] for t in cohort["trainees"]}
    assert [statuses[c] for c in ids[20:24]] == [
        "passed_waitlisted",
        "passed_waitlisted",
        "not_assessed",
        "not_assessed",
    ]
    assert len(emitted(h, "agent.admitted")) == 20


# --- retraining ----------------------------------------------------------------------------------------


def test_an_upheld_complaint_opens_retraining_once(seeded: tuple[ServiceHarness, str, list[str]]) -> None:
    h, cohort_id, ids = seeded
    project_id = h.client.get(f"/api/v1/cohorts/{cohort_id}", headers=h.auth("vendor")).get_json()[
        "project_id"
    ]
    upheld = {
        "complaint_id": "cmp-1",
        "number": "TS20261127-0001",
        "project_id": project_id,
        "agent_id": ids[0],
        "penalty": "50.00",
    }
    deliver(h, "complaint.upheld", upheld)
    deliver(h, "complaint.upheld", upheld)  # re-sent with a new event id: still one record
    listing = h.client.get(f"/api/v1/retrainings?agent_id={ids[0]}", headers=h.auth("trainer")).get_json()
    assert listing["total"] == 1
    record = listing["items"][0]
    assert (record["status"], record["agent_name"], record["penalty"], record["merchant_id"]) == (
        "open",
        "客服00",
        "50.00",
        MERCHANT,
    )
    assert (
        h.client.get(
            f"/api/v1/retrainings?project_id={project_id}", headers=h.auth("merchant", merchant_id=MERCHANT)
        ).get_json()["total"]
        == 1
    )
    assert (
        h.client.get(
            "/api/v1/retrainings", headers=h.auth("merchant", merchant_id=OTHER_MERCHANT)
        ).get_json()["total"]
        == 0
    )
    assert h.client.get("/api/v1/retrainings", headers=h.auth("agent", sub=ids[0])).get_json()["total"] == 1
    assert h.client.get("/api/v1/retrainings", headers=h.auth("agent", sub=ids[1])).get_json()["total"] == 0
    url = f"/api/v1/retrainings/{record['id']}/close"
    assert h.client.post(url, json={"note": ""}, headers=h.auth("trainer")).status_code == 422
    r = h.client.post(url, json={"note": "已完成态度培训"}, headers=h.auth("trainer", sub="t-wang"))
    assert r.status_code == 200 and (r.get_json()["status"], r.get_json()["closed_by"]) == (
        "closed",
        "t-wang",
    )
    assert h.client.post(url, json={"note": "again"}, headers=h.auth("trainer")).status_code == 409
    assert h.client.get("/api/v1/retrainings?status=open", headers=h.auth("trainer")).get_json()["total"] == 0


def test_scores_are_stored_as_decimals(seeded: tuple[ServiceHarness, str, list[str]]) -> None:
    h, cohort_id, ids = seeded
    ready_cohort(h, cohort_id)
    r = h.client.put(
        f"/api/v1/cohorts/{cohort_id}/trainees/{ids[0]}/assessment",
        json={"quiz_score": 87.5, "simulation_score": 80},
        headers=h.auth("trainer"),
    )
    assert r.status_code == 200 and r.get_json()["quiz_score"] == 87.5
    with h.database.session() as session:
        trainee = session.scalars(select(Trainee).where(Trainee.candidate_id == ids[0])).one()
        assert trainee.quiz_score == Decimal("87.50")


# --- keyset pages ---------------------------------------------------------------------------------------


def test_every_list_walks_with_after_and_shows_each_row_once(
    seeded: tuple[ServiceHarness, str, list[str]],
) -> None:
    h, cohort_id, ids = seeded
    trainer = h.auth("trainer")
    trainees = walk_pages(h.client, f"/api/v1/cohorts/{cohort_id}/trainees?per_page=7", trainer)
    assert [t["candidate_id"] for t in trainees] == ids  # enrolment order, none twice
    assert all(t["verdict"] == "pending" for t in trainees)
    merchant = h.auth("merchant", merchant_id=MERCHANT)
    by_merchant = walk_pages(h.client, f"/api/v1/cohorts/{cohort_id}/trainees?per_page=7", merchant)
    assert [t["id"] for t in by_merchant] == [t["id"] for t in trainees]

    # five projects of a new merchant, their cohorts made within the same clock tick: the id breaks ties
    shop = f"m-{uuid.uuid4().hex[:6]}"
    projects = [f"p-{uuid.uuid4().hex[:8]}" for _ in range(5)]
    for project_id in projects:
        deliver(h, "project.confirmed", {**project_confirmed(project_id), "merchant_id": shop})
        deliver(h, "candidates.matched", candidates_matched(project_id, 2, prefix=project_id))
    cohorts = walk_pages(h.client, "/api/v1/cohorts?per_page=2", h.auth("merchant", merchant_id=shop))
    assert sorted(c["project_id"] for c in cohorts) == sorted(projects)
    assert [(c["created_at"], c["id"]) for c in cohorts] == sorted(
        ((c["created_at"], c["id"]) for c in cohorts), reverse=True
    )
    assert all((c["enrolled"], c["admitted"], c["company_name"]) == (2, 0, "好运旗舰店") for c in cohorts)
    assert walk_pages(h.client, f"/api/v1/cohorts?per_page=2&merchant_id={shop}", trainer) == cohorts

    project_id = h.client.get(f"/api/v1/cohorts/{cohort_id}", headers=trainer).get_json()["project_id"]
    for i in range(5):
        upheld = {
            "complaint_id": f"cmp-{i}",
            "number": f"TS20261127-{i + 1:04d}",
            "project_id": project_id,
            "agent_id": ids[i % 2],
            "penalty": "50.00",
        }
        deliver(h, "complaint.upheld", upheld)
    records = walk_pages(h.client, f"/api/v1/retrainings?per_page=2&project_id={project_id}", trainer)
    assert sorted(r["complaint_id"] for r in records) == [f"cmp-{i}" for i in range(5)]
    mine = walk_pages(h.client, "/api/v1/retrainings?per_page=2", h.auth("agent", sub=ids[0]))
    assert sorted(r["complaint_id"] for r in mine) == ["cmp-0", "cmp-2", "cmp-4"]


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        raw_cursor(3, ["s", "x"]),  # another list's width
        raw_cursor(3, ["i", 4], ["i", 5]),  # the right width, values of the wrong types
        raw_cursor(3, ["b", True], ["s", "x"]),
        raw_cursor(3, ["t", "2026-11-11T10:00:00"], ["s", "x"]),  # a timestamp without its zone
    ],
    ids=["garbled", "width", "types", "bool", "naive"],
)
@pytest.mark.parametrize(
    "path", ["/api/v1/cohorts", "/api/v1/retrainings", "/api/v1/cohorts/{cohort}/trainees"]
)
def test_a_tampered_cursor_is_a_validation_problem(
    seeded: tuple[ServiceHarness, str, list[str]], path: str, cursor: str
) -> None:
    h, cohort_id, _ids = seeded
    response = h.client.get(
        path.format(cohort=cohort_id), query_string={"after": cursor}, headers=h.auth("vendor")
    )
    assert (response.status_code, response.content_type) == (422, PROBLEM), response.get_data(as_text=True)
    assert "after" in response.get_json()["errors"]
