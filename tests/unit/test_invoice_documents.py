"""services.billing.invoice_documents: an invoice's lines (CSV/XLSX), the accounting system's CSV and the
printable PDF, over invoice views built here with the seed's figures (seed 000 §10.2–10.3)."""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
from openpyxl import load_workbook
from PIL import Image

from services.billing import pricing
from services.billing.invoice_documents import (
    ACCOUNTING_COLUMNS,
    INVOICE_LINE_COLUMNS,
    KNOWN_FONT_PATHS,
    LINE_KIND_LABELS,
    STATUS_LABELS,
    PdfFontMissing,
    accounting_rows,
    document_name,
    find_font,
    invoice_line_rows,
    invoice_pdf,
)
from shared.config import project_root
from shared.tabular import to_csv, to_xlsx

D = Decimal
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", project_root() / "test-artifacts" / "screenshots"))


# --- views as services.billing.invoice_queries.invoice_view gives them ------------------------------------


def _line(seq: int, kind: str, description: str, quantity: str, unit: str, price: str, amount: str) -> dict:
    return {
        "id": f"line-{seq}",
        "seq": seq,
        "kind": kind,
        "description": description,
        "quantity": D(quantity),
        "unit": unit,
        "unit_price": D(price),
        "amount": D(amount),
        "price_list_id": "pl-1",
        "sources": {},
    }


def _view(**overrides: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": "inv-1",
        "kind": "invoice",
        "number": "FP2026-00001",
        "period": "2026-11",
        "project_id": "prj-hz-seats",
        "merchant_id": "m-hz-001",
        "company_name": "杭州云店旗舰店",
        "status": "issued",
        "overdue": False,
        "days_overdue": 0,
        "currency": "CNY",
        "subtotal": D("40000.00"),
        "tax_rate": D("0.060000"),
        "tax": D("2400.00"),
        "total": D("42400.00"),
        "paid": D("0.00"),
        "credited": D("0.00"),
        "balance": D("42400.00"),
        "issued_on": dt.date(2026, 12, 1),
        "due_on": dt.date(2026, 12, 31),
        "credited_invoice_id": None,
        "credited_invoice_number": None,
        "reason": None,
        "lines": [
            _line(
                1,
                "seats",
                "坐席月费 2026-11-01…2026-11-30: 300 坐席日 ÷ 30 天",
                "10.0000",
                "坐席月",
                "4000.00",
                "40000.00",
            )
        ],
        "payments": [],
        "credit_notes": [],
        "warnings": [],
        "created_at": dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC),
        "calculated_at": dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC),
        "issued_at": dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC),
    }
    view.update(overrides)
    return view


def seats_invoice() -> dict[str, Any]:
    """10 seats × 4,000.00 = 40,000.00 + 6% VAT 2,400.00 = 42,400.00, paid in full, then credited 1,060.00:
    its balance is a credit of 1,060.00 to the merchant."""
    return _view(
        status="paid",
        paid=D("42400.00"),
        credited=D("-1060.00"),
        balance=D("-1060.00"),
        payments=[
            {
                "id": "pay-1",
                "amount": D("42400.00"),
                "paid_on": dt.date(2026, 12, 20),
                "reference": "招商银行 20261220-0042",
                "recorded_at": dt.datetime(2026, 12, 20, 3, 0, tzinfo=dt.UTC),
                "recorded_by": "finance-1",
            }
        ],
        credit_notes=[
            {
                "id": "cn-1",
                "number": "HC2026-00001",
                "total": D("-1060.00"),
                "issued_on": dt.date(2026, 12, 22),
                "reason": "投诉成立:11 月 12 日漏回复",
            }
        ],
    )


def credit_note() -> dict[str, Any]:
    return _view(
        id="cn-1",
        kind="credit_note",
        number="HC2026-00001",
        status="issued",
        subtotal=D("-1000.00"),
        tax=D("-60.00"),
        total=D("-1060.00"),
        balance=D("0.00"),
        issued_on=dt.date(2026, 12, 22),
        due_on=None,
        credited_invoice_id="inv-1",
        credited_invoice_number="FP2026-00001",
        reason="投诉成立:11 月 12 日漏回复,按合同赔付 1,000.00 元",
        lines=[_line(1, "complaint_credit", "投诉赔付 TS-2026-0042", "1.0000", "项", "-1000.00", "-1000.00")],
        issued_at=dt.datetime(2026, 12, 22, 2, 0, tzinfo=dt.UTC),
    )


