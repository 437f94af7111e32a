"""Attendance (考勤): clock-in and clock-out, no-shows and the reserve, timesheets from attendance, and the
live status board of who should be on duty now.

A shift's attendance record is made at clock-in, or by the worker's check when nobody clocked in within the
project's tolerance (a no-show). A no-show calls the best reserve agent free that day within the labour
rules (the same rule checks as a departure's hand-over), as a new roster version; with nobody free the
shift is published as an open shift and the supervisors are alerted. A supervisor confirms a finished
day's attendance (or corrects the hours, with a reason kept): that is the timesheet entry billing pays.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from services.scheduling import alerts, timesheets
from services.scheduling.config import SchedulingSettings
from services.scheduling.dayrules import ShiftTimes, Verdict, adherence, hhmm, hours_of, instant, judge
from services.scheduling.models import AttendanceRecord, PoolAgent, Project, RosterAssignment
from services.scheduling.queries import agent_names, project_for
from services.scheduling.revisions import DayRoster, load_days, publish_days, rule_violations
from services.scheduling.roster import effective_assignments, effective_slots, end_hhmm, get_project
from services.scheduling.rostering import Assignment
from services.scheduling.swaps import offer_open
from shared.errors import BusinessRuleViolation, NotFound, ValidationFailed
from shared.uow import UnitOfWork
from shared.workdays import SHANGHAI, today_shanghai

#: the status board asks to be refreshed this often (seed 000: monitoring every 3 minutes at most)
BOARD_REFRESH_SECONDS = 60


def tolerance(project: Project, cfg: SchedulingSettings) -> int:
    return (
        project.clock_tolerance_minutes
        if project.clock_tolerance_minutes is not None
        else cfg.clock_tolerance_minutes
    )


def times(day: dt.date, start_minute: int, minutes: int) -> ShiftTimes:
    begin = instant(day, start_minute)
    return ShiftTimes(begin, begin + dt.timedelta(minutes=minutes))


def record_times(r: AttendanceRecord) -> ShiftTimes:
    return times(r.date, r.start_minute, r.minutes)


def verdict(r: AttendanceRecord, project: Project, cfg: SchedulingSettings, now: dt.datetime) -> Verdict:
    return judge(record_times(r), r.clock_in, r.clock_out, tolerance(project, cfg), now)


def record_dict(r: AttendanceRecord, names: dict[str, str], v: Verdict | None = None) -> dict[str, Any]:
    return {
        "id": r.id,
        "project_id": r.project_id,
        "agent_id": r.agent_id,
        "agent_name": names.get(r.agent_id),
        "date": r.date,
        "shift": r.shift,
        "start": hhmm(r.start_minute % 1440),
        "end": end_hhmm(r.start_minute, r.minutes),
        "clock_in": r.clock_in,
        "clock_out": r.clock_out,
        "status": r.status,
        "late_minutes": r.late_minutes,
        "early_minutes": r.early_minutes,
        "worked_hours": hours_of(v.worked_minutes) if v is not None else None,
        "replacement_id": r.replacement_id,
        "confirmed_hours": r.confirmed_hours,
        "correction_reason": r.correction_reason,
        "confirmed_by": r.confirmed_by,
        "confirmed_at": r.confirmed_at,
        "timesheet_id": r.timesheet_id,
    }


def _running(
    session: Any, project_id: str, now: dt.datetime, *, agent_id: str | None = None, early: int = 0
) -> list[RosterAssignment]:
    """Shifts in force (today's, and yesterday's still running past midnight) open at ``now``."""
    today = today_shanghai(now)
    rows, _ = effective_assignments(
        session, project_id, today - dt.timedelta(days=1), today, agent_id=agent_id
    )
    out = []
    for r in rows:
        t = times(r.date, r.start_minute, r.minutes)
        if t.starts_at - dt.timedelta(minutes=early) <= now < t.ends_at:
            out.append(r)
    return out


def _record(session: Any, project_id: str, agent_id: str, day: dt.date) -> AttendanceRecord | None:
    return session.scalar(
        select(AttendanceRecord).where(
            AttendanceRecord.project_id == project_id,
            AttendanceRecord.agent_id == agent_id,
            AttendanceRecord.date == day,
        )
    )


def _who(uow: UnitOfWork, agent_id: str | None) -> str:
    if uow.actor.role == "agent":
        return uow.actor.sub
    if not agent_id:
        raise ValidationFailed({"agent_id": ["required when a supervisor clocks an agent in or out"]})
    return agent_id


def clock_in(
    uow: UnitOfWork, project_id: str, agent_id: str | None, cfg: SchedulingSettings
) -> dict[str, Any]:
    """Clock in to the shift starting within the next hour or running now."""
    project = project_for(uow, project_id)
    me = _who(uow, agent_id)
    now = uow.now()
    session = uow.session
    if (
        session.scalar(
            select(PoolAgent.id).where(PoolAgent.project_id == project.id, PoolAgent.agent_id == me)
        )
        is None
    ):
        raise NotFound(f"Agent {me} is not in project {project.id}'s pool.")
    missed = session.scalars(
        select(AttendanceRecord).where(
            AttendanceRecord.project_id == project.id,
            AttendanceRecord.agent_id == me,
            AttendanceRecord.status == "no_show",
            AttendanceRecord.date >= today_shanghai(now) - dt.timedelta(days=1),
        )
    ).all()
    for gone in missed:
        if now < record_times(gone).ends_at:
            raise BusinessRuleViolation(
                f"Agent {me} was recorded as a no-show for the {gone.shift} shift on {gone.date.isoformat()}"
                + (f" and agent {gone.replacement_id} was called in" if gone.replacement_id else "")
                + "; ask the on-duty supervisor.",
                rule="no-show-recorded",
                status=409,
            )
    running = _running(session, project.id, now, agent_id=me, early=cfg.early_clock_in_minutes)
    record = None
    if not running:
        # a reserve called in for a no-show has a record before the roster row shows the shift to them
        record = session.scalar(
            select(AttendanceRecord).where(
                AttendanceRecord.project_id == project.id,
                AttendanceRecord.agent_id == me,
                AttendanceRecord.clock_in.is_(None),
                AttendanceRecord.status == "on_duty",
            )
        )
        if record is None:
            raise BusinessRuleViolation(
                f"Agent {me} has no shift in project {project.id} running now or starting within "
                f"{cfg.early_clock_in_minutes} minutes; clock in when the shift is near.",
                rule="no-shift",
                status=409,
            )
    else:
        shift = running[0]
        record = _record(session, project.id, me, shift.date)
        if record is None:
            record = AttendanceRecord(
                id=str(uuid.uuid4()),
                project_id=project.id,
                agent_id=me,
                date=shift.date,
                shift=shift.shift,
                start_minute=shift.start_minute,
                minutes=shift.minutes,
                status="on_duty",
                late_minutes=0,
                early_minutes=0,
            )
            session.add(record)
    if record.clock_in is not None:
        raise BusinessRuleViolation(
            f"Agent {me} already clocked in at {record.clock_in.astimezone(SHANGHAI):%H:%M} for this shift.",
            rule="already-clocked-in",
            status=409,
        )
    record.clock_in = now
    v = verdict(record, project, cfg, now)
    record.status, record.late_minutes = ("late" if v.late_minutes else "on_duty"), v.late_minutes
    record.updated_at = now
    session.flush()
    return record_dict(record, agent_names(session, project.id), v)


def clock_out(
    uow: UnitOfWork, project_id: str, agent_id: str | None, cfg: SchedulingSettings
) -> dict[str, Any]:
    project = project_for(uow, project_id)
    me = _who(uow, agent_id)
    now = uow.now()
    session = uow.session
    record = session.scalar(
        select(AttendanceRecord)
        .where(
            AttendanceRecord.project_id == project.id,
            AttendanceRecord.agent_id == me,
            AttendanceRecord.clock_in.is_not(None),
            AttendanceRecord.clock_out.is_(None),
        )
        .order_by(AttendanceRecord.date.desc())
    )
    if record is None:
        raise BusinessRuleViolation(
            f"Agent {me} is not clocked in on project {project.id}; clock in first.",
            rule="not-clocked-in",
            status=409,
        )
    record.clock_out = now
    v = verdict(record, project, cfg, now)
    record.status, record.late_minutes, record.early_minutes = v.status, v.late_minutes, v.early_minutes
    record.updated_at = now
    session.flush()
    return record_dict(record, agent_names(session, project.id), v)


# --- the worker's check: no-shows and uncovered shifts -----------------------------------------------


def check_attendance(uow: UnitOfWork, cfg: SchedulingSettings) -> dict[str, int]:
    """For every running project: mark no-shows past the tolerance, call the reserve, alert on gaps."""
    session = uow.session
    counts = {"no_shows": 0, "replaced": 0, "uncovered": 0}
    for project_id in session.scalars(
        select(Project.id).where(Project.status == "confirmed").order_by(Project.id)
    ).all():
        project = get_project(session, project_id, for_update=True)
        result = _check_project(uow, project, cfg)
        for k in counts:
            counts[k] += result[k]
    return counts


def _check_project(uow: UnitOfWork, project: Project, cfg: SchedulingSettings) -> dict[str, int]:
    session = uow.session
    now = uow.now()
    grace = dt.timedelta(minutes=tolerance(project, cfg))
    counts = {"no_shows": 0, "replaced": 0, "uncovered": 0}
    today = today_shanghai(now)
    rows, chosen = effective_assignments(session, project.id, today - dt.timedelta(days=1), today)
    records = {
        (r.agent_id, r.date): r
        for r in session.scalars(
            select(AttendanceRecord).where(
                AttendanceRecord.project_id == project.id,
                AttendanceRecord.date >= today - dt.timedelta(days=1),
            )
        )
    }
    for row in rows:
        record = records.get((row.agent_id, row.date))
        if record is not None and (record.clock_in is not None or record.status == "no_show"):
            continue
        t = record_times(record) if record is not None else times(row.date, row.start_minute, row.minutes)
        # strictly past the tolerance: an agent exactly at the tolerance is still on time
        if now <= t.starts_at + grace:
            continue
        counts["no_shows"] += 1
        if _no_show(uow, project, row, record, now, t, cfg):
            counts["replaced"] += 1
    for slot in effective_slots(session, chosen):
        t = times(slot.date, slot.start_minute, slot.minutes)
        if slot.missing > 0 and t.starts_at + grace < now < t.ends_at:
            counts["uncovered"] += 1
            alerts.raise_alert(
                uow,
                project_id=project.id,
                kind="uncovered",
                title=f"班次缺人：{slot.date.isoformat()} {slot.shift}",
                body=f"{project.company_name or project.id} 的 {slot.shift} 班"
                f"（{hhmm(slot.start_minute)} 起）还缺 {slot.missing} 人：{slot.detail or slot.rule or ''}",
                data={"date": slot.date.isoformat(), "shift": slot.shift, "missing": slot.missing},
                dedup_key=f"uncovered:{project.id}:{slot.date.isoformat()}:{slot.shift}",
            )
    return counts


def _no_show(
    uow: UnitOfWork,
    project: Project,
    row: RosterAssignment,
    record: AttendanceRecord | None,
    now: dt.datetime,
    t: ShiftTimes,
    cfg: SchedulingSettings,
) -> bool:
    """Record the no-show; while the shift still runs, hand it to the first reserve the rules allow."""
    session = uow.session
    if record is None:
        record = AttendanceRecord(
            id=str(uuid.uuid4()),
            project_id=project.id,
            agent_id=row.agent_id,
            date=row.date,
            shift=row.shift,
            start_minute=row.start_minute,
            minutes=row.minutes,
            late_minutes=0,
            early_minutes=0,
        )
        session.add(record)
    record.status = "no_show"
    record.updated_at = now
    replacement: str | None = None
    if now < t.ends_at:
        days = load_days(uow, project, row.date, row.date, cfg)
        replacement = _call_reserve(uow, days, row, now, cfg)
    record.replacement_id = replacement
    names = agent_names(session, project.id)
    who = names.get(row.agent_id, row.agent_id)
    uow.emit(
        "agent.no_show",
        {
            "project_id": project.id,
            "agent_id": row.agent_id,
            "shift": row.shift,
            "replacement_id": replacement,
            "date": row.date,
            "start": hhmm(row.start_minute % 1440),
        },
    )
    alerts.raise_alert(
        uow,
        project_id=project.id,
        kind="no_show",
        title=f"缺勤：{who} 未打卡",
        body=f"{who} 的 {row.date.isoformat()} {row.shift} 班"
        f"（{hhmm(row.start_minute % 1440)} 起）超过容差未打卡，"
        + (
            f"已调用备岗 {names.get(replacement, replacement)} 顶班。"
            if replacement
            else "没有可顶班的备岗人员。"
        ),
        data={
            "agent_id": row.agent_id,
            "date": row.date.isoformat(),
            "shift": row.shift,
            "replacement_id": replacement,
        },
        dedup_key=f"no_show:{project.id}:{row.agent_id}:{row.date.isoformat()}",
    )
    if replacement is None and now < t.ends_at:
        alerts.raise_alert(
            uow,
            project_id=project.id,
            kind="reserve_shortfall",
            title=f"备岗不足：{row.date.isoformat()} {row.shift}",
            body=f"{who} 缺勤，备岗池中没有人能在劳动规则内顶这个班；班次已作为开放班次发布。",
            data={"agent_id": row.agent_id, "date": row.date.isoformat(), "shift": row.shift},
            dedup_key=f"reserve_shortfall:no_show:{project.id}:{row.agent_id}:{row.date.isoformat()}",
        )
    session.flush()
    return replacement is not None


def _call_reserve(
    uow: UnitOfWork, days: DayRoster, row: RosterAssignment, now: dt.datetime, cfg: SchedulingSettings
) -> str | None:
    """The best reserve agent free within the rules takes the rest of the shift (a new roster version)."""
    session = uow.session
    missed = Assignment(row.agent_id, row.date, row.shift, row.start_minute, row.minutes, row.skill)
    others = [a for a in days.shifts() if a != missed]
    absent = set(
        session.scalars(
            select(AttendanceRecord.agent_id).where(
                AttendanceRecord.project_id == days.project.id,
                AttendanceRecord.date == row.date,
                AttendanceRecord.status == "no_show",
            )
        )
    )
    for member in days.members:
        candidate = member.agent.agent_id
        if member.role != "reserve" or candidate == row.agent_id or candidate in absent:
            continue
        new = Assignment(candidate, row.date, row.shift, row.start_minute, row.minutes, row.skill)
        if rule_violations(days, candidate, new, cfg.rules):
            continue
        publish_days(uow, days, [*others, new], reason="no-show", roles={candidate: "reserve"})
        # the reserve is expected from now (plus the tolerance), not from the shift's start
        called = int((now - times(row.date, 0, 0).starts_at).total_seconds() // 60)
        start = max(row.start_minute, called)
        session.add(
            AttendanceRecord(
                id=str(uuid.uuid4()),
                project_id=days.project.id,
                agent_id=candidate,
                date=row.date,
                shift=row.shift,
                start_minute=start,
                minutes=row.start_minute + row.minutes - start,
                status="on_duty",
                late_minutes=0,
                early_minutes=0,
                updated_at=now,
            )
        )
        return candidate
    offer_open(uow, days.project.id, row.date, missed, 1, "no-show")
    publish_days(uow, days, others, reason="no-show")
    return None


# --- confirmation into the timesheet ---------------------------------------------------------------


def _confirmable(r: AttendanceRecord, project: Project, cfg: SchedulingSettings, now: dt.datetime) -> Verdict:
    v = verdict(r, project, cfg, now)
    if r.status != "no_show" and r.clock_out is None and now < record_times(r).ends_at:
        raise BusinessRuleViolation(
            f"Agent {r.agent_id}'s {r.shift} shift on {r.date.isoformat()} is not over and not clocked out; "
            "confirm it when it is.",
            rule="shift-not-over",
            status=409,
        )
    return v


def confirm_record(
    uow: UnitOfWork, project_id: str, record_id: str, data: dict[str, Any], cfg: SchedulingSettings
) -> dict[str, Any]:
    """Confirm a record's hours into the timesheet, or correct them (a reason is then required)."""
    project = project_for(uow, project_id)
    record = uow.session.get(AttendanceRecord, record_id, with_for_update=True)
    if record is None or record.project_id != project.id:
        raise NotFound(f"There is no attendance record {record_id} in project {project_id}.")
    _confirm(uow, project, record, data.get("hours"), data.get("reason"), cfg)
    uow.session.flush()
    return record_dict(record, agent_names(uow.session, project.id), verdict(record, project, cfg, uow.now()))


