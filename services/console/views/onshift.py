"""The agent's day of operation (当班), phone first: clock in and out, ask the supervisor on duty for help,
declare when one can work (可上班时间), ask for leave (请假), swap shifts (换班), claim open shifts (开放班次)
and subscribe to one's shifts in a phone calendar (日历订阅).

Everything is the scheduling service's day-of-operation API, called as the signed-in agent (the token's
``sub`` is the account's candidate id, which is the agent id). The services answer only what is the
agent's own; the console shapes it for a phone: one card per project, big buttons, the service's refusals
(409 with a ``rule``) as a sentence in the reader's language.

An agent's projects are those of its shifts (``/agents/{id}/shifts``, the call the agent's calendar page
makes): an agent may not read a pool, and a project without any shift a month back or two months ahead is
not one the agent works in today.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from services.console.bff import ApiError, Call
from services.console.i18n import SHANGHAI, _, current_locale, format_instant, format_money, parse_instant
from services.console.i18n import lazy_gettext as _l
from services.console.views.agent import SHIFT_LABELS
from services.console.views.ops import must, result
from services.console.views.planning import SKILL_LABELS
from services.console.web import api, clock, field_messages, problem_message, role_required

bp = Blueprint("onshift", __name__, url_prefix="/onshift")

PER_PAGE = 20
#: upcoming shifts offered for a swap, per page (a month of shifts is about 22)
SHIFTS_PER_PAGE = 10
#: the help requests shown on the on-shift page (the rest on the help history page)
RECENT_HELP = 5
#: which projects the agent works in, from its shifts in this window around today
PROJECTS_DAYS_BACK = 31
PROJECTS_DAYS_AHEAD = 60
#: shifts one may offer for a swap: from now to this many days ahead (rosters run two weeks)
SWAP_DAYS_AHEAD = 31
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES: dict[str, Any] = {
    "mon": _l("Monday"),
    "tue": _l("Tuesday"),
    "wed": _l("Wednesday"),
    "thu": _l("Thursday"),
    "fri": _l("Friday"),
    "sat": _l("Saturday"),
    "sun": _l("Sunday"),
}
#: windows per day on the forms (the service takes up to six; two cover a split shift)
WINDOWS = 2
#: 08:30, 8:30, 8.30, 8：30 (a Chinese keyboard's colon) or 0830
_HHMM = re.compile(r"^(\d{1,2})[:：.](\d{2})$|^(\d{2})(\d{2})$")

#: the labour rules and the day-of-operation refusals (a 409's ``rule``), as the agent reads them
RULES: dict[str, Any] = {
    "min-rest": _l("Not enough rest between two shifts (11 hours)"),
    "max-weekly-hours": _l("Over the weekly working-hours limit"),
    "max-consecutive-days": _l("Too many working days in a row"),
    "one-shift-per-day": _l("Only one shift a day"),
    "declared-availability": _l("Outside the times you declared you can work"),
    "on-leave": _l("During your leave"),
    "skill": _l("Your skills do not match the shift"),
    "availability": _l("Does not match your shift preferences"),
    "departed": _l("You have left this project"),
    "part-time": _l("Part-time agents work short shifts only"),
    "open-shift-filled": _l("Already taken by others"),
    "swap-self": _l("You cannot take a shift you offered yourself"),
    "swap-pending": _l("This shift is already offered: cancel that offer first"),
    "swap-status": _l("This swap has already been dealt with; reload the page"),
    "shift-started": _l("The shift has already started: ask the supervisor on duty"),
    "shift-changed": _l("The roster changed since the offer: the swap cannot go ahead"),
    "no-shift": _l(
        "You have no shift running now or starting within the hour: clock in when your shift is near"
    ),
    "already-clocked-in": _l("You have already clocked in for this shift"),
    "no-show-recorded": _l(
        "You were recorded as absent for this shift and a reserve agent was called in: "
        "contact the supervisor on duty"
    ),
    "not-clocked-in": _l("You have not clocked in: clock in first"),
    "leave-overlap": _l("Another leave request already covers some of these days"),
    "leave-dates": _l("Leave starts today or later and covers at most 60 days"),
    "leave-status": _l("This leave request can no longer be cancelled"),
    "within-authority": _l("Within your settlement authority: you may settle it yourself"),
    "project-closed": _l("The project has ended"),
    "supervisor": _l("Refused by the supervisor"),
    "calendar-token-limit": _l("At most 5 calendar links work at once: revoke one you no longer use"),
}
ATTENDANCE_STATUSES: dict[str, Any] = {
    "on_duty": _l("On duty"),
    "present": _l("Present"),
    "late": _l("Late"),
    "early_leave": _l("Left early"),
    "late_early_leave": _l("Late and left early"),
    "no_show": _l("Absent"),
}
LEAVE_KINDS: dict[str, Any] = {
    "sick": _l("Sick leave"),
    "personal": _l("Personal leave"),
    "annual": _l("Annual leave"),
    "other": _l("Other leave"),
}
LEAVE_STATUSES: dict[str, Any] = {
    "pending": _l("Waiting for approval"),
    "approved": _l("Approved"),
    "refused": _l("Refused"),
    "cancelled": _l("Withdrawn by you"),
}
SWAP_STATUSES: dict[str, Any] = {
    "offered": _l("Waiting for a taker"),
    "accepted": _l("Taken, waiting for the supervisor"),
    "approved": _l("Approved"),
    "refused": _l("Refused"),
    "cancelled": _l("Withdrawn by you"),
}
OPEN_SOURCES: dict[str, Any] = {
    "gap": _l("Roster gap"),
    "surge": _l("Extra demand"),
    "leave": _l("Colleague on leave"),
    "no-show": _l("Colleague absent"),
}
HELP_KINDS: dict[str, Any] = {
    "question": _l("Ask a question"),
    "dispute": _l("Disputed order"),
    "handover": _l("Complaint to hand over"),
}
HELP_STATUSES: dict[str, Any] = {
    "open": _l("Waiting for an answer"),
    "answered": _l("Answered"),
    "handed_over": _l("Handed over"),
}
HELP_PARTIES: dict[str, Any] = {
    "warehouse": _l("Warehouse"),
    "product": _l("Product team"),
    "merchant": _l("Merchant"),
    "logistics": _l("Logistics"),
}


def label(mapping: Mapping[str, Any], key: Any) -> str:
    return str(mapping.get(key, key)) if key else ""


@bp.app_template_global("onshift_label")
def onshift_label(kind: str, key: Any) -> str:
    tables = {
        "rule": RULES,
        "attendance": ATTENDANCE_STATUSES,
        "leave_kind": LEAVE_KINDS,
        "leave": LEAVE_STATUSES,
        "swap": SWAP_STATUSES,
        "source": OPEN_SOURCES,
        "help_kind": HELP_KINDS,
        "help": HELP_STATUSES,
        "party": HELP_PARTIES,
        "shift": SHIFT_LABELS,
        "skill": SKILL_LABELS,
        "weekday": WEEKDAY_NAMES,
    }
    return label(tables[kind], key)


@bp.context_processor
def _onshift_context() -> dict[str, Any]:
    zh = current_locale() == "zh"
    return {"colon": "：" if zh else ": "}


def rule_text(error: ApiError) -> str:
    """A refusal as one sentence: the rule in words when it is one the agent meets, else the generic
    message (the service's own detail, which names the rule)."""
    rule = error.problem.get("rule")
    if error.status in (409, 422) and rule in RULES:
        return str(RULES[rule])
    return problem_message(error)


def duration_text(seconds: Any) -> str:
    """``45 秒``, ``12 分钟``, ``2 小时 5 分钟``."""
    try:
        total = max(0, int(seconds))
    except (TypeError, ValueError):
        return ""
    if total < 60:
        return _("%(seconds)s s", seconds=total)
    hours, minutes = divmod(total // 60, 60)
    if not hours:
        return _("%(minutes)s min", minutes=minutes)
    return _("%(hours)s h %(minutes)s min", hours=hours, minutes=minutes)


def attendance_result(record: Mapping[str, Any] | None) -> str:
    """How the shift went, in words: on time, late by N minutes, left early by N minutes, absent."""
    if not record:
        return ""
    status = record.get("status")
    late, early = int(record.get("late_minutes") or 0), int(record.get("early_minutes") or 0)
    if status == "no_show":
        return _("Absent (no clock-in)")
    parts = []
    if late:
        parts.append(_("Late by %(minutes)s min", minutes=late))
    if early:
        parts.append(_("Left early by %(minutes)s min", minutes=early))
    if parts:
        return _("; ").join(parts)
    if record.get("clock_out"):
        return _("On time; shift completed")
    return _("On time")


bp.add_app_template_global(duration_text, "onshift_duration")
bp.add_app_template_global(attendance_result, "onshift_result")


# --- who and when -------------------------------------------------------------------------------------------


def me() -> str:
    """The signed-in agent's id (its candidate id): these pages are about one agent, themself."""
    agent_id = getattr(current_user, "candidate_id", None)
    if not agent_id:
        abort(403)
    return str(agent_id)


def now() -> dt.datetime:
    return clock()()


def today() -> dt.date:
    return now().astimezone(SHANGHAI).date()


def instant(value: Any) -> dt.datetime | None:
    moment = parse_instant(value)
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


def projects_of(shifts: Sequence[Mapping[str, Any]], moment: dt.datetime) -> list[dict[str, str]]:
    """The projects of these shifts: those with a shift still to come first (the soonest first), then the
    rest (the most recent first)."""
    upcoming: dict[str, tuple[dt.datetime, str]] = {}
    past: dict[str, tuple[dt.datetime, str]] = {}
    for s in shifts:
        pid, name = s["project_id"], s.get("project_name") or s["project_id"]
        ends = instant(s.get("ends_at")) or moment
        starts = instant(s.get("starts_at")) or moment
        if ends > moment:
            if pid not in upcoming or starts < upcoming[pid][0]:
                upcoming[pid] = (starts, name)
        elif pid not in past or starts > past[pid][0]:
            past[pid] = (starts, name)
    ordered = sorted(upcoming.items(), key=lambda kv: kv[1][0])
    ordered += sorted(((k, v) for k, v in past.items() if k not in upcoming), key=lambda kv: kv[1][0])[::-1]
    return [{"id": pid, "name": name} for pid, (_when, name) in ordered]


def my_work() -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """My shifts a month back to two months ahead, and my projects: every running project whose pool I am
    in (a reserve agent not rostered yet still claims open shifts and takes swaps there), those with a
    shift still to come first."""
    moment = now()
    t = moment.astimezone(SHANGHAI).date()
    got = api().gather(
        {
            "shifts": Call(
                "scheduling",
                f"/agents/{me()}/shifts",
                params={
                    "from": (t - dt.timedelta(days=PROJECTS_DAYS_BACK)).isoformat(),
                    "to": (t + dt.timedelta(days=PROJECTS_DAYS_AHEAD)).isoformat(),
                },
            ),
            "projects": Call("scheduling", f"/agents/{me()}/projects"),
        }
    )
    shifts = list(must(got["shifts"]).data.get("items", []))
    projects = projects_of(shifts, moment)
    known = {p["id"] for p in projects}
    for item in must(got["projects"]).data.get("items", []):
        project_id = item["project_id"]
        if project_id in known or item.get("role") == "departed" or item.get("project_status") == "closed":
            continue
        known.add(project_id)
        projects.append({"id": project_id, "name": item.get("project_name") or project_id})
    return shifts, projects


def chosen_project(projects: Sequence[Mapping[str, str]]) -> str | None:
    wanted = request.values.get("project")
    ids = [p["id"] for p in projects]
    if wanted in ids:
        return wanted
    return ids[0] if ids else None


def page_arg(name: str = "page") -> int:
    return max(1, request.args.get(name, 1, type=int) or 1)


def _back(endpoint: str, **values: Any) -> Any:
    return redirect(url_for(endpoint, **{k: v for k, v in values.items() if v}))


def _key() -> str:
    """The form's idempotency key: a double tap on a slow phone sends the request once."""
    return (request.form.get("idempotency_key") or "").strip()[:100] or str(uuid.uuid4())


# --- 当班: clock in and out, ask for help -------------------------------------------------------------------


def shift_card(
    project: Mapping[str, str],
    shifts: Sequence[Mapping[str, Any]],
    records: Sequence[Mapping[str, Any]],
    moment: dt.datetime,
) -> dict[str, Any]:
    """One project's card: the shift that matters now and what the clock button does.

    ``state``: ``clocked_in`` (an open record: clock out), ``to_clock_in`` (the current or next shift, or
    a reserve call-in not yet clocked), ``done`` (clocked out; the next shift shown too), ``absent`` (a
    no-show recorded for a shift still running), ``none`` (nothing ahead)."""
    mine = [s for s in shifts if s["project_id"] == project["id"]]
    by_date = {str(r.get("date")): r for r in records}
    open_record = next((r for r in records if r.get("clock_in") and not r.get("clock_out")), None)
    ahead = [s for s in mine if (instant(s.get("ends_at")) or moment) > moment]
    current = ahead[0] if ahead else None
    record = by_date.get(str(current["date"])) if current else None
    following = ahead[1] if len(ahead) > 1 else None
    # the shift just finished (clocked out, or missed) stays in view beside the next one
    earlier = next(
        (
            r
            for r in sorted(records, key=lambda r: str(r.get("date")), reverse=True)
            if (r.get("clock_out") or r.get("status") == "no_show") and r is not record
        ),
        None,
    )
    card: dict[str, Any] = {
        "project": project,
        "shift": current,
        "record": record,
        "next": None,
        "earlier": earlier,
        "state": "none",
    }
    if open_record is not None:
        shift = next((s for s in mine if str(s["date"]) == str(open_record.get("date"))), None)
        card.update(state="clocked_in", record=open_record, shift=shift or _record_shift(open_record))
        return card
    # a no-show's shift went to a reserve: it is off the agent's shifts, but not over yet
    missed = next(
        (r for r in records if r.get("status") == "no_show" and moment < (record_ends(r) or moment)),
        None,
    )
    if missed is not None:
        card.update(state="absent", record=missed, shift=_record_shift(missed), next=current, earlier=None)
        return card
    called_in = next(
        (
            r
            for r in records
            if r.get("status") == "on_duty" and not r.get("clock_in") and not r.get("clock_out")
        ),
        None,
    )
    if called_in is not None and (current is None or str(current["date"]) != str(called_in.get("date"))):
        card.update(state="to_clock_in", record=called_in, shift=_record_shift(called_in), next=current)
        return card
    if current is None:
        return card
    if record and record.get("status") == "no_show":
        card.update(state="absent", next=following)
    elif record and record.get("clock_out"):
        card.update(state="done", next=following)
    else:
        card["state"] = "to_clock_in"
        starts = instant(current.get("starts_at"))
        card["starts_in"] = int((starts - moment).total_seconds()) if starts and starts > moment else 0
    return card


def record_ends(record: Mapping[str, Any]) -> dt.datetime | None:
    """When an attendance record's shift ends (``end`` is the next day when it is not after ``start``)."""
    try:
        day = dt.date.fromisoformat(str(record.get("date")))
        start, end = (dt.time.fromisoformat(str(record.get(k))) for k in ("start", "end"))
    except ValueError:
        if str(record.get("end")) != "24:00":
            return None
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), SHANGHAI)
    ends = dt.datetime.combine(day, end, SHANGHAI)
    return ends + dt.timedelta(days=1) if end <= start else ends


