"""The month's figures added up by the database (``kpi.summaries_by_agent``, what the KPI run reads) are
exactly what ``domain.summarise`` makes of the same days: sums, response times weighted by receptions over
the days that have them, votes, refunds and help requests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest

from services.quality import domain, kpi
from services.quality.models import AgentDay, Base
from tests.unit.fakes import FakeUnitOfWork


@pytest.fixture()
def uow() -> Iterator[FakeUnitOfWork]:
    fake = FakeUnitOfWork(Base.metadata)
    yield fake
    fake.close()


def _day(agent: str, day: int, receptions: int, avg: str | None, first: str | None, sales: str) -> AgentDay:
    return AgentDay(
        project_id="p-1",
        agent_id=agent,
        date=dt.date(2026, 11, day),
        receptions=receptions,
        inquiries=receptions // 2,
        orders=receptions // 7,
        first_response_seconds=None if first is None else Decimal(first),
        avg_response_seconds=None if avg is None else Decimal(avg),
        sales_amount=Decimal(sales),
        votes_very_satisfied=day,
        votes_satisfied=2,
        votes_neutral=1,
        votes_unsatisfied=day % 3,
        votes_very_unsatisfied=0,
        quality_refunds=day % 2,
        help_requests=1,
        import_id="i-1",
        updated_at=dt.datetime(2026, 11, 30, tzinfo=dt.UTC),
    )


def test_the_grouped_sums_equal_the_domain_summary_of_the_days(uow: FakeUnitOfWork) -> None:
    uow.session.add_all(
        [
            _day("li", 1, 120, "24.35", "9.10", "7504.33"),
            _day("li", 2, 0, "99.99", "99.99", "0.00"),  # no receptions: out of the weighted means
            _day("li", 3, 87, None, "12.00", "1234.56"),  # no average response that day
            _day("li", 30, 301, "31.07", None, "20000.01"),
            _day("wang", 5, 45, "18.00", "6.50", "999.99"),
            _day("wang", 30, 1, "0.01", "0.01", "0.01"),
            _day("zhao", 1, 10, "20", "5", "10"),
        ]
    )
    uow.flush()
    sums = kpi.summaries_by_agent(uow, "p-1", "2026-11")
    days = kpi.days_by_agent(uow, "p-1", "2026-11")
    assert set(sums) == {"li", "wang", "zhao"}
    for agent_id, figures in days.items():
        assert sums[agent_id] == domain.summarise(figures), agent_id
    assert sums["li"].avg_response_seconds == Decimal("29.15")  # (120·24.35 + 301·31.07) ÷ 421 = 29.1546…
    assert kpi.summaries_by_agent(uow, "p-1", "2026-10") == {}
