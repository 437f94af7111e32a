"""An agent's calendar feed (issue 19 part 8) on PostgreSQL: a signed, revocable URL that calendar apps
fetch without a bearer token, serving the agent's shifts across projects as iCalendar (``icalendar``)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from typing import Any

import icalendar
import pytest

from services.scheduling import calendar_feed
from services.scheduling.config import DEV_CALENDAR_SECRET, CalendarSettings
from shared.config import Settings
from shared.env import ConfigError
from shared.service import load_spec
from tests.integration.test_scheduling_api import ENV, admitted, agent_id, apply_event, days, seed
from tests.support import ServiceHarness

PROBLEM = "application/problem+json"
SECRET = "calendar-secret-of-these-tests-" + "x" * 24
FEED = re.compile(r"^/api/v1/calendar/(?P<id>[0-9a-f-]{36})\.(?P<sig>[A-Za-z0-9_-]{43})\.ics$")


@pytest.fixture()
def h(service_env: Callable[..., ServiceHarness]) -> ServiceHarness:
    return service_env("scheduling", env={**ENV, "SCHEDULING_CALENDAR_SECRET": SECRET})


def _roster(h: ServiceHarness, project_id: str, start: int, end: int) -> None:
    r = h.client.post(
        f"/api/v1/projects/{project_id}/roster",
        json={"from": days(start), "to": days(end)},
        headers=h.auth("vendor"),
    )
    assert r.status_code == 201, r.get_data(as_text=True)


def _two_projects(h: ServiceHarness) -> tuple[str, str, str]:
    """The best agent of one project, admitted (ranked first) to a second one too; rostered in both."""
    first, _ = seed(h)
    second, _ = seed(h)
    me = agent_id(first, 0)
    occurred = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).isoformat()
    with h.database.session() as session:
        data = {**admitted(second, 0), "candidate_id": me, "quiz_score": 99.0, "simulation_score": 99.0}
        apply_event(session, "agent.admitted", data, occurred)
        session.commit()
    _roster(h, first, 1, 3)
    _roster(h, second, 4, 6)
    return first, second, me


def issue(h: ServiceHarness, agent: str, role: str = "agent", sub: str | None = None) -> Any:
    return h.client.post(
        f"/api/v1/agents/{agent}/calendar-tokens", headers=h.auth(role, sub=sub if sub else agent)
    )


def tokens(h: ServiceHarness, agent: str) -> list[dict[str, Any]]:
    r = h.client.get(f"/api/v1/agents/{agent}/calendar-tokens", headers=h.auth("agent", sub=agent))
    assert r.status_code == 200, r.get_json()
    return r.get_json()["items"]


def events_of(response: Any) -> list[icalendar.Event]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/calendar"
    return list(icalendar.Calendar.from_ical(response.get_data()).walk("VEVENT"))


def test_an_issued_link_serves_the_agents_shifts_in_every_project_without_a_bearer(h: ServiceHarness) -> None:
    first, second, me = _two_projects(h)
    issued = issue(h, me)
    assert issued.status_code == 201, issued.get_json()
    link = issued.get_json()
    match = FEED.match(link["url_path"])
    assert match and match["id"] == link["id"]
    assert link["gateway_path"] == link["url_path"].replace("/api/v1/", "/api/scheduling/v1/", 1)
    assert (link["agent_id"], link["active"], link["revoked_at"], link["last_used_at"]) == (
        me,
        True,
        None,
        None,
    )
    assert match["sig"] == calendar_feed.signature(SECRET, link["id"], me)

    # what the agent's own calendar endpoint lists for the feed's window: a week back, two months ahead
    own = h.client.get(
        f"/api/v1/agents/{me}/shifts?from={days(-7)}&to={days(60)}", headers=h.auth("agent", sub=me)
    ).get_json()["items"]
    assert {s["project_id"] for s in own} == {first, second}

    feed = h.client.get(link["url_path"])  # no Authorization header at all
    assert feed.headers["Cache-Control"] == "private, max-age=300"
    calendar = icalendar.Calendar.from_ical(feed.get_data())
    assert str(calendar["X-WR-CALNAME"]) == calendar_feed.FEED_NAME
    assert str(calendar["PRODID"]).startswith("-//yunkefu//")
    events = events_of(feed)
    assert len(events) == len(own)
    by_uid = {str(e["UID"]): e for e in events}
    for shift in own:
        event = by_uid[f"{shift['project_id']}-{me}-{shift['date']}@yunkefu"]
        starts = event.decoded("DTSTART")
        assert starts.utcoffset() == dt.timedelta(0)  # written in UTC
        assert starts == dt.datetime.fromisoformat(shift["starts_at"])
        assert event.decoded("DTEND") == dt.datetime.fromisoformat(shift["ends_at"])
        assert str(event["SUMMARY"]).startswith(shift["project_name"])
    [listed] = tokens(h, me)
    assert listed["url_path"] == link["url_path"] and listed["last_used_at"] is not None

    # a range of its own: only the second project's days
    narrow = h.client.get(f"{link['url_path']}?from={days(4)}&to={days(6)}")
    assert {str(e["UID"]).split(f"-{me}-")[0] for e in events_of(narrow)} == {second}
    # a bearer token sent anyway changes nothing (the URL is what authenticates)
    other = h.client.get(link["url_path"], headers=h.auth("agent", sub=agent_id(first, 1)))
    assert len(events_of(other)) == len(own)


def test_a_tampered_unknown_or_revoked_link_gets_the_same_404(h: ServiceHarness) -> None:
    first, _second, me = _two_projects(h)
    link = issue(h, me).get_json()
    match = FEED.match(link["url_path"])
    assert match
    token_id, sig = match["id"], match["sig"]
    colleague = agent_id(first, 1)
    theirs = FEED.match(issue(h, colleague).get_json()["url_path"])
    assert theirs
    flipped = sig[:-1] + ("A" if sig[-1] != "A" else "B")
    wrong = [
        f"{token_id}.{flipped}",  # the signature tampered with
        f"{uuid.uuid4()}.{sig}",  # an id never issued
        f"{theirs['id']}.{sig}",  # another agent's id under my signature
        f"{token_id}.{calendar_feed.signature('another secret of at least thirty-two bytes', token_id, me)}",
        f"{token_id}.{calendar_feed.signature(SECRET, token_id, colleague)}",  # signed for someone else
        f"{token_id}.{sig}=",  # padded
        "not-a-token",
    ]
    answers = []
    for token in wrong:
        r = h.client.get(f"/api/v1/calendar/{token}.ics")
        assert r.status_code == 404 and r.content_type == PROBLEM, token
        answers.append(r.get_json()["detail"])
    assert len(set(answers)) == 1
    assert h.client.get(link["url_path"]).status_code == 200

    revoked = h.client.delete(
        f"/api/v1/agents/{me}/calendar-tokens/{token_id}", headers=h.auth("agent", sub=me)
    )
    assert revoked.status_code == 204
    gone = h.client.get(link["url_path"])
    assert gone.status_code == 404 and gone.get_json()["detail"] == answers[0]
    [listed] = tokens(h, me)
    assert (listed["active"], listed["url_path"], listed["gateway_path"]) == (False, None, None)
    assert listed["revoked_at"] is not None
    # revoking again changes nothing; the colleague's link still works
    again = h.client.delete(
        f"/api/v1/agents/{me}/calendar-tokens/{token_id}", headers=h.auth("agent", sub=me)
    )
    assert again.status_code == 204
    assert h.client.get(f"/api/v1/calendar/{theirs['id']}.{theirs['sig']}.ics").status_code == 200


def test_only_the_agent_itself_or_the_vendor_manages_its_links(h: ServiceHarness) -> None:
    first, _second, me = _two_projects(h)
    colleague = agent_id(first, 1)
    base = f"/api/v1/agents/{me}/calendar-tokens"
    mine = issue(h, me).get_json()

    assert issue(h, me, sub=colleague).status_code == 403
    assert h.client.get(base, headers=h.auth("agent", sub=colleague)).status_code == 403
    stolen = h.client.delete(f"{base}/{mine['id']}", headers=h.auth("agent", sub=colleague))
    assert stolen.status_code == 403 and stolen.content_type == PROBLEM
    # through the colleague's own path, my token is simply not theirs
    sideways = h.client.delete(
        f"/api/v1/agents/{colleague}/calendar-tokens/{mine['id']}", headers=h.auth("agent", sub=colleague)
    )
    assert sideways.status_code == 404
    assert h.client.get(mine["url_path"]).status_code == 200

    for role in ("supervisor", "finance", "trainer"):
        assert issue(h, me, role=role).status_code == 403, role
    merchant = h.client.post(base, headers=h.auth("merchant", merchant_id="m-any"))
    assert merchant.status_code == 403
    assert h.client.post(base).status_code == 401

    by_vendor = issue(h, me, role="vendor")
    assert by_vendor.status_code == 201 and by_vendor.get_json()["agent_id"] == me
    assert issue(h, me, role="admin").status_code == 201
    vendor_list = h.client.get(base, headers=h.auth("vendor")).get_json()
    assert vendor_list["total"] == 3
    unknown = issue(h, "nobody-we-know", role="vendor")
    assert unknown.status_code == 404 and unknown.content_type == PROBLEM

    # a handful at once, then revoke one to issue another
    while len([t for t in tokens(h, me) if t["active"]]) < calendar_feed.MAX_ACTIVE_TOKENS:
        assert issue(h, me).status_code == 201
    refused = issue(h, me)
    assert refused.status_code == 409 and refused.get_json()["rule"] == "calendar-token-limit"
    assert h.client.delete(f"{base}/{mine['id']}", headers=h.auth("vendor")).status_code == 204
    assert issue(h, me).status_code == 201


def test_the_signing_secret_must_be_set_outside_development() -> None:
    with pytest.raises(ConfigError, match="SCHEDULING_CALENDAR_SECRET"):
        CalendarSettings.from_env({}, development=False)
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        CalendarSettings.from_env({"SCHEDULING_CALENDAR_SECRET": "short"}, development=False)
    assert CalendarSettings.from_env({}, development=True).secret == DEV_CALENDAR_SECRET
    assert (
        CalendarSettings.from_env({"SCHEDULING_CALENDAR_SECRET": SECRET}, development=False).secret == SECRET
    )


def test_the_service_refuses_to_start_in_production_with_the_development_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    monkeypatch.setenv("YUNKEFU_ENV", "production")
    keys = {"JWT_PUBLIC_KEYS": os.environ["JWT_PUBLIC_KEYS"]}
    spec = load_spec("scheduling")
    with pytest.raises(ConfigError, match="SCHEDULING_CALENDAR_SECRET"):
        spec.create_app(settings=Settings.from_env("scheduling", keys))
    app = spec.create_app(
        settings=Settings.from_env("scheduling", {**keys, "SCHEDULING_CALENDAR_SECRET": SECRET})
    )
    assert app.url_map.bind("localhost").match("/api/v1/calendar/x.y.ics")[0].endswith("calendar_feed_ics")