def confirm_day(uow: UnitOfWork, project_id: str, day: dt.date, cfg: SchedulingSettings) -> dict[str, Any]:
    """Confirm every unconfirmed, finished record of a day with the hours the clock gives."""
    project = project_for(uow, project_id)
    now = uow.now()
    rows = uow.session.scalars(
        select(AttendanceRecord)
        .where(
            AttendanceRecord.project_id == project.id,
            AttendanceRecord.date == day,
            AttendanceRecord.confirmed_at.is_(None),
        )
        .order_by(AttendanceRecord.agent_id)
        .with_for_update()
    ).all()
    confirmed, waiting = [], []
    for record in rows:
        if record.status != "no_show" and record.clock_out is None and now < record_times(record).ends_at:
            waiting.append(record.agent_id)
            continue
        _confirm(uow, project, record, None, None, cfg)
        confirmed.append(record)
    uow.session.flush()
    names = agent_names(uow.session, project.id)
    return {
        "date": day,
        "confirmed": [record_dict(r, names, verdict(r, project, cfg, now)) for r in confirmed],
        "waiting": waiting,
    }


def _confirm(
    uow: UnitOfWork,
    project: Project,
    record: AttendanceRecord,
    hours: Decimal | None,
    reason: str | None,
    cfg: SchedulingSettings,
) -> None:
    now = uow.now()
    v = _confirmable(record, project, cfg, now)
    if record.status != "no_show" and record.clock_out is None:
        # clocked in and never out: the shift's end stands in for the clock-out, and the record says so
        v = judge(
            record_times(record), record.clock_in, record_times(record).ends_at, tolerance(project, cfg), now
        )
    clocked = Decimal(hours_of(v.worked_minutes))
    corrected = hours is not None and Decimal(hours) != clocked
    if corrected and not (reason and reason.strip()):
        raise ValidationFailed(
            {"reason": [f"a correction of the clocked {clocked} hours to {hours} needs a reason"]},
            detail="Say why the hours differ from the clock; nothing was confirmed.",
        )
    final = Decimal(hours).quantize(Decimal("0.01")) if hours is not None else clocked
    if final > 0:
        result = timesheets.record_timesheets(
            uow,
            [
                {
                    "project_id": project.id,
                    "agent_id": record.agent_id,
                    "date": record.date,
                    "hours": final,
                    "note": f"attendance {record.status}" + (f"; corrected: {reason}" if corrected else ""),
                }
            ],
        )
        record.timesheet_id = result["items"][0]["id"]
    record.confirmed_hours = final
    record.correction_reason = reason.strip() if corrected and reason else None
    record.confirmed_by = uow.actor.label[:100]
    record.confirmed_at = now
    record.updated_at = now
    uow.emit(
        "attendance.recorded",
        {
            "project_id": project.id,
            "agent_id": record.agent_id,
            "date": record.date,
            "clock_in": record.clock_in,
            "clock_out": record.clock_out,
            "status": "no_show"
            if record.status == "no_show"
            else v.status
            if v.status != "on_duty"
            else "present",
            "shift": record.shift,
            "late_minutes": v.late_minutes,
            "early_minutes": v.early_minutes,
            "hours": final,
            "corrected": corrected,
        },
    )


