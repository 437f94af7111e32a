"""Billing's copies of other services' data, kept from events (read models; 投影).

Projects with their seats (onboarding), surges (scheduling), completed cohorts (training), agents'
membership of a project (training's admissions, scheduling's departures and replacements), hours worked
(scheduling's shift.worked), attendance (scheduling's attendance.recorded and agent.no_show) and penalties
of upheld complaints. Events arrive late, twice or out of order (a departure before the admission, a
corrected timesheet), so every copy is found or created by its key (``shared.projections``) or upserted,
and each write of pay data is marked in the late-data journal (``changes``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select, tuple_

from services.billing.changes import CENT, Key, mark_changed
from services.billing.domain import Period
from services.billing.models import (
    Agent,
    AttendanceDay,
    Deduction,
    KpiScore,
    Project,
    ProjectSeats,
    SurgeCopy,
    TrainingCohort,
    WorkedHours,
)
from shared.bulk import chunks, upsert
from shared.errors import BusinessRuleViolation
from shared.projections import company_name, copy_of, is_newer, take
from shared.uow import UnitOfWork
from shared.workdays import SHANGHAI


def shanghai_date(moment: dt.datetime) -> dt.date:
    """The business date (Asia/Shanghai) of an instant: 23:30 UTC on the 31st is already the 1st."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(SHANGHAI).date()


def _project(uow: UnitOfWork, data: Mapping[str, Any], status: str) -> tuple[Project, bool]:
    return copy_of(uow.session, Project, data["project_id"], defaults={"status": status})


def _seats_from(uow: UnitOfWork, project_id: str, day: dt.date, seats: int) -> None:
    """The seat count from ``day`` on (a repeated event writes the same row again)."""
    upsert(
        uow.session,
        ProjectSeats,
        [{"project_id": project_id, "effective_from": day, "seats": seats, "updated_at": uow.now()}],
        ("project_id", "effective_from"),
    )


def project_confirmed(uow: UnitOfWork, data: Mapping[str, Any]) -> None:
    """project.confirmed: the merchant, its company name, the order's seats from go-live (a late one never
    reopens a closed project)."""
    project, _created = _project(uow, data, "confirmed")
    take(project, data, ("merchant_id", "seats", "go_live_date"))
    project.company_name = company_name(data) or project.company_name
    project.updated_at = uow.now()
    if data.get("seats") and data.get("go_live_date"):
        _seats_from(uow, project.project_id, data["go_live_date"], data["seats"])


def project_updated(uow: UnitOfWork, data: Mapping[str, Any], occurred_at: dt.datetime) -> None:
    """A change of seats counts from the day it was made (or from go-live, when that is later)."""
    project, _created = _project(uow, data, "confirmed")
    take(project, data, ("merchant_id", "seats", "go_live_date"))
    project.updated_at = uow.now()
    if data.get("seats"):
        day = shanghai_date(occurred_at)
        if project.go_live_date is not None and project.go_live_date > day:
            day = project.go_live_date
        _seats_from(uow, project.project_id, day, data["seats"])


def project_closed(uow: UnitOfWork, data: Mapping[str, Any], occurred_at: dt.datetime) -> None:
    """The project's last day in service is the day it closed."""
    project, created = _project(uow, data, "closed")
    if created:
        take(project, data, ("merchant_id",))
    project.status = "closed"
    project.closed_on = project.closed_on or shanghai_date(occurred_at)
    project.updated_at = uow.now()


def surge_accepted(uow: UnitOfWork, data: Mapping[str, Any]) -> None:
    """An accepted surge's extra seats (what the merchant pays with the surge premium)."""
    upsert(
        uow.session,
        SurgeCopy,
        [
            {
                "surge_id": data["surge_id"],
                "project_id": data["project_id"],
                "start_date": data["start_date"],
                "end_date": data["end_date"],
                "increase_pct": Decimal(str(data["increase_pct"])).quantize(CENT),
                "extra_seats": data["extra_seats"],
                "covered": data["covered"],
                "updated_at": uow.now(),
            }
        ],
        ("surge_id",),
    )


def cohort_completed(uow: UnitOfWork, data: Mapping[str, Any], occurred_at: dt.datetime) -> None:
    """A completed cohort: people trained and hours each (the training fee, 培训费). An event from a
    training service that does not send them yet counts the admitted and no hours (nothing charged)."""
    hours = data.get("training_hours")
    upsert(
        uow.session,
        TrainingCohort,
        [
            {
                "cohort_id": data["cohort_id"],
                "project_id": data["project_id"],
                "completed_on": shanghai_date(data.get("completed_at") or occurred_at),
                "trainees": data.get("trainees", data["admitted"]),
                "hours_each": Decimal(str(hours)).quantize(CENT) if hours is not None else Decimal("0.00"),
                "admitted": data["admitted"],
                "updated_at": uow.now(),
            }
        ],
        ("cohort_id",),
    )


