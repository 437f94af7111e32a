"""The on-duty supervisor desk (值班主管) and mass attrition (全员上岗).

Seed 004 keeps a project supervisor on duty at every service hour to answer agents: the **duty rota** is
a list of desk shifts per project, its **gaps** are the service minutes nobody covers, and ``on_duty``
says who is at the desk at an instant. An agent's **help request** (求助: a question, a customer dispute
above the agent's settlement authority per seed 000 §5.2, or a complaint to hand over) reaches the
supervisor on duty with a response-time clock. When departures exceed the reserve, the supervisor may
declare **all-hands**: staff below manager go on agent duty (their entries on the same rota), the
merchant is told, and recruitment is asked once for the real gap.

Times of day are Beijing time; a shift is stored as its start day, start minute and length (it may run
past midnight), and compared as instants.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from services.scheduling import domain, dutyrota
from services.scheduling.config import SchedulingSettings
from services.scheduling.dayrules import instant
from services.scheduling.dutyrota import DAY_MINUTES, Span
from services.scheduling.models import AllHands, DutyShift, HelpRequest, PoolAgent, Project
from services.scheduling.roster import PROJECT_NOT_FOUND, get_project, pool_members, require_schedulable
from shared.errors import BusinessRuleViolation, Forbidden, NotFound, ValidationFailed
from shared.pagination import paginate_args, set_total_count
from shared.uow import UnitOfWork
from shared.workdays import SHANGHAI, today_shanghai

DUTY_KINDS = ("desk", "agent")
HELP_KINDS = ("question", "dispute", "handover")
HELP_STATUSES = ("open", "answered", "handed_over")
#: who a complaint not about the agent is handed to (seed 004 事件应急 ④)
PARTIES = ("warehouse", "product", "merchant", "logistics")
#: staff below manager put on agent duty by an all-hands
STAFF_ROLES = ("supervisor", "team_lead", "trainer", "qa")
#: the longest date range one rota or gap read covers
MAX_RANGE_DAYS = 31

DUTY_NOT_FOUND = "There is no duty shift with this id in this project."
HELP_NOT_FOUND = "There is no help request with this id in this project."
ALL_HANDS_NOT_FOUND = "There is no all-hands with this id in this project."


# --- time ---------------------------------------------------------------------------------------------------


def minute_of(at: dt.datetime, day: dt.date) -> int:
    """Whole minutes from ``day``'s Beijing midnight to ``at`` (rounded down; negative before it)."""
    return math.floor((at - instant(day, 0)).total_seconds() / 60)


def span(row: DutyShift) -> Span:
    return Span(row.date, row.start_minute, row.minutes)


def shift_dict(row: DutyShift, project_name: str | None = None) -> dict[str, Any]:
    return {
        "id": row.id,
        "project_id": row.project_id,
        "project_name": project_name,
        "supervisor_id": row.supervisor_id,
        "supervisor_name": row.supervisor_name,
        "role": row.role,
        "duty": row.duty,
        "date": row.date,
        "start": dutyrota.hhmm(row.start_minute),
        "end": dutyrota.end_hhmm(row.start_minute, row.minutes),
        "minutes": row.minutes,
        "overnight": row.start_minute + row.minutes > DAY_MINUTES,
        "starts_at": instant(row.date, row.start_minute),
        "ends_at": instant(row.date, row.start_minute + row.minutes),
        "all_hands_id": row.all_hands_id,
        "note": row.note,
        "created_by": row.created_by,
        "created_at": row.created_at,
    }


def _date_range(
    uow: UnitOfWork, start: dt.date | None, end: dt.date | None, *, default_days: int
) -> tuple[dt.date, dt.date]:
    first = start or today_shanghai(uow.now())
    last = end or first + dt.timedelta(days=default_days - 1)
    if last < first:
        raise ValidationFailed({"to": [f"must be on or after from ({first.isoformat()})"]})
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise ValidationFailed(
            {
                "to": [
                    f"at most {MAX_RANGE_DAYS} days at a time; {first.isoformat()}..{last.isoformat()} is "
                    f"{(last - first).days + 1}"
                ]
            }
        )
    return first, last


def _live(project: Project, what: str) -> None:
    if project.status != "confirmed":
        raise BusinessRuleViolation(
            f"Project {project.id} is closed; {what} is only possible for a running project.",
            rule="project-closed",
            status=409,
        )


