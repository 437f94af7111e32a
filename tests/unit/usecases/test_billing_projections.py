"""Billing's copies of projects, agents, hours and penalties (投影) on the fake unit of work: events late,
twice or out of order leave the same state, and every write of pay data is marked for late-data pay."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import select

from services.billing import projections
from services.billing.models import Agent, Base, Deduction, PendingChange, Project, WorkedHours
from tests.unit.fakes import FakeUnitOfWork

PROJECT = "p-haoyun"
AGENT = "agent-li"
RESERVE = "agent-wang"


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
    projections.project_closed(uow, {"project_id": PROJECT, "merchant_id": "m-haoyun"})
    projections.project_confirmed(
        uow, {"project_id": PROJECT, "merchant": {"company_name": "好运旗舰店"}, "merchant_id": "m-haoyun"}
    )
    projections.project_confirmed(uow, {"project_id": PROJECT})  # twice, with less in it

    project = uow.session.get(Project, PROJECT)
    assert project is not None
    assert (project.status, project.merchant_id, project.company_name) == ("closed", "m-haoyun", "好运旗舰店")


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
