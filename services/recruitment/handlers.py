"""Event handlers of the recruitment service: ``{event type: handler(uow, event)}``, each one use case.

Each runs in the consumer's unit of work (never commits) and tolerates any order: every use case finds or
creates the project's copy first, so an event about a project never seen before is handled.
"""

from __future__ import annotations

from services.recruitment import domain, funnel, requisitions
from services.recruitment.config import load_settings
from shared.events.consumer import Handler
from shared.events.envelope import Event
from shared.uow import UnitOfWork


def on_project_confirmed(uow: UnitOfWork, event: Event) -> None:
    requisitions.project_confirmed(uow, event.data, event.occurred_at, load_settings())


def on_project_updated(uow: UnitOfWork, event: Event) -> None:
    requisitions.project_updated(uow, event.data, load_settings())


def on_project_closed(uow: UnitOfWork, event: Event) -> None:
    funnel.project_closed(uow, event.data, load_settings())


def on_agent_admitted(uow: UnitOfWork, event: Event) -> None:
    funnel.agent_admitted(uow, event.data, event.occurred_at)


def on_cohort_completed(uow: UnitOfWork, event: Event) -> None:
    funnel.cohort_completed(uow, event.data, event.occurred_at, load_settings())


def on_training_shortfall(uow: UnitOfWork, event: Event) -> None:
    funnel.training_shortfall(uow, event.data, event.id, event.occurred_at, load_settings())


def on_reserve_shortfall(uow: UnitOfWork, event: Event) -> None:
    if event.data.get("whole_gap"):
        requisitions.whole_gap_requisition(uow, event.data, str(event.id), load_settings())
        return
    reason = domain.RequisitionReason.RESERVE_SHORTFALL
    _replacements(uow, event, event.data["missing"], reason, f"reserve.shortfall:{event.id}")


def on_surge_accepted(uow: UnitOfWork, event: Event) -> None:
    # One requisition per surge, whatever number of times scheduling announces it.
    reason = domain.RequisitionReason.SURGE
    _replacements(uow, event, event.data["uncovered"], reason, f"surge:{event.data['surge_id']}")


def on_plan_published(uow: UnitOfWork, event: Event) -> None:
    requisitions.plan_requisition(uow, event.data, load_settings())


def _replacements(
    uow: UnitOfWork, event: Event, agents: int, reason: domain.RequisitionReason, source_ref: str
) -> None:
    requisitions.replacement_requisition(
        uow, event.data["project_id"], agents, reason=reason, source_ref=source_ref, config=load_settings()
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
    "plan.published": on_plan_published,
}
