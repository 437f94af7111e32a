"""Recording complaints (受理) on the fake unit of work: numbering, routing, the promise, the refusals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from services.complaints import intake, projections, staff
from services.complaints.domain import Policy
from services.complaints.models import Base, Complaint
from shared.errors import BusinessRuleViolation, ValidationFailed
from shared.uow import Actor
from tests.unit.fakes import DEFAULT_NOW, FakeUnitOfWork

MERCHANT = "m-haoyun"
PROJECT = "p-haoyun"
AGENT = "agent-li"
H = dt.timedelta(hours=1)
POLICY = Policy()
VENDOR = Actor(sub="vendor-1", role="vendor")


def body(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "project_id": PROJECT,
        "channel": "chat",
        "category": "delivery",
        "agent_id": AGENT,
        "customer_ref": "buyer-tb-8812 / order 2026111100123",
        "description": "买家说双十一订单承诺48小时发货, 三天了还没有发货。",
        "severity": "normal",
    }
    values.update(overrides)
    return values


def confirmed_project(uow: FakeUnitOfWork, project_id: str = PROJECT, merchant_id: str = MERCHANT) -> None:
    projections.keep_confirmed(uow, {"project_id": project_id, "merchant_id": merchant_id})
    projections.keep_admitted(uow, {"project_id": project_id, "candidate_id": AGENT, "name": "李客服"})


@pytest.fixture
def uow() -> Iterator[FakeUnitOfWork]:
    fake = FakeUnitOfWork(Base.metadata, actor=Actor(sub=AGENT, role="agent"))
    confirmed_project(fake)
    yield fake
    fake.close()


def complaints(uow: FakeUnitOfWork) -> int:
    return int(uow.session.scalar(select(func.count()).select_from(Complaint)) or 0)


def test_an_agent_records_a_numbered_complaint_at_the_agent_level_and_it_is_announced(
    uow: FakeUnitOfWork,
) -> None:
    complaint = intake.record_complaint(uow, body(), POLICY)
    assert complaint.number == "TS20261111-0001"  # Double 11, Shanghai day
    assert (complaint.level, complaint.assignee, complaint.status) == ("agent", AGENT, "open")
    assert complaint.due_at == DEFAULT_NOW + 24 * H  # normal severity: 24 h
    assert complaint.first_response_due_at == DEFAULT_NOW + dt.timedelta(minutes=30)
    assert uow.emitted("complaint.opened") == [
        {
            "complaint_id": complaint.id,
            "number": "TS20261111-0001",
            "project_id": PROJECT,
            "agent_id": AGENT,
            "level": "agent",
            "status": "open",
        }
    ]
    assert intake.record_complaint(uow, body(), POLICY).number == "TS20261111-0002"


def test_a_complaint_about_staff_goes_to_the_least_loaded_listed_supervisor(uow: FakeUnitOfWork) -> None:
    uow.actor = VENDOR
    staff.put_staff(uow, PROJECT, {"supervisors": [{"user_id": "sup-a"}, {"user_id": "sup-b"}]})
    first = intake.record_complaint(uow, body(category="service_attitude"), POLICY)
    second = intake.record_complaint(uow, body(category="service_quality"), POLICY)
    assert (first.level, first.assignee) == ("supervisor", "sup-a")
    assert (second.level, second.assignee) == ("supervisor", "sup-b")  # sup-a already holds one


def test_a_closed_project_takes_no_complaint_and_nothing_is_written(uow: FakeUnitOfWork) -> None:
    projections.keep_closed(uow, {"project_id": PROJECT})
    with pytest.raises(BusinessRuleViolation) as refused:
        intake.record_complaint(uow, body(), POLICY)
    assert refused.value.extra["rule"] == "project-closed"
    assert uow.events == [] and complaints(uow) == 0


def test_a_merchant_cannot_record_on_another_merchants_project(uow: FakeUnitOfWork) -> None:
    uow.actor = Actor(sub="shop-other", role="merchant", merchant_id="m-other")
    with pytest.raises(ValidationFailed) as refused:
        intake.record_complaint(uow, body(), POLICY)
    assert refused.value.errors is not None and "project_id" in refused.value.errors
    assert uow.events == [] and complaints(uow) == 0
