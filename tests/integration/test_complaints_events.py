"""The complaints service on the real broker: read models built from other services' events, the
periodic job escalating an overdue complaint (run by the worker itself), and complaint.upheld carrying
the penalty to billing and training."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from services.complaints.handlers import HANDLERS
from services.complaints.models import Project, ProjectAgent
from shared.db import utcnow
from shared.events.consumer import handle_once
from shared.events.envelope import build_envelope
from shared.uow import system_clock
from shared.web import app_state
from tests.integration.test_complaints_api import (
    AGENT,
    MERCHANT,
    PROJECT,
    URL,
    Clock,
    agent_admitted,
    complaint_body,
    project_confirmed,
)
from tests.support import ServiceHarness, wait_until


def _read_models_ready(h: ServiceHarness) -> bool:
    with h.database.session() as session:
        project = session.get(Project, PROJECT)
        agent = session.get(ProjectAgent, (PROJECT, AGENT))
        return bool(project and project.confirmed and project.merchant_id == MERCHANT and agent)


def test_read_models_from_events_then_intake_publishes_complaint_opened(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("complaints")
    tap = h.tap("complaint.opened")
    h.start_worker()
    # the admission arrives before the project's confirmation: the handlers do not mind the order
    h.publish("agent.admitted", agent_admitted(AGENT))
    refused = h.client.post(URL, json=complaint_body(), headers=h.auth("vendor"))
    assert refused.status_code == 422
    h.publish("project.confirmed", project_confirmed())
    wait_until(lambda: _read_models_ready(h), what="project and agent read models")
    created = h.client.post(URL, json=complaint_body(), headers=h.auth("merchant", merchant_id=MERCHANT))
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    [event] = tap.wait_for("complaint.opened")
    assert event.producer == "complaints"
    assert event.data == {
        "complaint_id": body["id"],
        "number": body["number"],
        "project_id": PROJECT,
        "agent_id": AGENT,
        "level": "agent",
        "status": "open",
    }


def test_the_worker_job_escalates_an_overdue_complaint_and_publishes_complaint_escalated(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("complaints", env={"COMPLAINTS_DEFAULT_SUPERVISOR": "sup-duty"})
    assert handle_once(h.database, HANDLERS, build_envelope("project.confirmed", project_confirmed()))
    assert handle_once(h.database, HANDLERS, build_envelope("agent.admitted", agent_admitted(AGENT)))
    # recorded three hours ago as urgent (2 h): by the real clock it is an hour past its promise
    app_state(h.app).clock = Clock(utcnow() - dt.timedelta(hours=3))
    created = h.client.post(URL, json=complaint_body(severity="urgent"), headers=h.auth("vendor"))
    assert created.status_code == 201, created.get_json()
    cid = created.get_json()["id"]
    tap = h.tap("complaint.escalated")
    h.start_worker()  # its escalation job runs at once, with the wall clock
    events = tap.wait_for("complaint.escalated", count=2)
    assert [(e.data["complaint_id"], e.data["level"]) for e in events] == [
        (cid, "supervisor"),
        (cid, "manager"),
    ]
    assert all(e.data["reason"].startswith("automatic:") for e in events)
    app_state(h.app).clock = system_clock
    detail = h.client.get(f"{URL}/{cid}", headers=h.auth("vendor")).get_json()
    assert (detail["level"], detail["breached"]) == ("manager", True)
    assert [e["to_level"] for e in detail["history"] if e["kind"] == "escalated"] == ["supervisor", "manager"]


def test_upheld_complaint_publishes_complaint_upheld_with_the_penalty(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("complaints")
    tap = h.tap("complaint.upheld", "complaint.resolved")
    h.start_worker()
    h.publish("project.confirmed", project_confirmed())
    h.publish("agent.admitted", agent_admitted(AGENT))
    wait_until(lambda: _read_models_ready(h), what="project and agent read models")
    created = h.client.post(URL, json=complaint_body(category="service_attitude"), headers=h.auth("vendor"))
    cid, number = created.get_json()["id"], created.get_json()["number"]
    resolved = h.client.post(
        f"{URL}/{cid}/resolve",
        json={"resolution": "客服回复态度生硬, 属实", "agent_at_fault": True, "penalty": "200.00"},
        headers=h.auth("supervisor"),
    )
    assert resolved.status_code == 200, resolved.get_json()
    [upheld] = tap.wait_for("complaint.upheld")
    assert {k: v for k, v in upheld.data.items() if k != "resolved_at"} == {
        "complaint_id": cid,
        "number": number,
        "project_id": PROJECT,
        "agent_id": AGENT,
        "penalty": "200.00",
    }
    [resolved_event] = tap.wait_for("complaint.resolved")
    assert (resolved_event.data["level"], resolved_event.data["status"]) == ("supervisor", "resolved")
