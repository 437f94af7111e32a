"""Intake (受理): recording and numbering a complaint, routing and assigning it, setting its promise.

Every complaint, written or oral, is recorded and numbered (seed 004). The number is taken last, once
everything refusable has been checked, because taking it locks the day's counter until the commit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from services.complaints import domain, queries, staff, workflow
from services.complaints.domain import OPEN, Policy, SlaClock
from services.complaints.models import Complaint, DailyCounter, Project
from shared.bulk import next_in_sequence
from shared.errors import BusinessRuleViolation, Forbidden, ValidationFailed
from shared.uow import UnitOfWork


def next_number(uow: UnitOfWork) -> str:
    """Take the day's next number: concurrent intakes queue on the day's counter row and a rolled-back
    intake gives its number back (``shared.bulk.next_in_sequence``): no gaps, no repeats."""
    day = domain.business_day(uow.now())
    seq = next_in_sequence(uow.session, DailyCounter, {"day": day})
    return domain.complaint_number(day, seq)


def record_complaint(uow: UnitOfWork, values: Mapping[str, Any], policy: Policy) -> Complaint:
    """Record and number a complaint (TS20261111-0001); route it (about staff → supervisor, else the agent
    level), assign it and set the promised time (given, or from the severity policy)."""
    session, actor, now = uow.session, uow.actor, uow.now()
    errors: dict[str, list[str]] = {}
    project = session.get(Project, values["project_id"])
    if (
        project is None
        or not project.confirmed
        or (actor.role == "merchant" and project.merchant_id != actor.merchant_id)
    ):
        # the same answer for another merchant's project: its existence is not revealed
        errors["project_id"] = [
            "Unknown project: complaints are taken on projects the vendor has confirmed (project.confirmed)."
        ]
        project = None
    agent_id: str | None = values.get("agent_id")
    assignee: str | None = values.get("assignee")
    about_staff = values.get("about_staff")
    if about_staff is None:
        about_staff = domain.default_about_staff(values["category"])
    level = domain.initial_level(about_staff)
    if project is not None:
        if agent_id and queries.agent_on_project(uow, project.project_id, agent_id) is None:
            errors["agent_id"] = [
                f"Agent {agent_id} is not an admitted agent of project {project.project_id}."
            ]
        if (
            assignee
            and level == "agent"
            and queries.agent_on_project(uow, project.project_id, assignee) is None
        ):
            errors["assignee"] = [
                f"At the agent level the assignee must be an admitted agent of project {project.project_id}."
            ]
    due_at: dt.datetime | None = values.get("due_at")
    if due_at is not None and due_at <= now:
        errors["due_at"] = [f"The promised time must be in the future (now is {now.isoformat()})."]
    if errors or project is None:
        raise ValidationFailed(errors)
    if project.closed:
        raise BusinessRuleViolation(
            f"Project {project.project_id} is closed: complaints are taken on running projects only; "
            "refer the customer to the merchant.",
            rule="project-closed",
        )
    if actor.role == "agent" and queries.agent_on_project(uow, project.project_id, actor.sub) is None:
        raise Forbidden("An agent may only record complaints on a project they were admitted to.")

    if level == "agent":
        # the agent who received the complaint handles it (seed 004 ②), else the agent concerned
        assignee = assignee or (actor.sub if actor.role == "agent" else None) or agent_id
    else:
        assignee = assignee or staff.pick_assignee(uow, project.project_id, level, policy)

    severity = values.get("severity") or "normal"
    due_source = "given" if due_at is not None else "policy"
    due = due_at.astimezone(dt.UTC) if due_at is not None else policy.promised_due_at(now, severity)
    complaint = Complaint(
        id=str(uuid.uuid4()),
        project_id=project.project_id,
        merchant_id=project.merchant_id,
        channel=values["channel"],
        category=values["category"],
        about_staff=about_staff,
        agent_id=agent_id,
        customer_ref=values.get("customer_ref"),
        description=values["description"],
        severity=severity,
        status=OPEN,
        level=level,
        assignee=assignee,
        due_at_source=due_source,
        breached=False,
        first_response_due_at=policy.first_response_due_at(now),
        agent_at_fault=False,
        reopen_count=0,
        created_by=actor.sub,
        created_by_role=actor.role,
        created_at=now,
        updated_at=now,
    )
    workflow.set_clock(complaint, SlaClock(started_at=now, due_at=due))
    # taken last: the counter row stays locked until commit, so everything refusable is checked before
    complaint.number = next_number(uow)
    session.add(complaint)
    session.flush()
    workflow.add_history(
        uow,
        complaint,
        "created",
        actor,
        now,
        to_status=OPEN,
        to_level=level,
        assignee=assignee,
        details={
            "channel": complaint.channel,
            "category": complaint.category,
            "severity": severity,
            "about_staff": about_staff,
            "due_at": due.isoformat(),
            "due_at_source": due_source,
        },
    )
    workflow.add_history(
        uow,
        complaint,
        "assigned",
        actor,
        now,
        to_level=level,
        assignee=assignee,
        text=_routing_text(level, about_staff, assignee),
    )
    workflow.emit_complaint_event(uow, "complaint.opened", complaint)
    return complaint


def _routing_text(level: str, about_staff: bool, assignee: str | None) -> str:
    why = (
        "about an agent's attitude or service quality: straight to the project supervisor"
        if about_staff
        else "handled first at the agent level"
    )
    who = assignee or "nobody yet (no supervisor or manager listed for the project, no default set)"
    return f"Routed to the {level} level ({why}); assigned to {who}."
