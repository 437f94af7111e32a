"""Quality pages (质检): the weekly review of a project — the order's targets against the week's figures,
each agent's week, the problems the reviews found most often, good cases, complaints and the month's KPI —
and its xlsx download. Quality staff, the vendor, supervisors and trainers open any running project's
review from the list; a merchant opens its own project's from the order's page.

Everything shown is the quality service's ``GET /projects/{id}/weekly-review``; the console adds the
week's navigation and the labels.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, render_template, request

from services.console.i18n import current_locale
from services.console.i18n import lazy_gettext as _l
from services.console.web import api, pass_through, role_required

bp = Blueprint("quality", __name__, url_prefix="/quality")

STAFF = ("vendor", "qa", "supervisor", "trainer")
READERS = (*STAFF, "merchant")
PER_PAGE = 50

TARGET_LABELS = {
    "first_response_seconds": _l("First response (s)"),
    "avg_response_seconds": _l("Average response (s)"),
    "conversion_rate": _l("Inquiry conversion (%)"),
    "avg_order_value": _l("Average order value (CNY)"),
    "satisfaction_rate": _l("Satisfaction (%)"),
}
FLAG_LABELS = {
    "slow_first_response": _l("Slow first response"),
    "slow_avg_response": _l("Slow average response"),
    "missing_greeting": _l("No greeting"),
    "missing_closing": _l("No closing"),
    "forbidden_words": _l("Forbidden words"),
    "negative_sentiment": _l("Negative sentiment"),
    "complaint_intent": _l("Complaint intent"),
    "unanswered": _l("Unanswered messages"),
}


def _week_arg() -> str | None:
    """``?week=`` when it looks like an ISO week; anything else is left to the service to refuse."""
    week = (request.args.get("week") or "").strip()
    return week or None


def shifted_week(monday: dt.date, weeks: int) -> str:
    """The ISO week ``weeks`` weeks from the one starting on ``monday``."""
    year, week, _ = (monday + dt.timedelta(weeks=weeks)).isocalendar()
    return f"{year}-W{week:02d}"


@bp.get("/")
@role_required(*STAFF)
def index() -> Any:
    """The running projects, each with a link to its weekly review."""
    page = max(1, request.args.get("page", 1, type=int) or 1)
    reply = api().page("onboarding", "/projects", status="confirmed,live", per_page=PER_PAGE, page=page)
    total = reply.total or 0
    return render_template(
        "quality/index.html",
        projects=reply.items,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
    )


@bp.get("/projects/<project_id>/weekly")
@role_required(*READERS)
def weekly(project_id: str) -> Any:
    """The weekly review; ``?week=2026-W48`` (the last full week by default)."""
    week = _week_arg()
    params = {"week": week} if week else {}
    report = api().get("quality", f"/projects/{project_id}/weekly-review", **params)
    monday = dt.date.fromisoformat(report["date_from"])
    return render_template(
        "quality/weekly.html",
        report=report,
        project_id=project_id,
        previous_week=shifted_week(monday, -1),
        next_week=shifted_week(monday, 1),
        target_labels=TARGET_LABELS,
        flag_labels=FLAG_LABELS,
    )


@bp.get("/projects/<project_id>/weekly.xlsx")
@role_required(*READERS)
def weekly_xlsx(project_id: str) -> Any:
    params: dict[str, str] = {"lang": "en" if current_locale() == "en" else "zh"}
    week = _week_arg()
    if week:
        params["week"] = week
    reply = api().call("quality", "GET", f"/projects/{project_id}/weekly-review.xlsx", params=params)
    return pass_through(reply)
