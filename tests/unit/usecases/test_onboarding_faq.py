"""The FAQ sheet's use case on the fake unit of work (seed 004): a question marked not applicable keeps who
decided it, a stale If-Match changes nothing, and the settings decide how many own questions are needed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.onboarding import domain, faq, projects
from services.onboarding.config import OnboardingSettings
from services.onboarding.models import Base, FaqEntry, ProjectHistory
from shared.errors import PreconditionFailed
from shared.uow import Actor
from tests.unit.fakes import FakeUnitOfWork

MERCHANT = Actor(sub="user-of-m-haoyun", role="merchant", merchant_id="m-haoyun")
VENDOR = Actor(sub="vendor-pm-1", role="vendor")
GIFT = domain.STANDARD_KEYS[0]


def sheet(*, not_applicable: bool) -> dict[str, object]:
    return {
        "standard": [{"key": GIFT, "not_applicable": not_applicable}],
        "custom": [{"question": "支持七天无理由吗?", "answer": "支持"}],
    }


def test_a_not_applicable_mark_keeps_who_decided_it_while_it_stays() -> None:
    uow = FakeUnitOfWork(Base.metadata, actor=MERCHANT)
    project = projects.create_project(uow, {})
    decided_at = uow.now()
    faq.put_faq(uow, project.id, sheet(not_applicable=True), None)
    uow.actor = VENDOR
    uow.advance(hours=2)
    faq.put_faq(uow, project.id, sheet(not_applicable=True), frozenset({"faq-1"}))
    entry = uow.session.scalars(select(FaqEntry).where(FaqEntry.key == GIFT)).one()
    assert (entry.decided_by, entry.decided_by_role) == ("user-of-m-haoyun", "merchant")
    assert entry.decided_at is not None and entry.decided_at.replace(tzinfo=None) == decided_at.replace(
        tzinfo=None
    )
    assert project.faq_version == 2
    assert uow.events == []


def test_a_stale_if_match_changes_nothing() -> None:
    uow = FakeUnitOfWork(Base.metadata, actor=MERCHANT)
    project = projects.create_project(uow, {})
    faq.put_faq(uow, project.id, sheet(not_applicable=False), None)
    with pytest.raises(PreconditionFailed):
        faq.put_faq(uow, project.id, sheet(not_applicable=True), frozenset({"faq-0"}))
    actions = uow.session.scalars(select(ProjectHistory.action).order_by(ProjectHistory.id)).all()
    assert actions == ["created", "faq_updated"] and project.faq_version == 1


def test_the_own_questions_needed_come_from_the_settings() -> None:
    uow = FakeUnitOfWork(Base.metadata, actor=MERCHANT)
    project = projects.create_project(uow, {})
    faq.put_faq(uow, project.id, {"standard": [], "custom": []}, None)
    needs_two = OnboardingSettings.from_env({"ONBOARDING_FAQ_MIN_OWN_QUESTIONS": "2"})
    assert faq.faq_progress(uow.session, project, needs_two).min_own_questions == 2
    assert faq.faq_progress(uow.session, project, OnboardingSettings()).min_own_questions == 1
