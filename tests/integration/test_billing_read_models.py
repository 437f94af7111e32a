"""Billing's read models for the console's pickers: the projects and agents it knows, readers only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from tests.integration.test_billing_payroll import _id, admitted, confirmed, feed, get
from tests.support import ServiceHarness


def test_projects_and_agents_billing_knows_are_listed_for_finance_and_vendor(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("billing")
    first, second = _id(), _id()
    feed(h, "project.confirmed", confirmed(first))
    feed(h, "project.confirmed", confirmed(second))
    agents = {_id(): "甲", _id(): "乙"}
    for agent_id, name in agents.items():
        feed(h, "agent.admitted", admitted(first, agent_id, name, dt.date(2026, 9, 1)))
    feed(h, "agent.admitted", admitted(second, _id(), "丙", dt.date(2026, 9, 2)))

    for role in ("finance", "vendor"):
        listed = get(h, "/projects", role=role)
        assert listed.status_code == 200
        body = listed.get_json()
        assert body["total"] == 2 and {p["project_id"] for p in body["items"]} == {first, second}
        assert {p["company_name"] for p in body["items"]} == {"云店旗舰店"}
    members = get(h, f"/agents?project_id={first}").get_json()
    assert members["total"] == 2
    assert {(a["agent_id"], a["name"]) for a in members["items"]} == set(agents.items())
    assert all(a["admitted_on"] == "2026-09-01" and a["departed_on"] is None for a in members["items"])
    assert get(h, "/agents").get_json()["total"] == 3
    assert get(h, "/projects?status=closed").get_json()["total"] == 0

    for role in ("agent", "trainer", "supervisor"):
        assert get(h, "/projects", role=role).status_code == 403
        assert get(h, "/agents", role=role).status_code == 403
    assert h.client.get("/api/v1/projects").status_code == 401


def test_agents_are_walked_page_by_page_with_after(service_env: Callable[..., ServiceHarness]) -> None:
    h = service_env("billing")
    project = _id()
    feed(h, "project.confirmed", confirmed(project))
    names = ["Dana", "Ann", "Bo", "Cy", "Eve"]
    for name in names:
        feed(h, "agent.admitted", admitted(project, _id(), name, dt.date(2026, 9, 1)))

    first = get(h, f"/agents?project_id={project}&per_page=2").get_json()
    assert (first["total"], first["page"], first["pages"]) == (5, 1, 3)
    seen = [a["name"] for a in first["items"]]
    cursor = first["next_after"]
    # join mid-walk: one sorts before the cursor (not shown), one after it (shown in its place)
    feed(h, "agent.admitted", admitted(project, _id(), "Al", dt.date(2026, 9, 2)))
    feed(h, "agent.admitted", admitted(project, _id(), "Dot", dt.date(2026, 9, 2)))
    while cursor:
        page = get(h, f"/agents?project_id={project}&per_page=2&after={cursor}").get_json()
        assert (page["total"], page["page"]) == (5, 0)  # the first page's count rides in the cursor
        seen += [a["name"] for a in page["items"]]
        cursor = page["next_after"]
    assert seen == ["Ann", "Bo", "Cy", "Dana", "Dot", "Eve"]

    garbled = get(h, f"/agents?project_id={project}&after=bm90IGEgY3Vyc29y")
    assert garbled.status_code == 422
    assert "after" in garbled.get_json()["errors"]
