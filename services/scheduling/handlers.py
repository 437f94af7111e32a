"""Event handlers of the scheduling service: {event type: handler(session, envelope)}.

They run inside the consumer's inbox transaction (never commit) and tolerate any order: each one upserts,
and a late older project event never overwrites a newer one (``Project.last_event_at``).
"""

from services.scheduling import service
from shared.events.consumer import Handler
from shared.events.envelope import Event
from shared.uow import UnitOfWork


def on_project_confirmed(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    service.apply_project_confirmed(session, dict(event.data), event.occurred_at.isoformat())


def on_project_updated(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    service.apply_project_updated(session, dict(event.data), event.occurred_at.isoformat())


def on_project_closed(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    service.apply_project_closed(session, dict(event.data), event.occurred_at.isoformat())


def on_agent_admitted(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    service.apply_agent_admitted(session, dict(event.data), event.occurred_at.isoformat())


def on_cohort_completed(uow: UnitOfWork, event: Event) -> None:
    """Nothing to store: the pool is built agent by agent from ``agent.admitted``, whichever comes first."""


HANDLERS: dict[str, Handler] = {
    "project.confirmed": on_project_confirmed,
    "project.updated": on_project_updated,
    "project.closed": on_project_closed,
    "agent.admitted": on_agent_admitted,
    "cohort.completed": on_cohort_completed,
}
