"""The day of operation for supervisors and the vendor (值班运营): the live status board of each running
project (实时监控), attendance to confirm into timesheets (考勤确认), leave (请假审批) and swaps (换班审批) to
decide, open shifts (开放班次), the on-duty desk with its rota, help queue and all-hands (值班台 / 全员上岗),
alert channels and the alert log (通知), and each project's operation settings (运营设置).

Everything shown is the scheduling service's day-of-operation, duty and alerts APIs; the console shapes it
for people: Chinese labels for states and rules, the labour rule that refused a swap in words, a board
that refreshes itself (``desk.js`` re-reads the board fragment every ``refresh_seconds``; without
JavaScript the page reloads itself). A merchant reads its own projects' boards, nothing more.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from services.console.bff import ApiError, Call, Reply
from services.console.i18n import SHANGHAI, _, current_locale, format_instant, parse_instant
from services.console.i18n import lazy_gettext as _l
from services.console.views.ops import (
    SHIFT_LABELS,
    label,
    must,
    parse_day,
    people,
    result,
    staff_candidates,
    today,
)
from services.console.web import (
    api,
    field_messages,
    flash_problem,
    identity_of,
    pick,
    problem_message,
    role_required,
)

bp = Blueprint("desk", __name__, url_prefix="/desk")

#: who runs the day (admin always passes); a merchant reads its own projects' live status only
DESK_ROLES = ("vendor", "supervisor")
READERS = (*DESK_ROLES, "merchant")
PER_PAGE = 50
#: the board asks to be read again this often; the issue's ceiling is 3 minutes
MAX_REFRESH_SECONDS = 180
MIN_REFRESH_SECONDS = 15
DEFAULT_REFRESH_SECONDS = 60

# --- labels -------------------------------------------------------------------------------------------------

BOARD_STATES: dict[str, Any] = {
    "upcoming": _l("Not started"),
    "not_yet": _l("Within tolerance"),
    "missing": _l("Not at work"),
    "clocked_in": _l("Clocked in"),
    "clocked_out": _l("Clocked out"),
    "no_show": _l("No-show"),
}
GAP_KINDS: dict[str, Any] = {
    "not-clocked-in": _l("Not clocked in"),
    "roster-gap": _l("Roster gap"),
    "no-show-unreplaced": _l("No-show not replaced"),
}
ATTENDANCE_STATUSES: dict[str, Any] = {
    "on_duty": _l("On duty"),
    "present": _l("Present"),
    "late": _l("Late"),
    "early_leave": _l("Left early"),
    "late_early_leave": _l("Late and left early"),
    "no_show": _l("No-show"),
}
LEAVE_KINDS: dict[str, Any] = {
    "sick": _l("Sick leave"),
    "personal": _l("Personal leave"),
    "annual": _l("Annual leave"),
    "other": _l("Other leave"),
}
LEAVE_STATUSES: dict[str, Any] = {
    "pending": _l("Awaiting approval"),
    "approved": _l("Approved"),
    "refused": _l("Refused"),
    "cancelled": _l("Cancelled"),
}
SWAP_STATUSES: dict[str, Any] = {
    "offered": _l("Offered"),
    "accepted": _l("Accepted, awaiting approval"),
    "approved": _l("Approved"),
    "refused": _l("Refused"),
    "cancelled": _l("Cancelled"),
}
#: the labour rules a swap (or a claim) is refused by, as a supervisor reads them
SWAP_RULES: dict[str, Any] = {
    "min-rest": _l("Less than 11 hours of rest between two shifts"),
    "max-weekly-hours": _l("Over the weekly hours limit"),
    "max-consecutive-days": _l("Too many working days in a row"),
    "one-shift-per-day": _l("Only one shift a day"),
    "declared-availability": _l("Outside the declared availability"),
    "on-leave": _l("On leave"),
    "skill": _l("The skill does not match"),
    "availability": _l("Outside the agent's shift preferences"),
    "shift-changed": _l("The roster has changed"),
    "shift-started": _l("The shift has already started"),
    "departed": _l("The agent has left the project"),
    "part-time": _l("Not a part-time shift"),
    "supervisor": _l("Refused by the supervisor"),
    "swap-status": _l("The swap is no longer awaiting approval"),
}
OPEN_SHIFT_STATUSES: dict[str, Any] = {
    "open": _l("Open for claims"),
    "filled": _l("Full"),
    "closed": _l("Closed"),
}
OPEN_SHIFT_SOURCES: dict[str, Any] = {
    "gap": _l("Roster gap"),
    "surge": _l("Surge"),
    "leave": _l("Leave"),
    "no-show": _l("No-show"),
}
SKILLS: dict[str, Any] = {
    "presale": _l("Pre-sales"),
    "aftersale": _l("After-sales"),
    "triage": _l("Triage"),
}
HELP_KINDS: dict[str, Any] = {
    "question": _l("Question"),
    "dispute": _l("Dispute above authority"),
    "handover": _l("Complaint to hand over"),
}
HELP_STATUSES: dict[str, Any] = {
    "open": _l("Waiting"),
    "answered": _l("Answered"),
    "handed_over": _l("Handed over"),
}
PARTIES: dict[str, Any] = {
    "warehouse": _l("Warehouse"),
    "product": _l("Product team"),
    "merchant": _l("Merchant"),
    "logistics": _l("Logistics"),
}
DUTY_KINDS: dict[str, Any] = {"desk": _l("Desk duty"), "agent": _l("Agent duty (all-hands)")}
STAFF_ROLES: dict[str, Any] = {
    "supervisor": _l("Supervisor"),
    "team_lead": _l("Team lead"),
    "trainer": _l("Trainer"),
    "qa": _l("Quality"),
}
#: console roles that may go on agent duty in an all-hands, as the service names them
ALL_HANDS_ROLES = {"supervisor": "supervisor", "trainer": "trainer", "qa": "qa"}
ALERT_KINDS: dict[str, Any] = {
    "no_show": _l("No-show"),
    "uncovered": _l("Uncovered interval"),
    "complaint_escalated": _l("Complaint escalated"),
    "complaint_overdue": _l("Complaint overdue"),
    "reserve_shortfall": _l("Reserve short"),
    "help_requested": _l("Help requested"),
    "mass_attrition": _l("Mass attrition"),
    "invoice_issued": _l("Invoice issued"),
    "invoice_paid": _l("Invoice paid"),
    "test": _l("Test"),
}
ALERT_STATUSES: dict[str, Any] = {
    "pending": _l("Sending"),
    "sent": _l("Sent"),
    "failed": _l("Sending failed"),
    "unrouted": _l("No channel"),
}
DELIVERY_STATUSES: dict[str, Any] = {
    "pending": _l("Sending"),
    "sent": _l("Sent"),
    "failed": _l("Sending failed"),
}
CHANNEL_TYPES: dict[str, Any] = {
    "wecom": _l("WeCom group robot"),
    "dingtalk": _l("DingTalk group robot"),
    "email": _l("By e-mail"),
}
AUDIENCES: dict[str, Any] = {
    "supervisor": _l("Supervisors"),
    "vendor": _l("Vendor"),
    "merchant": _l("Merchant"),
}
MESSAGE_FORMATS: dict[str, Any] = {"markdown": _l("Markdown"), "text": _l("Plain text")}
CHANNEL_FIELDS = (
    "name",
    "type",
    "project_id",
    "audience",
    "webhook_url",
    "secret",
    "recipients",
    "message_format",
)


@bp.app_template_global("desk_label")
def desk_label(kind: str, key: Any) -> str:
    tables: dict[str, Mapping[str, Any]] = {
        "state": BOARD_STATES,
        "gap": GAP_KINDS,
        "attendance": ATTENDANCE_STATUSES,
        "leave_kind": LEAVE_KINDS,
        "leave_status": LEAVE_STATUSES,
        "swap_status": SWAP_STATUSES,
        "rule": SWAP_RULES,
        "open_status": OPEN_SHIFT_STATUSES,
        "source": OPEN_SHIFT_SOURCES,
        "skill": SKILLS,
        "help_kind": HELP_KINDS,
        "help_status": HELP_STATUSES,
        "party": PARTIES,
        "duty": DUTY_KINDS,
        "staff_role": STAFF_ROLES,
        "alert_kind": ALERT_KINDS,
        "alert_status": ALERT_STATUSES,
        "delivery_status": DELIVERY_STATUSES,
        "channel_type": CHANNEL_TYPES,
        "audience": AUDIENCES,
        "shift": SHIFT_LABELS,
    }
    return label(tables[kind], key)


def can_run() -> bool:
    return current_user.role in (*DESK_ROLES, "admin")


@bp.context_processor
def _desk_context() -> dict[str, Any]:
    zh = current_locale() == "zh"
    return {
        "can_run": can_run() if current_user.is_authenticated else False,
        "colon": "：" if zh else ": ",
        "list_sep": "、" if zh else ", ",
    }


# --- small helpers ------------------------------------------------------------------------------------------


def page_number() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


def page_slice(items: Sequence[Any], page: int, per_page: int = PER_PAGE) -> list[Any]:
    """A page of a list the service answers whole (a day's attendance, the board's rows)."""
    return list(items[(page - 1) * per_page : page * per_page])


@bp.app_template_filter("clock_time")
def clock_time(value: Any) -> str:
    """An instant as the Beijing wall-clock time ``HH:MM`` (a board reads times, not dates)."""
    return format_instant(value, "HH:mm") if value else ""


@bp.app_template_filter("percent")
def percent(value: Any) -> str:
    """A share (0.9167) as ``91.7%``; nothing to measure yet as ``—``."""
    if value is None or value == "":
        return "—"
    try:
        return f"{float(value) * 100:.1f}%".replace(".0%", "%")
    except (TypeError, ValueError):
        return str(value)


@bp.app_template_filter("waited")
def waited(seconds: Any) -> str:
    """A response clock: ``3 min 20 s``, ``1 h 5 min``."""
    try:
        total = max(0, int(seconds or 0))
    except (TypeError, ValueError):
        return ""
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return _("%(h)s h %(m)s min", h=hours, m=minutes)
    if minutes:
        return _("%(m)s min %(s)s s", m=minutes, s=secs)
    return _("%(s)s s", s=secs)


@bp.app_template_global("names_of")
def names_of(people_by_sub: Mapping[str, str], label_text: Any) -> str:
    """Who did it, from the ``role:sub`` the services record (a console user's name when known)."""
    if not label_text:
        return ""
    text = str(label_text)
    _role, _, sub = text.partition(":")
    return people_by_sub.get(sub or text, sub or text)


def _project_call(project_id: str) -> Call:
    """The project as scheduling knows it (its name, its service hours): today's rota gaps carry both and
    are open to every role that reads a desk page."""
    return Call("scheduling", f"/projects/{project_id}/duty/gaps")


def _project_name(reply: Reply | ApiError, project_id: str) -> str:
    return pick(result(reply), "project_name") or project_id


def running_projects() -> list[dict[str, Any]]:
    """The live projects scheduling runs (id, name), for filters and pickers."""
    try:
        listed = api().get("scheduling", "/duty/gaps", per_page=200)
    except ApiError as err:
        if err.status in (401, 403):
            raise
        return []
    items = sorted(listed.get("items", []), key=lambda p: str(p.get("project_name") or p.get("project_id")))
    return [{"id": p["project_id"], "name": p.get("project_name") or p["project_id"]} for p in items]


def project_choices(projects: Iterable[Mapping[str, Any]], selected: str = "") -> list[tuple[str, str]]:
    choices = [(p["id"], p["name"]) for p in projects]
    if selected and selected not in {c[0] for c in choices}:
        choices.insert(0, (selected, selected))
    return choices


def flat_errors(error: ApiError, prefix: str = "") -> dict[str, str]:
    """The problem's field errors keyed by the form's field names (``shifts.0.start`` → ``start``)."""
    out: dict[str, str] = {}
    for name, message in field_messages(error).items():
        key = name
        if prefix and name.startswith(prefix):
            key = name.rsplit(".", 1)[-1]
        key = {"from_": "from", "_schema": "_general"}.get(key, key)
        out[key] = "; ".join(filter(None, [out.get(key), message]))
    return out


def _key() -> dict[str, str]:
    """The form's idempotency key as the header the services read (a double click creates one thing)."""
    return {"Idempotency-Key": request.form.get("idempotency_key") or str(uuid.uuid4())}


def back(endpoint: str, **values: Any) -> Any:
    """After a form: the page it came from (same origin), else ``endpoint``."""
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(url_for(endpoint, **values))


# --- 实时监控: the running projects and each project's live status board ------------------------------------


def refresh_seconds(board: Mapping[str, Any] | None) -> int:
    asked = (board or {}).get("refresh_seconds") or DEFAULT_REFRESH_SECONDS
    return max(MIN_REFRESH_SECONDS, min(int(asked), MAX_REFRESH_SECONDS))


def _merchant_projects() -> tuple[list[dict[str, Any]], int]:
    page = page_number()
    reply = api().page("onboarding", "/projects", status="confirmed,live", per_page=PER_PAGE, page=page)
    projects = [
        {"id": p["id"], "name": pick(p, "merchant", "company_name") or p["id"], "gap_minutes": None}
        for p in reply.items
    ]
    return projects, reply.total or 0


@bp.get("/")
@role_required(*READERS)
def index() -> Any:
    """The running projects, each with who should be on duty now, who is clocked in and who is missing."""
    page = page_number()
    if current_user.role == "merchant":
        projects, total = _merchant_projects()
        leave_pending = None
    else:
        got = api().gather(
            {
                "projects": Call("scheduling", "/duty/gaps", params={"per_page": PER_PAGE, "page": page}),
                "leave": Call("scheduling", "/leave-requests", params={"status": "pending", "per_page": 1}),
            }
        )
        listing = must(got["projects"])
        projects = [
            {
                "id": p["project_id"],
                "name": p.get("project_name") or p["project_id"],
                "gap_minutes": p.get("gap_minutes"),
            }
            for p in listing.data.get("items", [])
        ]
        total = int(listing.data.get("total") or 0)
        leave_reply = got["leave"]
        leave_pending = leave_reply.total if isinstance(leave_reply, Reply) else None
    boards = api().gather({p["id"]: Call("scheduling", f"/projects/{p['id']}/status") for p in projects})
    rows = [{**p, "board": result(boards[p["id"]])} for p in projects]
    # ``?fragment=1``: the figures alone, for desk.js to swap in
    template = "desk/_projects.html" if request.args.get("fragment") else "desk/index.html"
    return render_template(
        template,
        rows=rows,
        total=total,
        page=page,
        per_page=PER_PAGE,
        leave_pending=leave_pending,
        refresh=DEFAULT_REFRESH_SECONDS,
    )


def _board_context(project_id: str) -> dict[str, Any]:
    page = page_number()
    board = api().get("scheduling", f"/projects/{project_id}/status")
    names = {
        r["agent_id"]: r.get("agent_name") or r["agent_id"]
        for r in [*board.get("on_duty", []), *board.get("adherence", [])]
    }
    adherence = sorted(
        board.get("adherence", []),
        key=lambda r: (r.get("start") or "", r.get("agent_name") or r.get("agent_id") or ""),
    )
    on_duty = sorted(
        board.get("on_duty", []),
        key=lambda r: (
            0 if r.get("state") in ("missing", "no_show") else 1,
            r.get("agent_name") or r.get("agent_id") or "",
        ),
    )
    return {
        "project_id": project_id,
        "board": board,
        "on_duty": on_duty,
        "gaps": board.get("gaps", []),
        "names": names,
        "adherence": page_slice(adherence, page),
        "adherence_total": len(adherence),
        "page": page,
        "per_page": PER_PAGE,
        "refresh": refresh_seconds(board),
        "updated": format_instant(board.get("at"), "HH:mm:ss"),
    }


@bp.get("/projects/<project_id>")
@role_required(*READERS)
def project(project_id: str) -> Any:
    """The live status board (实时监控): who should be on duty now against who is clocked in, the gaps, the
    day's adherence; it refreshes itself."""
    got = api().gather({"project": _project_call(project_id)})
    return render_template(
        "desk/project.html",
        project_name=_project_name(got["project"], project_id),
        active="status",
        **_board_context(project_id),
    )


@bp.get("/projects/<project_id>/board")
@role_required(*READERS)
def board_fragment(project_id: str) -> Any:
    """The board alone, for ``desk.js`` to swap in every ``refresh_seconds``."""
    return render_template("desk/_board.html", **_board_context(project_id))


@bp.post("/projects/<project_id>/clock")
@role_required(*DESK_ROLES)
def clock(project_id: str) -> Any:
    """Clock an agent in or out on their behalf (a phone that died, a network down at the site)."""
    agent_id = (request.form.get("agent_id") or "").strip()
    action = request.form.get("action")
    name = request.form.get("agent_name") or agent_id
    if not agent_id or action not in ("in", "out"):
        flash(_("Choose an agent."), "error")
        return back("desk.project", project_id=project_id)
    path = f"/projects/{project_id}/attendance/clock-{action}"
    try:
        record = api().post("scheduling", path, {"agent_id": agent_id})
    except ApiError as err:
        if err.status == 401:
            raise
        flash_problem(err)
    else:
        at = clock_time(record.get("clock_in") if action == "in" else record.get("clock_out"))
        if action == "in":
            flash(_("%(name)s is clocked in at %(time)s.", name=name, time=at), "success")
        else:
            flash(_("%(name)s is clocked out at %(time)s.", name=name, time=at), "success")
    return back("desk.project", project_id=project_id)


# --- 考勤确认: a day's attendance into timesheets -----------------------------------------------------------


def _attendance_page(
    project_id: str,
    day: dt.date,
    *,
    errors: Mapping[str, Mapping[str, str]] | None = None,
    values: Mapping[str, Mapping[str, str]] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Any:
    page = page_number()
    got = api().gather(
        {
            "day": Call("scheduling", f"/projects/{project_id}/attendance", params={"date": day.isoformat()}),
            "project": _project_call(project_id),
            # the service's "now" (its clock decides whether a shift is over, not this machine's)
            "now": Call("scheduling", f"/projects/{project_id}/duty/now"),
        }
    )
    data = must(got["day"]).data
    now = parse_instant(pick(result(got["now"]), "at")) or dt.datetime.now(dt.UTC)
    items = [{**r, "over": shift_over(r, now)} for r in data.get("items", [])]
    # a record whose shift is still running cannot be confirmed yet (the service refuses it)
    finished = [r for r in items if not r.get("confirmed_at") and r["over"]]
    return render_template(
        "desk/attendance.html",
        project_id=project_id,
        project_name=_project_name(got["project"], project_id),
        active="attendance",
        day=day,
        tolerance=data.get("tolerance_minutes"),
        records=page_slice(items, page),
        total=len(items),
        finished=len(finished),
        page=page,
        per_page=PER_PAGE,
        errors=errors or {},
        values=values or {},
        error=error,
        people=people(),
    ), status


def shift_end(record: Mapping[str, Any]) -> dt.datetime | None:
    """When a record's shift ends, Beijing time (an end at or before the start is the next day)."""
    day = parse_day(str(record.get("date") or "")[:10])
    start, end = str(record.get("start") or ""), str(record.get("end") or "")
    if day is None or not end:
        return None
    if end == "24:00":
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), SHANGHAI)
    try:
        ends = dt.datetime.combine(day, dt.time.fromisoformat(end), SHANGHAI)
    except ValueError:
        return None
    return ends + dt.timedelta(days=1) if start and end <= start else ends


