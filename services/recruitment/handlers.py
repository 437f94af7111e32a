"""Event handlers of the recruitment service: {event type: handler(session, envelope)}.

Each runs inside the consumer's inbox transaction (never commits) and tolerates any order: every handler
upserts the project read model first, so an event about a project never seen before is handled.
"""

from __future__ import annotations

from services.recruitment import domain, service
from services.recruitment.config import load_settings
from shared.events.consumer import Handler
from shared.events.envelope import Event
from shared.uow import UnitOfWork


def on_project_confirmed(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    service.project_confirmed(session, dict(event.data), event.occurred_at, load_settings())


def on_project_updated(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    service.project_updated(session, dict(event.data), load_settings())


def on_project_closed(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    service.project_closed(session, dict(event.data), load_settings())


def on_agent_admitted(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    service.agent_admitted(session, dict(event.data), event.occurred_at)


def on_cohort_completed(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    service.cohort_completed(session, dict(event.data), event.occurred_at, load_settings())


def on_training_shortfall(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    service.training_shortfall(session, dict(event.data), event.id, event.occurred_at, load_settings())


def on_reserve_shortfall(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    data = dict(event.data)
    service.replacement_requisition(
        session,
        data["project_id"],
        data["missing"],
        reason=domain.RequisitionReason.RESERVE_SHORTFALL,
        source_ref=f"reserve.shortfall:{event.id}",
        config=load_settings(),
    )


def on_surge_accepted(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    data = dict(event.data)
    # One requisition per surge, whatever number of times scheduling announces it.
    service.replacement_requisition(
        session,
        data["project_id"],
        data["uncovered"],
        reason=domain.RequisitionReason.SURGE,
        source_ref=f"surge:{data['surge_id']}",
        config=load_settings(),
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
