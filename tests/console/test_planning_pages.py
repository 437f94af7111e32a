"""The workforce planning pages (planning.*) against the real scheduling and onboarding services: the running
projects, last year's history from a file, a campaign made through the form (and refused with the reasons
beside the inputs), a plan computed and read — figures, warnings, the two solvers, the days, one day's
half-hours with the reasons for shortfalls, the site plan and its xlsx — published, and who may see it.

Onboarding lists the project (a real order, submitted and confirmed); scheduling learns of it and of the
admitted agents through its own handlers, as its consumer would. Everything else goes through the console's
pages as a person would use them, with CSRF on.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook

from services.scheduling.config import SchedulingSettings
from shared.workdays import today_shanghai
from tests.console.support import ConsoleEnv, csrf_token
from tests.integration.test_onboarding_api import action, ready_to_submit
from tests.integration.test_scheduling_api import apply_event, project_data

FESTIVAL = today_shanghai() + dt.timedelta(days=20)
LAST_YEAR = FESTIVAL.replace(year=FESTIVAL.year - 1)
DAY = dt.timedelta(days=1)
#: the reasons for a short half-hour as the page words them
REASONS_ZH = (
    "坐席池中的客服已全部排班",
    "具备该技能的客服不足",
    "可在该时间段上班的客服不足",
    "没有可用的班次开始时间和时长能覆盖该时段",
    "坐席每天只能上一个班次",
    "坐席每周工时将超过 44 小时",
    "坐席将连续工作超过 6 天",
    "两个班次之间需休息 11 小时",
)


@pytest.fixture()
def env(console_env: ConsoleEnv) -> ConsoleEnv:
    # a plan's solver time kept small so the suite stays fast (the page shows whatever the solver found)
    console_env.services["scheduling"].app.extensions["scheduling.settings"] = SchedulingSettings.from_env(
        {
            "SCHEDULING_SOLVER_TIME_LIMIT": "3",
            "SCHEDULING_SOLVER_WORKERS": "2",
            "SCHEDULING_PLAN_TIME_LIMIT": "4",
        }
    )
    return console_env


def running_project(env: ConsoleEnv, agents: int) -> tuple[str, str]:
    """An order the vendor confirmed (onboarding lists it), known to scheduling with ``agents`` admitted:
    open 08:00–24:00, every third agent on both skills. Returns (project id, merchant id)."""
    onboarding = env.services["onboarding"]
    merchant_id = f"m-{uuid.uuid4().hex[:8]}"
    merchant = onboarding.auth("merchant", sub="u-merchant", merchant_id=merchant_id)
    project_id = ready_to_submit(onboarding, merchant)
    assert action(onboarding, project_id, "submit", merchant).status_code == 200
    confirmed = action(onboarding, project_id, "confirm", onboarding.auth("vendor"))
    assert confirmed.status_code == 200, confirmed.get_data(as_text=True)
    occurred = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).isoformat()
    data = project_data(project_id, merchant_id, seats=max(1, agents // 2), start="08:00", end="24:00")
    data["metrics"] = {"first_response_seconds": 20}
    with env.services["scheduling"].database.session() as session:
        apply_event(session, "project.confirmed", data, occurred)
        for i in range(agents):
            skills = ["presale", "aftersale"] if i % 3 == 0 else ["presale"] if i % 3 == 1 else ["aftersale"]
            apply_event(
                session,
                "agent.admitted",
                {
                    "project_id": project_id,
                    "candidate_id": f"{project_id}-a{i:02d}",
                    "cohort_id": f"{project_id}-c",
                    "name": f"客服{i:02d}",
                    "skills": skills,
                    "shifts_available": ["morning", "afternoon", "night"],
                    "quiz_score": 95.0 - i / 2,
                    "simulation_score": 95.0 - i / 2,
                    "rank": i + 1,
                },
                occurred,
            )
    return project_id, merchant_id


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:3000])
    return response.get_data(as_text=True)


def post(client: FlaskClient, form_page: str, url: str, data: dict[str, Any], **kwargs: Any) -> Any:
    """Post a form the way a browser does: with the CSRF token of the page it is on."""
    return client.post(url, data={**data, "csrf_token": csrf_token(page(client, form_page))}, **kwargs)


def history_csv() -> bytes:
    """Last year: 1,200 consultations a day, 3,000 on the festival day, daily totals without a channel."""
    lines = ["日期,时段,渠道,咨询量"]
    for offset in range(-5, 6):
        day = LAST_YEAR + offset * DAY
        lines.append(f"{day.isoformat()},,合计,{3000 if offset == 0 else 1200}")
    return ("\n".join(lines) + "\n").encode()


def campaign_form(**changes: str) -> dict[str, str]:
    form = {
        "name": "双11",
        "festival_day": FESTIVAL.isoformat(),
        "warmup_from": (FESTIVAL - 2 * DAY).isoformat(),
        "warmup_to": (FESTIVAL - DAY).isoformat(),
        "aftersales_from": (FESTIVAL + DAY).isoformat(),
        "aftersales_to": (FESTIVAL + 3 * DAY).isoformat(),
        "growth": "1.2",
        "bot_share": "20",
        "method": "erlang",
        "round_the_clock": "1",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def shown_text(html: str, name: str) -> str:
    match = re.search(rf'data-testid="{name}"[^>]*>([^<]*)<', html)
    assert match, f"no {name} on the page"
    return match.group(1).strip()


def test_list_history_and_campaign_form_with_the_services_refusals(env: ConsoleEnv) -> None:
    project_id, _merchant = running_project(env, agents=6)
    client, _user = env.signed_in("vendor")

    listing = page(client, "/planning/")
    assert 'lang="zh-CN"' in listing and "人力规划" in listing  # the nav entry and the heading
    assert f'data-project-id="{project_id}"' in listing and "杭州某某服饰旗舰店 人力规划" in listing
    home = page(client, f"/planning/projects/{project_id}")
    assert 'data-testid="no-campaigns"' in home and 'data-testid="history-form"' in home

    # a bad file: every problem listed by line and column, nothing imported
    project_url = f"/planning/projects/{project_id}"
    bad = post(
        client,
        project_url,
        f"{project_url}/history",
        {"file": (io.BytesIO("日期,时段,渠道,咨询量\n2025-11-12,25:00,售前,3\n".encode()), "history.csv")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "文件有误，未导入任何数据" in html
    assert re.search(r'data-testid="history-error">\s*<td[^>]*>2</td>\s*<td[^>]*>时段</td>', html), html
    empty = post(client, project_url, f"{project_url}/history", {}, content_type="multipart/form-data")
    assert empty.status_code == 422 and "请选择要导入的 CSV 或 Excel 文件" in empty.get_data(as_text=True)
    good = post(
        client,
        project_url,
        f"{project_url}/history",
        {"file": (io.BytesIO(history_csv()), "history.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert good.status_code == 200
    assert "已导入咨询量" in good.get_data(as_text=True) and "共 11 天" in good.get_data(as_text=True)

    # the form: the service's refusal beside the input it names, the values kept
    new_url = f"{project_url}/campaigns/new"
    form = page(client, new_url)
    assert "新建活动" in form and 'name="round_the_clock" value="1" checked' in form
    refused = post(client, new_url, new_url, campaign_form(growth="0"))
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="e-growth"' in html and 'data-testid="form-error"' in html
    assert 'value="双11"' in html and f'value="{FESTIVAL.isoformat()}"' in html
    overlapping = post(client, new_url, new_url, campaign_form(warmup_to=FESTIVAL.isoformat()))
    assert overlapping.status_code == 422
    assert 'data-testid="phases-error"' in overlapping.get_data(as_text=True)
    local = post(client, new_url, new_url, campaign_form(bot_share="120", warmup_to=""))
    html = local.get_data(as_text=True)
    assert local.status_code == 422 and 'id="e-bot_share"' in html and 'id="e-warmup_to"' in html
    listed = env.services["scheduling"].client.get(
        f"/api/v1/projects/{project_id}/campaigns", headers=env.services["scheduling"].auth("vendor")
    )
    assert listed.get_json()["total"] == 0  # nothing refused was created

    created = post(client, new_url, new_url, campaign_form())
    assert created.status_code == 302, created.get_data(as_text=True)[:2000]
    campaign = page(client, created.headers["Location"])
    assert "活动：双11" in campaign and 'data-testid="no-plans"' in campaign
    assert 'data-phase="warmup"' in campaign and 'data-phase="aftersales"' in campaign
    assert "× 1.2" in campaign and "20%" in campaign and "24 小时" in campaign
    assert 'data-testid="compute-plan"' in campaign and "最多约需 20 秒" in campaign
    home = page(client, project_url)
    assert home.count('data-testid="campaign-row"') == 1 and "尚未计算方案" in home


def test_a_plan_computed_read_downloaded_and_published(env: ConsoleEnv) -> None:
    project_id, merchant_id = running_project(env, agents=10)
    scheduling = env.services["scheduling"]
    vendor = scheduling.auth("vendor")
    rows = [
        {
            "date": (LAST_YEAR + offset * DAY).isoformat(),
            "channel": "合计",
            "consultations": 3000 if not offset else 1200,
        }
        for offset in range(-5, 6)
    ]
    assert (
        scheduling.client.post(
            f"/api/v1/projects/{project_id}/demand-history", json={"rows": rows}, headers=vendor
        ).status_code
        == 200
    )
    client, _user = env.signed_in("supervisor")
    new_url = f"/planning/projects/{project_id}/campaigns/new"
    created = post(client, new_url, new_url, campaign_form())
    assert created.status_code == 302, created.get_data(as_text=True)[:2000]
    campaign_url = created.headers["Location"]
    campaign_id = campaign_url.rstrip("/").rsplit("/", 1)[-1]

    computed = post(client, campaign_url, f"{campaign_url}/plans", {"idempotency_key": str(uuid.uuid4())})
    assert computed.status_code == 302, computed.get_data(as_text=True)[:2000]
    plan_url = computed.headers["Location"]
    plan_id = plan_url.rsplit("/", 1)[-1]
    plan = scheduling.client.get(f"/api/v1/projects/{project_id}/plans/{plan_id}", headers=vendor).get_json()
    assert plan["campaign_id"] == campaign_id and plan["status"] == "draft"

    html = page(client, plan_url)
    assert "第 1 版方案已计算完成" in html  # the flash
    assert shown_text(html, "plan-required") == str(plan["required_agents"])
    assert shown_text(html, "plan-available") == "10"
    assert shown_text(html, "plan-gap") == str(plan["gap"])
    assert shown_text(html, "plan-coverage") == f"{plan['summary']['coverage']['coverage_pct']}%"
    assert shown_text(html, "plan-peak") == str(plan["peak_agents"])
    assert shown_text(html, "plan-short-intervals") == str(plan["summary"]["coverage"]["short_intervals"])
    assert 'data-status="draft"' in html
    # the lead time is short (18 days to the warm-up): a high warning, first and highlighted, in Chinese
    assert re.search(r'class="plan-warning plan-warning-high"[^>]*data-rule="lead-time"', html)
    assert "活动将在 18 天后开始" in html and "未试点" in html
    # both solvers side by side
    assert html.count('data-testid="compared-row"') == 6
    assert "优化排班（CP-SAT）" in html and "贪心排班" in html
    # the days, with agents per skill and the pre-sales : after-sales split
    assert html.count('data-testid="plan-day"') == 6
    days = {d["date"]: d["agents"] for d in plan["summary"]["days"]}
    warmup = (FESTIVAL - DAY).isoformat()
    row = re.search(rf'data-testid="plan-day" data-date="{warmup}".*?</tr>', html, re.S)
    assert row and f'data-skill="presale">{days[warmup]["presale"]}<' in row.group(0)
    assert 'data-testid="day-split"' in row.group(0) and "预热期" in row.group(0)
    # the festival day's half-hours by default (round the clock: from 00:00), bars and counts
    assert f'data-date="{FESTIVAL.isoformat()}" class="plan-chosen"' in html
    assert 'data-time="00:00"' in html and 'data-testid="coverage-count"' in html
    assert re.search(r'class="plan-bar-req w-\d+"', html)
    # the site plan in Chinese, and its download
    assert 'data-item="peak agents on the floor"' in html and "单班高峰客服" in html and "柴油发电机" in html
    assert f"/planning/projects/{project_id}/plans/{plan_id}/site-plan.xlsx" in html
    assert 'data-testid="publish-plan"' in html and "招聘" in html

    # one day's short half-hours, each with its reasons in words
    short = scheduling.client.get(
        f"/api/v1/projects/{project_id}/plans/{plan_id}/coverage?short=true&per_page=200", headers=vendor
    ).get_json()["items"]
    if short:
        day = short[0]["date"]
        shown = page(client, f"{plan_url}?date={day}&short=1")
        assert shown.count('data-testid="coverage-row"') == len(
            {r["time"] for r in short if r["date"] == day}
        )
        assert 'data-testid="coverage-why-rule"' in shown and "plan-short" in shown
        assert any(text in shown for text in REASONS_ZH), shown
    after = (FESTIVAL + DAY).isoformat()
    shown = page(client, f"{plan_url}?date={after}")
    assert f'<option value="{after}" selected>' in shown and 'data-time="08:00"' in shown
    assert 'data-time="07:30"' not in shown  # the after-sales days open at 08:00
    assert 'class="plan-chosen"' in shown
    page(client, f"{plan_url}?date=2001-01-01")  # a day outside the plan: its festival day instead

    download = client.get(f"/planning/projects/{project_id}/plans/{plan_id}/site-plan.xlsx")
    assert download.status_code == 200
    assert download.content_type.startswith("application/vnd.openxmlformats")
    assert "filename" in download.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(download.data))
    assert book.sheetnames == ["场地与物资", "每日"] and book["场地与物资"]["A2"].value == "单班高峰客服"

    # the campaign lists it; the project shows it as the latest plan
    assert f'data-plan-id="{plan_id}"' in page(client, campaign_url)
    assert "第 1 版" in page(client, f"/planning/projects/{project_id}")

    # who may see it: the merchant of the project reads it (no publish button), another merchant gets 404,
    # an agent is refused
    own, _user = env.signed_in("merchant", merchant_id=merchant_id)
    read = page(own, plan_url)
    assert 'data-testid="plan-figures"' in read and 'data-testid="publish-plan"' not in read
    assert 'data-testid="compute-plan"' not in page(own, campaign_url)
    own_home = page(own, f"/planning/projects/{project_id}")
    assert f'data-plan-id="{plan_id}"' not in own_home and "第 1 版" in own_home
    assert 'data-testid="history-form"' not in own_home and 'data-testid="new-campaign"' not in own_home
    assert own.get("/planning/").status_code == 403
    other, _user = env.signed_in("merchant")
    assert other.get(plan_url).status_code == 404
    assert other.get(f"/planning/projects/{project_id}").status_code == 404
    assert other.get(f"/planning/projects/{project_id}/plans/{plan_id}/site-plan.xlsx").status_code == 404
    agent, _user = env.signed_in("agent")
    for url in ("/planning/", plan_url, campaign_url):
        assert agent.get(url).status_code == 403
    token = csrf_token(page(own, plan_url))
    assert own.post(f"{plan_url}/publish", data={"csrf_token": token}).status_code == 403

    # publish: the roster comes into force, recruitment is asked for the gap
    published = post(client, plan_url, f"{plan_url}/publish", {}, follow_redirects=True)
    html = published.get_data(as_text=True)
    assert published.status_code == 200 and "第 1 版方案已发布" in html
    assert 'data-status="published"' in html and 'data-testid="publish-plan"' not in html
    assert (
        scheduling.client.get(f"/api/v1/projects/{project_id}/plans/{plan_id}", headers=vendor).get_json()[
            "status"
        ]
        == "published"
    )
    again = post(client, plan_url, f"{plan_url}/publish", {}, follow_redirects=True)
    assert "该方案已发布" in again.get_data(as_text=True)
