"""Recruitment matching on PostgreSQL + RabbitMQ: 1:3 requisitions, shortfall, top-up, row locks, funnel."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text

from services.recruitment import domain
from services.recruitment.config import RecruitmentSettings
from services.recruitment.handlers import HANDLERS
from services.recruitment.models import Candidate, Match, Requisition
from services.recruitment.requisitions import flag_overdue, project_confirmed
from shared.events.consumer import handle_once
from shared.events.envelope import Envelope, build_envelope, receive
from shared.events.outbox import outbox
from shared.uow import UnitOfWork
from shared.workdays import SHANGHAI, add_workdays, today_shanghai
from tests.support import ServiceHarness, wait_until

COLUMNS = (
    "name,phone,skills,shifts_available,basic_training_passed,basic_score,"
    "categories,platforms,city,experience_months,notes"
)
_phones = iter(range(10_000_000, 99_999_999))


def row(
    *,
    skills: str = "presale",
    shifts: str = "morning;afternoon",
    passed: str = "yes",
    score: Any = 80,
    categories: str = "",
    platforms: str = "",
    months: int = 0,
) -> str:
    n = next(_phones)
    return f"候选人{n},137{n:08d},{skills},{shifts},{passed},{score},{categories},{platforms},杭州,{months},"


def import_rows(h: ServiceHarness, rows: list[str]) -> dict[str, Any]:
    body = (COLUMNS + "\n" + "\n".join(rows) + "\n").encode()
    response = h.client.post(
        "/api/v1/candidates/import", data=body, content_type="text/csv", headers=h.auth("vendor")
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def confirmed(
    project_id: str, seats: int = 10, service_type: str = "presale", **extra: Any
) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "merchant_id": "m-1",
        "seats": seats,
        "service_type": service_type,
        "service_hours": {"start": "09:00", "end": "18:00"},
        "go_live_date": "2026-12-01",
        "assessor": "vendor",
        "metrics": {},
        **extra,
    }


def deliver(h: ServiceHarness, event_type: str, data: dict[str, Any]) -> Envelope:
    envelope = build_envelope(event_type, data)
    assert handle_once(h.database, HANDLERS, envelope)
    return envelope


def requisitions(h: ServiceHarness, project_id: str) -> list[dict[str, Any]]:
    response = h.client.get(f"/api/v1/requisitions?project_id={project_id}", headers=h.auth("vendor"))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["items"]


def outbox_events(h: ServiceHarness, event_type: str) -> list[dict[str, Any]]:
    with h.database.session() as session:
        payloads = session.scalars(
            select(outbox.c.payload).where(outbox.c.event_type == event_type).order_by(outbox.c.id)
        ).all()
    return [json.loads(p)["data"] for p in payloads]


def statuses(h: ServiceHarness, ids: list[str]) -> dict[str, str]:
    with h.database.session() as session:
        return dict(
            session.execute(select(Candidate.id, Candidate.status).where(Candidate.id.in_(ids))).all()
        )


def history(h: ServiceHarness, candidate_id: str) -> list[dict[str, Any]]:
    response = h.client.get(f"/api/v1/candidates/{candidate_id}", headers=h.auth("vendor"))
    assert response.status_code == 200
    return response.get_json()["history"]


# --- on the broker ---------------------------------------------------------------------------------------


def test_project_confirmed_on_the_broker_gives_thirty_matches_and_one_event(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("recruitment")
    import_rows(h, [row(score=50 + n) for n in range(40)] + [row(passed="no", score=99) for _ in range(5)])
    tap = h.tap("candidates.matched", "requisition.shortfall")
    h.start_worker()
    project_id = str(uuid.uuid4())
    h.publish("project.confirmed", confirmed(project_id, seats=10))

    (req,) = wait_until(lambda: requisitions(h, project_id), what="the requisition")
    assert (req["seats"], req["ratio"], req["target"], req["matched"]) == (10, 3.0, 30, 30)
    assert req["status"] == "filled"
    assert req["due_date"] == add_workdays(today_shanghai(), 3).isoformat()
    scores = [m["score"] for m in req["matches"]]
    assert scores == sorted(scores, reverse=True) and min(scores) == 60.0  # the 30 best of 50..89
    assert [m["rank"] for m in req["matches"]] == list(range(1, 31))

    wait_until(lambda: h.worker and _pending(h) == 0, what="the outbox to drain")
    (event,) = tap.wait_for("candidates.matched")
    assert tap.of_type("candidates.matched") == [event]
    assert tap.of_type("requisition.shortfall") == []
    assert event.data["requisition_id"] == req["id"] and event.data["project_id"] == project_id
    assert len(event.data["candidates"]) == 30
    first = event.data["candidates"][0]
    assert {"candidate_id", "name", "phone", "skills", "shifts_available", "basic_score"} <= set(first)
    assert first["skills"] == ["presale"] and first["basic_score"] == 89.0
    ids = [c["candidate_id"] for c in event.data["candidates"]]
    assert set(statuses(h, ids).values()) == {"matched"}


def _pending(h: ServiceHarness) -> int:
    with h.database.session() as session:
        return len(session.scalars(select(outbox.c.id).where(outbox.c.published_at.is_(None))).all())


def test_shortfall_then_top_up_from_an_import_on_the_broker(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("recruitment")
    import_rows(h, [row() for _ in range(25)] + [row(skills="aftersale") for _ in range(5)])
    tap = h.tap("candidates.matched", "requisition.shortfall")
    h.start_worker()
    project_id = str(uuid.uuid4())
    h.publish("project.confirmed", confirmed(project_id, seats=10))

    (shortfall,) = tap.wait_for("requisition.shortfall")
    (req,) = requisitions(h, project_id)
    assert (req["target"], req["matched"], req["shortfall"], req["status"]) == (30, 25, 5, "short")
    assert shortfall.data == {
        "requisition_id": req["id"],
        "project_id": project_id,
        "needed": 30,
        "matched": 25,
    }
    first_ids = {m["candidate_id"] for m in req["matches"]}

    result = import_rows(h, [row() for _ in range(7)])
    assert result["created"] == 7
    assert result["topped_up"] == [
        {"requisition_id": req["id"], "project_id": project_id, "newly_matched": 5, "status": "filled"}
    ]
    events = tap.wait_for("candidates.matched", count=2)
    second = events[1].data["candidates"]
    assert len(second) == 5 and not first_ids & {c["candidate_id"] for c in second}
    assert [c["rank"] for c in second] == [26, 27, 28, 29, 30]
    (req,) = requisitions(h, project_id)
    assert (req["matched"], req["status"]) == (30, "filled")


# --- shortfall, top-up and rematch (handlers called as the consumer calls them) --------------------------


def test_twenty_five_eligible_give_a_short_requisition(service_env: Callable[..., ServiceHarness]) -> None:
    h = service_env("recruitment")
    import_rows(h, [row() for _ in range(25)] + [row(passed="no") for _ in range(10)] + [row(shifts="night")])
    project_id = str(uuid.uuid4())
    deliver(h, "project.confirmed", confirmed(project_id, seats=10))
    (req,) = requisitions(h, project_id)
    assert (req["target"], req["matched"], req["shortfall"], req["status"]) == (30, 25, 5, "short")
    assert [e["matched"] for e in outbox_events(h, "requisition.shortfall")] == [25]
    assert [len(e["candidates"]) for e in outbox_events(h, "candidates.matched")] == [25]


def test_top_ups_go_to_the_oldest_due_date_first(service_env: Callable[..., ServiceHarness]) -> None:
    h = service_env("recruitment")
    later, earlier = str(uuid.uuid4()), str(uuid.uuid4())
    deliver(h, "project.confirmed", confirmed(later, seats=1, confirmed_at="2025-09-29T02:00:00+00:00"))
    deliver(h, "project.confirmed", confirmed(earlier, seats=1, confirmed_at="2025-09-22T02:00:00+00:00"))
    # both are past due and empty: overdue at once
    assert [requisitions(h, p)[0]["status"] for p in (later, earlier)] == ["overdue", "overdue"]
    assert requisitions(h, earlier)[0]["due_date"] == "2025-09-25"
    assert requisitions(h, later)[0]["due_date"] == "2025-10-10"  # 9-30, (National Day), 10-09, 10-10

    import_rows(h, [row() for _ in range(3)])
    assert [requisitions(h, p)[0]["matched"] for p in (earlier, later)] == [3, 0]
    import_rows(h, [row() for _ in range(3)])
    assert [requisitions(h, p)[0]["status"] for p in (earlier, later)] == ["filled", "filled"]


def test_rematch_tops_up_from_people_added_behind_its_back(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("recruitment")
    project_id = str(uuid.uuid4())
    deliver(h, "project.confirmed", confirmed(project_id, seats=2))
    (req,) = requisitions(h, project_id)
    assert (req["matched"], req["status"]) == (0, "short")
    with h.database.session() as session:  # e.g. a data fix straight in the database
        for n in range(4):
            session.add(
                Candidate(
                    id=str(uuid.uuid4()),
                    name=f"direct{n}",
                    phone=f"1501234000{n}",
                    skill_mask=1,
                    shift_mask=3,
                    categories=[],
                    platforms=[],
                    category_tags="|",
                    platform_tags="|",
                    basic_training_passed=True,
                    basic_score=Decimal(70),
                    experience_months=0,
                    status="available",
                )
            )
    response = h.client.post(f"/api/v1/requisitions/{req['id']}/rematch", headers=h.auth("vendor"))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["newly_matched"] == 4
    assert (body["requisition"]["matched"], body["requisition"]["status"]) == (4, "short")
    assert [len(e["candidates"]) for e in outbox_events(h, "candidates.matched")] == [4]
    again = h.client.post(f"/api/v1/requisitions/{req['id']}/rematch", headers=h.auth("vendor"))
    assert again.get_json()["newly_matched"] == 0


def test_the_overdue_job_flags_short_requisitions_past_their_due_date(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("recruitment")
    project_id = str(uuid.uuid4())
    deliver(h, "project.confirmed", confirmed(project_id, seats=1))
    (req,) = requisitions(h, project_id)
    due = dt.date.fromisoformat(req["due_date"])
    with h.database.session() as session:
        on_due_date = dt.datetime.combine(due, dt.time(12), SHANGHAI)
        assert flag_overdue(UnitOfWork(session, clock=lambda: on_due_date)) == 0
        day_after = on_due_date + dt.timedelta(days=1)
        assert flag_overdue(UnitOfWork(session, clock=lambda: day_after)) == 1
    assert requisitions(h, project_id)[0]["status"] == "overdue"


# --- ranking in SQL equals the domain's ranking ----------------------------------------------------------


def test_sql_matching_ranks_exactly_like_the_domain(service_env: Callable[..., ServiceHarness]) -> None:
    h = service_env("recruitment")
    rows = []
    for n in range(60):
        rows.append(
            row(
                skills=["presale", "aftersale", "presale;aftersale"][n % 3],
                shifts=["morning", "night", "afternoon", "morning;night"][n % 4],
                passed="no" if n % 7 == 0 else "yes",
                score=60 + (n * 13) % 35,
                categories=["服装", "美妆", "服装;数码", ""][n % 4],
                platforms=["taobao", "jd", "天猫;jd", ""][(n // 2) % 4],
                months=(n * 5) % 40,
            )
        )
    import_rows(h, rows)
    with h.database.session() as session:
        pool = [
            domain.Profile(
                id=c.id,
                phone=c.phone,
                skills=frozenset(c.skills),
                shifts=frozenset(c.shifts_available),
                basic_training_passed=c.basic_training_passed,
                basic_score=c.basic_score,
                status=c.status,
                platforms=frozenset(c.platforms),
                categories=frozenset(c.categories),
                experience_months=c.experience_months,
            )
            for c in session.scalars(select(Candidate))
        ]
    project_id = str(uuid.uuid4())
    deliver(
        h,
        "project.confirmed",
        confirmed(
            project_id, seats=5, service_type="both", platform="Tmall", merchant={"categories": ["服装"]}
        ),
    )
    requirement = domain.Requirement(
        shifts=frozenset({"morning", "afternoon"}),
        platform="taobao",
        categories=frozenset({"服装"}),
        project_id=project_id,
    )
    expected = domain.select_matches(pool, {"presale": 11, "aftersale": 4}, requirement)
    (req,) = requisitions(h, project_id)
    assert [(m["candidate_id"], m["skill"], Decimal(str(m["score"]))) for m in req["matches"]] == [
        (p.candidate.id, p.skill, p.score) for p in expected
    ]
    assert len(req["matches"]) == 15


# --- two requisitions never share a candidate ------------------------------------------------------------


def test_skip_locked_lets_a_concurrent_match_take_other_people_without_waiting(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("recruitment")
    import_rows(h, [row(score=40 + n) for n in range(60)])
    config = RecruitmentSettings()
    first = h.database.sessionmaker()
    try:
        # project A takes the 30 best and keeps its row locks: its transaction is still open
        event = receive(build_envelope("project.confirmed", confirmed("proj-a")))
        project_confirmed(UnitOfWork(first), event.data, event.occurred_at, config)
        with h.database.session() as second:
            # waiting on A's rows would fail after 5 s instead of hanging the test
            second.execute(text("SET LOCAL lock_timeout = '5s'"))
            event = receive(build_envelope("project.confirmed", confirmed("proj-b")))
            project_confirmed(UnitOfWork(second), event.data, event.occurred_at, config)
        first.commit()
    finally:
        first.close()
    a, b = (requisitions(h, p)[0] for p in ("proj-a", "proj-b"))
    a_ids, b_ids = ({m["candidate_id"] for m in r["matches"]} for r in (a, b))
    assert (len(a_ids), len(b_ids)) == (30, 30)
    assert not a_ids & b_ids
    assert min(m["score"] for m in a["matches"]) == 70.0  # A, first, took the best 30


def test_concurrent_handlers_never_share_a_candidate(service_env: Callable[..., ServiceHarness]) -> None:
    h = service_env("recruitment")
    import_rows(h, [row(score=30 + (n % 60)) for n in range(100)])
    projects = [f"conc-{n}-{uuid.uuid4().hex[:6]}" for n in range(4)]
    envelopes = [build_envelope("project.confirmed", confirmed(p, seats=10)) for p in projects]
    barrier = threading.Barrier(len(envelopes))
    errors: list[BaseException] = []

    def run(envelope: Envelope) -> None:
        try:
            barrier.wait()
            handle_once(h.database, HANDLERS, envelope)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in envelopes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with h.database.session() as session:
        rows = session.execute(select(Match.candidate_id, Match.project_id)).all()
        reqs = session.scalars(select(Requisition)).all()
    assert len(rows) == 100  # 4 × 30 wanted, 100 in the pool: all of them, each once
    assert len({cid for cid, _ in rows}) == 100
    assert sum(r.matched for r in reqs) == 100
    assert sorted(r.status for r in reqs).count("short") >= 1


# --- following the funnel --------------------------------------------------------------------------------


def test_admitted_assigned_not_admitted_released_with_history(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("recruitment")
    import_rows(h, [row(score=60 + n) for n in range(6)])
    project_id = str(uuid.uuid4())
    deliver(h, "project.confirmed", confirmed(project_id, seats=2))
    (req,) = requisitions(h, project_id)
    ids = [m["candidate_id"] for m in req["matches"]]
    assert len(ids) == 6
    admitted = ids[:4]
    for rank, cid in enumerate(admitted, start=1):
        deliver(
            h,
            "agent.admitted",
            {
                "project_id": project_id,
                "candidate_id": cid,
                "cohort_id": "cohort-1",
                "name": "x",
                "skills": ["presale"],
                "shifts_available": ["morning"],
                "quiz_score": 90,
                "simulation_score": 85,
                "rank": rank,
            },
        )
    assert statuses(h, ids) == {
        **dict.fromkeys(admitted, "assigned"),
        **dict.fromkeys(ids[4:], "in_training"),
    }
    deliver(h, "cohort.completed", {"project_id": project_id, "cohort_id": "cohort-1", "admitted": 4})
    assert statuses(h, ids) == {**dict.fromkeys(admitted, "assigned"), **dict.fromkeys(ids[4:], "available")}
    (entry,) = history(h, ids[5])
    assert (entry["project_id"], entry["outcome"], entry["cohort_id"]) == (
        project_id,
        "not_admitted",
        "cohort-1",
    )
    assert history(h, ids[0])[0]["outcome"] == "admitted"

    # training wants 1 more: the two turned down are not offered to this project again
    deliver(h, "training.shortfall", {"project_id": project_id, "cohort_id": "cohort-1", "missing": 1})
    reqs = {r["reason"]: r for r in requisitions(h, project_id)}
    extra = reqs["training_shortfall"]
    assert (extra["target"], extra["matched"], extra["status"], extra["cohort_id"]) == (
        1,
        0,
        "short",
        "cohort-1",
    )

    deliver(h, "project.closed", {"project_id": project_id})
    assert set(statuses(h, ids).values()) == {"available"}
    assert {r["status"] for r in requisitions(h, project_id)} == {"closed"}
    assert history(h, ids[0])[0]["outcome"] == "admitted"


def test_project_closed_releases_reserved_people_and_they_top_up_others(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("recruitment")
    import_rows(h, [row() for _ in range(3)])
    closing, waiting = str(uuid.uuid4()), str(uuid.uuid4())
    deliver(h, "project.confirmed", confirmed(closing, seats=1))
    deliver(h, "project.confirmed", confirmed(waiting, seats=1))
    assert requisitions(h, waiting)[0]["matched"] == 0
    ids = [m["candidate_id"] for m in requisitions(h, closing)[0]["matches"]]
    deliver(h, "project.closed", {"project_id": closing})
    for cid in ids:
        assert {e["project_id"]: e["outcome"] for e in history(h, cid)} == {
            closing: "released",
            waiting: "matched",
        }
    moved = requisitions(h, waiting)[0]
    assert (moved["matched"], moved["status"]) == (3, "filled")
    assert {m["candidate_id"] for m in moved["matches"]} == set(ids)


def test_reserve_and_surge_shortfalls_match_three_per_missing_agent(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("recruitment")
    import_rows(h, [row() for _ in range(30)])
    project_id = str(uuid.uuid4())
    # scheduling speaks before onboarding's confirmation reached us: the project is not known yet
    deliver(h, "reserve.shortfall", {"project_id": project_id, "missing": 4})
    (early,) = requisitions(h, project_id)
    assert (early["reason"], early["seats"], early["target"], early["matched"]) == (
        "reserve_shortfall",
        4,
        12,
        0,
    )
    assert early["status"] == "short"
    deliver(h, "project.confirmed", confirmed(project_id, seats=2))
    by_reason = {r["reason"]: r for r in requisitions(h, project_id)}
    assert by_reason["project_confirmed"]["matched"] == 6
    assert by_reason["reserve_shortfall"]["matched"] == 12
    surge = {
        "project_id": project_id,
        "surge_id": "surge-1",
        "increase_pct": 60,
        "start_date": "2026-11-10",
        "end_date": "2026-11-12",
        "extra_seats": 3,
        "covered": 1,
        "uncovered": 2,
        "reason": None,
    }
    deliver(h, "surge.accepted", surge)
    deliver(h, "surge.accepted", surge)  # announced twice: still one requisition per surge
    deliver(h, "surge.accepted", {**surge, "surge_id": "surge-2", "covered": 3, "uncovered": 0})
    surges = [r for r in requisitions(h, project_id) if r["reason"] == "surge"]
    assert [(r["seats"], r["target"], r["matched"]) for r in surges] == [(2, 6, 6)]


def test_events_about_unknown_projects_and_people_are_handled(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("recruitment")
    project_id = str(uuid.uuid4())
    deliver(h, "cohort.completed", {"project_id": project_id, "cohort_id": "c", "admitted": 0})
    deliver(
        h,
        "agent.admitted",
        {
            "project_id": project_id,
            "candidate_id": str(uuid.uuid4()),
            "cohort_id": "c",
            "name": "nobody",
            "skills": ["presale"],
            "shifts_available": ["night"],
            "quiz_score": 80,
            "simulation_score": 80,
            "rank": 1,
        },
    )
    deliver(
        h,
        "project.updated",
        {"project_id": project_id, "merchant_id": "m-9", "changed": ["seats"], "seats": 4},
    )
    deliver(h, "project.closed", {"project_id": project_id})
    deliver(h, "training.shortfall", {"project_id": project_id, "cohort_id": "c", "missing": 2})
    project = h.client.get(f"/api/v1/projects/{project_id}", headers=h.auth("trainer")).get_json()
    assert (project["status"], project["seats"], project["merchant_id"]) == ("closed", 4, "m-9")
    assert requisitions(h, project_id) == []  # a closed project gets no new requisition
    deliver(h, "project.confirmed", confirmed(project_id))  # late confirmation of a closed project
    assert requisitions(h, project_id) == []


def test_more_seats_raise_the_target_and_top_up(service_env: Callable[..., ServiceHarness]) -> None:
    h = service_env("recruitment")
    import_rows(h, [row() for _ in range(12)])
    project_id = str(uuid.uuid4())
    deliver(h, "project.confirmed", confirmed(project_id, seats=2))
    deliver(
        h,
        "project.updated",
        {"project_id": project_id, "merchant_id": "m-1", "changed": ["seats"], "seats": 3},
    )
    (req,) = requisitions(h, project_id)
    assert (req["seats"], req["target"], req["matched"], req["status"]) == (3, 9, 9, "filled")
    assert [len(e["candidates"]) for e in outbox_events(h, "candidates.matched")] == [6, 3]


def test_replacements_matched_after_a_cohort_ended_are_not_released_with_it(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("recruitment")
    import_rows(h, [row() for _ in range(4)])
    project_id = str(uuid.uuid4())
    deliver(h, "project.confirmed", confirmed(project_id, seats=1))
    first_round = [m["candidate_id"] for m in requisitions(h, project_id)[0]["matches"]]
    # training completes cohort-1 admitting nobody: completed + shortfall are built in one transaction,
    # and here the shortfall is handled first
    completed = build_envelope(
        "cohort.completed", {"project_id": project_id, "cohort_id": "cohort-1", "admitted": 0}
    )
    deliver(h, "training.shortfall", {"project_id": project_id, "cohort_id": "cohort-1", "missing": 1})
    replacement = next(r for r in requisitions(h, project_id) if r["reason"] == "training_shortfall")
    (newcomer,) = [m["candidate_id"] for m in replacement["matches"]]
    assert handle_once(h.database, HANDLERS, completed)
    assert statuses(h, first_round) == dict.fromkeys(first_round, "available")
    assert statuses(h, [newcomer]) == {newcomer: "matched"}


def test_a_published_plan_asks_for_its_gap_once_and_a_new_plan_only_for_more(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("recruitment")
    project_id = str(uuid.uuid4())
    deliver(h, "project.confirmed", confirmed(project_id, seats=2))

    def plan(plan_id: str, gap: int, campaign: str = "c-1") -> dict[str, Any]:
        return {
            "project_id": project_id,
            "plan_id": plan_id,
            "campaign_id": campaign,
            "version": 1,
            "date_from": "2026-11-09",
            "date_to": "2026-11-14",
            "intervals": 288,
            "short_intervals": 40,
            "required": 30 + gap,
            "available": 30,
            "gap": gap,
            "roster_id": None,
        }

    deliver(h, "plan.published", plan("plan-1", 5))
    deliver(h, "plan.published", plan("plan-1", 5))  # redelivered: still one requisition
    planned = [r for r in requisitions(h, project_id) if r["reason"] == "plan"]
    assert [(r["seats"], r["target"]) for r in planned] == [(5, 15)]  # 1:3 per missing agent
    # the pool is empty, so plan-1's requisition stays open; a re-plan needing 7 asks only for 2 more
    assert planned[0]["status"] == "short"
    deliver(h, "plan.published", plan("plan-2", 7))
    planned = [r for r in requisitions(h, project_id) if r["reason"] == "plan"]
    assert sorted(r["seats"] for r in planned) == [2, 5]
    # another campaign is counted on its own; a plan with no gap asks for nothing
    deliver(h, "plan.published", plan("plan-3", 1, campaign="c-2"))
    deliver(h, "plan.published", plan("plan-4", 0, campaign="c-3"))
    planned = [r for r in requisitions(h, project_id) if r["reason"] == "plan"]
    assert sorted(r["seats"] for r in planned) == [1, 2, 5]


def test_an_all_hands_gap_asks_only_for_what_recent_shortfalls_have_not(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("recruitment")
    project_id = str(uuid.uuid4())
    deliver(h, "project.confirmed", confirmed(project_id, seats=2))
    deliver(h, "reserve.shortfall", {"project_id": project_id, "missing": 3, "reason": "3 departed"})
    # all-hands: the project's whole gap is 5, of which the departures' 3 are already being recruited
    whole = {"project_id": project_id, "missing": 5, "reason": "all-hands x", "whole_gap": True}
    deliver(h, "reserve.shortfall", whole)
    shortfalls = [r for r in requisitions(h, project_id) if r["reason"] == "reserve_shortfall"]
    assert sorted(r["seats"] for r in shortfalls) == [2, 3]
    # a whole gap already asked for in full asks for nothing more
    deliver(h, "reserve.shortfall", {**whole, "missing": 4})
    assert len([r for r in requisitions(h, project_id) if r["reason"] == "reserve_shortfall"]) == 2
