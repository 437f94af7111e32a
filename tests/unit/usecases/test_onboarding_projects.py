"""Onboarding's use cases on the fake unit of work: the merchant's order from draft to live (seed 001: a
Tmall shop, 10 pre-sales seats, confirmed for Double 11), the refusals that write nothing, the go-live job."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from services.onboarding import domain, faq, projects, queries, schemas
from services.onboarding.config import OnboardingSettings
from services.onboarding.domain import Action
from services.onboarding.models import Base, Material, Project, ProjectHistory
from shared.errors import BusinessRuleViolation, Conflict, Forbidden
from shared.uow import Actor
from shared.workdays import add_workdays, today_shanghai
from tests.unit.fakes import FakeUnitOfWork

MERCHANT = Actor(sub="user-of-m-haoyun", role="merchant", merchant_id="m-haoyun")
OTHER_MERCHANT = Actor(sub="user-of-m-other", role="merchant", merchant_id="m-other")
VENDOR = Actor(sub="vendor-pm-1", role="vendor")
SETTINGS = OnboardingSettings()


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork(Base.metadata, actor=MERCHANT)


def go_live(uow: FakeUnitOfWork, workdays: int = 5) -> dt.date:
    return add_workdays(today_shanghai(uow.now()), workdays)


def full_project(go_live_date: dt.date) -> dict[str, Any]:
    """The order as ``ProjectCreateIn`` loads it (times, decimals and dates as objects)."""
    loaded: dict[str, Any] = schemas.ProjectCreateIn().load(
        {
            "merchant": {
                "company_name": "杭州某某服饰旗舰店",
                "contact_name": "王经理",
                "contact_phone": "138-1234-5678",
                "liaison": "李娜",
            },
            "service": {"type": "presale", "hours": {"start": "09:00", "end": "24:00"}, "seats": 10},
            "metrics": {
                "daily_consultations": 2000,
                "first_response_seconds": 15,
                "avg_response_seconds": 30,
                "conversion_rate": "35.5",
                "avg_order_value": "128.00",
                "satisfaction_rate": 98,
            },
            "training": {"trainer": "vendor", "assessor": "merchant", "requirements": "双11活动玩法"},
            "qa": {"merchant_standard": False},
            "materials": {"complete": True},
            "notes": "大促期间需要夜班",
        }
    )
    # set after loading: the schema judges "not in the past" by the wall clock, the use case by uow.now()
    loaded["go_live_date"] = go_live_date
    return loaded


def all_answers() -> dict[str, Any]:
    return {
        "standard": [{"key": k, "answer": "答案"} for k in domain.STANDARD_KEYS],
        "custom": [{"question": "支持七天无理由吗?", "answer": "支持"}],
    }


def add_material_row(uow: FakeUnitOfWork, project: Project) -> None:
    """A listed material (the file store is not this tier's business)."""
    uow.session.add(
        Material(
            id=str(uuid.uuid4()),
            project_id=project.id,
            filename="培训资料.pdf",
            kind="pdf",
            content_type="application/pdf",
            size=64,
            sha256="ab" * 32,
            uploaded_by=MERCHANT.sub,
            uploaded_by_role=MERCHANT.role,
            uploaded_at=uow.now(),
        )
    )
    uow.flush()


def submitted(uow: FakeUnitOfWork, go_live_date: dt.date | None = None) -> Project:
    project = projects.create_project(uow, full_project(go_live_date or go_live(uow)))
    add_material_row(uow, project)
    faq.put_faq(uow, project.id, all_answers(), None)
    return projects.transition(uow, project.id, Action.SUBMIT, reason=None, if_match=None, settings=SETTINGS)


def history(uow: FakeUnitOfWork, project: Project) -> list[tuple[str, str, str]]:
    rows = uow.session.scalars(
        select(ProjectHistory).where(ProjectHistory.project_id == project.id).order_by(ProjectHistory.id)
    )
    return [(h.action, h.actor_role, h.actor_sub) for h in rows]


def test_a_merchant_creates_its_own_draft_without_an_event(uow: FakeUnitOfWork) -> None:
    project = projects.create_project(uow, {"service": {"seats": 10}})
    assert (project.merchant_id, project.status, project.seats) == ("m-haoyun", "draft", 10)
    assert project.created_at == uow.now()
    assert history(uow, project) == [("created", "merchant", "user-of-m-haoyun")]
    assert uow.events == []


def test_a_merchant_cannot_create_for_another_merchant(uow: FakeUnitOfWork) -> None:
    with pytest.raises(Forbidden):
        projects.create_project(uow, {"merchant_id": "m-other"})
    assert uow.session.scalars(select(Project)).all() == []
    assert uow.events == []


def test_an_incomplete_draft_is_not_submitted_and_nothing_moves(uow: FakeUnitOfWork) -> None:
    project = projects.create_project(uow, {"service": {"seats": 10}})
    with pytest.raises(BusinessRuleViolation) as refused:
        projects.transition(uow, project.id, Action.SUBMIT, reason=None, if_match=None, settings=SETTINGS)
    assert refused.value.extra["rule"] == "checklist-incomplete"
    assert project.status == "draft" and project.submitted_at is None
    assert uow.events == []


def test_confirmation_publishes_the_order_with_its_materials_and_faq(uow: FakeUnitOfWork) -> None:
    project = submitted(uow)
    uow.actor = VENDOR
    uow.advance(hours=1)
    projects.transition(uow, project.id, Action.CONFIRM, reason=None, if_match=None, settings=SETTINGS)
    assert project.status == "confirmed" and project.confirmed_by == "vendor-pm-1"
    [event] = uow.emitted("project.confirmed")
    assert event["project_id"] == project.id and event["seats"] == 10
    assert event["company_name"] == "杭州某某服饰旗舰店"
    assert [m["filename"] for m in event["materials"]] == ["培训资料.pdf"]
    assert len([q for q in event["faq"] if q["standard"]]) == len(domain.STANDARD_KEYS)
    assert [a for a, _, _ in history(uow, project)][-2:] == ["submitted", "confirmed"]


def test_a_go_live_date_too_soon_refuses_confirmation_without_an_event(uow: FakeUnitOfWork) -> None:
    project = submitted(uow, go_live_date=go_live(uow, 5))
    uow.actor = VENDOR
    uow.advance(hours=24 * 7)  # a week later the notice is no longer enough
    with pytest.raises(BusinessRuleViolation, match="cannot be confirmed") as refused:
        projects.transition(uow, project.id, Action.CONFIRM, reason=None, if_match=None, settings=SETTINGS)
    assert refused.value.extra["rule"] == "go-live-notice"
    assert project.status == "submitted"
    assert uow.emitted("project.confirmed") == []


def test_changing_seats_of_a_confirmed_project_announces_it(uow: FakeUnitOfWork) -> None:
    project = submitted(uow)
    uow.actor = VENDOR
    projects.transition(uow, project.id, Action.CONFIRM, reason=None, if_match=None, settings=SETTINGS)
    projects.update_project(uow, project.id, {"service": {"seats": 12}}, frozenset({"3"}), SETTINGS)
    [event] = uow.emitted("project.updated")
    assert event["changed"] == ["seats"] and event["seats"] == 12


def test_the_faq_of_a_confirmed_project_is_settled(uow: FakeUnitOfWork) -> None:
    project = submitted(uow)
    uow.actor = VENDOR
    projects.transition(uow, project.id, Action.CONFIRM, reason=None, if_match=None, settings=SETTINGS)
    before = len(uow.events)
    with pytest.raises(Conflict, match="settled"):
        faq.put_faq(uow, project.id, all_answers(), None)
    assert len(uow.events) == before


def test_closing_publishes_project_closed_with_the_reason(uow: FakeUnitOfWork) -> None:
    project = submitted(uow)
    uow.actor = VENDOR
    projects.transition(uow, project.id, Action.CONFIRM, reason=None, if_match=None, settings=SETTINGS)
    projects.transition(
        uow, project.id, Action.CLOSE, reason="商家取消合作", if_match=None, settings=SETTINGS
    )
    assert uow.emitted("project.closed") == [
        {"project_id": project.id, "merchant_id": "m-haoyun", "reason": "商家取消合作"}
    ]


def test_the_go_live_job_moves_due_projects_once(uow: FakeUnitOfWork) -> None:
    project = submitted(uow)
    uow.actor = VENDOR
    projects.transition(uow, project.id, Action.CONFIRM, reason=None, if_match=None, settings=SETTINGS)
    uow.actor = Actor.system("job:promote-due-projects")
    assert projects.promote_due_projects(uow) == 0
    uow.current = dt.datetime.combine(project.go_live_date, dt.time(1), tzinfo=dt.UTC)  # 09:00 Shanghai
    assert projects.promote_due_projects(uow) == 1
    assert projects.promote_due_projects(uow) == 0
    assert project.status == "live"
    assert history(uow, project)[-1] == ("went_live", "system", "system")


def test_a_merchant_lists_only_its_own_projects(uow: FakeUnitOfWork) -> None:
    mine = projects.create_project(uow, {})
    uow.actor = OTHER_MERCHANT
    projects.create_project(uow, {})
    uow.actor = MERCHANT
    page, items = queries.list_projects(uow, queries.ProjectFilters(), 1, 20)
    assert [item["id"] for item in items] == [mine.id] and page.total == 1
    uow.actor = VENDOR
    assert queries.list_projects(uow, queries.ProjectFilters(), 1, 20)[0].total == 2
