"""Event handlers of the training service: {event type: handler(uow, event)}.

They run inside the consumer's inbox transaction (a duplicate delivery never reaches them) and upsert,
so that events arriving late or out of order (a match before the project's confirmation) still work.
``event.data`` is already loaded by the catalogue schema (dates are ``date`` objects).
"""

from __future__ import annotations

from services.training import cohorts, retraining
from services.training.config import load_settings
from shared.events.consumer import Handler
from shared.events.envelope import Event
from shared.uow import UnitOfWork


def on_project_confirmed(uow: UnitOfWork, event: Event) -> None:
    cohorts.project_confirmed(uow, event.data, load_settings())


def on_project_updated(uow: UnitOfWork, event: Event) -> None:
    cohorts.project_updated(uow, event.data, load_settings())


def on_project_closed(uow: UnitOfWork, event: Event) -> None:
    cohorts.project_closed(uow, event.data)


def on_candidates_matched(uow: UnitOfWork, event: Event) -> None:
    cohorts.enrol_matched(uow, event.data, load_settings())


def on_complaint_upheld(uow: UnitOfWork, event: Event) -> None:
    retraining.open_retraining(uow, event.data)


def on_qa_finding(uow: UnitOfWork, event: Event) -> None:
    retraining.attach_finding(uow, event.data)


HANDLERS: dict[str, Handler] = {
    "project.confirmed": on_project_confirmed,
    "project.updated": on_project_updated,
    "project.closed": on_project_closed,
    "candidates.matched": on_candidates_matched,
    "complaint.upheld": on_complaint_upheld,
    "qa.finding": on_qa_finding,
}