def _desk_rows(session: Session, project_ids: Sequence[str], start: dt.date, end: dt.date) -> list[DutyShift]:
    """Desk shifts starting between ``start`` and ``end`` (a shift lasts at most a day: callers widen the
    range by one day where a shift of the day before may reach in)."""
    if not project_ids:
        return []
    return list(
        session.scalars(
            select(DutyShift)
            .where(
                DutyShift.project_id.in_(project_ids),
                DutyShift.duty == "desk",
                DutyShift.date >= start,
                DutyShift.date <= end,
            )
            .order_by(DutyShift.date, DutyShift.start_minute, DutyShift.id)
        ).all()
    )


# --- who is on duty -----------------------------------------------------------------------------------------


def _covering(rows: Iterable[DutyShift], at: dt.datetime) -> list[DutyShift]:
    """The shifts covering the instant ``at``, the earliest-started first."""
    found = [
        r for r in rows if instant(r.date, r.start_minute) <= at < instant(r.date, r.start_minute + r.minutes)
    ]
    return sorted(found, key=lambda r: (instant(r.date, r.start_minute), r.id))


def on_duty(session: Session, project_id: str, at: dt.datetime) -> DutyShift | None:
    """The desk shift covering the instant ``at`` (aware) on the project: the supervisor a help request
    goes to. With several, the one that started first (it has been at the desk longest); none → None."""
    day = at.astimezone(SHANGHAI).date()
    rows = _desk_rows(session, [project_id], day - dt.timedelta(days=1), day)
    covering = _covering(rows, at)
    return covering[0] if covering else None


def duty_now(uow: UnitOfWork, project: Project) -> dict[str, Any]:
    """Who is at the desk now, who is on agent duty now, and the next desk shift to start."""
    session, now = uow.session, uow.now()
    today = today_shanghai(now)
    rows = session.scalars(
        select(DutyShift)
        .where(
            DutyShift.project_id == project.id,
            DutyShift.date >= today - dt.timedelta(days=1),
            DutyShift.date <= today + dt.timedelta(days=MAX_RANGE_DAYS),
        )
        .order_by(DutyShift.date, DutyShift.start_minute, DutyShift.id)
    ).all()
    desk = _covering((r for r in rows if r.duty == "desk"), now)
    agents = _covering((r for r in rows if r.duty == "agent"), now)
    upcoming = [r for r in rows if r.duty == "desk" and instant(r.date, r.start_minute) > now]
    return {
        "project_id": project.id,
        "at": now,
        "on_duty": shift_dict(desk[0]) if desk else None,
        "desk": [shift_dict(r) for r in desk],
        "agent_duty": [shift_dict(r) for r in agents],
        "next": shift_dict(upcoming[0]) if upcoming else None,
    }


# --- the rota -----------------------------------------------------------------------------------------------


def add_duty_shifts(uow: UnitOfWork, project_id: str, items: Sequence[dict[str, Any]]) -> list[DutyShift]:
    """Put supervisors on desk duty; all the shifts or none.

    A supervisor may cover several projects at once (one desk answers them all), but not the same project
    twice at overlapping times (409 ``duty-overlap``). A shift that would already be over is refused.
    """
    session, now = uow.session, uow.now()
    # the project row is the lock that makes the overlap check safe against a concurrent add
    project = get_project(session, project_id, for_update=True)
    _live(project, "a duty rota")
    problems: dict[str, list[str]] = {}
    planned: list[DutyShift] = []
    for i, item in enumerate(items):
        start_minute, minutes = dutyrota.daily_window(item["start"], item["end"])
        if instant(item["date"], start_minute + minutes) <= now:
            problems[f"shifts.{i}.date"] = [
                f"this shift ({item['date'].isoformat()} {item['start']}–{item['end']}) is already over; the "
                "rota is for now and later"
            ]
        planned.append(
            DutyShift(
                id=str(uuid.uuid4()),
                project_id=project.id,
                supervisor_id=item.get("supervisor_id") or uow.actor.sub,
                supervisor_name=item["supervisor_name"],
                role=None,
                date=item["date"],
                start_minute=start_minute,
                minutes=minutes,
                duty="desk",
                all_hands_id=None,
                note=item.get("note"),
                created_by=uow.actor.label[:100],
                created_at=now,
            )
        )
    if problems:
        raise ValidationFailed(problems)
    first = min(p.date for p in planned) - dt.timedelta(days=1)
    last = max(p.date for p in planned) + dt.timedelta(days=1)
    existing = _desk_rows(session, [project.id], first, last)
    for i, new in enumerate(planned):
        for other in [*existing, *planned[:i]]:
            if other.supervisor_id == new.supervisor_id and dutyrota.overlaps(span(other), span(new)):
                raise BusinessRuleViolation(
                    f"{new.supervisor_name} ({new.supervisor_id}) is already on desk duty for this project "
                    f"on {other.date.isoformat()} {dutyrota.hhmm(other.start_minute)}–"
                    f"{dutyrota.end_hhmm(other.start_minute, other.minutes)}, which overlaps "
                    f"{new.date.isoformat()} {dutyrota.hhmm(new.start_minute)}–"
                    f"{dutyrota.end_hhmm(new.start_minute, new.minutes)}. Change the times, or delete the "
                    "other shift first (a supervisor may cover several projects at once, not one twice).",
                    rule="duty-overlap",
                    status=409,
                    extra={"duty_id": other.id if other in existing else None},
                )
    session.add_all(planned)
    session.flush()
    return planned


