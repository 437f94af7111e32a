"""Event handlers of the scheduling service: {event type: handler(uow, event)}, each a line onto
``projections``. They run inside the consumer's inbox transaction and never commit."""

from services.scheduling import alerts, projections
from shared.events.consumer import Handler
from shared.events.envelope import Event
from shared.uow import UnitOfWork


def on_project_confirmed(uow: UnitOfWork, event: Event) -> None:
    projections.project_confirmed(uow, event.data, event.occurred_at)


def on_project_updated(uow: UnitOfWork, event: Event) -> None:
    projections.project_updated(uow, event.data, event.occurred_at)


def on_project_closed(uow: UnitOfWork, event: Event) -> None:
    projections.project_closed(uow, event.data)


def on_agent_admitted(uow: UnitOfWork, event: Event) -> None:
    projections.agent_admitted(uow, event.data, event.occurred_at)


def on_cohort_completed(uow: UnitOfWork, event: Event) -> None:
    """Nothing to store: the pool is built agent by agent from ``agent.admitted``, whichever comes first."""


def on_kpi_scored(uow: UnitOfWork, event: Event) -> None:
    projections.kpi_scored(uow, event.data)


def on_complaint_escalated(uow: UnitOfWork, event: Event) -> None:
    """An alert to the supervisors (and the vendor at the manager level): escalated, or overdue."""
    alerts.complaint_escalated(uow, event.data)


def on_invoice_issued(uow: UnitOfWork, event: Event) -> None:
    """The merchant's channels are told of its new invoice (or credit note)."""
    alerts.invoice_notice(uow, event.data, paid=False)


def on_invoice_paid(uow: UnitOfWork, event: Event) -> None:
    alerts.invoice_notice(uow, event.data, paid=True)


HANDLERS: dict[str, Handler] = {
    "project.confirmed": on_project_confirmed,
    "project.updated": on_project_updated,
    "project.closed": on_project_closed,
    "agent.admitted": on_agent_admitted,
    "cohort.completed": on_cohort_completed,
    "kpi.scored": on_kpi_scored,
    "complaint.escalated": on_complaint_escalated,
    "invoice.issued": on_invoice_issued,
    "invoice.paid": on_invoice_paid,
}
