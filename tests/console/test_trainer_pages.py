"""Training pages of the console against the real training service: cohorts, a cohort's actions and
admission results, courseware (trainer adds, merchant confirms or rejects) and the assessment grid."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import uuid
from html.parser import HTMLParser
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.console.support import ConsoleEnv, csrf_token
from tests.integration.test_training_api import MERCHANT, candidates_matched, deliver, project_confirmed
from tests.support import ServiceHarness

ROW = re.compile(r'data-testid="trainee-row"')


@pytest.fixture(autouse=True)
def _console_signing_key(console_env: ConsoleEnv) -> None:
    """The console mints the services' tokens with the session's key (a no-op once support.py passes the
    JWT variables to the console itself, as requested of the lead)."""
    client = console_env.app.extensions["console.services"]
    if not client.settings.jwt_private_key_file and os.environ.get("JWT_PRIVATE_KEY_FILE"):
        client.settings = dataclasses.replace(
            client.settings, jwt_private_key_file=os.environ["JWT_PRIVATE_KEY_FILE"]
        )


def open_cohort(env: ConsoleEnv, trainees: int = 30, *, assessor: str = "merchant") -> tuple[str, str]:
    """A confirmed project of 10 seats with ``trainees`` matched candidates: (project_id, cohort_id)."""
    h = env.services["training"]
    project_id = f"p-{uuid.uuid4().hex[:8]}"
    deliver(h, "project.confirmed", project_confirmed(project_id, assessor=assessor))
    deliver(h, "candidates.matched", candidates_matched(project_id, trainees, prefix=project_id))
    listing = h.client.get(f"/api/v1/cohorts?project_id={project_id}", headers=h.auth("trainer")).get_json()
    return project_id, listing["items"][0]["id"]


def service_cohort(h: ServiceHarness, cohort_id: str) -> dict[str, Any]:
    return h.client.get(f"/api/v1/cohorts/{cohort_id}", headers=h.auth("trainer")).get_json()


def ready(h: ServiceHarness, cohort_id: str) -> None:
    """Courseware added and confirmed, training started (straight through the service)."""
    link = {"title": "项目介绍", "topics": ["project"], "url": "https://kb.example.com/intro"}
    assert (
        h.client.post(
            f"/api/v1/cohorts/{cohort_id}/courseware", json=link, headers=h.auth("trainer")
        ).status_code
        == 201
    )
    merchant = h.auth("merchant", merchant_id=MERCHANT)
    assert (
        h.client.post(f"/api/v1/cohorts/{cohort_id}/courseware/confirm", headers=merchant).status_code == 200
    )
    assert h.client.post(f"/api/v1/cohorts/{cohort_id}/start", headers=h.auth("trainer")).status_code == 200


def page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:1000]
    return response.get_data(as_text=True)


class _FormFields(HTMLParser):
    """The named inputs, selects and textareas of a page with the values a browser would send."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            self.values[str(a["name"])] = a.get("value") or ""
        elif tag == "select":
            self._select = a.get("name")
            if self._select:
                self.values[self._select] = ""
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def grid_form(html: str, rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The grid's form as the browser would send it, with some cells changed (by candidate id)."""
    parser = _FormFields()
    parser.feed(html)
    data: dict[str, Any] = {
        k: v for k, v in parser.values.items() if k.startswith("rows-") or k == "csrf_token"
    }
    for key, cid in list(data.items()):
        if key.endswith("-candidate_id"):
            prefix = key[: -len("candidate_id")]
            for name, value in rows.get(cid, {}).items():
                data[prefix + name] = value
    return data


# --- cohorts ---------------------------------------------------------------------------------------------


def test_cohort_list_in_chinese_filters_and_scopes_by_merchant(console_env: ConsoleEnv) -> None:
    project_id, cohort_id = open_cohort(console_env, 30)
    client, _ = console_env.signed_in("trainer")
    html = page(client, "/trainer/cohorts")
    assert "培训批次" in html and "计划中" in html and "好运旗舰店" in html
    row = html[html.index('data-testid="cohort-row"') :]
    assert ">20<" in row and ">30<" in row  # target 2 × 10 seats, 30 trainees
    assert 'data-testid="cohort-row"' not in page(client, "/trainer/cohorts?status=completed")
    assert 'data-testid="cohort-row"' in page(
        client, f"/trainer/cohorts?project_id={project_id}&status=planned"
    )

    vendor, _ = console_env.signed_in("vendor")
    assert cohort_id in page(vendor, "/trainer/cohorts")
    own, _ = console_env.signed_in("merchant", merchant_id=MERCHANT)
    assert cohort_id in page(own, "/trainer/cohorts")
    other, _ = console_env.signed_in("merchant", merchant_id="m-other")
    assert cohort_id not in page(other, "/trainer/cohorts")
    assert other.get(f"/trainer/cohorts/{cohort_id}").status_code == 404
    agent, _ = console_env.signed_in("agent")
    assert agent.get("/trainer/cohorts").status_code == 403


def test_start_is_refused_until_courseware_is_confirmed_then_starts(console_env: ConsoleEnv) -> None:
    h = console_env.services["training"]
    _, cohort_id = open_cohort(console_env, 3)
    client, _ = console_env.signed_in("trainer")
    html = page(client, f"/trainer/cohorts/{cohort_id}")
    assert 'data-testid="start-cohort"' in html and 'data-testid="admitted-count">0<' in html
    client.post(f"/trainer/cohorts/{cohort_id}/start", data={"csrf_token": csrf_token(html)})
    refused = page(client, f"/trainer/cohorts/{cohort_id}")
    assert "培训还不能开始" in refused and "商家对课件的确认" in refused
    assert service_cohort(h, cohort_id)["status"] == "planned"

    merchant, _ = console_env.signed_in("merchant", merchant_id=MERCHANT)
    mhtml = page(merchant, f"/trainer/cohorts/{cohort_id}")
    assert "课件等待您确认" in mhtml and 'data-testid="start-cohort"' not in mhtml
    token = csrf_token(mhtml)
    assert merchant.post(f"/trainer/cohorts/{cohort_id}/start", data={"csrf_token": token}).status_code == 403


# --- courseware ------------------------------------------------------------------------------------------


def test_trainer_adds_courseware_and_merchant_rejects_then_confirms(console_env: ConsoleEnv) -> None:
    h = console_env.services["training"]
    _, cohort_id = open_cohort(console_env, 3)
    url = f"/trainer/cohorts/{cohort_id}/courseware"
    trainer, _ = console_env.signed_in("trainer")
    html = page(trainer, url)
    assert "课件" in html and "还没有课件" in html and "双十二话术" in html  # the order's requirements
    token = csrf_token(html)

    bad = trainer.post(
        url, data={"csrf_token": token, "title": "话术", "topics": ["scripts"], "url": "not-a-link"}
    )
    assert bad.status_code == 422
    assert "请输入以 http:// 或 https:// 开头的网址" in bad.get_data(as_text=True)
    ok = trainer.post(
        url,
        data={
            "csrf_token": token,
            "title": "双十二话术",
            "topics": ["scripts", "faq"],
            "url": "https://kb.example.com/s",
        },
    )
    assert ok.status_code == 302
    upload = trainer.post(
        url,
        data={
            "csrf_token": token,
            "title": "产品手册",
            "topics": ["business"],
            "file": (_pdf(), "产品手册.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert upload.status_code == 302, upload.get_data(as_text=True)[:2000]
    refused = trainer.post(
        url,
        data={
            "csrf_token": token,
            "title": "工具",
            "topics": ["business"],
            "file": (io.BytesIO(b"MZ\x90\x00\x03\x00\x00\x00" * 8), "工具.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 415 and "不支持该文件类型" in refused.get_data(as_text=True)
    ware = h.client.get(f"/api/v1/cohorts/{cohort_id}/courseware", headers=h.auth("trainer")).get_json()
    assert [i["title"] for i in ware["items"]] == ["双十二话术", "产品手册"] and ware["status"] == "pending"
    file_item = ware["items"][1]
    download = trainer.get(f"{url}/{file_item['id']}/file")
    assert download.status_code == 200 and download.data == _pdf().getvalue()
    assert "attachment" in download.headers["Content-Disposition"]

    merchant, _ = console_env.signed_in("merchant", merchant_id=MERCHANT)
    html = page(merchant, url)
    assert 'data-testid="confirm-courseware"' in html and 'data-testid="add-courseware"' not in html
    token = csrf_token(html)
    empty = merchant.post(f"{url}/reject", data={"csrf_token": token, "reason": " "})
    assert empty.status_code == 422 and "必填" in empty.get_data(as_text=True)
    assert (
        merchant.post(f"{url}/reject", data={"csrf_token": token, "reason": "缺少退换货话术"}).status_code
        == 302
    )
    html = page(merchant, url)
    assert "已驳回" in html and "缺少退换货话术" in html
    assert merchant.post(f"{url}/confirm", data={"csrf_token": token}).status_code == 302
    assert "已确认" in page(trainer, url)
    assert service_cohort(h, cohort_id)["courseware_status"] == "confirmed"

    trainer_token = csrf_token(page(trainer, url))
    assert trainer.post(f"{url}/confirm", data={"csrf_token": trainer_token}).status_code == 403
    other, _ = console_env.signed_in("merchant", merchant_id="m-other")
    other_token = csrf_token(page(other, "/trainer/cohorts"))
    assert other.post(f"{url}/confirm", data={"csrf_token": other_token}).status_code == 404
    assert other.get(f"{url}/{file_item['id']}/file").status_code == 404


def _pdf() -> Any:
    return io.BytesIO(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")


# --- the assessment grid ----------------------------------------------------------------------------------


def test_assessment_grid_bulk_save_per_cell_errors_and_admission(console_env: ConsoleEnv) -> None:
    h = console_env.services["training"]
    _, cohort_id = open_cohort(console_env, 30)
    ready(h, cohort_id)
    url = f"/trainer/cohorts/{cohort_id}/assessments"
    trainer, _ = console_env.signed_in("trainer")
    html = page(trainer, url)
    assert len(ROW.findall(html)) == 30
    assert 'aria-label="客服00 测验分数"' in html and 'aria-label="客服29 模拟接待分数"' in html
    assert 'data-testid="save-assessments"' in html and 'name="rows-0-merchant_passed"' not in html
    trainees = sorted(service_cohort(h, cohort_id)["trainees"], key=lambda t: t["candidate_id"])
    ids = [t["candidate_id"] for t in trainees]

    scores = {
        cid: {
            "quiz_score": str(99 - i % 10) if i < 24 else "70",
            "simulation_score": str(90 - i % 5) if i < 24 else "75",
            "trainer_passed": "yes" if i < 24 else "no",
        }
        for i, cid in enumerate(ids)
    }
    wrong = {
        **scores,
        ids[3]: {**scores[ids[3]], "quiz_score": "101"},
        ids[5]: {**scores[ids[5]], "simulation_score": "80.555"},
    }
    refused = trainer.post(url, data=grid_form(html, wrong))
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "没有保存任何内容" in body
    assert body.count('data-testid="cell-error"') == 2
    assert "请输入 0 到 100 之间的分数" in body and "最多两位小数" in body
    row3 = body[body.index(f'data-candidate-id="{ids[3]}"') :]
    assert 'aria-invalid="true"' in row3[: row3.index("</tr>")]
    assert 'value="101"' in row3[: row3.index("</tr>")]  # what the trainer typed is kept for correcting
    assert all(t["quiz_score"] is None for t in service_cohort(h, cohort_id)["trainees"])  # all or nothing

    # another trainer saves a cell meanwhile: this page's stale copy of it is not sent back
    other = h.client.put(
        f"/api/v1/cohorts/{cohort_id}/trainees/{ids[29]}/assessment",
        json={"notes": "补考"},
        headers=h.auth("trainer"),
    )
    assert other.status_code == 200, other.get_json()
    assert trainer.post(url, data=grid_form(html, scores)).status_code == 302
    saved = {t["candidate_id"]: t for t in service_cohort(h, cohort_id)["trainees"]}
    assert saved[ids[0]]["quiz_score"] == 99 and saved[ids[0]]["trainer_passed"] is True
    assert saved[ids[29]]["trainer_passed"] is False and saved[ids[29]]["notes"] == "补考"
    saved_page = page(trainer, url)
    assert (
        "已保存：30 名学员已更新" in saved_page and "待定" in saved_page
    )  # merchant's verdict still missing
    trainer.get(f"/lang/en?next={url}")
    assert "Quiz score" in page(trainer, url) and 'aria-label="客服00 Quiz score"' in page(trainer, url)
    trainer.get(f"/lang/zh?next={url}")
    again = trainer.post(url, data=grid_form(page(trainer, url), {}))
    assert again.status_code == 302 and "没有改动" in page(trainer, url)

    merchant, _ = console_env.signed_in("merchant", merchant_id=MERCHANT)
    mhtml = page(merchant, url)
    assert 'name="rows-0-quiz_score"' not in mhtml and 'aria-label="客服00 商家评定"' in mhtml
    verdicts = {cid: {"merchant_passed": "yes" if i < 24 else "no"} for i, cid in enumerate(ids)}
    assert merchant.post(url, data=grid_form(mhtml, verdicts)).status_code == 302
    assert all(
        t["merchant_passed"] is (t["candidate_id"] in ids[:24])
        for t in service_cohort(h, cohort_id)["trainees"]
    )

    cohort_page = page(trainer, f"/trainer/cohorts/{cohort_id}")
    trainer.post(f"/trainer/cohorts/{cohort_id}/complete", data={"csrf_token": csrf_token(cohort_page)})
    done = page(trainer, f"/trainer/cohorts/{cohort_id}")
    assert "已完成" in done and 'data-testid="admitted-count">20<' in done
    assert done.count('data-testid="admitted-row"') == 20 and done.count('data-testid="waitlisted-row"') == 4
    assert done.count('data-testid="not-admitted-row"') == 6
    assert "测验分数 70 低于合格线 80" in done and "培训老师未通过该学员" in done
    assert "评定已为最终结果" in page(merchant, url)  # the grid is read-only once completed

    # an admitted trainee withdraws: the best waitlisted passer takes the place
    first = next(
        t for t in service_cohort(h, cohort_id)["trainees"] if t["rank"] == 1 and t["status"] == "admitted"
    )
    withdraw_url = f"/trainer/cohorts/{cohort_id}/trainees/{first['candidate_id']}/withdraw"
    assert withdraw_url in done
    form = page(trainer, withdraw_url)
    empty = trainer.post(withdraw_url, data={"csrf_token": csrf_token(form), "reason": ""})
    assert empty.status_code == 422 and "必填" in empty.get_data(as_text=True)
    assert (
        trainer.post(withdraw_url, data={"csrf_token": csrf_token(form), "reason": "另有工作"}).status_code
        == 302
    )
    after = page(trainer, f"/trainer/cohorts/{cohort_id}")
    assert "递补录取" in after and "已退出：另有工作" in after
    assert 'data-testid="admitted-count">20<' in after and after.count('data-testid="waitlisted-row"') == 3
    assert merchant.get(withdraw_url).status_code == 403


def test_grid_is_read_only_before_start_and_for_merchant_of_vendor_assessed_project(
    console_env: ConsoleEnv,
) -> None:
    h = console_env.services["training"]
    _, planned = open_cohort(console_env, 2)
    trainer, _ = console_env.signed_in("trainer")
    html = page(trainer, f"/trainer/cohorts/{planned}/assessments")
    assert "培训开始后才能录入考核" in html and 'name="rows-0-quiz_score"' not in html
    refused = trainer.post(f"/trainer/cohorts/{planned}/assessments", data={"csrf_token": csrf_token(html)})
    assert refused.status_code == 409

    _, vendor_assessed = open_cohort(console_env, 2, assessor="vendor")
    ready(h, vendor_assessed)
    merchant, _ = console_env.signed_in("merchant", merchant_id=MERCHANT)
    mhtml = page(merchant, f"/trainer/cohorts/{vendor_assessed}/assessments")
    assert "仅由培训老师考核" in mhtml and "<select" not in mhtml and "商家评定" not in mhtml
    supervisor, _ = console_env.signed_in("supervisor")
    shtml = page(supervisor, f"/trainer/cohorts/{vendor_assessed}/assessments")
    assert 'name="rows-0-quiz_score"' not in shtml
    refused = supervisor.post(
        f"/trainer/cohorts/{vendor_assessed}/assessments", data={"csrf_token": csrf_token(shtml)}
    )
    assert refused.status_code == 403
