"""The complaints service's copies of projects and agents, fed twice and out of order."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from services.complaints import projections
from services.complaints.models import Base, Project, ProjectAgent
from shared.uow import Actor
from tests.unit.fakes import DEFAULT_NOW, FakeUnitOfWork


@pytest.fixture
def uow() -> Iterator[FakeUnitOfWork]:
    fake = FakeUnitOfWork(Base.metadata, actor=Actor.system("consumer"))
    yield fake
    fake.close()


def test_an_admission_before_the_confirmation_makes_a_stub_the_confirmation_completes(
    uow: FakeUnitOfWork,
) -> None:
    admitted_at = DEFAULT_NOW - dt.timedelta(days=1)
    admission = {
        "project_id": "p-1",
        "candidate_id": "agent-li",
        "name": "李客服",
        "admitted_at": admitted_at,
    }
    projections.keep_admitted(uow, admission)
    stub = uow.session.get(Project, "p-1")
    assert stub is not None and (stub.confirmed, stub.closed, stub.merchant_id) == (False, False, None)

    confirmed = {"project_id": "p-1", "merchant_id": "m-haoyun", "merchant": {"company_name": "好运旗舰店"}}
    projections.keep_confirmed(uow, confirmed)
    projections.keep_confirmed(uow, confirmed)  # delivered twice
    projections.keep_admitted(uow, {**admission, "admitted_at": None})
    uow.flush()
    project = uow.session.get(Project, "p-1")
    assert project is not None
    assert (project.confirmed, project.merchant_id, project.company_name) == (True, "m-haoyun", "好运旗舰店")
    agent = uow.session.get(ProjectAgent, ("p-1", "agent-li"))
    assert agent is not None and agent.admitted_at == admitted_at  # a later copy without it keeps it
    assert uow.session.scalar(select(func.count()).select_from(ProjectAgent)) == 1


def test_a_closure_keeps_the_tenant_and_a_later_update_keeps_it_closed(uow: FakeUnitOfWork) -> None:
    projections.keep_closed(uow, {"project_id": "p-2", "merchant_id": "m-2"})
    projections.keep_updated(uow, {"project_id": "p-2", "merchant_id": "m-2"})
    project = uow.session.get(Project, "p-2")
    assert project is not None and (project.merchant_id, project.closed, project.confirmed) == (
        "m-2",
        True,
        True,
    )
    assert uow.events == []
