"""Vendor pages: the project board (confirm / return), a project's live funnel, requisitions (rematch), the
talent pool (filters, CSV import with row errors, add a candidate) and the system health page (admin)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from services.console.views.vendor import parse_metrics
from tests.console.support import ConsoleEnv, csrf_token
from tests.integration.test_onboarding_api import action, ready_to_submit
from tests.support import ServiceHarness, wait_until

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
MERCHANT_ID = "m-vendor-pages"


def merchant_headers(env: ConsoleEnv) -> dict[str, str]:
    return env.services["onboarding"].auth("merchant", sub="u-merchant", merchant_id=MERCHANT_ID)


def submitted_project(env: ConsoleEnv) -> str:
    """A complete order the merchant submitted (10 pre-sales seats, 09:00–24:00): its id."""
    onboarding = env.services["onboarding"]
    headers = merchant_headers(env)
    project_id = ready_to_submit(onboarding, headers)
    response = action(onboarding, project_id, "submit", headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return project_id


def project_status(env: ConsoleEnv, project_id: str) -> str:
    onboarding = env.services["onboarding"]
    return onboarding.client.get(
        f"/api/v1/projects/{project_id}", headers=onboarding.auth("vendor")
    ).get_json()["status"]


def post_form(client: FlaskClient, page_url: str, url: str, data: dict[str, Any], **kwargs: Any) -> Any:
    """Post a form the way a browser does: with the CSRF token of the page it is on."""
    token = csrf_token(client.get(page_url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token}, **kwargs)


def add_candidates(recruitment: ServiceHarness, count: int, *, trained: bool = True, start: int = 0) -> None:
    for i in range(start, start + count):
        body = {
            "name": f"候选人{i:02d}",
            "phone": f"139{i:08d}",
            "skills": ["presale"],
            "shifts_available": ["morning", "afternoon"],
            "basic_training_passed": trained,
            "basic_score": "80",
        }
        response = recruitment.client.post(
            "/api/v1/candidates", json=body, headers=recruitment.auth("vendor")
        )
        assert response.status_code == 201, response.get_data(as_text=True)


def find_testid(html: str, name: str) -> str | None:
    match = re.search(rf'data-testid="{re.escape(name)}"[^>]*>([^<]*)<', html)
    return match.group(1).strip() if match else None


# --- board ------------------------------------------------------------------------------------------------


def test_board_shows_submitted_projects_first_and_confirm_starts_the_project(console_env: ConsoleEnv) -> None:
    project_id = submitted_project(console_env)
    onboarding = console_env.services["onboarding"]
    draft = onboarding.client.post(
        "/api/v1/projects",
        json={"merchant": {"company_name": "草稿小店"}},
        headers=merchant_headers(console_env),
    ).get_json()["id"]
    client, _user = console_env.signed_in("vendor")

    page = client.get("/vendor/").get_data(as_text=True)
    assert "待确认" in page and "草稿" in page  # sections in Chinese
    assert page.index(project_id) < page.index(draft)  # what waits for the vendor comes first
    assert find_testid(page, "board-submitted-total") == "1"

    filtered = client.get("/vendor/?group=draft").get_data(as_text=True)
    assert draft in filtered and project_id not in filtered

    response = post_form(client, "/vendor/", f"/vendor/projects/{project_id}/confirm", {"next": "/vendor/"})
    assert response.status_code == 302 and response.headers["Location"] == "/vendor/"
    assert project_status(console_env, project_id) == "confirmed"
    board = client.get("/vendor/").get_data(as_text=True)
    assert "已确认" in board and find_testid(board, "board-submitted-total") == "0"
    client.get("/lang/en?next=/vendor/")
    english = client.get("/vendor/").get_data(as_text=True)
    assert "Awaiting confirmation" in english and "Confirmed and live" in english


def test_a_refused_confirmation_shows_the_services_rule_and_changes_nothing(console_env: ConsoleEnv) -> None:
    project_id = submitted_project(console_env)
    client, _user = console_env.signed_in("vendor")
    post_form(client, "/vendor/", f"/vendor/projects/{project_id}/confirm", {})
    # a second confirmation: the project is no longer submitted → the service's 409, in Chinese
    response = post_form(
        client, "/vendor/", f"/vendor/projects/{project_id}/confirm", {}, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert "与当前状态冲突" in page
    assert "application/problem+json" not in page and '"status"' not in page
    assert project_status(console_env, project_id) == "confirmed"


def test_return_needs_a_reason_and_sends_the_project_back(console_env: ConsoleEnv) -> None:
    project_id = submitted_project(console_env)
    client, _user = console_env.signed_in("vendor")
    page_url = f"/vendor/projects/{project_id}"

    refused = post_form(client, page_url, f"/vendor/projects/{project_id}/return", {"reason": ""})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "填写有误" in html and 'aria-invalid="true"' in html
    assert project_status(console_env, project_id) == "submitted"

    done = post_form(
        client, page_url, f"/vendor/projects/{project_id}/return", {"reason": "客单价请按近三个月填写"}
    )
    assert done.status_code == 302
    assert project_status(console_env, project_id) == "returned"
    assert "客单价请按近三个月填写" in client.get(page_url).get_data(as_text=True)


def test_other_roles_are_kept_out(console_env: ConsoleEnv) -> None:
    client, _user = console_env.signed_in("merchant")
    assert client.get("/vendor/").status_code == 403
    assert client.get("/vendor/talent-pool").status_code == 403
    vendor, _ = console_env.signed_in("vendor")
    assert vendor.get("/vendor/health").status_code == 403
    assert vendor.get("/vendor/projects/no-such-project").status_code == 404
    anonymous = console_env.client().get("/vendor/")
    assert anonymous.status_code == 302 and "/sign-in" in anonymous.headers["Location"]


# --- the project page and its funnel ----------------------------------------------------------------------


def test_project_page_shows_the_order_and_the_funnel_fills_as_events_arrive(console_env: ConsoleEnv) -> None:
    recruitment = console_env.services["recruitment"]
    add_candidates(recruitment, 12)
    add_candidates(recruitment, 3, trained=False, start=50)  # never eligible
    project_id = submitted_project(console_env)
    client, _user = console_env.signed_in("vendor")
    page = client.get(f"/vendor/projects/{project_id}").get_data(as_text=True)
    assert "杭州某某服饰旗舰店" in page and "人员漏斗" in page
    assert "商家基本信息" in page and "Merchant basics" not in page  # the checklist in the reader's words
    assert find_testid(page, "funnel-seats") == "10"
    assert "hx-get" not in page  # nothing to follow before the confirmation

    post_form(client, f"/vendor/projects/{project_id}", f"/vendor/projects/{project_id}/confirm", {})
    page = client.get(f"/vendor/projects/{project_id}").get_data(as_text=True)
    assert f'hx-get="/vendor/projects/{project_id}/funnel"' in page and 'hx-trigger="every 3s"' in page
    assert 'aria-live="polite"' in page

    console_env.start_workers("onboarding", "recruitment", "training", "scheduling")

    def matched() -> str | None:
        fragment = client.get(f"/vendor/projects/{project_id}/funnel", headers={"HX-Request": "true"})
        html = fragment.get_data(as_text=True)
        return (
            html
            if find_testid(html, "funnel-matched") == "12" and find_testid(html, "funnel-admitted")
            else None
        )

    fragment = wait_until(matched, timeout=30, what="the funnel to show the matches")
    assert "<html" not in fragment  # a fragment, not a page
    assert find_testid(fragment, "funnel-matched-target") == "30"
    assert find_testid(fragment, "funnel-matched-short") == "还差 18 人"
    assert (
        find_testid(fragment, "funnel-admitted") == "0"
        and find_testid(fragment, "funnel-admitted-target") == "20"
    )


# --- requisitions -----------------------------------------------------------------------------------------


def test_requisitions_show_the_shortfall_and_rematch_tops_up(console_env: ConsoleEnv) -> None:
    recruitment = console_env.services["recruitment"]
    add_candidates(recruitment, 5)
    project_id = submitted_project(console_env)
    client, _user = console_env.signed_in("vendor")
    post_form(client, "/vendor/", f"/vendor/projects/{project_id}/confirm", {})
    console_env.start_workers("onboarding", "recruitment")

    def listed() -> str | None:
        html = client.get("/vendor/requisitions?status=short").get_data(as_text=True)
        return html if find_testid(html, "requisition-matched") == "5" else None

    page = wait_until(listed, timeout=30, what="the short requisition")
    assert "杭州某某服饰旗舰店" in page  # the project's name, not its id
    assert (
        find_testid(page, "requisition-target") == "30"
        and find_testid(page, "requisition-shortfall") == "还差 25 人"
    )
    requisition_id = re.search(r'data-requisition-id="([^"]+)"', page).group(1)

    detail_url = f"/vendor/requisitions/{requisition_id}"
    detail = client.get(detail_url).get_data(as_text=True)
    assert detail.count('data-testid="match-row"') == 5 and "候选人00" in detail

    # the pool has nobody more: rematch says so and changes nothing
    nothing = post_form(client, detail_url, f"{detail_url}/rematch", {}, follow_redirects=True)
    assert "没有空闲的合格人选" in nothing.get_data(as_text=True)
    assert find_testid(nothing.get_data(as_text=True), "requisition-matched") == "5"

    # new people in the pool top the short requisition up by themselves (the page shows it on reload)
    add_candidates(recruitment, 2, start=20)
    after = client.get(detail_url).get_data(as_text=True)
    assert find_testid(after, "requisition-matched") == "7"


def test_a_filled_requisition_refuses_rematch_with_the_rule(console_env: ConsoleEnv) -> None:
    recruitment = console_env.services["recruitment"]
    add_candidates(recruitment, 3)
    project_id = submitted_project(console_env)
    onboarding = console_env.services["onboarding"]
    # one seat: a target of 3, filled at once
    headers = onboarding.auth("vendor")
    etag = onboarding.client.get(f"/api/v1/projects/{project_id}", headers=headers).headers["ETag"]
    assert (
        onboarding.client.patch(
            f"/api/v1/projects/{project_id}",
            json={"service": {"seats": 1}},
            headers={**headers, "If-Match": etag},
        ).status_code
        == 200
    )
    client, _user = console_env.signed_in("vendor")
    post_form(client, "/vendor/", f"/vendor/projects/{project_id}/confirm", {})
    console_env.start_workers("onboarding", "recruitment")
    page = wait_until(
        lambda: (
            (html := client.get("/vendor/requisitions?status=filled").get_data(as_text=True))
            and 'data-testid="requisition-row"' in html
            and html
        ),
        timeout=30,
        what="the filled requisition",
    )
    requisition_id = re.search(r'data-requisition-id="([^"]+)"', page).group(1)
    detail_url = f"/vendor/requisitions/{requisition_id}"
    assert 'data-testid="rematch"' not in client.get(detail_url).get_data(as_text=True)
    refused = post_form(client, detail_url, f"{detail_url}/rematch", {}, follow_redirects=True)
    assert "与当前状态冲突" in refused.get_data(as_text=True)


# --- talent pool ------------------------------------------------------------------------------------------


def test_import_the_sample_file_then_filter_the_pool(console_env: ConsoleEnv) -> None:
    client, _user = console_env.signed_in("vendor")
    content = (SAMPLES / "candidates.csv").read_bytes()
    response = post_form(
        client,
        "/vendor/talent-pool",
        "/vendor/talent-pool/import",
        {"file": (io.BytesIO(content), "candidates.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "已导入 200 行" in html and find_testid(html, "pool-total") == "200"

    trained = client.get("/vendor/talent-pool?basic_training_passed=true&per_page=20").get_data(as_text=True)
    recruitment = console_env.services["recruitment"]
    expected = recruitment.client.get(
        "/api/v1/candidates?basic_training_passed=true&per_page=1", headers=recruitment.auth("vendor")
    ).get_json()["total"]
    assert expected >= 30 and find_testid(trained, "pool-total") == str(expected)
    assert "第 1 页" in trained  # more than one page: the pager

    first = content.decode("utf-8-sig").splitlines()[1].split(",")
    found = client.get(f"/vendor/talent-pool?q={first[1]}").get_data(as_text=True)
    assert find_testid(found, "pool-total") == "1" and first[0] in found


def test_a_bad_import_lists_every_bad_row_and_imports_nothing(console_env: ConsoleEnv) -> None:
    client, _user = console_env.signed_in("vendor")
    bad = (
        "姓名,手机,技能,班次,基础培训通过,基础分\n"
        "张三,13800000001,售前,早班,是,90\n"
        "李四,12345,售前,早班,是,90\n"
        "王五,13800000003,会计,早班,是,101\n"
    ).encode()
    # as vendor.js sends it (HX-Request): only the result fragment comes back
    token = csrf_token(client.get("/vendor/talent-pool").get_data(as_text=True))
    response = client.post(
        "/vendor/talent-pool/import",
        data={"file": (io.BytesIO(bad), "pool.csv"), "csrf_token": token},
        content_type="multipart/form-data",
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<html" not in html and "填写有误" in html
    assert html.count('data-testid="import-error-row"') == 3  # line 3 phone, line 4 skills and score
    assert ">3<" in html and ">4<" in html
    recruitment = console_env.services["recruitment"]
    total = recruitment.client.get("/api/v1/candidates", headers=recruitment.auth("vendor")).get_json()[
        "total"
    ]
    assert total == 0


def test_the_import_template_downloads_with_the_chinese_headers(console_env: ConsoleEnv) -> None:
    client, _user = console_env.signed_in("vendor")
    response = client.get("/vendor/talent-pool/template.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff姓名,手机,技能,班次,基础培训通过,基础分")
    # the template itself imports (dry run)
    checked = post_form(
        client,
        "/vendor/talent-pool",
        "/vendor/talent-pool/import",
        {"file": (io.BytesIO(text.encode()), "t.csv"), "dry_run": "1"},
        content_type="multipart/form-data",
    )
    assert checked.status_code == 200 and "文件有效" in checked.get_data(as_text=True)


def test_add_a_candidate_by_hand(console_env: ConsoleEnv) -> None:
    client, _user = console_env.signed_in("vendor")
    form = {
        "name": "赵六",
        "phone": "12345",
        "skills": ["presale", "aftersale"],
        "shifts_available": ["night"],
        "basic_training_passed": "yes",
        "basic_score": "92.5",
        "city": "杭州",
        "categories": "服装;美妆",
    }
    refused = post_form(client, "/vendor/talent-pool/new", "/vendor/talent-pool/new", form)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="e-phone"' in html and 'value="赵六"' in html  # the field's message, the form kept
    recruitment = console_env.services["recruitment"]
    headers = recruitment.auth("vendor")
    assert recruitment.client.get("/api/v1/candidates", headers=headers).get_json()["total"] == 0

    done = post_form(
        client, "/vendor/talent-pool/new", "/vendor/talent-pool/new", {**form, "phone": "13912345678"}
    )
    assert done.status_code == 302
    [person] = recruitment.client.get("/api/v1/candidates", headers=headers).get_json()["items"]
    assert person["name"] == "赵六" and person["basic_training_passed"] is True
    assert sorted(person["skills"]) == ["aftersale", "presale"] and person["categories"] == ["服装", "美妆"]
    assert "赵六" in client.get(done.headers["Location"]).get_data(as_text=True)


# --- complaints and health --------------------------------------------------------------------------------


def test_complaints_link_works_without_the_ops_pages(console_env: ConsoleEnv) -> None:
    client, _user = console_env.signed_in("vendor")
    response = client.get("/vendor/complaints")
    if "ops.complaints" in console_env.app.view_functions:
        assert response.status_code == 302 and response.headers["Location"].startswith("/ops/")
    else:
        assert response.status_code == 200 and "投诉" in response.get_data(as_text=True)


def test_health_shows_each_service_and_one_that_does_not_answer(console_env: ConsoleEnv) -> None:
    client, _user = console_env.signed_in("admin")
    page = client.get("/vendor/health").get_data(as_text=True)
    for service in ("onboarding", "recruitment", "training", "scheduling", "billing", "complaints"):
        assert find_testid(page, f"health-{service}-outbox_pending_events") is not None
    assert "就绪" in page
    assert re.search(r'data-testid="health-onboarding-outbox_pending_events">\s*<span[^>]*>0<', page)

    services = console_env.app.extensions["console.services"]
    services.service_urls = {**services.service_urls, "billing": "http://nowhere.internal"}
    fragment = client.get("/vendor/health", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment
    billing = fragment[fragment.index('data-testid="health-billing"') :]
    assert "无响应" in billing[: billing.index("</tr>")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "# HELP outbox_pending_events x\n# TYPE outbox_pending_events gauge\noutbox_pending_events 3.0\n"
            "# TYPE dead_letter_queue_messages gauge\ndead_letter_queue_messages 1.0\n"
            '# TYPE http_requests_total counter\nhttp_requests_total{method="GET"} 7.0\n',
            {"outbox_pending_events": 3.0, "dead_letter_queue_messages": 1.0},
        ),
        ("", {}),
    ],
)
def test_parse_metrics_reads_only_the_health_gauges(text: str, expected: dict[str, float]) -> None:
    assert parse_metrics(text) == expected


def test_the_funnel_tells_waiting_from_down() -> None:
    from services.console.bff import ApiError, Reply
    from services.console.views.vendor import _funnel

    def reply(data: Any) -> Reply:
        return Reply(200, {}, b"", data)

    steps = _funnel(
        {
            "project": reply({"service": {"seats": 10}}),
            "requisitions": ApiError("recruitment", 503, {"unreachable": True}),
            "training": reply({"target": 20, "admitted": 20}),
            "cohorts": reply({"items": [{"status": "completed", "enrolled": 30}]}),
            "pool": ApiError("scheduling", 404),
        }
    )
    assert steps["seats"].actual == 10
    assert steps["matched"].state == "down" and steps["matched"].actual is None
    assert (steps["admitted"].actual, steps["admitted"].target, steps["admitted"].short) == (20, 20, False)
    assert steps["in_training"].actual == 0  # the cohort is over: nobody is in training any more
    assert steps["active"].state == "waiting" and steps["reserve"].actual is None
