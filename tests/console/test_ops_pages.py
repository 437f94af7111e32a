"""The operations pages (ops.*, supervisor.*) against the real scheduling and complaints services.

Scheduling's and complaints' read models are fed through their own handler functions (as the consumers
would); everything else goes through the console's pages as a person would use them, with CSRF on.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from services.complaints.handlers import HANDLERS as COMPLAINT_HANDLERS
from services.console.views import ops
from services.scheduling.config import SchedulingSettings
from shared.events.consumer import handle_once
from shared.events.envelope import build_envelope
from shared.workdays import today_shanghai
from tests.console.support import ConsoleEnv, csrf_token
from tests.integration.test_scheduling_api import apply_event


@pytest.fixture()
def env(console_env: ConsoleEnv) -> ConsoleEnv:
    # the solver's time limit kept small so the suite stays fast (these rosters solve in milliseconds)
    console_env.services["scheduling"].app.extensions["scheduling.settings"] = SchedulingSettings.from_env(
        {"SCHEDULING_SOLVER_TIME_LIMIT": "2", "SCHEDULING_SOLVER_WORKERS": "2"}
    )
    return console_env


def day(n: int) -> str:
    return (today_shanghai() + dt.timedelta(days=n)).isoformat()


def project_data(project_id: str, merchant_id: str, seats: int) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "merchant_id": merchant_id,
        "seats": seats,
        "service_type": "presale",
        "service_hours": {"start": "09:00", "end": "17:00"},
        "go_live_date": today_shanghai().isoformat(),
        "assessor": "merchant",
        "metrics": {"daily_consultations": 2000},
        "company_name": "杭州某服饰旗舰店",
    }


def admitted(project_id: str, i: int) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "candidate_id": f"{project_id}-a{i:02d}",
        "cohort_id": f"{project_id}-cohort",
        "name": f"客服{i:02d}",
        "skills": ["presale"],
        "shifts_available": ["morning", "afternoon", "night"],
        "quiz_score": 95.0 - i,
        "simulation_score": 95.0 - i,
        "rank": i + 1,
    }


def seed_scheduling(env: ConsoleEnv, *, agents: int = 20, seats: int = 10) -> str:
    """A confirmed project with admitted agents (agent 0 best), admitted three days ago."""
    project_id = f"p-{uuid.uuid4().hex[:8]}"
    occurred = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).isoformat()
    with env.services["scheduling"].database.session() as session:
        apply_event(session, "project.confirmed", project_data(project_id, "m-1", seats), occurred)
        for i in range(agents):
            apply_event(session, "agent.admitted", admitted(project_id, i), occurred)
    return project_id


def seed_complaints(env: ConsoleEnv, project_id: str, agents: int = 3) -> None:
    database = env.services["complaints"].database
    assert handle_once(
        database, COMPLAINT_HANDLERS, build_envelope("project.confirmed", project_data(project_id, "m-1", 10))
    )
    for i in range(agents):
        assert handle_once(
            database, COMPLAINT_HANDLERS, build_envelope("agent.admitted", admitted(project_id, i))
        )


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def post(client: FlaskClient, url: str, data: dict[str, Any], *, token_from: str | None = None) -> Any:
    token = csrf_token(page(client, token_from or url))
    return client.post(url, data={**data, "csrf_token": token})


def api_get(env: ConsoleEnv, service: str, path: str, role: str = "vendor", **kwargs: Any) -> Any:
    h = env.services[service]
    response = h.client.get(f"/api/v1{path}", headers=h.auth(role, **kwargs))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# --- pool, roster, departure --------------------------------------------------------------------------------


def test_pool_roster_grid_and_a_departure_replaced_by_a_reserve(env: ConsoleEnv) -> None:
    project_id = seed_scheduling(env)
    client, _user = env.signed_in("vendor")

    html = page(client, f"/ops/projects/{project_id}")
    assert 'lang="zh-CN"' in html and "坐席池" in html
    assert 'data-testid="pool-active">15<' in html and 'data-testid="pool-reserve">5<' in html
    assert html.count('data-testid="pool-row"') == 20 and "客服00" in html and "后备" in html

    generated = post(
        client, f"/ops/projects/{project_id}/roster", {"from": day(0), "to": day(6), "publish": "1"}
    )
    assert generated.status_code == 302, generated.get_data(as_text=True)[:2000]
    grid = page(client, generated.headers["Location"])
    assert "覆盖所有班次" in grid  # the flash: every shift covered
    assert grid.count('data-testid="roster-day"') == 7
    assert grid.count('data-testid="roster-count">10 / 10<') == 7  # one day shift of 10 seats a day
    assert 'data-testid="roster-gap"' not in grid and 'data-testid="roster-binding"' not in grid

    form = page(client, f"/ops/projects/{project_id}/agents/{project_id}-a00/departure")
    assert "离岗" in form
    done = post(
        client,
        f"/ops/projects/{project_id}/agents/{project_id}-a00/departure",
        {"date": day(1), "reason": "个人原因离职"},
    )
    assert done.status_code == 200, done.get_data(as_text=True)[:2000]
    text = done.get_data(as_text=True)
    # the best reserve agent (the 16th by score) takes over the departed agent's shifts from tomorrow
    assert 'data-testid="departure-replacement"' in text and "客服15" in text
    assert text.count('data-testid="takeover-row"') >= 1
    pool = api_get(env, "scheduling", f"/projects/{project_id}/pool?include_departed=true&per_page=50")
    leaving = next(a for a in pool["items"] if a["agent_id"] == f"{project_id}-a00")
    assert leaving["role"] == "departed" and leaving["replaced_by"] == f"{project_id}-a15"

    again = post(
        client,
        f"/ops/projects/{project_id}/agents/{project_id}-a00/departure",
        {"date": day(1), "reason": "重复"},
    )
    assert again.status_code == 422  # a second departure of the same agent is refused, in Chinese
    assert 'data-testid="form-error"' in again.get_data(as_text=True) and "冲突" in again.get_data(
        as_text=True
    )


def test_an_incomplete_roster_says_what_binds_and_a_refused_generation_changes_nothing(
    env: ConsoleEnv,
) -> None:
    project_id = seed_scheduling(env, agents=4, seats=6)
    client, _user = env.signed_in("supervisor")

    refused = post(
        client,
        f"/ops/projects/{project_id}/roster",
        {"from": day(5), "to": day(1), "publish": "1"},
        token_from=f"/ops/projects/{project_id}/roster",
    )
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "部分信息填写有误" in text and 'id="e-to"' in text  # the message, and the rule beside "to"
    assert api_get(env, "scheduling", f"/projects/{project_id}/rosters")["total"] == 0

    made = post(client, f"/ops/projects/{project_id}/roster", {"from": day(0), "to": day(2), "publish": "1"})
    assert made.status_code == 302
    html = page(client, made.headers["Location"])
    assert 'data-testid="roster-binding"' in html and html.count('data-testid="roster-gap"') == 3
    gaps = api_get(env, "scheduling", f"/projects/{project_id}/roster?from={day(0)}&to={day(2)}")["uncovered"]
    assert {g["missing"] for g in gaps} == {2}
    for rule in {g["rule"] for g in gaps}:
        assert f'data-rule="{rule}"' in html
        assert str(ops.RULE_LABELS[rule]) in html  # the English msgid never leaks: zh is translated below
    assert "缺 2 人" in html


def test_roster_downloads_are_streamed_through_the_console(env: ConsoleEnv) -> None:
    project_id = seed_scheduling(env)
    client, _user = env.signed_in("vendor")
    assert (
        post(
            client, f"/ops/projects/{project_id}/roster", {"from": day(0), "to": day(1), "publish": "1"}
        ).status_code
        == 302
    )
    csv = client.get(f"/ops/projects/{project_id}/roster.csv?from={day(0)}&to={day(1)}")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert "attachment" in csv.headers["Content-Disposition"]
    body = csv.get_data().decode("utf-8-sig")
    assert body.startswith("日期") and body.count("客服") == 20
    ics = client.get(f"/ops/projects/{project_id}/roster.ics")
    assert ics.status_code == 200 and ics.mimetype == "text/calendar" and b"BEGIN:VEVENT" in ics.get_data()
    xlsx = client.get(f"/ops/projects/{project_id}/roster.xlsx")
    assert xlsx.status_code == 200 and xlsx.get_data()[:2] == b"PK"
    assert client.get(f"/ops/projects/{project_id}/roster.pdf").status_code == 404
    client.get("/lang/en?next=/")  # in English the page and the tables' headers switch language
    assert "Roster in force" in page(client, f"/ops/projects/{project_id}/roster")
    english = client.get(f"/ops/projects/{project_id}/roster.csv").get_data().decode("utf-8-sig")
    assert english.startswith("date")


def test_a_draft_roster_is_in_force_only_once_published(env: ConsoleEnv) -> None:
    project_id = seed_scheduling(env, agents=6, seats=4)
    client, _user = env.signed_in("vendor")
    url = f"/ops/projects/{project_id}/roster"
    drafted = post(client, url, {"from": day(0), "to": day(1)})  # "publish at once" left unticked
    assert drafted.status_code == 302
    html = page(client, drafted.headers["Location"])
    assert 'data-testid="roster-empty"' in html and 'data-testid="version-status">草稿<' in html
    version = api_get(env, "scheduling", f"/projects/{project_id}/rosters")["items"][0]
    published = post(client, f"{url}s/{version['id']}/publish", {}, token_from=url)
    assert published.status_code == 302
    html = page(client, f"{url}?from={day(0)}&to={day(1)}")
    assert 'data-testid="version-status">已发布<' in html and html.count('data-testid="roster-day"') == 2
    again = post(client, f"{url}s/{version['id']}/publish", {}, token_from=url)  # already published: 409
    assert again.status_code == 302 and "冲突" in page(client, again.headers["Location"])


def test_surge_cancel_from_the_project_page(env: ConsoleEnv) -> None:
    project_id = seed_scheduling(env)
    h = env.services["scheduling"]
    asked = h.client.post(
        f"/api/v1/projects/{project_id}/surges",
        json={"start_date": day(4), "end_date": day(5), "increase_pct": 30},
        headers=h.auth("vendor"),
    )
    assert asked.status_code == 201, asked.get_json()
    client, _user = env.signed_in("vendor")
    html = page(client, f"/ops/projects/{project_id}")
    assert 'data-testid="surge-status">已接受<' in html and "取消加量" in html
    cancelled = post(
        client,
        f"/ops/projects/{project_id}/surges/{asked.get_json()['id']}/cancel",
        {},
        token_from=f"/ops/projects/{project_id}",
    )
    assert cancelled.status_code == 302
    assert 'data-testid="surge-status">已取消<' in page(client, f"/ops/projects/{project_id}")
    assert api_get(env, "scheduling", f"/projects/{project_id}/surges")["items"][0]["status"] == "cancelled"


# --- timesheets ---------------------------------------------------------------------------------------------


def test_timesheets_are_validated_per_row_and_recorded_all_at_once(env: ConsoleEnv) -> None:
    project_id = seed_scheduling(env, agents=3, seats=2)
    client, _user = env.signed_in("vendor")
    url = f"/ops/timesheets?project_id={project_id}&date={day(0)}"
    html = page(client, url)
    assert html.count('data-testid="timesheet-row"') == 3 and "工时" in html
    agents = [f"{project_id}-a{i:02d}" for i in range(3)]

    def send(hours: list[str]) -> Any:
        return post(
            client,
            "/ops/timesheets",
            {
                "project_id": project_id,
                "date": day(0),
                "agent_id": agents,
                "hours": hours,
                "note": ["", "", ""],
            },
            token_from=url,
        )

    typo = send(["8", "abc", ""])
    assert typo.status_code == 422 and typo.get_data(as_text=True).count('data-testid="timesheet-error"') == 1
    too_many = send(["8", "25", ""])  # the service refuses the second row: nothing is recorded
    assert too_many.status_code == 422
    text = too_many.get_data(as_text=True)
    assert text.count('data-testid="timesheet-error"') == 1 and 'value="25"' in text
    assert api_get(env, "scheduling", f"/timesheets?project_id={project_id}")["total"] == 0

    ok = send(["8", "7.5", ""])
    assert ok.status_code == 302
    recorded = api_get(env, "scheduling", f"/timesheets?project_id={project_id}")["items"]
    assert sorted((t["agent_id"], t["hours"]) for t in recorded) == [(agents[0], "8.00"), (agents[1], "7.50")]
    after = page(client, ok.headers["Location"])
    assert after.count('data-testid="recorded-row"') == 2 and "已记录" in after


# --- complaints and the supervisor ----------------------------------------------------------------------


def test_staff_intake_supervisor_queue_and_resolution_with_a_penalty(env: ConsoleEnv) -> None:
    project_id = seed_scheduling(env, agents=3, seats=2)
    seed_complaints(env, project_id)
    vendor, _vendor_user = env.signed_in("vendor")
    supervisor_client, supervisor = env.signed_in("supervisor")

    staff_url = f"/ops/projects/{project_id}/staff"
    assert "Supervisor Test" in page(vendor, staff_url)
    saved = post(vendor, staff_url, {"supervisors": [supervisor.id]})
    assert saved.status_code == 302
    staff = api_get(env, "complaints", f"/projects/{project_id}/staff")
    assert staff["supervisors"] == [{"user_id": supervisor.id, "name": "Supervisor Test"}]

    new_url = f"/ops/complaints/new?project_id={project_id}"
    assert "客服01" in page(vendor, new_url)  # the agents of the project to choose from
    refused = post(
        vendor,
        new_url,
        {"project_id": project_id, "channel": "chat", "category": "", "description": " "},
        token_from=new_url,
    )
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.get_data(as_text=True)
    assert api_get(env, "complaints", "/complaints")["total"] == 0
    created = post(
        vendor,
        new_url,
        {
            "project_id": project_id,
            "channel": "chat",
            "category": "service_attitude",
            "about_staff": "",
            "agent_id": f"{project_id}-a01",
            "customer_ref": "tb-8812",
            "severity": "high",
            "description": "客服态度恶劣",
        },
        token_from=new_url,
    )
    assert created.status_code == 302, created.get_data(as_text=True)[:2000]
    complaint = api_get(env, "complaints", "/complaints")["items"][0]
    assert (complaint["level"], complaint["assignee"]) == ("supervisor", supervisor.id)

    listing = page(vendor, f"/ops/complaints?level=supervisor&project_id={project_id}")
    assert complaint["number"] in listing and 'data-countdown="' in listing and "剩余" in listing

    queue = page(supervisor_client, "/supervisor/queue")
    assert complaint["number"] in queue and 'data-testid="queue-mine"' in queue and "剩余" in queue
    over_cap = post(
        supervisor_client,
        f"/ops/complaints/{complaint['id']}/resolve",
        {"resolution": "属实", "agent_at_fault": "1", "penalty": "600.00", "next": "/supervisor/queue"},
        token_from="/supervisor/queue",
    )
    assert over_cap.status_code == 422 and 'data-testid="form-error"' in over_cap.get_data(as_text=True)
    assert api_get(env, "complaints", f"/complaints/{complaint['id']}")["status"] == "open"
    resolved = post(
        supervisor_client,
        f"/ops/complaints/{complaint['id']}/resolve",
        {
            "resolution": "态度问题属实, 已道歉",
            "agent_at_fault": "1",
            "penalty": "200.00",
            "next": "/supervisor/queue",
        },
        token_from="/supervisor/queue",
    )
    assert resolved.status_code == 302 and resolved.headers["Location"].endswith("/supervisor/queue")
    detail = api_get(env, "complaints", f"/complaints/{complaint['id']}")
    assert (detail["status"], detail["agent_at_fault"], detail["penalty"]) == ("resolved", True, "200.00")
    assert complaint["number"] not in page(supervisor_client, "/supervisor/queue")
    done = api_get(env, "complaints", f"/complaints?active=false&project_id={project_id}")["items"]
    assert [c["number"] for c in done] == [complaint["number"]]
    assert api_get(env, "complaints", "/complaints?active=true")["total"] == 0

    mine = page(supervisor_client, "/supervisor/projects")
    assert 'data-testid="supervisor-project"' in mine and "杭州某服饰旗舰店" in mine
    history = page(vendor, f"/ops/complaints/{complaint['id']}")
    assert "处理历史" in history and history.count("<li data-kind=") == len(detail["history"])
    assert "¥200.00" in history and "Supervisor Test" in history


def test_escalation_notes_and_state_refusals_on_the_detail_page(env: ConsoleEnv) -> None:
    project_id = seed_scheduling(env, agents=3, seats=2)
    seed_complaints(env, project_id)
    h = env.services["complaints"]
    made = h.client.post(
        "/api/v1/complaints",
        json={
            "project_id": project_id,
            "channel": "phone",
            "category": "delivery",
            "agent_id": f"{project_id}-a00",
            "description": "三天未发货",
        },
        headers=h.auth("vendor"),
    ).get_json()
    assert made["level"] == "agent"
    client, _user = env.signed_in("vendor")
    url = f"/ops/complaints/{made['id']}"
    assert "客服00" in page(client, url)
    blank = post(client, f"{url}/escalate", {"reason": "  "}, token_from=url)
    assert blank.status_code == 422
    assert api_get(env, "complaints", url.replace("/ops", ""))["level"] == "agent"
    escalated = post(client, f"{url}/escalate", {"reason": "客服无法解决"}, token_from=url)
    assert escalated.status_code == 302
    noted = post(client, f"{url}/notes", {"body": "已联系仓库", "visibility": "customer"}, token_from=url)
    assert noted.status_code == 302
    detail = api_get(env, "complaints", url.replace("/ops", ""))
    assert detail["level"] == "supervisor" and detail["status"] == "in_progress"
    closing = post(client, f"{url}/close", {}, token_from=url)  # not resolved yet: refused, in Chinese
    assert closing.status_code == 409 and "冲突" in closing.get_data(as_text=True)
    html = page(client, url)
    assert re.search(r'data-testid="complaint-level">\s*主管', html)


def test_roles_and_tenancy(env: ConsoleEnv) -> None:
    project_id = seed_scheduling(env, agents=2, seats=1)
    merchant, _m = env.signed_in("merchant")
    assert merchant.get(f"/ops/projects/{project_id}").status_code == 403
    assert merchant.get("/ops/complaints").status_code == 403
    agent, _a = env.signed_in("agent")
    assert agent.get("/supervisor/queue").status_code == 403
    supervisor, _s = env.signed_in("supervisor")
    assert supervisor.get(f"/ops/projects/{project_id}/staff").status_code == 403  # the vendor lists staff
    vendor, _v = env.signed_in("vendor")
    assert vendor.get("/ops/projects/p-unknown").status_code == 404
    assert vendor.get(f"/ops/projects/{project_id}/agents/nobody/departure").status_code == 404
    complaints = env.services["complaints"]
    for role in ("merchant", "agent"):  # the additive "my projects" endpoint is for supervisors and vendors
        bindings = {"merchant_id": "m-1"} if role == "merchant" else {"sub": "agent-1"}
        refused = complaints.client.get("/api/v1/my/projects", headers=complaints.auth(role, **bindings))
        assert refused.status_code == 403


def test_countdown_text_before_and_after_the_promise() -> None:
    now = dt.datetime(2026, 11, 11, 2, 0, tzinfo=dt.UTC)
    # outside a request the console speaks its default, Chinese; the words match app.js's live updates
    assert ops.countdown_text("2026-11-11T05:12:00+00:00", now) == "剩余 3 小时 12 分钟"
    assert ops.countdown_text("2026-11-11T01:15:00Z", now) == "已超时 45 分钟"
    assert (
        ops.sort_queue(
            [
                {"number": "a", "overdue": False, "due_at": "2026-11-11T03:00:00Z"},
                {"number": "b", "overdue": True, "due_at": "2026-11-11T09:00:00Z"},
                {"number": "c", "overdue": False, "due_at": "2026-11-11T02:30:00Z"},
            ]
        )[0]["number"]
        == "b"
    )
