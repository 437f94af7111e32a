"""Requisitions and matching on the fake unit of work: 1:3 targets, skill quotas, shortfalls, rematch, the
overdue job, replacements for scheduling and the per-project ratio."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from services.recruitment import domain, requisitions, talent_pool
from services.recruitment.domain import SKILLS
from services.recruitment.models import Base, Candidate, Requisition
from shared.errors import BusinessRuleViolation
from shared.uow import Actor
from shared.workdays import add_workdays, today_shanghai
from tests.unit.fakes import FakeUnitOfWork
from tests.unit.usecases.test_recruitment_talent_pool import SETTINGS, confirm, person


@pytest.fixture
def uow() -> Iterator[FakeUnitOfWork]:
    fake = FakeUnitOfWork(Base.metadata, actor=Actor.system("consumer"))
    yield fake
    fake.close()


def pool(uow: FakeUnitOfWork, size: int, *, first: int = 1) -> None:
    for n in range(first, first + size):
        talent_pool.create_candidate(uow, person(n, score=50 + n % 50), SETTINGS)


def test_ten_seats_take_thirty_people_and_announce_them_once(uow: FakeUnitOfWork) -> None:
    pool(uow, 40)
    requisition = confirm(uow, "p-1", seats=10)
    assert requisition is not None
    assert (requisition.target, requisition.matched, requisition.status) == (30, 30, "filled")
    assert requisition.due_date == add_workdays(today_shanghai(uow.now()), SETTINGS.due_workdays)
    (matched,) = uow.emitted("candidates.matched")
    assert len(matched["candidates"]) == 30
    assert uow.emitted("requisition.shortfall") == []


def test_a_confirmation_delivered_twice_opens_one_requisition(uow: FakeUnitOfWork) -> None:
    pool(uow, 2)
    assert confirm(uow, "p-1", seats=1) is not None
    assert confirm(uow, "p-1", seats=1) is None
    assert uow.session.scalar(select(func.count()).select_from(Requisition)) == 1
    assert len(uow.emitted("requisition.shortfall")) == 1  # 2 of 3: short, said once


def test_rematch_of_a_filled_requisition_is_refused_and_announces_nothing(uow: FakeUnitOfWork) -> None:
    pool(uow, 3)
    requisition = confirm(uow, "p-1")
    assert requisition is not None and requisition.status == "filled"
    before = len(uow.events)
    with pytest.raises(BusinessRuleViolation, match="rematch-open-only"):
        requisitions.rematch(uow, requisition.id, SETTINGS)
    assert len(uow.events) == before


def test_rematch_tops_a_short_requisition_up_from_the_pool_as_it_is_now(uow: FakeUnitOfWork) -> None:
    requisition = confirm(uow, "p-1")
    assert requisition is not None and requisition.matched == 0
    # a person written behind matching's back (a row fixed by hand): only rematch offers them
    values = talent_pool.candidate_values(person(7))
    uow.session.add(
        Candidate(id="c-7", status="available", created_at=uow.now(), updated_at=uow.now(), **values)
    )
    assert requisitions.rematch(uow, requisition.id, SETTINGS) == (requisition, 1)
    assert (requisition.matched, requisition.status) == (1, "short")
    assert uow.emitted("candidates.matched")[0]["candidates"][0]["candidate_id"] == "c-7"


def test_the_overdue_job_flags_a_short_requisition_after_its_due_date(uow: FakeUnitOfWork) -> None:
    requisition = confirm(uow, "p-1")
    assert requisition is not None and requisition.status == "short"
    assert requisitions.flag_overdue(uow) == 0
    while today_shanghai(uow.now()) <= requisition.due_date:
        uow.advance(days=1)
    assert requisitions.flag_overdue(uow) == 1
    uow.session.refresh(requisition)
    assert (requisition.status, requisition.overdue_at) == ("overdue", uow.now())


def test_one_uncovered_surge_seat_is_one_requisition_of_three(uow: FakeUnitOfWork) -> None:
    pool(uow, 5)
    confirm(uow, "p-1", seats=1)
    surge = dict(reason=domain.RequisitionReason.SURGE, source_ref="surge:s-1", config=SETTINGS)
    requisition = requisitions.replacement_requisition(uow, "p-1", 1, **surge)
    assert requisition is not None and (requisition.seats, requisition.target) == (1, 3)
    assert requisitions.replacement_requisition(uow, "p-1", 1, **surge) is None  # announced again
    assert requisitions.replacement_requisition(uow, "p-2", 0, **{**surge, "source_ref": "surge:s-2"}) is None


def test_the_ratio_cannot_go_below_what_is_already_matched(uow: FakeUnitOfWork) -> None:
    pool(uow, 30)
    confirm(uow, "p-1", seats=10)
    before = len(uow.events)
    with pytest.raises(BusinessRuleViolation, match="match-ratio-floor") as refused:
        requisitions.update_project_settings(uow, "p-1", {"match_ratio": Decimal(2)}, SETTINGS)
    assert "at least 3.00" in str(refused.value)
    assert len(uow.events) == before


def test_a_higher_ratio_tops_the_main_requisition_up_at_once(uow: FakeUnitOfWork) -> None:
    pool(uow, 12)
    confirm(uow, "p-1", seats=2)  # 6 of 12
    project = requisitions.update_project_settings(uow, "p-1", {"match_ratio": Decimal(5)}, SETTINGS)
    assert project.match_ratio == Decimal(5)
    main = uow.session.scalars(select(Requisition)).one()
    assert (main.target, main.matched, main.status) == (10, 10, "filled")
    assert [len(e["candidates"]) for e in uow.emitted("candidates.matched")] == [6, 4]


def test_the_due_date_counts_working_days_from_the_shanghai_day(uow: FakeUnitOfWork) -> None:
    # 2026-11-11 17:00 UTC is already the 12th in Shanghai
    uow.current = dt.datetime(2026, 11, 11, 17, 0, tzinfo=dt.UTC)
    requisition = requisitions.replacement_requisition(
        uow, "p-9", 1, reason=domain.RequisitionReason.RESERVE_SHORTFALL, source_ref="r:1", config=SETTINGS
    )
    assert requisition is not None
    assert requisition.due_date == add_workdays(dt.date(2026, 11, 12), SETTINGS.due_workdays)


def test_matching_across_bonus_classes_ranks_exactly_like_the_domain(uow: FakeUnitOfWork) -> None:
    """The ranking is read class by class (platform and category bonus 20, one of them 10, neither 0) and
    merged: a strong candidate with no bonus still outranks a weak one with both."""
    rng = random.Random(16)
    platforms = [[], ["taobao"], ["jd"], ["taobao", "jd"]]
    categories = [[], ["服装"], ["数码"], ["服装", "母婴"]]
    for n in range(240):
        data = person(
            n, score=rng.randint(40, 100), skills=rng.choice([("presale",), ("aftersale",), SKILLS])
        )
        data = dataclasses.replace(
            data,
            basic_training_passed=rng.random() < 0.85,
            shifts_available=rng.sample(list(domain.SHIFTS), rng.randint(1, 3)),
            platforms=rng.choice(platforms),
            categories=rng.choice(categories),
            experience_months=rng.randint(0, 40),
        )
        talent_pool.create_candidate(uow, data, SETTINGS)
    pool = [
        domain.Profile(
            id=c.id,
            phone=c.phone,
            skills=frozenset(c.skills),
            shifts=frozenset(c.shifts_available),
            basic_training_passed=c.basic_training_passed,
            basic_score=c.basic_score,
            platforms=frozenset(c.platforms),
            categories=frozenset(c.categories),
            experience_months=c.experience_months,
        )
        for c in uow.session.scalars(select(Candidate))
    ]
    requisition = confirm(
        uow, "p-rank", seats=20, service_type="both", platform="taobao", merchant={"categories": ["服装"]}
    )
    assert requisition is not None
    requirement = domain.Requirement(
        shifts=frozenset({"morning", "afternoon"}),
        platform="taobao",
        categories=frozenset({"服装"}),
        project_id="p-rank",
    )
    expected = domain.select_matches(pool, {"presale": 42, "aftersale": 18}, requirement)
    assert [(m.candidate_id, m.skill, m.score) for m in requisition.matches] == [
        (p.candidate.id, p.skill, p.score) for p in expected
    ]
    bonuses = {
        p.score - p.candidate.basic_score - Decimal(min(p.candidate.experience_months, 24)) / 2
        for p in expected
    }
    assert bonuses == {0, 10, 20}  # the matches came from every class
