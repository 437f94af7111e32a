"""Event handlers of the billing service: {event type: handler(session, envelope)}."""

from shared.events.consumer import Handler

HANDLERS: dict[str, Handler] = {}
