"""Workforce planning pages (人力规划): last year's consultations in, a promotion's campaign (warm-up,
festival day, after-sales), its staffing plans — agents needed per half-hour against the pool, the roster
that follows the demand, why any half-hour stays short, the site and its resources — and publishing a plan,
which puts its roster in force and asks recruitment for the gap.

The vendor's business experts and the project supervisors plan; a merchant reads its own project's plans.
Everything shown is the scheduling service's planning API (``/projects/{id}/campaigns``, ``…/plans``,
``…/coverage``, ``…/intervals``, ``…/site-plan``); the console shapes it for people: Chinese labels, the
day's half-hours as bars, the rules that bind in words.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from services.console.bff import ApiError, Call
from services.console.i18n import SHANGHAI, _, current_locale, parse_instant
from services.console.i18n import lazy_gettext as _l
from services.console.views.ops import RULE_LABELS, must, result
from services.console.web import (
    api,
    field_messages,
    flash_problem,
    pass_through,
    pick,
    problem_message,
    role_required,
)

bp = Blueprint("planning", __name__, url_prefix="/planning")

#: who plans (admin always passes); a merchant reads its own project's plans
PLANNERS = ("vendor", "supervisor")
READERS = (*PLANNERS, "merchant")
PER_PAGE = 50
CAMPAIGNS_PER_PAGE = 20
#: a plan answers in about SCHEDULING_PLAN_TIME_LIMIT (15 s) plus a few seconds; the console waits this long,
#: under the console's own worker timeout (GUNICORN_TIMEOUT, 30 s)
PLAN_TIMEOUT_SECONDS = 28.0

SKILLS = ("presale", "aftersale", "triage")
SKILL_LABELS: dict[str, Any] = {
    "presale": _l("Pre-sales"),
    "aftersale": _l("After-sales"),
    "triage": _l("Triage"),
}
CHANNEL_LABELS: dict[str, Any] = {
    "presale": _l("Pre-sales"),
    "aftersale": _l("After-sales"),
    "all": _l("Total"),
}
PHASE_LABELS: dict[str, Any] = {
    "pilot": _l("Pilot"),
    "warmup": _l("Warm-up"),
    "festival": _l("Festival day"),
    "aftersales": _l("After-sales period"),
    "normal": _l("Normal days"),
}
METHOD_LABELS: dict[str, Any] = {
    "erlang": _l("Erlang C (service level)"),
    "simple": _l("100 consultations an agent-hour"),
    "max": _l("The larger of the two"),
}
#: why a half-hour stays short (the plan's coverage ``reasons``), as a planner reads them: the roster's
#: hard rules as the roster page names them, and what only a plan says (availability by time of day)
REASON_LABELS: dict[str, Any] = {
    **RULE_LABELS,
    "pool-too-small": _l("Every agent of the pool is already rostered"),
    "skills": _l("Too few agents have this skill"),
    "availability": _l("Too few agents work at this time of day"),
    "shift-patterns": _l("No allowed shift start and length reaches this half-hour"),
}
WARNING_TITLES: dict[str, Any] = {
    "lead-time": _l("Lead time"),
    "no-pilot": _l("No pilot"),
    "outside-service-hours": _l("Demand outside the service hours"),
    "no-history": _l("No history"),
}
SEVERITY_LABELS: dict[str, Any] = {"high": _l("High"), "medium": _l("Medium")}
SITE_ITEMS: dict[str, Any] = {
    "peak agents on the floor": _l("Peak agents on the floor"),
    "reserve agents on site": _l("Reserve agents on site"),
    "network administrators": _l("Network administrators"),
    "floor controllers": _l("Floor controllers"),
    "floor area": _l("Floor area"),
    "computers": _l("Computers"),
    "network bandwidth": _l("Network bandwidth"),
    "diesel generators": _l("Diesel generators"),
}
UNIT_LABELS: dict[str, Any] = {
    "people": _l("persons"),
    "PCs": _l("PCs"),
    "units": _l("units"),
}
#: the service's refusals of a plan, by their ``rule``
PLAN_RULES: dict[str, Any] = {
    "plan-in-the-past": _l(
        "The campaign starts before today: a plan rosters from today on. Move the phases."
    ),
    "plan-too-long": _l("The campaign covers more days than one plan can: split it into two campaigns."),
    "already-published": _l("This plan is already published."),
}
ROSTER_METHODS: dict[str, Any] = {"cp-sat": _l("Optimised (CP-SAT)"), "greedy": _l("Greedy")}
#: the history file's columns, as the service names them in its row errors (``line 3.time``)
HISTORY_COLUMNS: dict[str, str] = {
    "date": "日期",
    "time": "时段",
    "channel": "渠道",
    "consultations": "咨询量",
}


def label(mapping: Mapping[str, Any], key: Any) -> str:
    return str(mapping.get(key, key)) if key else ""


@bp.app_template_global("planning_label")
def planning_label(kind: str, key: Any) -> str:
    tables = {
        "skill": SKILL_LABELS,
        "channel": CHANNEL_LABELS,
        "phase": PHASE_LABELS,
        "method": METHOD_LABELS,
        "reason": REASON_LABELS,
        "warning": WARNING_TITLES,
        "severity": SEVERITY_LABELS,
        "item": SITE_ITEMS,
        "unit": UNIT_LABELS,
        "roster": ROSTER_METHODS,
    }
    return label(tables[kind], key)


def can_plan() -> bool:
    return current_user.role in (*PLANNERS, "admin")


@bp.context_processor
def _planning_context() -> dict[str, Any]:
    zh = current_locale() == "zh"
    return {
        "skills": SKILLS,
        "can_plan": can_plan() if current_user.is_authenticated else False,
        # the punctuation between a label and its text, as each language writes it
        "colon": "：" if zh else ": ",
        "semicolon": "；" if zh else "; ",
    }


def _project_call(project_id: str) -> Call:
    return Call("onboarding", f"/projects/{project_id}")


def _project_name(reply: Any, project_id: str) -> str:
    return pick(result(reply), "merchant", "company_name") or project_id


def short_number(value: Any) -> str:
    """``1.2``, ``20``, ``0.5`` (no trailing zeros); anything not a number as it is."""
    try:
        return format(float(value), "g")
    except (TypeError, ValueError):
        return str(value)


def _day(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


# --- the running projects ------------------------------------------------------------------------------


@bp.get("/")
@role_required(*PLANNERS)
def index() -> Any:
    """The running projects, each with a link to its planning page."""
    page = max(1, request.args.get("page", 1, type=int) or 1)
    reply = api().page("onboarding", "/projects", status="confirmed,live", per_page=PER_PAGE, page=page)
    return render_template("planning/index.html", projects=reply.items, total=reply.total or 0, page=page)


# --- a project: its campaigns, last year's history, part-timers ---------------------------------------------


def phase_summary(phases: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "name": p.get("name"),
            "from": p.get("from"),
            "to": p.get("to"),
        }
        for p in phases
    ]


def _project_page(
    project_id: str,
    *,
    history_error: str | None = None,
    history_rows: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> Any:
    page = max(1, request.args.get("page", 1, type=int) or 1)
    calls = {
        "campaigns": Call(
            "scheduling",
            f"/projects/{project_id}/campaigns",
            params={"per_page": CAMPAIGNS_PER_PAGE, "page": page},
        ),
        "project": _project_call(project_id),
    }
    if can_plan():
        calls["pool"] = Call("scheduling", f"/projects/{project_id}/pool", params={"per_page": 200})
    got = api().gather(calls)
    campaigns = must(got["campaigns"])
    latest = api().gather(
        {
            c["id"]: Call(
                "scheduling", f"/projects/{project_id}/campaigns/{c['id']}/plans", params={"per_page": 1}
            )
            for c in campaigns.items
        }
    )
    rows = []
    for c in campaigns.items:
        plans = result(latest[c["id"]], default={}).get("items", [])
        rows.append(
            {"campaign": c, "phases": phase_summary(c.get("phases", [])), "plan": plans[0] if plans else None}
        )
    pool = result(got["pool"], default={}).get("items", []) if "pool" in got else []
    return render_template(
        "planning/project.html",
        project_id=project_id,
        project_name=_project_name(got["project"], project_id),
        rows=rows,
        total=campaigns.total or 0,
        page=page,
        per_page=CAMPAIGNS_PER_PAGE,
        agents=[a for a in pool if a.get("role") != "departed"],
        history_error=history_error,
        history_rows=history_rows or [],
    ), status


@bp.get("/projects/<project_id>")
@role_required(*READERS)
def project(project_id: str) -> Any:
    return _project_page(project_id)


def history_problems(error: ApiError) -> list[dict[str, Any]]:
    """The file's problems as rows: line, column (its Chinese header), message; else the field and message."""
    rows = []
    for key, messages in error.field_errors.items():
        match = re.fullmatch(r"line (\d+)(?:\.(\w+))?", key)
        if match:
            line, column = int(match.group(1)), match.group(2) or ""
        else:
            line, column = None, key if key != "_schema" else ""
        for message in messages:
            rows.append({"line": line, "column": HISTORY_COLUMNS.get(column, column), "message": message})
    return sorted(rows, key=lambda r: (r["line"] is None, r["line"] or 0))


