"""The agent's own pages (坐席): my shifts as a month calendar with an iCal subscription, my payslips.

An agent's service token carries their candidate id as ``sub``; scheduling and billing answer only that
agent's own shifts and approved payslips, so these pages never filter by agent themselves.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from services.console import accounts
from services.console.bff import Identity
from services.console.i18n import _
from services.console.i18n import lazy_gettext as _l
from services.console.labels import STATUS_LABELS
from services.console.models import User
from services.console.web import api, db, role_required, service_client, uow
from shared.web import transactional
from shared.workdays import today_shanghai

bp = Blueprint("agent", __name__, url_prefix="/agent")

STATUS_LABELS.update({"approved": _l("Approved")})

SHIFT_LABELS: dict[str, Any] = {
    "morning": _l("Morning shift"),
    "afternoon": _l("Afternoon shift"),
    "night": _l("Night shift"),
}
PLAN_TYPES: dict[str, Any] = {
    "hourly": _l("Hourly"),
    "monthly": _l("Monthly salary"),
    "base_commission": _l("Base + commission"),
    "commission": _l("Commission only"),
}
LINE_KINDS: dict[str, Any] = {
    "base": _l("Base pay"),
    "hours": _l("Hourly pay"),
    "commission": _l("Commission"),
    "deduction": _l("Deductions"),
    "adjustment": _l("Adjustments"),
}
WEEKDAYS = (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun"))
PER_PAGE = 20
#: the subscription feed: a month back (recent history) and three months ahead (rosters run two weeks)
FEED_DAYS_BACK = 31
FEED_DAYS_AHEAD = 92
#: 32 random bytes: the subscription URL is the only secret a calendar app can hold
TOKEN_BYTES = 32


def _month(raw: str | None) -> dt.date:
    """The first day of ``YYYY-MM``; this month (Beijing time) for a missing or malformed value."""
    try:
        year, month = (int(part) for part in (raw or "").split("-"))
        return dt.date(year, month, 1)
    except ValueError:
        return today_shanghai().replace(day=1)


def _shift_month(first: dt.date, months: int) -> dt.date:
    index = first.year * 12 + first.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def month_weeks(first: dt.date, shifts: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The month as weeks Monday to Sunday; days outside the month are blank cells."""
    by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for shift in shifts:
        by_day[str(shift["date"])].append(shift)
    weeks = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month):
        weeks.append(
            [
                {"date": day, "in_month": day.month == first.month, "shifts": by_day.get(day.isoformat(), [])}
                for day in week
            ]
        )
    return weeks


def _calendar_token(*, rotate: bool = False) -> str:
    """The signed-in agent's subscription token, created on the first visit."""
    user = uow().session.get(User, current_user.id)
    if user is None:
        abort(404)
    return accounts.calendar_token(uow(), user, rotate=rotate, size=TOKEN_BYTES)


# The first visit writes the agent's calendar token: a GET that commits.
@bp.get("/shifts")
@transactional
@role_required("agent")
def shifts() -> Any:
    first = _month(request.args.get("month"))
    last = _shift_month(first, 1) - dt.timedelta(days=1)
    agent_id = api().identity.sub
    data = api().get(
        "scheduling", f"/agents/{agent_id}/shifts", **{"from": first.isoformat(), "to": last.isoformat()}
    )
    items = data.get("items", [])
    token = _calendar_token()
    feed = url_for("agent.calendar_feed", token=token, _external=True)
    return render_template(
        "agent/shifts.html",
        month=first,
        month_label=f"{first:%Y-%m}",
        prev_month=f"{_shift_month(first, -1):%Y-%m}",
        next_month=f"{_shift_month(first, 1):%Y-%m}",
        weeks=month_weeks(first, items),
        shifts=items,
        total_hours=sum(float(s.get("hours") or 0) for s in items),
        today=today_shanghai(),
        weekdays=WEEKDAYS,
        shift_labels=SHIFT_LABELS,
        feed_url=feed,
        webcal_url="webcal://" + feed.split("://", 1)[1],
    )


@bp.post("/calendar/rotate")
@transactional
@role_required("agent")
def rotate_calendar() -> Any:
    """A new subscription link; the old one stops working at once (a lost phone, a shared link)."""
    _calendar_token(rotate=True)
    flash(
        _("A new calendar link was made; the old link no longer works. Subscribe again with the new one."),
        "success",
    )
    return redirect(url_for("agent.shifts"))


@bp.get("/calendar/<token>.ics")
def calendar_feed(token: str) -> Any:
    """The agent's shifts for calendar apps, which cannot sign in: the unguessable token in the URL is the
    credential. The console asks scheduling as that agent (a token minted for their candidate id)."""
    if len(token) < 32 or len(token) > 64:
        abort(404)
    user = db().scalar(select(User).where(User.calendar_token == token))
    if user is None or not user.active or user.role != "agent" or not user.candidate_id:
        abort(404)
    today = today_shanghai()
    reply = service_client().request(
        Identity(sub=user.candidate_id, role="agent"),
        "scheduling",
        "GET",
        f"/agents/{user.candidate_id}/shifts.ics",
        params={
            "from": (today - dt.timedelta(days=FEED_DAYS_BACK)).isoformat(),
            "to": (today + dt.timedelta(days=FEED_DAYS_AHEAD)).isoformat(),
        },
    )
    return Response(
        reply.content,
        content_type=reply.headers.get("content-type", "text/calendar; charset=utf-8"),
        headers={
            "Content-Disposition": 'inline; filename="shifts.ics"',
            # calendar apps poll; let them, but keep shared caches out of a personal feed
            "Cache-Control": "private, max-age=900",
        },
    )


@bp.get("/payslips")
@role_required("agent")
def payslips() -> Any:
    page = request.args.get("page", 1, type=int)
    reply = api().page("billing", "/payslips", page=page, per_page=PER_PAGE)
    return render_template(
        "agent/payslips.html",
        payslips=reply.items,
        total=reply.total or 0,
        page=page,
        per_page=PER_PAGE,
        plan_types=PLAN_TYPES,
    )


@bp.get("/payslips/<payslip_id>")
@role_required("agent")
def payslip(payslip_id: str) -> Any:
    slip = api().get("billing", f"/payslips/{payslip_id}")
    return render_template(
        "agent/payslip.html",
        slip=slip,
        plan_types=PLAN_TYPES,
        line_kinds=LINE_KINDS,
    )