def remove_duty_shift(uow: UnitOfWork, project_id: str, duty_id: str) -> dict[str, Any] | None:
    """Take a shift off the rota: a future one is deleted (None); one in progress ends now and is kept as
    the record of who was on duty (its new shape is returned); a finished one stays (409)."""
    session, now = uow.session, uow.now()
    get_project(session, project_id, for_update=True)
    row = session.get(DutyShift, duty_id)
    if row is None or row.project_id != project_id:
        raise NotFound(DUTY_NOT_FOUND)
    if instant(row.date, row.start_minute + row.minutes) <= now:
        raise BusinessRuleViolation(
            f"This duty shift ended at {instant(row.date, row.start_minute + row.minutes).isoformat()}; "
            "a finished shift is the record of who was on duty and is kept.",
            rule="duty-finished",
            status=409,
        )
    if not _cut_at(session, row, now):
        return None
    return shift_dict(row)


def _cut_at(session: Session, row: DutyShift, now: dt.datetime) -> bool:
    """End ``row`` at ``now`` (whole minutes): deleted when it has not begun (False), else shortened."""
    elapsed = minute_of(now, row.date) - row.start_minute
    if elapsed <= 0:
        session.delete(row)
        return False
    row.minutes = min(row.minutes, elapsed)
    return True


def _range_query(stmt: Select[Any], start: dt.date, end: dt.date, args: dict[str, Any]) -> Select[Any]:
    stmt = stmt.where(DutyShift.date >= start, DutyShift.date <= end)
    if args.get("duty"):
        stmt = stmt.where(DutyShift.duty == args["duty"])
    return stmt


DUTY_ORDER = (DutyShift.date, DutyShift.start_minute, DutyShift.id)


def duty_page(uow: UnitOfWork, project: Project, args: dict[str, Any]) -> dict[str, Any]:
    """The project's rota (desk and agent duty) by start day, from today for 31 days unless asked."""
    start, end = _date_range(uow, args.get("from_"), args.get("to"), default_days=MAX_RANGE_DAYS)
    stmt = _range_query(select(DutyShift).where(DutyShift.project_id == project.id), start, end, args)
    if args.get("supervisor_id"):
        stmt = stmt.where(DutyShift.supervisor_id == args["supervisor_id"])
    page = paginate_args(uow.session, stmt, args, order_by=DUTY_ORDER)
    return _page_dict(page, [shift_dict(r, project.company_name) for r in page.items])


def my_duty_page(uow: UnitOfWork, args: dict[str, Any]) -> dict[str, Any]:
    """The caller's duty across projects (desk, and agent duty during an all-hands): their rota."""
    start, end = _date_range(uow, args.get("from_"), args.get("to"), default_days=MAX_RANGE_DAYS)
    stmt = _range_query(select(DutyShift).where(DutyShift.supervisor_id == uow.actor.sub), start, end, args)
    page = paginate_args(uow.session, stmt, args, order_by=DUTY_ORDER)
    rows: list[DutyShift] = list(page.items)
    names = dict(
        uow.session.execute(
            select(Project.id, Project.company_name).where(Project.id.in_({r.project_id for r in rows}))
        ).all()
    )
    return _page_dict(page, [shift_dict(r, names.get(r.project_id)) for r in rows])


def _page_dict(page: Any, items: list[Any]) -> dict[str, Any]:
    return {
        "items": items,
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
        "pages": page.pages,
        "next_after": page.next_after,
    }


# --- gaps ---------------------------------------------------------------------------------------------------


def _service(project: Project) -> tuple[int, int] | None:
    if project.status != "confirmed" or not project.service_start or not project.service_end:
        return None
    try:
        return dutyrota.daily_window(project.service_start, project.service_end)
    except ValueError:
        return None


