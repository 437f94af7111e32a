"""The training service on real PostgreSQL + RabbitMQ with its real worker (consumer, relay, jobs).

recruitment's ``candidates.matched`` on the broker → a cohort with its trainees; assessments and
completion → 20 × ``agent.admitted`` and ``cohort.completed`` on the broker; the shortfall round trip
(17 pass → ``training.shortfall`` {missing: 3} → recruitment matches more → a follow-up cohort admitting
only the remaining 3); duplicate deliveries change nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from services.training.models import Cohort, Trainee
from shared.events.catalogue import get_event_type
from tests.integration.test_training_api import (
    assess,
    candidates_matched,
    merchant_passes,
    project_confirmed,
    ready_cohort,
    trainer_rows,
)
from tests.support import ServiceHarness, wait_until


def counts(h: ServiceHarness, project_id: str) -> tuple[int, int]:
    """(cohorts, trainees) of a project."""
    with h.database.session() as session:
        cohorts = session.scalar(
            select(func.count()).select_from(Cohort).where(Cohort.project_id == project_id)
        )
        trainees = session.scalar(
            select(func.count()).select_from(Trainee).where(Trainee.project_id == project_id)
        )
    return int(cohorts or 0), int(trainees or 0)


def cohorts(h: ServiceHarness, project_id: str) -> list[dict[str, Any]]:
    r = h.client.get(f"/api/v1/cohorts?project_id={project_id}", headers=h.auth("vendor"))
    return sorted(r.get_json()["items"], key=lambda c: c["sequence"])


def test_matched_candidates_become_a_cohort_and_twenty_are_admitted_on_the_broker(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("training")
    tap = h.tap("agent.admitted", "cohort.completed", "training.shortfall")
    h.start_worker()
    project_id = f"p-{uuid.uuid4().hex[:8]}"
    h.publish("project.confirmed", project_confirmed(project_id))
    matched = h.publish("candidates.matched", candidates_matched(project_id, 30))
    wait_until(lambda: counts(h, project_id) == (1, 30), what="a cohort with 30 trainees")

    # the same event delivered again, and the same candidates matched again: nothing changes
    h.publish_envelope(matched)
    h.publish("candidates.matched", candidates_matched(project_id, 30))
    h.publish("project.confirmed", project_confirmed(project_id))
    probe = f"p-{uuid.uuid4().hex[:8]}"  # published last: once it is handled, the duplicates were too
    h.publish("candidates.matched", candidates_matched(probe, 1))
    wait_until(lambda: counts(h, probe) == (1, 1), what="the probe event")
    assert counts(h, project_id) == (1, 30)

    cohort = cohorts(h, project_id)[0]
    assert (cohort["target"], cohort["enrolled"], cohort["status"]) == (20, 30, "planned")
    cohort_id = cohort["id"]
    ids = [f"cand-{i:02d}" for i in range(30)]
    ready_cohort(h, cohort_id)
    assert assess(h, cohort_id, trainer_rows(ids, passing=24)).status_code == 200
    merchant_passes(h, cohort_id, ids[:24])
    r = h.client.post(f"/api/v1/cohorts/{cohort_id}/complete", headers=h.auth("trainer"))
    assert r.status_code == 200, r.get_json()

    admitted = tap.wait_for("agent.admitted", 20)
    completed = tap.wait_for("cohort.completed")
    assert sorted(e.data["candidate_id"] for e in admitted) == ids[:20]
    assert sorted(e.data["rank"] for e in admitted) == list(range(1, 21))
    assert {e.producer for e in admitted} == {"training"}
    for envelope in admitted:  # what scheduling, recruitment, complaints and billing will read
        get_event_type("agent.admitted").validate_outgoing(envelope.data)
    [done] = [e.data for e in completed]
    get_event_type("cohort.completed").validate_outgoing(done)
    assert {k: done[k] for k in ("project_id", "cohort_id", "admitted", "target")} == {
        "project_id": project_id,
        "cohort_id": cohort_id,
        "admitted": 20,
        "target": 20,
    }
    # billing's training fee: the 30 trained (none withdrew) × 2 training days of 8 hours
    assert (done["trainees"], done["training_hours"]) == (30, "16")
    assert done["completed_at"]
    assert tap.of_type("training.shortfall") == []


def test_the_shortfall_round_trip_fills_only_the_remaining_gap(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("training")
    tap = h.tap("agent.admitted", "cohort.completed", "training.shortfall")
    h.start_worker()
    project_id = f"p-{uuid.uuid4().hex[:8]}"
    h.publish("project.confirmed", project_confirmed(project_id, assessor="vendor"))
    h.publish("candidates.matched", candidates_matched(project_id, 30))
    wait_until(lambda: counts(h, project_id) == (1, 30), what="the first cohort")
    first = cohorts(h, project_id)[0]["id"]
    ids = [f"cand-{i:02d}" for i in range(30)]
    ready_cohort(h, first)
    assert assess(h, first, trainer_rows(ids, passing=17)).status_code == 200
    assert h.client.post(f"/api/v1/cohorts/{first}/complete", headers=h.auth("trainer")).status_code == 200

    shortfall = tap.wait_for("training.shortfall")
    assert [e.data for e in shortfall] == [{"project_id": project_id, "cohort_id": first, "missing": 3}]
    assert tap.wait_for("cohort.completed")[0].data["admitted"] == 17
    assert len(tap.wait_for("agent.admitted", 17)) == 17

    # recruitment answers the shortfall with candidates.matched for the same project (its event shape)
    more = candidates_matched(project_id, 4, prefix="more")
    more["requisition_id"] = "req-topup"
    envelope = h.publish("candidates.matched", more)
    wait_until(lambda: counts(h, project_id) == (2, 34), what="the follow-up cohort")
    h.publish_envelope(envelope)  # a duplicate delivery
    follow_up = cohorts(h, project_id)[1]
    assert (follow_up["sequence"], follow_up["target"], follow_up["enrolled"]) == (2, 3, 4)

    more_ids = [f"more-{i:02d}" for i in range(4)]
    ready_cohort(h, follow_up["id"])
    assert assess(h, follow_up["id"], trainer_rows(more_ids, passing=4)).status_code == 200
    r = h.client.post(f"/api/v1/cohorts/{follow_up['id']}/complete", headers=h.auth("trainer"))
    assert r.status_code == 200
    statuses = {t["candidate_id"]: t["status"] for t in r.get_json()["trainees"]}
    assert [statuses[c] for c in more_ids] == ["admitted", "admitted", "admitted", "passed_waitlisted"]

    completed = tap.wait_for("cohort.completed", 2)
    assert {
        k: completed[1].data[k] for k in ("project_id", "cohort_id", "admitted", "target", "trainees")
    } == {
        "project_id": project_id,
        "cohort_id": follow_up["id"],
        "admitted": 3,
        "target": 3,
        "trainees": 4,
    }
    admitted = tap.wait_for("agent.admitted", 20)
    assert (
        sorted(e.data["candidate_id"] for e in admitted if e.data["cohort_id"] == follow_up["id"])
        == more_ids[:3]
    )
    assert len(tap.of_type("training.shortfall")) == 1  # the gap is closed: no second shortfall
    assert counts(h, project_id) == (2, 34)
    project = h.client.get(f"/api/v1/projects/{project_id}/training", headers=h.auth("vendor")).get_json()
    assert (project["target"], project["admitted"], project["gap"], project["cohorts"]) == (20, 20, 0, 2)
