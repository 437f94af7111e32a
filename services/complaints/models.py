"""The complaints service's own tables (SQLAlchemy 2.0 typed models)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, new_metadata, utcnow


class Base(DeclarativeBase):
    metadata = new_metadata()


class Project(Base):
    """Read model of onboarding's project (from ``project.confirmed`` / ``.updated`` / ``.closed``).

    A row may exist before its confirmation arrives (``agent.admitted`` came first); complaints are only
    taken once ``confirmed`` is true, because only then is the merchant (the tenant) known for sure.
    """

    __tablename__ = "projects"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    merchant_id: Mapped[str | None] = mapped_column(String(64), index=True)
    company_name: Mapped[str | None] = mapped_column(String(200))
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProjectAgent(Base):
    """Read model of the agents admitted to a project (``agent.admitted``): who a complaint may name."""

    __tablename__ = "project_agents"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))
    admitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProjectStaff(Base):
    """The supervisors (项目主管) and managers of a project, managed by the vendor; complaints at those
    levels are assigned to one of them."""

    __tablename__ = "project_staff"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))
    #: order in the vendor's list: ties in workload go to the one listed first
    position: Mapped[int] = mapped_column(Integer, default=0)


class DailyCounter(Base):
    """The last complaint number given on a Shanghai day; its row is locked by the transaction that takes
    the next number, so numbers are unique and gap-free (a rolled-back intake gives its number back)."""

    __tablename__ = "complaint_counters"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class Complaint(Base):
    """A complaint (投诉), numbered ``TS20261111-0001``."""

    __tablename__ = "complaints"
    # The list sorts on (created_at, number). Each index leads with one equality filter a caller sends or
    # the scope adds (tenant, agent's "assigned to or recorded by me"), then the sort: the first page and
    # every ``after`` page are an index range read in order. Rarer filters ride on these as a filter.
    __table_args__ = (
        Index("ix_complaints_created", "created_at", "number"),
        Index("ix_complaints_merchant_created", "merchant_id", "created_at", "number"),
        Index("ix_complaints_project_created", "project_id", "created_at", "number"),
        Index("ix_complaints_status_created", "status", "created_at", "number"),
        Index("ix_complaints_assignee_created", "assignee", "created_at", "number"),
        Index("ix_complaints_creator_created", "created_by", "created_at", "number"),
        Index("ix_complaints_agent_created", "agent_id", "created_at", "number"),
        Index("ix_complaints_category_created", "category", "created_at", "number"),
        Index("ix_complaints_customer_created", "customer_ref", "created_at", "number"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    project_id: Mapped[str] = mapped_column(String(64))
    #: the project's merchant, copied at intake: the tenant filter of every query
    merchant_id: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(30))
    about_staff: Mapped[bool] = mapped_column(Boolean)
    #: the agent concerned (who served the customer / who is complained about), if known
    agent_id: Mapped[str | None] = mapped_column(String(64))
    customer_ref: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    level: Mapped[str] = mapped_column(String(20))
    #: the named user working it now (an agent's id, a supervisor's or a manager's user id)
    assignee: Mapped[str | None] = mapped_column(String(64))

    # the promise to the customer and its clock
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    #: "given" at intake, "policy" from the severity, "moved" by a note, "reopened" on reopening
    due_at_source: Mapped[str] = mapped_column(String(10))
    sla_started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    #: half-way to the promise on the wall clock: the job looks at agent-level complaints only after it
    half_time_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    paused_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    paused_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    breached: Mapped[bool] = mapped_column(Boolean, default=False)
    breached_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    first_response_due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    first_responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    # resolution
    resolution: Mapped[str | None] = mapped_column(Text)
    agent_at_fault: Mapped[bool] = mapped_column(Boolean, default=False)
    penalty: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    #: set once complaint.upheld went out: billing and training act on it once per complaint
    upheld_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: "accepted" (the customer accepted) or "auto" (no reaction within the reopening window)
    close_reason: Mapped[str | None] = mapped_column(String(10))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)

    created_by: Mapped[str] = mapped_column(String(100))
    created_by_role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class HistoryEntry(Base):
    """One line of a complaint's history: a note, an assignment, an escalation, a status change, a moved
    promise … with who did it and when. Append-only."""

    __tablename__ = "complaint_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    complaint_id: Mapped[str] = mapped_column(String(36), ForeignKey("complaints.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    #: the user's id (token ``sub``) or ``system`` for the periodic jobs
    actor: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(20))
    #: notes: ``internal`` or ``customer`` (told to the customer)
    visibility: Mapped[str | None] = mapped_column(String(10))
    text: Mapped[str | None] = mapped_column(Text)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    from_level: Mapped[str | None] = mapped_column(String(20))
    to_level: Mapped[str | None] = mapped_column(String(20))
    assignee: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
