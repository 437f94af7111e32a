"""Event handlers of the billing service: {event type: handler(uow, event)}, each one line into
``projections``.

They run inside the consumer's inbox transaction (a duplicate delivery never reaches them), never commit,
and upsert, so that events arriving late, twice or out of order (a departure before the admission, a
corrected timesheet) leave the same state as events in order. ``event.data`` is already loaded by the
catalogue's schema (dates, datetimes and decimals are objects).
"""

from __future__ import annotations

from services.billing import projections
from shared.events.consumer import Handler
from shared.events.envelope import Event
from shared.uow import UnitOfWork


def on_project_confirmed(uow: UnitOfWork, event: Event) -> None:
    projections.project_confirmed(uow, event.data)


def on_project_updated(uow: UnitOfWork, event: Event) -> None:
    projections.project_updated(uow, event.data, event.occurred_at)


def on_project_closed(uow: UnitOfWork, event: Event) -> None:
    projections.project_closed(uow, event.data, event.occurred_at)


def on_surge_accepted(uow: UnitOfWork, event: Event) -> None:
    projections.surge_accepted(uow, event.data)


def on_cohort_completed(uow: UnitOfWork, event: Event) -> None:
    projections.cohort_completed(uow, event.data, event.occurred_at)


def on_agent_admitted(uow: UnitOfWork, event: Event) -> None:
    projections.agent_admitted(uow, event.data, event.occurred_at)


def on_agent_departed(uow: UnitOfWork, event: Event) -> None:
    projections.agent_departed(uow, event.data, event.occurred_at)


def on_agent_replaced(uow: UnitOfWork, event: Event) -> None:
    projections.agent_replaced(uow, event.data, event.occurred_at)


def on_shift_worked(uow: UnitOfWork, event: Event) -> None:
    projections.shift_worked(uow, event.data)


def on_attendance_recorded(uow: UnitOfWork, event: Event) -> None:
    projections.attendance_recorded(uow, event.data, event.occurred_at)


def on_agent_no_show(uow: UnitOfWork, event: Event) -> None:
    projections.agent_no_show(uow, event.data, event.occurred_at)


def on_complaint_upheld(uow: UnitOfWork, event: Event) -> None:
    projections.complaint_upheld(uow, event.data, event.occurred_at)


def on_kpi_scored(uow: UnitOfWork, event: Event) -> None:
    projections.kpi_scored(uow, event.data)


HANDLERS: dict[str, Handler] = {
    "project.confirmed": on_project_confirmed,
    "project.updated": on_project_updated,
    "project.closed": on_project_closed,
    "surge.accepted": on_surge_accepted,
    "cohort.completed": on_cohort_completed,
    "agent.admitted": on_agent_admitted,
    "agent.departed": on_agent_departed,
    "agent.replaced": on_agent_replaced,
    "shift.worked": on_shift_worked,
    "attendance.recorded": on_attendance_recorded,
    "agent.no_show": on_agent_no_show,
    "complaint.upheld": on_complaint_upheld,
    "kpi.scored": on_kpi_scored,
}
