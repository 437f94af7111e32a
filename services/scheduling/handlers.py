"""Event handlers of the scheduling service: {event type: handler(session, envelope)}.

They run inside the consumer's inbox transaction (never commit) and tolerate any order: each one upserts,
and a late older project event never overwrites a newer one (``Project.last_event_at``).
"""

from sqlalchemy.orm import Session

from services.scheduling import service
from shared.events.consumer import Handler
from shared.events.envelope import Envelope


def on_project_confirmed(session: Session, envelope: Envelope) -> None:
    service.apply_project_confirmed(session, envelope.data, envelope.occurred_at)


def on_project_updated(session: Session, envelope: Envelope) -> None:
    service.apply_project_updated(session, envelope.data, envelope.occurred_at)


def on_project_closed(session: Session, envelope: Envelope) -> None:
    service.apply_project_closed(session, envelope.data, envelope.occurred_at)


def on_agent_admitted(session: Session, envelope: Envelope) -> None:
    service.apply_agent_admitted(session, envelope.data, envelope.occurred_at)


def on_cohort_completed(session: Session, envelope: Envelope) -> None:
    """Nothing to store: the pool is built agent by agent from ``agent.admitted``, whichever comes first."""


HANDLERS: dict[str, Handler] = {
    "project.confirmed": on_project_confirmed,
    "project.updated": on_project_updated,
    "project.closed": on_project_closed,
    "agent.admitted": on_agent_admitted,
    "cohort.completed": on_cohort_completed,
}
