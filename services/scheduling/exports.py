"""Files out: the roster and timesheets as spreadsheets (through shared.tabular) and the roster as .ics."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import icalendar

from services.scheduling.models import Project, TimesheetEntry
from shared.tabular import Column
from shared.workdays import SHANGHAI

ROSTER_COLUMNS: tuple[Column, ...] = (
    Column("date", "日期", kind="date"),
    Column("shift", "班次"),
    Column("start", "开始"),
    Column("end", "结束"),
    Column("hours", "工时(小时)", kind="number"),
    Column("agent_id", "坐席编号"),
    Column("agent_name", "坐席姓名"),
    Column("role", "岗位"),
    Column("version", "排班版本", kind="integer"),
    Column("uncovered", "缺员人数", kind="integer"),
    Column("rule", "缺员原因"),
)


def roster_rows(view: dict[str, Any]) -> list[list[Any]]:
    """One row per shift, then one per uncovered shift: its missing headcount and the rule that left it
    short, in columns of their own (the agent columns stay empty)."""
    rows: list[list[Any]] = [
        [s["date"], s["shift"], s["start"], s["end"], Decimal(s["hours"]), s["agent_id"], s["agent_name"],
         s["role"], s["version"], None, None]
        for s in view["items"]
    ]  # fmt: skip
    rows += [
        [g["date"], g["shift"], g["start"], g["end"], None, None, None, None, None, g["missing"], g["rule"]]
        for g in view["uncovered"]
    ]
    return rows


@dataclass(frozen=True)
class IcsEvent:
    uid: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    summary: str
    description: str


def ics_calendar(name: str, prodid: str, now: dt.datetime, events: Iterable[IcsEvent]) -> str:
    """An iCalendar feed (RFC 5545, written by the ``icalendar`` package: escaping, folding, CRLF).

    Times in UTC (``Z``), so that every calendar app shows them in its own zone; a UID stable across
    roster versions, so that a re-published roster moves an event instead of adding a second one.
    """
    calendar = icalendar.Calendar()
    calendar.add("prodid", prodid)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    # X- properties default to raw text: vText escapes the commas and semicolons of a shop's name
    calendar.add("x-wr-calname", icalendar.vText(name))
    calendar.add("x-wr-timezone", "Asia/Shanghai")
    stamp = now.astimezone(dt.UTC)
    for e in events:
        event = icalendar.Event()
        event.add("uid", e.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", e.starts_at.astimezone(dt.UTC))
        event.add("dtend", e.ends_at.astimezone(dt.UTC))
        event.add("summary", e.summary)
        event.add("description", e.description)
        calendar.add_component(event)
    return calendar.to_ical().decode()


def roster_ics(view: dict[str, Any], project: Project, now: dt.datetime) -> str:
    """The project's shifts as an iCalendar feed."""
    title = project.company_name or project.id
    events = []
    for s in view["items"]:
        start_local = dt.datetime.combine(s["date"], dt.time(), SHANGHAI) + dt.timedelta(
            minutes=int(s["start"][:2]) * 60 + int(s["start"][3:])
        )
        who = s["agent_name"] or s["agent_id"]
        events.append(
            IcsEvent(
                # stable across roster versions: one shift a day per agent per project
                uid=f"{project.id}-{s['agent_id']}-{s['date'].isoformat()}@yunkefu",
                starts_at=start_local,
                ends_at=start_local + dt.timedelta(hours=float(s["hours"])),
                summary=f"{title}: {s['shift']} shift ({s['start']}-{s['end']})",
                description=f"agent {who}, {s['role']}, roster v{s['version']}",
            )
        )
    return ics_calendar(f"{title} roster", "-//yunkefu//scheduling//EN", now, events)


TIMESHEET_COLUMNS: tuple[Column, ...] = (
    Column("date", "日期", kind="date"),
    Column("project_id", "项目编号"),
    Column("agent_id", "坐席编号"),
    Column("hours", "工时(小时)", kind="number"),
    Column("current", "当前有效", kind="bool"),
    Column("recorded_at", "录入时间", kind="datetime"),
    Column("recorded_by", "录入人"),
    Column("note", "备注"),
)


def timesheet_rows(rows: Iterable[TimesheetEntry]) -> list[list[Any]]:
    return [
        [t.date, t.project_id, t.agent_id, Decimal(t.hours).quantize(Decimal("0.01")),
         t.superseded_at is None, t.recorded_at, t.recorded_by, t.note]
        for t in rows
    ]  # fmt: skip
