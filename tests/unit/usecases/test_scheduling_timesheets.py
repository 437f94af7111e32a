"""Timesheets and staffing estimates on the fake unit of work (seed 003: 2,000 consultations at 220 per
agent a day → 9.09 → 10 agents)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.scheduling import estimates, projections, timesheets
from services.scheduling.config import SchedulingSettings
from services.scheduling.models import Base
from shared.errors import ValidationFailed
from shared.uow import Actor
from tests.unit.fakes import FakeUnitOfWork
from tests.unit.usecases.test_scheduling_projections import PROJECT, T0, admitted, confirmed
from tests.unit.usecases.test_scheduling_surges import TODAY

YESTERDAY = TODAY - dt.timedelta(days=1)


def pool() -> FakeUnitOfWork:
    u = FakeUnitOfWork(Base.metadata, actor=Actor("v-li", "vendor"))
    projections.project_confirmed(u, confirmed(), T0)
    projections.agent_admitted(u, admitted(0), T0)
    return u


def entry(hours: str, day: dt.date = YESTERDAY) -> dict[str, object]:
    return {"project_id": PROJECT, "agent_id": "a-00", "date": day, "hours": Decimal(hours)}


def test_a_new_entry_replaces_the_earlier_one_and_each_emits_shift_worked() -> None:
    u = pool()
    first = timesheets.record_timesheets(u, [entry("7.5")])
    assert first["replaced"] == 0 and first["items"][0]["recorded_by"] == "vendor:v-li"
    u.advance(hours=1)
    second = timesheets.record_timesheets(u, [entry("8")])
    assert second["replaced"] == 1 and second["items"][0]["recorded_at"] == u.now()
    assert [e["hours"] for e in u.emitted("shift.worked")] == ["7.50", "8.00"]


def test_a_future_day_is_refused_all_or_nothing_and_emits_nothing() -> None:
    u = pool()
    with pytest.raises(ValidationFailed):
        timesheets.record_timesheets(u, [entry("8"), {**entry("8", TODAY + dt.timedelta(days=1))}])
    assert u.events == []


def test_the_seed_staffing_estimate_is_ten_agents() -> None:
    data = {"presale": {"total_receptions": Decimal(2000), "agent_daily_capacity": Decimal(220)}}
    out = estimates.staffing_estimate(data, SchedulingSettings())
    assert (out["presale"]["exact"], out["headcount"]) == ("9.0909", 10)
    assert out["funnel"] == {"seats": 10, "match": 30, "admit": 20, "schedule": 15, "reserve": 5}
