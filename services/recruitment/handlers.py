"""Event handlers of the recruitment service: {event type: handler(session, envelope)}."""

from shared.events.consumer import Handler

HANDLERS: dict[str, Handler] = {}