def _record_shift(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: record.get(k) for k in ("date", "shift", "start", "end")}


def _help_values() -> dict[str, str]:
    names = ("project", "kind", "text", "order_ref", "amount", "order_amount", "idempotency_key")
    return {k: (request.form.get(k) or "").strip() for k in names}


def _index_page(
    *,
    help_values: Mapping[str, str] | None = None,
    help_errors: Mapping[str, str] | None = None,
    help_message: str | None = None,
    status: int = 200,
) -> Any:
    moment = now()
    t = moment.astimezone(SHANGHAI).date()
    shifts, projects = my_work()
    calls: dict[str, Call] = {}
    for p in projects:
        base = f"/projects/{p['id']}"
        for offset, name in ((0, "today"), (-1, "yesterday")):
            day = (t + dt.timedelta(days=offset)).isoformat()
            calls[f"{p['id']}|{name}"] = Call("scheduling", f"{base}/attendance", params={"date": day})
        calls[f"{p['id']}|help"] = Call("scheduling", f"{base}/help", params={"per_page": RECENT_HELP})
    got = api().gather(calls) if calls else {}
    cards, helps = [], []
    for p in projects:
        records = [
            r
            for name in ("today", "yesterday")
            for r in result(got[f"{p['id']}|{name}"], default={}).get("items", [])
            if r.get("agent_id") == me()
        ]
        cards.append(shift_card(p, shifts, records, moment))
        for h in result(got[f"{p['id']}|help"], default={}).get("items", []):
            helps.append({**h, "project_name": p["name"]})
    helps.sort(key=lambda h: str(h.get("requested_at") or ""), reverse=True)
    values = dict(help_values or {})
    values.setdefault("kind", "question")
    values.setdefault("project", projects[0]["id"] if projects else "")
    values["idempotency_key"] = values.get("idempotency_key") or str(uuid.uuid4())
    return render_template(
        "onshift/index.html",
        cards=cards,
        projects=projects,
        helps=helps[:RECENT_HELP],
        help_values=values,
        help_errors=help_errors or {},
        help_message=help_message,
        now=moment,
    ), status


