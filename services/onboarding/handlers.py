"""Event handlers of the onboarding service: {event type: handler(uow, event)}.

Onboarding is where projects start: the catalogue routes no event to it, so it consumes none.
"""

from shared.events.consumer import Handler

HANDLERS: dict[str, Handler] = {}
