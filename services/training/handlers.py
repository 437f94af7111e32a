"""Event handlers of the training service: {event type: handler(session, envelope)}.

They run inside the consumer's inbox transaction (a duplicate delivery never reaches them) and upsert,
so that events arriving late or out of order (a match before the project's confirmation) still work.
"""

from __future__ import annotations

from services.training import service
from shared.events.consumer import Handler
from shared.events.envelope import Event
from shared.uow import UnitOfWork
from shared.workdays import today_shanghai


def on_project_confirmed(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    service.project_confirmed(session, dict(event.data), service.load_settings(), today_shanghai())


def on_project_updated(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    service.project_updated(session, dict(event.data), service.load_settings())


def on_project_closed(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    service.project_closed(session, dict(event.data))


def on_candidates_matched(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    service.candidates_matched(session, dict(event.data), service.load_settings(), today_shanghai())


def on_complaint_upheld(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    service.complaint_upheld(session, dict(event.data))


HANDLERS: dict[str, Handler] = {
    "project.confirmed": on_project_confirmed,
    "project.updated": on_project_updated,
    "project.closed": on_project_closed,
    "candidates.matched": on_candidates_matched,
    "complaint.upheld": on_complaint_upheld,
}
