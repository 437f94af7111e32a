"""Event handlers of the quality service: {event type: handler(uow, event)}.

They keep the read models the imports and the KPI are checked against (``projections``). They run inside
the consumer's inbox transaction (a duplicate delivery never reaches them) and upsert, so events arriving
late or out of order still work.
"""

from __future__ import annotations

from services.quality import projections
from shared.events.consumer import Handler
from shared.events.envelope import Event
from shared.uow import UnitOfWork


def on_project_confirmed(uow: UnitOfWork, event: Event) -> None:
    projections.keep_confirmed(uow, event.data)


def on_project_updated(uow: UnitOfWork, event: Event) -> None:
    projections.keep_updated(uow, event.data)


def on_project_closed(uow: UnitOfWork, event: Event) -> None:
    projections.keep_closed(uow, event.data)


def on_agent_admitted(uow: UnitOfWork, event: Event) -> None:
    projections.keep_admitted(uow, event.data)


def on_complaint_opened(uow: UnitOfWork, event: Event) -> None:
    projections.keep_complaint(uow, event.data, event.occurred_at, "open")


def on_complaint_escalated(uow: UnitOfWork, event: Event) -> None:
    projections.keep_complaint(uow, event.data, event.occurred_at, "escalated")


def on_complaint_resolved(uow: UnitOfWork, event: Event) -> None:
    projections.keep_complaint(uow, event.data, event.occurred_at, "resolved")


def on_complaint_upheld(uow: UnitOfWork, event: Event) -> None:
    projections.keep_upheld(uow, event.data, event.occurred_at)


HANDLERS: dict[str, Handler] = {
    "project.confirmed": on_project_confirmed,
    "project.updated": on_project_updated,
    "project.closed": on_project_closed,
    "agent.admitted": on_agent_admitted,
    "complaint.opened": on_complaint_opened,
    "complaint.escalated": on_complaint_escalated,
    "complaint.resolved": on_complaint_resolved,
    "complaint.upheld": on_complaint_upheld,
}
