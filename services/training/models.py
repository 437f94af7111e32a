"""The training service's own tables (SQLAlchemy 2.0 typed models)."""

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
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import UTCDateTime, new_metadata, utcnow

Score = Numeric(5, 2)


class Base(DeclarativeBase):
    metadata = new_metadata()


class Project(Base):
    """Read model of onboarding's project (event-carried): what training needs to know about it.

    A row can exist before ``project.confirmed`` arrives (``candidates.matched`` came first); then
    ``confirmed`` is false and the merchant, seats and assessor are unknown.
    """

    __tablename__ = "projects"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    merchant_id: Mapped[str | None] = mapped_column(String(64), index=True)
    company_name: Mapped[str | None] = mapped_column(String(200))
    seats: Mapped[int | None] = mapped_column(Integer)
    service_type: Mapped[str | None] = mapped_column(String(20))
    #: who trains / who assesses: ``vendor`` or ``merchant`` (培训及考核要求)
    trainer: Mapped[str | None] = mapped_column(String(10))
    assessor: Mapped[str | None] = mapped_column(String(10))
    requirements: Mapped[str | None] = mapped_column(Text)
    go_live_date: Mapped[dt.date | None] = mapped_column(Date)
    #: 1–3 working days; None means the service default (TRAINING_DEFAULT_DAYS)
    training_days: Mapped[int | None] = mapped_column(Integer)
    faq: Mapped[list[Any] | None] = mapped_column(JSON)
    materials: Mapped[list[Any] | None] = mapped_column(JSON)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Cohort(Base):
    """A training cohort (培训批次) of one project; a project's later cohorts fill its remaining gap."""

    __tablename__ = "cohorts"
    # the list's equality filters, then its sort (created_at, id): an index scan serves any page
    __table_args__ = (
        UniqueConstraint("project_id", "sequence", name="uq_cohorts_project_sequence"),
        Index("ix_cohorts_created", "created_at", "id"),
        Index("ix_cohorts_merchant_created", "merchant_id", "created_at", "id"),
        Index("ix_cohorts_merchant_status_created", "merchant_id", "status", "created_at", "id"),
        Index("ix_cohorts_project_created", "project_id", "created_at", "id"),
        Index("ix_cohorts_status_created", "status", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64))
    merchant_id: Mapped[str | None] = mapped_column(String(64))
    #: 1 for the project's first cohort, 2 for the first follow-up …
    sequence: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    #: admitted agents this cohort may deliver (2 × seats, less what earlier cohorts admitted)
    target: Mapped[int] = mapped_column(Integer)
    training_days: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    #: the pass marks in force when the cohort opened: a cohort is judged by one rule throughout
    pass_mark_quiz: Mapped[Decimal] = mapped_column(Score)
    pass_mark_simulation: Mapped[Decimal] = mapped_column(Score)
    courseware_status: Mapped[str] = mapped_column(String(20))
    courseware_reason: Mapped[str | None] = mapped_column(Text)
    courseware_decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    courseware_decided_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: a person's ``sub``, or ``job`` when the periodic job completed it
    completed_by: Mapped[str | None] = mapped_column(String(100))
    shortfall: Mapped[int | None] = mapped_column(Integer)

    trainees: Mapped[list[Trainee]] = relationship(
        back_populates="cohort", order_by="Trainee.enrolment_seq", cascade="all, delete-orphan"
    )
    courseware: Mapped[list[CoursewareItem]] = relationship(
        back_populates="cohort", order_by="CoursewareItem.created_at", cascade="all, delete-orphan"
    )


class Trainee(Base):
    """A matched candidate in a cohort, with their assessment (考核)."""

    __tablename__ = "trainees"
    __table_args__ = (
        UniqueConstraint("cohort_id", "candidate_id", name="uq_trainees_cohort_candidate"),
        # a cohort's list in enrolment order
        Index("ix_trainees_cohort_seq", "cohort_id", "enrolment_seq", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    cohort_id: Mapped[str] = mapped_column(ForeignKey("cohorts.id"))
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    #: recruitment's candidate id: the person's agent id everywhere
    candidate_id: Mapped[str] = mapped_column(String(64), index=True)
    requisition_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(30))
    skills: Mapped[list[str]] = mapped_column(JSON)
    shifts_available: Mapped[list[str]] = mapped_column(JSON)
    basic_score: Mapped[Decimal | None] = mapped_column(Score)
    enrolment_seq: Mapped[int] = mapped_column(Integer)
    enrolled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(20), index=True)
    quiz_score: Mapped[Decimal | None] = mapped_column(Score)
    simulation_score: Mapped[Decimal | None] = mapped_column(Score)
    trainer_passed: Mapped[bool | None] = mapped_column(Boolean)
    merchant_passed: Mapped[bool | None] = mapped_column(Boolean)
    notes: Mapped[str | None] = mapped_column(Text)
    merchant_notes: Mapped[str | None] = mapped_column(Text)
    assessed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    rank: Mapped[int | None] = mapped_column(Integer)
    admitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)

    cohort: Mapped[Cohort] = relationship(back_populates="trainees")


class CoursewareItem(Base):
    """One piece of courseware (课件): a link, or a file kept by the platform's upload storage."""

    __tablename__ = "courseware_items"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    cohort_id: Mapped[str] = mapped_column(ForeignKey("cohorts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200))
    topics: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(2000))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    file_name: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))

    cohort: Mapped[Cohort] = relationship(back_populates="courseware")


class Retraining(Base):
    """Improvement training (提升培训) for an agent: opened by an upheld complaint (``source`` complaint, one
    record per complaint) or by the quality service's review findings (``source`` qa: one open record per
    agent and project, each ``qa.finding`` with problems adds its problems and good cases to ``findings``).
    """

    __tablename__ = "retrainings"
    # the list's equality filters (tenant, agent, project, status), then its sort (opened_at, id)
    __table_args__ = (
        Index("ix_retrainings_opened", "opened_at", "id"),
        Index("ix_retrainings_merchant_opened", "merchant_id", "opened_at", "id"),
        Index("ix_retrainings_agent_opened", "agent_id", "opened_at", "id"),
        Index("ix_retrainings_project_opened", "project_id", "opened_at", "id"),
        Index("ix_retrainings_status_opened", "status", "opened_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    source: Mapped[str] = mapped_column(String(10), default="complaint", server_default="complaint")
    complaint_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    complaint_number: Mapped[str | None] = mapped_column(String(40))
    project_id: Mapped[str] = mapped_column(String(64))
    merchant_id: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[str] = mapped_column(String(64))
    agent_name: Mapped[str | None] = mapped_column(String(100))
    penalty: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    #: the QA reviews behind a qa record: [{review_id, date, conversation_id, method, percent, problems,
    #: good_cases}], in arrival order
    findings: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