def _agent(uow: UnitOfWork, agent_id: str, project_id: str) -> tuple[Agent, bool]:
    return copy_of(uow.session, Agent, (agent_id, project_id), defaults={"updated_at": uow.now()})


def agent_admitted(uow: UnitOfWork, data: Mapping[str, Any], occurred_at: dt.datetime) -> None:
    """The agent joins the project on the admission day (admitted_at, else the event's date)."""
    now = uow.now()
    day = shanghai_date(data.get("admitted_at") or occurred_at)
    row, _new = _agent(uow, data["candidate_id"], data["project_id"])
    row.name = data.get("name") or row.name
    if row.departed_on is not None and day > row.departed_on:
        row.admitted_on, row.departed_on = day, None  # admitted again after leaving: a new stint
    elif row.admitted_on is None or day < row.admitted_on:
        row.admitted_on = day
    row.updated_at = now
    mark_changed(uow.session, [(row.project_id, row.agent_id, str(Period.of(day)))], now)


def agent_departed(uow: UnitOfWork, data: Mapping[str, Any], occurred_at: dt.datetime) -> None:
    """The agent leaves on the departure date (its last paid day)."""
    now = uow.now()
    day = data.get("date") or shanghai_date(occurred_at)
    row, _new = _agent(uow, data["agent_id"], data["project_id"])
    row.departed_on = day
    row.replaced_by = data.get("replacement_id") or row.replaced_by
    row.updated_at = now
    mark_changed(uow.session, [(row.project_id, row.agent_id, str(Period.of(day)))], now)


def agent_replaced(uow: UnitOfWork, data: Mapping[str, Any], occurred_at: dt.datetime) -> None:
    """The departed agent leaves and the reserve taking over joins (if not a member already) that day."""
    now = uow.now()
    day = data.get("date") or shanghai_date(occurred_at)
    marks = []
    row, _new = _agent(uow, data["agent_id"], data["project_id"])
    if row.departed_on is None:
        row.departed_on = day
    row.replaced_by = data.get("replacement_id") or row.replaced_by
    row.updated_at = now
    marks.append((row.project_id, row.agent_id, str(Period.of(day))))
    if data.get("replacement_id"):
        reserve, new = _agent(uow, data["replacement_id"], data["project_id"])
        if new or reserve.admitted_on is None:
            reserve.admitted_on = day
        elif reserve.departed_on is not None and reserve.departed_on < day:
            reserve.admitted_on, reserve.departed_on = day, None
        reserve.updated_at = now
        marks.append((reserve.project_id, reserve.agent_id, str(Period.of(day))))
    mark_changed(uow.session, marks, now)


def shift_worked(uow: UnitOfWork, data: Mapping[str, Any]) -> None:
    """Hours of a day, upserted by (agent, project, date): a corrected timesheet replaces the first."""
    now = uow.now()
    upsert(
        uow.session,
        WorkedHours,
        [
            {
                "agent_id": data["agent_id"],
                "project_id": data["project_id"],
                "date": data["date"],
                "hours": Decimal(data["hours"]).quantize(CENT),
                "updated_at": now,
            }
        ],
        ("agent_id", "project_id", "date"),
    )
    mark_changed(uow.session, [(data["project_id"], data["agent_id"], str(Period.of(data["date"])))], now)


#: ``AttendanceDay.source``: a supervisor's confirmation, or only the no-show notice so far
FROM_ATTENDANCE = "attendance"
FROM_NO_SHOW = "no_show"


def _attendance_day(
    uow: UnitOfWork, agent_id: str, project_id: str, day: dt.date
) -> tuple[AttendanceDay, bool]:
    # locked: the two event types of one day may be handled by two deliveries at once
    return copy_of(
        uow.session,
        AttendanceDay,
        (agent_id, project_id, day),
        lock=True,
        defaults={"late_minutes": 0, "early_minutes": 0, "corrected": False},
    )


