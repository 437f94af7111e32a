"""Improvement training (提升培训): an upheld complaint sends its agent back to training, and so do the
problems a QA review finds (quality's ``qa.finding``); the trainer closes the record with a note once it
is done.

A complaint opens one record of its own. QA findings gather: while an agent has an open QA record on a
project, each new finding with problems is added to it (its problems and good cases, the review and
conversation they come from), so the trainer works from one list per agent instead of one record per
reviewed chat. A finding with good cases only opens nothing (there is nothing to improve); it is added to
an open record when there is one, as an example to teach from.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from services.training.models import Retraining, Trainee
from services.training.projections import project_of
from services.training.queries import get_retraining
from shared.errors import Conflict
from shared.uow import UnitOfWork

OPEN = "open"
CLOSED = "closed"
FROM_COMPLAINT = "complaint"
FROM_QA = "qa"
SOURCES = (FROM_COMPLAINT, FROM_QA)


def _agent_name(uow: UnitOfWork, agent_id: str) -> str | None:
    return uow.session.scalars(
        select(Trainee.name)
        .where(Trainee.candidate_id == agent_id)
        .order_by(Trainee.enrolled_at.desc())
        .limit(1)
    ).first()


def open_retraining(uow: UnitOfWork, data: Mapping[str, Any]) -> Retraining:
    """complaint.upheld: one record per complaint, however often the event is delivered."""
    session = uow.session
    record = session.scalars(
        select(Retraining).where(Retraining.complaint_id == data["complaint_id"])
    ).first()
    if record is not None:
        return record
    project = project_of(uow, data["project_id"])
    record = Retraining(
        id=str(uuid.uuid4()),
        source=FROM_COMPLAINT,
        complaint_id=data["complaint_id"],
        complaint_number=data["number"],
        project_id=data["project_id"],
        merchant_id=project.merchant_id if project is not None else None,
        agent_id=data["agent_id"],
        agent_name=_agent_name(uow, data["agent_id"]),
        penalty=Decimal(data["penalty"]),
        status=OPEN,
        opened_at=uow.now(),
    )
    session.add(record)
    uow.flush()
    return record


def _finding(data: Mapping[str, Any]) -> dict[str, Any]:
    day = data.get("date")
    return {
        "review_id": data["review_id"],
        "date": day.isoformat() if day is not None else None,
        "conversation_id": data.get("conversation_id"),
        "method": data.get("method"),
        "percent": data.get("percent"),
        "problems": list(data["problems"]),
        "good_cases": list(data["good_cases"]),
    }


def attach_finding(uow: UnitOfWork, data: Mapping[str, Any]) -> Retraining | None:
    """qa.finding: the review's problems and good cases go to the agent's open QA record on the project,
    opened if needed (only for problems). A review already attached is not added twice."""
    session = uow.session
    record = session.scalars(
        select(Retraining)
        .where(
            Retraining.agent_id == data["agent_id"],
            Retraining.project_id == data["project_id"],
            Retraining.source == FROM_QA,
            Retraining.status == OPEN,
        )
        .order_by(Retraining.opened_at.desc(), Retraining.id.desc())
        .limit(1)
        .with_for_update()
    ).first()
    if record is None:
        if not data["problems"]:
            return None
        project = project_of(uow, data["project_id"])
        record = Retraining(
            id=str(uuid.uuid4()),
            source=FROM_QA,
            project_id=data["project_id"],
            merchant_id=project.merchant_id if project is not None else None,
            agent_id=data["agent_id"],
            agent_name=_agent_name(uow, data["agent_id"]),
            status=OPEN,
            opened_at=uow.now(),
            findings=[],
        )
        session.add(record)
    findings = list(record.findings or [])
    if any(f["review_id"] == data["review_id"] for f in findings):
        return record
    # a new list, not an in-place append: the JSON column is only written when its value is replaced
    record.findings = [*findings, _finding(data)]
    uow.flush()
    return record


def close_retraining(uow: UnitOfWork, retraining_id: str, note: str) -> Retraining:
    record = get_retraining(uow, retraining_id, lock=True)
    if record.status == CLOSED:
        raise Conflict(
            f"This retraining was already closed on {record.closed_at:%Y-%m-%d} by {record.closed_by}.",
            extra={"rule": "retraining-closed"},
        )
    record.status = CLOSED
    record.closed_at = uow.now()
    record.closed_by = uow.actor.sub
    record.note = note
    return record
