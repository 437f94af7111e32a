"""Performance data and adjustments (绩效数据, 调整) on the fake unit of work: all or nothing, every
problem at once, a re-sent day replaces the first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from services.billing import performance, projections
from services.billing.models import Adjustment, Base, Performance
from shared.errors import ValidationFailed
from shared.uow import Actor
from tests.unit.fakes import FakeUnitOfWork

PROJECT = "p-haoyun"
AGENT = "agent-li"
FINANCE = Actor(sub="finance-1", role="finance")


@pytest.fixture
def uow() -> Iterator[FakeUnitOfWork]:
    fake = FakeUnitOfWork(Base.metadata, actor=FINANCE)
    projections.agent_admitted(
        fake, {"candidate_id": AGENT, "project_id": PROJECT}, dt.datetime(2026, 10, 1, 2, tzinfo=dt.UTC)
    )
    yield fake
    fake.close()


def day(date: dt.date, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "project_id": PROJECT,
        "agent_id": AGENT,
        "date": date,
        "sales_amount": Decimal("5000.00"),
        "avg_response_seconds": Decimal("25"),
        "response_rate": Decimal("0.98"),
        "consultations": 120,
    }
    return {**values, **overrides}


def stored(uow: FakeUnitOfWork) -> int:
    return int(uow.session.scalar(select(func.count()).select_from(Performance)) or 0)


def test_a_day_sent_again_replaces_the_first(uow: FakeUnitOfWork) -> None:
    first = performance.record_performance(uow, [day(dt.date(2026, 11, 10))], [""])
    again = performance.record_performance(
        uow,
        [day(dt.date(2026, 11, 10), sales_amount=Decimal("6000.00")), day(dt.date(2026, 11, 9))],
        ["0", "1"],
    )

    assert first == {"received": 1, "created": 1, "replaced": 0}
    assert again == {"received": 2, "created": 1, "replaced": 1}
    assert stored(uow) == 2


def test_every_problem_is_reported_at_once_and_nothing_is_stored(uow: FakeUnitOfWork) -> None:
    # today is 11 Nov in Asia/Shanghai (the fake's clock): the 12th is in the future
    items = [day(dt.date(2026, 11, 12)), day(dt.date(2026, 11, 1), agent_id="agent-nobody")]
    with pytest.raises(ValidationFailed) as refused:
        performance.record_performance(uow, items, ["0", "1"], earlier_errors={"2.date": ["not a date"]})

    assert set(refused.value.errors or {}) == {"0.date", "1.agent_id", "2.date"}
    assert stored(uow) == 0


def test_an_adjustment_names_its_author_and_an_unknown_agent_is_refused(uow: FakeUnitOfWork) -> None:
    adjustment = performance.add_adjustment(
        uow,
        {
            "agent_id": AGENT,
            "project_id": PROJECT,
            "period": "2026-11",
            "amount": Decimal("-150.00"),
            "reason": "  迟到扣款 ",
        },
    )
    assert (adjustment.created_by, adjustment.reason, adjustment.created_at) == (
        "finance-1",
        "迟到扣款",
        uow.now(),
    )

    with pytest.raises(ValidationFailed):
        performance.add_adjustment(
            uow,
            {
                "agent_id": "agent-nobody",
                "project_id": PROJECT,
                "period": "2026-11",
                "amount": Decimal("1"),
                "reason": "x",
            },
        )
    assert uow.session.scalar(select(func.count()).select_from(Adjustment)) == 1
