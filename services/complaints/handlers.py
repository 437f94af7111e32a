"""Event handlers of the complaints service: {event type: handler(session, envelope)}.

They keep the read models a complaint is checked against: confirmed projects (and their merchant, the
tenant) and the agents admitted to each. They run inside the consumer's inbox transaction and upsert, so
events arriving late, twice or out of order (an admission before the project's confirmation) still work.
"""

from __future__ import annotations

from services.complaints import service
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
    service.agent_admitted(session, dict(event.data), uow.now())


HANDLERS: dict[str, Handler] = {
    "project.confirmed": on_project_confirmed,
    "project.updated": on_project_updated,
    "project.closed": on_project_closed,
    "agent.admitted": on_agent_admitted,
}