def shift_over(record: Mapping[str, Any], now: dt.datetime) -> bool:
    """Clocked out, a no-show, or past the shift's end: the record can be confirmed."""
    if record.get("clock_out") or record.get("status") == "no_show":
        return True
    ends = shift_end(record)
    return ends is not None and ends <= now


@bp.get("/projects/<project_id>/attendance")
@role_required(*DESK_ROLES)
def attendance(project_id: str) -> Any:
    return _attendance_page(project_id, parse_day(request.args.get("date")) or today())


@bp.post("/projects/<project_id>/attendance/confirm")
@role_required(*DESK_ROLES)
def confirm_day(project_id: str) -> Any:
    """Confirm every finished record of the day with the clocked hours."""
    day = parse_day(request.form.get("date")) or today()
    try:
        outcome = api().post(
            "scheduling",
            f"/projects/{project_id}/attendance/confirm",
            {"date": day.isoformat()},
            headers=_key(),
        )
    except ApiError as err:
        if err.status == 401:
            raise
        flash_problem(err)
    else:
        confirmed, waiting = len(outcome.get("confirmed", [])), len(outcome.get("waiting", []))
        if waiting:
            flash(
                _(
                    "%(confirmed)s records confirmed into the timesheets; %(waiting)s shifts are not over "
                    "yet and wait.",
                    confirmed=confirmed,
                    waiting=waiting,
                ),
                "success" if confirmed else "warning",
            )
        else:
            flash(_("%(confirmed)s records confirmed into the timesheets.", confirmed=confirmed), "success")
    return redirect(url_for("desk.attendance", project_id=project_id, date=day.isoformat()))


