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
    #: minutes after a shift's start before an agent not clocked in is a no-show (null: the setting)
    clock_tolerance_minutes: Mapped[int | None] = mapped_column(Integer)
    #: an agent's settlement authority (客服处理权限) on a customer dispute: at most this amount (CNY) …
    settlement_limit_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    #: … and at most this percentage of the order; above either the on-duty supervisor decides
    settlement_limit_pct: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
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


# --- the day of operation (当班): availability, leave, swaps, open shifts, attendance, calendars ----------


class AvailabilityWindow(Base):
    """When an agent can work in a normal week (可上班时间): one window on a weekday, across projects."""

    __tablename__ = "availability_windows"
    __table_args__ = (Index("ix_availability_windows_agent", "agent_id", "weekday", "start_minute"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(64))
    #: 0 = Monday … 6 = Sunday
    weekday: Mapped[int] = mapped_column(Integer)
    start_minute: Mapped[int] = mapped_column(Integer)
    #: up to 1440 (midnight); a window never crosses midnight: two windows do
    end_minute: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AvailabilityException(Base):
    """A date that departs from the weekly pattern: not available at all, or only in the given windows."""

    __tablename__ = "availability_exceptions"
    __table_args__ = (UniqueConstraint("agent_id", "date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(64))
    date: Mapped[dt.date] = mapped_column(Date)
    #: [[start_minute, end_minute], …]; empty: not available that day
    windows: Mapped[list[list[int]]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LeaveRequest(Base):
    """A leave request (请假) for whole days, approved or refused by a supervisor."""

    __tablename__ = "leave_requests"
    __table_args__ = (
        Index("ix_leave_requests_agent", "agent_id", "date_from", "date_to"),
        Index("ix_leave_requests_status", "status", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64))
    date_from: Mapped[dt.date] = mapped_column(Date)
    date_to: Mapped[dt.date] = mapped_column(Date)
    #: sick | personal | annual | other
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    #: pending | approved | refused | cancelled
    status: Mapped[str] = mapped_column(String(20))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(Text)
    #: what approval did to the rosters: per project, shifts handed over and left open
    effects: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SwapRequest(Base):
    """A shift an agent offers (换班): another agent takes it, a supervisor approves."""

    __tablename__ = "swap_requests"
    __table_args__ = (Index("ix_swap_requests_project", "project_id", "status", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64))
    date: Mapped[dt.date] = mapped_column(Date)
    shift: Mapped[str] = mapped_column(String(40))
    start_minute: Mapped[int] = mapped_column(Integer)
    minutes: Mapped[int] = mapped_column(Integer)
    skill: Mapped[str | None] = mapped_column(String(20))
    from_agent_id: Mapped[str] = mapped_column(String(64))
    #: who the shift is offered to (null: anyone eligible), then who accepted it
    to_agent_id: Mapped[str | None] = mapped_column(String(64))
    #: offered | accepted | approved | refused | cancelled
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    #: the labour rule a refusal named, and its detail
    rule: Mapped[str | None] = mapped_column(String(50))
    detail: Mapped[str | None] = mapped_column(Text)
    roster_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(100))


class OpenShift(Base):
    """An uncovered or surge shift published for eligible agents to claim (开放班次), first come."""

    __tablename__ = "open_shifts"
    __table_args__ = (
        UniqueConstraint("project_id", "date", "shift"),
        Index("ix_open_shifts_status", "project_id", "status", "date", "start_minute"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64))
    date: Mapped[dt.date] = mapped_column(Date)
    shift: Mapped[str] = mapped_column(String(40))
    start_minute: Mapped[int] = mapped_column(Integer)
    minutes: Mapped[int] = mapped_column(Integer)
    skill: Mapped[str | None] = mapped_column(String(20))
    #: places offered, and places taken so far
    places: Mapped[int] = mapped_column(Integer)
    claimed: Mapped[int] = mapped_column(Integer, default=0)
    #: open | filled | closed
    status: Mapped[str] = mapped_column(String(20))
    #: gap | surge | leave | no-show
    source: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OpenShiftClaim(Base):
    """An agent's claim on an open shift; the unique keys make a double claim impossible."""

    __tablename__ = "open_shift_claims"
    __table_args__ = (
        UniqueConstraint("open_shift_id", "agent_id"),
        UniqueConstraint("project_id", "date", "agent_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    open_shift_id: Mapped[str] = mapped_column(ForeignKey("open_shifts.id", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(String(64))
    date: Mapped[dt.date] = mapped_column(Date)
    agent_id: Mapped[str] = mapped_column(String(64))
    roster_version: Mapped[int] = mapped_column(Integer)
    claimed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AttendanceRecord(Base):
    """An agent's attendance on a rostered shift (考勤): clock-in/out, lateness, no-show, confirmation."""

    __tablename__ = "attendance_records"
    __table_args__ = (
        UniqueConstraint("project_id", "agent_id", "date"),
        Index("ix_attendance_records_day", "project_id", "date", "agent_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[str] = mapped_column(String(64))
    date: Mapped[dt.date] = mapped_column(Date)
    shift: Mapped[str] = mapped_column(String(40))
    start_minute: Mapped[int] = mapped_column(Integer)
    minutes: Mapped[int] = mapped_column(Integer)
    clock_in: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    clock_out: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: on_duty | present | late | early_leave | late_early_leave | no_show
    status: Mapped[str] = mapped_column(String(20))
    late_minutes: Mapped[int] = mapped_column(Integer, default=0)
    early_minutes: Mapped[int] = mapped_column(Integer, default=0)
    #: the reserve agent called in for a no-show
    replacement_id: Mapped[str | None] = mapped_column(String(64))
    #: confirmed by a supervisor into the timesheet: the hours, and the reason when they differ
    confirmed_hours: Mapped[Decimal | None] = mapped_column(Numeric(4, 2))
    correction_reason: Mapped[str | None] = mapped_column(Text)
    confirmed_by: Mapped[str | None] = mapped_column(String(100))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    timesheet_id: Mapped[str | None] = mapped_column(String(36))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CalendarToken(Base):
    """A revocable token in an agent's calendar-feed URL (calendar apps cannot send a bearer header)."""

    __tablename__ = "calendar_tokens"
    __table_args__ = (Index("ix_calendar_tokens_agent", "agent_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


# --- the on-duty supervisor desk (值班主管) and mass attrition (全员上岗) -----------------------------------


class DutyShift(Base):
    """A person on duty for a project (值班): a supervisor at the help desk (``duty="desk"``), or, during an
    all-hands (全员上岗), a member of staff below manager taking customers (``duty="agent"``). ``date`` is
    the Shanghai day the shift starts; it may run past midnight."""

    __tablename__ = "duty_shifts"
    __table_args__ = (
        Index("ix_duty_shifts_project_date", "project_id", "date", "start_minute", "id"),
        Index("ix_duty_shifts_person_date", "supervisor_id", "date", "start_minute", "id"),
        Index("ix_duty_shifts_all_hands", "all_hands_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64))
    #: the person on duty: their id, the ``sub`` of their token
    supervisor_id: Mapped[str] = mapped_column(String(64))
    supervisor_name: Mapped[str] = mapped_column(String(100))
    #: on agent duty: supervisor | team_lead | trainer | qa; null at the desk
    role: Mapped[str | None] = mapped_column(String(20))
    date: Mapped[dt.date] = mapped_column(Date)
    start_minute: Mapped[int] = mapped_column(Integer)
    #: up to a whole day; start_minute + minutes beyond 1440 runs into the next day
    minutes: Mapped[int] = mapped_column(Integer)
    #: desk | agent
    duty: Mapped[str] = mapped_column(String(10))
    all_hands_id: Mapped[str | None] = mapped_column(String(36))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class HelpRequest(Base):
    """An agent's call for help (求助) to the supervisor on duty: a question, a customer dispute above the
    agent's settlement authority, or a complaint to hand over to the party concerned (转交)."""

    __tablename__ = "help_requests"
    __table_args__ = (
        Index("ix_help_requests_project", "project_id", "requested_at", "id"),
        Index("ix_help_requests_project_status", "project_id", "status", "requested_at", "id"),
        Index("ix_help_requests_project_agent", "project_id", "agent_id", "requested_at", "id"),
        Index("ix_help_requests_supervisor", "supervisor_id", "status", "requested_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[str] = mapped_column(String(64))
    agent_name: Mapped[str | None] = mapped_column(String(100))
    #: question | dispute | handover
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    order_ref: Mapped[str | None] = mapped_column(String(100))
    #: a dispute: what the customer asks for, and the order's amount (CNY)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    order_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    #: why a dispute went to the supervisor (the authority it exceeds)
    authority_note: Mapped[str | None] = mapped_column(Text)
    #: the supervisor on duty when it was asked (null: nobody was)
    supervisor_id: Mapped[str | None] = mapped_column(String(64))
    supervisor_name: Mapped[str | None] = mapped_column(String(100))
    duty_shift_id: Mapped[str | None] = mapped_column(String(36))
    #: open | answered | handed_over
    status: Mapped[str] = mapped_column(String(20))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(100))
    #: the first response (an answer or a hand-over): the response-time clock stops here
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    waited_seconds: Mapped[int | None] = mapped_column(Integer)
    #: the party a complaint is handed to: warehouse | product | merchant | logistics
    party: Mapped[str | None] = mapped_column(String(20))
    handover_note: Mapped[str | None] = mapped_column(Text)
    handed_over_by: Mapped[str | None] = mapped_column(String(100))
    handed_over_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class AllHands(Base):
    """Mass attrition (大规模流失, seed 004): everyone below manager on agent duty for a project while the
    reserve is exhausted; recruitment is asked once for the real gap."""

    __tablename__ = "all_hands"
    __table_args__ = (Index("ix_all_hands_project", "project_id", "declared_at", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    date_from: Mapped[dt.date] = mapped_column(Date)
    date_to: Mapped[dt.date] = mapped_column(Date)
    #: the daily window on agent duty (the project's service hours unless the declaration said otherwise)
    start_minute: Mapped[int] = mapped_column(Integer)
    minutes: Mapped[int] = mapped_column(Integer)
    #: [{person_id, name, role}, …]
    staff: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: active | ended
    status: Mapped[str] = mapped_column(String(20))
    #: the pool when it was declared: the active target, agents still present, and the gap asked for
    active_target: Mapped[int] = mapped_column(Integer)
    present_agents: Mapped[int] = mapped_column(Integer)
    missing: Mapped[int] = mapped_column(Integer)
    merchant_alert_id: Mapped[str | None] = mapped_column(String(64))
    declared_by: Mapped[str | None] = mapped_column(String(100))
    declared_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ended_by: Mapped[str | None] = mapped_column(String(100))
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


# --- alerts (通知): channels, alerts and their deliveries (services/scheduling/alerts.py) ------------------


class AlertChannel(Base):
    """Where alerts go (通知渠道): a WeCom or DingTalk group robot, or e-mail recipients, for one project
    or vendor-wide (``project_id`` null), one audience and some kinds (empty: every kind)."""

    __tablename__ = "alert_channels"
    __table_args__ = (Index("ix_alert_channels_match", "audience", "enabled", "project_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    #: wecom | dingtalk | email
    type: Mapped[str] = mapped_column(String(20))
    #: supervisor | vendor | merchant
    audience: Mapped[str] = mapped_column(String(20))
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: the robot's webhook (its key or access token is in the URL: a secret)
    webhook_url: Mapped[str | None] = mapped_column(Text)
    #: DingTalk's signing secret (加签, ``SEC…``)
    secret: Mapped[str | None] = mapped_column(String(200))
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: markdown | text (robots only)
    message_format: Mapped[str] = mapped_column(String(10), default="markdown")
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Alert(Base):
    """Something a supervisor, the vendor or the merchant must know now (告警): a no-show, a gap, an
    escalated complaint…; raised once per ``dedup_key``."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_created", "created_at", "id"),
        Index("ix_alerts_project_created", "project_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    project_id: Mapped[str | None] = mapped_column(String(64))
    audience: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AlertDelivery(Base):
    """One alert to one channel: pending until sent, retried with backoff, failed after the last try."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        Index("ix_alert_deliveries_due", "status", "next_attempt_at"),
        Index("ix_alert_deliveries_alert", "alert_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    #: null once the channel is deleted (the delivery stays as history)
    channel_id: Mapped[str | None] = mapped_column(ForeignKey("alert_channels.id", ondelete="SET NULL"))
    #: the channel's type and name when the alert was raised
    channel_type: Mapped[str] = mapped_column(String(20))
    channel_name: Mapped[str] = mapped_column(String(100))
    #: pending | sent | failed
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