def hours_invoice() -> dict[str, Any]:
    """1,600 agent-hours × 25.00 = 40,000.00, and 20 trainees × 8 h × 15.00 = 2,400.00 of training."""
    return _view(
        id="inv-2",
        number="FP2026-00002",
        project_id="prj-sz-hours",
        merchant_id="m-sz-002",
        company_name="深圳优品家居专营店",
        status="partly_paid",
        overdue=True,
        days_overdue=5,
        subtotal=D("42400.00"),
        tax=D("2544.00"),
        total=D("44944.00"),
        paid=D("20000.00"),
        balance=D("24944.00"),
        issued_on=dt.date(2026, 12, 2),
        due_on=dt.date(2026, 12, 16),
        lines=[
            _line(1, "hours", "计时服务费 2026-11: 考勤工时", "1600.0000", "工时", "25.00", "40000.00"),
            _line(
                2,
                "training",
                "培训费 新人班 2026-11-03: 20 人 × 8 小时",
                "160.0000",
                "人·时",
                "15.00",
                "2400.00",
            ),
        ],
        payments=[
            {
                "id": "pay-2",
                "amount": D("20000.00"),
                "paid_on": dt.date(2026, 12, 10),
                "reference": None,
                "recorded_at": dt.datetime(2026, 12, 10, 3, 0, tzinfo=dt.UTC),
                "recorded_by": "finance-1",
            }
        ],
    )


def draft_invoice() -> dict[str, Any]:
    return _view(id="inv-3", number=None, status="draft", issued_on=None, due_on=None, issued_at=None)


def long_invoice() -> dict[str, Any]:
    """60 lines: more than a page holds."""
    lines = [
        _line(
            seq,
            "correction",
            f"更正 2026-11-{seq % 30 + 1:02d}: 坐席 A{seq:03d} 的工时",
            "1.0000",
            "项",
            "100.00",
            "100.00",
        )
        for seq in range(1, 61)
    ]
    return _view(
        id="inv-4",
        number="FP2026-00004",
        lines=lines,
        subtotal=D("6000.00"),
        tax=D("360.00"),
        total=D("6360.00"),
        balance=D("6360.00"),
    )


# --- the lines of one document --------------------------------------------------------------------------


def test_line_rows_are_one_row_per_line_with_the_kind_in_chinese() -> None:
    rows = invoice_line_rows(hours_invoice())
    assert rows == [
        [
            "FP2026-00002",
            "2026-11",
            "prj-sz-hours",
            "深圳优品家居专营店",
            1,
            "计时服务费",
            "计时服务费 2026-11: 考勤工时",
            D("1600.0000"),
            "工时",
            D("25.00"),
            D("40000.00"),
        ],
        [
            "FP2026-00002",
            "2026-11",
            "prj-sz-hours",
            "深圳优品家居专营店",
            2,
            "培训费",
            "培训费 新人班 2026-11-03: 20 人 × 8 小时",
            D("160.0000"),
            "人·时",
            D("15.00"),
            D("2400.00"),
        ],
    ]
    assert len(rows[0]) == len(INVOICE_LINE_COLUMNS)


def test_line_rows_of_a_draft_say_draft_and_follow_the_line_order() -> None:
    view = draft_invoice()
    view["lines"] = [*hours_invoice()["lines"]][::-1]  # the view's order is not trusted: seq decides
    rows = invoice_line_rows(view)
    assert [(r[0], r[4]) for r in rows] == [("草稿", 1), ("草稿", 2)]
    assert document_name(view) == "草稿-2026-11-prj-hz-seats"
    assert document_name(seats_invoice()) == "FP2026-00001"


