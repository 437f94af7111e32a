"""Event handlers of the complaints service: {event type: handler(session, envelope)}.

They keep the read models a complaint is checked against: confirmed projects (and their merchant, the
tenant) and the agents admitted to each. They run inside the consumer's inbox transaction and upsert, so
events arriving late, twice or out of order (an admission before the project's confirmation) still work.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.complaints import service
from shared.db import utcnow
from shared.events.catalogue import get_event_type
from shared.events.consumer import Handler
from shared.events.envelope import Envelope


def _data(envelope: Envelope) -> dict[str, Any]:
    return get_event_type(envelope.type).load_incoming(envelope.data)


def on_project_confirmed(session: Session, envelope: Envelope) -> None:
    service.project_confirmed(session, _data(envelope), utcnow())


def on_project_updated(session: Session, envelope: Envelope) -> None:
    service.project_updated(session, _data(envelope), utcnow())


def on_project_closed(session: Session, envelope: Envelope) -> None:
    service.project_closed(session, _data(envelope), utcnow())


def on_agent_admitted(session: Session, envelope: Envelope) -> None:
    service.agent_admitted(session, _data(envelope), utcnow())


HANDLERS: dict[str, Handler] = {
    "project.confirmed": on_project_confirmed,
    "project.updated": on_project_updated,
    "project.closed": on_project_closed,
    "agent.admitted": on_agent_admitted,
}
