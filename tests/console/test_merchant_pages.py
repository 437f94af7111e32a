"""The merchant's pages against the six real services: projects, order wizard, FAQ, materials, surges,
complaints — what the merchant sees (in Chinese) and what changes in the services when they act."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from flask.testing import FlaskClient

from devtools.demo import FAQ_ANSWERS
from services.console.models import User
from shared.workdays import add_workdays, today_shanghai
from tests.console.support import ConsoleEnv, csrf_token
from tests.support import wait_until

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64

FULL_ORDER: dict[str, Any] = {
    "merchant": {
        "company_name": "云裳女装天猫旗舰店",
        "contact_name": "王店长",
        "contact_phone": "13800138000",
        "liaison": "李运营",
    },
    "service": {
        "type": "presale",
        "hours": {"start": "09:00", "end": "17:00"},
        "seats": 10,
        "platform": "Tmall",
    },
    "metrics": {
        "daily_consultations": 2000,
        "first_response_seconds": 15,
        "avg_response_seconds": 30,
        "conversion_rate": "35",
        "avg_order_value": "268.00",
        "satisfaction_rate": "98",
    },
    "training": {"trainer": "vendor", "assessor": "merchant"},
    "qa": {"merchant_standard": False},
}


def merchant_auth(env: ConsoleEnv, user: User, service: str = "onboarding") -> dict[str, str]:
    return env.services[service].auth("merchant", sub=user.id, merchant_id=user.merchant_id)


def create_project(env: ConsoleEnv, user: User, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = env.services["onboarding"].client.post(
        "/api/v1/projects", json=body if body is not None else FULL_ORDER, headers=merchant_auth(env, user)
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def onboarding_project(env: ConsoleEnv, user: User, project_id: str) -> dict[str, Any]:
    response = env.services["onboarding"].client.get(
        f"/api/v1/projects/{project_id}", headers=merchant_auth(env, user)
    )
    assert response.status_code == 200
    return response.get_json()


def finish_order(env: ConsoleEnv, user: User, project_id: str) -> None:
    """FAQ answered, one material, materials complete, go-live 5 working days away: ready to submit."""
    onboarding = env.services["onboarding"].client
    headers = merchant_auth(env, user)
    sheet = {
        "standard": [{"key": k, "answer": v} for k, v in FAQ_ANSWERS.items()],
        "custom": [{"question": "双11 定金可以退吗?", "answer": "定金不退"}],
    }
    assert (
        onboarding.put(f"/api/v1/projects/{project_id}/faq", json=sheet, headers=headers).status_code == 200
    )
    upload = onboarding.post(
        f"/api/v1/projects/{project_id}/materials",
        data={"file": (io.BytesIO("双11 活动规则\n".encode()), "规则.txt")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201, upload.get_json()
    version = onboarding_project(env, user, project_id)["version"]
    patched = onboarding.patch(
        f"/api/v1/projects/{project_id}",
        json={
            "go_live_date": add_workdays(today_shanghai(), 5).isoformat(),
            "materials": {"complete": True},
        },
        headers={**headers, "If-Match": f'"{version}"'},
    )
    assert patched.status_code == 200, patched.get_json()


def confirmed_project(env: ConsoleEnv, user: User) -> str:
    """A complete order submitted by the merchant and confirmed by the vendor, known to scheduling and
    complaints through the real project.confirmed event."""
    project_id = create_project(env, user)["id"]
    finish_order(env, user, project_id)
    onboarding = env.services["onboarding"]
    assert (
        onboarding.client.post(
            f"/api/v1/projects/{project_id}/submit", headers=merchant_auth(env, user)
        ).status_code
        == 200
    )
    confirm = onboarding.client.post(
        f"/api/v1/projects/{project_id}/confirm", headers=onboarding.auth("vendor")
    )
    assert confirm.status_code == 200, confirm.get_json()
    env.start_workers("onboarding", "scheduling", "complaints")
    scheduling, complaints = env.services["scheduling"], env.services["complaints"]
    wait_until(
        lambda: (
            scheduling.client.get(
                f"/api/v1/projects/{project_id}/surges", headers=merchant_auth(env, user, "scheduling")
            ).status_code
            == 200
        ),
        what="scheduling to learn of the project",
    )
    wait_until(
        lambda: (
            complaints.client.get(
                f"/api/v1/projects/{project_id}/staff", headers=complaints.auth("vendor")
            ).status_code
            == 200
        ),
        what="complaints to learn of the project",
    )
    return project_id


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:800])
    return response.get_data(as_text=True)


# --- my projects -----------------------------------------------------------------------------------------


def test_projects_page_lists_only_my_projects_with_status_and_checklist_progress(
    console_env: ConsoleEnv,
) -> None:
    client, user = console_env.signed_in("merchant")
    _other_client, other = console_env.signed_in("merchant")
    mine = create_project(console_env, user)
    create_project(console_env, other, {"merchant": {"company_name": "别家的店"}})

    html = page(client, "/merchant/projects")
    assert 'lang="zh-CN"' in html and "我的项目" in html
    assert "云裳女装天猫旗舰店" in html and "别家的店" not in html
    assert f'data-project-id="{mine["id"]}"' in html
    assert "草稿" in html  # the status badge
    # basics, metrics, training, qa and other are complete; materials and go-live are not
    assert "7 个部分已完成 5 个" in html


def test_merchant_pages_are_for_merchants_only(console_env: ConsoleEnv) -> None:
    vendor_client, _vendor = console_env.signed_in("vendor")
    assert vendor_client.get("/merchant/projects").status_code == 403
    assert vendor_client.get("/merchant/complaints").status_code == 403
    anonymous = console_env.client()
    assert anonymous.get("/merchant/projects").status_code == 302


def test_another_merchants_project_answers_404_on_every_page(console_env: ConsoleEnv) -> None:
    owner_client, owner = console_env.signed_in("merchant")
    intruder, _other = console_env.signed_in("merchant")
    project_id = create_project(console_env, owner)["id"]
    assert "云裳女装天猫旗舰店" in page(owner_client, f"/merchant/projects/{project_id}")
    for url in (
        f"/merchant/projects/{project_id}",
        f"/merchant/projects/{project_id}/edit/service",
        f"/merchant/projects/{project_id}/faq",
        f"/merchant/projects/{project_id}/materials",
        f"/merchant/projects/{project_id}/surges",
        f"/merchant/projects/{project_id}/checklist",
    ):
        html = page(intruder, url, 404)
        assert "云裳女装天猫旗舰店" not in html
        assert "不存在" in html or "无权" in html
    token = csrf_token(page(intruder, "/merchant/projects/new"))
    refused = intruder.post(
        f"/merchant/projects/{project_id}/edit/service",
        data={"csrf_token": token, "version": "1", "service.seats": "99"},
    )
    assert refused.status_code == 404
    assert onboarding_project(console_env, owner, project_id)["service"]["seats"] == 10


# --- the order wizard ------------------------------------------------------------------------------------


def test_wizard_creates_the_draft_then_patches_each_step_with_the_checklist_live(
    console_env: ConsoleEnv,
) -> None:
    client, user = console_env.signed_in("merchant")
    html = page(client, "/merchant/projects/new")
    assert "新建订单" in html and "公司名称" in html and "商家信息" in html
    created = client.post(
        "/merchant/projects/new",
        data={
            "csrf_token": csrf_token(html),
            "idempotency_key": "wizard-1",
            "merchant.company_name": "杭州小铺",
            "merchant.contact_name": "张三",
            "merchant.contact_phone": "13812345678",
            "merchant.liaison": "",
        },
    )
    assert created.status_code == 302
    location = created.headers["Location"]
    assert location.endswith("/edit/service")
    project_id = location.split("/")[-3]
    project = onboarding_project(console_env, user, project_id)
    assert project["status"] == "draft" and project["merchant"]["company_name"] == "杭州小铺"
    assert project["merchant"]["liaison"] is None

    step = page(client, location)
    assert "客服数" in step and 'hx-post="' in step and "仍缺少的信息" in step
    assert 'data-field="service.seats"' in step  # the checklist beside the form says seats are missing

    # htmx autosave after a field change: saved, and the checklist fragment no longer misses the seats
    live = client.post(
        f"/merchant/projects/{project_id}/edit/service/autosave",
        data={
            "csrf_token": csrf_token(step),
            "version": str(project["version"]),
            "service.type": "presale",
            "service.hours.start": "09:00",
            "service.hours.end": "24:00",
            "service.seats": "12",
            "service.platform": "Tmall",
        },
        headers={"HX-Request": "true"},
    )
    fragment = live.get_data(as_text=True)
    assert live.status_code == 200 and "<html" not in fragment
    assert 'data-field="service.seats"' not in fragment and 'data-field="merchant.liaison"' in fragment
    assert 'id="wizard-version"' in fragment and 'hx-swap-oob="true"' in fragment
    saved = onboarding_project(console_env, user, project_id)
    assert saved["service"]["seats"] == 12 and saved["service"]["hours"]["end"] == "24:00"

    # a bad value: the step is shown again with the error beside the field, nothing changes
    bad = client.post(
        f"/merchant/projects/{project_id}/edit/metrics",
        data={
            "csrf_token": csrf_token(step),
            "version": str(saved["version"]),
            "metrics.daily_consultations": "2000",
            "metrics.conversion_rate": "120",
        },
    )
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    assert "部分信息填写有误" in body and 'id="e-metrics-conversion_rate"' in body
    assert 'value="120"' in body  # what the merchant typed is kept
    assert onboarding_project(console_env, user, project_id)["metrics"]["daily_consultations"] is None

    # a stale version (someone saved meanwhile) is refused with a message, nothing overwritten
    stale = client.post(
        f"/merchant/projects/{project_id}/edit/service",
        data={"csrf_token": csrf_token(step), "version": str(project["version"]), "service.seats": "3"},
    )
    assert stale.status_code == 412
    assert "有人修改了此订单" in stale.get_data(as_text=True)
    assert onboarding_project(console_env, user, project_id)["service"]["seats"] == 12

    ok = client.post(
        f"/merchant/projects/{project_id}/edit/service",
        data={
            "csrf_token": csrf_token(step),
            "version": str(saved["version"]),
            "service.type": "aftersale",
            "service.hours.start": "20:00",
            "service.hours.end": "02:00",
            "service.hours.overnight": "1",
            "service.seats": "8",
        },
    )
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/edit/metrics")
    after = onboarding_project(console_env, user, project_id)
    assert after["service"]["type"] == "aftersale" and after["service"]["hours"]["overnight"] is True
    assert after["service"]["platform"] is None  # an emptied field is cleared


def test_submit_refusal_lists_the_missing_sections_then_submit_succeeds(console_env: ConsoleEnv) -> None:
    client, user = console_env.signed_in("merchant")
    project = create_project(console_env, user)
    project_id = project["id"]
    html = page(client, f"/merchant/projects/{project_id}")
    assert "提交订单" in html and "培训资料" in html and "常见问题" in html
    refused = client.post(
        f"/merchant/projects/{project_id}/submit",
        data={"csrf_token": csrf_token(html), "version": str(project["version"])},
    )
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "清单中还有未完成的部分" in body
    assert 'data-testid="refused-section" data-section="materials"' in body
    assert 'data-testid="refused-section" data-section="go_live"' in body
    assert 'data-testid="refused-section" data-section="basics"' not in body
    assert onboarding_project(console_env, user, project_id)["status"] == "draft"

    finish_order(console_env, user, project_id)
    html = page(client, f"/merchant/projects/{project_id}")
    version = onboarding_project(console_env, user, project_id)["version"]
    done = client.post(
        f"/merchant/projects/{project_id}/submit",
        data={"csrf_token": csrf_token(html), "version": str(version)},
    )
    assert done.status_code == 302
    assert onboarding_project(console_env, user, project_id)["status"] == "submitted"
    after = page(client, f"/merchant/projects/{project_id}")
    assert "已提交" in after and 'data-testid="submit-order"' not in after
    assert after.count('data-testid="history-row"') >= 4  # created, FAQ, material, change, submit


# --- FAQ sheet -------------------------------------------------------------------------------------------


def _faq_form(
    html: str, answers: dict[int, str], not_applicable: set[int], own: list[tuple[str, str]]
) -> dict[str, Any]:
    keys = list(FAQ_ANSWERS)
    data: dict[str, Any] = {"csrf_token": csrf_token(html), "std_key": keys, "own_count": str(len(own) + 3)}
    version = html.split('name="faq_version" value="', 1)[1].split('"', 1)[0]
    data["faq_version"] = version
    for i, text in answers.items():
        data[f"std_answer_{i}"] = text
    for i in not_applicable:
        data[f"std_na_{i}"] = "1"
    for i, (question, answer) in enumerate(own):
        data[f"own_q_{i}"] = question
        data[f"own_a_{i}"] = answer
    return data


def test_faq_grid_saves_answers_not_applicable_and_own_questions(console_env: ConsoleEnv) -> None:
    client, user = console_env.signed_in("merchant")
    project_id = create_project(console_env, user)["id"]
    html = page(client, f"/merchant/projects/{project_id}/faq")
    assert "能拍的都有货吗?" in html and "欢迎语" in html and "话术要包含" in html  # questions and scripts
    assert html.count('data-testid="faq-row"') == 16 and "不适用" in html

    answers = {i: text for i, text in enumerate(FAQ_ANSWERS.values()) if i != 10}
    saved = client.post(
        f"/merchant/projects/{project_id}/faq",
        data=_faq_form(html, answers, {10}, [("双11 定金可以退吗?", "定金不退")]),
    )
    assert saved.status_code == 302
    sheet = (
        console_env.services["onboarding"]
        .client.get(f"/api/v1/projects/{project_id}/faq", headers=merchant_auth(console_env, user))
        .get_json()
    )
    assert sheet["complete"] is True
    assert sheet["not_applicable"] == ["gifts"]
    assert sheet["custom"] == [{"question": "双11 定金可以退吗?", "answer": "定金不退"}]
    shown = page(client, f"/merchant/projects/{project_id}/faq")
    assert "已填写完整" in shown and "定金不退" in shown


def test_faq_row_errors_are_shown_per_row_and_nothing_is_saved(console_env: ConsoleEnv) -> None:
    client, user = console_env.signed_in("merchant")
    project_id = create_project(console_env, user)["id"]
    html = page(client, f"/merchant/projects/{project_id}/faq")

    # the service's refusal: row 2 answered AND marked not applicable; row 1 of the own questions (sent
    # as the first, row 0 being blank) too long — each message lands beside its own row
    form = _faq_form(html, {0: "有货", 2: "承担一程"}, {2}, [("", ""), ("问" * 501, "答")])
    refused = client.post(f"/merchant/projects/{project_id}/faq", data=form)
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "部分信息填写有误" in body
    assert 'id="std-e-2"' in body and 'id="std-e-0"' not in body
    assert 'id="own-e-1"' in body and 'id="own-e-0"' not in body
    assert "有货" in body  # what was typed is kept

    # the console's own check: an answer without its question
    form = _faq_form(html, {0: "有货"}, set(), [("", ""), ("", "只有答案")])
    missing_question = client.post(f"/merchant/projects/{project_id}/faq", data=form)
    assert missing_question.status_code == 422
    body = missing_question.get_data(as_text=True)
    assert 'id="own-e-1"' in body and "请填写问题" in body and "只有答案" in body

    sheet = (
        console_env.services["onboarding"]
        .client.get(f"/api/v1/projects/{project_id}/faq", headers=merchant_auth(console_env, user))
        .get_json()
    )
    assert len(sheet["unanswered"]) == 16 and sheet["custom"] == []


# --- materials -------------------------------------------------------------------------------------------


def test_materials_upload_download_refusals_and_complete_mark(console_env: ConsoleEnv) -> None:
    client, user = console_env.signed_in("merchant")
    project_id = create_project(console_env, user)["id"]
    html = page(client, f"/merchant/projects/{project_id}/materials")
    assert 'class="dropzone"' in html and 'type="file"' in html and "<progress" in html
    assert "还没有上传文件" in html
    token = csrf_token(html)

    # without JavaScript: a normal form post, then the list
    posted = client.post(
        f"/merchant/projects/{project_id}/materials",
        data={"csrf_token": token, "file": (io.BytesIO("活动规则".encode()), "活动规则.txt")},
        content_type="multipart/form-data",
    )
    assert posted.status_code == 302
    listing = page(client, f"/merchant/projects/{project_id}/materials")
    assert "活动规则.txt" in listing

    # from the drop zone (merchant.js, HX-Request): the list fragment; a PNG named .pdf is refused (415)
    refused = client.post(
        f"/merchant/projects/{project_id}/materials",
        data={"csrf_token": token, "file": (io.BytesIO(PNG), "price-list.pdf")},
        content_type="multipart/form-data",
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert refused.status_code == 415
    fragment = refused.get_data(as_text=True)
    assert "<html" not in fragment and "不支持该文件类型" in fragment and "price-list.pdf" in fragment
    assert "活动规则.txt" in fragment  # the list stays
    empty = client.post(
        f"/merchant/projects/{project_id}/materials",
        data={"csrf_token": token, "file": (io.BytesIO(b""), "empty.txt")},
        content_type="multipart/form-data",
    )
    assert empty.status_code == 422 and "部分信息填写有误" in empty.get_data(as_text=True)
    listed = (
        console_env.services["onboarding"]
        .client.get(f"/api/v1/projects/{project_id}/materials", headers=merchant_auth(console_env, user))
        .get_json()
    )
    assert [m["filename"] for m in listed["items"]] == ["活动规则.txt"]

    material_id = listed["items"][0]["id"]
    download = client.get(f"/merchant/projects/{project_id}/materials/{material_id}")
    assert download.status_code == 200 and download.data == "活动规则".encode()
    assert download.headers["Content-Type"].startswith("text/plain")
    assert "attachment" in download.headers["Content-Disposition"]

    version = onboarding_project(console_env, user, project_id)["version"]
    marked = client.post(
        f"/merchant/projects/{project_id}/materials/complete",
        data={"csrf_token": token, "version": str(version), "complete": "1"},
    )
    assert marked.status_code == 302
    assert onboarding_project(console_env, user, project_id)["materials"]["complete"] is True


# --- surges and complaints (a confirmed project) ---------------------------------------------------------


def test_surges_explain_the_rule_refuse_in_chinese_and_list_the_requests(console_env: ConsoleEnv) -> None:
    client, user = console_env.signed_in("merchant")
    draft = create_project(console_env, user)
    not_yet = page(client, f"/merchant/projects/{draft['id']}/surges")
    assert 'data-testid="surge-unavailable"' in not_yet

    project_id = confirmed_project(console_env, user)
    today = today_shanghai()
    html = page(client, f"/merchant/projects/{project_id}/surges")
    assert "提前 3 天" in html and "提前 7 天" in html  # the rule, before anything is sent
    earliest = page(client, f"/merchant/projects/{project_id}/surges/earliest?increase_pct=60")
    assert "提前 7 天" in earliest and str((today + dt.timedelta(days=7)).day) in earliest
    assert "新订单" in page(client, f"/merchant/projects/{project_id}/surges/earliest?increase_pct=80")

    late = today + dt.timedelta(days=5)
    refused = client.post(
        f"/merchant/projects/{project_id}/surges",
        data={
            "csrf_token": csrf_token(html),
            "idempotency_key": "s-1",
            "increase_pct": "60",
            "start_date": late.isoformat(),
            "end_date": (late + dt.timedelta(days=1)).isoformat(),
        },
    )
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "已拒绝" in body and "需要提前 7 天" in body and 'value="60"' in body

    start = today + dt.timedelta(days=3)
    accepted = client.post(
        f"/merchant/projects/{project_id}/surges",
        data={
            "csrf_token": csrf_token(html),
            "idempotency_key": "s-2",
            "increase_pct": "30",
            "start_date": start.isoformat(),
            "end_date": (start + dt.timedelta(days=1)).isoformat(),
        },
    )
    assert accepted.status_code == 302
    listing = page(client, f"/merchant/projects/{project_id}/surges")
    assert listing.count('data-testid="surge-row"') == 2
    assert 'data-status="accepted"' in listing and 'data-status="rejected"' in listing
    assert "已接受" in listing

    # the same page in English (the rule's percentages survive the message formatting)
    client.get("/lang/en")
    english = page(client, f"/merchant/projects/{project_id}/surges")
    assert "An increase of up to 30% needs 3 days' notice." in english and "Increase (%)" in english
    assert "For +30%: 3 days' notice" in page(
        client, f"/merchant/projects/{project_id}/surges/earliest?increase_pct=30"
    )


def test_complaints_about_my_projects_list_and_detail(console_env: ConsoleEnv) -> None:
    client, user = console_env.signed_in("merchant")
    project_id = confirmed_project(console_env, user)
    complaints = console_env.services["complaints"]
    recorded = complaints.client.post(
        "/api/v1/complaints",
        json={
            "project_id": project_id,
            "channel": "chat",
            "category": "delivery",
            "description": "顾客说双11 订单迟迟未发货",
            "customer_ref": "tb-buyer-01",
        },
        headers=merchant_auth(console_env, user, "complaints"),
    )
    assert recorded.status_code == 201, recorded.get_json()
    complaint = recorded.get_json()

    html = page(client, "/merchant/complaints")
    assert "我的项目的投诉" in html and complaint["number"] in html
    assert "云裳女装天猫旗舰店" in html and "发货物流" in html and "待处理" in html
    filtered = page(client, f"/merchant/complaints?project_id={project_id}&status=closed")
    assert complaint["number"] not in filtered

    detail = page(client, f"/merchant/complaints/{complaint['id']}")
    assert "顾客说双11 订单迟迟未发货" in detail and 'data-testid="complaint-history-row"' in detail
    assert "已登记" in detail

    other_client, _other = console_env.signed_in("merchant")
    assert complaint["number"] not in page(other_client, "/merchant/complaints")
    assert "顾客说" not in page(other_client, f"/merchant/complaints/{complaint['id']}", 404)
