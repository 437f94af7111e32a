"""Names of roles and statuses as people read them.

Area modules add their statuses with ``STATUS_LABELS.update`` (msgids wrapped in ``lazy_gettext``, so
that the extraction and the catalogue test see them).
"""

from __future__ import annotations

from typing import Any

from services.console.i18n import lazy_gettext as _l

ROLE_LABELS: dict[str, Any] = {
    "admin": _l("Administrator"),
    "vendor": _l("Vendor operations"),
    "merchant": _l("Merchant"),
    "trainer": _l("Trainer"),
    "supervisor": _l("Supervisor"),
    "finance": _l("Finance"),
    "agent": _l("Agent"),
    "qa": _l("Quality"),
}

STATUS_LABELS: dict[str, Any] = {
    "draft": _l("Draft"),
    "submitted": _l("Submitted"),
    "returned": _l("Returned"),
    "confirmed": _l("Confirmed"),
    "live": _l("Live"),
    "closed": _l("Closed"),
    "cancelled": _l("Cancelled"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))
