"""Cohort use cases of the training service on the fake unit of work: planning from the project's
events (fed twice and out of order), enrolment, starting, completion and the calendar job.

Seed 004's numbers: 10 seats, 1:2 admission, so a target of 20 admitted from 30 matched candidates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from services.training import cohorts, courseware
from services.training.config import TrainingSettings
from services.training.models import Base, Cohort, Project, Trainee
from shared.errors import Conflict
from shared.uow import Actor
from shared.workdays import add_workdays, today_shanghai
from tests.unit.fakes import FakeUnitOfWork

MERCHANT = "m-haoyun"
PROJECT = "p-double11"
SETTINGS = TrainingSettings()
TRAINER = Actor("t-wang", "trainer")
MERCHANT_USER = Actor("u-haoyun", "merchant", merchant_id=MERCHANT)


# --- helpers (also used by the other test_training_* files) ----------------------------------------------


def confirmed(project_id: str = PROJECT, *, seats: int = 10, assessor: str = "vendor") -> dict[str, Any]:
    """project.confirmed as the catalogue loads it (go_live_date a date)."""
    return {
        "project_id": project_id,
        "merchant_id": MERCHANT,
        "seats": seats,
        "service_type": "presale",
        "go_live_date": dt.date(2026, 12, 15),
        "assessor": assessor,
        "trainer": "vendor",
        "company_name": "好运旗舰店",
        "training": {"requirements": "双十二话术"},
        "faq": [{"key": "stock", "question": "能拍的都有货吗", "answer": "是"}],
        "materials": [],
    }


def matched(n: int, project_id: str = PROJECT, start: int = 0) -> dict[str, Any]:
    """candidates.matched as the catalogue loads it (basic_score a float)."""
    return {
        "requisition_id": "req-1",
        "project_id": project_id,
        "candidates": [
            {
                "candidate_id": f"cand-{i:02d}",
                "name": f"客服{i:02d}",
                "phone": f"138{i:08d}",
                "skills": ["presale"],
                "shifts_available": ["morning"],
                "basic_score": 85.0,
            }
            for i in range(start, start + n)
        ],
    }


def only_cohort(uow: FakeUnitOfWork) -> Cohort:
    return uow.session.scalars(select(Cohort)).one()


def ready(uow: FakeUnitOfWork, cohort_id: str) -> None:
    """Courseware added by the trainer and confirmed by the merchant; training started."""
    uow.actor = TRAINER
    courseware.add_courseware_item(
        uow, cohort_id, {"kind": "link", "title": "项目介绍", "topics": ["project"], "url": "https://kb/x"}
    )
    uow.actor = MERCHANT_USER
    courseware.decide_courseware(uow, cohort_id, confirm=True)
    uow.actor = TRAINER
    cohorts.start_cohort(uow, cohort_id)


@pytest.fixture()
def uow() -> Iterator[FakeUnitOfWork]:
    fake = FakeUnitOfWork(Base.metadata, actor=TRAINER)
    yield fake
    fake.close()


# --- planning from events ---------------------------------------------------------------------------------


def test_a_confirmed_project_gets_one_planned_cohort_with_target_twenty(uow: FakeUnitOfWork) -> None:
    cohorts.project_confirmed(uow, confirmed(), SETTINGS)
    cohorts.project_confirmed(uow, confirmed(), SETTINGS)  # delivered twice: still one cohort
    cohort = only_cohort(uow)
    assert (cohort.status, cohort.target, cohort.merchant_id, cohort.training_days) == (
        "planned",
        20,
        MERCHANT,
        2,
    )
    assert cohort.start_date > today_shanghai(uow.now())  # planned for a coming working day
    project = uow.session.get(Project, PROJECT)
    assert project is not None and (project.company_name, project.requirements) == (
        "好运旗舰店",
        "双十二话术",
    )
    assert uow.events == []


def test_a_match_before_the_confirmation_is_kept_and_enrolled_once(uow: FakeUnitOfWork) -> None:
    cohorts.enrol_matched(uow, matched(30), SETTINGS)  # recruitment was faster than onboarding
    stub = uow.session.get(Project, PROJECT)
    assert stub is not None and (stub.confirmed, stub.merchant_id, only_cohort(uow).target) == (
        False,
        None,
        0,
    )
    cohorts.enrol_matched(uow, matched(30), SETTINGS)  # re-delivered
    cohorts.project_confirmed(uow, confirmed(), SETTINGS)
    cohort = only_cohort(uow)
    assert (cohort.target, cohort.merchant_id) == (20, MERCHANT)
    seqs = list(uow.session.scalars(select(Trainee.enrolment_seq).order_by(Trainee.enrolment_seq)))
    assert seqs == list(range(1, 31))


def test_a_closed_project_cancels_its_open_cohort_and_ignores_later_matches(uow: FakeUnitOfWork) -> None:
    cohorts.project_confirmed(uow, confirmed(), SETTINGS)
    cohorts.project_closed(uow, {"project_id": PROJECT, "merchant_id": MERCHANT})
    cohort = only_cohort(uow)
    assert (cohort.status, cohort.completed_by, cohort.completed_at) == (
        "cancelled",
        "project.closed",
        uow.now(),
    )
    assert cohorts.enrol_matched(uow, matched(3), SETTINGS) is None
    assert uow.session.scalars(select(Trainee)).all() == []


# --- starting and completing --------------------------------------------------------------------------------


def test_training_cannot_start_before_the_courseware_is_confirmed(uow: FakeUnitOfWork) -> None:
    cohorts.project_confirmed(uow, confirmed(), SETTINGS)
    cohorts.enrol_matched(uow, matched(3), SETTINGS)
    cohort = only_cohort(uow)
    with pytest.raises(Conflict) as refused:
        cohorts.start_cohort(uow, cohort.id)
    assert refused.value.extra["missing"] == ["the merchant has not confirmed the courseware"]
    assert (cohort.status, uow.events) == ("planned", [])


def test_completing_before_the_start_is_refused(uow: FakeUnitOfWork) -> None:
    cohorts.project_confirmed(uow, confirmed(), SETTINGS)
    with pytest.raises(Conflict, match="has not started"):
        cohorts.complete_cohort(uow, only_cohort(uow).id, SETTINGS)
    assert uow.events == []


def test_the_job_starts_on_the_start_date_and_completes_a_working_day_after_the_end(
    uow: FakeUnitOfWork,
) -> None:
    cohorts.project_confirmed(uow, confirmed(seats=1), SETTINGS)
    cohorts.enrol_matched(uow, matched(2), SETTINGS)
    cohort = only_cohort(uow)
    uow.actor = TRAINER
    courseware.add_courseware_item(
        uow, cohort.id, {"kind": "link", "title": "话术", "topics": ["scripts"], "url": "https://kb/s"}
    )
    uow.actor = MERCHANT_USER
    courseware.decide_courseware(uow, cohort.id, confirm=True)
    uow.actor = Actor.system("job:training.advance_cohorts")

    def at(day: dt.date) -> None:
        uow.current = dt.datetime.combine(day, dt.time(4), tzinfo=dt.UTC)  # noon in Shanghai

    start, end = cohort.start_date, cohort.end_date
    at(start - dt.timedelta(days=1))
    assert cohorts.advance_cohorts(uow, SETTINGS) == 0
    at(start)
    assert cohorts.advance_cohorts(uow, SETTINGS) == 1 and cohort.status == "in_training"
    at(add_workdays(end, 1))
    assert cohorts.advance_cohorts(uow, SETTINGS) == 1
    # nobody was assessed: nobody admitted, the whole target missing
    assert (cohort.status, cohort.completed_by, cohort.shortfall) == ("completed", "job", 2)
    [completed] = uow.emitted("cohort.completed")
    assert {k: completed[k] for k in ("project_id", "cohort_id", "admitted", "target")} == {
        "project_id": PROJECT,
        "cohort_id": cohort.id,
        "admitted": 0,
        "target": 2,
    }
    assert uow.emitted("training.shortfall") == [
        {"project_id": PROJECT, "cohort_id": cohort.id, "missing": 2}
    ]