@bp.post("/projects/<project_id>/history")
@role_required(*PLANNERS)
def import_history(project_id: str) -> Any:
    """Last year's consultations from a file (CSV or xlsx), all or nothing."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _project_page(project_id, history_error=_("Choose a CSV or Excel file to import."), status=422)
    try:
        outcome = (
            api()
            .call(
                "scheduling",
                "POST",
                f"/projects/{project_id}/demand-history/import",
                files={"file": (upload.filename, upload.read(), upload.mimetype or "text/csv")},
            )
            .data
        )
    except ApiError as err:
        if err.status in (401, 403, 404):
            raise
        if err.status == 422 and err.field_errors:
            message = _(
                "The file has problems; nothing was imported. Correct the rows below and upload the "
                "whole file again."
            )
        else:
            message = problem_message(err)
        return _project_page(
            project_id,
            history_error=message,
            history_rows=history_problems(err),
            status=err.status if err.status in (413, 415, 422) else 502,
        )
    separator = "、" if current_locale() == "zh" else ", "
    channels = separator.join(label(CHANNEL_LABELS, c) for c in outcome.get("channels", []))
    flash(
        _(
            "History imported: %(days)s days from %(first)s to %(last)s, %(intervals)s half-hours "
            "(%(channels)s).",
            days=outcome.get("days", 0),
            first=outcome.get("from") or "—",
            last=outcome.get("to") or "—",
            intervals=outcome.get("intervals", 0),
            channels=channels or "—",
        ),
        "success",
    )
    return redirect(url_for("planning.project", project_id=project_id))


@bp.get("/history-template.csv")
@role_required(*PLANNERS)
def history_template() -> Response:
    """An example history file: the Chinese headers, a half-hour row and a daily total (UTF-8 with BOM)."""
    lines = [
        "日期,时段,渠道,咨询量",
        "2025-11-11,00:00,售前,320",
        "2025-11-11,00:30,售前,280",
        "2025-11-12,,售后,4800",
    ]
    body = "\ufeff" + "".join(f"{line}\r\n" for line in lines)
    return Response(
        body.encode("utf-8"),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="history-template.csv"'},
    )


@bp.post("/projects/<project_id>/part-time")
@role_required(*PLANNERS)
def part_time(project_id: str) -> Any:
    """Mark an agent of the pool as part-time (short shifts, pre-sales or triage) or full-time again."""
    agent_id = (request.form.get("agent_id") or "").strip()
    value = request.form.get("part_time") == "1"
    if not agent_id:
        flash(_("Choose an agent."), "error")
        return redirect(url_for("planning.project", project_id=project_id))
    try:
        api().patch("scheduling", f"/projects/{project_id}/pool/{agent_id}", {"part_time": value})
    except ApiError as err:
        if err.status == 401:
            raise
        flash_problem(err)
    else:
        pool = result(
            api().gather(
                {"pool": Call("scheduling", f"/projects/{project_id}/pool", params={"per_page": 200})}
            )["pool"],
            default={},
        )
        name = next((a["name"] for a in pool.get("items", []) if a.get("agent_id") == agent_id), agent_id)
        if value:
            flash(
                _("%(name)s now works part-time: short shifts, pre-sales or triage only.", name=name),
                "success",
            )
        else:
            flash(_("%(name)s now works full-time.", name=name), "success")
    return redirect(url_for("planning.project", project_id=project_id))


# --- a new campaign ----------------------------------------------------------------------------------------

CAMPAIGN_FIELDS = (
    "name",
    "festival_day",
    "last_year_festival_day",
    "warmup_from",
    "warmup_to",
    "aftersales_from",
    "aftersales_to",
    "expected_orders",
    "receptions_per_order",
    "growth",
    "bot_share",
    "method",
    "round_the_clock",
)


def _number(values: Mapping[str, str], name: str, errors: dict[str, str], message: str) -> float | None:
    text = (values.get(name) or "").strip().replace(",", "")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        errors[name] = message
        return None


def campaign_body(values: Mapping[str, str]) -> tuple[dict[str, Any], list[str], dict[str, str]]:
    """The form as the API's campaign: ``(body, the phase of each phases[i], local errors)``."""
    errors: dict[str, str] = {}
    festival = values.get("festival_day", "")
    phases: list[dict[str, Any]] = []
    names: list[str] = []
    for phase in ("warmup", "festival", "aftersales"):
        if phase == "festival":
            entry: dict[str, Any] = {"name": "festival", "from": festival, "to": festival}
            orders = _number(
                values, "expected_orders", errors, _("Enter a number of orders, for example 50000.")
            )
            per_order = _number(values, "receptions_per_order", errors, _("Enter a number, for example 1.5."))
            if orders is not None:
                entry["expected_orders"] = orders
            if per_order is not None:
                entry["receptions_per_order"] = per_order
        else:
            start, end = values.get(f"{phase}_from", ""), values.get(f"{phase}_to", "")
            if not start and not end:
                continue
            if not start or not end:
                errors[f"{phase}_from" if not start else f"{phase}_to"] = _(
                    "Enter both the first and the last day."
                )
            entry = {"name": phase, "from": start, "to": end}
        phases.append(entry)
        names.append(phase)
    body: dict[str, Any] = {"name": values.get("name", ""), "festival_day": festival, "phases": phases}
    if values.get("last_year_festival_day"):
        body["last_year_festival_day"] = values["last_year_festival_day"]
    growth = _number(values, "growth", errors, _("Enter a number, for example 1.2."))
    if growth is not None:
        body["growth"] = growth
    share = _number(values, "bot_share", errors, _("Enter a percentage from 0 to 99."))
    if share is not None:
        if not 0 <= share < 100:
            errors["bot_share"] = _("Enter a percentage from 0 to 99.")
        else:
            body["bot_share"] = {"presale": round(share / 100, 4)}
    if values.get("method"):
        body["method"] = values["method"]
    if values.get("round_the_clock"):
        body["hours"] = {"festival": "00:00-24:00"}
    return body, names, errors


