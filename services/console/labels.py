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


# --- complaints: shared by the merchant's, the vendor's and the supervisor's pages -----------------------

COMPLAINT_LEVELS: dict[str, Any] = {
    "agent": _l("Agent"),
    "supervisor": _l("Supervisor"),
    "manager": _l("Manager"),
}
COMPLAINT_CHANNELS: dict[str, Any] = {
    "chat": _l("Chat"),
    "phone": _l("Phone"),
    "email": _l("Email"),
    "platform": _l("Platform"),
    "in_person": _l("In person"),
}
COMPLAINT_CATEGORIES: dict[str, Any] = {
    "service_attitude": _l("Service attitude"),
    "service_quality": _l("Service quality"),
    "wrong_information": _l("Wrong information"),
    "delivery": _l("Delivery"),
    "refund": _l("Refund"),
    "product": _l("Product"),
    "other": _l("Other"),
}
COMPLAINT_SEVERITIES: dict[str, Any] = {
    "low": _l("Low"),
    "normal": _l("Normal"),
    "high": _l("High"),
    "urgent": _l("Urgent"),
}
COMPLAINT_HISTORY: dict[str, Any] = {
    "created": _l("Recorded"),
    "assigned": _l("Assigned"),
    "note": _l("Note"),
    "status": _l("Status changed"),
    "first_response": _l("First response"),
    "due_moved": _l("Promised time moved"),
    "escalated": _l("Escalated"),
    "breached": _l("Promise missed"),
    "agent_named": _l("Agent named"),
    "resolved": _l("Resolved"),
    "closed": _l("Closed"),
    "reopened": _l("Reopened"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))
