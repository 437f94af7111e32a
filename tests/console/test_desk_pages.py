"""The day-of-operation pages (desk.*) against the real scheduling service: the live status board and its
fragment, clocking an agent in on their behalf, attendance confirmed or corrected (the refusal beside the
field), leave approved with its effects, a swap approved and one refused by a labour rule (named in
Chinese), open shifts published and closed, the duty desk (rota, gaps, a help request answered and one
handed over, all-hands refused while the reserve covers), alert channels (a bad URL refused beside the
field) and the alert log, the operation settings, and who may see what.

Scheduling learns of the project and its agents through its own handlers, as its consumer would; a roster
is published directly (the idea of ``publish`` in tests/integration/test_scheduling_operations.py); the
scheduling service's clock is set to a moment of the roster's day so that "now" is known. Agents act
through the API as themselves; everything a supervisor does goes through the console's pages with CSRF on.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from services.scheduling.config import SchedulingSettings
from services.scheduling.models import AlertDelivery
from services.scheduling.roster import RosterDraft, SlotPlan, save_roster
from services.scheduling.rostering import Assignment, ShiftTemplate
from shared.uow import Actor, unit_of_work
from shared.web import app_state
from shared.workdays import SHANGHAI, today_shanghai
from tests.console.support import ConsoleEnv, csrf_token
from tests.integration.test_scheduling_api import agent_id, seed
from tests.support import ServiceHarness

MORNING = ShiftTemplate("morning", 8 * 60, 8 * 60)
AFTERNOON = ShiftTemplate("afternoon", 16 * 60, 8 * 60)
SHIFTS = {"morning": MORNING, "afternoon": AFTERNOON}


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture()
def env(console_env: ConsoleEnv) -> ConsoleEnv:
    console_env.services["scheduling"].app.extensions["scheduling.settings"] = SchedulingSettings.from_env(
        {"SCHEDULING_SOLVER_TIME_LIMIT": "2", "SCHEDULING_SOLVER_WORKERS": "2"}
    )
    return console_env


def day(n: int) -> dt.date:
    return today_shanghai() + dt.timedelta(days=n)


def at(d: dt.date, hhmm: str) -> dt.datetime:
    return dt.datetime.combine(d, dt.time.fromisoformat(hhmm), SHANGHAI)


def scheduling(env: ConsoleEnv) -> ServiceHarness:
    return env.services["scheduling"]


def set_clock(env: ConsoleEnv, now: dt.datetime) -> Clock:
    clock = Clock(now)
    app_state(scheduling(env).app).clock = clock
    return clock


def publish(
    env: ConsoleEnv, project_id: str, shifts: Sequence[tuple[int, dt.date, str]], **needed: int
) -> None:
    """A published roster version with exactly these (agent index, date, shift) assignments; ``needed``
    (``morning=3``) asks for more agents on every listed day's shift than are assigned (a gap)."""
    dates = sorted({d for _, d, _ in shifts})
    counts: dict[tuple[dt.date, str], int] = {}
    for _, d, s in shifts:
        counts[(d, s)] = counts.get((d, s), 0) + 1
    slots = [
        SlotPlan(d, t, max(counts.get((d, name), 0), needed.get(name, 0)))
        for d in dates
        for name, t in SHIFTS.items()
        if (d, name) in counts or name in needed
    ]
    with unit_of_work(scheduling(env).database, actor=Actor.system("test")) as uow:
        save_roster(
            uow,
            RosterDraft(
                project_id=project_id,
                start=dates[0],
                end=dates[-1],
                slots=slots,
                assignments=[Assignment.of(agent_id(project_id, i), d, SHIFTS[s]) for i, d, s in shifts],
                roles={},
                reason="generated",
                method="test",
                solver_status="n/a",
            ),
            publish=True,
        )


def as_agent(env: ConsoleEnv, project_id: str, i: int, method: str, path: str, json: Any = None) -> Any:
    h = scheduling(env)
    response = h.client.open(
        f"/api/v1{path}",
        method=method,
        json=json if json is not None else {},
        headers=h.auth("agent", sub=agent_id(project_id, i)),
    )
    assert response.status_code < 300, response.get_data(as_text=True)
    return response.get_json()


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:3000])
    return response.get_data(as_text=True)


