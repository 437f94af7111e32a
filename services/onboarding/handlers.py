"""Event handlers of the onboarding service: {event type: handler(session, envelope)}."""

from shared.events.consumer import Handler

HANDLERS: dict[str, Handler] = {}
