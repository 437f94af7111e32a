"""Day-to-day operations of a running project (运营): the pool and departures, the roster grid, surges,
timesheets and complaints, for the vendor's business experts and the project supervisors.

Every figure comes from the scheduling and complaints services through the BFF; this module only shapes
their answers for people (a day × shift grid, readable reasons for gaps, countdowns to promised times).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from services.console.bff import ApiError, Call, Reply
from services.console.i18n import SHANGHAI, _, current_locale, parse_instant
from services.console.i18n import lazy_gettext as _l
from services.console.labels import (
    COMPLAINT_CATEGORIES as CATEGORY_LABELS,
)
from services.console.labels import (
    COMPLAINT_CHANNELS as CHANNEL_LABELS,
)
from services.console.labels import (
    COMPLAINT_HISTORY as HISTORY_LABELS,
)
from services.console.labels import (
    COMPLAINT_LEVELS as LEVEL_LABELS,
)
from services.console.labels import (
    COMPLAINT_SEVERITIES as SEVERITY_LABELS,
)
from services.console.labels import STATUS_LABELS
from services.console.models import User
from services.console.web import (
    api,
    db,
    field_messages,
    flash_problem,
    identity_of,
    pass_through,
    pick,
    problem_message,
    redirect_back,
    role_required,
)

bp = Blueprint("ops", __name__, url_prefix="/ops")

#: who works here (admin always passes)
OPS_ROLES = ("vendor", "supervisor")

#: statuses of complaints, surges and roster versions as this area's pages show them (kept here so another
#: area's label for the same word cannot change them; added to the shared table where it has none)
OPS_STATUS_LABELS: dict[str, Any] = {
    "open": _l("Open"),
    "in_progress": _l("In progress"),
    "waiting_customer": _l("Waiting for the customer"),
    "resolved": _l("Resolved"),
    "closed": _l("Closed"),
    "reopened": _l("Reopened"),
    "accepted": _l("Accepted"),
    "rejected": _l("Refused"),
    "cancelled": _l("Cancelled"),
    "draft": _l("Draft"),
    "published": _l("Published"),
}
for _status, _label in OPS_STATUS_LABELS.items():
    STATUS_LABELS.setdefault(_status, _label)
POOL_ROLE_LABELS: dict[str, Any] = {
    "active": _l("Active agent"),
    "reserve": _l("Reserve agent"),
    "departed": _l("Departed"),
}
SHIFT_LABELS: dict[str, Any] = {
    "morning": _l("Morning shift"),
    "afternoon": _l("Afternoon shift"),
    "night": _l("Night shift"),
}
#: the hard rules scheduling names when a shift stays short, as a vendor reads them
RULE_LABELS: dict[str, Any] = {
    "availability": _l("Too few agents are available for this shift"),
    "one-shift-per-day": _l("Agents may work only one shift a day"),
    "max-weekly-hours": _l("Agents would exceed 44 hours in the week"),
    "max-consecutive-days": _l("Agents would work more than 6 days in a row"),
    "min-rest": _l("Agents need 11 hours of rest between shifts"),
    "pool-empty": _l("The project has no agents in its pool"),
    "reserve-exhausted": _l("No reserve agent is left to take over"),
}
#: why a roster version was made
REASON_LABELS: dict[str, Any] = {
    "generated": _l("Generated"),
    "departure": _l("Departure"),
    "surge": _l("Surge"),
    "surge-cancelled": _l("Surge cancelled"),
}
COMPLAINT_STATUSES = ("open", "in_progress", "waiting_customer", "resolved", "closed", "reopened")


def label(mapping: Mapping[str, Any], key: Any) -> str:
    return str(mapping.get(key, key)) if key else ""


@bp.app_template_global("ops_label")
def ops_label(kind: str, key: Any) -> str:
    tables = {
        "shift": SHIFT_LABELS,
        "level": LEVEL_LABELS,
        "channel": CHANNEL_LABELS,
        "category": CATEGORY_LABELS,
        "severity": SEVERITY_LABELS,
        "rule": RULE_LABELS,
        "history": HISTORY_LABELS,
        "reason": REASON_LABELS,
        "status": OPS_STATUS_LABELS,
        "pool": POOL_ROLE_LABELS,
    }
    return label(tables[kind], key)


@bp.context_processor
def _choices() -> dict[str, Any]:
    """The complaint vocabularies as ``(value, label)`` options for the forms and filters."""

    def options(mapping: Mapping[str, Any]) -> list[tuple[str, str]]:
        return [(k, str(v)) for k, v in mapping.items()]

    return {
        "status_choices": [(s, str(OPS_STATUS_LABELS[s])) for s in COMPLAINT_STATUSES],
        "level_choices": options(LEVEL_LABELS),
        "channel_choices": options(CHANNEL_LABELS),
        "category_choices": options(CATEGORY_LABELS),
        "severity_choices": options(SEVERITY_LABELS),
    }


def countdown_text(due: Any, now: dt.datetime | None = None) -> str:
    """The first value of a ``<time data-countdown>`` (app.js keeps it current in the browser)."""
    instant = parse_instant(due)
    if instant is None:
        return ""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.UTC)
    minutes = round(((instant - (now or dt.datetime.now(dt.UTC))).total_seconds()) / 60)
    hours, rest = divmod(abs(minutes), 60)
    span = _("%(h)s h %(m)s min", h=hours, m=rest) if hours else _("%(m)s min", m=rest)
    return _("%(span)s left", span=span) if minutes >= 0 else _("overdue by %(span)s", span=span)


@bp.app_template_global("person")
def person(people: Mapping[str, str], user_id: str | None, complaint: Mapping[str, Any] | None = None) -> str:
    """A name for an id the services hold: a console user, else the complaint's own agent, else the id."""
    if not user_id:
        return ""
    if user_id in people:
        return people[user_id]
    if complaint and complaint.get("agent_id") == user_id and complaint.get("agent_name"):
        return str(complaint["agent_name"])
    return user_id


