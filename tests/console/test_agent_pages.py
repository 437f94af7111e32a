"""The agent's pages against the real services: my shifts (calendar and iCal subscription), my payslips."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import uuid
from typing import Any

import pytest

from services.console.models import User
from shared.workdays import today_shanghai
from tests.console.support import ConsoleEnv, csrf_token
from tests.console.test_finance_pages import feed, seed_project
from tests.integration.test_scheduling_api import admitted, apply_event, project_data
from tests.support import ServiceHarness

FEED = re.compile(r'value="([^"]+)" data-testid="calendar-url"')


@pytest.fixture(autouse=True)
def _console_signing_key(request: pytest.FixtureRequest) -> None:
    """The console mints the services' tokens with the session's key (support.py builds its settings
    from an empty environment; a no-op once it passes the JWT variables itself, as requested)."""
    if "console_env" not in request.fixturenames:
        return
    console_env: ConsoleEnv = request.getfixturevalue("console_env")
    client = console_env.app.extensions["console.services"]
    if not client.settings.jwt_private_key_file and os.environ.get("JWT_PRIVATE_KEY_FILE"):
        client.settings = dataclasses.replace(
            client.settings, jwt_private_key_file=os.environ["JWT_PRIVATE_KEY_FILE"]
        )


def html(response: Any) -> str:
    return response.get_data(as_text=True)


def rostered_project(h: ServiceHarness, agent: str) -> tuple[str, list[dict[str, Any]]]:
    """A confirmed project whose best-ranked agent is ``agent``, with a published 10-day roster from
    tomorrow; returns the project and that agent's shifts (from the vendor's roster answer)."""
    project_id, merchant_id = f"p-{uuid.uuid4().hex[:8]}", f"m-{uuid.uuid4().hex[:8]}"
    occurred = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).isoformat()
    with h.database.session() as session:
        apply_event(session, "project.confirmed", project_data(project_id, merchant_id, seats=5), occurred)
        for i in range(10):
            data = admitted(project_id, i)
            if i == 0:
                data["candidate_id"] = agent
            apply_event(session, "agent.admitted", data, occurred)
    today = dt.date.fromisoformat(occurred[:10]) + dt.timedelta(days=3)
    r = h.client.post(
        f"/api/v1/projects/{project_id}/roster",
        json={
            "from": (today + dt.timedelta(days=1)).isoformat(),
            "to": (today + dt.timedelta(days=10)).isoformat(),
        },
        headers=h.auth("vendor"),
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    return project_id, [s for s in r.get_json()["shifts"] if s["agent_id"] == agent]


def test_my_shifts_calendar_shows_the_agents_own_shifts_month_by_month(console_env: ConsoleEnv) -> None:
    client, user = console_env.signed_in("agent")
    _project, mine = rostered_project(console_env.services["scheduling"], user.candidate_id)
    assert mine
    by_month: dict[str, list[str]] = {}
    for shift in mine:
        by_month.setdefault(shift["date"][:7], []).append(shift["date"])
    for month, dates in by_month.items():
        page = client.get(f"/agent/shifts?month={month}")
        assert page.status_code == 200
        text = html(page)
        assert "我的排班" in text and "早班" in text and "杭州某服饰旗舰店" in text
        assert text.count('data-testid="calendar-shift"') == len(dates)
        assert text.count('data-testid="shift-item"') == len(dates)
        for day in dates:
            cell = text.split(f'data-date="{day}"', 1)[1].split("</td>", 1)[0]
            assert "09:00–17:00" in cell
    # a month without shifts says so
    empty = html(client.get("/agent/shifts?month=2020-01"))
    assert 'data-testid="no-shifts"' in empty and 'data-testid="calendar-shift"' not in empty
    # English by the switch
    client.set_cookie("lang", "en")
    assert "My shifts" in html(client.get(f"/agent/shifts?month={next(iter(by_month))}"))


def test_calendar_subscription_works_without_a_session_and_a_new_link_retires_the_old(
    console_env: ConsoleEnv,
) -> None:
    client, user = console_env.signed_in("agent")
    _project, mine = rostered_project(console_env.services["scheduling"], user.candidate_id)
    text = html(client.get("/agent/shifts"))
    found = FEED.search(text)
    assert found, "the page shows the subscription link"
    url = found.group(1)
    path = url.split("://", 1)[1].split("/", 1)[1]
    token = console_env.user(user.email).calendar_token
    assert token and len(token) >= 43 and token in url  # 32 random bytes, created on the first visit
    # the same link on the next visit
    assert FEED.search(html(client.get("/agent/shifts"))).group(1) == url

    anonymous = console_env.client()
    feed_response = anonymous.get(f"/{path}")
    assert feed_response.status_code == 200 and feed_response.mimetype == "text/calendar"
    ics = html(feed_response)
    assert ics.count("BEGIN:VEVENT") == len(mine)
    first = dt.date.fromisoformat(mine[0]["date"])
    assert f"DTSTART:{first:%Y%m%d}T010000Z" in ics  # 09:00 Beijing time

    rotated = client.post(
        "/agent/calendar/rotate", data={"csrf_token": csrf_token(text)}, follow_redirects=True
    )
    assert rotated.status_code == 200 and "已生成新的日历链接" in html(rotated)
    new_url = FEED.search(html(rotated)).group(1)
    assert new_url != url
    assert anonymous.get(f"/{path}").status_code == 404
    new_path = new_url.split("://", 1)[1].split("/", 1)[1]
    assert anonymous.get(f"/{new_path}").status_code == 200
    assert anonymous.get("/agent/calendar/" + "x" * 43 + ".ics").status_code == 404

    # a deactivated agent's link stops working
    with console_env.database.session() as session:
        session.get(User, user.id).active = False
        session.commit()
    assert anonymous.get(f"/{new_path}").status_code == 404


def test_my_payslips_show_only_approved_own_payslips_with_lines(console_env: ConsoleEnv) -> None:
    billing = console_env.services["billing"]
    client, user = console_env.signed_in("agent")
    other = str(uuid.uuid4())
    project = seed_project(billing, {"我": user.candidate_id, "别人": other})
    month = today_shanghai().replace(day=1)
    period = f"{month:%Y-%m}"
    plan = {
        "project_id": project,
        "type": "hourly",
        "hourly_rate": "20.00",
        "effective_from": month.isoformat(),
    }
    assert (
        billing.client.post("/api/v1/pay-plans", json=plan, headers=billing.auth("finance")).status_code
        == 201
    )
    for agent in (user.candidate_id, other):
        feed(billing, "shift.worked", {"project_id": project, "agent_id": agent, "date": month, "hours": "8"})
    run = billing.client.post(
        "/api/v1/payroll-runs",
        json={"period": period, "project_id": project},
        headers=billing.auth("finance"),
    ).get_json()

    # a draft is not the agent's business yet
    before = html(client.get("/agent/payslips"))
    assert 'data-testid="no-payslips"' in before
    slips = billing.client.get(
        f"/api/v1/payroll-runs/{run['id']}/payslips", headers=billing.auth("finance")
    ).get_json()["items"]
    own = next(s for s in slips if s["agent_id"] == user.candidate_id)
    theirs = next(s for s in slips if s["agent_id"] == other)
    assert client.get(f"/agent/payslips/{own['id']}").status_code == 404

    approve = billing.client.post(
        f"/api/v1/payroll-runs/{run['id']}/approve", headers=billing.auth("finance")
    )
    assert approve.status_code == 200
    listed = html(client.get("/agent/payslips"))
    assert "我的工资条" in listed and listed.count('data-testid="payslip-row"') == 1
    assert "¥160.00" in listed and period in listed
    detail = client.get(f"/agent/payslips/{own['id']}")
    assert detail.status_code == 200
    text = html(detail)
    assert "计时工资" in text and "¥160.00" in text and 'data-kind="hours"' in text
    assert client.get(f"/agent/payslips/{theirs['id']}").status_code == 404

    finance, _f = console_env.signed_in("finance")
    assert finance.get("/agent/payslips").status_code == 403
    assert finance.get("/agent/shifts").status_code == 403
    assert console_env.client().get("/agent/payslips").status_code == 302