def _gap_dict(day: dt.date, start: int, end: int) -> dict[str, Any]:
    return {
        "date": day,
        "start": dutyrota.hhmm(start),
        "end": dutyrota.end_hhmm(start, end - start) if end <= DAY_MINUTES else dutyrota.hhmm(end),
        "minutes": end - start,
        "starts_at": instant(day, start),
        "ends_at": instant(day, end),
    }


def _gaps_of(
    project: Project, days: Sequence[dt.date], desk: Sequence[DutyShift]
) -> tuple[int, list[dict[str, Any]]]:
    """(service minutes, gap items) of a project over ``days`` given its desk shifts around them."""
    service = _service(project)
    if service is None:
        return 0, []
    spans = [span(r) for r in desk]
    gaps: list[dict[str, Any]] = []
    for day in days:
        near = [s for s in spans if abs((s.day - day).days) <= 1]
        gaps += [_gap_dict(day, a, b) for a, b in dutyrota.service_gaps(day, service, near)]
    return service[1] * len(days), gaps


def _gaps_view(project: Project, start: dt.date, end: dt.date, desk: Sequence[DutyShift]) -> dict[str, Any]:
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    service_minutes, gaps = _gaps_of(project, days, desk)
    return {
        "project_id": project.id,
        "project_name": project.company_name,
        "status": project.status,
        "service_start": project.service_start,
        "service_end": project.service_end,
        "from_": start,
        "to": end,
        "service_minutes": service_minutes,
        "gap_minutes": sum(g["minutes"] for g in gaps),
        "gaps": gaps,
    }


def project_gaps(uow: UnitOfWork, project: Project, args: dict[str, Any]) -> dict[str, Any]:
    """The project's service minutes no desk shift covers, day by day (a closed project has none)."""
    start, end = _date_range(uow, args.get("from_"), args.get("to"), default_days=1)
    one = dt.timedelta(days=1)
    desk = _desk_rows(uow.session, [project.id], start - one, end + one)
    return _gaps_view(project, start, end, desk)


def vendor_gaps(uow: UnitOfWork, args: dict[str, Any]) -> dict[str, Any]:
    """Every live project's rota gaps on one service day, projects with the most uncovered minutes first."""
    day = args.get("date") or today_shanghai(uow.now())
    one = dt.timedelta(days=1)
    projects = uow.session.scalars(
        select(Project).where(Project.status == "confirmed").order_by(Project.id)
    ).all()
    desk = _desk_rows(uow.session, [p.id for p in projects], day - one, day + one)
    by_project: dict[str, list[DutyShift]] = defaultdict(list)
    for row in desk:
        by_project[row.project_id].append(row)
    views = [_gaps_view(p, day, day, by_project[p.id]) for p in projects]
    uncovered = [v for v in views if v["gap_minutes"]]
    listed = uncovered if args.get("uncovered_only") else views
    listed.sort(key=lambda v: (-v["gap_minutes"], v["project_id"]))
    page, per_page = args["page"], args["per_page"]
    set_total_count(len(listed))
    return {
        "date": day,
        "projects": len(views),
        "uncovered_projects": len(uncovered),
        "gap_minutes": sum(v["gap_minutes"] for v in views),
        "items": listed[(page - 1) * per_page : page * per_page],
        "total": len(listed),
        "page": page,
        "per_page": per_page,
        "pages": math.ceil(len(listed) / per_page),
    }


# --- help requests (求助) -----------------------------------------------------------------------------------


def _waiting(row: HelpRequest, now: dt.datetime) -> int:
    if row.waited_seconds is not None:
        return row.waited_seconds
    return max(0, math.floor((now - row.requested_at).total_seconds()))


def help_dict(row: HelpRequest, now: dt.datetime) -> dict[str, Any]:
    answered_by_duty = None
    if row.answered_by is not None:
        answered_by_duty = row.supervisor_id is not None and row.answered_by.endswith(f":{row.supervisor_id}")
    return {
        "id": row.id,
        "project_id": row.project_id,
        "agent_id": row.agent_id,
        "agent_name": row.agent_name,
        "kind": row.kind,
        "text": row.text,
        "order_ref": row.order_ref,
        "amount": row.amount,
        "order_amount": row.order_amount,
        "authority_note": row.authority_note,
        "supervisor_id": row.supervisor_id,
        "supervisor_name": row.supervisor_name,
        "duty_shift_id": row.duty_shift_id,
        "status": row.status,
        "requested_at": row.requested_at,
        "waiting_seconds": _waiting(row, now),
        "waited_seconds": row.waited_seconds,
        "answer": row.answer,
        "answered_by": row.answered_by,
        "answered_at": row.answered_at,
        "answered_by_duty": answered_by_duty,
        "party": row.party,
        "handover_note": row.handover_note,
        "handed_over_by": row.handed_over_by,
        "handed_over_at": row.handed_over_at,
    }


