"""Event handlers of the recruitment service: {event type: handler(session, envelope)}.

Each runs inside the consumer's inbox transaction (never commits) and tolerates any order: every handler
upserts the project read model first, so an event about a project never seen before is handled.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from services.recruitment import domain, service
from shared.events.catalogue import get_event_type
from shared.events.consumer import Handler
from shared.events.envelope import Envelope


def _data(envelope: Envelope) -> dict[str, Any]:
    return get_event_type(envelope.type).load_incoming(envelope.data)


def _occurred(envelope: Envelope) -> dt.datetime:
    return dt.datetime.fromisoformat(envelope.occurred_at)


def on_project_confirmed(session: Session, envelope: Envelope) -> None:
    service.project_confirmed(session, _data(envelope), envelope.occurred_at, service.Config.from_env())


def on_project_updated(session: Session, envelope: Envelope) -> None:
    service.project_updated(session, _data(envelope), service.Config.from_env())


def on_project_closed(session: Session, envelope: Envelope) -> None:
    service.project_closed(session, _data(envelope), service.Config.from_env())


def on_agent_admitted(session: Session, envelope: Envelope) -> None:
    service.agent_admitted(session, _data(envelope), _occurred(envelope))


def on_cohort_completed(session: Session, envelope: Envelope) -> None:
    service.cohort_completed(session, _data(envelope), _occurred(envelope), service.Config.from_env())


def on_training_shortfall(session: Session, envelope: Envelope) -> None:
    service.training_shortfall(
        session, _data(envelope), envelope.id, _occurred(envelope), service.Config.from_env()
    )


def on_reserve_shortfall(session: Session, envelope: Envelope) -> None:
    data = _data(envelope)
    service.replacement_requisition(
        session,
        data["project_id"],
        data["missing"],
        reason=domain.RequisitionReason.RESERVE_SHORTFALL,
        source_ref=f"reserve.shortfall:{envelope.id}",
        config=service.Config.from_env(),
    )


def on_surge_accepted(session: Session, envelope: Envelope) -> None:
    data = _data(envelope)
    # One requisition per surge, whatever number of times scheduling announces it.
    service.replacement_requisition(
        session,
        data["project_id"],
        data["uncovered"],
        reason=domain.RequisitionReason.SURGE,
        source_ref=f"surge:{data['surge_id']}",
        config=service.Config.from_env(),
    )


HANDLERS: dict[str, Handler] = {
    "project.confirmed": on_project_confirmed,
    "project.updated": on_project_updated,
    "project.closed": on_project_closed,
    "agent.admitted": on_agent_admitted,
    "cohort.completed": on_cohort_completed,
    "training.shortfall": on_training_shortfall,
    "reserve.shortfall": on_reserve_shortfall,
    "surge.accepted": on_surge_accepted,
}
