"""Retraining (提升培训): an upheld complaint sends its agent back to training; the trainer closes the
record with a note once it is done."""

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


def open_retraining(uow: UnitOfWork, data: Mapping[str, Any]) -> Retraining:
    """complaint.upheld: one record per complaint, however often the event is delivered."""
    session = uow.session
    record = session.scalars(
        select(Retraining).where(Retraining.complaint_id == data["complaint_id"])
    ).first()
    if record is not None:
        return record
    project = project_of(uow, data["project_id"])
    name = session.scalars(
        select(Trainee.name)
        .where(Trainee.candidate_id == data["agent_id"])
        .order_by(Trainee.enrolled_at.desc())
        .limit(1)
    ).first()
    record = Retraining(
        id=str(uuid.uuid4()),
        complaint_id=data["complaint_id"],
        complaint_number=data["number"],
        project_id=data["project_id"],
        merchant_id=project.merchant_id if project is not None else None,
        agent_id=data["agent_id"],
        agent_name=name,
        penalty=Decimal(data["penalty"]),
        status=OPEN,
        opened_at=uow.now(),
    )
    session.add(record)
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