def test_line_csv_has_chinese_headers_and_plain_figures() -> None:
    text = to_csv(INVOICE_LINE_COLUMNS, invoice_line_rows(seats_invoice())).decode("utf-8-sig")
    header, row, end = text.split("\r\n")
    assert header == "单据号,账期,项目编号,客户名称,序号,类别,说明,数量,单位,单价(元),金额(元)"
    assert row == (
        "FP2026-00001,2026-11,prj-hz-seats,杭州云店旗舰店,1,坐席月费,"
        "坐席月费 2026-11-01…2026-11-30: 300 坐席日 ÷ 30 天,10.0000,坐席月,4000.00,40000.00"
    )
    assert end == ""


def test_credit_note_lines_stay_negative_in_the_xlsx() -> None:
    book = load_workbook(io.BytesIO(to_xlsx(INVOICE_LINE_COLUMNS, invoice_line_rows(credit_note()))))
    sheet = book.active
    assert [c.value for c in sheet[1]] == [c.zh for c in INVOICE_LINE_COLUMNS]
    number, *_, price, amount = sheet[2]
    assert (number.value, sheet[2][5].value) == ("HC2026-00001", "投诉赔付抵扣")
    # typed cells: numbers Excel can sum, shown with two places
    assert (price.value, amount.value, amount.number_format) == (-1000, -1000, "#,##0.00")
    assert sheet.max_row == 2  # no total row


def test_every_line_kind_and_status_has_a_chinese_label() -> None:
    assert set(LINE_KIND_LABELS) == set(pricing.LINE_KINDS)
    assert set(STATUS_LABELS) == set(pricing.STATUSES)


# --- the accounting system's CSV ------------------------------------------------------------------------


def test_accounting_rows_are_the_issued_documents_by_date_with_credit_notes_negative() -> None:
    approved = _view(id="inv-5", number=None, status="approved", issued_on=None)
    views = [credit_note(), draft_invoice(), hours_invoice(), approved, seats_invoice()]
    rows = accounting_rows(views)
    assert [r[1] for r in rows] == ["FP2026-00001", "FP2026-00002", "HC2026-00001"]  # no draft, no approved
    assert rows[0] == [
        dt.date(2026, 12, 1),
        "FP2026-00001",
        "发票",
        None,
        "m-hz-001",
        "杭州云店旗舰店",
        "prj-hz-seats",
        "2026-11",
        D("40000.00"),
        D("0.060000"),
        D("2400.00"),
        D("42400.00"),
        D("42400.00"),
        D("-1060.00"),
        dt.date(2026, 12, 31),
        "已结清",
    ]
    assert rows[1][-1] == "部分收款(逾期5天)"
    note = rows[2]
    assert note[2:4] == ["红字发票", "FP2026-00001"]
    assert note[8:12] == [D("-1000.00"), D("0.060000"), D("-60.00"), D("-1060.00")]
    # stored with the wrong sign, a credit note is still booked negative
    positive = credit_note() | {"subtotal": D("1000.00"), "tax": D("60.00"), "total": D("1060.00")}
    assert accounting_rows([positive])[0][8:12] == note[8:12]


def test_accounting_csv_headers_and_a_credit_note_row() -> None:
    text = to_csv(ACCOUNTING_COLUMNS, accounting_rows([credit_note()])).decode("utf-8-sig")
    header, row, _ = text.split("\r\n")
    assert header == (
        "开票日期,单据号,类型,原发票号,客户编号,客户名称,项目编号,账期,不含税金额,税率,税额,价税合计,"
        "已收款,余额,到期日,状态"
    )
    assert row == (
        "2026-12-22,HC2026-00001,红字发票,FP2026-00001,m-hz-001,杭州云店旗舰店,prj-hz-seats,2026-11,"
        "-1000.00,0.060000,-60.00,-1060.00,0.00,0.00,,已开具"
    )


def test_accounting_rows_read_the_json_form_of_dates() -> None:
    view = seats_invoice() | {"issued_on": "2026-12-01", "due_on": "2026-12-31"}
    row = accounting_rows([view])[0]
    assert (row[0], row[14]) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))


# --- the PDF's font -------------------------------------------------------------------------------------


