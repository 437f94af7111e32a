"""One agent's own shifts across every project whose pool they are in (我的排班): the agent's calendar.

The roster endpoints answer per project; an agent (and the console's calendar page) needs the other
cut — all of one person's shifts in a date range, whichever project they belong to — as JSON and as an
iCalendar feed an agent's phone can subscribe to.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, ValidationError, fields, validates_schema
from sqlalchemy import select

from services.scheduling.config import SchedulingSettings
from services.scheduling.exports import IcsEvent, ics_calendar
from services.scheduling.models import PoolAgent, Project
from services.scheduling.queries import shift_dict
from services.scheduling.roster import effective_assignments, pool_members
from shared.errors import ValidationFailed
from shared.uow import UnitOfWork
from shared.workdays import SHANGHAI, today_shanghai

#: without dates: from today, this many days ahead (two rostering periods of 14 days and a margin)
DEFAULT_DAYS = 31
#: a calendar query covers at most this many days (a year of shifts, about 250 events)
MAX_DAYS = 366


class AgentShiftsArgs(Schema):
    from_ = fields.Date(
        data_key="from", metadata={"description": "first day (default: today, Asia/Shanghai)"}
    )
    to = fields.Date(metadata={"description": f"last day (default: {DEFAULT_DAYS} days after from)"})

    @validates_schema
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("from_") and data.get("to") and data["to"] < data["from_"]:
            raise ValidationError(f"must be on or after from ({data['from_'].isoformat()})", "to")


class AgentShiftSchema(Schema):
    project_id = fields.String()
    project_name = fields.String(allow_none=True, metadata={"description": "the merchant's company name"})
    date = fields.Date()
    shift = fields.String(metadata={"description": "morning | afternoon | night"})
    start = fields.String(metadata={"description": "HH:MM, Asia/Shanghai"})
    end = fields.String(metadata={"description": "HH:MM (the next day for a night shift past midnight)"})
    hours = fields.String(metadata={"description": "decimal hours"})
    role = fields.String(metadata={"description": "active | reserve when rostered"})
    version = fields.Integer(metadata={"description": "the roster version in force for that day"})
    starts_at = fields.AwareDateTime(metadata={"description": "the shift's start as an instant"})
    ends_at = fields.AwareDateTime(metadata={"description": "the shift's end as an instant"})


class AgentProjectSchema(Schema):
    project_id = fields.String()
    project_name = fields.String(allow_none=True)
    project_status = fields.String(metadata={"description": "confirmed | closed"})
    service_start = fields.String(allow_none=True)
    service_end = fields.String(allow_none=True)
    role = fields.String(metadata={"description": "active | reserve | departed"})
    part_time = fields.Boolean()
    departed_on = fields.Date(allow_none=True)


class AgentProjectsSchema(Schema):
    agent_id = fields.String()
    items = fields.List(fields.Nested(AgentProjectSchema))
    total = fields.Integer()


class AgentShiftsSchema(Schema):
    agent_id = fields.String()
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    items = fields.List(fields.Nested(AgentShiftSchema))
    total = fields.Integer()


def date_range(args: dict[str, Any], today: dt.date) -> tuple[dt.date, dt.date]:
    start: dt.date = args.get("from_") or today
    end: dt.date = args.get("to") or start + dt.timedelta(days=DEFAULT_DAYS - 1)
    if end < start:  # only ``to`` given, before today
        start = end
    if (end - start).days + 1 > MAX_DAYS:
        raise ValidationFailed({"to": [f"a calendar query covers at most {MAX_DAYS} days"]})
    return start, end


def _instants(day: dt.date, start: str, hours: str) -> tuple[dt.datetime, dt.datetime]:
    begin = dt.datetime.combine(day, dt.time(int(start[:2]), int(start[3:])), SHANGHAI)
    return begin, begin + dt.timedelta(hours=float(hours))


def agent_shifts(uow: UnitOfWork, agent_id: str, args: dict[str, Any]) -> dict[str, Any]:
    """The roster in force for each project the agent is in, this agent's shifts only, by time.

    Without dates from today (Shanghai) for 31 days, at most 366 days.
    """
    session = uow.session
    start, end = date_range(args, today_shanghai(uow.now()))
    project_ids = session.scalars(
        select(PoolAgent.project_id).where(PoolAgent.agent_id == agent_id).order_by(PoolAgent.project_id)
    ).all()
    names = dict(
        session.execute(select(Project.id, Project.company_name).where(Project.id.in_(project_ids))).all()
    )
    items: list[dict[str, Any]] = []
    for project_id in project_ids:  # an agent is in one or two projects: a query per project is fine
        rows, chosen = effective_assignments(session, project_id, start, end, agent_id=agent_id)
        for row in rows:
            shift = shift_dict(row, chosen[row.date].version, {})
            starts_at, ends_at = _instants(row.date, shift["start"], shift["hours"])
            items.append(
                {
                    "project_id": project_id,
                    "project_name": names.get(project_id),
                    "date": row.date,
                    "shift": row.shift,
                    "start": shift["start"],
                    "end": shift["end"],
                    "hours": shift["hours"],
                    "role": row.role,
                    "version": shift["version"],
                    "starts_at": starts_at,
                    "ends_at": ends_at,
                }
            )
    items.sort(key=lambda s: (s["starts_at"], s["project_id"]))
    return {"agent_id": agent_id, "from_": start, "to": end, "items": items, "total": len(items)}


def agent_projects(uow: UnitOfWork, agent_id: str, cfg: SchedulingSettings) -> dict[str, Any]:
    """The projects whose pool the agent is in, with their role there (active / reserve / departed): a
    reserve agent never rostered yet still takes swaps and claims open shifts in them."""
    session = uow.session
    rows = session.scalars(
        select(PoolAgent).where(PoolAgent.agent_id == agent_id).order_by(PoolAgent.admitted_at, PoolAgent.id)
    ).all()
    items = []
    for row in rows:
        project = session.get(Project, row.project_id)
        if project is None:
            continue
        role = "departed"
        if row.departed_on is None:
            role = next(
                (m.role for m in pool_members(session, project, cfg) if m.agent.agent_id == agent_id),
                "reserve",
            )
        items.append(
            {
                "project_id": project.id,
                "project_name": project.company_name,
                "project_status": project.status,
                "service_start": project.service_start,
                "service_end": project.service_end,
                "role": role,
                "part_time": bool(row.part_time),
                "departed_on": row.departed_on,
            }
        )
    return {"agent_id": agent_id, "items": items, "total": len(items)}


def agent_ics(view: dict[str, Any], now: dt.datetime, *, calendar_name: str | None = None) -> str:
    """The agent's shifts as an iCalendar feed, with a UID stable across roster versions (one shift a day
    per agent per project)."""
    events = [
        IcsEvent(
            uid=f"{s['project_id']}-{view['agent_id']}-{s['date'].isoformat()}@yunkefu",
            starts_at=s["starts_at"],
            ends_at=s["ends_at"],
            summary=f"{s['project_name'] or s['project_id']}: {s['shift']} shift ({s['start']}-{s['end']})",
            description=f"{s['role']}, roster v{s['version']}",
        )
        for s in view["items"]
    ]
    return ics_calendar(calendar_name or "My shifts", "-//yunkefu//scheduling agent//EN", now, events)
