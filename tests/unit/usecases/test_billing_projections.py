"""Billing's copies of projects, agents, hours and penalties (投影) on the fake unit of work: events late,
twice or out of order leave the same state, and every write of pay data is marked for late-data pay."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import select

from services.billing import projections
from services.billing.models import (
    Agent,
    Base,
    Deduction,
    PendingChange,
    Project,
    ProjectSeats,
    SurgeCopy,
    TrainingCohort,
    WorkedHours,
)
from tests.unit.fakes import FakeUnitOfWork

PROJECT = "p-haoyun"
AGENT = "agent-li"
RESERVE = "agent-wang"
#: 16:30 UTC on 19 November: already the 20th in Shanghai
NOW = dt.datetime(2026, 11, 19, 16, 30, tzinfo=dt.UTC)


@pytest.fixture
def uow() -> Iterator[FakeUnitOfWork]:
    fake = FakeUnitOfWork(Base.metadata)
    yield fake
    fake.close()


def marks(uow: FakeUnitOfWork) -> set[tuple[str, str, str]]:
    return set(
        uow.session.execute(select(PendingChange.project_id, PendingChange.agent_id, PendingChange.period))
    )


def test_a_late_confirmation_never_reopens_a_closed_project(uow: FakeUnitOfWork) -> None:
    projections.project_closed(uow, {"project_id": PROJECT, "merchant_id": "m-haoyun"}, NOW)
    projections.project_confirmed(
        uow, {"project_id": PROJECT, "merchant": {"company_name": "好运旗舰店"}, "merchant_id": "m-haoyun"}
    )
    projections.project_confirmed(uow, {"project_id": PROJECT})  # twice, with less in it

    project = uow.session.get(Project, PROJECT)
    assert project is not None
    assert (project.status, project.merchant_id, project.company_name) == ("closed", "m-haoyun", "好运旗舰店")
    assert project.closed_on == dt.date(2026, 11, 20)


def test_seats_are_kept_from_go_live_and_from_the_day_they_change(uow: FakeUnitOfWork) -> None:
    """What a seat-month invoice charges: the order's seats from go-live, each change from its day."""
    go_live = dt.date(2026, 10, 1)
    projections.project_confirmed(
        uow, {"project_id": PROJECT, "merchant_id": "m", "seats": 10, "go_live_date": go_live}
    )
    projections.project_confirmed(  # a duplicate changes nothing
        uow, {"project_id": PROJECT, "merchant_id": "m", "seats": 10, "go_live_date": go_live}
    )
    projections.project_updated(uow, {"project_id": PROJECT, "merchant_id": "m", "seats": 16}, NOW)
    # a change made before go-live counts from go-live
    early = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    projections.project_updated(uow, {"project_id": PROJECT, "merchant_id": "m", "seats": 12}, early)
    rows = uow.session.execute(
        select(ProjectSeats.effective_from, ProjectSeats.seats).order_by(ProjectSeats.effective_from)
    ).all()
    assert [tuple(r) for r in rows] == [(go_live, 12), (dt.date(2026, 11, 20), 16)]
    project = uow.session.get(Project, PROJECT)
    assert project is not None and (project.seats, project.go_live_date) == (12, go_live)


def test_surges_and_cohorts_are_kept_for_the_invoice(uow: FakeUnitOfWork) -> None:
    surge = {
        "project_id": PROJECT,
        "surge_id": "s-1",
        "increase_pct": 30.0,
        "start_date": dt.date(2026, 11, 10),
        "end_date": dt.date(2026, 11, 12),
        "extra_seats": 3,
        "covered": 2,
    }
    projections.surge_accepted(uow, surge)
    projections.surge_accepted(uow, surge)
    cohort = {"project_id": PROJECT, "cohort_id": "c-1", "admitted": 20, "trainees": 24}
    projections.cohort_completed(uow, cohort | {"training_hours": Decimal("16")}, NOW)
    old_training = {"project_id": PROJECT, "cohort_id": "c-2", "admitted": 5}
    projections.cohort_completed(uow, old_training, NOW)  # from a training service sending no hours
    [row] = uow.session.scalars(select(SurgeCopy)).all()
    assert (row.extra_seats, row.increase_pct, row.covered) == (3, Decimal("30.00"), 2)
    cohorts = {c.cohort_id: c for c in uow.session.scalars(select(TrainingCohort))}
    assert (cohorts["c-1"].trainees, cohorts["c-1"].hours_each, cohorts["c-1"].completed_on) == (
        24,
        Decimal("16.00"),
        dt.date(2026, 11, 20),
    )
    assert (cohorts["c-2"].trainees, cohorts["c-2"].hours_each) == (5, Decimal("0.00"))