def _latin_only_font(path: Path) -> Path:
    """A valid TrueType font with one glyph, "A": a font set by mistake that has no Chinese."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    pen = TTGlyphPen(None)
    pen.moveTo((0, 0))
    pen.lineTo((500, 0))
    pen.lineTo((250, 700))
    pen.closePath()
    glyph = pen.glyph()
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder([".notdef", "A"])
    builder.setupCharacterMap({ord("A"): "A"})
    builder.setupGlyf({".notdef": glyph, "A": glyph})
    builder.setupHorizontalMetrics({".notdef": (500, 0), "A": (500, 0)})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "LatinOnly", "styleName": "Regular"})
    builder.setupOS2()
    builder.setupPost()
    builder.save(str(path))
    return path


def test_no_font_is_an_error_naming_the_package(tmp_path: Path) -> None:
    with pytest.raises(PdfFontMissing, match=r"install the fonts-noto-cjk package") as missing:
        find_font(candidates=(tmp_path / "NotoSansCJK-Regular.ttc",))
    assert str(tmp_path) in str(missing.value)
    with pytest.raises(PdfFontMissing, match=r"BILLING_PDF_FONT is '/nowhere/font.ttc', which is not a file"):
        invoice_pdf(seats_invoice(), font="/nowhere/font.ttc")


def test_a_font_without_chinese_is_refused(tmp_path: Path) -> None:
    latin = _latin_only_font(tmp_path / "latin.ttf")
    with pytest.raises(PdfFontMissing, match="has no Chinese glyphs"):
        find_font(latin)
    junk = tmp_path / "junk.ttf"
    junk.write_bytes(b"not a font")
    with pytest.raises(PdfFontMissing, match="not a readable font file"):
        find_font(junk)


def test_the_installed_font_is_the_simplified_chinese_face() -> None:
    from fontTools.ttLib import TTFont

    font = find_font()
    assert font.path in KNOWN_FONT_PATHS
    with TTFont(str(font.path), fontNumber=font.face, lazy=True) as face:
        family = face["name"].getDebugName(1)
    # Noto Sans CJK's first face is the Japanese one; WenQuanYi has a single Chinese face
    assert family.endswith(" SC") or "WenQuanYi" in family


# --- the PDF --------------------------------------------------------------------------------------------


def _pages_text(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    return [document[i].get_textpage().get_text_range() for i in range(len(document))]


@pytest.fixture(scope="module")
def pdfs() -> Iterator[dict[str, bytes]]:
    """Each document rendered once (a PDF takes most of a second: the font is read and subset), with
    fpdf2's warnings recorded: a glyph missing from the font is a warning there, and a blank in print."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("fpdf")
    logger.addHandler(handler)
    try:
        yield {
            "seats": invoice_pdf(seats_invoice()),
            "hours": invoice_pdf(hours_invoice(), vendor_name="云客服(杭州)外包服务有限公司"),
            "credit": invoice_pdf(credit_note()),
            "draft": invoice_pdf(draft_invoice()),
            "long": invoice_pdf(long_invoice()),
            "warnings": "\n".join(r.getMessage() for r in records).encode(),
        }
    finally:
        logger.removeHandler(handler)


def test_no_glyph_is_missing_from_the_font(pdfs: dict[str, bytes]) -> None:
    assert pdfs["warnings"] == b""


def test_the_invoice_pdf_says_what_it_is_who_pays_and_how_much(pdfs: dict[str, bytes]) -> None:
    assert pdfs["seats"].startswith(b"%PDF-")
    (text,) = _pages_text(pdfs["seats"])
    for said in (
        "服务费结算单",
        "编号 FP2026-00001",
        "杭州云店旗舰店(商户编号 m-hz-001)",
        "prj-hz-seats",
        "2026-11",
        "2026-12-01",
        "2026-12-31",
        "已结清",
        "坐席月费 2026-11-01…2026-11-30: 300 坐席日 ÷ 30 天",
        "坐席月",
        "4,000.00",
        "40,000.00",
        "6%",
        "2,400.00",
        "价税合计",
        "42,400.00",
        "招商银行 20261220-0042",
        "HC2026-00001",
        "不是增值税发票",
        "第 1 / 1 页",
    ):
        assert said in text, said
    # paid in full, then credited: the merchant is owed 1,060.00
    assert "贷方余额" in text and "1,060.00" in text and "-1,060.00" in text  # the credit note's own total


