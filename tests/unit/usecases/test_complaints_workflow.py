"""Working a complaint (处理) on the fake unit of work: the first reply, escalation, the ruling and its
penalty (考核), closing and reopening — and the refusals, which write and announce nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest

from services.complaints import intake, workflow
from services.complaints.domain import Policy
from services.complaints.models import Base, Complaint
from shared.errors import BusinessRuleViolation, Conflict, Forbidden
from shared.uow import Actor
from tests.unit.fakes import DEFAULT_NOW, FakeUnitOfWork
from tests.unit.usecases.test_complaints_intake import AGENT, PROJECT, body, confirmed_project

POLICY = Policy()
AGENT_ACTOR = Actor(sub=AGENT, role="agent")
SUPERVISOR = Actor(sub="sup-duty", role="supervisor")


@pytest.fixture
def uow() -> Iterator[FakeUnitOfWork]:
    fake = FakeUnitOfWork(Base.metadata, actor=AGENT_ACTOR)
    confirmed_project(fake)
    yield fake
    fake.close()


@pytest.fixture
def complaint(uow: FakeUnitOfWork) -> Complaint:
    recorded = intake.record_complaint(uow, body(), POLICY)
    uow.events.clear()
    return recorded


def test_the_first_customer_reply_meets_the_first_response_deadline_and_starts_work(
    uow: FakeUnitOfWork, complaint: Complaint
) -> None:
    uow.advance(minutes=10)
    workflow.add_note(uow, complaint.number, {"body": "已联系仓库, 今天发出。", "visibility": "customer"})
    assert complaint.first_responded_at == DEFAULT_NOW + dt.timedelta(minutes=10)
    assert complaint.status == "in_progress"
    assert uow.events == []  # progress is not announced


def test_escalation_goes_up_one_level_at_a_time_and_stops_at_the_manager(
    uow: FakeUnitOfWork, complaint: Complaint
) -> None:
    workflow.escalate(uow, complaint.id, "买家要求主管处理", None, Policy(default_supervisor="sup-duty"))
    uow.actor = SUPERVISOR
    workflow.escalate(uow, complaint.id, "需要经理决定赔偿", "mgr-1", POLICY)
    assert (complaint.level, complaint.assignee) == ("manager", "mgr-1")
    assert [(e["level"], e["reason"]) for e in uow.emitted("complaint.escalated")] == [
        ("supervisor", "买家要求主管处理"),
        ("manager", "需要经理决定赔偿"),
    ]
    uow.events.clear()
    with pytest.raises(BusinessRuleViolation) as refused:
        workflow.escalate(uow, complaint.id, "again", None, POLICY)
    assert refused.value.extra["rule"] == "escalation-top"
    assert uow.events == []


def test_a_ruling_with_the_agent_at_fault_is_upheld_once_with_its_penalty(
    uow: FakeUnitOfWork, complaint: Complaint
) -> None:
    uow.actor = SUPERVISOR
    uow.advance(hours=2)
    ruling = {"resolution": "客服未及时跟进", "agent_at_fault": True, "penalty": Decimal("50.00")}
    workflow.resolve(uow, complaint.id, ruling, POLICY)
    assert complaint.status == "resolved"
    assert [e["status"] for e in uow.emitted("complaint.resolved")] == ["resolved"]
    assert uow.emitted("complaint.upheld") == [
        {
            "complaint_id": complaint.id,
            "number": complaint.number,
            "project_id": PROJECT,
            "agent_id": AGENT,
            "penalty": "50.00",
            "resolved_at": (DEFAULT_NOW + dt.timedelta(hours=2)).isoformat(),
        }
    ]


def test_an_agent_may_not_rule_on_fault_and_nothing_is_announced(
    uow: FakeUnitOfWork, complaint: Complaint
) -> None:
    ruling = {"resolution": "我的错", "agent_at_fault": True, "penalty": Decimal("20.00")}
    with pytest.raises(Forbidden):
        workflow.resolve(uow, complaint.id, ruling, POLICY)
    assert complaint.status == "open" and uow.events == []


def test_a_resolved_complaint_reopens_within_seven_days_and_is_final_once_closed(
    uow: FakeUnitOfWork, complaint: Complaint
) -> None:
    workflow.resolve(uow, complaint.id, {"resolution": "已补发"}, POLICY)
    uow.advance(days=6)
    workflow.reopen(uow, complaint.id, "买家没有收到", None, POLICY)
    assert (complaint.status, complaint.reopen_count) == ("reopened", 1)
    assert complaint.due_at == uow.now() + dt.timedelta(hours=24)
    workflow.resolve(uow, complaint.id, {"resolution": "已签收"}, POLICY)
    workflow.close(uow, complaint.id, None)
    assert (complaint.status, complaint.close_reason) == ("closed", "accepted")
    with pytest.raises(Conflict):
        workflow.add_note(uow, complaint.id, {"body": "late"})