def day_records(uow: UnitOfWork, project_id: str, day: dt.date, cfg: SchedulingSettings) -> dict[str, Any]:
    """A day's attendance: every rostered shift with its record (or none yet)."""
    project = project_for(uow, project_id)
    now = uow.now()
    session = uow.session
    stmt = select(AttendanceRecord).where(
        AttendanceRecord.project_id == project.id, AttendanceRecord.date == day
    )
    if uow.actor.role == "agent":
        stmt = stmt.where(AttendanceRecord.agent_id == uow.actor.sub)
    rows = session.scalars(stmt.order_by(AttendanceRecord.start_minute, AttendanceRecord.agent_id)).all()
    names = agent_names(session, project.id)
    return {
        "project_id": project.id,
        "date": day,
        "tolerance_minutes": tolerance(project, cfg),
        "items": [record_dict(r, names, verdict(r, project, cfg, now)) for r in rows],
        "total": len(rows),
    }


# --- the live status board ---------------------------------------------------------------------------


def _overlap(a: dt.datetime, b: dt.datetime, c: dt.datetime, d: dt.datetime) -> int:
    return max(0, int((min(b, d) - max(a, c)).total_seconds() // 60))


def status_board(
    uow: UnitOfWork, project_id: str, at: dt.datetime | None, cfg: SchedulingSettings
) -> dict[str, Any]:
    """Who should be on duty at ``at`` (default now) and who is clocked in; gaps; the day's adherence."""
    project = project_for(uow, project_id)
    now = at or uow.now()
    session = uow.session
    today = today_shanghai(now)
    grace = dt.timedelta(minutes=tolerance(project, cfg))
    rows, chosen = effective_assignments(session, project.id, today - dt.timedelta(days=1), today)
    records = {
        (r.agent_id, r.date): r
        for r in session.scalars(
            select(AttendanceRecord).where(
                AttendanceRecord.project_id == project.id,
                AttendanceRecord.date >= today - dt.timedelta(days=1),
                AttendanceRecord.date <= today,
            )
        )
    }
    names = agent_names(session, project.id)
    on_duty: list[dict[str, Any]] = []
    adherence_rows: list[dict[str, Any]] = []
    gaps: list[dict[str, Any]] = []
    for row in rows:
        t = times(row.date, row.start_minute, row.minutes)
        record = records.get((row.agent_id, row.date))
        rt = record_times(record) if record is not None else t
        clocked_in = record.clock_in if record is not None else None
        clocked_out = record.clock_out if record is not None else None
        if record is not None and record.status == "no_show":
            state = "no_show"
        elif clocked_out is not None and clocked_out <= now:
            state = "clocked_out"
        elif clocked_in is not None and clocked_in <= now:
            state = "clocked_in"
        elif now > rt.starts_at + grace:
            state = "missing"
        elif now >= rt.starts_at:
            state = "not_yet"
        else:
            state = "upcoming"
        item = {
            "agent_id": row.agent_id,
            "agent_name": names.get(row.agent_id),
            "date": row.date,
            "shift": row.shift,
            "start": hhmm(row.start_minute),
            "end": end_hhmm(row.start_minute, row.minutes),
            "role": row.role,
            "skill": row.skill,
            "clock_in": clocked_in,
            "clock_out": clocked_out,
            "state": state,
            "late_minutes": record.late_minutes if record is not None else 0,
        }
        if t.starts_at <= now < t.ends_at:
            on_duty.append(item)
            if state == "missing":
                gaps.append(
                    {"kind": "not-clocked-in", "agent_id": row.agent_id, "shift": row.shift, "missing": 1}
                )
        if row.date == today:
            scheduled = _overlap(rt.starts_at, rt.ends_at, rt.starts_at, now)
            worked = 0
            if clocked_in is not None:
                worked = _overlap(rt.starts_at, rt.ends_at, clocked_in, min(clocked_out or now, now))
            adherence_rows.append(
                {
                    **item,
                    "scheduled_minutes": scheduled,
                    "worked_minutes": worked,
                    "adherence": adherence(scheduled, worked),
                }
            )
    for slot in effective_slots(session, chosen):
        t = times(slot.date, slot.start_minute, slot.minutes)
        if slot.missing > 0 and t.starts_at <= now < t.ends_at:
            gaps.append(
                {
                    "kind": "roster-gap",
                    "shift": slot.shift,
                    "missing": slot.missing,
                    "rule": slot.rule,
                    "detail": slot.detail,
                }
            )
    # no-shows of running shifts whose replacement never came: they are counted through their record
    for record in records.values():
        rt = record_times(record)
        if record.status == "no_show" and record.replacement_id is None and rt.starts_at <= now < rt.ends_at:
            gaps.append(
                {
                    "kind": "no-show-unreplaced",
                    "agent_id": record.agent_id,
                    "shift": record.shift,
                    "missing": 1,
                }
            )
    clocked = sum(1 for i in on_duty if i["state"] == "clocked_in")
    total_scheduled = sum(r["scheduled_minutes"] for r in adherence_rows)
    total_worked = sum(min(r["worked_minutes"], r["scheduled_minutes"]) for r in adherence_rows)
    return {
        "project_id": project.id,
        "at": now,
        "date": today,
        "refresh_seconds": BOARD_REFRESH_SECONDS,
        "tolerance_minutes": tolerance(project, cfg),
        "expected": len(on_duty),
        "clocked_in": clocked,
        "missing": sum(g["missing"] for g in gaps),
        "on_duty": on_duty,
        "gaps": gaps,
        "adherence": adherence_rows,
        "day_adherence": adherence(total_scheduled, total_worked),
    }


def settings_view(project: Project, cfg: SchedulingSettings) -> dict[str, Any]:
    return {
        "project_id": project.id,
        "clock_tolerance_minutes": tolerance(project, cfg),
        "clock_tolerance_default": project.clock_tolerance_minutes is None,
        "settlement_limit_amount": project.settlement_limit_amount,
        "settlement_limit_pct": project.settlement_limit_pct,
    }


def update_settings(
    uow: UnitOfWork, project_id: str, data: dict[str, Any], cfg: SchedulingSettings
) -> dict[str, Any]:
    """Set a project's clock-in tolerance and the agents' settlement authority (null: back to default)."""
    project = project_for(uow, project_id, for_update=True)
    for key in ("clock_tolerance_minutes", "settlement_limit_amount", "settlement_limit_pct"):
        if key in data:
            setattr(project, key, data[key])
    uow.session.flush()
    return settings_view(project, cfg)
