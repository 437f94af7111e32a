"""The order's checklist in the reader's language: field and section names, and the missing items.

Shared by the merchant's pages (the wizard's live checklist) and the vendor's project page: the service
states sections and missing items in English; these tables give every user the same words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.console.i18n import _
from services.console.i18n import lazy_gettext as _l

#: Labels of the order's fields, by the API's dotted path (also used for the checklist's missing items).
FIELD_LABELS: dict[str, Any] = {
    "merchant.company_name": _l("Company name"),
    "merchant.contact_name": _l("Contact person"),
    "merchant.contact_phone": _l("Contact phone"),
    "merchant.liaison": _l("Liaison"),
    "service.type": _l("Service type"),
    "service.hours": _l("Service hours"),
    "service.hours.start": _l("Service starts at"),
    "service.hours.end": _l("Service ends at"),
    "service.hours.overnight": _l("The hours cross midnight"),
    "service.seats": _l("Seats (agents)"),
    "service.platform": _l("Platform"),
    "metrics.daily_consultations": _l("Daily consultations"),
    "metrics.first_response_seconds": _l("First response (seconds)"),
    "metrics.avg_response_seconds": _l("Average response (seconds)"),
    "metrics.conversion_rate": _l("Conversion rate (%)"),
    "metrics.avg_order_value": _l("Average order value (CNY)"),
    "metrics.satisfaction_rate": _l("Satisfaction (%)"),
    "training.trainer": _l("Who trains the agents"),
    "training.assessor": _l("Who assesses the agents"),
    "training.requirements": _l("Training requirements"),
    "go_live_date": _l("Go-live date"),
    "qa.merchant_standard": _l("Quality standard"),
    "qa.standard": _l("Your quality standard"),
    "notes": _l("Other requests"),
    "materials": _l("Training materials uploaded"),
    "materials.complete": _l("Training materials marked complete"),
    "material": _l("File"),
}

#: The checklist's seven sections (keys as GET /projects/{id}/checklist names them).
SECTION_LABELS: dict[str, Any] = {
    "basics": _l("Merchant basics"),
    "metrics": _l("Service metrics"),
    "materials": _l("Training materials"),
    "training": _l("Training and assessment"),
    "go_live": _l("Go-live date"),
    "qa": _l("Quality inspection"),
    "other": _l("Other requests"),
}


def missing_text(item: Mapping[str, Any], checklist: Mapping[str, Any] | None = None) -> str:
    """One missing checklist item in the reader's language (the service's own words for the unknown)."""
    field = str(item.get("field", ""))
    if field == "go_live_date" and checklist and checklist.get("earliest_go_live_date"):
        from services.console.i18n import format_day

        return _(
            "Go-live date: at least %(days)s working days from today; the earliest is %(day)s.",
            days=checklist.get("min_go_live_workdays", 3),
            day=format_day(checklist["earliest_go_live_date"]),
        )
    if field == "materials":
        return _("No training material has been uploaded yet.")
    if field == "materials.complete":
        return _("The training materials are not marked complete yet.")
    if field == "qa.standard":
        return _("Describe your own quality standard, or choose the vendor's.")
    label = FIELD_LABELS.get(field)
    if label is None:
        return str(item.get("message", field))
    return _("%(field)s is not filled in.", field=label)


def section_label(key: str) -> str:
    return str(SECTION_LABELS.get(key, key))