@bp.post("/projects/<project_id>/attendance/<record_id>/confirm")
@role_required(*DESK_ROLES)
def confirm_record(project_id: str, record_id: str) -> Any:
    """Confirm one record as clocked, or correct its hours (a reason is then required)."""
    day = parse_day(request.form.get("date")) or today()
    hours = (request.form.get("hours") or "").strip().replace(",", ".")
    reason = (request.form.get("reason") or "").strip()
    values = {record_id: {"hours": hours, "reason": reason}}
    body: dict[str, Any] = {}
    if hours:
        body["hours"] = hours
    if reason:
        body["reason"] = reason
    try:
        done = api().post(
            "scheduling", f"/projects/{project_id}/attendance/{record_id}/confirm", body, headers=_key()
        )
    except ApiError as err:
        if err.status in (401, 403, 404):
            raise
        errors = flat_errors(err)
        if err.status == 422 and errors:
            message = _("Nothing was confirmed: correct the hours or give the reason below.")
        else:
            message = problem_message(err)
        return _attendance_page(
            project_id,
            day,
            errors={record_id: errors},
            values=values,
            error=message,
            status=err.status if err.status in (409, 422) else 502,
        )
    name = done.get("agent_name") or done.get("agent_id")
    if done.get("correction_reason"):
        flash(
            _(
                "%(name)s: %(hours)s hours confirmed (corrected).",
                name=name,
                hours=done.get("confirmed_hours"),
            ),
            "success",
        )
    else:
        flash(
            _("%(name)s: %(hours)s hours confirmed.", name=name, hours=done.get("confirmed_hours")), "success"
        )
    return redirect(url_for("desk.attendance", project_id=project_id, date=day.isoformat()))


