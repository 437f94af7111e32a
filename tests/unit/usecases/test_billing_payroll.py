"""Payroll runs (薪资) on the fake unit of work: the seed's 20 CNY/hour × 160 h = 3,200.00, approval and
its event, the refusals, and late data paid in the next run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import select

from services.billing import pay_plans, payroll, projections
from services.billing.models import Base, PendingChange
from shared.errors import BusinessRuleViolation
from shared.uow import Actor
from tests.unit.fakes import FakeUnitOfWork

PROJECT = "p-haoyun"
AGENT = "agent-li"
FINANCE = Actor(sub="finance-1", role="finance")


@pytest.fixture
def uow() -> Iterator[FakeUnitOfWork]:
    fake = FakeUnitOfWork(Base.metadata, actor=FINANCE)
    projections.project_confirmed(fake, {"project_id": PROJECT, "merchant_id": "m-haoyun"})
    projections.agent_admitted(
        fake,
        {"candidate_id": AGENT, "project_id": PROJECT, "name": "李娜"},
        dt.datetime(2026, 9, 30, 2, tzinfo=dt.UTC),
    )
    pay_plans.create_plan(
        fake,
        {
            "project_id": PROJECT,
            "type": "hourly",
            "hourly_rate": Decimal("20.00"),
            "effective_from": dt.date(2026, 10, 1),
        },
    )
    yield fake
    fake.close()


def work(uow: FakeUnitOfWork, day: dt.date, hours: str = "8") -> None:
    projections.shift_worked(
        uow, {"agent_id": AGENT, "project_id": PROJECT, "date": day, "hours": Decimal(hours)}
    )


def work_october(uow: FakeUnitOfWork) -> None:
    """20 days of 8 hours: the seed's 160 h."""
    for day in range(1, 21):
        work(uow, dt.date(2026, 10, day))


def test_a_run_pays_160_hours_at_20_cny_and_approval_announces_it(uow: FakeUnitOfWork) -> None:
    work_october(uow)
    run = payroll.create_run(uow, "2026-10", None)
    assert (run.status, run.payslip_count, run.total) == ("draft", 1, Decimal("3200.00"))
    assert run.created_by == "finance-1"
    assert uow.events == []  # a draft announces nothing

    uow.advance(hours=1)
    approved = payroll.approve_run(uow, run.id)

    assert (approved.status, approved.approved_by, approved.approved_at) == (
        "approved",
        "finance-1",
        uow.now(),
    )
    assert uow.emitted("payroll.approved") == [
        {"run_id": run.id, "period": "2026-10", "total": "3200.00", "project_id": None}
    ]
    # the marks the run accounted for (its own period) are cleared; September's admission is not closed
    left = uow.session.scalars(select(PendingChange.period)).all()
    assert left == ["2026-09"]


def test_an_approved_run_is_never_approved_again_nor_recalculated(uow: FakeUnitOfWork) -> None:
    work_october(uow)
    run = payroll.create_run(uow, "2026-10", None)
    payroll.approve_run(uow, run.id)

    with pytest.raises(BusinessRuleViolation) as again:
        payroll.approve_run(uow, run.id)
    assert again.value.extra["rule"] == "already-approved"
    with pytest.raises(BusinessRuleViolation) as recalc:
        payroll.recalculate_run(uow, run.id)
    assert recalc.value.extra["rule"] == "run-approved"
    assert len(uow.emitted("payroll.approved")) == 1


def test_a_second_run_for_the_same_period_and_scope_is_refused(uow: FakeUnitOfWork) -> None:
    work_october(uow)
    first = payroll.create_run(uow, "2026-10", None)
    with pytest.raises(BusinessRuleViolation) as refused:
        payroll.create_run(uow, "2026-10", PROJECT)
    assert refused.value.extra["rule"] == "run-exists"
    assert refused.value.extra["run_id"] == first.id


def test_data_after_the_calculation_makes_the_approval_refuse_until_recalculated(uow: FakeUnitOfWork) -> None:
    work_october(uow)
    run = payroll.create_run(uow, "2026-10", None)
    uow.advance(minutes=5)
    work(uow, dt.date(2026, 10, 21))  # a late timesheet: 8 h more

    with pytest.raises(BusinessRuleViolation) as stale:
        payroll.approve_run(uow, run.id)
    assert stale.value.extra["rule"] == "stale-draft"
    assert uow.events == []

    uow.advance(minutes=5)
    assert payroll.recalculate_run(uow, run.id).total == Decimal("3360.00")
    assert payroll.approve_run(uow, run.id).status == "approved"


def test_hours_arriving_after_approval_are_paid_in_the_next_run_naming_their_period(
    uow: FakeUnitOfWork,
) -> None:
    work_october(uow)
    october = payroll.create_run(uow, "2026-10", None)
    payroll.approve_run(uow, october.id)
    uow.advance(hours=1)
    work(uow, dt.date(2026, 10, 22), "5")  # 5 h × 20 = 100.00, for a closed period

    november = payroll.create_run(uow, "2026-11", None)

    assert november.total == Decimal("100.00")
    assert october.total == Decimal("3200.00")  # the approved run never changes


def test_a_new_plan_never_rewrites_an_approved_period(uow: FakeUnitOfWork) -> None:
    work_october(uow)
    payroll.approve_run(uow, payroll.create_run(uow, "2026-10", None).id)
    with pytest.raises(BusinessRuleViolation) as refused:
        pay_plans.create_plan(
            uow,
            {
                "project_id": PROJECT,
                "type": "monthly",
                "monthly_base": Decimal("4000.00"),
                "effective_from": dt.date(2026, 10, 15),
            },
        )
    assert (refused.value.extra["rule"], refused.value.status) == ("closed-period", 409)