def test_the_hours_invoice_prints_the_quantities_and_what_is_still_owed(pdfs: dict[str, bytes]) -> None:
    (text,) = _pages_text(pdfs["hours"])
    for said in (
        "云客服(杭州)外包服务有限公司",
        "1,600",
        "工时",
        "25.00",
        "160",
        "人·时",
        "15.00",
        "42,400.00",
        "2,544.00",
        "44,944.00",
        "20,000.00",
        "余额(应付)",
        "24,944.00",
        "部分收款(逾期5天)",
    ):
        assert said in text, said
    assert "贷方余额" not in text


def test_the_credit_note_pdf_names_the_invoice_it_corrects_and_why(pdfs: dict[str, bytes]) -> None:
    (text,) = _pages_text(pdfs["credit"])
    for said in (
        "红字结算单(冲红)",
        "编号 HC2026-00001",
        "原结算单",
        "FP2026-00001",
        "冲红原因：投诉成立:11 月 12 日漏回复,按合同赔付 1,000.00 元",
        "-1,000.00",
        "-60.00",
        "-1,060.00",
    ):
        assert said in text, said
    assert "收款记录" not in text and "服务费结算单" not in text


def test_a_draft_pdf_has_no_number_and_says_draft(pdfs: dict[str, bytes]) -> None:
    (text,) = _pages_text(pdfs["draft"])
    assert "草稿(未开具,无编号)" in text
    assert "FP20" not in text and "收款记录" not in text


def test_a_long_invoice_continues_on_a_second_page_under_the_same_headings(pdfs: dict[str, bytes]) -> None:
    first, second = _pages_text(pdfs["long"])
    assert "第 1 / 2 页" in first and "第 2 / 2 页" in second
    assert "服务费结算单 FP2026-00004 · 账期 2026-11(续)" in second
    for heading in ("序号", "项目", "数量", "单位", "单价", "金额"):
        assert heading in second, heading
    assert "坐席 A001" in first and "坐席 A060" in second
    assert "价税合计" in second and "6,360.00" in second


def test_the_same_view_gives_the_same_pdf(pdfs: dict[str, bytes]) -> None:
    assert invoice_pdf(seats_invoice()) == pdfs["seats"]


def test_the_pdf_is_small_thanks_to_font_subsetting(pdfs: dict[str, bytes]) -> None:
    # the font file is 20 MB; the glyphs a page uses are a few hundred
    assert len(pdfs["seats"]) < 100_000, len(pdfs["seats"])


# --- rendering ------------------------------------------------------------------------------------------


def _dark(image: Image.Image) -> int:
    """Pixels darker than mid-grey."""
    histogram = image.convert("L").histogram()
    return sum(histogram[:128])


def test_page_one_renders_with_ink_where_the_title_is(pdfs: dict[str, bytes]) -> None:
    document = pdfium.PdfDocument(pdfs["seats"])
    page = document[0]
    scale = 2  # 144 dpi
    image = page.render(scale=scale).to_pil().convert("RGB")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    image.save(ARTIFACTS / "invoice-pdf.png")
    width, height = image.size
    assert (width, height) == (round(595.28 * scale), round(841.89 * scale))  # A4 in points, scaled
    assert _dark(image) > width * height // 100  # not blank: text and rules cover over 1% of the page

    textpage = page.get_textpage()
    searcher = textpage.search("服务费结算单")
    found = searcher.get_next()
    assert found is not None
    index, count = found
    left, bottom, _, top = textpage.get_charbox(index)
    right = textpage.get_charbox(index + count - 1)[2]
    _, page_height = page.get_size()
    box = (left * scale, (page_height - top) * scale, right * scale, (page_height - bottom) * scale)
    title = image.crop(tuple(round(v) for v in box))
    # six glyphs of 20 pt, drawn bold: a good share of the box is ink (an empty glyph would leave it white)
    assert _dark(title) > title.width * title.height // 5
    # and the title is near the top, centred
    assert box[1] < height * 0.1 and abs((box[0] + box[2]) / 2 - width / 2) < width * 0.05
