"""Recruitment's copy of projects, fed twice and out of order (a shortfall before the confirmation)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from services.recruitment import domain, projections, requisitions
from services.recruitment.models import Base, Project, Requisition
from shared.uow import Actor
from tests.unit.fakes import FakeUnitOfWork
from tests.unit.usecases.test_recruitment_talent_pool import SETTINGS, confirm, confirmation, loaded


@pytest.fixture
def uow() -> Iterator[FakeUnitOfWork]:
    fake = FakeUnitOfWork(Base.metadata, actor=Actor.system("consumer"))
    yield fake
    fake.close()


def test_an_event_before_the_confirmation_makes_a_pending_stub_the_confirmation_completes(
    uow: FakeUnitOfWork,
) -> None:
    requisitions.replacement_requisition(
        uow, "p-1", 1, reason=domain.RequisitionReason.RESERVE_SHORTFALL, source_ref="r:1", config=SETTINGS
    )
    stub = uow.session.get(Project, "p-1")
    assert stub is not None and (stub.status, stub.merchant_id, stub.seats, stub.categories) == (
        "pending",
        None,
        None,
        [],
    )
    extra = {"platform": "Tmall", "merchant": {"categories": ["服装", "美妆", "服装"]}}
    confirm(uow, "p-1", seats=4, **extra)
    confirm(uow, "p-1", seats=4, **extra)  # delivered twice
    project = uow.session.get(Project, "p-1")
    assert project is not None
    assert (project.status, project.merchant_id, project.seats, project.service_type) == (
        "confirmed",
        "m-haoyun",
        4,
        "presale",
    )
    assert (project.hours_start, project.hours_end, project.go_live_date) == (
        "09:00",
        "18:00",
        dt.date(2026, 12, 1),
    )
    assert (project.platform, project.categories) == ("taobao", ["服装", "美妆"])  # the merchant's, once each
    assert uow.session.scalar(select(func.count()).select_from(Project)) == 1
    assert uow.session.scalar(select(func.count()).select_from(Requisition)) == 2  # reserve + main


def test_the_confirmation_day_is_the_shanghai_day_of_confirmed_at(uow: FakeUnitOfWork) -> None:
    data = confirmation("p-1", confirmed_at="2026-11-10T17:30:00+00:00")  # 01:30 on the 11th in Shanghai
    project = projections.keep_confirmed(uow, data, occurred_at=uow.now() + dt.timedelta(days=5))
    assert project.confirmed_on == dt.date(2026, 11, 11)
    project = projections.keep_confirmed(
        uow, confirmation("p-2"), occurred_at=dt.datetime(2026, 11, 11, 16, tzinfo=dt.UTC)
    )
    assert project.confirmed_on == dt.date(2026, 11, 12)


def test_a_closed_project_stays_closed_when_a_late_confirmation_arrives(uow: FakeUnitOfWork) -> None:
    closed = projections.keep_closed(
        uow, loaded("project.closed", {"project_id": "p-1", "merchant_id": "m-1"})
    )
    first_close = closed.closed_at
    uow.advance(hours=2)
    projections.keep_closed(uow, {"project_id": "p-1"})
    assert confirm(uow, "p-1", seats=2) is None  # no requisition for a closed project
    project = uow.session.get(Project, "p-1")
    assert project is not None and (project.status, project.closed_at) == ("closed", first_close)
    assert uow.events == []


def test_a_platform_set_by_hand_wins_over_the_events(uow: FakeUnitOfWork) -> None:
    requisitions.update_project_settings(uow, "p-1", {"platform": "jd"}, SETTINGS)
    confirm(uow, "p-1", platform="Tmall")
    projections.keep_updated(
        uow,
        loaded(
            "project.updated",
            {"project_id": "p-1", "merchant_id": "m-haoyun", "seats": 3, "changed": ["seats"]},
        ),
    )
    project = uow.session.get(Project, "p-1")
    assert project is not None and (project.platform, project.seats, project.status) == ("jd", 3, "confirmed")
