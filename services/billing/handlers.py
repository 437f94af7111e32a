"""Event handlers of the billing service: {event type: handler(session, envelope)}.

They run inside the consumer's inbox transaction (a duplicate delivery never reaches them), never commit,
and upsert, so that events arriving late, twice or out of order (a departure before the admission, a
corrected timesheet) leave the same state as events in order.
"""

from __future__ import annotations

from services.billing import service
from shared.events.consumer import Handler
from shared.events.envelope import Event
from shared.uow import UnitOfWork


def on_project_confirmed(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    service.project_confirmed(session, dict(event.data), uow.now())


def on_project_updated(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    service.project_updated(session, dict(event.data), uow.now())


def on_project_closed(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    service.project_closed(session, dict(event.data), uow.now())


def on_agent_admitted(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    service.agent_admitted(session, dict(event.data), service.shanghai_date(event.occurred_at), uow.now())


def on_agent_departed(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    service.agent_departed(session, dict(event.data), service.shanghai_date(event.occurred_at), uow.now())


def on_agent_replaced(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    service.agent_replaced(session, dict(event.data), service.shanghai_date(event.occurred_at), uow.now())


def on_shift_worked(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    service.shift_worked(session, dict(event.data), uow.now())


def on_complaint_upheld(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    occurred_at = service.parse_instant(event.occurred_at.isoformat())
    service.complaint_upheld(session, dict(event.data), occurred_at, uow.now())


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