@bp.get("/")
@role_required("agent")
def index() -> Any:
    """My projects today: the shift now or next with the clock button, and asking for help."""
    return _index_page()


def _clock(project_id: str, direction: str) -> Any:
    try:
        record = api().post("scheduling", f"/projects/{project_id}/attendance/{direction}", {})
    except ApiError as err:
        if err.status in (401, 403):
            raise
        flash(rule_text(err), "error")
        return redirect(url_for("onshift.index") + f"#project-{project_id}")
    when = format_instant(record.get("clock_in" if direction == "clock-in" else "clock_out"), "short")
    if direction == "clock-in":
        flash(_("Clocked in at %(when)s: %(result)s", when=when, result=attendance_result(record)), "success")
    else:
        flash(
            _("Clocked out at %(when)s: %(result)s", when=when, result=attendance_result(record)), "success"
        )
    return redirect(url_for("onshift.index") + f"#project-{project_id}")


@bp.post("/projects/<project_id>/clock-in")
@role_required("agent")
def clock_in(project_id: str) -> Any:
    """上班打卡: the service finds the shift running now or starting within the hour."""
    return _clock(project_id, "clock-in")


@bp.post("/projects/<project_id>/clock-out")
@role_required("agent")
def clock_out(project_id: str) -> Any:
    """下班打卡: leaving before the end past the tolerance is recorded as early leave."""
    return _clock(project_id, "clock-out")


