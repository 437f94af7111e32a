"""The quality service's own tables (SQLAlchemy 2.0 typed models)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, new_metadata, utcnow


class Base(DeclarativeBase):
    metadata = new_metadata()


class Project(Base):
    """Read model of onboarding's project (``project.confirmed`` / ``.updated`` / ``.closed``): the order's
    service targets (服务指标) and its QA requirement (质检要求)."""

    __tablename__ = "projects"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    merchant_id: Mapped[str | None] = mapped_column(String(64), index=True)
    company_name: Mapped[str | None] = mapped_column(String(200))
    platform: Mapped[str | None] = mapped_column(String(20))
    seats: Mapped[int | None] = mapped_column(Integer)
    daily_consultations: Mapped[int | None] = mapped_column(Integer)
    first_response_seconds: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    avg_response_seconds: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    conversion_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    avg_order_value: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    satisfaction_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    #: the checklist says the merchant has its own QA standard (then its scorecard is used)
    qa_merchant_standard: Mapped[bool] = mapped_column(Boolean, default=False)
    qa_standard: Mapped[str | None] = mapped_column(Text)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProjectAgent(Base):
    """Read model of the agents admitted to a project (``agent.admitted``): whose data may be imported."""

    __tablename__ = "project_agents"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))
    admitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Import(Base):
    """One accepted import (platform figures or conversations): what it replaced, who sent it."""

    __tablename__ = "imports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))  # agent_days | conversations
    source: Mapped[str] = mapped_column(String(10))  # json | file
    rows: Mapped[int] = mapped_column(Integer)
    dates: Mapped[list[str]] = mapped_column(JSON)
    created: Mapped[int] = mapped_column(Integer, default=0)
    replaced: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (Index("ix_imports_project_created", "project_id", "created_at", "id"),)


class AgentDay(Base):
    """One agent's figures for one day from the shop back office (客服绩效: 接待, 询单, 下单, 首响, 平响,
    销售额, 旺旺满意度 votes, 品质退款, 平台求助). A day imported again is replaced as a whole."""

    __tablename__ = "agent_days"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    receptions: Mapped[int] = mapped_column(Integer)
    inquiries: Mapped[int] = mapped_column(Integer)
    orders: Mapped[int] = mapped_column(Integer)
    first_response_seconds: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    avg_response_seconds: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    sales_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    votes_very_satisfied: Mapped[int] = mapped_column(Integer, default=0)
    votes_satisfied: Mapped[int] = mapped_column(Integer, default=0)
    votes_neutral: Mapped[int] = mapped_column(Integer, default=0)
    votes_unsatisfied: Mapped[int] = mapped_column(Integer, default=0)
    votes_very_unsatisfied: Mapped[int] = mapped_column(Integer, default=0)
    quality_refunds: Mapped[int] = mapped_column(Integer, default=0)
    help_requests: Mapped[int] = mapped_column(Integer, default=0)
    import_id: Mapped[str] = mapped_column(String(36))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_agent_days_agent", "project_id", "agent_id", "date"),)


class Conversation(Base):
    """A chat between an agent and a customer (聊天记录) with the machine check's verdict (智能质检)."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(100))
    agent_id: Mapped[str] = mapped_column(String(64))
    customer: Mapped[str | None] = mapped_column(String(100))
    date: Mapped[dt.date] = mapped_column(Date)  # the day it started, Asia/Shanghai
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(10), default="none")
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    message_count: Mapped[int] = mapped_column(Integer)
    first_response_seconds: Mapped[float | None] = mapped_column(Float)
    avg_response_seconds: Mapped[float | None] = mapped_column(Float)
    unanswered: Mapped[int] = mapped_column(Integer, default=0)
    sentiment: Mapped[float | None] = mapped_column(Float)
    flags: Mapped[list[str]] = mapped_column(JSON)
    findings: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)
    import_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("project_id", "external_id", name="uq_conversations_external"),
        Index("ix_conversations_list", "project_id", "started_at", "id"),
        Index("ix_conversations_agent", "project_id", "agent_id", "date"),
        Index("ix_conversations_review", "project_id", "needs_review", "reviewed", "started_at", "id"),
    )


