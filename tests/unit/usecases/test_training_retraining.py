"""Retraining (提升培训) on the fake unit of work: one record per upheld complaint however often it is
delivered, even before the project is known; closed once, seen only by its agent and merchant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from services.training import cohorts, queries, retraining
from services.training.models import Base, Retraining
from shared.errors import Conflict, NotFound
from shared.uow import Actor
from tests.unit.fakes import FakeUnitOfWork
from tests.unit.usecases.test_training_cohorts import MERCHANT, PROJECT, SETTINGS, TRAINER, confirmed

UPHELD = {
    "complaint_id": "cmp-1",
    "number": "TS20261111-0001",
    "project_id": PROJECT,
    "agent_id": "cand-00",
    "penalty": "50.00",
}
PAGE = {"page": 1, "per_page": 20}


@pytest.fixture()
def uow() -> Iterator[FakeUnitOfWork]:
    fake = FakeUnitOfWork(Base.metadata, actor=TRAINER)
    yield fake
    fake.close()


def test_an_upheld_complaint_opens_one_record_that_learns_its_merchant_later(uow: FakeUnitOfWork) -> None:
    first = retraining.open_retraining(uow, UPHELD)
    assert retraining.open_retraining(uow, UPHELD) is first  # re-delivered
    assert (first.status, str(first.penalty), first.merchant_id) == ("open", "50.00", None)
    cohorts.project_confirmed(uow, confirmed(), SETTINGS)  # the confirmation arrives late
    assert first.merchant_id == MERCHANT
    uow.actor = Actor("cand-00", "agent")
    assert queries.retraining_page(uow, PAGE).total == 1
    uow.actor = Actor("cand-01", "agent")
    assert queries.retraining_page(uow, PAGE).total == 0
    with pytest.raises(NotFound):
        queries.get_retraining(uow, first.id)
    assert uow.events == []


def test_a_record_is_closed_once(uow: FakeUnitOfWork) -> None:
    record: Retraining = retraining.open_retraining(uow, UPHELD)
    retraining.close_retraining(uow, record.id, "已完成态度培训")
    assert (record.status, record.closed_by, record.closed_at) == ("closed", "t-wang", uow.now())
    uow.advance(hours=1)
    with pytest.raises(Conflict, match="already closed"):
        retraining.close_retraining(uow, record.id, "again")
    assert record.note == "已完成态度培训"


# --- improvement training from QA findings (qa.finding) ---------------------------------------------------


def finding(review_id: str, problems: list[str], good_cases: list[str], agent: str = "cand-00") -> dict:
    return {
        "project_id": PROJECT,
        "agent_id": agent,
        "review_id": review_id,
        "problems": problems,
        "good_cases": good_cases,
        "conversation_id": f"conv-{review_id}",
        "date": dt.date(2026, 11, 20),
        "method": "chat_sampling",
        "percent": "72.00",
    }


def test_qa_findings_gather_on_one_open_record_per_agent(uow: FakeUnitOfWork) -> None:
    # good cases alone open nothing: there is nothing to improve
    assert retraining.attach_finding(uow, finding("rv-0", [], ["耐心解释尺码"])) is None
    first = retraining.attach_finding(uow, finding("rv-1", ["首响超时 45 s", "未催付"], []))
    assert first is not None
    assert (first.source, first.status, first.complaint_id, first.penalty) == ("qa", "open", None, None)
    second = retraining.attach_finding(uow, finding("rv-2", ["话术生硬"], ["主动推荐搭配"]))
    assert second is first
    assert retraining.attach_finding(uow, finding("rv-2", ["话术生硬"], ["主动推荐搭配"])) is first  # again
    assert [f["review_id"] for f in first.findings or []] == ["rv-1", "rv-2"]
    assert (first.findings or [])[1] == {
        "review_id": "rv-2",
        "date": "2026-11-20",
        "conversation_id": "conv-rv-2",
        "method": "chat_sampling",
        "percent": "72.00",
        "problems": ["话术生硬"],
        "good_cases": ["主动推荐搭配"],
    }
    # another agent gets a record of their own; a complaint's record stays apart
    other = retraining.attach_finding(uow, finding("rv-3", ["漏回复"], [], agent="cand-01"))
    assert other is not None and other is not first
    complaint = retraining.open_retraining(uow, UPHELD)
    assert complaint.source == "complaint" and complaint is not first
    page = queries.retraining_page(uow, {**PAGE, "source": "qa"})
    assert page.total == 2
    # once the trainer closes it, the next finding opens a new record
    retraining.close_retraining(uow, first.id, "已完成提升培训")
    uow.advance(hours=1)
    fresh = retraining.attach_finding(uow, finding("rv-4", ["催拍不足"], []))
    assert fresh is not None and fresh.id != first.id
    assert [f["review_id"] for f in fresh.findings or []] == ["rv-4"]
    assert uow.events == []
