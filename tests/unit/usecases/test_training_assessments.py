"""Assessments (考核) and admission (录取) on the fake unit of work, with seed 004's numbers: 10 seats,
30 trainees, 24 pass, 20 admitted best first and 4 waitlisted; a withdrawal hands the place on."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from services.training import assessments, cohorts
from services.training.models import Base, Trainee
from shared.errors import Conflict, Forbidden, ValidationFailed
from shared.uow import Actor
from tests.unit.fakes import FakeUnitOfWork
from tests.unit.usecases.test_training_cohorts import (
    MERCHANT_USER,
    PROJECT,
    SETTINGS,
    TRAINER,
    confirmed,
    matched,
    only_cohort,
    ready,
)


def rows(n: int, passing: int) -> list[dict[str, Any]]:
    """The trainer's rows as the schema loads them (scores are Decimals): the first ``passing`` pass
    80/80, best first; the others fail the quiz."""
    return [
        {
            "candidate_id": f"cand-{i:02d}",
            "quiz_score": Decimal(99 - i // 2),
            "simulation_score": Decimal(98 - i // 3),
            "trainer_passed": True,
        }
        if i < passing
        else {
            "candidate_id": f"cand-{i:02d}",
            "quiz_score": Decimal(70),
            "simulation_score": Decimal(82),
            "trainer_passed": False,
        }
        for i in range(n)
    ]


@pytest.fixture()
def uow() -> Iterator[FakeUnitOfWork]:
    fake = FakeUnitOfWork(Base.metadata, actor=TRAINER)
    cohorts.project_confirmed(fake, confirmed(), SETTINGS)
    cohorts.enrol_matched(fake, matched(30), SETTINGS)
    yield fake
    fake.close()


def statuses(uow: FakeUnitOfWork) -> list[str]:
    return list(uow.session.scalars(select(Trainee.status).order_by(Trainee.enrolment_seq)))


def test_assessments_wait_for_the_merchants_courseware_confirmation(uow: FakeUnitOfWork) -> None:
    with pytest.raises(Conflict, match="confirmed the courseware"):
        assessments.record_assessments(uow, only_cohort(uow).id, rows(30, 24))
    assert statuses(uow) == ["enrolled"] * 30 and uow.events == []


def test_the_merchant_may_not_record_the_trainers_scores(uow: FakeUnitOfWork) -> None:
    cohort = only_cohort(uow)
    ready(uow, cohort.id)
    uow.actor = MERCHANT_USER
    with pytest.raises(Forbidden, match="quiz_score: recorded by the trainer"):
        assessments.record_assessment(uow, cohort.id, "cand-00", {"quiz_score": Decimal(100)})
    trainee = uow.session.scalars(select(Trainee).where(Trainee.candidate_id == "cand-00")).one()
    assert (trainee.quiz_score, trainee.assessed_at, cohort.status) == (None, None, "in_training")


def test_a_bad_row_refuses_the_whole_batch(uow: FakeUnitOfWork) -> None:
    cohort = only_cohort(uow)
    ready(uow, cohort.id)
    batch = [*rows(2, 2), {"candidate_id": "cand-99", "quiz_score": Decimal(90)}]
    with pytest.raises(ValidationFailed) as refused:
        assessments.record_assessments(uow, cohort.id, batch)
    assert list(refused.value.errors) == ["assessments.2.candidate_id"]
    assert statuses(uow) == ["enrolled"] * 30


def test_thirty_trainees_twenty_four_pass_twenty_are_admitted(uow: FakeUnitOfWork) -> None:
    cohort = only_cohort(uow)
    ready(uow, cohort.id)
    recorded, _, _ = assessments.record_assessments(uow, cohort.id, rows(30, 24))
    assert len(recorded) == 30 and cohort.status == "assessing"
    completed, admission = cohorts.complete_cohort(uow, cohort.id, SETTINGS)
    assert (completed.status, completed.completed_by, len(admission.admitted), admission.missing) == (
        "completed",
        "t-wang",
        20,
        0,
    )
    assert statuses(uow) == ["admitted"] * 20 + ["passed_waitlisted"] * 4 + ["failed"] * 6
    admitted = uow.emitted("agent.admitted")
    assert [e["candidate_id"] for e in admitted] == [f"cand-{i:02d}" for i in range(20)]
    assert (admitted[0]["rank"], admitted[0]["merchant_id"], admitted[0]["quiz_score"]) == (1, "m-haoyun", 99)
    [completed] = uow.emitted("cohort.completed")
    assert completed == {
        "project_id": PROJECT,
        "cohort_id": cohort.id,
        "admitted": 20,
        "target": 20,
        # billing's training fee: the 30 trained × the cohort's days × 8 hours
        "trainees": 30,
        "training_hours": str(SETTINGS.hours_per_day * cohort.training_days),
        "completed_at": cohort.completed_at.isoformat() if cohort.completed_at else None,
    }
    assert uow.emitted("training.shortfall") == []


def test_seventeen_passers_leave_a_shortfall_of_three(uow: FakeUnitOfWork) -> None:
    cohort = only_cohort(uow)
    ready(uow, cohort.id)
    assessments.record_assessments(uow, cohort.id, rows(30, 17))
    cohorts.complete_cohort(uow, cohort.id, SETTINGS)
    assert len(uow.emitted("agent.admitted")) == 17
    assert uow.emitted("training.shortfall") == [
        {"project_id": PROJECT, "cohort_id": cohort.id, "missing": 3}
    ]


def test_an_admitted_agents_withdrawal_admits_the_best_waitlisted_passer(uow: FakeUnitOfWork) -> None:
    cohort = only_cohort(uow)
    ready(uow, cohort.id)
    assessments.record_assessments(uow, cohort.id, rows(30, 24))
    cohorts.complete_cohort(uow, cohort.id, SETTINGS)
    uow.events.clear()
    uow.advance(hours=24)
    uow.actor = Actor("cand-03", "agent")
    withdrawal = cohorts.withdraw_trainee(uow, cohort.id, "cand-03", "found another job", SETTINGS)
    assert withdrawal.promoted is not None and withdrawal.promoted.candidate_id == "cand-20"
    assert (withdrawal.trainee.status, withdrawal.promoted.status, withdrawal.shortfall) == (
        "withdrawn",
        "admitted",
        0,
    )
    assert [e["candidate_id"] for e in uow.emitted("agent.admitted")] == ["cand-20"]
    with pytest.raises(Forbidden):
        cohorts.withdraw_trainee(uow, cohort.id, "cand-04", "not mine", SETTINGS)
