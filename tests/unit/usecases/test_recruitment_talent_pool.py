"""The talent pool's use cases on the fake unit of work: adding, changing and importing people, and the
top-up of short requisitions that follows (seed: 1 seat → 3 candidates, due 3 working days later)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from services.recruitment import funnel, requisitions, talent_pool
from services.recruitment.config import RecruitmentSettings
from services.recruitment.csv_import import CandidateInput, ParsedFile
from services.recruitment.models import Base, Candidate, Requisition
from shared.errors import BusinessRuleViolation, Conflict
from shared.events.envelope import build_envelope, receive
from shared.uow import Actor
from tests.unit.fakes import FakeUnitOfWork

SETTINGS = RecruitmentSettings()


@pytest.fixture
def uow() -> Iterator[FakeUnitOfWork]:
    fake = FakeUnitOfWork(Base.metadata, actor=Actor("ops-wang", "vendor"))
    yield fake
    fake.close()


def person(
    n: int, *, score: int = 80, passed: bool = True, skills: tuple[str, ...] = ("presale",)
) -> CandidateInput:
    return CandidateInput(
        name=f"候选人{n}",
        phone=f"137{n:08d}",
        skills=list(skills),
        shifts_available=["morning", "afternoon"],
        basic_training_passed=passed,
        basic_score=Decimal(score),
        city="杭州",
    )


def loaded(event_type: str, data: Mapping[str, Any]) -> Mapping[str, Any]:
    """The data as a handler receives it: loaded by the catalogue's schema (dates parsed)."""
    return receive(build_envelope(event_type, dict(data))).data


def confirmation(project_id: str, seats: int = 1, **extra: Any) -> Mapping[str, Any]:
    return loaded(
        "project.confirmed",
        {
            "project_id": project_id,
            "merchant_id": "m-haoyun",
            "seats": seats,
            "service_type": "presale",
            "service_hours": {"start": "09:00", "end": "18:00"},
            "go_live_date": "2026-12-01",
            "assessor": "vendor",
            "metrics": {},
            **extra,
        },
    )


def confirm(uow: FakeUnitOfWork, project_id: str, seats: int = 1, **extra: Any) -> Requisition | None:
    return requisitions.project_confirmed(uow, confirmation(project_id, seats, **extra), uow.now(), SETTINGS)


def count(uow: FakeUnitOfWork, model: Any) -> int:
    return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_new_candidate_joins_the_pool_available_and_nothing_is_announced(uow: FakeUnitOfWork) -> None:
    candidate = talent_pool.create_candidate(uow, person(1), SETTINGS)
    assert (candidate.status, candidate.phone, candidate.created_at) == (
        "available",
        "13700000001",
        uow.now(),
    )
    assert uow.events == []


def test_a_phone_already_in_the_pool_is_refused(uow: FakeUnitOfWork) -> None:
    first = talent_pool.create_candidate(uow, person(1), SETTINGS)
    with pytest.raises(Conflict) as refused:
        talent_pool.create_candidate(uow, person(1, score=95), SETTINGS)
    assert refused.value.extra == {"candidate_id": first.id}
    assert count(uow, Candidate) == 1 and uow.events == []


def test_a_matched_candidate_cannot_be_set_available_by_hand(uow: FakeUnitOfWork) -> None:
    candidate = talent_pool.create_candidate(uow, person(1), SETTINGS)
    confirm(uow, "p-1")  # takes the only person
    assert candidate.status == "matched"
    before = len(uow.events)
    with pytest.raises(BusinessRuleViolation, match="candidate-status"):
        talent_pool.update_candidate(uow, candidate.id, {"status": "available"}, SETTINGS)
    assert len(uow.events) == before


def test_a_dry_run_import_counts_and_writes_nothing(uow: FakeUnitOfWork) -> None:
    talent_pool.create_candidate(uow, person(1), SETTINGS)
    parsed = ParsedFile(rows=[(2, person(1, score=90)), (3, person(2)), (4, person(3))], errors=[])
    result = talent_pool.import_candidates(uow, parsed, dry_run=True, config=SETTINGS)
    assert (result.dry_run, result.rows, result.created, result.updated) == (True, 3, 2, 1)
    assert count(uow, Candidate) == 1 and uow.events == []


def test_an_import_tops_a_short_requisition_up_from_the_new_people(uow: FakeUnitOfWork) -> None:
    requisition = confirm(uow, "p-1")  # 1 seat × 3 = 3 candidates wanted, the pool is empty
    assert requisition is not None and requisition.status == "short"
    assert uow.emitted("requisition.shortfall") == [
        {"requisition_id": requisition.id, "project_id": "p-1", "needed": 3, "matched": 0}
    ]
    parsed = ParsedFile(rows=[(n + 1, person(n, score=70 + n)) for n in range(1, 5)], errors=[])
    result = talent_pool.import_candidates(uow, parsed, dry_run=False, config=SETTINGS)
    assert (result.created, result.updated) == (4, 0)
    assert result.topped_up == [
        {"requisition_id": requisition.id, "project_id": "p-1", "newly_matched": 3, "status": "filled"}
    ]
    (matched,) = uow.emitted("candidates.matched")
    # the best three, best first
    assert [c["phone"] for c in matched["candidates"]] == ["13700000004", "13700000003", "13700000002"]
    assert [c["rank"] for c in matched["candidates"]] == [1, 2, 3]


def test_people_a_completed_cohort_did_not_admit_go_back_to_the_pool(uow: FakeUnitOfWork) -> None:
    for n in range(1, 4):
        talent_pool.create_candidate(uow, person(n), SETTINGS)
    confirm(uow, "p-1")
    admitted_id = uow.emitted("candidates.matched")[0]["candidates"][0]["candidate_id"]
    uow.advance(days=10)
    funnel.agent_admitted(
        uow, {"project_id": "p-1", "candidate_id": admitted_id, "cohort_id": "c-1"}, uow.now()
    )
    released = funnel.cohort_completed(uow, {"project_id": "p-1", "cohort_id": "c-1"}, uow.now(), SETTINGS)
    assert released == 2
    statuses = dict(uow.session.execute(select(Candidate.id, Candidate.status)).all())
    assert statuses.pop(admitted_id) == "assigned"
    assert set(statuses.values()) == {"available"}
