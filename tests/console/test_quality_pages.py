"""The quality pages (quality.*) against the real quality service: the weekly review of a project with
its targets, agents, findings and complaints, its xlsx download, and who may see it.

Quality's read models are fed through its own handlers (as its consumer would); the figures, chats and
reviews go in through its API as quality staff would send them.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from typing import Any

from openpyxl import load_workbook

from services.quality.handlers import HANDLERS
from shared.events.consumer import handle_once
from shared.events.envelope import build_envelope
from tests.console.support import ConsoleEnv
from tests.integration.test_quality_api import agent_admitted, day, project_confirmed
from tests.support import ServiceHarness

WEEK = "2026-W48"  # 23–29 November 2026


def feed(h: ServiceHarness, event_type: str, data: dict[str, Any], when: dt.datetime | None = None) -> None:
    kwargs = {"occurred_at": when} if when else {}
    assert handle_once(h.database, HANDLERS, build_envelope(event_type, data, **kwargs))


def seed(env: ConsoleEnv) -> tuple[str, str, str]:
    quality = env.services["quality"]
    project, merchant, agent = f"p-{uuid.uuid4().hex[:8]}", f"m-{uuid.uuid4().hex[:8]}", "agent-li"
    feed(quality, "project.confirmed", project_confirmed(project, merchant))
    feed(quality, "agent.admitted", agent_admitted(agent, project, "李客服"))
    rows = [{**day(agent, f"2026-11-{d}"), "project_id": project} for d in range(23, 28)]
    rows[0]["avg_response_seconds"] = "60"  # one slow day: 32 s on average against 25 s
    sent = quality.client.post("/api/v1/agent-days", json=rows, headers=quality.auth("qa"))
    assert sent.status_code == 200, sent.get_json()
    complaint = {
        "complaint_id": f"cmp-{project}",
        "number": "TS20261124-0007",
        "project_id": project,
        "agent_id": agent,
        "level": "supervisor",
        "reason": "回复太慢",
        "status": "open",
    }
    feed(quality, "complaint.opened", complaint, dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC))
    return project, merchant, agent


def test_quality_staff_read_the_weekly_review_and_download_it(console_env: ConsoleEnv) -> None:
    project, _merchant, agent = seed(console_env)
    client, _user = console_env.signed_in("qa")
    index = client.get("/quality/")
    assert index.status_code == 200
    page = client.get(f"/quality/projects/{project}/weekly?week={WEEK}")
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    assert "好运旗舰店 质检周报" in html
    assert "2026-W48 周" in html
    assert 'data-target="avg_response_seconds"' in html and "32.00" in html and "未达成" in html
    assert f'data-agent-id="{agent}"' in html and "李客服" in html
    assert "TS20261124-0007" in html
    assert "week=2026-W47" in html  # the previous week's link
    download = client.get(f"/quality/projects/{project}/weekly.xlsx?week={WEEK}")
    assert download.status_code == 200
    assert download.content_type.startswith("application/vnd.openxmlformats")
    assert "filename" in download.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(download.data))
    assert book.sheetnames[:3] == ["概要", "目标对比", "客服"]
    bad = client.get(f"/quality/projects/{project}/weekly?week=2026-W60")
    assert bad.status_code == 422


def test_a_merchant_sees_its_own_projects_review_and_no_one_elses(console_env: ConsoleEnv) -> None:
    project, merchant, _agent = seed(console_env)
    own, _user = console_env.signed_in("merchant", merchant_id=merchant)
    assert own.get(f"/quality/projects/{project}/weekly?week={WEEK}").status_code == 200
    other, _user = console_env.signed_in("merchant")
    assert other.get(f"/quality/projects/{project}/weekly?week={WEEK}").status_code == 404
    assert other.get("/quality/").status_code == 403  # the list of every project is for the vendor's staff
    agent_client, _user = console_env.signed_in("agent")
    assert agent_client.get(f"/quality/projects/{project}/weekly?week={WEEK}").status_code == 403
