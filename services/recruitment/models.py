"""The recruitment service's own tables (SQLAlchemy 2.0 typed models).

``projects`` is a read model built from onboarding's and scheduling's events (event-carried state
transfer); everything else is this service's own data: the talent pool (人才库), requisitions (招聘需求)
and the matches between them, which double as each candidate's history.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.recruitment import domain
from shared.db import UTCDateTime, new_metadata, utcnow


class Base(DeclarativeBase):
    metadata = new_metadata()


class Project(Base):
    """What recruitment knows of a project (upserted from any event that names it)."""

    __tablename__ = "projects"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    merchant_id: Mapped[str | None] = mapped_column(String(64), index=True)
    #: ``pending`` until project.confirmed arrives (another event may name the project first)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    seats: Mapped[int | None] = mapped_column(Integer)
    service_type: Mapped[str | None] = mapped_column(String(20))
    hours_start: Mapped[str | None] = mapped_column(String(5))
    hours_end: Mapped[str | None] = mapped_column(String(5))
    platform: Mapped[str | None] = mapped_column(String(40))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: per-project override of RECRUITMENT_MATCH_RATIO
    match_ratio: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    go_live_date: Mapped[dt.date | None] = mapped_column(Date)
    confirmed_on: Mapped[dt.date | None] = mapped_column(Date)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Candidate(Base):
    """A person in the talent pool (人才库). Their id is their agent id in every other service."""

    __tablename__ = "candidates"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    #: 11 digits, normalised (domain.normalize_phone); one person, one phone
    phone: Mapped[str] = mapped_column(String(11), unique=True)
    skill_mask: Mapped[int] = mapped_column(SmallInteger)
    shift_mask: Mapped[int] = mapped_column(SmallInteger)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    platforms: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: ``|a|b|``: lets matching test "worked on this platform/category" with a portable LIKE
    category_tags: Mapped[str] = mapped_column(String(2000), default="|")
    platform_tags: Mapped[str] = mapped_column(String(1000), default="|")
    basic_training_passed: Mapped[bool] = mapped_column(Boolean)
    basic_score: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    city: Mapped[str | None] = mapped_column(String(50))
    experience_months: Mapped[int] = mapped_column(Integer, default=0)
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True, default=domain.CandidateStatus.AVAILABLE)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def skills(self) -> list[str]:
        return domain.unmask(self.skill_mask, domain.SKILL_BITS)

    @property
    def shifts_available(self) -> list[str]:
        return domain.unmask(self.shift_mask, domain.SHIFT_BITS)

    def profile(self) -> dict[str, Any]:
        """The profile carried by ``candidates.matched`` (training needs name, phone, skills)."""
        return {
            "candidate_id": self.id,
            "name": self.name,
            "phone": self.phone,
            "skills": self.skills,
            "shifts_available": self.shifts_available,
            "basic_score": float(self.basic_score),
            "categories": list(self.categories or []),
            "platforms": list(self.platforms or []),
            "city": self.city,
            "experience_months": self.experience_months,
        }


class Requisition(Base):
    """A recruitment request (招聘需求) for one project: ``target`` candidates by ``due_date``."""

    __tablename__ = "requisitions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    merchant_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(30))
    #: what caused it, unique so a re-sent cause never makes a second requisition
    source_ref: Mapped[str] = mapped_column(String(200), unique=True)
    cohort_id: Mapped[str | None] = mapped_column(String(64))
    seats: Mapped[int] = mapped_column(Integer)
    ratio: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    target: Mapped[int] = mapped_column(Integer)
    matched: Mapped[int] = mapped_column(Integer, default=0)
    due_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    overdue_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    matches: Mapped[list[Match]] = relationship(
        back_populates="requisition", order_by="Match.rank", lazy="selectin", viewonly=True
    )

    @property
    def shortfall(self) -> int:
        return max(0, self.target - self.matched)


class Match(Base):
    """One candidate put forward for one requisition, and what became of it: the candidate's history."""

    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("requisition_id", "candidate_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    requisition_id: Mapped[str] = mapped_column(ForeignKey("requisitions.id"))
    candidate_id: Mapped[str] = mapped_column(ForeignKey("candidates.id"), index=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    #: the skill slot the candidate fills (a ``both`` project has pre-sales and after-sales slots)
    skill: Mapped[str] = mapped_column(String(20))
    score: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    #: 1-based order within the requisition (matching order, then top-ups)
    rank: Mapped[int] = mapped_column(Integer)
    matched_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    outcome: Mapped[str] = mapped_column(String(20), default=domain.MatchOutcome.MATCHED)
    outcome_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cohort_id: Mapped[str | None] = mapped_column(String(64))

    requisition: Mapped[Requisition] = relationship(back_populates="matches", viewonly=True)
    candidate: Mapped[Candidate] = relationship(lazy="selectin", viewonly=True)