def _pool_agent(session: Session, project_id: str, agent_id: str) -> PoolAgent:
    row = session.scalars(
        select(PoolAgent).where(PoolAgent.project_id == project_id, PoolAgent.agent_id == agent_id)
    ).first()
    if row is None:
        raise NotFound(PROJECT_NOT_FOUND)
    return row


def agent_help_scope(uow: UnitOfWork, project_id: str) -> str | None:
    """An agent sees only its own help requests, and only in a project whose pool it is in."""
    if uow.actor.role != "agent":
        return None
    _pool_agent(uow.session, project_id, uow.actor.sub)
    return uow.actor.sub


def _event(row: HelpRequest) -> dict[str, Any]:
    return {
        "project_id": row.project_id,
        "help_id": row.id,
        "agent_id": row.agent_id,
        "supervisor_id": row.supervisor_id,
        "kind": row.kind,
        "waited_seconds": row.waited_seconds or 0,
        "requested_at": row.requested_at,
        "status": row.status,
    }


def ask_help(uow: UnitOfWork, project: Project, data: dict[str, Any]) -> HelpRequest:
    """An agent asks the supervisor on duty for help; the request is routed at this instant.

    A dispute within the agent's settlement authority is refused (409 ``within-authority``): the agent
    settles it alone. With nobody on duty the request is still recorded (supervisor null) and the vendor
    is alerted as well as the supervisors.
    """
    from services.scheduling.alerts import raise_alert  # alerts may import on_duty from here

    session, now, actor = uow.session, uow.now(), uow.actor
    if actor.role != "agent":
        raise Forbidden("Help requests are asked by agents (their token's sub is their agent id).")
    agent = _pool_agent(session, project.id, actor.sub)
    today = today_shanghai(now)
    if agent.departed_on is not None and agent.departed_on <= today:
        raise Forbidden(
            f"Agent {agent.agent_id} left this project on {agent.departed_on.isoformat()}; only agents still "
            "in the pool can ask its supervisor for help."
        )
    _live(project, "asking for help")
    kind = data["kind"]
    authority_note: str | None = None
    if kind == "dispute":
        check = dutyrota.check_authority(
            data["amount"],
            data["order_amount"],
            project.settlement_limit_amount,
            project.settlement_limit_pct,
        )
        if not check.exceeds:
            raise BusinessRuleViolation(
                f"This dispute is within the agent's settlement authority ({' and '.join(check.reasons)}): "
                "the agent settles it alone (seed 000 §5.2). Ask the supervisor only above the authority, "
                "or ask a question (kind question) if unsure.",
                rule="within-authority",
                status=409,
                extra={
                    "limit_amount": _money_text(project.settlement_limit_amount),
                    "limit_pct": _pct_text(project.settlement_limit_pct),
                    "pct_cap": None if check.pct_cap is None else dutyrota.cap_text(check.pct_cap),
                },
            )
        authority_note = "; ".join(check.reasons)
    shift = on_duty(session, project.id, now)
    row = HelpRequest(
        id=str(uuid.uuid4()),
        project_id=project.id,
        agent_id=agent.agent_id,
        agent_name=agent.name,
        kind=kind,
        text=data["text"],
        order_ref=data.get("order_ref"),
        amount=data.get("amount") if kind == "dispute" else None,
        order_amount=data.get("order_amount") if kind == "dispute" else None,
        authority_note=authority_note,
        supervisor_id=shift.supervisor_id if shift else None,
        supervisor_name=shift.supervisor_name if shift else None,
        duty_shift_id=shift.id if shift else None,
        status="open",
        requested_at=now,
        party=data.get("party") if kind == "handover" else None,
    )
    session.add(row)
    session.flush()
    what = {"question": "提问", "dispute": "争议订单", "handover": "投诉转交"}[kind]
    who = f"{agent.name}({agent.agent_id})"
    project_name = project.company_name or project.id
    alert_data = {
        "help_id": row.id,
        "agent_id": row.agent_id,
        "kind": kind,
        "supervisor_id": row.supervisor_id,
        "amount": _money_text(row.amount),
        "order_amount": _money_text(row.order_amount),
    }
    routed = f"值班主管:{row.supervisor_name}" if shift else "当前无值班主管"
    raise_alert(
        uow,
        project_id=project.id,
        kind="help_requested",
        title=f"客服求助({what}):{project_name}",
        body=f"客服 {who} 请求协助({what}),{routed}。内容:{row.text[:500]}",
        data=alert_data,
        dedup_key=f"help:{row.id}",
        audience="supervisor",
    )
    if shift is None:
        raise_alert(
            uow,
            project_id=project.id,
            kind="help_requested",
            title=f"无人值班:{project_name} 的客服求助无人接应",
            body=f"客服 {who} 请求协助({what}),但此刻没有值班主管。请安排主管接应并补齐值班表。",
            data=alert_data,
            dedup_key=f"help:{row.id}:nobody-on-duty",
            audience="vendor",
        )
    uow.emit("help.requested", _event(row))
    return row


