"""Scheduling's agent calendar: one agent's shifts across projects as JSON and iCalendar, own only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from tests.integration.test_scheduling_api import ENV, agent_id, days, seed
from tests.support import ServiceHarness


@pytest.fixture()
def h(service_env: Callable[..., ServiceHarness]) -> ServiceHarness:
    return service_env("scheduling", env=ENV)


def _roster(h: ServiceHarness, project_id: str, start: int, end: int) -> dict:
    r = h.client.post(
        f"/api/v1/projects/{project_id}/roster",
        json={"from": days(start), "to": days(end)},
        headers=h.auth("vendor"),
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.get_json()


def test_an_agent_sees_their_own_shifts_as_json_and_ical(h: ServiceHarness) -> None:
    project_id, _merchant = seed(h)
    roster = _roster(h, project_id, 1, 7)
    me = agent_id(project_id, 0)
    mine = sorted(s["date"] for s in roster["shifts"] if s["agent_id"] == me)
    assert mine, "the best-ranked agent is rostered"

    r = h.client.get(
        f"/api/v1/agents/{me}/shifts?from={days(0)}&to={days(30)}", headers=h.auth("agent", sub=me)
    )
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["agent_id"] == me and body["total"] == len(mine)
    assert [s["date"] for s in body["items"]] == mine
    first = body["items"][0]
    assert (first["project_id"], first["project_name"]) == (project_id, "杭州某服饰旗舰店")
    assert (first["start"], first["end"], first["shift"]) == ("09:00", "17:00", "morning")
    # 09:00 in Shanghai is 01:00 UTC
    starts = dt.datetime.fromisoformat(first["starts_at"])
    assert starts.astimezone(dt.UTC).time() == dt.time(1, 0)
    assert dt.datetime.fromisoformat(first["ends_at"]) - starts == dt.timedelta(hours=8)

    # a range that misses the roster: nothing; without dates: from today, a month ahead
    empty = h.client.get(
        f"/api/v1/agents/{me}/shifts?from={days(20)}&to={days(25)}", headers=h.auth("agent", sub=me)
    )
    assert empty.get_json()["items"] == []
    assert h.client.get(f"/api/v1/agents/{me}/shifts", headers=h.auth("agent", sub=me)).get_json()[
        "total"
    ] == len(mine)

    ics = h.client.get(f"/api/v1/agents/{me}/shifts.ics", headers=h.auth("agent", sub=me))
    assert ics.status_code == 200 and ics.mimetype == "text/calendar"
    text = ics.get_data(as_text=True)
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert text.count("BEGIN:VEVENT") == len(mine)
    day = dt.date.fromisoformat(mine[0])
    assert f"DTSTART:{day:%Y%m%d}T010000Z" in text and f"DTEND:{day:%Y%m%d}T090000Z" in text
    assert f"UID:{project_id}-{me}-{mine[0]}@yunkefu" in text


def test_only_the_agent_and_planners_see_an_agents_shifts(h: ServiceHarness) -> None:
    project_id, merchant_id = seed(h)
    _roster(h, project_id, 1, 3)
    me, other = agent_id(project_id, 0), agent_id(project_id, 1)
    path = f"/api/v1/agents/{me}/shifts"
    assert h.client.get(path, headers=h.auth("agent", sub=other)).status_code == 403
    assert h.client.get(f"{path}.ics", headers=h.auth("agent", sub=other)).status_code == 403
    assert h.client.get(path, headers=h.auth("merchant", merchant_id=merchant_id)).status_code == 403
    assert h.client.get(path).status_code == 401
    for role in ("vendor", "supervisor"):
        assert h.client.get(path, headers=h.auth(role)).get_json()["total"] > 0
    bad = h.client.get(f"{path}?from={days(5)}&to={days(1)}", headers=h.auth("vendor"))
    assert bad.status_code == 422 and "to" in bad.get_json()["errors"]
    long = h.client.get(f"{path}?from={days(0)}&to={days(400)}", headers=h.auth("vendor"))
    assert long.status_code == 422
    # an agent in no pool has an empty calendar, not an error
    nobody = h.client.get("/api/v1/agents/nobody/shifts", headers=h.auth("agent", sub="nobody"))
    assert nobody.status_code == 200 and nobody.get_json()["items"] == []