def _money_input(value: str) -> str:
    return value.replace(",", "").replace("¥", "").replace("￥", "").strip()


def help_body(values: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    kind = values.get("kind") or ""
    if kind not in ("question", "dispute"):
        errors["kind"] = _("Choose a question or a disputed order.")
    body: dict[str, Any] = {"kind": kind, "text": values.get("text", "")}
    if not body["text"]:
        errors["text"] = _("Say what you need help with.")
    if values.get("order_ref"):
        body["order_ref"] = values["order_ref"]
    if kind == "dispute":
        for name in ("amount", "order_amount"):
            raw = _money_input(values.get(name, ""))
            if not raw:
                errors[name] = _("Enter an amount in yuan, for example 59.90.")
                continue
            try:
                if float(raw) <= 0:
                    raise ValueError(raw)
            except ValueError:
                errors[name] = _("Enter an amount in yuan, for example 59.90.")
            body[name] = raw
    return body, errors


def authority_text(error: ApiError) -> str:
    """``within-authority``: the sentence, then the project's limits when the service names them."""
    text = str(RULES["within-authority"])
    limits = []
    if error.problem.get("limit_amount"):
        limits.append(_("up to %(amount)s", amount=format_money(error.problem["limit_amount"])))
    if error.problem.get("limit_pct"):
        limits.append(_("up to %(pct)s%% of the order", pct=error.problem["limit_pct"]))
    if limits:
        return _("%(text)s (your authority: %(limits)s).", text=text, limits=_(", ").join(limits))
    return text


@bp.post("/help")
@role_required("agent")
def ask_help() -> Any:
    """求助: a question, or a disputed order above the agent's settlement authority, to the supervisor on
    duty (the service routes it and starts the response-time clock)."""
    values = _help_values()
    body, errors = help_body(values)
    project_id = values.get("project") or ""
    if not project_id:
        errors["project"] = _("Choose the project.")
    if errors:
        return _index_page(
            help_values=values,
            help_errors=errors,
            help_message=_("Some of the information is not valid."),
            status=422,
        )
    try:
        asked = api().post(
            "scheduling",
            f"/projects/{project_id}/help",
            body,
            headers={"Idempotency-Key": values.get("idempotency_key") or str(uuid.uuid4())},
        )
    except ApiError as err:
        if err.status in (401, 403):
            raise
        values = {**values, "idempotency_key": ""}  # a corrected form is a new request
        if err.problem.get("rule") == "within-authority":
            return _index_page(help_values=values, help_message=authority_text(err), status=409)
        return _index_page(
            help_values=values,
            help_errors=field_messages(err),
            help_message=rule_text(err),
            status=err.status if err.status < 500 else 502,
        )
    if asked.get("supervisor_name"):
        flash(_("Sent to %(name)s, the supervisor on duty.", name=asked["supervisor_name"]), "success")
    else:
        flash(
            _("Sent. No supervisor is on duty right now; the vendor has been told and will answer."),
            "warning",
        )
    return redirect(url_for("onshift.index") + "#help")


@bp.get("/help")
@role_required("agent")
def help_history() -> Any:
    """All my help requests of one project, newest first, with the answers and the waiting time."""
    _shifts, projects = my_work()
    project_id = chosen_project(projects)
    page = page_arg()
    listing = None
    if project_id:
        listing = api().page("scheduling", f"/projects/{project_id}/help", page=page, per_page=PER_PAGE)
    return render_template(
        "onshift/help.html",
        projects=projects,
        project_id=project_id,
        helps=listing.items if listing else [],
        total=(listing.total or 0) if listing else 0,
        page=page,
        per_page=PER_PAGE,
    )


# --- 可上班时间: the weekly pattern and the exceptions ------------------------------------------------------


def normal_time(raw: str, *, end: bool = False) -> str | None:
    """``8:00`` → ``08:00``; None when it is not a time of day (24:00 only as an end)."""
    match = _HHMM.match(raw.strip())
    if not match:
        return None
    hours, minutes = (int(g) for g in match.groups() if g is not None)
    if (hours, minutes) == (24, 0) and end:
        return "24:00"
    if hours > 23 or minutes > 59:
        return None
    return f"{hours:02d}:{minutes:02d}"


def windows_from(
    values: Mapping[str, str], prefix: str, errors: dict[str, str], field: str
) -> list[dict[str, str]]:
    """The form's windows ``{prefix}start_{i}``/``{prefix}end_{i}``: both or neither; checked as the service
    would, so a typo is shown beside its row before anything is sent."""
    windows = []
    for i in range(WINDOWS):
        start_raw = (values.get(f"{prefix}start_{i}") or "").strip()
        end_raw = (values.get(f"{prefix}end_{i}") or "").strip()
        if not start_raw and not end_raw:
            continue
        start, end = normal_time(start_raw), normal_time(end_raw, end=True)
        if not start_raw or not end_raw:
            errors[field] = _("Enter both the start and the end of each time window.")
        elif start is None or end is None:
            errors[field] = _("Enter times as HH:MM, for example 08:30 (24:00 for midnight at the end).")
        elif end <= start:
            errors[field] = _(
                "A time window must end after it starts; split a night in two (22:00–24:00 and 00:00–06:00)."
            )
        else:
            windows.append({"start": start, "end": end})
    return windows


def weekly_values(weekly: Mapping[str, Sequence[Mapping[str, str]]]) -> dict[str, str]:
    values = {}
    for day in WEEKDAYS:
        for i, window in enumerate(list(weekly.get(day) or [])[:WINDOWS]):
            values[f"{day}_start_{i}"] = window.get("start", "")
            values[f"{day}_end_{i}"] = window.get("end", "")
    return values


def _availability_page(
    *,
    weekly: Mapping[str, str] | None = None,
    weekly_errors: Mapping[str, str] | None = None,
    weekly_message: str | None = None,
    exception: Mapping[str, str] | None = None,
    exception_errors: Mapping[str, str] | None = None,
    exception_message: str | None = None,
    status: int = 200,
) -> Any:
    data = api().get("scheduling", f"/agents/{me()}/availability")
    exceptions = data.get("exceptions", [])
    page = page_arg()
    hidden = sum(len(data.get("weekly", {}).get(d) or []) > WINDOWS for d in WEEKDAYS)
    return render_template(
        "onshift/availability.html",
        declared=data.get("declared", False),
        weekly=weekly if weekly is not None else weekly_values(data.get("weekly", {})),
        weekly_errors=weekly_errors or {},
        weekly_message=weekly_message,
        more_windows=hidden,
        exceptions=exceptions[(page - 1) * PER_PAGE : page * PER_PAGE],
        total=len(exceptions),
        page=page,
        per_page=PER_PAGE,
        exception=exception or {},
        exception_errors=exception_errors or {},
        exception_message=exception_message,
        today=today(),
        weekdays=WEEKDAYS,
        windows=range(WINDOWS),
    ), status


@bp.get("/availability")
@role_required("agent")
def availability() -> Any:
    return _availability_page()


def _service_errors(err: ApiError, rename: Mapping[str, str] | None = None) -> dict[str, str]:
    """The service's field errors on the form's fields (``weekly.mon`` → ``mon``)."""
    out: dict[str, str] = {}
    for key, message in field_messages(err).items():
        name = key
        for prefix, to in (rename or {}).items():
            if key == prefix or key.startswith(prefix + "."):
                name = to
                break
        if name.startswith("weekly."):
            name = name.split(".")[1]
        out[name] = "; ".join(filter(None, [out.get(name), message]))
    return out


@bp.post("/availability")
@role_required("agent")
def save_availability() -> Any:
    """The weekly pattern (every weekday's windows); all days empty: available at any time."""
    values = {k: v.strip() for k, v in request.form.items() if k != "csrf_token"}
    errors: dict[str, str] = {}
    weekly = {day: windows_from(values, f"{day}_", errors, day) for day in WEEKDAYS}
    if errors:
        return _availability_page(
            weekly=values,
            weekly_errors=errors,
            weekly_message=_("Some of the times are not valid; nothing was saved."),
            status=422,
        )
    try:
        api().put("scheduling", f"/agents/{me()}/availability", {"weekly": weekly})
    except ApiError as err:
        if err.status in (401, 403, 404):
            raise
        return _availability_page(
            weekly=values, weekly_errors=_service_errors(err), weekly_message=rule_text(err), status=422
        )
    if any(weekly.values()):
        flash(
            _("Your weekly availability is saved: rosters, swaps and open shifts keep within it."), "success"
        )
    else:
        flash(_("No weekly pattern: you count as available at any time."), "success")
    return redirect(url_for("onshift.availability"))


@bp.post("/availability/exceptions")
@role_required("agent")
def add_exception() -> Any:
    """One date apart from the weekly pattern: only some hours, or not at all (全天不可)."""
    values = {k: v.strip() for k, v in request.form.items() if k != "csrf_token"}
    errors: dict[str, str] = {}
    day = values.get("date", "")
    try:
        dt.date.fromisoformat(day)
    except ValueError:
        errors["date"] = _("Enter a date such as 2026-11-11.")
    off = values.get("off") == "1"
    windows = [] if off else windows_from(values, "", errors, "windows")
    if not off and not windows and "windows" not in errors:
        errors["windows"] = _("Enter the hours you can work that day, or tick “not available all day”.")
    if errors:
        return _availability_page(
            exception=values,
            exception_errors=errors,
            exception_message=_("Some of the information is not valid."),
            status=422,
        )
    body: dict[str, Any] = {"date": day, "windows": windows}
    if values.get("note"):
        body["note"] = values["note"]
    try:
        api().put("scheduling", f"/agents/{me()}/availability/exceptions", body)
    except ApiError as err:
        if err.status in (401, 403, 404):
            raise
        return _availability_page(
            exception=values,
            exception_errors=_service_errors(err),
            exception_message=rule_text(err),
            status=422,
        )
    flash(_("The exception for %(day)s is saved.", day=day), "success")
    return redirect(url_for("onshift.availability") + "#exceptions")


@bp.post("/availability/exceptions/<day>/delete")
@role_required("agent")
def remove_exception(day: str) -> Any:
    try:
        dt.date.fromisoformat(day)
    except ValueError:
        abort(404)
    try:
        api().delete("scheduling", f"/agents/{me()}/availability/exceptions/{day}")
    except ApiError as err:
        if err.status in (401, 403):
            raise
        flash(rule_text(err), "error")
    else:
        flash(
            _("The exception for %(day)s is removed: your weekly pattern applies that day.", day=day),
            "success",
        )
    return redirect(url_for("onshift.availability") + "#exceptions")


# --- 请假: leave requests -----------------------------------------------------------------------------------

LEAVE_FIELDS = ("date_from", "date_to", "kind", "reason", "idempotency_key")


def effect_lines(leave: Mapping[str, Any]) -> list[str]:
    """What an approved leave did to the rosters, in words."""
    lines = []
    for effect in leave.get("effects") or []:
        taken = sum(len(t.get("dates") or []) for t in effect.get("taken_over") or [])
        opened = len(effect.get("opened") or [])
        shifts = int(effect.get("shifts") or 0)
        if not shifts:
            lines.append(_("No shift of yours fell in these days."))
            continue
        line = _("%(shifts)s shift(s) off your roster", shifts=shifts)
        if taken:
            line += _("; ") + _("%(n)s taken over by reserve agents", n=taken)
        if opened:
            line += _("; ") + _("%(n)s published as open shifts", n=opened)
        lines.append(line)
    return lines


bp.add_app_template_global(effect_lines, "onshift_effects")


def _leave_page(
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    message: str | None = None,
    status: int = 200,
) -> Any:
    page = page_arg()
    listing = api().page("scheduling", "/leave-requests", page=page, per_page=PER_PAGE)
    form = dict(values or {})
    form.setdefault("kind", "sick")
    form["idempotency_key"] = form.get("idempotency_key") or str(uuid.uuid4())
    return render_template(
        "onshift/leave.html",
        leaves=listing.items,
        total=listing.total or 0,
        page=page,
        per_page=PER_PAGE,
        values=form,
        errors=errors or {},
        message=message,
        today=today(),
        kinds=[(k, str(v)) for k, v in LEAVE_KINDS.items()],
    ), status


@bp.get("/leave")
@role_required("agent")
def leave() -> Any:
    return _leave_page()


@bp.post("/leave")
@role_required("agent")
def request_leave() -> Any:
    values = {k: (request.form.get(k) or "").strip() for k in LEAVE_FIELDS}
    errors: dict[str, str] = {}
    for name in ("date_from", "date_to"):
        try:
            dt.date.fromisoformat(values[name])
        except ValueError:
            errors[name] = _("Enter a date such as 2026-11-11.")
    if "date_from" not in errors and "date_to" not in errors and values["date_to"] < values["date_from"]:
        errors["date_to"] = _("The last day cannot be before the first day.")
    if values["kind"] not in LEAVE_KINDS:
        errors["kind"] = _("Choose the kind of leave.")
    if not values["reason"]:
        errors["reason"] = _("Give a reason for the supervisor.")
    if errors:
        return _leave_page(values, errors, _("Some of the information is not valid."), 422)
    body = {k: values[k] for k in ("date_from", "date_to", "kind", "reason")}
    try:
        asked = api().post(
            "scheduling",
            "/leave-requests",
            body,
            headers={"Idempotency-Key": values["idempotency_key"] or str(uuid.uuid4())},
        )
    except ApiError as err:
        if err.status in (401, 403):
            raise
        values = {**values, "idempotency_key": ""}
        return _leave_page(
            values, field_messages(err), rule_text(err), err.status if err.status < 500 else 502
        )
    flash(
        _(
            "Leave requested for %(days)s day(s), %(first)s to %(last)s: the supervisor decides.",
            days=asked.get("days", ""),
            first=asked.get("date_from", ""),
            last=asked.get("date_to", ""),
        ),
        "success",
    )
    return redirect(url_for("onshift.leave"))


@bp.post("/leave/<leave_id>/cancel")
@role_required("agent")
def cancel_leave(leave_id: str) -> Any:
    try:
        api().post("scheduling", f"/leave-requests/{leave_id}/cancel")
    except ApiError as err:
        if err.status in (401, 403):
            raise
        flash(rule_text(err), "error")
    else:
        flash(_("Your leave request is withdrawn."), "success")
    return redirect(url_for("onshift.leave"))


# --- 换班: swaps --------------------------------------------------------------------------------------------


def _swap_calls(project_id: str) -> dict[str, Call]:
    base = f"/projects/{project_id}/swaps"
    return {
        "offers": Call(
            "scheduling",
            base,
            params={"status": "offered", "page": page_arg("offers_page"), "per_page": PER_PAGE},
        ),
        "mine": Call("scheduling", base, params={"page": page_arg(), "per_page": PER_PAGE}),
        # which of my shifts are already offered (their form becomes the offer's status)
        "pending": Call("scheduling", base, params={"status": "offered", "per_page": 200}),
        "accepted": Call("scheduling", base, params={"status": "accepted", "per_page": 200}),
    }


@bp.get("/swaps")
@role_required("agent")
def swaps() -> Any:
    """My shifts to offer, the offers I may take, and my own offers and swaps."""
    moment = now()
    agent = me()
    t = moment.astimezone(SHANGHAI).date()
    shifts, projects = my_work()
    project_id = chosen_project(projects)
    context: dict[str, Any] = {
        "projects": projects,
        "project_id": project_id,
        "me": agent,
        "form_key": str(uuid.uuid4()),
    }
    if project_id is None:
        return render_template("onshift/swaps.html", **context)
    got = api().gather(_swap_calls(project_id))
    offers, mine = must(got["offers"]), must(got["mine"])
    pending = {
        str(s["date"]): s
        for key in ("pending", "accepted")
        for s in result(got[key], default={}).get("items", [])
        if s.get("from_agent_id") == agent
    }
    horizon = t + dt.timedelta(days=SWAP_DAYS_AHEAD)
    upcoming = [
        {**s, "offer": pending.get(str(s["date"]))}
        for s in shifts
        if s["project_id"] == project_id
        and (instant(s.get("starts_at")) or moment) > moment
        and str(s["date"]) <= horizon.isoformat()
    ]
    shifts_page = page_arg("shifts_page")
    context.update(
        upcoming=upcoming[(shifts_page - 1) * SHIFTS_PER_PAGE : shifts_page * SHIFTS_PER_PAGE],
        upcoming_total=len(upcoming),
        shifts_page=shifts_page,
        shifts_per_page=SHIFTS_PER_PAGE,
        offers=[s for s in offers.items if s.get("from_agent_id") != agent],
        offers_total=offers.total or 0,
        offers_page=page_arg("offers_page"),
        # an offer addressed to me is mine only once I take it (until then it waits under "offered to me")
        mine=[
            s
            for s in mine.items
            if s.get("from_agent_id") == agent
            or (s.get("to_agent_id") == agent and s.get("status") != "offered")
        ],
        mine_total=mine.total or 0,
        page=page_arg(),
        per_page=PER_PAGE,
    )
    return render_template("onshift/swaps.html", **context)


@bp.post("/projects/<project_id>/swaps")
@role_required("agent")
def offer_swap(project_id: str) -> Any:
    """Offer my shift on a date to a named colleague (their agent id) or to anyone in the project."""
    day = (request.form.get("date") or "").strip()
    to = (request.form.get("to_agent_id") or "").strip()
    note = (request.form.get("note") or "").strip()
    body: dict[str, Any] = {"date": day}
    if to:
        body["to_agent_id"] = to
    if note:
        body["note"] = note
    try:
        offered = api().post(
            "scheduling",
            f"/projects/{project_id}/swaps",
            body,
            headers={"Idempotency-Key": f"{_key()}:{day}"},
        )
    except ApiError as err:
        if err.status in (401, 403):
            raise
        if err.status == 404 and to and to in err.detail:
            flash(
                _(
                    "No colleague %(id)s in this project: check the agent ID (they must be in this "
                    "project's pool).",
                    id=to,
                ),
                "error",
            )
        elif err.status == 404:
            flash(_("You have no shift on %(day)s in this project.", day=day), "error")
        elif err.status == 422 and err.field_errors:
            flash(
                _("The offer is not valid: %(problems)s", problems="; ".join(field_messages(err).values())),
                "error",
            )
        else:
            flash(rule_text(err), "error")
        return _back("onshift.swaps", project=project_id)
    if offered.get("to_agent_id"):
        who = offered.get("to_agent_name") or offered["to_agent_id"]
        flash(_("Your shift on %(day)s is offered to %(who)s.", day=day, who=who), "success")
    else:
        flash(_("Your shift on %(day)s is offered to everyone in the project.", day=day), "success")
    return _back("onshift.swaps", project=project_id)


@bp.post("/projects/<project_id>/swaps/<swap_id>/accept")
@role_required("agent")
def accept_swap(project_id: str, swap_id: str) -> Any:
    """Take an offered shift: the labour rules are checked now (and again when the supervisor approves)."""
    try:
        api().post("scheduling", f"/projects/{project_id}/swaps/{swap_id}/accept")
    except ApiError as err:
        if err.status == 401:
            raise
        if err.status == 403:
            flash(_("This shift is offered to another colleague."), "error")
        elif err.status == 409 and err.problem.get("rule") in RULES:
            flash(_("You cannot take this shift: %(rule)s.", rule=rule_text(err)), "error")
        else:
            flash(rule_text(err), "error")
        return _back("onshift.swaps", project=project_id)
    flash(_("You took the shift; the supervisor approves the swap before it is in the roster."), "success")
    return _back("onshift.swaps", project=project_id)


@bp.post("/projects/<project_id>/swaps/<swap_id>/cancel")
@role_required("agent")
def cancel_swap(project_id: str, swap_id: str) -> Any:
    try:
        api().post("scheduling", f"/projects/{project_id}/swaps/{swap_id}/cancel")
    except ApiError as err:
        if err.status == 401:
            raise
        flash(rule_text(err), "error")
    else:
        flash(_("Your offer is withdrawn; the shift stays yours."), "success")
    return _back("onshift.swaps", project=project_id)


# --- 开放班次: open shifts ----------------------------------------------------------------------------------


def why_not(reason: Any) -> str:
    """The service's ``not_eligible_because`` (``rule: detail`` or ``the shift is filled``) in words."""
    text = str(reason or "")
    rule = text.split(":", 1)[0].strip()
    if rule in RULES:
        return str(RULES[rule])
    if text.startswith("the shift is "):
        return str(RULES["open-shift-filled"]) if "filled" in text else str(_("Closed"))
    return text


bp.add_app_template_global(why_not, "onshift_why_not")


@bp.get("/open-shifts")
@role_required("agent")
def open_shifts() -> Any:
    """Open shifts from today in one of my projects: whether I may claim each and, if not, why."""
    moment = now()
    _shifts, projects = my_work()
    project_id = chosen_project(projects)
    page = page_arg()
    listing = None
    if project_id:
        listing = api().page(
            "scheduling",
            f"/projects/{project_id}/open-shifts",
            status="open",
            page=page,
            per_page=PER_PAGE,
            **{"from": moment.astimezone(SHANGHAI).date().isoformat()},
        )
    return render_template(
        "onshift/open_shifts.html",
        projects=projects,
        project_id=project_id,
        items=listing.items if listing else [],
        total=(listing.total or 0) if listing else 0,
        page=page,
        per_page=PER_PAGE,
        idempotency_key=str(uuid.uuid4()),
    )


@bp.post("/projects/<project_id>/open-shifts/<open_shift_id>/claim")
@role_required("agent")
def claim(project_id: str, open_shift_id: str) -> Any:
    """First come: a place on the shift, if one is left and every labour rule allows it."""
    try:
        claimed = api().post(
            "scheduling",
            f"/projects/{project_id}/open-shifts/{open_shift_id}/claim",
            headers={"Idempotency-Key": _key() + f":{open_shift_id}"},
        )
    except ApiError as err:
        if err.status in (401, 403):
            raise
        if err.status == 409 and err.problem.get("rule") == "open-shift-filled":
            flash(_("Too late: %(why)s.", why=RULES["open-shift-filled"]), "error")
        elif err.status == 409 and err.problem.get("rule") in RULES:
            flash(_("You cannot claim this shift: %(rule)s.", rule=rule_text(err)), "error")
        else:
            flash(rule_text(err), "error")
        return _back("onshift.open_shifts", project=project_id)
    shift = claimed.get("open_shift") or {}
    flash(
        _(
            "The shift is yours: %(day)s %(start)s–%(end)s. It is in your roster now.",
            day=shift.get("date", ""),
            start=shift.get("start", ""),
            end=shift.get("end", ""),
        ),
        "success",
    )
    return _back("onshift.open_shifts", project=project_id)


# --- 日历订阅: calendar feed links --------------------------------------------------------------------------


def feed_url(token: Mapping[str, Any]) -> str:
    """The full address a calendar app subscribes to: the feed through the gateway, at the address people
    reach the console by (``CONSOLE_PUBLIC_URL``: the gateway puts the console and the APIs on one origin).
    Empty once the link is revoked."""
    path = token.get("gateway_path") or ""
    if not path:
        return ""
    return current_app.extensions["console.config"].public_url + str(path)


def webcal(url: str) -> str:
    """The same feed as ``webcal://``: a phone opens it in its calendar app as a subscription."""
    return "webcal://" + url.split("://", 1)[1] if "://" in url else url


bp.add_app_template_global(webcal, "onshift_webcal")


def _calendar_page(issued: Mapping[str, Any] | None = None) -> Any:
    page = page_arg()
    listing = api().page("scheduling", f"/agents/{me()}/calendar-tokens", page=page, per_page=PER_PAGE)
    tokens = [{**t, "feed": feed_url(t)} for t in listing.items]
    return render_template(
        "onshift/calendar.html",
        tokens=tokens,
        total=listing.total or 0,
        page=page,
        per_page=PER_PAGE,
        issued={**issued, "feed": feed_url(issued)} if issued else None,
    )


@bp.get("/calendar")
@role_required("agent")
def calendar() -> Any:
    """My calendar links: issue one per phone or calendar app, revoke one no longer used."""
    return _calendar_page()


@bp.post("/calendar")
@role_required("agent")
def issue_feed() -> Any:
    """A new feed link, shown in full at the top of the answer page to copy into the calendar app."""
    try:
        issued = api().post("scheduling", f"/agents/{me()}/calendar-tokens")
    except ApiError as err:
        if err.status in (401, 403):
            raise
        flash(rule_text(err), "error")
        return redirect(url_for("onshift.calendar"))
    flash(_("A new calendar link is ready: copy it into your calendar app."), "success")
    return _calendar_page(issued)


@bp.post("/calendar/<token_id>/revoke")
@role_required("agent")
def revoke_feed(token_id: str) -> Any:
    try:
        api().delete("scheduling", f"/agents/{me()}/calendar-tokens/{token_id}")
    except ApiError as err:
        if err.status in (401, 403):
            raise
        flash(rule_text(err), "error")
    else:
        flash(_("The link is revoked: calendars using it stop updating."), "success")
    return redirect(url_for("onshift.calendar"))