def _money_text(value: Any) -> str | None:
    return None if value is None else format(value, "f")


def _pct_text(value: Any) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def _help_for_update(session: Session, project_id: str, help_id: str) -> HelpRequest:
    row = session.get(HelpRequest, help_id, with_for_update=True)
    if row is None or row.project_id != project_id:
        raise NotFound(HELP_NOT_FOUND)
    return row


def _respond(uow: UnitOfWork, row: HelpRequest) -> None:
    """The first response stops the response-time clock and announces it."""
    now = uow.now()
    row.answered_at = now
    row.waited_seconds = max(0, math.floor((now - row.requested_at).total_seconds()))
    data = {
        **_event(row),
        "answered_at": now,
        "answered_by": row.answered_by,
        "party": row.party if row.status == "handed_over" else None,
    }
    uow.emit("help.answered", data)


def answer_help(uow: UnitOfWork, project_id: str, help_id: str, answer: str) -> HelpRequest:
    """A supervisor (or the vendor) answers an open help request; waited_seconds is the response time."""
    row = _help_for_update(uow.session, project_id, help_id)
    if row.status != "open":
        raise BusinessRuleViolation(
            f"This help request is already {row.status.replace('_', ' ')} "
            f"({(row.answered_at or row.handed_over_at or row.requested_at).isoformat()}); "
            "an answer is given once.",
            rule="help-closed",
            status=409,
            extra={"current_status": row.status},
        )
    row.status = "answered"
    row.answer = answer
    row.answered_by = uow.actor.label[:100]
    _respond(uow, row)
    return row


def hand_over(uow: UnitOfWork, project_id: str, help_id: str, party: str, note: str) -> HelpRequest:
    """Hand a complaint not about the agent to the party concerned (转交), recording who and when. On an
    open request the hand-over is the supervisor's response (the clock stops, help.answered)."""
    row = _help_for_update(uow.session, project_id, help_id)
    if row.status == "handed_over":
        raise BusinessRuleViolation(
            f"This help request was already handed over to {row.party} by {row.handed_over_by} at "
            f"{row.handed_over_at.isoformat() if row.handed_over_at else '?'}.",
            rule="already-handed-over",
            status=409,
            extra={"current_status": row.status},
        )
    was_open = row.status == "open"
    row.status = "handed_over"
    row.party = party
    row.handover_note = note
    row.handed_over_by = uow.actor.label[:100]
    row.handed_over_at = uow.now()
    if was_open:
        row.answered_by = row.handed_over_by
        _respond(uow, row)
    return row


HELP_ORDER = (HelpRequest.requested_at.desc(), HelpRequest.id.desc())


def _help_filters(stmt: Select[Any], args: dict[str, Any]) -> Select[Any]:
    for name in ("status", "kind", "agent_id"):
        if args.get(name):
            stmt = stmt.where(getattr(HelpRequest, name) == args[name])
    return stmt


def help_page(uow: UnitOfWork, project: Project, args: dict[str, Any]) -> dict[str, Any]:
    """The project's help requests, newest first (an agent: its own)."""
    stmt = _help_filters(select(HelpRequest).where(HelpRequest.project_id == project.id), args)
    own = agent_help_scope(uow, project.id)
    if own is not None:
        stmt = stmt.where(HelpRequest.agent_id == own)
    page = paginate_args(uow.session, stmt, args, order_by=HELP_ORDER)
    now = uow.now()
    return _page_dict(page, [help_dict(r, now) for r in page.items])


def desk_page(uow: UnitOfWork, args: dict[str, Any]) -> dict[str, Any]:
    """Help requests across projects (a supervisor covering several desks at once): ``supervisor_id=me``
    for those routed to the caller."""
    stmt = _help_filters(select(HelpRequest), args)
    if args.get("project_id"):
        stmt = stmt.where(HelpRequest.project_id == args["project_id"])
    if args.get("supervisor_id"):
        who = uow.actor.sub if args["supervisor_id"] == "me" else args["supervisor_id"]
        stmt = stmt.where(HelpRequest.supervisor_id == who)
    page = paginate_args(uow.session, stmt, args, order_by=HELP_ORDER)
    now = uow.now()
    return _page_dict(page, [help_dict(r, now) for r in page.items])