def post(client: FlaskClient, form_page: str, url: str, data: dict[str, Any]) -> Any:
    """Post a form the way a browser does: with the CSRF token of the page it is on."""
    return client.post(url, data={**data, "csrf_token": csrf_token(page(client, form_page))})


def row(html: str, testid: str, attribute: str, value: str) -> str:
    """The HTML of one table row (``<tr data-testid=… data-…="value">`` up to its ``</tr>``)."""
    match = re.search(rf'<tr data-testid="{testid}"[^>]*{attribute}="{re.escape(value)}".*?</tr>', html, re.S)
    assert match, f"no {testid} with {attribute}={value}"
    return match.group(0)


# --- 实时监控 and 考勤确认 ----------------------------------------------------------------------------------


def test_status_board_clocking_on_behalf_and_attendance_confirmed_or_corrected(env: ConsoleEnv) -> None:
    h = scheduling(env)
    project_id, merchant_id = seed(h, agents=5, seats=2, start="08:00", end="24:00")
    d = day(1)
    publish(env, project_id, [(0, d, "morning"), (1, d, "morning"), (2, d, "afternoon")])
    clock = set_clock(env, at(d, "07:55"))
    as_agent(env, project_id, 0, "POST", f"/projects/{project_id}/attendance/clock-in")
    clock.now = at(d, "08:40")
    client, _user = env.signed_in("supervisor")

    listing = page(client, "/desk/")
    assert 'lang="zh-CN"' in listing and "实时监控" in listing and "请假审批" in listing
    project_row = row(listing, "desk-project", "data-project-id", project_id)
    assert "杭州某服饰旗舰店" in project_row
    assert (
        'data-testid="project-expected">2<' in project_row
        and 'data-testid="project-missing"><strong class="bad">1<' in project_row
    )

    assert 'data-refresh-url="/desk/?fragment=1"' in listing
    figures = page(client, "/desk/?fragment=1")
    assert "<html" not in figures and f'data-project-id="{project_id}"' in figures

    url = f"/desk/projects/{project_id}"
    board = page(client, url)
    assert "杭州某服饰旗舰店 实时监控" in board
    assert (
        f'data-refresh-url="/desk/projects/{project_id}/board"' in board
        and 'data-refresh-seconds="60"' in board
    )
    assert '<meta http-equiv="refresh" content="60">' in board and "desk.js" in board
    assert "更新于 08:40:00" in board and "每 60 秒自动刷新" in board
    assert 'data-testid="board-expected">2<' in board and 'data-testid="board-clocked-in">1<' in board
    assert 'data-testid="board-missing">1<' in board
    missing = row(board, "on-duty-row", "data-agent-id", agent_id(project_id, 1))
    assert 'data-state="missing"' in missing and "desk-row-bad" in missing and "未到岗" in missing
    assert 'data-testid="clock-in"' in missing
    present = row(board, "on-duty-row", "data-agent-id", agent_id(project_id, 0))
    assert "已打卡" in present and "07:55" in present and 'data-testid="clock-out"' in present
    assert 'data-kind="not-clocked-in"' in board and "未打卡" in board
    # the afternoon agent is on today's adherence list, not yet measurable
    afternoon = row(board, "adherence-row", "data-agent-id", agent_id(project_id, 2))
    assert "未开始" in afternoon and 'data-testid="adherence-value">—<' in afternoon
    assert "100%" in row(board, "adherence-row", "data-agent-id", agent_id(project_id, 0))

    fragment = page(client, f"/desk/projects/{project_id}/board")
    assert "<html" not in fragment and 'data-testid="board-figures"' in fragment

    # the supervisor clocks agent 1 in on their behalf: late, and the board follows
    clocked = post(
        client,
        url,
        f"{url}/clock",
        {"agent_id": agent_id(project_id, 1), "agent_name": "客服01", "action": "in", "next": url},
    )
    assert clocked.status_code == 302
    board = page(client, url)
    assert "已为 客服01 打卡上班，时间 08:40。" in board
    assert 'data-testid="board-clocked-in">2<' in board and 'data-testid="board-missing">0<' in board
    assert "40" in row(board, "on-duty-row", "data-agent-id", agent_id(project_id, 1))
    again = post(
        client, url, f"{url}/clock", {"agent_id": agent_id(project_id, 1), "action": "in", "next": url}
    )
    assert again.status_code == 302 and 'class="flash flash-error"' in page(client, url)
    attendance_url = f"/desk/projects/{project_id}/attendance?date={d.isoformat()}"
    running = page(client, attendance_url)  # late but still at work: nothing to confirm yet
    assert 'data-testid="not-over"' in row(
        running, "attendance-row", "data-agent-id", agent_id(project_id, 1)
    )
    assert 'data-testid="confirm-day"' not in running and 'data-testid="confirm-form"' not in running

    # attendance: agent 0 leaves early; after the shift one record is corrected (with a reason), the rest
    # confirmed at once
    clock.now = at(d, "15:30")
    as_agent(env, project_id, 0, "POST", f"/projects/{project_id}/attendance/clock-out")
    clock.now = at(d, "16:05")
    sheet = page(client, attendance_url)
    early = row(sheet, "attendance-row", "data-agent-id", agent_id(project_id, 0))
    assert "早退" in early and ">30<" in early and 'data-testid="worked-hours">7.50<' in early
    late = row(sheet, "attendance-row", "data-agent-id", agent_id(project_id, 1))
    assert "迟到" in late and ">40<" in late
    record_id = re.search(r'data-record-id="([^"]+)"', late).group(1)  # type: ignore[union-attr]
    confirm_url = f"/desk/projects/{project_id}/attendance/{record_id}/confirm"
    refused = post(client, attendance_url, confirm_url, {"date": d.isoformat(), "hours": "8.00"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "未确认任何记录" in html
    assert re.search(rf'id="r-{record_id}-e" data-testid="reason-error">[^<]*needs a reason', html), html
    assert f'aria-describedby="r-{record_id}-e"' in html and 'value="8.00"' in html
    corrected = post(
        client,
        attendance_url,
        confirm_url,
        {"date": d.isoformat(), "hours": "8", "reason": "系统故障，主管核实 08:00 已在岗"},
    )
    assert corrected.status_code == 302
    sheet = page(client, attendance_url)
    assert "客服01：已确认 8.00 小时（已更正）。" in sheet
    late = row(sheet, "attendance-row", "data-agent-id", agent_id(project_id, 1))
    assert 'data-testid="confirmed-hours">8.00 小时<' in late and "系统故障，主管核实" in late
    assert "Supervisor Test" in late  # who confirmed, by name
    assert 'data-testid="confirm-day"' in sheet and "1 条未确认" in sheet
    all_done = post(
        client, attendance_url, f"/desk/projects/{project_id}/attendance/confirm", {"date": d.isoformat()}
    )
    assert all_done.status_code == 302
    sheet = page(client, attendance_url)
    assert "已确认 1 条记录并记入工时表。" in sheet and 'data-testid="confirm-day"' not in sheet
    assert 'data-testid="confirmed-hours">7.50 小时<' in row(
        sheet, "attendance-row", "data-agent-id", agent_id(project_id, 0)
    )
    sheets = h.client.get(f"/api/v1/timesheets?project_id={project_id}", headers=h.auth("vendor")).get_json()
    assert sorted(t["hours"] for t in sheets["items"]) == ["7.50", "8.00"]

    # the merchant reads its own board, without the supervisor's buttons and pages
    merchant, _m = env.signed_in("merchant", merchant_id=merchant_id)
    mine = page(merchant, url)
    assert 'data-testid="board-figures"' in mine and 'data-testid="clock-in"' not in mine
    assert 'class="desk-tabs"' not in mine
    assert 'data-testid="desk-projects"' not in page(merchant, "/desk/")  # onboarding lists its projects
    page(merchant, attendance_url, 403)
    stranger, _s = env.signed_in("merchant")
    page(stranger, url, 404)
    agent, _a = env.signed_in("agent", candidate_id=agent_id(project_id, 0))
    page(agent, "/desk/", 403)


# --- 请假审批 and 换班审批 ----------------------------------------------------------------------------------


def test_leave_approved_with_its_effects_and_swaps_approved_or_refused_by_a_labour_rule(
    env: ConsoleEnv,
) -> None:
    h = scheduling(env)
    project_id, _merchant = seed(h, agents=5, seats=2, start="08:00", end="24:00")  # agents 3 and 4: reserve
    # agent 0 asks for days 2-3 off; agents 1 and 2 have shifts on days 5-6 to swap; agent 3 one on day 7
    shifts = [
        (0, day(2), "morning"),
        (0, day(3), "morning"),
        (2, day(5), "afternoon"),
        (1, day(6), "morning"),
    ]
    publish(env, project_id, [*shifts, (3, day(7), "afternoon")])
    set_clock(env, at(day(1), "10:00"))
    leave = as_agent(
        env,
        project_id,
        0,
        "POST",
        "/leave-requests",
        {
            "date_from": day(2).isoformat(),
            "date_to": day(3).isoformat(),
            "kind": "sick",
            "reason": "发烧 39 度",
        },
    )
    client, _user = env.signed_in("supervisor")

    listing = page(client, f"/desk/leave?project_id={project_id}")
    pending = row(listing, "leave-row", "data-leave-id", leave["id"])
    assert "客服00" in pending and "病假" in pending and "发烧 39 度" in pending and "2 天" in pending
    assert "待审批" in pending and 'data-testid="approve-leave"' in pending
    assert 'data-testid="leave-pending">1<' in page(client, "/desk/")
    approved = post(
        client,
        f"/desk/leave?project_id={project_id}",
        f"/desk/leave/{leave['id']}/decision",
        {
            "decision": "approve",
            "note": "好好休息",
            "next": f"/desk/leave?project_id={project_id}&status=approved",
        },
    )
    assert approved.status_code == 302 and approved.headers["Location"].endswith("status=approved")
    done = page(client, approved.headers["Location"])
    assert "已批准请假：2 个班次由后备客服接替，0 个发布为开放班次。" in done
    decided = row(done, "leave-row", "data-leave-id", leave["id"])
    assert "已批准" in decided and "好好休息" in decided and "杭州某服饰旗舰店" in decided
    taken = re.search(r'data-testid="leave-taken-over">([^<]*)<', decided).group(1)  # type: ignore[union-attr]
    assert taken.startswith("客服03 接替 ") and "、" in taken  # the reserve, by name, both days
    assert 'data-testid="leave-empty"' in page(client, f"/desk/leave?project_id={project_id}")

    # agent 4 accepts agent 1's morning of day 6, then agent 2's afternoon of day 5, which is approved:
    # approving the first would leave agent 4 eight hours of rest (24:00 → 08:00)
    swaps_url = f"/desk/projects/{project_id}/swaps"
    to_four = {"to_agent_id": agent_id(project_id, 4)}
    rest = as_agent(
        env, project_id, 1, "POST", f"/projects/{project_id}/swaps", {"date": day(6).isoformat(), **to_four}
    )
    as_agent(env, project_id, 4, "POST", f"/projects/{project_id}/swaps/{rest['id']}/accept")
    offer = as_agent(
        env,
        project_id,
        2,
        "POST",
        f"/projects/{project_id}/swaps",
        {"date": day(5).isoformat(), "note": "孩子开家长会"},
    )
    as_agent(env, project_id, 4, "POST", f"/projects/{project_id}/swaps/{offer['id']}/accept")
    waiting = page(client, swaps_url)
    assert waiting.count('data-testid="swap-row"') == 2
    accepted = row(waiting, "swap-row", "data-swap-id", offer["id"])
    assert (
        "客服02" in accepted
        and "客服04" in accepted
        and "孩子开家长会" in accepted
        and "已接受，待审批" in accepted
    )
    ok = post(
        client, swaps_url, f"{swaps_url}/{offer['id']}/decision", {"decision": "approve", "next": swaps_url}
    )
    assert ok.status_code == 302
    assert "已批准换班" in page(client, swaps_url)
    assert "排班第" in row(
        page(client, f"{swaps_url}?status=approved"), "swap-row", "data-swap-id", offer["id"]
    )

    refused = post(
        client, swaps_url, f"{swaps_url}/{rest['id']}/decision", {"decision": "approve", "next": swaps_url}
    )
    assert refused.status_code == 409, refused.get_data(as_text=True)[:2000]
    html = refused.get_data(as_text=True)
    assert 'data-testid="swap-refusal" data-rule="min-rest"' in html
    assert "换班未获批准，违反劳动规则：两班之间休息不足11小时" in html
    assert "客服01 → 客服04" in html
    assert re.search(r'data-testid="swap-refusal-detail">详情：[^<]*min-rest', html), html
    kept = page(client, f"{swaps_url}?status=refused")
    assert "两班之间休息不足11小时" in row(kept, "swap-row", "data-swap-id", rest["id"])

    refusable = as_agent(
        env, project_id, 3, "POST", f"/projects/{project_id}/swaps", {"date": day(7).isoformat()}
    )
    as_agent(env, project_id, 0, "POST", f"/projects/{project_id}/swaps/{refusable['id']}/accept")
    no = post(
        client,
        swaps_url,
        f"{swaps_url}/{refusable['id']}/decision",
        {"decision": "refuse", "note": "人手不够", "next": swaps_url},
    )
    assert no.status_code == 302 and "已拒绝换班。" in page(client, swaps_url)
    assert "主管拒绝" in row(
        page(client, f"{swaps_url}?status=refused"), "swap-row", "data-swap-id", refusable["id"]
    )


# --- 开放班次 and 运营设置 ----------------------------------------------------------------------------------


def test_open_shifts_published_and_closed_and_operation_settings(env: ConsoleEnv) -> None:
    h = scheduling(env)
    project_id, _merchant = seed(h, agents=8, seats=2, start="08:00", end="24:00")
    publish(env, project_id, [(0, day(2), "morning"), (1, day(3), "morning")], morning=3)
    client, _user = env.signed_in("vendor")
    url = f"/desk/projects/{project_id}/open-shifts"

    empty = page(client, url)
    assert 'data-testid="open-shifts-empty"' in empty and 'data-testid="publish-form"' in empty
    bad = post(client, url, url, {"from": day(5).isoformat(), "to": day(2).isoformat()})
    assert bad.status_code == 422
    assert 'id="e-to"' in bad.get_data(as_text=True) and f'value="{day(5).isoformat()}"' in bad.get_data(
        as_text=True
    )
    published = post(client, url, url, {"from": day(1).isoformat(), "to": day(7).isoformat()})
    assert published.status_code == 302
    listing = page(client, url)
    assert "已发布 2 个开放班次，共 4 个名额" in listing
    rows = re.findall(r'<tr data-testid="open-shift-row".*?</tr>', listing, re.S)
    assert len(rows) == 2
    assert all('data-testid="open-shift-places">2<' in r and "排班缺口" in r and "开放中" in r for r in rows)
    first = re.search(r'data-open-shift-id="([^"]+)"', rows[0]).group(1)  # type: ignore[union-attr]
    closed = post(client, url, f"{url}/{first}/close", {"next": url})
    assert closed.status_code == 302
    after = page(client, url)
    assert "开放班次已关闭" in after and after.count('data-testid="open-shift-row"') == 1
    assert "已关闭" in row(page(client, f"{url}?status=all"), "open-shift-row", "data-open-shift-id", first)

    settings_url = f"/desk/projects/{project_id}/settings"
    shown = page(client, settings_url)
    assert "默认值" in shown and "所有纠纷都交给值班主管" in shown
    wrong = post(
        client,
        settings_url,
        settings_url,
        {"clock_tolerance_minutes": "300", "settlement_limit_amount": "50", "settlement_limit_pct": "140"},
    )
    assert wrong.status_code == 422
    html = wrong.get_data(as_text=True)
    assert (
        'id="e-clock_tolerance_minutes"' in html
        and 'id="e-settlement_limit_pct"' in html
        and 'value="140"' in html
    )
    saved = post(
        client,
        settings_url,
        settings_url,
        {"clock_tolerance_minutes": "5", "settlement_limit_amount": "50", "settlement_limit_pct": "10"},
    )
    assert saved.status_code == 302
    shown = page(client, settings_url)
    assert "运营设置已保存。" in shown and 'data-testid="current-tolerance">5 分钟' in shown
    assert "¥50.00" in shown and "订单金额的 10%" in shown


# --- 值班台 -------------------------------------------------------------------------------------------------


def test_duty_desk_rota_gaps_help_answered_and_handed_over_and_all_hands_refused(env: ConsoleEnv) -> None:
    h = scheduling(env)
    project_id, _merchant = seed(h, agents=5, seats=2, start="08:00", end="20:00")
    client, supervisor = env.signed_in("supervisor")
    url = f"/desk/projects/{project_id}/duty"

    desk = page(client, url)
    assert 'data-testid="duty-nobody"' in desk and 'data-testid="rota-empty"' in desk
    assert desk.count('data-testid="rota-gap-day"') == 7 and "08:00–20:00" in desk
    bad = post(
        client,
        url,
        url,
        {"supervisor_id": supervisor.id, "date": day(0).isoformat(), "start": "25:00", "end": "20:00"},
    )
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'id="e-start"' in html and 'value="25:00"' in html
    today = day(0)
    added = post(
        client,
        url,
        url,
        {"supervisor_id": supervisor.id, "date": today.isoformat(), "start": "00:00", "end": "24:00"},
    )
    assert added.status_code == 302, added.get_data(as_text=True)[:2000]
    desk = page(client, url)
    assert "Supervisor Test 已安排在" in desk and 'data-testid="duty-now"' in desk
    assert desk.count('data-testid="rota-gap-day"') == 6 and f'data-date="{today.isoformat()}"' not in desk
    assert 'data-duty="desk"' in desk and "值班主管" in desk

    # two agents ask; the desk answers one and hands the other over
    question = as_agent(
        env,
        project_id,
        0,
        "POST",
        f"/projects/{project_id}/help",
        {"kind": "question", "text": "顾客问能否开发票"},
    )
    complaint = as_agent(
        env,
        project_id,
        1,
        "POST",
        f"/projects/{project_id}/help",
        {"kind": "handover", "text": "快递三天没动", "party": "logistics"},
    )
    desk = page(client, url)
    assert desk.count('data-testid="help-request"') == 2 and "顾客问能否开发票" in desk
    assert re.search(r'data-testid="help-waiting">已等待 [^<]+<', desk) and "已转给 Supervisor Test" in desk
    empty = post(client, url, f"/desk/projects/{project_id}/help/{question['id']}/answer", {"answer": ""})
    assert empty.status_code == 422 and "请填写答复。" in empty.get_data(as_text=True)
    answered = post(
        client,
        url,
        f"/desk/projects/{project_id}/help/{question['id']}/answer",
        {"answer": "可以，电子发票 24 小时内发出"},
    )
    assert answered.status_code == 302
    handed = post(
        client,
        url,
        f"/desk/projects/{project_id}/help/{complaint['id']}/handover",
        {"party": "logistics", "note": "单号 SF123，请物流跟进"},
    )
    assert handed.status_code == 302
    desk = page(client, url)
    assert "已转交物流，转交已记录。" in desk and 'data-testid="help-empty"' in desk
    history = page(client, f"{url}?help=all")
    assert (
        "可以，电子发票 24 小时内发出" in history
        and "单号 SF123，请物流跟进" in history
        and "已转交物流" in history
    )
    stored = h.client.get(
        f"/api/v1/projects/{project_id}/help/{question['id']}", headers=h.auth("vendor")
    ).get_json()
    assert stored["status"] == "answered" and stored["answered_by_duty"] is True

    # all-hands while the reserve still covers: refused, and the page says why and what to do instead
    declared = post(
        client,
        url,
        f"/desk/projects/{project_id}/all-hands",
        {"reason": "离职太多", "staff": supervisor.id, "from": today.isoformat(), "to": day(2).isoformat()},
    )
    assert declared.status_code == 409
    html = declared.get_data(as_text=True)
    assert "后备仍能顶上离职" in html and "请改为登记离职" in html and "离职太多" in html
    nobody = post(
        client,
        url,
        f"/desk/projects/{project_id}/all-hands",
        {"reason": "x", "from": today.isoformat(), "to": today.isoformat()},
    )
    assert nobody.status_code == 422 and 'data-testid="staff-error"' in nobody.get_data(as_text=True)

    # the queue is paged (20 a page)
    for n in range(21):
        as_agent(
            env,
            project_id,
            2,
            "POST",
            f"/projects/{project_id}/help",
            {"kind": "question", "text": f"问题{n}"},
        )
    first = page(client, url)
    assert first.count('data-testid="help-request"') == 20 and "help_page=2" in first
    assert page(client, f"{url}?help_page=2").count('data-testid="help-request"') == 1

    removed = post(client, url, f"/desk/projects/{project_id}/duty/{_first_duty_id(desk)}/remove", {})
    assert removed.status_code == 302 and "现已结束" in page(client, url)


def _first_duty_id(html: str) -> str:
    match = re.search(r'data-testid="rota-row" data-duty="desk" data-duty-id="([^"]+)"', html)
    assert match, "no desk duty on the rota"
    return match.group(1)


# --- 通知 ---------------------------------------------------------------------------------------------------


def test_alert_channels_refused_beside_the_field_tested_disabled_and_the_log(env: ConsoleEnv) -> None:
    h = scheduling(env)
    project_id, _merchant = seed(h, agents=5, seats=2, start="08:00", end="24:00")
    client, _user = env.signed_in("vendor")
    new_url = "/desk/alerts/channels/new"

    form = page(client, new_url)
    assert "企业微信群机器人" in form and "钉钉群机器人" in form and "全部项目（服务商级）" in form
    refused = post(
        client,
        new_url,
        new_url,
        {"name": "双11值班群", "type": "wecom", "project_id": project_id, "webhook_url": "not a url"},
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "通知渠道未保存" in html
    assert re.search(r'id="e-webhook_url">[^<]*http', html), html
    assert 'aria-describedby="e-webhook_url"' in html and 'value="双11值班群"' in html
    unsigned = post(
        client,
        new_url,
        new_url,
        {
            "name": "钉钉群",
            "type": "dingtalk",
            "webhook_url": "https://oapi.dingtalk.com/robot/send?access_token=abc",
        },
    )
    assert unsigned.status_code == 422 and 'id="e-secret"' in unsigned.get_data(as_text=True)

    created = post(
        client,
        new_url,
        new_url,
        {
            "name": "双11值班群",
            "type": "wecom",
            "project_id": project_id,
            "audience": "supervisor",
            "kinds": "no_show",
            "webhook_url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=secret-key",
            "message_format": "markdown",
        },
    )
    assert created.status_code == 302, created.get_data(as_text=True)[:2000]
    alerts = page(client, "/desk/alerts")
    channel = re.search(r'<tr data-testid="channel-row".*?</tr>', alerts, re.S).group(0)  # type: ignore[union-attr]
    assert (
        "双11值班群" in channel
        and "杭州某服饰旗舰店" in channel
        and "缺勤" in channel
        and "已启用" in channel
    )
    assert "secret-key" not in channel  # masked by the service
    channel_id = re.search(r'data-channel-id="([^"]+)"', channel).group(1)  # type: ignore[union-attr]

    tested = post(
        client, "/desk/alerts", f"/desk/alerts/channels/{channel_id}/test", {"next": "/desk/alerts"}
    )
    assert tested.status_code == 302
    alerts = page(client, "/desk/alerts")
    assert "测试通知已排队" in alerts
    test_row = re.search(r'<tr data-testid="alert-row".*?</tr>', alerts, re.S).group(0)  # type: ignore[union-attr]
    assert "测试" in test_row and "发送中" in test_row

    # the channel was down for every try: the log shows the failure and the channel's last error
    with h.database.session() as session, session.begin():
        session.execute(
            update(AlertDelivery).values(
                status="failed", attempts=8, last_error="HTTP 502 from qyapi.weixin.qq.com"
            )
        )
    failed = page(client, "/desk/alerts?status=failed")
    failed_row = re.search(r'<tr data-testid="alert-row".*?</tr>', failed, re.S).group(0)  # type: ignore[union-attr]
    assert "发送失败" in failed_row and 'data-testid="delivery-error"' in failed_row
    assert "已尝试 8 次" in failed_row and "HTTP 502 from qyapi.weixin.qq.com" in failed_row
    alert_id = re.search(r'data-alert-id="([^"]+)"', failed_row).group(1)  # type: ignore[union-attr]
    retried = post(client, "/desk/alerts", f"/desk/alerts/{alert_id}/retry", {"next": "/desk/alerts"})
    assert retried.status_code == 302 and "已重新排队" in page(client, "/desk/alerts")
    with h.database.session() as session:
        assert session.scalars(select(AlertDelivery.status)).all() == ["pending"]

    disabled = post(
        client,
        "/desk/alerts",
        f"/desk/alerts/channels/{channel_id}/enabled",
        {"enabled": "0", "next": "/desk/alerts"},
    )
    assert disabled.status_code == 302
    alerts = page(client, "/desk/alerts")
    assert "已停用：其待发送的通知不再发送" in alerts and 'data-enabled="false"' in alerts
    deleted = post(
        client, "/desk/alerts", f"/desk/alerts/channels/{channel_id}/delete", {"next": "/desk/alerts"}
    )
    assert deleted.status_code == 302 and 'data-testid="channels-empty"' in page(client, "/desk/alerts")