# --- 请假审批: leave requests -------------------------------------------------------------------------------


def _pool_names(project_ids: Iterable[str]) -> dict[str, str]:
    """Agents' names from the pools of these projects (leave requests carry only the agent's id)."""
    ids = list(dict.fromkeys(project_ids))
    got = api().gather(
        {pid: Call("scheduling", f"/projects/{pid}/pool", params={"per_page": 200}) for pid in ids}
    )
    names: dict[str, str] = {}
    for reply in got.values():
        for agent in result(reply, default={}).get("items", []):
            names.setdefault(agent["agent_id"], agent.get("name") or agent["agent_id"])
    return names


@bp.get("/leave")
@role_required(*DESK_ROLES)
def leave() -> Any:
    """Leave requests (pending first by default), filtered by project; approved ones show their effects."""
    page = page_number()
    project_id = (request.args.get("project_id") or "").strip()
    status = request.args.get("status", "pending")
    if status not in (*LEAVE_STATUSES, ""):
        status = "pending"
    listing = api().page(
        "scheduling",
        "/leave-requests",
        status=status or None,
        project_id=project_id or None,
        per_page=PER_PAGE,
        page=page,
    )
    projects = running_projects()
    project_names = {p["id"]: p["name"] for p in projects}
    scope = [project_id] if project_id else [p["id"] for p in projects]
    for item in listing.items:
        scope.extend(e.get("project_id") for e in item.get("effects") or [] if e.get("project_id"))
    names = {**people(), **_pool_names(scope[:PER_PAGE])}
    return render_template(
        "desk/leave.html",
        items=listing.items,
        total=listing.total or 0,
        page=page,
        per_page=PER_PAGE,
        project_id=project_id,
        status=status,
        choices=project_choices(projects, project_id),
        project_names=project_names,
        names=names,
        statuses=[(k, str(v)) for k, v in LEAVE_STATUSES.items()],
    )


@bp.post("/leave/<leave_id>/decision")
@role_required(*DESK_ROLES)
def decide_leave(leave_id: str) -> Any:
    approve = request.form.get("decision") == "approve"
    note = (request.form.get("note") or "").strip() or None
    try:
        decided = api().post(
            "scheduling",
            f"/leave-requests/{leave_id}/decision",
            {"approve": approve, "note": note},
            headers=_key(),
        )
    except ApiError as err:
        if err.status == 401:
            raise
        flash_problem(err)
    else:
        if approve:
            effects = decided.get("effects") or []
            taken = sum(len(t.get("dates", [])) for e in effects for t in e.get("taken_over", []))
            opened = sum(len(e.get("opened", [])) for e in effects)
            flash(
                _(
                    "Leave approved: %(taken)s shifts taken over by reserve agents, %(opened)s published "
                    "as open shifts.",
                    taken=taken,
                    opened=opened,
                ),
                "success",
            )
        else:
            flash(_("Leave refused."), "success")
    return back("desk.leave")


# --- 换班审批: swaps ----------------------------------------------------------------------------------------


def swap_refusal(error: ApiError) -> dict[str, str]:
    """A 409 of a swap decision: the labour rule in words, and the service's own detail."""
    rule = str(error.problem.get("rule") or "")
    return {
        "rule": rule,
        "rule_text": label(SWAP_RULES, rule) if rule else "",
        "detail": error.detail,
    }


def _swaps_page(project_id: str, *, refusal: Mapping[str, Any] | None = None, status_code: int = 200) -> Any:
    page = page_number()
    status = request.args.get("status", "accepted")
    if status not in (*SWAP_STATUSES, ""):
        status = "accepted"
    got = api().gather(
        {
            "swaps": Call(
                "scheduling",
                f"/projects/{project_id}/swaps",
                params={"status": status or None, "per_page": PER_PAGE, "page": page},
            ),
            "project": _project_call(project_id),
        }
    )
    listing = must(got["swaps"])
    return render_template(
        "desk/swaps.html",
        project_id=project_id,
        project_name=_project_name(got["project"], project_id),
        active="swaps",
        items=listing.items,
        total=listing.total or 0,
        page=page,
        per_page=PER_PAGE,
        status=status,
        statuses=[(k, str(v)) for k, v in SWAP_STATUSES.items()],
        refusal=refusal,
        people=people(),
    ), status_code


@bp.get("/projects/<project_id>/swaps")
@role_required(*DESK_ROLES)
def swaps(project_id: str) -> Any:
    return _swaps_page(project_id)


