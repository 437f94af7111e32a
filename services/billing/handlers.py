"""Event handlers of the billing service: {event type: handler(session, envelope)}.

They run inside the consumer's inbox transaction (a duplicate delivery never reaches them), never commit,
and upsert, so that events arriving late, twice or out of order (a departure before the admission, a
corrected timesheet) leave the same state as events in order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.billing import service
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
    service.agent_admitted(session, _data(envelope), service.shanghai_date(envelope.occurred_at), utcnow())


def on_agent_departed(session: Session, envelope: Envelope) -> None:
    service.agent_departed(session, _data(envelope), service.shanghai_date(envelope.occurred_at), utcnow())


def on_agent_replaced(session: Session, envelope: Envelope) -> None:
    service.agent_replaced(session, _data(envelope), service.shanghai_date(envelope.occurred_at), utcnow())


def on_shift_worked(session: Session, envelope: Envelope) -> None:
    service.shift_worked(session, _data(envelope), utcnow())


def on_complaint_upheld(session: Session, envelope: Envelope) -> None:
    occurred_at = service.parse_instant(envelope.occurred_at)
    service.complaint_upheld(session, _data(envelope), occurred_at, utcnow())


HANDLERS: dict[str, Handler] = {
    "project.confirmed": on_project_confirmed,
    "project.updated": on_project_updated,
    "project.closed": on_project_closed,
    "agent.admitted": on_agent_admitted,
    "agent.departed": on_agent_departed,
    "agent.replaced": on_agent_replaced,
    "shift.worked": on_shift_worked,
    "complaint.upheld": on_complaint_upheld,
}
