"""shared.tabular: the one writer (CSV with BOM, XLSX) and reader (UTF-8, GBK, GB18030, XLSX) of tables."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from flask import Flask
from openpyxl import Workbook, load_workbook

from services.billing.exports import PAYROLL_COLUMNS, ExportRow, payroll_rows
from services.scheduling.exports import ROSTER_COLUMNS, roster_rows
from shared import tabular
from shared.errors import BusinessRuleViolation
from shared.tabular import (
    XLSX_MIME,
    Column,
    FileRejected,
    decode_text,
    header_map,
    neutralise,
    read_rows,
    to_csv,
    to_xlsx,
)
from shared.web.downloads import export_response, negotiate_format

COLUMNS = (
    Column("name", "姓名"),
    Column("amount", "金额(元)", kind="money"),
    Column("hours", "工时", kind="number"),
    Column("day", "日期", kind="date"),
    Column("at", "时间", kind="datetime"),
    Column("current", "有效", kind="bool"),
)
ROW = [
    "=1+1",
    Decimal("-40"),
    Decimal("7.50"),
    dt.date(2026, 11, 2),
    dt.datetime(2026, 11, 2, 1, 30, tzinfo=dt.UTC),
    True,
]


@pytest.mark.parametrize("text", ["=SUM(A1)", "+86 138", "-2+3", "@A1", "\tx", "\rx"])
def test_every_formula_trigger_is_neutralised(text: str) -> None:
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["张三", "a=b", " =1", "'quoted", ""])
def test_other_text_is_left_alone(text: str) -> None:
    assert neutralise(text) == text


def test_csv_has_bom_crlf_chinese_headers_and_typed_cells_stay_numbers() -> None:
    body = to_csv(COLUMNS, [ROW, [None] * 6])
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8")[1:]
    assert text.split("\r\n") == [
        "姓名,金额(元),工时,日期,时间,有效",
        "'=1+1,-40.00,7.50,2026-11-02,2026-11-02T09:30:00+08:00,是",
        ",,,,,",
        "",
    ]


def test_csv_english_headers_and_values() -> None:
    text = to_csv(COLUMNS, [ROW], lang="en").decode("utf-8-sig")
    assert text.startswith("name,amount,hours,day,at,current\r\n")
    assert text.endswith(",yes\r\n")


def test_a_negative_number_typed_as_text_is_still_neutralised() -> None:
    # a user's text that looks like a number is not trusted: only our typed cells are written raw
    assert to_csv([Column("note", "备注")], [["-40.00"]]).decode("utf-8-sig").split("\r\n")[1] == "'-40.00"


def test_xlsx_cells_are_typed_and_text_is_never_a_formula() -> None:
    book = load_workbook(io.BytesIO(to_xlsx(COLUMNS, [ROW, ["a\x01b", None, 3, None, None, False]], "zh")))
    ws = book.worksheets[0]
    assert [c.value for c in ws[1]] == ["姓名", "金额(元)", "工时", "日期", "时间", "有效"]
    name, amount, hours, day, at, current = ws[2]
    assert (name.value, name.data_type) == ("=1+1", "s")
    assert (amount.value, amount.data_type, amount.number_format) == (-40, "n", "#,##0.00")
    assert (hours.value, hours.data_type) == (7.5, "n")
    assert day.is_date and day.value == dt.datetime(2026, 11, 2)
    assert at.is_date and at.value == dt.datetime(2026, 11, 2, 9, 30)  # Beijing time
    assert current.value == "是"
    assert ws["A3"].value == "ab"  # control characters Excel refuses are dropped
    assert ws.freeze_panes == "A2"


def test_the_xlsx_sheet_xml_has_no_formula_element() -> None:
    body = to_xlsx([Column("name", "姓名")], [['=HYPERLINK("http://x")']], sheet="名单")
    sheet = zipfile.ZipFile(io.BytesIO(body)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet and b"HYPERLINK" in sheet


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_decode_reads_utf8_with_and_without_bom_gbk_and_gb18030(encoding: str) -> None:
    assert decode_text("姓名,城市\r\n张三,杭州\r\n".encode(encoding)) == "姓名,城市\r\n张三,杭州\r\n"


def test_gb18030_only_characters_are_read() -> None:
    text = "姓名\n𠮷野家\n"  # outside GBK: four bytes in GB18030
    assert decode_text(text.encode("gb18030")) == text


@pytest.mark.parametrize("raw", [b"name\n\xff\xfe\xfa\n", b"a,b\n\x00\x00\n"])
def test_undecodable_or_binary_bytes_are_refused(raw: bytes) -> None:
    with pytest.raises(FileRejected):
        decode_text(raw)


def test_read_rows_numbers_csv_lines_as_the_user_sees_them() -> None:
    raw = b'a,b\r\n1,"two\r\nlines"\r\n3,4\r\n'
    assert list(read_rows(raw)) == [(1, ["a", "b"]), (2, ["1", "two\r\nlines"]), (4, ["3", "4"])]


def test_read_rows_reports_the_line_of_bad_csv() -> None:
    rows = read_rows(b"a,b\n1,2\n" + b"x" * 200_000 + b",3\n")  # over the csv module's field limit
    assert [next(rows), next(rows)] == [(1, ["a", "b"]), (2, ["1", "2"])]
    with pytest.raises(FileRejected, match="Line 3 is not valid CSV") as caught:
        next(rows)
    assert caught.value.line == 3


def test_read_rows_reads_the_first_sheet_of_a_workbook() -> None:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["姓名", "日期", "分数", "数量", "备注"])
    ws.append(["张三", dt.date(2026, 9, 1), 88.5, 90, None])
    ws.append([None, None, None, None, None])
    ws["G1"] = None
    out = io.BytesIO()
    book.save(out)
    assert list(read_rows(out.getvalue())) == [
        (1, ["姓名", "日期", "分数", "数量", "备注"]),
        (2, ["张三", "2026-09-01", "88.5", "90", ""]),
        (3, ["", "", "", "", ""]),
    ]


def test_a_damaged_workbook_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("xl/workbook.xml", "not xml")
    with pytest.raises(FileRejected, match="cannot be read"):
        list(read_rows(out.getvalue()))


def test_header_map_matches_keys_english_and_chinese_headers() -> None:
    columns = (Column("project_id", "项目编号"), Column("sales", "销售额", "Sales Amount"))
    assert header_map(columns, ["\ufeff项目编号", " SALES amount "]) == ({"project_id": 0, "sales": 1}, [])
    assert header_map(columns, ["project_id", "x"]) == ({"project_id": 0}, ["sales"])


def test_format_negotiation_and_the_download() -> None:
    app = Flask(__name__)
    with app.test_request_context(headers={"Accept": XLSX_MIME}):
        assert negotiate_format(None) == "xlsx"
        assert negotiate_format("csv") == "csv"
        response = export_response(COLUMNS, [ROW], filename="工资", fmt="xlsx")
        assert response.content_type == XLSX_MIME
        assert "filename*=UTF-8''%E5%B7%A5%E8%B5%84.xlsx" in response.headers["Content-Disposition"]
    with app.test_request_context(headers={"Accept": "*/*"}):
        assert negotiate_format(None) == "csv"
    with app.test_request_context():
        assert negotiate_format(None) == "csv"


def test_an_xlsx_too_large_to_build_in_time_is_refused_pointing_to_csv(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tabular, "XLSX_MAX_ROWS", 2)
    with Flask(__name__).test_request_context():
        assert export_response(COLUMNS, [ROW, ROW], filename="x", fmt="xlsx").status_code == 200
        with pytest.raises(BusinessRuleViolation, match="ask for CSV") as refused:
            export_response(COLUMNS, [ROW, ROW, ROW], filename="x", fmt="xlsx")
        assert refused.value.extra == {"rule": "xlsx-row-limit", "rows": 3, "max_rows": 2}
        assert export_response(COLUMNS, [ROW, ROW, ROW], filename="x", fmt="csv").status_code == 200


def test_payroll_columns_name_money_as_money() -> None:
    # the hourly line is money (hours × rate): its column says so in both languages
    row = ExportRow(
        "a1",
        "李四",
        "p",
        "hourly",
        Decimal("3000.00"),
        [
            {"kind": "hours", "amount": Decimal("3200.00"), "explanation": "160 h × 20.00 CNY/h"},
            {"kind": "deduction", "amount": Decimal("-200.00"), "explanation": "penalty"},
        ],
    )
    rows = payroll_rows("r1", "2026-11", "approved", [row])
    named = {c.key: (c.zh, value) for c, value in zip(PAYROLL_COLUMNS, rows[0], strict=True)}
    assert named["hourly_pay"] == ("计时工资(元)", Decimal("3200.00"))
    assert named["deductions"] == ("扣款(元)", Decimal("-200.00"))
    assert all(c.kind == "money" for c in PAYROLL_COLUMNS if c.zh.endswith("(元)"))
    assert "hours" not in {c.key for c in PAYROLL_COLUMNS}


def test_roster_rows_put_uncovered_shifts_in_their_own_columns() -> None:
    day = dt.date(2026, 11, 2)
    view = {
        "items": [
            {"date": day, "shift": "morning", "start": "09:00", "end": "17:00", "hours": "8.00",
             "agent_id": "a1", "agent_name": "=x", "role": "active", "version": 1},
        ],
        "uncovered": [
            {"date": day, "shift": "night", "start": "00:00", "end": "08:00", "missing": 2,
             "rule": "one-shift-per-day"},
        ],
    }  # fmt: skip
    text = to_csv(ROSTER_COLUMNS, roster_rows(view), lang="en").decode("utf-8-sig").split("\r\n")
    assert text[0] == "date,shift,start,end,hours,agent_id,agent_name,role,version,uncovered,rule"
    assert text[1] == "2026-11-02,morning,09:00,17:00,8.00,a1,'=x,active,1,,"
    assert text[2] == "2026-11-02,night,00:00,08:00,,,,,,2,one-shift-per-day"