@bp.post("/projects/<project_id>/swaps/<swap_id>/decision")
@role_required(*DESK_ROLES)
def decide_swap(project_id: str, swap_id: str) -> Any:
    """Approve (every labour rule checked again: a refusal names the rule) or refuse a swap."""
    approve = request.form.get("decision") == "approve"
    note = (request.form.get("note") or "").strip() or None
    try:
        decided = api().post(
            "scheduling",
            f"/projects/{project_id}/swaps/{swap_id}/decision",
            {"approve": approve, "note": note},
        )
    except ApiError as err:
        if err.status in (401, 403, 404):
            raise
        if err.status == 409 and err.problem.get("rule"):
            refusal = {
                **swap_refusal(err),
                "swap": result(
                    api().gather({"s": Call("scheduling", f"/projects/{project_id}/swaps/{swap_id}")})["s"],
                    default={},
                ),
            }
            return _swaps_page(project_id, refusal=refusal, status_code=409)
        flash_problem(err)
        return back("desk.swaps", project_id=project_id)
    if approve:
        flash(
            _(
                "Swap approved: %(taker)s works the %(date)s shift (roster version %(version)s).",
                taker=decided.get("to_agent_name") or decided.get("to_agent_id"),
                date=decided.get("date"),
                version=decided.get("roster_version"),
            ),
            "success",
        )
    else:
        flash(_("Swap refused."), "success")
    return back("desk.swaps", project_id=project_id)


# --- 开放班次: open shifts ----------------------------------------------------------------------------------