def help_detail(uow: UnitOfWork, project: Project, help_id: str) -> dict[str, Any]:
    row = uow.session.get(HelpRequest, help_id)
    own = agent_help_scope(uow, project.id)
    if row is None or row.project_id != project.id or (own is not None and row.agent_id != own):
        raise NotFound(HELP_NOT_FOUND)
    return help_dict(row, uow.now())


# --- all-hands (全员上岗, seed 004) -------------------------------------------------------------------------


def all_hands_dict(session: Session, row: AllHands, removed: int | None = None) -> dict[str, Any]:
    entries = session.scalars(select(DutyShift.id).where(DutyShift.all_hands_id == row.id)).all()
    return {
        "id": row.id,
        "project_id": row.project_id,
        "reason": row.reason,
        "from_": row.date_from,
        "to": row.date_to,
        "start": dutyrota.hhmm(row.start_minute),
        "end": dutyrota.end_hhmm(row.start_minute, row.minutes),
        "staff": row.staff,
        "status": row.status,
        "active_target": row.active_target,
        "present_agents": row.present_agents,
        "missing": row.missing,
        "merchant_alert_id": row.merchant_alert_id,
        "duty_entries": len(entries),
        "removed_entries": removed,
        "declared_by": row.declared_by,
        "declared_at": row.declared_at,
        "ended_by": row.ended_by,
        "ended_at": row.ended_at,
    }


def declare_all_hands(
    uow: UnitOfWork, project_id: str, data: dict[str, Any], cfg: SchedulingSettings
) -> AllHands:
    """Mass attrition: put the listed staff below manager on agent duty for the period, tell the
    merchant, and ask recruitment once for the real gap (active target − agents still present).

    Refused (409 ``reserve-covers``) while the pool still holds the active target: departures the reserve
    covers are ordinary attrition (``POST /agents/{id}/departure``).
    """
    from services.scheduling.alerts import raise_alert  # alerts may import on_duty from here

    session, now = uow.session, uow.now()
    project = get_project(session, project_id, for_update=True)
    _live(project, "all-hands")
    seats, service_start, service_end = require_schedulable(project, "all-hands")
    today = today_shanghai(now)
    start, end = data["from_"], data["to"]
    problems: dict[str, list[str]] = {}
    if start < today:
        problems["from"] = [f"must be today ({today.isoformat()}, Asia/Shanghai) or later"]
    if (end - start).days + 1 > cfg.max_roster_days:
        problems["to"] = [
            f"an all-hands covers at most {cfg.max_roster_days} days at a time; declare it again to go on"
        ]
    if problems:
        raise ValidationFailed(problems)
    if "start" in data:
        start_minute, minutes = dutyrota.daily_window(data["start"], data["end"])
    else:
        start_minute, minutes = dutyrota.daily_window(service_start, service_end)

    members = pool_members(session, project, cfg)
    present = len(members)
    reserve = sum(1 for m in members if m.role == "reserve")
    target = domain.active_target(seats, cfg.active_ratio)
    if present >= target:
        raise BusinessRuleViolation(
            f"The reserve still covers the departures: {present} agents are present for an active target "
            f"of {target} (ceil({cfg.active_ratio} × {seats} seats)), {reserve} of them in reserve. "
            "All-hands is for when departures exceed the reserve; register departures and the reserve "
            "takes over.",
            rule="reserve-covers",
            status=409,
            extra={"active_target": target, "present_agents": present, "reserve": reserve},
        )
    clash = session.scalars(
        select(AllHands).where(
            AllHands.project_id == project.id,
            AllHands.status == "active",
            AllHands.date_from <= end,
            AllHands.date_to >= start,
        )
    ).first()
    if clash is not None:
        raise BusinessRuleViolation(
            f"An all-hands is already active on this project for {clash.date_from.isoformat()}.."
            f"{clash.date_to.isoformat()}; end it first (POST …/all-hands/{clash.id}/end) or choose dates "
            "after it.",
            rule="all-hands-active",
            status=409,
            extra={"all_hands_id": clash.id},
        )
    missing = target - present
    row = AllHands(
        id=str(uuid.uuid4()),
        project_id=project.id,
        reason=data["reason"],
        date_from=start,
        date_to=end,
        start_minute=start_minute,
        minutes=minutes,
        staff=[{"person_id": s["person_id"], "name": s["name"], "role": s["role"]} for s in data["staff"]],
        status="active",
        active_target=target,
        present_agents=present,
        missing=missing,
        declared_by=uow.actor.label[:100],
        declared_at=now,
    )
    session.add(row)
    entries: list[DutyShift] = []
    for offset in range((end - start).days + 1):
        day = start + dt.timedelta(days=offset)
        first, last = start_minute, start_minute + minutes
        # on a day already under way, agent duty starts now rather than in the past
        first = max(first, minute_of(now, day))
        if first >= last:
            continue
        entries += [
            DutyShift(
                id=str(uuid.uuid4()),
                project_id=project.id,
                supervisor_id=s["person_id"],
                supervisor_name=s["name"],
                role=s["role"],
                date=day,
                start_minute=first,
                minutes=last - first,
                duty="agent",
                all_hands_id=row.id,
                note=None,
                created_by=row.declared_by,
                created_at=now,
            )
            for s in data["staff"]
        ]
    session.add_all(entries)
    session.flush()
    names = "、".join(f"{s['name']}" for s in data["staff"])
    row.merchant_alert_id = raise_alert(
        uow,
        project_id=project.id,
        kind="mass_attrition",
        title=f"人员大规模流失:{project.company_name or project.id} 已启动全员上岗",
        body=(
            f"项目客服流失超出储备:在岗 {present} 人,应排 {target} 人,储备已用尽。"
            f"自 {start.isoformat()} 至 {end.isoformat()},{names} 等 {len(data['staff'])} 名经理级以下人员"
            f"上线接待({dutyrota.hhmm(start_minute)}–{dutyrota.end_hhmm(start_minute, minutes)})。"
            f"已向招聘提出 {missing} 人的补员需求。原因:{data['reason']}"
        ),
        data={
            "all_hands_id": row.id,
            "present_agents": present,
            "active_target": target,
            "missing": missing,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "staff": len(data["staff"]),
        },
        dedup_key=f"all-hands:{row.id}",
        audience="merchant",
    )
    uow.emit(
        "reserve.shortfall",
        {
            "project_id": project.id,
            "missing": missing,
            "reason": f"all-hands {row.id}: {present} of {target} active agents present and no reserve "
            f"left; staff below manager on agent duty {start.isoformat()}..{end.isoformat()} "
            f"({data['reason'][:200]})",
            "whole_gap": True,
        },
    )
    return row