@bp.app_template_global("countdown")
def countdown(due: Any) -> str:
    return countdown_text(due)


# --- shared look-ups ----------------------------------------------------------------------------------------


def today() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


def parse_day(value: str | None, default: dt.date | None = None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


def result(reply: Reply | ApiError, *, default: Any = None) -> Any:
    """A gathered widget's data, or ``default`` when that service refused or did not answer."""
    return default if isinstance(reply, ApiError) else reply.data


def must(reply: Reply | ApiError) -> Reply:
    """A gathered widget the page cannot do without: its error becomes the page's error."""
    if isinstance(reply, ApiError):
        raise reply
    return reply


def project_choices(
    projects: Iterable[Mapping[str, Any]], selected: str | None = None
) -> list[tuple[str, str]]:
    """``(id, company name)`` of the running projects (the selected one kept even if not listed)."""
    choices = [(p["id"], pick(p, "merchant", "company_name") or p["id"]) for p in projects if p.get("id")]
    if selected and selected not in {c[0] for c in choices}:
        choices.insert(0, (selected, selected))
    return choices


def running_projects_call() -> Call:
    return Call("onboarding", "/projects", params={"status": "confirmed,live", "per_page": 200})


def people() -> dict[str, str]:
    """Console users by the id the services see (``sub``): names for assignees, staff and actors."""
    rows = db().execute(select(User.id, User.display_name, User.role, User.candidate_id)).all()
    names: dict[str, str] = {}
    for user_id, name, role, candidate_id in rows:
        names[user_id] = name
        if role == "agent" and candidate_id:
            names[candidate_id] = name
    return names


def staff_candidates(*roles: str) -> list[tuple[str, str]]:
    """Console users of ``roles`` (id, display name): the people a vendor can list or assign."""
    rows = (
        db()
        .execute(
            select(User.id, User.display_name)
            .where(User.role.in_(roles), User.active.is_(True))
            .order_by(User.display_name, User.id)
        )
        .all()
    )
    return [(user_id, name) for user_id, name in rows]


def my_sub() -> str:
    """The signed-in user as the services know them (the token's `sub`)."""
    return identity_of(current_user).sub


def all_pages(service: str, path: str, params: Mapping[str, Any]) -> tuple[Any, list[Any]]:
    """A list the page needs whole: the first page of 200, then the others in parallel."""
    first = api().page(service, path, **{**params, "page": 1, "per_page": 200})
    items = list(first.items)
    pages = int(pick(first.data, "pages", default=1) or 1)
    if pages > 1:
        rest = api().gather(
            {
                str(n): Call(service, path, params={**params, "page": n, "per_page": 200})
                for n in range(2, pages + 1)
            }
        )
        for n in range(2, pages + 1):
            items.extend(must(rest[str(n)]).items)
    return first.data, items


# --- project: pool, departures, surges ---------------------------------------------------------------------


def _project_name(reply: Reply | ApiError, project_id: str) -> str:
    return pick(result(reply), "merchant", "company_name") or project_id


@bp.get("/projects/<project_id>")
@role_required(*OPS_ROLES)
def project(project_id: str) -> Any:
    got = api().gather(
        {
            "pool": Call(
                "scheduling",
                f"/projects/{project_id}/pool",
                params={"include_departed": "true", "per_page": 200},
            ),
            "surges": Call("scheduling", f"/projects/{project_id}/surges", params={"per_page": 50}),
            "project": Call("onboarding", f"/projects/{project_id}"),
        }
    )
    pool = must(got["pool"]).data
    names = {a["agent_id"]: a["name"] for a in pool.get("items", [])}
    return render_template(
        "ops/project.html",
        project_id=project_id,
        project_name=_project_name(got["project"], project_id),
        pool=pool,
        names=names,
        surges=result(got["surges"], default={}).get("items", []),
        surges_error=problem_message(got["surges"]) if isinstance(got["surges"], ApiError) else None,
    )


def _pool_agent(project_id: str, agent_id: str) -> tuple[dict[str, Any], dict[str, str]]:
    pool = api().get("scheduling", f"/projects/{project_id}/pool", include_departed="true", per_page=200)
    names = {a["agent_id"]: a["name"] for a in pool.get("items", [])}
    agent = next((a for a in pool.get("items", []) if a["agent_id"] == agent_id), None)
    if agent is None:
        raise ApiError("scheduling", 404, {"detail": ""})
    return agent, names


@bp.route("/projects/<project_id>/agents/<agent_id>/departure", methods=["GET", "POST"])
@role_required(*OPS_ROLES)
def departure(project_id: str, agent_id: str) -> Any:
    agent, names = _pool_agent(project_id, agent_id)
    values = {"date": (today() + dt.timedelta(days=1)).isoformat(), "reason": ""}
    error, errors = None, {}
    if request.method == "POST":
        values = {
            "date": request.form.get("date", "").strip(),
            "reason": request.form.get("reason", "").strip(),
        }
        if not parse_day(values["date"]):
            errors = {"date": _("Enter a date.")}
            error = _("Some of the information is not valid.")
        else:
            try:
                outcome = api().post(
                    "scheduling",
                    f"/agents/{agent_id}/departure",
                    {"project_id": project_id, "date": values["date"], "reason": values["reason"] or None},
                )
            except ApiError as err:
                error, errors = problem_message(err), field_messages(err)
            else:
                return render_template(
                    "ops/departure_done.html",
                    project_id=project_id,
                    agent=agent,
                    outcome=outcome,
                    names=names,
                )
    return render_template(
        "ops/departure.html",
        project_id=project_id,
        agent=agent,
        values=values,
        error=error,
        errors=errors,
    ), (422 if error else 200)


@bp.post("/projects/<project_id>/surges/<surge_id>/cancel")
@role_required(*OPS_ROLES)
def cancel_surge(project_id: str, surge_id: str) -> Any:
    try:
        api().post("scheduling", f"/projects/{project_id}/surges/{surge_id}/cancel")
    except ApiError as err:
        flash_problem(err)
    else:
        flash(_("The surge was cancelled; rostered days are back to the normal seats."), "success")
    return redirect(url_for("ops.project", project_id=project_id))


# --- roster -------------------------------------------------------------------------------------------------


def roster_grid(view: Mapping[str, Any], items: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The roster in force as rows of days × columns of shifts; each cell: agents, needed, gap."""
    start, end = parse_day(view.get("from")), parse_day(view.get("to"))
    gaps = {(g["date"], g["shift"]): g for g in view.get("uncovered", [])}
    shifts: dict[str, dict[str, str]] = {}
    for row in [*items, *view.get("uncovered", [])]:
        shifts.setdefault(row["shift"], {"shift": row["shift"], "start": row["start"], "end": row["end"]})
    columns = sorted(shifts.values(), key=lambda s: s["start"])
    cells: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in items:
        cells.setdefault((row["date"], row["shift"]), []).append(row)
    days: list[dt.date] = []
    if start and end:
        days = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
    rows = []
    for day in days:
        key_day = day.isoformat()
        row_cells = []
        for column in columns:
            agents = sorted(
                cells.get((key_day, column["shift"]), []), key=lambda a: a.get("agent_name") or ""
            )
            gap = gaps.get((key_day, column["shift"]))
            needed = gap["needed"] if gap else len(agents)
            row_cells.append({"shift": column["shift"], "agents": agents, "needed": needed, "gap": gap})
        rows.append({"date": key_day, "cells": row_cells})
    needed = sum(c["needed"] for r in rows for c in r["cells"])
    assigned = sum(len(c["agents"]) for r in rows for c in r["cells"])
    return {"columns": columns, "rows": rows, "needed": needed, "assigned": assigned}


def binding_summary(view: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What binds, summed over the shown gaps: rule, shifts short, people missing, one example."""
    summary: dict[str, dict[str, Any]] = {}
    for gap in view.get("uncovered", []):
        entry = summary.setdefault(
            gap.get("rule") or "", {"rule": gap.get("rule"), "shifts": 0, "missing": 0}
        )
        entry["shifts"] += 1
        entry["missing"] += gap.get("missing") or 0
        entry.setdefault("example", gap.get("detail"))
    return sorted(summary.values(), key=lambda e: -e["missing"])


def _roster_page(
    project_id: str,
    *,
    form: Mapping[str, str] | None = None,
    error: str | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> Any:
    params = {"from": request.args.get("from"), "to": request.args.get("to")}
    got = api().gather(
        {
            "versions": Call("scheduling", f"/projects/{project_id}/rosters", params={"per_page": 10}),
            "project": Call("onboarding", f"/projects/{project_id}"),
        }
    )
    view, items = all_pages("scheduling", f"/projects/{project_id}/roster", params)
    start = today()
    form = form or {
        "from": start.isoformat(),
        "to": (start + dt.timedelta(days=13)).isoformat(),
        "publish": "1",
    }
    return render_template(
        "ops/roster.html",
        project_id=project_id,
        project_name=_project_name(got["project"], project_id),
        view=view,
        grid=roster_grid(view, items),
        binding=binding_summary(view),
        versions=result(got["versions"], default={}).get("items", []),
        form=form,
        error=error,
        errors=errors or {},
        export_args={k: v for k, v in {**params, "lang": current_locale()}.items() if v},
    ), status


@bp.get("/projects/<project_id>/roster")
@role_required(*OPS_ROLES)
def roster(project_id: str) -> Any:
    return _roster_page(project_id)


@bp.post("/projects/<project_id>/roster")
@role_required(*OPS_ROLES)
def generate_roster(project_id: str) -> Any:
    form = {
        "from": request.form.get("from", "").strip(),
        "to": request.form.get("to", "").strip(),
        "publish": "1" if request.form.get("publish") else "",
    }
    try:
        made = api().post(
            "scheduling",
            f"/projects/{project_id}/roster",
            {"from": form["from"], "to": form["to"], "publish": bool(form["publish"])},
        )
    except ApiError as err:
        return _roster_page(
            project_id,
            form=form,
            error=problem_message(err),
            errors=field_messages(err),
            status=422 if err.status in (400, 409, 422) else err.status,
        )
    if made.get("uncovered"):
        flash(
            _(
                "Roster version %(version)s: %(assigned)s of %(needed)s agent-shifts covered; "
                "%(gaps)s shifts are short (see what binds below).",
                version=made.get("version"),
                assigned=made.get("assigned"),
                needed=made.get("needed"),
                gaps=len(made["uncovered"]),
            ),
            "warning",
        )
    else:
        flash(
            _("Roster version %(version)s covers every shift.", version=made.get("version")),
            "success",
        )
    return redirect(url_for("ops.roster", project_id=project_id, **{"from": form["from"], "to": form["to"]}))


@bp.post("/projects/<project_id>/rosters/<roster_id>/publish")
@role_required(*OPS_ROLES)
def publish_roster(project_id: str, roster_id: str) -> Any:
    try:
        made = api().post("scheduling", f"/projects/{project_id}/rosters/{roster_id}/publish")
    except ApiError as err:
        flash_problem(err)
    else:
        flash(_("Roster version %(version)s is published.", version=made.get("version")), "success")
    return redirect_back("ops.roster", project_id=project_id)


EXPORTS = {"csv": "roster.csv", "xlsx": "roster.xlsx", "ics": "roster.ics"}


@bp.get("/projects/<project_id>/roster.<fmt>")
@role_required(*OPS_ROLES)
def roster_download(project_id: str, fmt: str) -> Any:
    if fmt not in EXPORTS:
        return render_template(
            "errors/page.html",
            status=404,
            title=_("Page not found"),
            message=_("Not found, or you do not have access to it."),
        ), 404
    params = {k: request.args.get(k) for k in ("from", "to", "agent_id")}
    params["lang"] = "en" if current_locale() == "en" else "zh"
    reply = api().call("scheduling", "GET", f"/projects/{project_id}/{EXPORTS[fmt]}", params=params)
    return pass_through(reply)


# --- timesheets ---------------------------------------------------------------------------------------------


def _timesheet_rows(
    pool_items: list[Mapping[str, Any]], recorded: list[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    current = {t["agent_id"]: t for t in recorded if t.get("current", True)}
    rows = []
    for agent in pool_items:
        entry = current.get(agent["agent_id"])
        rows.append(
            {
                "agent_id": agent["agent_id"],
                "name": agent["name"],
                "role": agent["role"],
                "hours": entry["hours"] if entry else "",
                "note": (entry or {}).get("note") or "",
                "recorded": bool(entry),
            }
        )
    return rows


@bp.route("/timesheets", methods=["GET", "POST"])
@role_required(*OPS_ROLES)
def timesheets() -> Any:
    source = request.form if request.method == "POST" else request.args
    project_id = (source.get("project_id") or "").strip()
    day = parse_day(source.get("date"), today()) or today()
    calls = {"projects": running_projects_call()}
    if project_id:
        calls["pool"] = Call("scheduling", f"/projects/{project_id}/pool", params={"per_page": 200})
        calls["recorded"] = Call(
            "scheduling",
            "/timesheets",
            params={
                "project_id": project_id,
                "from": day.isoformat(),
                "to": day.isoformat(),
                "per_page": 200,
            },
        )
        calls["recent"] = Call(
            "scheduling",
            "/timesheets",
            params={
                "project_id": project_id,
                "from": (day - dt.timedelta(days=13)).isoformat(),
                "to": day.isoformat(),
                "per_page": 100,
            },
        )
    got = api().gather(calls)
    choices = project_choices(result(got["projects"], default={}).get("items", []), project_id)
    if not project_id:
        return render_template("ops/timesheets.html", choices=choices, project_id="", day=day, rows=[])
    pool_items = must(got["pool"]).data.get("items", [])
    recorded = result(got["recorded"], default={}).get("items", [])
    rows = _timesheet_rows(pool_items, recorded)
    error, status = None, 200
    if request.method == "POST":
        error, status = _record_timesheets(project_id, day, rows)
        if error is None:
            return redirect(url_for("ops.timesheets", project_id=project_id, date=day.isoformat()))
    return render_template(
        "ops/timesheets.html",
        choices=choices,
        project_id=project_id,
        day=day,
        rows=rows,
        recent=result(got["recent"], default={}).get("items", []),
        names={a["agent_id"]: a["name"] for a in pool_items},
        error=error,
    ), status


def _record_timesheets(project_id: str, day: dt.date, rows: list[dict[str, Any]]) -> tuple[str | None, int]:
    """Send the filled rows at once (all or none); per-row messages come back beside each row."""
    by_agent = {r["agent_id"]: r for r in rows}
    entries: list[dict[str, Any]] = []
    sent: list[dict[str, Any]] = []
    local_errors = False
    for agent_id, hours, note in zip(
        request.form.getlist("agent_id"),
        request.form.getlist("hours"),
        request.form.getlist("note"),
        strict=False,
    ):
        row = by_agent.get(agent_id)
        if row is None:
            continue
        row["hours"], row["note"] = hours.strip(), note.strip()
        if not row["hours"]:
            continue
        try:
            value = Decimal(row["hours"])
        except InvalidOperation:
            row["error"] = _("Enter the hours as a number, for example 7.5.")
            local_errors = True
            continue
        entries.append(
            {
                "project_id": project_id,
                "agent_id": agent_id,
                "date": day.isoformat(),
                "hours": float(value),
                "note": row["note"] or None,
            }
        )
        sent.append(row)
    if local_errors:
        return _("Some of the information is not valid."), 422
    if not entries:
        return _("Enter the hours of at least one agent."), 422
    try:
        outcome = api().post("scheduling", "/timesheets", {"entries": entries})
    except ApiError as err:
        for name, message in field_messages(err).items():
            parts = name.split(".")
            if len(parts) >= 3 and parts[0] == "entries" and parts[1].isdigit() and int(parts[1]) < len(sent):
                target = sent[int(parts[1])]
            elif len(sent) == 1:
                target = sent[0]
            else:
                continue
            target["error"] = "; ".join(filter(None, [target.get("error"), message]))
        return problem_message(err), err.status if err.status in (403, 404, 409, 422) else 422
    flash(
        _(
            "%(count)s timesheet entries recorded (%(replaced)s earlier entries replaced).",
            count=len(outcome.get("items", [])),
            replaced=outcome.get("replaced", 0),
        ),
        "success",
    )
    return None, 201


# --- complaints ---------------------------------------------------------------------------------------------


def sort_queue(items: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Overdue first, then the nearest promised time."""

    def key(c: Mapping[str, Any]) -> tuple[int, str]:
        return (0 if c.get("overdue") else 1, str(c.get("effective_due_at") or c.get("due_at") or ""))

    return sorted(items, key=key)


COMPLAINT_FILTERS = ("status", "level", "project_id")


@bp.get("/complaints")
@role_required(*OPS_ROLES)
def complaints() -> Any:
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    filters = {k: request.args.get(k, "") for k in COMPLAINT_FILTERS}
    got = api().gather(
        {
            "list": Call("complaints", "/complaints", params={**filters, "page": page, "per_page": 20}),
            "projects": running_projects_call(),
        }
    )
    listing = must(got["list"])
    projects = result(got["projects"], default={}).get("items", [])
    return render_template(
        "ops/complaints.html",
        items=listing.items,
        total=listing.total,
        page=page,
        filters=filters,
        choices=project_choices(projects, filters["project_id"] or None),
        project_names={p["id"]: pick(p, "merchant", "company_name") or p["id"] for p in projects},
        people=people(),
    )


def _intake_values() -> dict[str, str]:
    keys = (
        "project_id",
        "channel",
        "category",
        "about_staff",
        "agent_id",
        "customer_ref",
        "description",
        "severity",
        "due_at",
    )
    source = request.form if request.method == "POST" else request.args
    values = {k: (source.get(k) or "").strip() for k in keys}
    values["severity"] = values["severity"] or "normal"
    values["channel"] = values["channel"] or "chat"
    return values


def local_to_iso(value: str) -> str | None:
    """A ``datetime-local`` input (Beijing time, as everyone here works) as an aware ISO instant."""
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value).replace(tzinfo=SHANGHAI).isoformat()
    except ValueError:
        return value  # the service names the problem


@bp.route("/complaints/new", methods=["GET", "POST"])
@role_required(*OPS_ROLES)
def new_complaint() -> Any:
    values = _intake_values()
    calls = {"projects": running_projects_call()}
    if values["project_id"]:
        calls["pool"] = Call("scheduling", f"/projects/{values['project_id']}/pool", params={"per_page": 200})
    got = api().gather(calls)
    agents = result(got.get("pool", ApiError("scheduling", 404)), default={}).get("items", [])
    error, errors = None, {}
    if request.method == "POST":
        body: dict[str, Any] = {
            "project_id": values["project_id"],
            "channel": values["channel"],
            "category": values["category"],
            "description": values["description"],
            "severity": values["severity"],
            "agent_id": values["agent_id"] or None,
            "customer_ref": values["customer_ref"] or None,
            "due_at": local_to_iso(values["due_at"]),
        }
        if values["about_staff"] in ("yes", "no"):
            body["about_staff"] = values["about_staff"] == "yes"
        try:
            created = api().post("complaints", "/complaints", body)
        except ApiError as err:
            error, errors = problem_message(err), field_messages(err)
        else:
            flash(_("Complaint %(number)s recorded.", number=created["number"]), "success")
            return redirect(url_for("ops.complaint", complaint_id=created["id"]))
    return render_template(
        "ops/complaint_new.html",
        values=values,
        choices=project_choices(
            result(got["projects"], default={}).get("items", []), values["project_id"] or None
        ),
        agent_choices=[(a["agent_id"], a["name"]) for a in agents],
        error=error,
        errors=errors,
    ), (422 if error else 200)


def _complaint_page(
    complaint_id: str,
    *,
    action: str | None = None,
    error: str | None = None,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
) -> Any:
    complaint = api().get("complaints", f"/complaints/{complaint_id}")
    agents: list[Mapping[str, Any]] = []
    if complaint.get("level") == "agent":
        try:
            agents = (
                api()
                .get("scheduling", f"/projects/{complaint['project_id']}/pool", per_page=200)
                .get("items", [])
            )
        except ApiError:
            agents = []
    assignees = (
        [(a["agent_id"], a["name"]) for a in agents]
        if complaint.get("level") == "agent"
        else staff_candidates("supervisor", "vendor")
    )
    names = people()
    names.update({a["agent_id"]: a["name"] for a in agents if a.get("name")})
    return render_template(
        "ops/complaint.html",
        c=complaint,
        people=names,
        assignees=assignees,
        action=action,
        error=error,
        errors=errors or {},
        values=values or {},
        can_rule=current_user.role in ("supervisor", "vendor", "admin"),
        can_assign=current_user.role in ("supervisor", "vendor", "admin"),
    ), status


@bp.get("/complaints/<complaint_id>")
@role_required(*OPS_ROLES)
def complaint(complaint_id: str) -> Any:
    return _complaint_page(complaint_id)


ACTIONS = ("notes", "status", "escalate", "assign", "resolve", "close", "reopen")


def _action_body(action: str, form: Mapping[str, str]) -> dict[str, Any]:
    text = {k: (form.get(k) or "").strip() for k in form}
    if action == "notes":
        return {
            "body": text.get("body", ""),
            "visibility": text.get("visibility") or "internal",
            "new_due_at": local_to_iso(text.get("new_due_at", "")),
        }
    if action == "status":
        return {"status": text.get("status", ""), "reason": text.get("reason") or None}
    if action == "escalate":
        return {"reason": text.get("reason", "")}
    if action == "assign":
        return {"assignee": text.get("assignee", ""), "reason": text.get("reason") or None}
    if action == "resolve":
        at_fault = text.get("agent_at_fault") == "1"
        return {
            "resolution": text.get("resolution", ""),
            "agent_at_fault": at_fault,
            "penalty": text.get("penalty") or None,
        }
    if action == "close":
        return {"note": text.get("note") or None}
    return {"reason": text.get("reason", ""), "due_at": local_to_iso(text.get("due_at", ""))}


ACTION_DONE = {
    "notes": _l("The note was added."),
    "status": _l("The status was changed."),
    "escalate": _l("The complaint was escalated."),
    "assign": _l("The complaint was reassigned."),
    "resolve": _l("The complaint was resolved."),
    "close": _l("The complaint was closed."),
    "reopen": _l("The complaint was reopened."),
}


@bp.post("/complaints/<complaint_id>/<action>")
@role_required(*OPS_ROLES)
def complaint_action(complaint_id: str, action: str) -> Any:
    if action not in ACTIONS:
        return _complaint_page(complaint_id, status=404)
    body = _action_body(action, request.form)
    try:
        api().post("complaints", f"/complaints/{complaint_id}/{action}", body)
    except ApiError as err:
        if err.status in (401, 404):
            raise
        return _complaint_page(
            complaint_id,
            action=action,
            error=problem_message(err),
            errors=field_messages(err),
            values=request.form,
            status=err.status if err.status in (403, 409, 422) else 422,
        )
    flash(str(ACTION_DONE[action]), "success")
    return redirect_back("ops.complaint", complaint_id=complaint_id)


# --- project staff (supervisors and managers who take complaints) -----------------------------------------


@bp.route("/projects/<project_id>/staff", methods=["GET", "POST"])
@role_required("vendor")
def staff(project_id: str) -> Any:
    supervisors = staff_candidates("supervisor")
    managers = staff_candidates("vendor", "supervisor")
    known = dict(supervisors + managers)
    error = None
    if request.method == "POST":
        chosen_sup = [u for u in request.form.getlist("supervisors") if u in known]
        chosen_mgr = [u for u in request.form.getlist("managers") if u in known]
        body = {
            "supervisors": [{"user_id": u, "name": known[u]} for u in chosen_sup],
            "managers": [{"user_id": u, "name": known[u]} for u in chosen_mgr],
        }
        try:
            api().put("complaints", f"/projects/{project_id}/staff", body)
        except ApiError as err:
            if err.status in (401, 404):
                raise
            error = problem_message(err)
        else:
            flash(_("The project's supervisors and managers were saved."), "success")
            return redirect(url_for("ops.staff", project_id=project_id))
    current = api().get("complaints", f"/projects/{project_id}/staff")
    listed = {
        "supervisors": [m["user_id"] for m in current.get("supervisors", [])],
        "managers": [m["user_id"] for m in current.get("managers", [])],
    }
    # someone listed who is no longer a console user stays visible (and can be removed)
    for key in ("supervisors", "managers"):
        for member in current.get(key, []):
            known.setdefault(member["user_id"], member.get("name") or member["user_id"])
    extra = [(u, n) for u, n in known.items() if u not in dict(supervisors)]
    return render_template(
        "ops/staff.html",
        project_id=project_id,
        supervisors=supervisors + [(u, n) for u, n in extra if u in listed["supervisors"]],
        managers=managers + [(u, n) for u, n in extra if u in listed["managers"] and u not in dict(managers)],
        listed=listed,
        error=error,
    ), (422 if error else 200)