def _open_shifts_page(
    project_id: str,
    *,
    form: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Any:
    page = page_number()
    status = request.args.get("status", "open")
    if status not in (*OPEN_SHIFT_STATUSES, "all"):
        status = "open"
    start = parse_day(request.args.get("from"))
    end = parse_day(request.args.get("to"))
    got = api().gather(
        {
            "list": Call(
                "scheduling",
                f"/projects/{project_id}/open-shifts",
                params={
                    "status": status,
                    "from": start.isoformat() if start else None,
                    "to": end.isoformat() if end else None,
                    "per_page": PER_PAGE,
                    "page": page,
                },
            ),
            "project": _project_call(project_id),
        }
    )
    listing = must(got["list"])
    first = today()
    return render_template(
        "desk/open_shifts.html",
        project_id=project_id,
        project_name=_project_name(got["project"], project_id),
        active="open_shifts",
        items=listing.items,
        total=listing.total or 0,
        page=page,
        per_page=PER_PAGE,
        status=status,
        statuses=[*((k, str(v)) for k, v in OPEN_SHIFT_STATUSES.items()), ("all", _("All"))],
        filter_from=start.isoformat() if start else "",
        filter_to=end.isoformat() if end else "",
        form=form or {"from": first.isoformat(), "to": (first + dt.timedelta(days=6)).isoformat()},
        errors=errors or {},
        error=error,
    ), status_code


@bp.get("/projects/<project_id>/open-shifts")
@role_required(*DESK_ROLES)
def open_shifts(project_id: str) -> Any:
    return _open_shifts_page(project_id)


@bp.post("/projects/<project_id>/open-shifts")
@role_required(*DESK_ROLES)
def publish_open_shifts(project_id: str) -> Any:
    """Publish every uncovered shift in the range as an open shift that eligible agents claim."""
    form = {"from": (request.form.get("from") or "").strip(), "to": (request.form.get("to") or "").strip()}
    errors = {k: _("Enter a date.") for k, v in form.items() if not parse_day(v)}
    if errors:
        return _open_shifts_page(
            project_id,
            form=form,
            errors=errors,
            error=_("Some of the information is not valid."),
            status_code=422,
        )
    try:
        published = api().post("scheduling", f"/projects/{project_id}/open-shifts", form)
    except ApiError as err:
        if err.status in (401, 403, 404):
            raise
        return _open_shifts_page(
            project_id,
            form=form,
            errors=flat_errors(err),
            error=problem_message(err),
            status_code=err.status if err.status in (409, 422) else 502,
        )
    items = published.get("items", [])
    places = sum(int(i.get("places") or 0) for i in items)
    if items:
        flash(
            _(
                "%(shifts)s open shifts published with %(places)s places: eligible agents can claim them "
                "now.",
                shifts=len(items),
                places=places,
            ),
            "success",
        )
    else:
        flash(_("No uncovered shift in these dates: nothing to publish."), "info")
    return redirect(url_for("desk.open_shifts", project_id=project_id))


@bp.post("/projects/<project_id>/open-shifts/<open_shift_id>/close")
@role_required(*DESK_ROLES)
def close_open_shift(project_id: str, open_shift_id: str) -> Any:
    try:
        api().post("scheduling", f"/projects/{project_id}/open-shifts/{open_shift_id}/close")
    except ApiError as err:
        if err.status == 401:
            raise
        flash_problem(err)
    else:
        flash(_("The open shift is closed: its remaining places are withdrawn."), "success")
    return back("desk.open_shifts", project_id=project_id)


# --- 值班台: the duty rota, help requests, all-hands --------------------------------------------------------

ROTA_DAYS = 14
HELP_PER_PAGE = 20
GAP_DAYS = 7


def _supervisor_choices() -> list[tuple[str, str]]:
    """Who can be put on desk duty: the console's supervisors (and the vendor's staff signed in)."""
    choices = staff_candidates("supervisor")
    me = identity_of(current_user).sub
    if me not in {c[0] for c in choices}:
        choices.insert(0, (me, current_user.display_name))
    return choices


def _all_hands_staff() -> list[dict[str, str]]:
    """Staff below manager who can take customers in an all-hands: supervisors, trainers, quality staff."""
    rows = []
    for role, service_role in ALL_HANDS_ROLES.items():
        for user_id, name in staff_candidates(role):
            rows.append({"id": user_id, "name": name, "role": service_role})
    return rows


def _duty_page(
    project_id: str,
    *,
    duty_form: Mapping[str, str] | None = None,
    duty_errors: Mapping[str, str] | None = None,
    duty_error: str | None = None,
    hands_form: Mapping[str, Any] | None = None,
    hands_errors: Mapping[str, str] | None = None,
    hands_error: str | None = None,
    help_errors: Mapping[str, Mapping[str, str]] | None = None,
    help_values: Mapping[str, Mapping[str, str]] | None = None,
    status_code: int = 200,
) -> Any:
    page = page_number()
    help_page = max(1, request.args.get("help_page", 1, type=int) or 1)
    help_status = request.args.get("help", "open")
    if help_status not in (*HELP_STATUSES, "all"):
        help_status = "open"
    first = today()
    got = api().gather(
        {
            "now": Call("scheduling", f"/projects/{project_id}/duty/now"),
            "gaps": Call(
                "scheduling",
                f"/projects/{project_id}/duty/gaps",
                params={
                    "from": first.isoformat(),
                    "to": (first + dt.timedelta(days=GAP_DAYS - 1)).isoformat(),
                },
            ),
            "rota": Call(
                "scheduling",
                f"/projects/{project_id}/duty",
                params={
                    "from": first.isoformat(),
                    "to": (first + dt.timedelta(days=ROTA_DAYS - 1)).isoformat(),
                    "per_page": PER_PAGE,
                    "page": page,
                },
            ),
            "help": Call(
                "scheduling",
                f"/projects/{project_id}/help",
                params={
                    "status": None if help_status == "all" else help_status,
                    "per_page": HELP_PER_PAGE,
                    "page": help_page,
                },
            ),
            "all_hands": Call("scheduling", f"/projects/{project_id}/all-hands", params={"per_page": 10}),
        }
    )
    gaps = must(got["gaps"]).data
    rota = must(got["rota"])
    help_list = result(got["help"], default={})
    gap_days: dict[str, list[Mapping[str, Any]]] = {}
    for gap in gaps.get("gaps", []):
        gap_days.setdefault(str(gap.get("date")), []).append(gap)
    default_duty = {
        "supervisor_id": identity_of(current_user).sub,
        "date": first.isoformat(),
        "start": gaps.get("service_start") or "08:00",
        "end": gaps.get("service_end") or "20:00",
        "note": "",
        "idempotency_key": str(uuid.uuid4()),
    }
    default_hands = {
        "reason": "",
        "from": first.isoformat(),
        "to": (first + dt.timedelta(days=2)).isoformat(),
        "staff": [],
        "idempotency_key": str(uuid.uuid4()),
    }
    return render_template(
        "desk/duty.html",
        project_id=project_id,
        project_name=gaps.get("project_name") or project_id,
        active="duty",
        now=result(got["now"], default={}),
        gaps=gaps,
        gap_days=sorted(gap_days.items()),
        rota=rota.items,
        rota_total=rota.total or 0,
        page=page,
        per_page=PER_PAGE,
        help_items=help_list.get("items", []),
        help_total=help_list.get("total", 0),
        help_page=help_page,
        help_per_page=HELP_PER_PAGE,
        help_status=help_status,
        help_statuses=[*((k, str(v)) for k, v in HELP_STATUSES.items()), ("all", _("All"))],
        help_error=problem_message(got["help"]) if isinstance(got["help"], ApiError) else None,
        help_errors=help_errors or {},
        help_values=help_values or {},
        all_hands=result(got["all_hands"], default={}).get("items", []),
        supervisors=_supervisor_choices(),
        staff=_all_hands_staff(),
        duty_form=duty_form or default_duty,
        duty_errors=duty_errors or {},
        duty_error=duty_error,
        hands_form=hands_form or default_hands,
        hands_errors=hands_errors or {},
        hands_error=hands_error,
        parties=[(k, str(v)) for k, v in PARTIES.items()],
        people=people(),
        rota_days=ROTA_DAYS,
        gap_days_count=GAP_DAYS,
    ), status_code


@bp.get("/projects/<project_id>/duty")
@role_required(*DESK_ROLES)
def duty(project_id: str) -> Any:
    return _duty_page(project_id)


@bp.post("/projects/<project_id>/duty")
@role_required(*DESK_ROLES)
def add_duty(project_id: str) -> Any:
    """Put a supervisor on desk duty for one shift."""
    keys = ("supervisor_id", "date", "start", "end", "note", "idempotency_key")
    form = {k: (request.form.get(k) or "").strip() for k in keys}
    supervisors = dict(_supervisor_choices())
    errors: dict[str, str] = {}
    if form["supervisor_id"] not in supervisors:
        errors["supervisor_id"] = _("Choose a supervisor.")
    if not parse_day(form["date"]):
        errors["date"] = _("Enter a date.")
    if errors:
        return _duty_page(
            project_id,
            duty_form=form,
            duty_errors=errors,
            duty_error=_("Some of the information is not valid."),
            status_code=422,
        )
    body = {
        "supervisor_id": form["supervisor_id"],
        "supervisor_name": supervisors[form["supervisor_id"]],
        "date": form["date"],
        "start": form["start"],
        "end": form["end"],
        "note": form["note"] or None,
    }
    try:
        api().post("scheduling", f"/projects/{project_id}/duty", body, headers=_key())
    except ApiError as err:
        if err.status in (401, 403, 404):
            raise
        return _duty_page(
            project_id,
            duty_form={**form, "idempotency_key": str(uuid.uuid4())},
            duty_errors=flat_errors(err, "shifts."),
            duty_error=problem_message(err),
            status_code=err.status if err.status in (409, 422) else 502,
        )
    flash(
        _(
            "%(name)s is on desk duty on %(date)s, %(start)s–%(end)s.",
            name=body["supervisor_name"],
            date=form["date"],
            start=form["start"],
            end=form["end"],
        ),
        "success",
    )
    return redirect(url_for("desk.duty", project_id=project_id))


@bp.post("/projects/<project_id>/duty/<duty_id>/remove")
@role_required(*DESK_ROLES)
def remove_duty(project_id: str, duty_id: str) -> Any:
    try:
        outcome = api().delete("scheduling", f"/projects/{project_id}/duty/{duty_id}")
    except ApiError as err:
        if err.status == 401:
            raise
        flash_problem(err)
    else:
        if (outcome or {}).get("deleted"):
            flash(_("The duty shift is off the rota."), "success")
        else:
            flash(_("The duty shift was under way: it ends now."), "success")
    return back("desk.duty", project_id=project_id)


@bp.post("/projects/<project_id>/help/<help_id>/answer")
@role_required(*DESK_ROLES)
def answer_help(project_id: str, help_id: str) -> Any:
    answer = (request.form.get("answer") or "").strip()
    if not answer:
        return _duty_page(
            project_id,
            help_errors={help_id: {"answer": _("Write the answer.")}},
            status_code=422,
        )
    try:
        done = api().post(
            "scheduling", f"/projects/{project_id}/help/{help_id}/answer", {"answer": answer}, headers=_key()
        )
    except ApiError as err:
        if err.status in (401, 403, 404):
            raise
        errors = flat_errors(err) or {"answer": problem_message(err)}
        return _duty_page(
            project_id,
            help_errors={help_id: errors},
            help_values={help_id: {"answer": answer}},
            status_code=err.status if err.status in (409, 422) else 502,
        )
    flash(
        _(
            "Answered %(name)s after %(waited)s.",
            name=done.get("agent_name") or done.get("agent_id"),
            waited=waited(done.get("waited_seconds")),
        ),
        "success",
    )
    return redirect(url_for("desk.duty", project_id=project_id))


@bp.post("/projects/<project_id>/help/<help_id>/handover")
@role_required(*DESK_ROLES)
def hand_over(project_id: str, help_id: str) -> Any:
    party = request.form.get("party") or ""
    note = (request.form.get("note") or "").strip()
    values = {help_id: {"party": party, "note": note}}
    errors: dict[str, str] = {}
    if party not in PARTIES:
        errors["party"] = _("Choose who takes it over.")
    if not note:
        errors["note"] = _("Write what is handed over.")
    if errors:
        return _duty_page(project_id, help_errors={help_id: errors}, help_values=values, status_code=422)
    try:
        api().post(
            "scheduling",
            f"/projects/{project_id}/help/{help_id}/handover",
            {"party": party, "note": note},
            headers=_key(),
        )
    except ApiError as err:
        if err.status in (401, 403, 404):
            raise
        errors = flat_errors(err) or {"note": problem_message(err)}
        return _duty_page(
            project_id,
            help_errors={help_id: errors},
            help_values=values,
            status_code=err.status if err.status in (409, 422) else 502,
        )
    flash(_("Handed over to %(party)s; the hand-over is recorded.", party=label(PARTIES, party)), "success")
    return redirect(url_for("desk.duty", project_id=project_id))


ALL_HANDS_RULES: dict[str, Any] = {
    "reserve-covers": _l(
        "The reserve still covers the departures: the agents present still reach the active target. "
        "All-hands is for when departures exceed the reserve; register the departures instead, and reserve "
        "agents take over their shifts."
    ),
    "all-hands-active": _l(
        "An all-hands is already under way for this project; end it before declaring another."
    ),
    "project-closed": _l("The project is closed."),
}


@bp.post("/projects/<project_id>/all-hands")
@role_required(*DESK_ROLES)
def all_hands(project_id: str) -> Any:
    """Mass attrition (全员上岗): staff below manager on agent duty, the merchant told, recruitment asked."""
    form: dict[str, Any] = {
        k: (request.form.get(k) or "").strip() for k in ("reason", "from", "to", "idempotency_key")
    }
    form["staff"] = request.form.getlist("staff")
    known = {s["id"]: s for s in _all_hands_staff()}
    errors: dict[str, str] = {}
    if not form["staff"] or any(s not in known for s in form["staff"]):
        errors["staff"] = _("Choose the staff who take customers.")
    if errors:
        return _duty_page(
            project_id,
            hands_form=form,
            hands_errors=errors,
            hands_error=_("Some of the information is not valid."),
            status_code=422,
        )
    body = {
        "reason": form["reason"],
        "from": form["from"],
        "to": form["to"],
        "staff": [
            {"person_id": s, "name": known[s]["name"], "role": known[s]["role"]} for s in form["staff"]
        ],
    }
    try:
        declared = api().post("scheduling", f"/projects/{project_id}/all-hands", body, headers=_key())
    except ApiError as err:
        if err.status in (401, 403, 404):
            raise
        rule = str(err.problem.get("rule") or "")
        if err.status == 409 and rule in ALL_HANDS_RULES:
            message = _("%(rule)s Details: %(detail)s", rule=str(ALL_HANDS_RULES[rule]), detail=err.detail)
        else:
            message = problem_message(err)
        return _duty_page(
            project_id,
            hands_form={**form, "idempotency_key": str(uuid.uuid4())},
            hands_errors={("staff" if k.startswith("staff.") else k): v for k, v in flat_errors(err).items()},
            hands_error=message,
            status_code=err.status if err.status in (409, 422) else 502,
        )
    flash(
        _(
            "All-hands declared: %(entries)s agent-duty entries on the rota; the merchant is told and "
            "recruitment is asked for %(missing)s agents.",
            entries=declared.get("duty_entries", 0),
            missing=declared.get("missing", 0),
        ),
        "success",
    )
    return redirect(url_for("desk.duty", project_id=project_id))


@bp.post("/projects/<project_id>/all-hands/<all_hands_id>/end")
@role_required(*DESK_ROLES)
def end_all_hands(project_id: str, all_hands_id: str) -> Any:
    try:
        ended = api().post("scheduling", f"/projects/{project_id}/all-hands/{all_hands_id}/end")
    except ApiError as err:
        if err.status == 401:
            raise
        flash_problem(err)
    else:
        flash(
            _(
                "The all-hands is over: %(removed)s future agent-duty entries are off the rota.",
                removed=ended.get("removed_entries") or 0,
            ),
            "success",
        )
    return redirect(url_for("desk.duty", project_id=project_id))


# --- 通知: alert channels and the alert log -----------------------------------------------------------------

ALERT_FILTERS = ("kind", "status", "project_id")


@bp.get("/alerts")
@role_required(*DESK_ROLES)
def alerts() -> Any:
    """The alert channels and the alert log; failed deliveries with the channel's last error."""
    page = page_number()
    channel_page = max(1, request.args.get("channels_page", 1, type=int) or 1)
    filters = {k: (request.args.get(k) or "").strip() for k in ALERT_FILTERS}
    if filters["kind"] not in ALERT_KINDS:
        filters["kind"] = ""
    if filters["status"] not in ALERT_STATUSES:
        filters["status"] = ""
    got = api().gather(
        {
            "channels": Call("scheduling", "/alert-channels", params={"per_page": 20, "page": channel_page}),
            "alerts": Call("scheduling", "/alerts", params={**filters, "per_page": PER_PAGE, "page": page}),
        }
    )
    channels = must(got["channels"])
    log = must(got["alerts"])
    failed_ids = [a["id"] for a in log.items if a.get("status") == "failed"]
    details = api().gather({i: Call("scheduling", f"/alerts/{i}") for i in failed_ids})
    failures = {
        i: [d for d in result(details[i], default={}).get("deliveries", []) if d.get("status") == "failed"]
        for i in failed_ids
    }
    projects = running_projects()
    return render_template(
        "desk/alerts.html",
        channels=channels.items,
        channels_total=channels.total or 0,
        channels_page=channel_page,
        items=log.items,
        total=log.total or 0,
        page=page,
        per_page=PER_PAGE,
        filters=filters,
        failures=failures,
        choices=project_choices(projects, filters["project_id"]),
        project_names={p["id"]: p["name"] for p in projects},
        kinds=[(k, str(v)) for k, v in ALERT_KINDS.items()],
        statuses=[(k, str(v)) for k, v in ALERT_STATUSES.items()],
    )


def _channel_form(
    values: Mapping[str, Any], errors: Mapping[str, str], error: str | None, status: int
) -> Any:
    projects = running_projects()
    return render_template(
        "desk/channel_new.html",
        values=values,
        errors=errors,
        error=error,
        choices=project_choices(projects, str(values.get("project_id") or "")),
        types=[(k, str(v)) for k, v in CHANNEL_TYPES.items()],
        audiences=[(k, str(v)) for k, v in AUDIENCES.items()],
        formats=[(k, str(v)) for k, v in MESSAGE_FORMATS.items()],
        kinds=[(k, str(v)) for k, v in ALERT_KINDS.items() if k != "test"],
        vendor_wide_allowed=current_user.role in ("vendor", "admin"),
    ), status


def channel_body(values: Mapping[str, Any]) -> dict[str, Any]:
    """The form as the API's channel: empty fields left out, recipients split on commas and lines."""
    recipients = [
        r.strip()
        for r in str(values.get("recipients") or "").replace(",", "\n").replace("，", "\n").splitlines()
    ]
    body: dict[str, Any] = {
        "name": values.get("name") or "",
        "type": values.get("type") or "",
        "audience": values.get("audience") or "supervisor",
        "project_id": values.get("project_id") or None,
        "kinds": list(values.get("kinds") or []),
        "enabled": True,
        "message_format": values.get("message_format") or "markdown",
    }
    if values.get("webhook_url"):
        body["webhook_url"] = values["webhook_url"]
    if values.get("secret"):
        body["secret"] = values["secret"]
    if any(recipients):
        body["recipients"] = [r for r in recipients if r]
    return body


@bp.route("/alerts/channels/new", methods=["GET", "POST"])
@role_required(*DESK_ROLES)
def new_channel() -> Any:
    """A WeCom or DingTalk group robot, or e-mail addresses, for a project or the whole vendor."""
    if request.method == "GET":
        values: dict[str, Any] = {
            "type": "wecom",
            "audience": "supervisor",
            "message_format": "markdown",
            "project_id": request.args.get("project_id", ""),
            "kinds": [],
            "idempotency_key": str(uuid.uuid4()),
        }
        return _channel_form(values, {}, None, 200)
    values = {k: (request.form.get(k) or "").strip() for k in (*CHANNEL_FIELDS, "idempotency_key")}
    values["kinds"] = [k for k in request.form.getlist("kinds") if k in ALERT_KINDS]
    try:
        created = api().post("scheduling", "/alert-channels", channel_body(values), headers=_key())
    except ApiError as err:
        if err.status in (401, 404):
            raise
        errors = {k.split(".")[0]: v for k, v in flat_errors(err).items()}
        message = (
            _("The channel was not saved: correct the fields marked below.")
            if err.status == 422 and errors
            else problem_message(err)
        )
        return _channel_form(
            {**values, "idempotency_key": str(uuid.uuid4())},
            errors,
            message,
            err.status if err.status in (403, 409, 422) else 502,
        )
    flash(
        _("Channel %(name)s added. Send a test to check it reaches the group.", name=created.get("name")),
        "success",
    )
    return redirect(url_for("desk.alerts"))


@bp.post("/alerts/channels/<channel_id>/enabled")
@role_required(*DESK_ROLES)
def toggle_channel(channel_id: str) -> Any:
    enabled = request.form.get("enabled") == "1"
    try:
        changed = api().patch("scheduling", f"/alert-channels/{channel_id}", {"enabled": enabled})
    except ApiError as err:
        if err.status == 401:
            raise
        flash_problem(err)
    else:
        if enabled:
            flash(_("Channel %(name)s is enabled.", name=changed.get("name")), "success")
        else:
            flash(
                _("Channel %(name)s is disabled: its pending alerts are not sent.", name=changed.get("name")),
                "success",
            )
    return back("desk.alerts")


@bp.post("/alerts/channels/<channel_id>/test")
@role_required(*DESK_ROLES)
def test_channel(channel_id: str) -> Any:
    try:
        api().post("scheduling", f"/alert-channels/{channel_id}/test")
    except ApiError as err:
        if err.status == 401:
            raise
        flash_problem(err)
    else:
        flash(
            _(
                "A test alert is queued: the alert worker sends it within a minute; its result shows in the "
                "log below."
            ),
            "success",
        )
    return back("desk.alerts")


@bp.post("/alerts/channels/<channel_id>/delete")
@role_required(*DESK_ROLES)
def delete_channel(channel_id: str) -> Any:
    try:
        api().delete("scheduling", f"/alert-channels/{channel_id}")
    except ApiError as err:
        if err.status == 401:
            raise
        flash_problem(err)
    else:
        flash(_("The channel is deleted; its past deliveries stay in the log."), "success")
    return back("desk.alerts")


@bp.post("/alerts/<alert_id>/retry")
@role_required(*DESK_ROLES)
def retry_alert(alert_id: str) -> Any:
    try:
        api().post("scheduling", f"/alerts/{alert_id}/retry")
    except ApiError as err:
        if err.status == 401:
            raise
        flash_problem(err)
    else:
        flash(_("The failed deliveries are queued again."), "success")
    return back("desk.alerts")


# --- 运营设置: a project's operation settings ---------------------------------------------------------------

SETTINGS_FIELDS = ("clock_tolerance_minutes", "settlement_limit_amount", "settlement_limit_pct")


def _settings_page(
    project_id: str,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Any:
    got = api().gather(
        {
            "settings": Call("scheduling", f"/projects/{project_id}/operation-settings"),
            "project": _project_call(project_id),
        }
    )
    current = must(got["settings"]).data
    shown = values or {
        "clock_tolerance_minutes": ""
        if current.get("clock_tolerance_default")
        else str(current.get("clock_tolerance_minutes") or ""),
        "settlement_limit_amount": current.get("settlement_limit_amount") or "",
        "settlement_limit_pct": current.get("settlement_limit_pct") or "",
    }
    return render_template(
        "desk/settings.html",
        project_id=project_id,
        project_name=_project_name(got["project"], project_id),
        active="settings",
        current=current,
        values=shown,
        errors=errors or {},
        error=error,
    ), status_code


@bp.get("/projects/<project_id>/settings")
@role_required(*DESK_ROLES)
def settings(project_id: str) -> Any:
    return _settings_page(project_id)


def settings_body(values: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The form as the API's PATCH (an empty field: back to the default / no limit) and local errors."""
    body: dict[str, Any] = {}
    errors: dict[str, str] = {}
    tolerance = values.get("clock_tolerance_minutes", "")
    if tolerance:
        try:
            body["clock_tolerance_minutes"] = int(tolerance)
        except ValueError:
            errors["clock_tolerance_minutes"] = _("Enter whole minutes, for example 10.")
    else:
        body["clock_tolerance_minutes"] = None
    for name in ("settlement_limit_amount", "settlement_limit_pct"):
        text = values.get(name, "").replace(",", "").replace("%", "").replace("¥", "").strip()
        body[name] = text or None
    return body, errors


@bp.post("/projects/<project_id>/settings")
@role_required(*DESK_ROLES)
def save_settings(project_id: str) -> Any:
    values = {k: (request.form.get(k) or "").strip() for k in SETTINGS_FIELDS}
    body, errors = settings_body(values)
    if errors:
        return _settings_page(
            project_id,
            values=values,
            errors=errors,
            error=_("Some of the information is not valid."),
            status_code=422,
        )
    try:
        api().patch("scheduling", f"/projects/{project_id}/operation-settings", body)
    except ApiError as err:
        if err.status in (401, 403, 404):
            raise
        return _settings_page(
            project_id,
            values=values,
            errors=flat_errors(err),
            error=problem_message(err),
            status_code=err.status if err.status in (409, 422) else 502,
        )
    flash(_("Operation settings saved."), "success")
    return redirect(url_for("desk.settings", project_id=project_id))


def minutes_text(minutes: Any) -> str:
    try:
        total = int(minutes or 0)
    except (TypeError, ValueError):
        return str(minutes)
    hours, rest = divmod(total, 60)
    if hours and rest:
        return _("%(h)s h %(m)s min", h=hours, m=rest)
    if hours:
        return _("%(h)s h", h=hours)
    return _("%(m)s min", m=rest)


@bp.app_template_filter("minutes")
def minutes_filter(value: Any) -> str:
    return minutes_text(value)