def attendance_recorded(uow: UnitOfWork, data: Mapping[str, Any], occurred_at: dt.datetime) -> None:
    """A supervisor's confirmation of a day (考勤确认): the final word on it, replacing a no-show notice
    and any earlier confirmation; an older confirmation arriving late changes nothing.

    Not marked for payroll: the day's hours reach billing as shift.worked, which is what pays.
    """
    row, new = _attendance_day(uow, data["agent_id"], data["project_id"], data["date"])
    if not new and row.source == FROM_ATTENDANCE and not is_newer(row.recorded_at, occurred_at):
        return
    hours = data.get("hours")
    row.status = data["status"]
    row.shift = data.get("shift") or row.shift
    row.late_minutes = data.get("late_minutes") or 0
    row.early_minutes = data.get("early_minutes") or 0
    row.hours = Decimal(hours).quantize(CENT) if hours is not None else None
    row.clock_in = data.get("clock_in")
    row.clock_out = data.get("clock_out")
    row.corrected = bool(data.get("corrected"))
    row.source = FROM_ATTENDANCE
    row.recorded_at = occurred_at
    row.updated_at = uow.now()


def agent_no_show(uow: UnitOfWork, data: Mapping[str, Any], occurred_at: dt.datetime) -> None:
    """An agent not clocked in within the tolerance (缺勤): the day is a no-show until a supervisor confirms
    it. After a confirmation only the reserve called in is kept: the supervisor's status stands."""
    day = data.get("date") or shanghai_date(occurred_at)
    row, new = _attendance_day(uow, data["agent_id"], data["project_id"], day)
    replacement = data.get("replacement_id")
    if not new and (row.source == FROM_ATTENDANCE or not is_newer(row.recorded_at, occurred_at)):
        # the supervisor's status (or a newer notice) stands; the reserve called in is a fact all the same
        if replacement and not row.no_show_replacement_id:
            row.no_show_replacement_id, row.updated_at = replacement, uow.now()
        return
    row.status = "no_show"
    row.shift = data.get("shift") or row.shift
    row.no_show_replacement_id = replacement or row.no_show_replacement_id
    row.source = FROM_NO_SHOW
    row.recorded_at = occurred_at
    row.updated_at = uow.now()


def complaint_upheld(uow: UnitOfWork, data: Mapping[str, Any], occurred_at: dt.datetime) -> None:
    """The penalty falls into the period of the complaint's resolution (resolved_at, else the event time)."""
    session, now = uow.session, uow.now()
    resolved_on = shanghai_date(data.get("resolved_at") or occurred_at)
    period = str(Period.of(resolved_on))
    marks = [(data["project_id"], data["agent_id"], period)]
    existing = session.get(Deduction, data["complaint_id"])
    if existing is not None:
        marks.append((existing.project_id, existing.agent_id, existing.period))
    upsert(
        session,
        Deduction,
        [
            {
                "complaint_id": data["complaint_id"],
                "number": data["number"],
                "agent_id": data["agent_id"],
                "project_id": data["project_id"],
                "amount": Decimal(data["penalty"]),
                "resolved_on": resolved_on,
                "period": period,
                "updated_at": now,
            }
        ],
        ("complaint_id",),
    )
    mark_changed(session, marks, now)


def kpi_scored(uow: UnitOfWork, data: Mapping[str, Any]) -> None:
    """quality's KPI of an agent's month: a later version replaces it, an older or repeated one is
    ignored (events may arrive out of order); the month is marked for payroll (late data)."""
    key = (data["agent_id"], data["project_id"], data["period"])
    version = data.get("version") or 1
    row = uow.session.get(KpiScore, key)
    if row is not None and row.version >= version:
        return
    if row is None:
        row = KpiScore(agent_id=key[0], project_id=key[1], period=key[2])
        uow.session.add(row)
    row.score = Decimal(data["score"])
    row.targets_met = bool(data["targets_met"])
    row.components = dict(data["components"])
    row.version = version
    row.updated_at = uow.now()
    mark_changed(uow.session, [(key[1], key[0], key[2])], row.updated_at)


def require_project(uow: UnitOfWork, project_id: str) -> Project:
    """The project's copy; refused when onboarding's confirmation has not arrived (or never will)."""
    project = uow.session.get(Project, project_id)
    if project is None:
        raise BusinessRuleViolation(
            f"Billing knows no project {project_id!r}: projects arrive from onboarding's project.confirmed. "
            "Use the id of a confirmed project (or wait a moment if it was just confirmed).",
            rule="unknown-project",
        )
    return project


def known_agents(uow: UnitOfWork, pairs: set[Key]) -> set[Key]:
    """Which (agent, project) pairs billing has learned of (from training's agent.admitted)."""
    known: set[Key] = set()
    ordered = sorted(pairs)
    for chunk in chunks(ordered):
        known.update(
            (a, p)
            for a, p in uow.session.execute(
                select(Agent.agent_id, Agent.project_id).where(
                    tuple_(Agent.agent_id, Agent.project_id).in_(list(chunk))
                )
            )
        )
    return known