class Scorecard(Base):
    """A QA scorecard (质检评分表): the vendor's default (``project_id`` null) or a project's own, taken
    from the merchant's standard. Versions are kept; the newest is the one used."""

    __tablename__ = "scorecards"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(10))  # vendor | merchant
    name: Mapped[str] = mapped_column(String(200))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    max_points: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (
        Index("ix_scorecards_project_version", "project_id", "version"),
        # the list's sort, newest first: every scorecard (the vendor's side) or a merchant's, filtered
        Index("ix_scorecards_list", "created_at", "id"),
    )


class Review(Base):
    """A person's QA of one conversation (人工质检) against a scorecard, with the problems and good cases
    found for the trainers."""

    __tablename__ = "reviews"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[str | None] = mapped_column(String(36), index=True)
    scorecard_id: Mapped[str] = mapped_column(String(36))
    date: Mapped[dt.date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(30))
    tier: Mapped[str] = mapped_column(String(20))
    reviewer: Mapped[str] = mapped_column(String(100))
    points: Mapped[dict[str, int]] = mapped_column(JSON)
    areas: Mapped[dict[str, str]] = mapped_column(JSON)
    total: Mapped[int] = mapped_column(Integer)
    max_total: Mapped[int] = mapped_column(Integer)
    percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    problems: Mapped[list[str]] = mapped_column(JSON)
    good_cases: Mapped[list[str]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_reviews_list", "project_id", "created_at", "id"),
        Index("ix_reviews_agent", "project_id", "agent_id", "date"),
    )


class Sample(Base):
    """The conversations people review (抽检): a week's stratified sample per agent, or the full check of
    a week's lost inquiries (询单流失全检). Asking again for the same week and kind gives the same one."""

    __tablename__ = "samples"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64))
    week: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(20))  # weekly | lost_inquiries
    size_per_agent: Mapped[int | None] = mapped_column(Integer)
    conversation_ids: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (UniqueConstraint("project_id", "week", "kind", name="uq_samples_week_kind"),)


class ExecutionRating(Base):
    """The supervisor's rating of an agent's execution for a period (执行力, 10% of the KPI)."""

    __tablename__ = "execution_ratings"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    score: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    note: Mapped[str | None] = mapped_column(Text)
    rated_by: Mapped[str] = mapped_column(String(100))
    rated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class KpiScore(Base):
    """An agent's KPI for a period (KPI考核) as last scored and announced (``kpi.scored``)."""

    __tablename__ = "kpi_scores"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    score: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    data: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    performance: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    execution: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    weights: Mapped[dict[str, str]] = mapped_column(JSON)
    missing: Mapped[list[str]] = mapped_column(JSON)
    indicators: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    targets: Mapped[dict[str, bool]] = mapped_column(JSON)
    targets_met: Mapped[bool] = mapped_column(Boolean)
    reviews: Mapped[int] = mapped_column(Integer, default=0)
    below_threshold_streak: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    scored_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_kpi_scores_agent", "project_id", "agent_id", "period"),)


class Complaint(Base):
    """Read model of the complaints service's complaints (``complaint.opened`` / ``.escalated`` /
    ``.resolved`` / ``.upheld``): what the weekly review counts per agent and week."""

    __tablename__ = "complaints"

    complaint_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    number: Mapped[str] = mapped_column(String(40))
    project_id: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[str | None] = mapped_column(String(64))
    level: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(20))
    #: the business day (Asia/Shanghai) it was numbered; the first event's day until complaint.opened arrives
    opened_on: Mapped[dt.date] = mapped_column(Date)
    upheld: Mapped[bool] = mapped_column(Boolean, default=False)
    penalty: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    resolved_on: Mapped[dt.date | None] = mapped_column(Date)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_complaints_week", "project_id", "opened_on", "complaint_id"),)
