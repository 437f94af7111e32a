"""The project supervisor's pages (项目主管): the complaints waiting on them and the projects they look after.

The supervisor acts as themself: the services see their console user id as the token's ``sub``, and the
vendor lists that id in a project's staff (ops.staff), so "assigned to me" here is exactly what the
complaints service assigned to that person.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from services.console.bff import Call
from services.console.views.ops import must, my_sub, people, result, sort_queue
from services.console.web import api, role_required

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")


@bp.get("/queue")
@role_required("supervisor")
def queue() -> Any:
    """Complaints assigned to me, then the other supervisor-level ones still open; overdue first."""
    me = my_sub()
    got = api().gather(
        {
            "mine": Call(
                "complaints", "/complaints", params={"assignee": me, "active": "true", "per_page": 100}
            ),
            "level": Call(
                "complaints", "/complaints", params={"level": "supervisor", "active": "true", "per_page": 100}
            ),
        }
    )
    mine = must(got["mine"])
    level = [c for c in result(got["level"], default={}).get("items", []) if c.get("assignee") != me]
    return render_template(
        "supervisor/queue.html",
        mine=sort_queue(mine.items),
        mine_total=mine.total,
        level=sort_queue(level),
        people=people(),
    )


@bp.get("/projects")
@role_required("supervisor")
def projects() -> Any:
    """The projects that list me as supervisor or manager in their complaint staff (the vendor keeps that
    list; it is the one place the services record who supervises which project)."""
    listed = api().get("complaints", "/my/projects")
    return render_template("supervisor/projects.html", projects=listed.get("items", []))