def _all_hands(session: Session, project_id: str, all_hands_id: str, *, lock: bool = False) -> AllHands:
    row = session.get(AllHands, all_hands_id, with_for_update=lock or None)
    if row is None or row.project_id != project_id:
        raise NotFound(ALL_HANDS_NOT_FOUND)
    return row


def end_all_hands(uow: UnitOfWork, project_id: str, all_hands_id: str) -> tuple[AllHands, int]:
    """End an all-hands: future agent-duty entries come off the rota, one under way ends now. Returns the
    all-hands and how many entries were removed."""
    session, now = uow.session, uow.now()
    get_project(session, project_id, for_update=True)
    row = _all_hands(session, project_id, all_hands_id, lock=True)
    if row.status != "active":
        raise BusinessRuleViolation(
            f"This all-hands already ended at {row.ended_at.isoformat() if row.ended_at else '?'}.",
            rule="all-hands-ended",
            status=409,
            extra={"current_status": row.status},
        )
    removed = 0
    today = today_shanghai(now)
    entries = session.scalars(
        select(DutyShift).where(
            DutyShift.all_hands_id == row.id, DutyShift.date >= today - dt.timedelta(days=1)
        )
    ).all()
    for entry in entries:
        if instant(entry.date, entry.start_minute + entry.minutes) <= now:
            continue
        if not _cut_at(session, entry, now):
            removed += 1
    row.status = "ended"
    row.ended_at = now
    row.ended_by = uow.actor.label[:100]
    session.flush()
    return row, removed


def all_hands_page(uow: UnitOfWork, project: Project, args: dict[str, Any]) -> dict[str, Any]:
    stmt = select(AllHands).where(AllHands.project_id == project.id)
    if args.get("status"):
        stmt = stmt.where(AllHands.status == args["status"])
    page = paginate_args(uow.session, stmt, args, order_by=(AllHands.declared_at.desc(), AllHands.id.desc()))
    return _page_dict(page, [all_hands_dict(uow.session, r) for r in page.items])


def all_hands_detail(uow: UnitOfWork, project: Project, all_hands_id: str) -> dict[str, Any]:
    return all_hands_dict(uow.session, _all_hands(uow.session, project.id, all_hands_id))