def test_a_departure_before_its_admission_gives_the_same_membership(uow: FakeUnitOfWork) -> None:
    # the admission is dated by its instant in Asia/Shanghai: 16:30 UTC on 30 Sep is already 1 Oct
    admitted = dt.datetime(2026, 9, 30, 16, 30, tzinfo=dt.UTC)
    projections.agent_departed(
        uow, {"agent_id": AGENT, "project_id": PROJECT, "date": dt.date(2026, 10, 20)}, admitted
    )
    projections.agent_admitted(uow, {"candidate_id": AGENT, "project_id": PROJECT, "name": "李娜"}, admitted)

    agent = uow.session.get(Agent, (AGENT, PROJECT))
    assert agent is not None
    assert (agent.name, agent.admitted_on, agent.departed_on) == (
        "李娜",
        dt.date(2026, 10, 1),
        dt.date(2026, 10, 20),
    )
    assert marks(uow) == {(PROJECT, AGENT, "2026-10")}


def test_a_replacement_lets_the_reserve_join_on_the_day(uow: FakeUnitOfWork) -> None:
    day = dt.date(2026, 10, 15)
    projections.agent_replaced(
        uow,
        {"agent_id": AGENT, "project_id": PROJECT, "replacement_id": RESERVE, "date": day},
        dt.datetime(2026, 10, 15, 2, tzinfo=dt.UTC),
    )
    leaving = uow.session.get(Agent, (AGENT, PROJECT))
    joining = uow.session.get(Agent, (RESERVE, PROJECT))
    assert leaving is not None and joining is not None
    assert (leaving.departed_on, leaving.replaced_by, joining.admitted_on) == (day, RESERVE, day)
    assert marks(uow) == {(PROJECT, AGENT, "2026-10"), (PROJECT, RESERVE, "2026-10")}


def test_a_corrected_timesheet_replaces_the_first(uow: FakeUnitOfWork) -> None:
    day = {"agent_id": AGENT, "project_id": PROJECT, "date": dt.date(2026, 10, 5)}
    projections.shift_worked(uow, {**day, "hours": Decimal("8")})
    projections.shift_worked(uow, {**day, "hours": Decimal("7.5")})

    assert uow.session.scalars(select(WorkedHours.hours)).all() == [Decimal("7.50")]


def test_a_penalty_sent_again_with_a_later_resolution_moves_and_marks_both_periods(
    uow: FakeUnitOfWork,
) -> None:
    upheld = {
        "complaint_id": "c-1",
        "number": "TS20261031-0001",
        "agent_id": AGENT,
        "project_id": PROJECT,
        "penalty": "200.00",
    }
    occurred = dt.datetime(2026, 10, 31, 8, tzinfo=dt.UTC)
    projections.complaint_upheld(uow, upheld, occurred)
    # 31 Oct 16:30 UTC is 1 Nov in Asia/Shanghai: the penalty moves to November
    projections.complaint_upheld(
        uow, {**upheld, "resolved_at": dt.datetime(2026, 10, 31, 16, 30, tzinfo=dt.UTC)}, occurred
    )

    deduction = uow.session.get(Deduction, "c-1")
    assert deduction is not None
    assert (deduction.amount, deduction.period, deduction.resolved_on) == (
        Decimal("200.00"),
        "2026-11",
        dt.date(2026, 11, 1),
    )
    assert marks(uow) == {(PROJECT, AGENT, "2026-10"), (PROJECT, AGENT, "2026-11")}
