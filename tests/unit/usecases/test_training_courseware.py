"""Courseware (课件) on the fake unit of work: the merchant's confirmation, changes that send it back for a
new decision, files that are deleted only when no item uses them, and tenant scoping."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.training import cohorts, courseware
from services.training.models import Base
from shared.errors import Conflict, NotFound
from shared.uow import Actor
from tests.unit.fakes import FakeUnitOfWork
from tests.unit.usecases.test_training_cohorts import MERCHANT_USER, SETTINGS, TRAINER, confirmed, only_cohort

LINK: dict[str, Any] = {
    "kind": "link",
    "title": "业务知识",
    "topics": ["faq", "business"],
    "url": "https://kb/b",
}


def file_item(sha: str) -> dict[str, Any]:
    return {
        "kind": "file",
        "title": "产品手册",
        "topics": ["project"],
        "file_sha256": sha,
        "file_name": "手册.pdf",
        "content_type": "application/pdf",
        "size_bytes": 10,
    }


@pytest.fixture()
def uow() -> Iterator[FakeUnitOfWork]:
    fake = FakeUnitOfWork(Base.metadata, actor=TRAINER)
    cohorts.project_confirmed(fake, confirmed(), SETTINGS)
    yield fake
    fake.close()


def test_a_change_after_the_confirmation_needs_a_new_decision(uow: FakeUnitOfWork) -> None:
    cohort = only_cohort(uow)
    item = courseware.add_courseware_item(uow, cohort.id, LINK)
    assert (item.topics, item.created_by, cohort.courseware_status) == (
        ["business", "faq"],
        "t-wang",
        "pending",
    )
    uow.actor = MERCHANT_USER
    courseware.decide_courseware(uow, cohort.id, confirm=True)
    assert (cohort.courseware_status, cohort.courseware_decided_by) == ("confirmed", "u-haoyun")
    with pytest.raises(Conflict, match="already confirmed"):
        courseware.decide_courseware(uow, cohort.id, confirm=True)
    uow.actor = TRAINER
    courseware.add_courseware_item(uow, cohort.id, {**LINK, "title": "话术"})
    assert cohort.courseware_status == "pending"
    assert uow.events == []


def test_there_is_nothing_to_decide_on_before_the_first_item(uow: FakeUnitOfWork) -> None:
    uow.actor = MERCHANT_USER
    with pytest.raises(Conflict, match="no courseware to decide on"):
        courseware.decide_courseware(uow, only_cohort(uow).id, confirm=False, reason="太少")


def test_a_file_is_orphaned_only_when_its_last_item_goes(uow: FakeUnitOfWork) -> None:
    cohort = only_cohort(uow)
    first = courseware.add_courseware_item(uow, cohort.id, file_item("ab" * 32))
    second = courseware.add_courseware_item(uow, cohort.id, file_item("ab" * 32))  # same bytes, stored once
    assert courseware.delete_courseware_item(uow, cohort.id, first.id) is None
    assert courseware.delete_courseware_item(uow, cohort.id, second.id) == "ab" * 32
    with pytest.raises(NotFound):
        courseware.delete_courseware_item(uow, cohort.id, second.id)


def test_another_merchants_cohort_is_not_found(uow: FakeUnitOfWork) -> None:
    cohort = only_cohort(uow)
    courseware.add_courseware_item(uow, cohort.id, LINK)
    uow.actor = Actor("u-other", "merchant", merchant_id="m-other")
    with pytest.raises(NotFound):
        courseware.decide_courseware(uow, cohort.id, confirm=True)
    assert cohort.courseware_status == "pending"
