"""Who may see a person's contact data (phone, ID number, address): the one rule, for every service.

Trainees, candidates and agents are people, not the merchant's staff. The vendor's own staff who deal with
them need their contact data — operations (``vendor``) recruit and call them, ``trainer`` organises their
training, ``supervisor`` reaches them on shift — and ``admin`` sees everything. Nobody else does: a
merchant sees a trainee's name and results, ``finance`` pays by agent id, and an agent sees only their
own. Events are internal and keep the data; only what an API answers is filtered.

A schema marks a field with :class:`ContactField` and the field is left out of the response for anyone
the rule does not admit, so a new endpoint cannot forget the check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import has_request_context
from marshmallow import fields, missing

from shared.auth import optional_principal
from shared.uow import Actor

#: Roles that see anyone's contact data.
CONTACT_DATA_ROLES: frozenset[str] = frozenset({"admin", "vendor", "trainer", "supervisor"})

ROLE_NOTE = (
    f"Personal contact data: only for {', '.join(sorted(CONTACT_DATA_ROLES))} (and the person themselves); "
    "left out of the response for anyone else."
)


def may_see_contact(principal: Actor | None, person_id: str | None = None) -> bool:
    """True for the vendor's staff who need the data, and for an agent looking at their own record."""
    if principal is None:
        return False
    if principal.role in CONTACT_DATA_ROLES:
        return True
    return principal.role == "agent" and person_id is not None and principal.sub == person_id


class ContactField(fields.String):
    """A string holding a person's contact data; serialised only for callers :func:`may_see_contact` admits.

    ``owner`` names the attribute holding the person's id, so an agent sees their own number.
    Outside a request (events, exports built by jobs) nothing is hidden: the rule is about API callers.
    """

    def __init__(self, *, owner: str | None = None, **kwargs: Any) -> None:
        metadata = dict(kwargs.pop("metadata", None) or {})
        metadata["description"] = " ".join(filter(None, [metadata.get("description"), ROLE_NOTE]))
        super().__init__(metadata=metadata, **kwargs)
        self.owner = owner

    def serialize(self, attr: str, obj: Any, accessor: Any = None, **kwargs: Any) -> Any:
        if has_request_context():
            person = None
            if self.owner is not None:
                person = obj.get(self.owner) if isinstance(obj, Mapping) else getattr(obj, self.owner, None)
            if not may_see_contact(optional_principal(), person):
                return missing
        return super().serialize(attr, obj, accessor, **kwargs)
