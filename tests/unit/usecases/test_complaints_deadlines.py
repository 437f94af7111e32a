"""The periodic jobs' use cases on the fake unit of work: escalation by half time and by the promise,
the breach flag, and closing resolved complaints nobody reopened (seed 004: 对客户承诺的时间)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from services.complaints import deadlines, intake, workflow
from services.complaints.domain import Policy
from services.complaints.models import Base, HistoryEntry
from shared.uow import Actor
from tests.unit.fakes import DEFAULT_NOW, FakeUnitOfWork
from tests.unit.usecases.test_complaints_intake import AGENT, body, confirmed_project

POLICY = Policy(default_supervisor="sup-duty", default_manager="mgr-duty")


@pytest.fixture
def uow() -> Iterator[FakeUnitOfWork]:
    fake = FakeUnitOfWork(Base.metadata, actor=Actor(sub=AGENT, role="agent"))
    confirmed_project(fake)
    yield fake
    fake.close()


def test_half_time_escalates_to_the_supervisor_and_the_promise_to_the_manager_with_a_breach(
    uow: FakeUnitOfWork,
) -> None:
    complaint = intake.record_complaint(uow, body(severity="high"), POLICY)  # 8 h promise
    uow.actor = Actor.system("job:complaints.escalate")
    uow.advance(hours=4, seconds=-1)
    assert deadlines.escalate_overdue(uow, POLICY) == 0
    uow.advance(seconds=1)
    assert deadlines.escalate_overdue(uow, POLICY) == 1
    assert (complaint.level, complaint.assignee) == ("supervisor", "sup-duty")
    uow.advance(hours=4, seconds=1)
    assert deadlines.escalate_overdue(uow, POLICY) == 2
    assert (complaint.level, complaint.assignee, complaint.breached) == ("manager", "mgr-duty", True)
    assert [e["level"] for e in uow.emitted("complaint.escalated")] == ["supervisor", "manager"]
    assert all(e["reason"].startswith("automatic:") for e in uow.emitted("complaint.escalated"))
    automatic = [h for h in uow.session.scalars(select(HistoryEntry)) if h.kind in ("escalated", "breached")]
    assert {h.actor for h in automatic} == {"system"}  # what history and the console show
    assert deadlines.escalate_overdue(uow, POLICY) == 0


def test_resolved_complaints_close_themselves_after_seven_days(uow: FakeUnitOfWork) -> None:
    complaint = intake.record_complaint(uow, body(), POLICY)
    workflow.resolve(uow, complaint.id, {"resolution": "已补发"}, POLICY)
    uow.advance(days=7, seconds=-1)
    assert deadlines.close_unreopened(uow, POLICY) == 0
    uow.advance(seconds=1)
    assert deadlines.close_unreopened(uow, POLICY) == 1
    assert (complaint.status, complaint.close_reason) == ("closed", "auto")
    assert complaint.closed_at == DEFAULT_NOW + dt.timedelta(days=7)
