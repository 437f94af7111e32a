"""Event handlers of the training service: {event type: handler(session, envelope)}.

They run inside the consumer's inbox transaction (a duplicate delivery never reaches them) and upsert,
so that events arriving late or out of order (a match before the project's confirmation) still work.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.training import service
from shared.events.catalogue import get_event_type
from shared.events.consumer import Handler
from shared.events.envelope import Envelope
from shared.workdays import today_shanghai


def _data(envelope: Envelope) -> dict:  # type: ignore[type-arg]
    return get_event_type(envelope.type).load_incoming(envelope.data)


def on_project_confirmed(session: Session, envelope: Envelope) -> None:
    service.project_confirmed(session, _data(envelope), service.load_settings(), today_shanghai())


def on_project_updated(session: Session, envelope: Envelope) -> None:
    service.project_updated(session, _data(envelope), service.load_settings())


def on_project_closed(session: Session, envelope: Envelope) -> None:
    service.project_closed(session, _data(envelope))


def on_candidates_matched(session: Session, envelope: Envelope) -> None:
    service.candidates_matched(session, _data(envelope), service.load_settings(), today_shanghai())


def on_complaint_upheld(session: Session, envelope: Envelope) -> None:
    service.complaint_upheld(session, _data(envelope))


HANDLERS: dict[str, Handler] = {
    "project.confirmed": on_project_confirmed,
    "project.updated": on_project_updated,
    "project.closed": on_project_closed,
    "candidates.matched": on_candidates_matched,
    "complaint.upheld": on_complaint_upheld,
}
