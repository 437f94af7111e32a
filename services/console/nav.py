"""The navigation bar of each role: (endpoint, label msgid).

A link whose page is not registered is left out."""

from __future__ import annotations

from typing import Any

from flask import url_for
from werkzeug.routing import BuildError

from services.console.i18n import lazy_gettext as _l

_MERCHANT = [
    ("merchant.projects", _l("My projects")),
    ("merchant.new_project", _l("New order")),
    ("trainer.cohorts", _l("Training")),
    ("merchant.complaints", _l("Complaints")),
    ("desk.index", _l("Live status")),
    ("invoicing.my_invoices", _l("My bills")),
]
_VENDOR = [
    ("vendor.board", _l("Projects")),
    ("vendor.requisitions", _l("Requisitions")),
    ("vendor.talent_pool", _l("Talent pool")),
    ("trainer.cohorts", _l("Training")),
    ("ops.timesheets", _l("Timesheets")),
    ("planning.index", _l("Workforce planning")),
    ("desk.index", _l("Live status")),
    ("desk.leave", _l("Leave requests")),
    ("desk.alerts", _l("Alerts")),
    ("vendor.complaints", _l("Complaints")),
    ("quality.index", _l("Quality")),
    ("invoicing.invoices", _l("Invoicing")),
    ("invoicing.margins", _l("Project margin")),
]
_TRAINER = [("trainer.cohorts", _l("Cohorts")), ("quality.index", _l("Quality"))]
_SUPERVISOR = [
    ("supervisor.queue", _l("My complaints")),
    ("supervisor.projects", _l("My projects")),
    ("ops.timesheets", _l("Timesheets")),
    ("planning.index", _l("Workforce planning")),
    ("desk.index", _l("Live status")),
    ("desk.leave", _l("Leave requests")),
    ("desk.alerts", _l("Alerts")),
    ("quality.index", _l("Quality")),
]
_FINANCE = [
    ("finance.runs", _l("Payroll runs")),
    ("finance.pay_plans", _l("Pay plans")),
    ("finance.performance", _l("Performance")),
    ("invoicing.invoices", _l("Invoicing")),
    ("invoicing.price_lists", _l("Price lists")),
    ("invoicing.margins", _l("Margin")),
]
_AGENT = [
    # the day of operation (当班, onshift.py) first: an agent opens the console to clock in
    ("onshift.index", _l("On shift")),
    ("onshift.swaps", _l("Shift swaps")),
    ("onshift.open_shifts", _l("Open shifts")),
    ("onshift.leave", _l("My leave")),
    ("onshift.availability", _l("When I can work")),
    ("agent.shifts", _l("My shifts")),
    ("agent.payslips", _l("My payslips")),
    ("onshift.calendar", _l("Calendar feed")),
]
_ADMIN = [
    ("admin.users", _l("Users")),
    ("vendor.health", _l("System health")),
]

NAV: dict[str, list[tuple[str, Any]]] = {
    "admin": [*_VENDOR, *_FINANCE[:1], *_ADMIN],
    "vendor": _VENDOR,
    "qa": [("quality.index", _l("Quality")), *_VENDOR[:1]],
    "merchant": _MERCHANT,
    "trainer": _TRAINER,
    "supervisor": _SUPERVISOR,
    "finance": _FINANCE,
    "agent": _AGENT,
}


def links_for(role: str) -> list[tuple[str, str, str]]:
    """``(endpoint, url, label)`` of the role's pages that exist."""
    links = []
    for endpoint, label in NAV.get(role, []):
        try:
            links.append((endpoint, url_for(endpoint), str(label)))
        except BuildError:
            continue
    return links