def form_field(key: str, phase_names: Sequence[str]) -> str:
    """The form input an API error key names (``phases.1.expected_orders`` → ``expected_orders``)."""
    parts = key.split(".")
    head = parts[0]
    if head == "phases":
        if len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(phase_names):
            phase = phase_names[int(parts[1])]
            attr = parts[2] if len(parts) > 2 else ""
            if phase == "festival":
                return attr if attr in ("expected_orders", "receptions_per_order") else "festival_day"
            return f"{phase}_{attr}" if attr in ("from", "to") else "phases"
        return "phases"
    if head == "bot_share":
        return "bot_share"
    if head == "hours":
        return "round_the_clock"
    if head in CAMPAIGN_FIELDS:
        return head
    return "_general"


def campaign_errors(error: ApiError, phase_names: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, message in field_messages(error).items():
        name = form_field(key, phase_names)
        out[name] = "; ".join(filter(None, [out.get(name), message]))
    return out


def _campaign_form(
    project_id: str, values: Mapping[str, str], errors: Mapping[str, str], message: str | None, status: int
) -> Any:
    got = api().gather({"project": _project_call(project_id)})
    return render_template(
        "planning/campaign_new.html",
        project_id=project_id,
        project_name=_project_name(got["project"], project_id),
        values=values,
        errors=errors,
        message=message,
        methods=[(k, str(v)) for k, v in METHOD_LABELS.items()],
        idempotency_key=values.get("idempotency_key") or str(uuid.uuid4()),
    ), status


@bp.route("/projects/<project_id>/campaigns/new", methods=["GET", "POST"])
@role_required(*PLANNERS)
def new_campaign(project_id: str) -> Any:
    if request.method == "GET":
        defaults = {"growth": "1.0", "bot_share": "0", "method": "erlang", "round_the_clock": "1"}
        return _campaign_form(project_id, defaults, {}, None, 200)
    values = {k: (request.form.get(k) or "").strip() for k in (*CAMPAIGN_FIELDS, "idempotency_key")}
    body, names, errors = campaign_body(values)
    if errors:
        return _campaign_form(project_id, values, errors, _("Some of the information is not valid."), 422)
    try:
        created = api().post(
            "scheduling",
            f"/projects/{project_id}/campaigns",
            body,
            headers={"Idempotency-Key": values["idempotency_key"] or str(uuid.uuid4())},
        )
    except ApiError as err:
        if err.status in (401, 403, 404):
            raise
        values = {**values, "idempotency_key": ""}  # a corrected form is a new request
        return _campaign_form(
            project_id,
            values,
            campaign_errors(err, names),
            problem_message(err),
            err.status if err.status < 500 else 502,
        )
    flash(_("Campaign %(name)s created: compute its plan below.", name=created.get("name", "")), "success")
    return redirect(url_for("planning.campaign", project_id=project_id, campaign_id=created["id"]))


# --- a campaign and its plans ------------------------------------------------------------------------------


def parameter_rows(parameters: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The campaign's parameters a planner set, as ``(label, value)`` in the reader's language."""
    rows: list[tuple[str, str]] = []
    if "growth" in parameters:
        rows.append((_("Growth on last year"), "× " + short_number(parameters["growth"])))
    for channel, share in (parameters.get("bot_share") or {}).items():
        shown = short_number(float(share) * 100) + "%" if isinstance(share, (int, float)) else str(share)
        rows.append((_("Bot resolves (%(channel)s)", channel=label(CHANNEL_LABELS, channel)), shown))
    rows.append((_("Agents per half-hour"), label(METHOD_LABELS, parameters.get("method") or "erlang")))
    for phase, hours in (parameters.get("hours") or {}).items():
        shown = _("round the clock") if hours == "00:00-24:00" else str(hours).replace("-", "–")
        rows.append((_("Service hours (%(phase)s)", phase=label(PHASE_LABELS, phase)), shown))
    shifts = parameters.get("shifts") or {}
    if shifts.get("full_hours"):
        rows.append(
            (_("Full-time shift lengths (hours)"), ", ".join(map(short_number, shifts["full_hours"])))
        )
    if shifts.get("part_hours"):
        rows.append(
            (_("Part-time shift lengths (hours)"), ", ".join(map(short_number, shifts["part_hours"])))
        )
    for channel, target in (parameters.get("service") or {}).items():
        parts = []
        if target.get("level") is not None and target.get("threshold_seconds") is not None:
            parts.append(
                _(
                    "%(level)s answered within %(seconds)s s",
                    level=short_number(target["level"] * 100) + "%",
                    seconds=short_number(target["threshold_seconds"]),
                )
            )
        if target.get("aht_seconds") is not None:
            parts.append(_("handling time %(seconds)s s", seconds=short_number(target["aht_seconds"])))
        if target.get("concurrency") is not None:
            parts.append(_("%(n)s chats at once", n=target["concurrency"]))
        if parts:
            rows.append(
                (_("Service target (%(channel)s)", channel=label(CHANNEL_LABELS, channel)), "; ".join(parts))
            )
    return rows


@bp.get("/projects/<project_id>/campaigns/<campaign_id>")
@role_required(*READERS)
def campaign(project_id: str, campaign_id: str) -> Any:
    base = f"/projects/{project_id}/campaigns/{campaign_id}"
    got = api().gather(
        {
            "campaign": Call("scheduling", base),
            "plans": Call("scheduling", f"{base}/plans", params={"per_page": 50}),
            "project": _project_call(project_id),
        }
    )
    found = must(got["campaign"]).data
    plans = must(got["plans"])
    return render_template(
        "planning/campaign.html",
        project_id=project_id,
        project_name=_project_name(got["project"], project_id),
        campaign=found,
        phases=found.get("phases", []),
        parameters=parameter_rows(found.get("parameters") or {}),
        plans=plans.items,
        idempotency_key=str(uuid.uuid4()),
    )


def plan_problem(error: ApiError) -> str:
    rule = error.problem.get("rule")
    if rule in PLAN_RULES:
        return str(PLAN_RULES[rule])
    message = problem_message(error)
    details = "; ".join(f"{k}: {v}" for k, v in field_messages(error).items())
    return f"{message} ({details})" if details else message


@bp.post("/projects/<project_id>/campaigns/<campaign_id>/plans")
@role_required(*PLANNERS)
def compute_plan(project_id: str, campaign_id: str) -> Any:
    """Compute a plan (a draft: publishing is a separate, deliberate step)."""
    key = request.form.get("idempotency_key") or str(uuid.uuid4())
    try:
        made = (
            api()
            .call(
                "scheduling",
                "POST",
                f"/projects/{project_id}/campaigns/{campaign_id}/plans",
                json={"publish": False},
                headers={"Idempotency-Key": key},
                timeout=PLAN_TIMEOUT_SECONDS,
            )
            .data
        )
    except ApiError as err:
        if err.status in (401, 403, 404):
            raise
        if err.unreachable:
            flash(
                _(
                    "The plan took longer than the page can wait. It may still be finishing: reload this "
                    "page in a minute and look for it in the list."
                ),
                "warning",
            )
        else:
            flash(plan_problem(err), "error")
        return redirect(url_for("planning.campaign", project_id=project_id, campaign_id=campaign_id))
    flash(
        _(
            "Plan version %(version)s computed in %(seconds)s s.",
            version=made.get("version"),
            seconds=short_number(round(float(pick(made, "summary", "seconds", default=0)), 1)),
        ),
        "success",
    )
    return redirect(url_for("planning.plan", project_id=project_id, plan_id=made["id"]))


# --- a plan ------------------------------------------------------------------------------------------------


def plan_days(plan: Mapping[str, Any]) -> list[dt.date]:
    start, end = _day(plan.get("date_from")), _day(plan.get("date_to"))
    if not start or not end or end < start:
        return []
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def chosen_date(
    plan: Mapping[str, Any], campaign: Mapping[str, Any] | None, wanted: str | None
) -> dt.date | None:
    """``?date=`` when it is one of the plan's days, else the festival day, else the plan's first day."""
    days = plan_days(plan)
    for candidate in (_day(wanted), _day((campaign or {}).get("festival_day"))):
        if candidate in days:
            return candidate
    return days[0] if days else None


def phase_of(day: dt.date, phases: Sequence[Mapping[str, Any]]) -> str | None:
    for phase in phases:
        start, end = _day(phase.get("from")), _day(phase.get("to"))
        if start and end and start <= day <= end:
            return phase.get("name")
    return None


def day_rows(plan: Mapping[str, Any], phases: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The plan's days with their phase and the pre-sales : after-sales split of the rostered agents."""
    rows = []
    for entry in pick(plan, "summary", "days", default=[]):
        agents = entry.get("agents") or {}
        presale = int(agents.get("presale") or 0)
        after = int(agents.get("aftersale") or 0) + int(agents.get("triage") or 0)
        total = presale + after
        tenths = round(10 * presale / total) if total else None
        day = _day(entry.get("date"))
        rows.append(
            {
                **entry,
                "agents": {s: int(agents.get(s) or 0) for s in SKILLS},
                "total_agents": total,
                "split": f"{tenths} : {10 - tenths}" if tenths is not None else "—",
                "phase": phase_of(day, phases) if day else None,
            }
        )
    return rows


def _width(value: float, scale: float) -> int:
    """A bar's width class: a multiple of 5 (per cent of the day's largest figure); at least 5 when not 0."""
    if value <= 0 or scale <= 0:
        return 0
    return max(5, min(100, round(value / scale * 20) * 5))


def coverage_grid(
    items: Sequence[Mapping[str, Any]], intervals: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The chosen day as rows of half-hours × a cell per skill: required, scheduled, short, reasons, bars."""
    by_time: dict[str, dict[str, Any]] = {}
    for row in items:
        entry = by_time.setdefault(row["time"], {"time": row["time"], "cells": {}, "short": 0})
        entry["cells"][row["skill"]] = dict(row)
        entry["short"] += int(row.get("short") or 0)
    forecast: dict[str, dict[str, float]] = {}
    for row in intervals:
        slot = forecast.setdefault(row["time"], {"forecast": 0.0, "last_year": 0.0})
        slot["forecast"] += float(row.get("forecast") or 0)
        slot["last_year"] += float(row.get("last_year") or 0)
    scale = max(
        [
            max(int(c.get("required") or 0), int(c.get("scheduled") or 0))
            for e in by_time.values()
            for c in e["cells"].values()
        ]
        or [0]
    )
    rows = []
    for time in sorted(by_time):
        entry = by_time[time]
        for cell in entry["cells"].values():
            cell["required_width"] = _width(int(cell.get("required") or 0), scale)
            cell["scheduled_width"] = _width(int(cell.get("scheduled") or 0), scale)
        entry["forecast"] = forecast.get(time)
        rows.append(entry)
    reasons: dict[str, dict[str, Any]] = {}
    for entry in rows:
        entry["reasons"] = []
        for skill in SKILLS:
            cell = entry["cells"].get(skill)
            if not cell or not cell.get("short"):
                continue
            rules = cell.get("reasons") or [""]
            for rule in rules:
                if rule and rule not in entry["reasons"]:
                    entry["reasons"].append(rule)
                summary = reasons.setdefault(
                    rule, {"rule": rule, "times": set(), "missing": 0, "example": None}
                )
                summary["times"].add(entry["time"])
                summary["missing"] += int(cell["short"])
                if rule == rules[0]:  # the service's detail speaks of the first reason
                    summary["example"] = summary["example"] or cell.get("detail")
    shown = [
        skill
        for skill in SKILLS
        if any(
            int(e["cells"].get(skill, {}).get("required") or 0)
            or int(e["cells"].get(skill, {}).get("scheduled") or 0)
            for e in rows
        )
    ]
    return {
        "rows": rows,
        # the skills this day needs or rosters (a column of 0 / 0 says nothing)
        "skills": shown or list(SKILLS),
        "reasons": sorted(
            ({**r, "half_hours": len(r.pop("times"))} for r in reasons.values()), key=lambda r: -r["missing"]
        ),
        "scale": scale,
        "required": sum(int(c.get("required") or 0) for e in rows for c in e["cells"].values()),
        "scheduled": sum(int(c.get("scheduled") or 0) for e in rows for c in e["cells"].values()),
        "short_intervals": sum(1 for e in rows for c in e["cells"].values() if c.get("short")),
    }


def N_(message: str) -> str:
    """Marks a msgid translated later, where it is shown (the catalogue test extracts it)."""
    return message


#: the site plan's bases as the service words them → their msgid (the numbers carried over)
_BASIS: tuple[tuple[str, str], ...] = (
    (r"the most agents rostered at once", N_("The most agents rostered at the same time")),
    (r"(?P<pct>[\d.]+)% of the peak", N_("%(pct)s%% of the peak")),
    (r"1 per (?P<n>\d+) agents", N_("One for every %(n)s agents")),
    (
        r"(?P<area>[\d.]+) m² per person, (?P<people>\d+) people",
        N_("%(area)s m² a person, %(people)s people"),
    ),
    (
        r"one per agent and (?P<pct>[\d.]+)% spare \((?P<spare>\d+)\)",
        N_("One per agent and %(pct)s%% spare (%(spare)s)"),
    ),
    (r"no rate limit; more than one carrier", N_("No rate limit; more than one carrier")),
    (
        r"(?P<kw>\d+) kW or more per (?P<pcs>\d+) PCs \((?P<total>\d+) kW in all\)",
        N_("%(kw)s kW or more for every %(pcs)s PCs (%(total)s kW in all)"),
    ),
)


def site_basis(text: str) -> str:
    """The site plan's basis in the reader's language (the service states it in English)."""
    for pattern, msgid in _BASIS:
        match = re.fullmatch(pattern, text or "")
        if match:
            return _(msgid, **match.groupdict()) if match.groupdict() else _(msgid)
    return text or ""


def warning_text(warning: Mapping[str, Any], plan: Mapping[str, Any]) -> str:
    """A plan warning in the reader's language (the service's English message when the rule is new)."""
    rule = warning.get("rule")
    if rule == "lead-time":
        created = parse_instant(plan.get("created_at"))
        start = _day(plan.get("date_from"))
        days = (start - created.astimezone(SHANGHAI).date()).days if created and start else "—"
        if warning.get("severity") == "high":
            return _(
                "The campaign starts in %(days)s days: outsourcing is arranged one to two months ahead, so "
                "recruiting and training may not finish in time.",
                days=days,
            )
        return _(
            "The campaign starts in %(days)s days: 60 days ahead is the safer lead time for recruiting, "
            "training and a pilot.",
            days=days,
        )
    if rule == "no-pilot":
        return _(
            "The project has no pilot yet: run a few seats first (a pilot phase, or a roster before the "
            "campaign) to check the shop's volumes and the agents' quality before scaling up."
        )
    if rule == "outside-service-hours":
        hours = pick(plan, "summary", "outside_hours_agent_hours", default=0)
        return _(
            "%(hours)s agent-hours of demand fall outside the service hours; those consultations wait for "
            "the opening. Widen the phase's hours (for example round the clock on the festival day) to "
            "staff them.",
            hours=short_number(hours),
        )
    if rule == "no-history":
        return _(
            "No consultation history covers last year's matching days: only phases with expected orders have "
            "a forecast. Import last year's figures first."
        )
    return str(warning.get("message") or "")


@bp.get("/projects/<project_id>/plans/<plan_id>")
@role_required(*READERS)
def plan(project_id: str, plan_id: str) -> Any:
    """The plan's figures, warnings, both solvers side by side, its days, one day's half-hours, the site."""
    base = f"/projects/{project_id}/plans/{plan_id}"
    found = api().get("scheduling", base)
    only_short = request.args.get("short") == "1"
    got = api().gather(
        {
            "campaign": Call("scheduling", f"/projects/{project_id}/campaigns/{found['campaign_id']}"),
            "site": Call("scheduling", f"{base}/site-plan"),
            "project": _project_call(project_id),
        }
    )
    campaign_data = result(got["campaign"], default={})
    day = chosen_date(found, campaign_data, request.args.get("date"))
    coverage: list[Any] = []
    intervals: list[Any] = []
    if day is not None:
        detail = api().gather(
            {
                "coverage": Call(
                    "scheduling",
                    f"{base}/coverage",
                    params={
                        "date": day.isoformat(),
                        "per_page": 200,
                        "short": "true" if only_short else None,
                    },
                ),
                "intervals": Call(
                    "scheduling", f"{base}/intervals", params={"date": day.isoformat(), "per_page": 200}
                ),
            }
        )
        coverage = must(detail["coverage"]).items
        intervals = result(detail["intervals"], default={}).get("items", [])
    site = result(got["site"], default={})
    compared = pick(found, "summary", "compared", default={})
    return render_template(
        "planning/plan.html",
        project_id=project_id,
        project_name=_project_name(got["project"], project_id),
        plan=found,
        campaign=campaign_data,
        coverage=pick(found, "summary", "coverage", default={}),
        roster=pick(found, "summary", "roster", default={}),
        warnings=[
            {**w, "text": warning_text(w, found)}
            for w in sorted(found.get("warnings", []), key=lambda w: 0 if w.get("severity") == "high" else 1)
        ],
        optimised=compared.get("cp-sat") or {},
        greedy=compared.get("greedy") or {},
        kept=pick(found, "summary", "kept", default="cp-sat"),
        days=day_rows(found, campaign_data.get("phases", [])),
        plan_days=plan_days(found),
        day=day,
        only_short=only_short,
        grid=coverage_grid(coverage, intervals),
        site_lines=[
            {**line, "basis_text": site_basis(line.get("basis", ""))} for line in site.get("lines", [])
        ],
        site_error=problem_message(got["site"]) if isinstance(got["site"], ApiError) else None,
    )


@bp.get("/projects/<project_id>/plans/<plan_id>/site-plan.xlsx")
@role_required(*READERS)
def site_plan_xlsx(project_id: str, plan_id: str) -> Any:
    reply = api().call(
        "scheduling",
        "GET",
        f"/projects/{project_id}/plans/{plan_id}/site-plan.xlsx",
        params={"lang": "en" if current_locale() == "en" else "zh"},
    )
    return pass_through(reply, fallback_filename=f"site-plan-{plan_id}.xlsx")


@bp.post("/projects/<project_id>/plans/<plan_id>/publish")
@role_required(*PLANNERS)
def publish_plan(project_id: str, plan_id: str) -> Any:
    try:
        published = api().post("scheduling", f"/projects/{project_id}/plans/{plan_id}/publish")
    except ApiError as err:
        if err.status in (401, 403, 404):
            raise
        flash(plan_problem(err), "error")
    else:
        gap = int(published.get("gap") or 0)
        if gap:
            flash(
                _(
                    "Plan version %(version)s is published: its roster is in force and recruitment is "
                    "asked for %(gap)s more agents.",
                    version=published.get("version"),
                    gap=gap,
                ),
                "success",
            )
        else:
            flash(
                _(
                    "Plan version %(version)s is published: its roster is in force; no recruitment is "
                    "needed.",
                    version=published.get("version"),
                ),
                "success",
            )
    return redirect(url_for("planning.plan", project_id=project_id, plan_id=plan_id))
