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
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    literal_column,
    text,
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
    status: Mapped[str] = mapped_column(String(20), default=domain.CandidateStatus.AVAILABLE)
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
    project_id: Mapped[str] = mapped_column(String(64))
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
    status: Mapped[str] = mapped_column(String(20))
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


# --- indexes ---------------------------------------------------------------------------------------------


_CAP = domain.EXPERIENCE_CAP_MONTHS
_PER_MONTH = domain.EXPERIENCE_POINTS_PER_MONTH
#: The part of ``domain.score`` that does not depend on the project: ``basic_score`` + the capped experience
#: points. One SQL text serves the index and the query: PostgreSQL uses an expression index only for a query
#: expression identical to the indexed one (a bound ``24`` could arrive as another integer type), and it is
#: written the way PostgreSQL prints it back (line breaks included), so that Alembic's comparison of the
#: models with the migrated database finds them equal.
RANK_BASE_SQL = (
    "(basic_score +\nCASE\n"
    f"    WHEN experience_months >= {_CAP} THEN {_PER_MONTH * _CAP}\n"
    "    WHEN experience_months <= 0 THEN CAST(0 AS NUMERIC)\n"
    f"    ELSE CAST(experience_months AS NUMERIC) * {_PER_MONTH}\n"
    "END)"
)


#: what matching may take (the index below covers exactly these rows)
MATCHABLE = "status = 'available' AND basic_training_passed"

# Matching reads the pool in this order (``requisitions.ranking_query``): the project's bonuses split the
# pool into at most three classes, each read from this index in rank order and cut at the LIMIT, so a pool
# of a million is never sorted. The INCLUDE columns let the eligibility filters run on the index alone.
Index(
    "ix_candidates_matching",
    text(f"{RANK_BASE_SQL} DESC"),
    Candidate.__table__.c.basic_score.desc(),
    Candidate.__table__.c.experience_months.desc(),
    Candidate.__table__.c.phone,
    postgresql_include=["id", "skill_mask", "shift_mask", "platform_tags", "category_tags"],
    postgresql_where=literal_column(MATCHABLE),
    sqlite_where=literal_column(MATCHABLE),
)
# The lists: each one's equality filter, then its sort (created_at, id), so any page is an index range.
Index("ix_candidates_created", Candidate.created_at, Candidate.id)
Index("ix_candidates_status_created", Candidate.status, Candidate.created_at, Candidate.id)
Index("ix_candidates_city_created", Candidate.city, Candidate.created_at, Candidate.id)
Index("ix_candidates_passed_created", Candidate.basic_training_passed, Candidate.created_at, Candidate.id)
Index("ix_requisitions_created", Requisition.created_at, Requisition.id)
Index("ix_requisitions_project_created", Requisition.project_id, Requisition.created_at, Requisition.id)
Index("ix_requisitions_status_created", Requisition.status, Requisition.created_at, Requisition.id)
Index("ix_requisitions_reason_created", Requisition.reason, Requisition.created_at, Requisition.id)
