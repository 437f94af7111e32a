"""The agent's day-of-operation pages (onshift.*) against the real scheduling service: clocking in and out
(late, early leave, and each refusal explained), asking the supervisor on duty for help, the weekly
availability and its exceptions, leave, swaps (a refusal naming the labour rule in Chinese), claiming open
shifts first come, and the calendar feed links.

The project, its pool and its rosters are written into scheduling as its handlers and the roster use case
would (``seed``, ``publish``); everything the agent does goes through the console's pages with CSRF on, and
the supervisor's side (approving, answering) through scheduling's API. A shared clock moves the console and
scheduling together through a shift.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from services.scheduling import attendance
from services.scheduling.config import SchedulingSettings
from shared.uow import Actor, unit_of_work
from shared.web import app_state
from shared.workdays import SHANGHAI, today_shanghai
from tests.console.support import ConsoleEnv, csrf_token
from tests.integration.test_scheduling_api import agent_id, seed
from tests.integration.test_scheduling_operations import publish
from tests.support import ServiceHarness


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def day(n: int) -> dt.date:
    return today_shanghai() + dt.timedelta(days=n)


def at(d: dt.date, hhmm: str) -> dt.datetime:
    return dt.datetime.combine(d, dt.time.fromisoformat(hhmm), SHANGHAI)


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:3000])
    return response.get_data(as_text=True)


def post(client: FlaskClient, url: str, data: dict[str, Any] | None = None, *, status: int = 200) -> str:
    """A form sent the way a browser does (the CSRF token of a page), following the redirect."""
    token = csrf_token(page(client, "/onshift/leave"))
    response = client.post(url, data={**(data or {}), "csrf_token": token}, follow_redirects=True)
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:3000])
    return response.get_data(as_text=True)


def flashes(html: str) -> str:
    return " ".join(re.findall(r'<div class="flash flash-\w+" role="\w+">([^<]*)</div>', html))


def section(html: str, testid: str, value: str) -> str:
    """The markup of the element marked ``data-<testid>="<value>"`` up to the next one of its kind."""
    start = html.index(f'{testid}="{value}"')
    return html[start : start + 4000]


@pytest.fixture()
def h(console_env: ConsoleEnv) -> ServiceHarness:
    return console_env.services["scheduling"]


def project(h: ServiceHarness) -> str:
    """A running project 08:00–24:00 with five agents: 0–2 active, 3–4 reserve (ceil(1.5 × 2 seats))."""
    project_id, _merchant = seed(h, agents=5, seats=2, start="08:00", end="24:00")
    return project_id


def agent_client(env: ConsoleEnv, project_id: str, i: int) -> FlaskClient:
    client, _user = env.signed_in("agent", candidate_id=agent_id(project_id, i))
    return client


def set_clock(env: ConsoleEnv, h: ServiceHarness, now: dt.datetime) -> Clock:
    clock = Clock(now)
    app_state(h.app).clock = clock
    env.app.extensions["console.clock"] = clock
    return clock


def test_clock_in_late_and_out_early_with_every_refusal_explained(
    console_env: ConsoleEnv, h: ServiceHarness
) -> None:
    project_id = project(h)
    d = day(1)
    publish(h, project_id, [(0, d, "morning"), (1, d, "morning"), (2, d, "afternoon")])
    me = agent_client(console_env, project_id, 0)
    clock = set_clock(console_env, h, at(d, "06:00"))

    # the agent lands on the on-shift page; the next shift with the big button
    landing = me.get("/")
    assert landing.status_code == 302 and landing.headers["Location"].endswith("/onshift/")
    text = page(me, "/onshift/")
    assert "当班" in text and "杭州某服饰旗舰店" in text
    card = section(text, "data-project-id", project_id)
    assert 'data-state="to_clock_in"' in card and 'data-testid="clock-in"' in card
    assert "08:00–16:00" in card and "早班" in card and "上班打卡" in card
    assert "距离上班还有 2 小时 0 分钟" in card

    # too early: the service's no-shift refusal, in words
    early = post(me, f"/onshift/projects/{project_id}/clock-in")
    assert "你现在没有进行中或一小时内开始的班次" in flashes(early)

    clock.now = at(d, "08:20")
    late = post(me, f"/onshift/projects/{project_id}/clock-in")
    assert "上班打卡：迟到 20 分钟" in flashes(late)
    card = section(late, "data-project-id", project_id)
    assert 'data-state="clocked_in"' in card and 'data-testid="clock-out"' in card
    assert 'data-testid="clock-result" data-status="late">迟到 20 分钟' in card
    assert 'data-testid="clocked-in-at">08:20' in card

    again = post(me, f"/onshift/projects/{project_id}/clock-in")
    assert "本班次你已经打过上班卡了" in flashes(again)

    clock.now = at(d, "15:30")
    out = post(me, f"/onshift/projects/{project_id}/clock-out")
    assert "下班打卡：迟到 20 分钟；早退 30 分钟" in flashes(out)
    card = section(out, "data-project-id", project_id)
    assert 'data-state="done"' in card and 'data-status="late_early_leave"' in card
    assert 'data-testid="clocked-out-at">15:30' in card
    assert 'data-testid="clock-in"' not in card and 'data-testid="clock-out"' not in card

    # clocking out twice: not clocked in any more
    twice = post(me, f"/onshift/projects/{project_id}/clock-out")
    assert "你还没有打上班卡，请先上班打卡" in flashes(twice)

    # English by the switch
    me.set_cookie("lang", "en")
    assert "Late by 20 min; Left early by 30 min" in page(me, "/onshift/")


def test_a_no_show_is_told_a_reserve_was_called(console_env: ConsoleEnv, h: ServiceHarness) -> None:
    project_id = project(h)
    d = day(1)
    publish(h, project_id, [(0, d, "morning"), (0, day(3), "morning")])
    absent = agent_client(console_env, project_id, 0)
    reserve = agent_client(console_env, project_id, 3)
    set_clock(console_env, h, at(d, "08:16"))
    with unit_of_work(h.database, clock=lambda: at(d, "08:16"), actor=Actor.system("job:test")) as uow:
        assert (
            attendance.check_attendance(uow, SchedulingSettings(clock_tolerance_minutes=15))["replaced"] == 1
        )

    card = section(page(absent, "/onshift/"), "data-project-id", project_id)
    assert 'data-state="absent"' in card and "你本班次已被记为缺勤，并已通知替补顶班" in card
    assert 'data-testid="clock-in"' not in card and 'data-testid="next-shift"' in card
    refused = post(absent, f"/onshift/projects/{project_id}/clock-in")
    assert "你本班次已被记为缺勤，并已通知替补顶班，请联系值班主管" in flashes(refused)

    # the reserve called in sees the shift and clocks in (late is counted from the call, not 08:00)
    card = section(page(reserve, "/onshift/"), "data-project-id", project_id)
    assert 'data-state="to_clock_in"' in card and "08:00–16:00" in card
    came = post(reserve, f"/onshift/projects/{project_id}/clock-in")
    assert "上班打卡：准时" in flashes(came)


def test_help_within_authority_is_explained_and_the_answer_shows_with_the_wait(
    console_env: ConsoleEnv, h: ServiceHarness
) -> None:
    project_id = project(h)
    publish(h, project_id, [(0, day(1), "morning")])
    limits = h.client.patch(
        f"/api/v1/projects/{project_id}/operation-settings",
        json={"settlement_limit_amount": "100.00", "settlement_limit_pct": "20"},
        headers=h.auth("vendor"),
    )
    assert limits.status_code == 200, limits.get_data(as_text=True)
    me = agent_client(console_env, project_id, 0)
    text = page(me, "/onshift/")
    assert 'data-testid="help-form"' in text and 'data-testid="no-help"' in text
    form = {"project": project_id, "kind": "dispute", "text": "客户要求退差价", "order_ref": "TB123"}

    missing = post(me, "/onshift/help", {**form, "amount": ""}, status=422)
    assert 'id="e-amount"' in missing and 'id="e-order_amount"' in missing
    assert 'value="TB123"' in missing  # the values are kept
    within = post(me, "/onshift/help", {**form, "amount": "15", "order_amount": "200"}, status=409)
    assert "在你的处理权限内，可自行处理" in within
    assert "金额不超过 ¥100.00" in within and "不超过订单金额的 20%" in within

    sent = post(me, "/onshift/help", {**form, "amount": "150", "order_amount": "300"})
    assert "目前没有值班主管" in flashes(sent)  # nobody on the desk rota: the vendor is told
    [asked] = h.client.get(f"/api/v1/projects/{project_id}/help", headers=h.auth("supervisor")).get_json()[
        "items"
    ]
    assert (asked["kind"], asked["amount"], asked["agent_id"]) == (
        "dispute",
        "150.00",
        agent_id(project_id, 0),
    )
    item = section(sent, "data-status", "open")
    assert "争议订单" in item and "等待回复" in item and "已等待" in item

    question = post(
        me, "/onshift/help", {"project": project_id, "kind": "question", "text": "赠品怎么登记？"}
    )
    assert "客户要求退差价" in question and "赠品怎么登记？" in question
    answered = h.client.post(
        f"/api/v1/projects/{project_id}/help/{asked['id']}/answer",
        json={"answer": "同意退 150 元，备注订单号"},
        headers=h.auth("supervisor"),
    )
    assert answered.status_code == 200, answered.get_data(as_text=True)
    text = page(me, "/onshift/")
    item = section(text, "data-status", "answered")
    assert "同意退 150 元，备注订单号" in item and "后得到回复" in item
    history = page(me, f"/onshift/help?project={project_id}")
    assert history.count('data-testid="help-item"') == 2


def test_availability_saved_errors_beside_the_day_and_exceptions(
    console_env: ConsoleEnv, h: ServiceHarness
) -> None:
    project_id = project(h)
    publish(h, project_id, [(0, day(1), "morning")])
    me = agent_client(console_env, project_id, 0)
    text = page(me, "/onshift/availability")
    assert "可上班时间" in text and "尚未申报每周可上班时间" in text
    assert text.count('data-testid="weekday-row"') == 7 and "星期一" in text and "星期日" in text

    week = {"mon_start_0": "8:00", "mon_end_0": "12:00", "mon_start_1": "13:00", "mon_end_1": "18:00"}
    week.update({"tue_start_0": "08:00", "tue_end_0": "24:00"})
    bad = post(
        me, "/onshift/availability", {**week, "wed_start_0": "18:00", "wed_end_0": "08:00"}, status=422
    )
    assert 'data-day="wed" class="has-error"' in bad and 'id="e-wed"' in bad
    assert "结束时间必须晚于开始时间" in bad and 'value="13:00"' in bad
    saved = post(me, "/onshift/availability", week)
    assert "每周可上班时间已保存" in flashes(saved) and "你已申报每周可上班时间" in saved
    declared = h.client.get(
        f"/api/v1/agents/{agent_id(project_id, 0)}/availability", headers=h.auth("supervisor")
    ).get_json()
    assert declared["weekly"]["mon"] == [
        {"start": "08:00", "end": "12:00"},
        {"start": "13:00", "end": "18:00"},
    ]
    assert declared["weekly"]["tue"] == [{"start": "08:00", "end": "24:00"}]
    assert declared["weekly"]["wed"] == []
    assert re.search(r'name="tue_end_0" [^>]*value="24:00"', saved)  # midnight, kept as the service says

    # exceptions: a day off, a day with hours, one refused, one removed
    empty = post(me, "/onshift/availability/exceptions", {"date": day(3).isoformat()}, status=422)
    assert 'id="e-windows"' in empty and "全天不可" in empty
    past = post(me, "/onshift/availability/exceptions", {"date": day(-2).isoformat(), "off": "1"}, status=422)
    assert 'id="e-date"' in past
    off = post(
        me, "/onshift/availability/exceptions", {"date": day(3).isoformat(), "off": "1", "note": "体检"}
    )
    assert "已保存" in flashes(off)
    some = post(
        me,
        "/onshift/availability/exceptions",
        {"date": day(4).isoformat(), "start_0": "09:00", "end_0": "12:00"},
    )
    rows = section(some, "data-date", day(3).isoformat())
    assert "全天不可" in rows and "体检" in rows
    assert "09:00–12:00" in section(some, "data-date", day(4).isoformat())
    assert some.count('data-testid="exception-row"') == 2
    removed = post(me, f"/onshift/availability/exceptions/{day(3).isoformat()}/delete")
    assert "已删除" in flashes(removed) and removed.count('data-testid="exception-row"') == 1


def test_leave_requested_withdrawn_and_an_approved_one_shows_its_effects(
    console_env: ConsoleEnv, h: ServiceHarness
) -> None:
    project_id = project(h)
    publish(h, project_id, [(0, day(2), "morning"), (0, day(3), "morning")])
    me = agent_client(console_env, project_id, 0)
    text = page(me, "/onshift/leave")
    assert "申请请假" in text and 'data-testid="no-leave"' in text

    backwards = post(
        me,
        "/onshift/leave",
        {"date_from": day(3).isoformat(), "date_to": day(2).isoformat(), "kind": "sick", "reason": "x"},
        status=422,
    )
    assert 'id="e-date_to"' in backwards
    form = {"date_from": day(2).isoformat(), "date_to": day(3).isoformat(), "kind": "sick", "reason": "发烧"}
    asked = post(me, "/onshift/leave", form)
    assert "已提交请假申请" in flashes(asked) and "共 2 天" in flashes(asked)
    row = section(asked, "data-status", "pending")
    assert "待审批" in row and "病假" in row and "发烧" in row and 'data-testid="leave-cancel"' in row
    overlap = post(me, "/onshift/leave", {**form, "kind": "personal"}, status=409)
    assert "这些日期中已有其他请假申请" in overlap

    [leave] = h.client.get("/api/v1/leave-requests", headers=h.auth("supervisor")).get_json()["items"]
    withdrawn = post(me, f"/onshift/leave/{leave['id']}/cancel")
    assert "请假申请已撤销" in flashes(withdrawn) and 'data-status="cancelled"' in withdrawn

    again = post(me, "/onshift/leave", {**form, "kind": "personal", "reason": "家中有事"})
    newest = h.client.get("/api/v1/leave-requests?status=pending", headers=h.auth("supervisor")).get_json()
    decided = h.client.post(
        f"/api/v1/leave-requests/{newest['items'][0]['id']}/decision",
        json={"approve": True, "note": "好好休息"},
        headers=h.auth("supervisor"),
    )
    assert decided.status_code == 200, decided.get_data(as_text=True)
    assert "事假" in again
    text = page(me, "/onshift/leave")
    row = section(text, "data-status", "approved")
    assert "已批准" in row and "好好休息" in row
    assert "已从你的排班中移除 2 个班次" in row and "其中 2 个由替补接班" in row
    assert 'data-testid="leave-cancel"' not in row


def test_a_swap_refused_by_the_rest_rule_says_so_in_chinese_then_taken_and_withdrawn(
    console_env: ConsoleEnv, h: ServiceHarness
) -> None:
    project_id = project(h)
    # agent 0 works the afternoon before (16:00–24:00); agent 1 offers the next morning (08:00)
    publish(
        h,
        project_id,
        [(0, day(2), "afternoon"), (1, day(3), "morning"), (1, day(5), "morning"), (3, day(6), "morning")],
    )
    offerer = agent_client(console_env, project_id, 1)
    tired = agent_client(console_env, project_id, 0)
    free = agent_client(console_env, project_id, 3)

    text = page(offerer, "/onshift/swaps")
    assert text.count('data-testid="upcoming-shift"') == 2 and 'data-testid="no-offers"' in text
    offered = post(
        offerer, f"/onshift/projects/{project_id}/swaps", {"date": day(3).isoformat(), "note": "家长会"}
    )
    assert "本项目同事都可以接" in flashes(offered)
    assert 'data-testid="already-offered"' in section(offered, "data-date", day(3).isoformat())
    mine = section(offered, "data-testid", "my-swaps")
    assert "等待同事接班" in mine and 'data-testid="swap-cancel"' in mine
    nobody = post(
        offerer,
        f"/onshift/projects/{project_id}/swaps",
        {"date": day(5).isoformat(), "to_agent_id": "no-such-agent"},
    )
    assert "本项目中没有工号为 no-such-agent 的同事" in flashes(nobody)

    # agent 0 sees the offer; taking it would leave 8 h of rest: refused, the rule in Chinese
    seen = page(tired, "/onshift/swaps")
    [swap] = h.client.get(f"/api/v1/projects/{project_id}/swaps", headers=h.auth("supervisor")).get_json()[
        "items"
    ]
    offer = section(seen, "data-swap-id", swap["id"])
    assert "来自 客服01" in offer and "所有同事都可以接" in offer and 'data-testid="swap-accept"' in offer
    refused = post(tired, f"/onshift/projects/{project_id}/swaps/{swap['id']}/accept")
    assert "无法接这个班：两班之间休息不足11小时。" in flashes(refused)

    # agent 3 (a reserve with one shift later) takes it; the offerer sees who took it
    taken = post(free, f"/onshift/projects/{project_id}/swaps/{swap['id']}/accept")
    assert "你已接班" in flashes(taken)
    assert "我接了 客服01 的班" in section(taken, "data-swap-id", swap["id"])
    row = section(page(offerer, "/onshift/swaps"), "data-swap-id", swap["id"])
    assert "已有人接班，待主管审批" in row and "我发起，换给 客服03" in row

    # the offerer withdraws it; the shift stays theirs
    withdrawn = post(offerer, f"/onshift/projects/{project_id}/swaps/{swap['id']}/cancel")
    assert "换班已撤销" in flashes(withdrawn)
    assert "已撤销" in section(withdrawn, "data-swap-id", swap["id"])
    assert 'data-testid="offer-form"' in section(withdrawn, "data-date", day(3).isoformat())

    # an offer to one colleague by their agent ID: theirs to take, not yet in their swaps
    named = post(
        offerer,
        f"/onshift/projects/{project_id}/swaps",
        {"date": day(5).isoformat(), "to_agent_id": agent_id(project_id, 3)},
    )
    assert "已发起换班，给 客服03" in flashes(named)
    second = next(
        s
        for s in h.client.get(
            f"/api/v1/projects/{project_id}/swaps", headers=h.auth("supervisor")
        ).get_json()["items"]
        if s["date"] == day(5).isoformat()
    )
    theirs = page(free, "/onshift/swaps")
    assert "指定给你" in section(theirs, "data-swap-id", second["id"])
    assert second["id"] not in section(theirs, "data-testid", "my-swaps")
    assert second["id"] not in page(tired, "/onshift/swaps")  # offered to agent 3 only
    post(free, f"/onshift/projects/{project_id}/swaps/{second['id']}/accept")
    # the supervisor refuses it: the agents read why
    refused_by_supervisor = h.client.post(
        f"/api/v1/projects/{project_id}/swaps/{second['id']}/decision",
        json={"approve": False, "note": "那天客服03要带新人"},
        headers=h.auth("supervisor"),
    )
    assert refused_by_supervisor.status_code == 200, refused_by_supervisor.get_data(as_text=True)
    row = section(page(offerer, "/onshift/swaps"), "data-swap-id", second["id"])
    assert "已拒绝" in row and "原因：主管拒绝" in row and 'data-testid="swap-cancel"' not in row


def test_open_shifts_say_who_may_claim_and_a_claim_is_first_come(
    console_env: ConsoleEnv, h: ServiceHarness
) -> None:
    project_id = project(h)
    d = day(2)
    # the morning of d needs 2 and has agent 0; agent 3 (reserve) works d + 4, agent 4 d + 5
    publish(
        h,
        project_id,
        [(0, d, "morning"), (3, day(6), "morning"), (4, day(7), "morning")],
        needed={(d, "morning"): 3},
    )
    opened = h.client.post(
        f"/api/v1/projects/{project_id}/open-shifts",
        json={"from": d.isoformat(), "to": d.isoformat()},
        headers=h.auth("supervisor"),
    )
    assert opened.status_code == 200, opened.get_data(as_text=True)
    [open_shift] = opened.get_json()["items"]
    assert open_shift["places"] == 2

    busy = agent_client(console_env, project_id, 0)
    text = page(busy, "/onshift/open-shifts")
    item = section(text, "data-open-shift-id", open_shift["id"])
    assert 'data-eligible="false"' in item and "不能领取：一天只能上一个班" in item
    assert 'data-testid="claim"' not in item

    claimer = agent_client(console_env, project_id, 3)
    text = page(claimer, "/onshift/open-shifts")
    item = section(text, "data-open-shift-id", open_shift["id"])
    assert 'data-eligible="true"' in item and "剩余 2 个名额" in item and "排班缺口" in item
    claimed = post(claimer, f"/onshift/projects/{project_id}/open-shifts/{open_shift['id']}/claim")
    assert "领取成功" in flashes(claimed) and "08:00–16:00" in flashes(claimed)
    assert "剩余 1 个名额" in section(claimed, "data-open-shift-id", open_shift["id"])
    roster = h.client.get(
        f"/api/v1/projects/{project_id}/roster?from={d}&to={d}", headers=h.auth("vendor")
    ).get_json()["items"]
    assert agent_id(project_id, 3) in {s["agent_id"] for s in roster}

    # agent 4 opens the page while a place is left; agent 2 takes it first: "已被抢完"
    late = agent_client(console_env, project_id, 4)
    assert 'data-testid="claim"' in section(
        page(late, "/onshift/open-shifts"), "data-open-shift-id", open_shift["id"]
    )
    first = h.client.post(
        f"/api/v1/projects/{project_id}/open-shifts/{open_shift['id']}/claim",
        headers=h.auth("agent", sub=agent_id(project_id, 2)),
    )
    assert first.status_code == 201, first.get_data(as_text=True)
    too_late = post(late, f"/onshift/projects/{project_id}/open-shifts/{open_shift['id']}/claim")
    assert "晚了一步：已被抢完。" in flashes(too_late)
    assert 'data-testid="no-open-shifts"' in too_late


def test_a_calendar_feed_link_is_issued_read_and_revoked(console_env: ConsoleEnv, h: ServiceHarness) -> None:
    project_id = project(h)
    publish(h, project_id, [(0, day(1), "morning"), (0, day(2), "morning")])
    me = agent_client(console_env, project_id, 0)
    text = page(me, "/onshift/calendar")
    assert "日历订阅" in text and 'data-testid="no-feed-links"' in text

    issued = post(me, "/onshift/calendar")
    assert "新的日历链接已生成" in flashes(issued)
    url = re.search(r'data-testid="feed-url">([^<]+)</textarea>', issued).group(1)
    assert re.fullmatch(
        r"http://[^/]+/api/scheduling/v1/calendar/[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}\.ics", url
    ), url
    assert 'href="webcal://' in issued and "如何在手机上订阅" in issued
    assert issued.count('data-testid="feed-link"') == 1

    # the feed itself: no sign-in, through the service (the gateway maps /api/scheduling/v1 to /api/v1)
    path = "/api/v1/" + url.split("/api/scheduling/v1/", 1)[1]
    feed = h.client.get(path)
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    assert feed.get_data(as_text=True).count("BEGIN:VEVENT") == 2

    listed = page(me, "/onshift/calendar")
    [token_id] = re.findall(r'data-testid="feed-link" data-token-id="([^"]+)" data-active="true"', listed)
    assert url in listed and "日历最近读取于" in listed
    revoked = post(me, f"/onshift/calendar/{token_id}/revoke")
    assert "链接已撤销" in flashes(revoked)
    assert f'data-token-id="{token_id}" data-active="false"' in revoked and url not in revoked
    assert h.client.get(path).status_code == 404


def test_the_pages_are_the_agents_own(console_env: ConsoleEnv, h: ServiceHarness) -> None:
    project_id = project(h)
    me = agent_client(console_env, project_id, 0)
    # in the pool without a shift yet: the project is there all the same (swaps, open shifts, help)
    for url in ("/onshift/", "/onshift/swaps", "/onshift/open-shifts", "/onshift/help"):
        assert 'data-testid="no-projects"' not in page(me, url), url
    # in no pool at all: every page says where the projects come from
    stranger = agent_client(console_env, project_id, 99)
    for url in ("/onshift/", "/onshift/swaps", "/onshift/open-shifts", "/onshift/help"):
        assert 'data-testid="no-projects"' in page(stranger, url), url
    text = page(me, "/onshift/")
    for label in ("当班", "换班", "开放班次", "请假", "可上班时间", "我的排班", "日历订阅"):
        assert f">{label}</a>" in text, label
    supervisor, _user = console_env.signed_in("supervisor")
    for url in ("/onshift/", "/onshift/leave", "/onshift/availability", "/onshift/calendar"):
        assert supervisor.get(url).status_code == 403, url
    assert console_env.client().get("/onshift/").status_code == 302
