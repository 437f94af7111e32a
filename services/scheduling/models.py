"""The scheduling service's own tables (SQLAlchemy 2.0 typed models).

``projects``, ``pool_agents`` and ``kpi_standings`` are read models built from other services' events;
the rest is owned here: roster versions with their shift slots and assignments, surges, timesheet entries.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, new_metadata, utcnow


class Base(DeclarativeBase):
    metadata = new_metadata()


class Project(Base):
    """A confirmed project as scheduling needs it (from ``project.confirmed/updated/closed``)."""

    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    merchant_id: Mapped[str | None] = mapped_column(String(64), index=True)
    seats: Mapped[int | None] = mapped_column(Integer)
    service_type: Mapped[str | None] = mapped_column(String(20))
    service_start: Mapped[str | None] = mapped_column(String(5))
    service_end: Mapped[str | None] = mapped_column(String(5))
    go_live_date: Mapped[dt.date | None] = mapped_column(Date)
    company_name: Mapped[str | None] = mapped_column(String(200))
    #: the order's first-response target (首响, seconds): the service level's answer threshold
    first_response_seconds: Mapped[int | None] = mapped_column(Integer)
    #: confirmed | closed
    status: Mapped[str] = mapped_column(String(20), default="confirmed")
    #: occurred_at of the newest event applied: an older event arriving late does not overwrite it
    last_event_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PoolAgent(Base):
    """An admitted agent (录取) in one project's pool; the role (active/reserve) is derived by rank."""

    __tablename__ = "pool_agents"
    __table_args__ = (UniqueConstraint("project_id", "agent_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    agent_id: Mapped[str] = mapped_column(String(64), index=True)
    cohort_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(30))
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    shifts_available: Mapped[list[str]] = mapped_column(JSON, default=list)
    quiz_score: Mapped[float] = mapped_column(Float)
    simulation_score: Mapped[float] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer)
    admitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: the first day the agent no longer works (离职)
    departed_on: Mapped[dt.date | None] = mapped_column(Date)
    departure_reason: Mapped[str | None] = mapped_column(Text)
    replaced_by: Mapped[str | None] = mapped_column(String(64))
    #: works part-time on this project (兼职): short shifts, pre-sales reception or after-sales triage only
    part_time: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class Roster(Base):
    """One version of a project's roster (排班表) for ``date_from``..``date_to``.

    For each date the newest *published* version covering it is in force; older ones stay as history.
    """

    __tablename__ = "rosters"
    __table_args__ = (
        UniqueConstraint("project_id", "version"),
        # the versions list: a project's versions, newest first
        Index("ix_rosters_project_version", "project_id", "version", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    date_from: Mapped[dt.date] = mapped_column(Date)
    date_to: Mapped[dt.date] = mapped_column(Date)
    #: draft | published
    status: Mapped[str] = mapped_column(String(20))
    #: generated | departure | surge | surge-cancelled
    reason: Mapped[str] = mapped_column(String(30))
    method: Mapped[str] = mapped_column(String(30))
    solver_status: Mapped[str] = mapped_column(String(50))
    solve_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    #: how the roster was chosen: the solver's status, objective, bound and gap, and the figures of CP-SAT's
    #: roster and the greedy baseline (coverage, hours and night-shift spreads); null for other methods
    solver_report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: the per-shift demand the roster was asked for (null: every shift needs the seats)
    demand: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    binding_rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class RosterSlot(Base):
    """A shift on a date in one roster version: how many agents it needs and how many are missing."""

    __tablename__ = "roster_slots"
    __table_args__ = (UniqueConstraint("roster_id", "date", "shift"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    roster_id: Mapped[str] = mapped_column(ForeignKey("rosters.id", ondelete="CASCADE"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    #: morning/afternoon/night, or a planned shift such as ``08:00-16:00 presale``
    shift: Mapped[str] = mapped_column(String(40))
    start_minute: Mapped[int] = mapped_column(Integer)
    minutes: Mapped[int] = mapped_column(Integer)
    needed: Mapped[int] = mapped_column(Integer)
    missing: Mapped[int] = mapped_column(Integer, default=0)
    rule: Mapped[str | None] = mapped_column(String(50))
    detail: Mapped[str | None] = mapped_column(Text)


class RosterAssignment(Base):
    """An agent on a shift (班次) on a date, in one roster version."""

    __tablename__ = "roster_assignments"
    __table_args__ = (
        UniqueConstraint("roster_id", "date", "agent_id"),
        Index("ix_roster_assignments_agent_date", "agent_id", "date"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    roster_id: Mapped[str] = mapped_column(ForeignKey("rosters.id", ondelete="CASCADE"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    shift: Mapped[str] = mapped_column(String(40))
    start_minute: Mapped[int] = mapped_column(Integer)
    minutes: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[str] = mapped_column(String(64))
    #: the work on a planned shift: presale, aftersale or triage (null on a seat-based roster)
    skill: Mapped[str | None] = mapped_column(String(20))
    #: the agent's pool role when rostered: active | reserve
    role: Mapped[str] = mapped_column(String(10))


class Surge(Base):
    """A requested volume surge (咨询量暴涨): accepted, rejected or cancelled."""

    __tablename__ = "surges"
    __table_args__ = (
        # the surges list, newest first, all of them or by status (and the accepted ones by date)
        Index("ix_surges_project_created", "project_id", "created_at", "id"),
        Index("ix_surges_project_status_created", "project_id", "status", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    increase_pct: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    #: accepted | rejected | cancelled
    status: Mapped[str] = mapped_column(String(20))
    notice_days: Mapped[int] = mapped_column(Integer)
    extra_seats: Mapped[int] = mapped_column(Integer)
    covered: Mapped[int] = mapped_column(Integer, default=0)
    uncovered: Mapped[int] = mapped_column(Integer, default=0)
    rule: Mapped[str] = mapped_column(String(50))
    reason: Mapped[str] = mapped_column(Text)
    earliest_start: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancelled_by: Mapped[str | None] = mapped_column(String(100))


class TimesheetEntry(Base):
    """Hours an agent worked on a project on a date (工时). A re-entry supersedes the current one."""

    __tablename__ = "timesheet_entries"
    # The list sorts on (date, project, agent, recorded_at, id) minus the columns a filter fixes; one index
    # per filter set puts the fixed columns first, then that sort (queries.timesheet_order).
    __table_args__ = (
        Index("ix_timesheet_entries_list", "date", "project_id", "agent_id", "recorded_at", "id"),
        Index("ix_timesheet_entries_project_list", "project_id", "date", "agent_id", "recorded_at", "id"),
        Index("ix_timesheet_entries_agent_list", "agent_id", "date", "project_id", "recorded_at", "id"),
        Index("ix_timesheet_entries_key", "project_id", "agent_id", "date", "recorded_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[str] = mapped_column(String(64))
    date: Mapped[dt.date] = mapped_column(Date)
    hours: Mapped[Decimal] = mapped_column(Numeric(4, 2))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(100))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    superseded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    superseded_by: Mapped[str | None] = mapped_column(String(36))


class KpiStanding(Base):
    """An agent's latest KPI on a project (quality's ``kpi.scored``): the supervisor's early warning
    (预警) before attrition. A later month replaces an earlier one, and within a month a higher version; an
    older score arriving late changes nothing."""

    __tablename__ = "kpi_standings"
    __table_args__ = (Index("ix_kpi_standings_warning", "project_id", "warning", "agent_id"),)

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(7))
    score: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    #: months in a row below quality's warning threshold, ending with ``period``
    below_threshold_streak: Mapped[int] = mapped_column(Integer)
    warning: Mapped[bool] = mapped_column(Boolean)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


# --- workforce planning (人力规划) -------------------------------------------------------------------------


class DemandHistory(Base):
    """Consultations in one half-hour of a past day, per channel (presale, aftersale or all): the
    forecast's history. A daily total is stored spread over the day by the profile it came with."""

    __tablename__ = "demand_history"
    __table_args__ = (UniqueConstraint("project_id", "date", "minute", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(64))
    date: Mapped[dt.date] = mapped_column(Date)
    minute: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(10))
    consultations: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    #: interval | daily (a daily total spread by an intraday profile)
    source: Mapped[str] = mapped_column(String(10))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Campaign(Base):
    """A promotion to plan for (大促活动), its phases and the parameters of its plan."""

    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_project", "project_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    festival_day: Mapped[dt.date] = mapped_column(Date)
    last_year_festival_day: Mapped[dt.date] = mapped_column(Date)
    phases: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: forecast, staffing, shifts and site settings as sent (JSON-safe)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StaffingPlan(Base):
    """One computed plan of a campaign: forecast, agents per interval, the roster draft it made."""

    __tablename__ = "staffing_plans"
    __table_args__ = (
        UniqueConstraint("campaign_id", "version"),
        Index("ix_staffing_plans_project", "project_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    #: draft | published
    status: Mapped[str] = mapped_column(String(20))
    date_from: Mapped[dt.date] = mapped_column(Date)
    date_to: Mapped[dt.date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(10))
    roster_id: Mapped[str | None] = mapped_column(String(36))
    #: agents the plan needs, agents in the pool, and the difference recruitment is asked for
    required_agents: Mapped[int] = mapped_column(Integer)
    available_agents: Mapped[int] = mapped_column(Integer)
    gap: Mapped[int] = mapped_column(Integer)
    peak_agents: Mapped[int] = mapped_column(Integer)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class PlanInterval(Base):
    """A plan's half-hour for one channel: last year, forecast, bot, and the agents each method needs."""

    __tablename__ = "plan_intervals"
    __table_args__ = (UniqueConstraint("plan_id", "date", "minute", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("staffing_plans.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)
    minute: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(10))
    phase: Mapped[str] = mapped_column(String(20))
    last_year: Mapped[float] = mapped_column(Float)
    forecast: Mapped[float] = mapped_column(Float)
    bot: Mapped[float] = mapped_column(Float)
    traffic: Mapped[float] = mapped_column(Float)
    erlang_agents: Mapped[int] = mapped_column(Integer)
    simple_agents: Mapped[int] = mapped_column(Integer)
    own_agents: Mapped[int] = mapped_column(Integer)
    required: Mapped[int] = mapped_column(Integer)
    service_level: Mapped[float] = mapped_column(Float)
    occupancy: Mapped[float] = mapped_column(Float)


class PlanCoverage(Base):
    """A plan's half-hour for one skill: agents required and rostered, and why any are missing."""

    __tablename__ = "plan_coverage"
    __table_args__ = (
        UniqueConstraint("plan_id", "date", "minute", "skill"),
        Index("ix_plan_coverage_short", "plan_id", "short", "date", "minute"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("staffing_plans.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)
    minute: Mapped[int] = mapped_column(Integer)
    skill: Mapped[str] = mapped_column(String(10))
    required: Mapped[int] = mapped_column(Integer)
    scheduled: Mapped[int] = mapped_column(Integer)
    short: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    detail: Mapped[str | None] = mapped_column(Text)
