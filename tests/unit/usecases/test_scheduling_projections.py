"""Scheduling's copies of projects and admitted agents, fed from events on the fake unit of work: fed
twice and out of order, they end the same (seed 003: 10 seats, 09:00–17:00 pre-sales)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from services.scheduling import handlers, projections
from services.scheduling.models import Base, PoolAgent, Project
from shared.events.envelope import build_envelope, receive
from shared.uow import Actor
from tests.unit.fakes import FakeUnitOfWork

PROJECT = "p-double11"
MERCHANT = "m-haoyun"
T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)


def confirmed(*, seats: int = 10) -> dict[str, Any]:
    """project.confirmed as the catalogue loads it (go_live_date a date)."""
    return {
        "project_id": PROJECT,
        "merchant_id": MERCHANT,
        "seats": seats,
        "service_type": "presale",
        "service_hours": {"start": "09:00", "end": "17:00"},
        "go_live_date": dt.date(2026, 11, 11),
        "assessor": "merchant",
        "metrics": {"daily_consultations": 2000},
        "merchant": {"company_name": "杭州某服饰旗舰店"},
    }


def admitted(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "project_id": PROJECT,
        "candidate_id": f"a-{i:02d}",
        "cohort_id": "c-1",
        "name": f"客服{i:02d}",
        "skills": ["presale"],
        "shifts_available": ["morning", "afternoon", "night"],
        "quiz_score": 95.0 - i,
        "simulation_score": 95.0 - i,
        "rank": i + 1,
        **extra,
    }


def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork(Base.metadata, actor=Actor.system("consumer"))


def test_a_confirmed_project_is_copied_once_however_often_it_arrives() -> None:
    u = uow()
    projections.project_confirmed(u, confirmed(), T0)
    projections.project_confirmed(u, confirmed(), T0)
    rows = u.session.scalars(select(Project)).all()
    assert len(rows) == 1
    p = rows[0]
    assert (p.seats, p.service_start, p.service_end, p.go_live_date) == (
        10,
        "09:00",
        "17:00",
        dt.date(2026, 11, 11),
    )
    assert (p.company_name, p.status, p.last_event_at) == ("杭州某服饰旗舰店", "confirmed", T0)
    assert u.events == []


def test_an_older_confirmation_arriving_after_an_update_only_fills_gaps() -> None:
    u = uow()
    later = T0 + dt.timedelta(hours=2)
    update = {"project_id": PROJECT, "merchant_id": MERCHANT, "changed": ["seats"], "seats": 15}
    projections.project_updated(u, update, later)
    projections.project_confirmed(u, confirmed(seats=10), T0)
    p = u.session.get(Project, PROJECT)
    assert p is not None
    assert (p.seats, p.service_start, p.last_event_at) == (15, "09:00", later)
    # and an update older than what is kept changes nothing
    projections.project_updated(u, {**update, "seats": 12}, T0 - dt.timedelta(hours=1))
    assert p.seats == 15


def test_a_closed_project_stays_closed_whatever_comes_after() -> None:
    u = uow()
    projections.project_closed(u, {"project_id": PROJECT, "merchant_id": MERCHANT})
    projections.project_confirmed(u, confirmed(), T0)
    p = u.session.get(Project, PROJECT)
    assert p is not None and (p.status, p.merchant_id, p.seats) == ("closed", MERCHANT, 10)


def test_an_agent_admitted_twice_is_one_pool_member_and_keeps_its_departure() -> None:
    u = uow()
    projections.agent_admitted(u, admitted(0, merchant_id=MERCHANT), T0)
    row = u.session.scalars(select(PoolAgent)).one()
    row.departed_on = dt.date(2026, 11, 20)
    projections.agent_admitted(u, admitted(0, name="客服甲"), T0 + dt.timedelta(minutes=5))
    row = u.session.scalars(select(PoolAgent)).one()
    assert (row.name, row.departed_on, row.admitted_at) == (
        "客服甲",
        dt.date(2026, 11, 20),
        T0 + dt.timedelta(minutes=5),
    )
    # the agent came first: the project exists with its merchant, to be completed by its confirmation
    project = u.session.get(Project, PROJECT)
    assert project is not None and project.merchant_id == MERCHANT and project.seats is None


def test_the_handlers_take_the_loaded_event() -> None:
    u = uow()
    raw = {**confirmed(), "go_live_date": "2026-11-11"}
    handlers.on_project_confirmed(u, receive(build_envelope("project.confirmed", raw, occurred_at=T0)))
    p = u.session.get(Project, PROJECT)
    assert p is not None and p.go_live_date == dt.date(2026, 11, 11) and p.last_event_at == T0
