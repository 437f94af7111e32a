"""Retraining (提升培训) on the fake unit of work: one record per upheld complaint however often it is
delivered, even before the project is known; closed once, seen only by its agent and merchant."""

from __future__ import annotations

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
