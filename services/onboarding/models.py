"""The onboarding service's own tables (SQLAlchemy 2.0 typed models).

``projects`` keeps the merchant's order flat (one column per contract field) so that lists can filter and
the checklist can read it; ``version`` is SQLAlchemy's optimistic-locking column (every UPDATE says
``WHERE version = <the version read>``), exposed to clients as the ETag. ``project_history`` records who
changed what and when; ``faq_entries`` holds the merchant's answers (the standard questions themselves
live in ``domain.STANDARD_QUESTIONS``); ``materials`` lists uploaded files, whose bytes are in the file
store under their SHA-256.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, new_metadata, utcnow

# SQLite only auto-increments an INTEGER PRIMARY KEY, PostgreSQL wants a bigint.
BigId = BigInteger().with_variant(Integer(), "sqlite")

STATUSES = ("draft", "submitted", "returned", "confirmed", "live", "closed", "cancelled")
_STATUS_CHECK = "status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")"


class Base(DeclarativeBase):
    metadata = new_metadata()


class Material(Base):
    """A training material (培训资料) uploaded for a project; the bytes are in the file store by hash."""

    __tablename__ = "materials"
    __table_args__ = (
        UniqueConstraint("project_id", "sha256"),
        # the project's materials in upload order; its prefix serves the count of a project's materials
        Index("ix_materials_project_id_uploaded_at_id", "project_id", "uploaded_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(36), ForeignKey("projects.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(10))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_by_role: Mapped[str] = mapped_column(String(20))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Project(Base):
    """A merchant's order (商家订单) from draft to closed."""

    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint(_STATUS_CHECK, name="status"),
        CheckConstraint("seats IS NULL OR (seats >= 1 AND seats <= 10000)", name="seats"),
        # the list's sort (newest first, ``queries.LIST_ORDER``), alone and behind each equality filter
        Index("ix_projects_created_at_id", "created_at", "id"),
        Index("ix_projects_merchant_id_created_at_id", "merchant_id", "created_at", "id"),
        Index("ix_projects_status_created_at_id", "status", "created_at", "id"),
        # q, "the company name contains": trigrams (pg_trgm, when the server has it: migration 0005)
        Index(
            "ix_projects_company_name_trgm", text("lower(company_name) gin_trgm_ops"), postgresql_using="gin"
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    version: Mapped[int] = mapped_column(Integer)
    faq_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # 1. merchant basics (商家基本信息)
    company_name: Mapped[str | None] = mapped_column(String(200))
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    liaison: Mapped[str | None] = mapped_column(String(100))
    service_type: Mapped[str | None] = mapped_column(String(10))
    hours_start: Mapped[str | None] = mapped_column(String(5))
    hours_end: Mapped[str | None] = mapped_column(String(5))
    hours_overnight: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    seats: Mapped[int | None] = mapped_column(Integer)
    platform: Mapped[str | None] = mapped_column(String(50))

    # 2. service metrics (服务指标); rates are percentages 0-100
    daily_consultations: Mapped[int | None] = mapped_column(Integer)
    first_response_seconds: Mapped[int | None] = mapped_column(Integer)
    avg_response_seconds: Mapped[int | None] = mapped_column(Integer)
    conversion_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    avg_order_value: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    satisfaction_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))

    # 3. training materials (培训资料): the files are in ``materials``
    materials_complete: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    materials_supplement: Mapped[str | None] = mapped_column(Text)
    materials_supplement_due: Mapped[dt.date | None] = mapped_column(Date)

    # 4. training and assessment (培训及考核要求)
    trainer: Mapped[str | None] = mapped_column(String(10))
    assessor: Mapped[str | None] = mapped_column(String(10))
    training_requirements: Mapped[str | None] = mapped_column(Text)

    # 5. go-live date (上线时间)
    go_live_date: Mapped[dt.date | None] = mapped_column(Date, index=True)

    # 6. quality inspection (质检要求)
    qa_merchant_standard: Mapped[bool | None] = mapped_column(Boolean)
    qa_standard: Mapped[str | None] = mapped_column(Text)

    # 7. anything else (其他信息)
    notes: Mapped[str | None] = mapped_column(Text)

    return_reason: Mapped[str | None] = mapped_column(Text)
    close_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    confirmed_by: Mapped[str | None] = mapped_column(String(100))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __mapper_args__ = {"version_id_col": version}


class ProjectHistory(Base):
    """One change of a project: who (sub and role), when, what (action, status move, field diffs)."""

    __tablename__ = "project_history"
    # the project's history, oldest first
    __table_args__ = (Index("ix_project_history_project_id_id", "project_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(36), ForeignKey("projects.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_sub: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)


class FaqEntry(Base):
    """An answer on the FAQ sheet: a standard question's (``key`` set) or the shop's own (``question``)."""

    __tablename__ = "faq_entries"
    __table_args__ = (UniqueConstraint("project_id", "key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str | None] = mapped_column(String(40))
    question: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)
    #: a standard question that does not apply to this shop (seed 004: the questions vary by shop), and who
    #: decided so (the token's sub and role) and when
    not_applicable: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_by_role: Mapped[str | None] = mapped_column(String(20))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
