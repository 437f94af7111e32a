"""Platform figures in (客服绩效数据): one row per agent per day from the shop back office's export.

All or nothing: every row's problem is reported at once (a file is fixed in one go) and nothing is stored
until the whole batch is right. Re-importing a day replaces that day as a whole: the project's rows for
every date in the batch are deleted and the batch's rows written, so an agent left out of a corrected
file does not keep yesterday's figures (idempotent: the same file twice gives the same table).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select, tuple_

from services.quality.models import AgentDay, Import, Project, ProjectAgent
from shared.bulk import chunks, insert_rows
from shared.errors import ValidationFailed
from shared.uow import UnitOfWork
from shared.workdays import today_shanghai

#: the columns of ``agent_days`` a row fills, in COPY order
_COLUMNS = (
    "project_id",
    "date",
    "agent_id",
    "receptions",
    "inquiries",
    "orders",
    "first_response_seconds",
    "avg_response_seconds",
    "sales_amount",
    "votes_very_satisfied",
    "votes_satisfied",
    "votes_neutral",
    "votes_unsatisfied",
    "votes_very_unsatisfied",
    "quality_refunds",
    "help_requests",
    "import_id",
    "updated_at",
)


def _at(label: str, name: str) -> str:
    return f"{label}.{name}" if label else name


def open_projects(uow: UnitOfWork, project_ids: set[str]) -> dict[str, Project]:
    """The confirmed projects among these ids that the caller may write to (a merchant: its own)."""
    if not project_ids:
        return {}
    rows = uow.session.scalars(select(Project).where(Project.project_id.in_(sorted(project_ids)))).all()
    return {p.project_id: p for p in rows if p.confirmed and _may_write(uow, p)}


def _may_write(uow: UnitOfWork, project: Project) -> bool:
    return uow.actor.role != "merchant" or project.merchant_id == uow.actor.merchant_id


def project_problems(
    uow: UnitOfWork, items: Sequence[Mapping[str, Any]], labels: Sequence[str]
) -> tuple[dict[str, Project], dict[str, list[str]]]:
    """The batch's projects, and a problem for each row whose project is unknown, not confirmed, closed
    or another merchant's, or whose agent was never admitted to it."""
    errors: dict[str, list[str]] = defaultdict(list)
    projects = open_projects(uow, {i["project_id"] for i in items})
    known = _known_agents(
        uow, {(i["project_id"], i["agent_id"]) for i in items if i["project_id"] in projects}
    )
    for label, item in zip(labels, items, strict=True):
        project = projects.get(item["project_id"])
        if project is None:
            errors[_at(label, "project_id")].append(
                f"unknown project {item['project_id']!r}: quality learns projects from onboarding's "
                "project.confirmed"
            )
        elif project.closed:
            errors[_at(label, "project_id")].append(f"project {item['project_id']!r} is closed")
        elif (item["project_id"], item["agent_id"]) not in known:
            errors[_at(label, "agent_id")].append(
                f"unknown agent {item['agent_id']!r} in project {item['project_id']!r}: quality learns "
                "agents from training's agent.admitted; check the ids"
            )
    return projects, errors


def _known_agents(uow: UnitOfWork, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for chunk in chunks(sorted(keys)):
        found.update(
            (p, a)
            for p, a in uow.session.execute(
                select(ProjectAgent.project_id, ProjectAgent.agent_id).where(
                    tuple_(ProjectAgent.project_id, ProjectAgent.agent_id).in_(list(chunk))
                )
            )
        )
    return found


def record_agent_days(
    uow: UnitOfWork,
    items: Sequence[Mapping[str, Any]],
    labels: Sequence[str],
    *,
    source: str,
    earlier_errors: Mapping[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Store a batch of agent-days, all or nothing, each (project, date) in it replaced as a whole."""
    today = today_shanghai(uow.now())
    errors: dict[str, list[str]] = defaultdict(list)
    for name, messages in (earlier_errors or {}).items():
        errors[name].extend(messages)
    first_seen: dict[tuple[str, dt.date, str], str] = {}
    for label, item in zip(labels, items, strict=True):
        if item["date"] > today:
            errors[_at(label, "date")].append(
                f"{item['date'].isoformat()} is in the future (today is {today.isoformat()} in "
                "Asia/Shanghai); import a day once it is over"
            )
        key = (item["project_id"], item["date"], item["agent_id"])
        if key in first_seen:
            errors[label or "_schema"].append(
                f"the same agent, project and date as {first_seen[key]}; each agent once per day"
            )
        else:
            first_seen[key] = label
    if len({i["project_id"] for i in items}) > 1:
        errors["_schema"].append("a batch holds one project's figures (one shop's export); split it")
    _projects, problems = project_problems(uow, items, labels)
    for name, messages in problems.items():
        errors[name].extend(messages)
    if errors:
        raise ValidationFailed(
            dict(errors),
            detail=f"{len(errors)} problem(s) in the platform figures; nothing was stored. Fix them and "
            "import the whole batch again.",
        )
    session, now = uow.session, uow.now()
    days = sorted({(i["project_id"], i["date"]) for i in items})
    existing: set[tuple[str, dt.date, str]] = set()
    for chunk in chunks(days):
        rows = session.execute(
            select(AgentDay.project_id, AgentDay.date, AgentDay.agent_id).where(
                tuple_(AgentDay.project_id, AgentDay.date).in_(list(chunk))
            )
        )
        existing.update((p, d, a) for p, d, a in rows)
        session.execute(delete(AgentDay).where(tuple_(AgentDay.project_id, AgentDay.date).in_(list(chunk))))
    batch = Import(
        id=str(uuid.uuid4()),
        project_id=items[0]["project_id"],
        kind="agent_days",
        source=source,
        rows=len(items),
        dates=sorted({d.isoformat() for _p, d in days}),
        created=sum(1 for k in first_seen if k not in existing),
        replaced=sum(1 for k in first_seen if k in existing),
        removed=sum(1 for k in existing if k not in first_seen),
        created_at=now,
        created_by=uow.actor.label[:100],
    )
    session.add(batch)
    insert_rows(session, AgentDay, _COLUMNS, [_row(i, batch.id, now) for i in items])
    return {
        "import_id": batch.id,
        "received": len(items),
        "days": len(days),
        "created": batch.created,
        "replaced": batch.replaced,
        "removed": batch.removed,
    }


def _row(item: Mapping[str, Any], import_id: str, now: dt.datetime) -> tuple[Any, ...]:
    return (
        item["project_id"],
        item["date"],
        item["agent_id"],
        item["receptions"],
        item["inquiries"],
        item["orders"],
        item.get("first_response_seconds"),
        item.get("avg_response_seconds"),
        item["sales_amount"],
        item.get("votes_very_satisfied", 0),
        item.get("votes_satisfied", 0),
        item.get("votes_neutral", 0),
        item.get("votes_unsatisfied", 0),
        item.get("votes_very_unsatisfied", 0),
        item.get("quality_refunds", 0),
        item.get("help_requests", 0),
        import_id,
        now,
    )
