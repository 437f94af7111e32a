"""Surge use cases on the fake unit of work (seed 003: 10 seats; +30% needs 3 days' notice, +60% a week;
today is 2026-11-11 in Shanghai, the fake's clock)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from services.scheduling import projections, surges
from services.scheduling.config import SchedulingSettings
from services.scheduling.models import Base, Surge
from shared.errors import BusinessRuleViolation
from shared.uow import Actor
from tests.unit.fakes import FakeUnitOfWork
from tests.unit.usecases.test_scheduling_projections import PROJECT, T0, admitted, confirmed

SETTINGS = SchedulingSettings(solver_time_limit=2, solver_workers=1)
VENDOR = Actor("v-li", "vendor")
TODAY = dt.date(2026, 11, 11)


def project(agents: int = 20) -> FakeUnitOfWork:
    u = FakeUnitOfWork(Base.metadata, actor=VENDOR)
    projections.project_confirmed(u, confirmed(), T0)
    for i in range(agents):
        projections.agent_admitted(u, admitted(i), T0)
    return u


def ask(u: FakeUnitOfWork, pct: str, start_in: int, days: int = 2) -> surges.SurgeOutcome:
    start = TODAY + dt.timedelta(days=start_in)
    data = {
        "start_date": start,
        "end_date": start + dt.timedelta(days=days - 1),
        "increase_pct": Decimal(pct),
    }
    return surges.request_surge(u, PROJECT, data, cfg=SETTINGS)


def test_the_rule_is_the_settings_and_the_same_decision_a_request_gets() -> None:
    u = project(0)
    plain = surges.surge_rule(u, SETTINGS, None)
    assert plain["today"] == TODAY and plain["allowed"] is None and plain["earliest_start"] is None
    small = surges.surge_rule(u, SETTINGS, Decimal("25"))
    assert (small["allowed"], small["required_notice_days"], small["earliest_start"]) == (
        True,
        3,
        TODAY + dt.timedelta(days=3),
    )
    assert surges.surge_rule(u, SETTINGS, Decimal("45"))["required_notice_days"] == 7
    assert surges.surge_rule(u, SETTINGS, Decimal("61"))["allowed"] is False


def test_an_accepted_surge_is_covered_by_the_reserve_and_announced() -> None:
    u = project(20)  # 15 active, 5 reserve
    outcome = ask(u, "30", start_in=3)
    assert outcome.refusal is None and outcome.roster is None  # nothing rostered yet: arithmetic
    s = outcome.surge
    assert (s.status, s.extra_seats, s.notice_days, s.requested_by) == ("accepted", 3, 3, "vendor:v-li")
    # 09:00–17:00 is one 8-hour shift a day: the 5 reserve agents cover all 3 extra seats
    assert (s.covered, s.uncovered) == (3, 0)
    [event] = u.emitted("surge.accepted")
    assert (event["surge_id"], event["extra_seats"], event["uncovered"]) == (s.id, 3, 0)


def test_a_surge_without_notice_is_kept_and_announced_as_refused_but_not_raised_here() -> None:
    u = project(20)
    outcome = ask(u, "30", start_in=1)
    assert outcome.surge.status == "rejected" and outcome.refusal is not None
    assert outcome.refusal.extra["earliest_start_date"] == "2026-11-14"
    assert [e["surge_id"] for e in u.emitted("surge.rejected")] == [outcome.surge.id]
    assert u.emitted("surge.accepted") == []


def test_an_overlapping_surge_is_refused_and_emits_nothing() -> None:
    u = project(20)
    ask(u, "30", start_in=7)
    before = list(u.events)
    with pytest.raises(BusinessRuleViolation) as refused:
        ask(u, "20", start_in=8)
    assert refused.value.extra["rule"] == "surge-overlap"
    assert u.events == before
    assert len(u.session.scalars(select(Surge)).all()) == 1


def test_cancelling_an_accepted_surge_records_who_and_when() -> None:
    u = project(20)
    accepted = ask(u, "60", start_in=7).surge
    u.advance(hours=1)
    outcome = surges.cancel_surge(u, PROJECT, accepted.id, cfg=SETTINGS)
    assert (outcome.surge.status, outcome.surge.cancelled_by) == ("cancelled", "vendor:v-li")
    assert outcome.surge.cancelled_at == u.now()
    with pytest.raises(BusinessRuleViolation):
        surges.cancel_surge(u, PROJECT, accepted.id, cfg=SETTINGS)
