"""The documents of an invoice (发票) or a credit note (红字发票/冲红), as pure functions over invoice views.

- ``INVOICE_LINE_COLUMNS`` / :func:`invoice_line_rows`: the lines of one document, for the CSV/XLSX
  download (``shared.web.downloads.export_response``);
- ``ACCOUNTING_COLUMNS`` / :func:`accounting_rows`: one row per *issued* document for the accounting
  system's import (凭证导入);
- :func:`invoice_pdf`: the printable A4 PDF in Chinese (服务费结算单 / 红字结算单).

The PDF is a statement of the service fee, not the VAT invoice: the legal fapiao (增值税发票) is issued
through the tax authority's system, so the title never says 发票 and the footer says so.

No Flask, no database: the views (``services.billing.invoice_queries.invoice_view``) come in, bytes or rows go
out. Dates may be ``datetime.date`` objects or ISO strings (the JSON form), both are accepted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.billing import pricing
from shared.money import format_money
from shared.tabular import Column

if TYPE_CHECKING:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

__all__ = [
    "ACCOUNTING_COLUMNS",
    "DRAFT_NUMBER",
    "FONT_PACKAGE",
    "INVOICE_LINE_COLUMNS",
    "KNOWN_FONT_PATHS",
    "LINE_KIND_LABELS",
    "STATUS_LABELS",
    "PdfFont",
    "PdfFontMissing",
    "accounting_rows",
    "document_name",
    "find_font",
    "invoice_line_rows",
    "invoice_pdf",
]

InvoiceView = Mapping[str, Any]

#: what a document without a number (draft or approved, not yet issued) is called in files
DRAFT_NUMBER = "草稿"

#: the Chinese name of each line kind; an unknown kind is shown by its key rather than failing the download
LINE_KIND_LABELS: dict[str, str] = {
    pricing.SEATS: "坐席月费",
    pricing.SURGE: "扩容加价",
    pricing.HOURS: "计时服务费",
    pricing.CONSULTATIONS: "按咨询量计费",
    pricing.TRAINING: "培训费",
    pricing.MINIMUM: "最低消费补足",
    pricing.COMPLAINT_CREDIT: "投诉赔付抵扣",
    pricing.TARGETS_CREDIT: "未达服务指标抵扣",
    pricing.CORRECTION: "更正",
}

STATUS_LABELS: dict[str, str] = {
    pricing.DRAFT: "草稿",
    pricing.APPROVED: "已审核",
    pricing.ISSUED: "已开具",
    pricing.PARTLY_PAID: "部分收款",
    pricing.PAID: "已结清",
    pricing.CREDITED: "已冲红",
}

_KIND_TITLES: dict[str, str] = {pricing.INVOICE: "发票", pricing.CREDIT_NOTE: "红字发票"}


# --- the lines of one document (CSV/XLSX) ---------------------------------------------------------------

INVOICE_LINE_COLUMNS: tuple[Column, ...] = (
    Column("number", "单据号"),
    Column("period", "账期"),
    Column("project_id", "项目编号"),
    Column("company_name", "客户名称"),
    Column("seq", "序号", kind="integer"),
    Column("kind", "类别"),
    Column("description", "说明"),
    Column("quantity", "数量", kind="number"),
    Column("unit", "单位"),
    Column("unit_price", "单价(元)", kind="money"),
    Column("amount", "金额(元)", kind="money"),
)


def invoice_line_rows(view: InvoiceView) -> list[list[Any]]:
    """One row per line, in ``seq`` order, under ``INVOICE_LINE_COLUMNS``. No total row: a spreadsheet
    sums the 金额 column itself, and a total row would be summed twice by whoever does."""
    number = view.get("number") or DRAFT_NUMBER
    return [
        [
            number,
            view["period"],
            view["project_id"],
            view.get("company_name"),
            line["seq"],
            LINE_KIND_LABELS.get(line["kind"], line["kind"]),
            line["description"],
            line["quantity"],
            line["unit"],
            line["unit_price"],
            line["amount"],
        ]
        for line in sorted(view["lines"], key=lambda line: line["seq"])
    ]


def document_name(view: InvoiceView) -> str:
    """The download's file name without extension: the number, or 草稿-<period>-<project> before issue."""
    if view.get("number"):
        return str(view["number"])
    return f"{DRAFT_NUMBER}-{view['period']}-{view['project_id']}"


# --- the accounting system's CSV ------------------------------------------------------------------------

ACCOUNTING_COLUMNS: tuple[Column, ...] = (
    Column("issued_on", "开票日期", kind="date"),
    Column("number", "单据号"),
    Column("kind", "类型"),
    Column("credited_invoice_number", "原发票号"),
    Column("merchant_id", "客户编号"),
    Column("company_name", "客户名称"),
    Column("project_id", "项目编号"),
    Column("period", "账期"),
    Column("subtotal", "不含税金额", kind="money"),
    Column("tax_rate", "税率", kind="number"),
    Column("tax", "税额", kind="money"),
    Column("total", "价税合计", kind="money"),
    Column("paid", "已收款", kind="money"),
    Column("balance", "余额", kind="money"),
    Column("due_on", "到期日", kind="date"),
    Column("status", "状态"),
)


def accounting_rows(views: Iterable[InvoiceView]) -> list[list[Any]]:
    """One row per issued invoice or credit note under ``ACCOUNTING_COLUMNS``, by issue date and number.

    Drafts and approved documents (no number yet) are left out: the accounting system books a document
    once it is issued, and a draft may still change or be discarded. A credit note's amounts are negative
    (红字), so that summing a column gives the net figure.
    """
    issued = [v for v in views if v.get("number")]
    issued.sort(key=lambda v: (_date(v.get("issued_on")) or dt.date.min, str(v["number"])))
    return [_accounting_row(view) for view in issued]


def _accounting_row(view: InvoiceView) -> list[Any]:
    credit = view["kind"] == pricing.CREDIT_NOTE
    return [
        _date(view.get("issued_on")),
        view["number"],
        _KIND_TITLES.get(view["kind"], view["kind"]),
        view.get("credited_invoice_number"),
        view["merchant_id"],
        view.get("company_name"),
        view["project_id"],
        view["period"],
        _red(view["subtotal"], credit),
        view["tax_rate"],
        _red(view["tax"], credit),
        _red(view["total"], credit),
        view["paid"],
        view["balance"],
        _date(view.get("due_on")),
        _status(view),
    ]


def _red(amount: Decimal, credit: bool) -> Decimal:
    """A credit note's figure as a negative amount whichever sign it was stored with (0 stays 0.00)."""
    return -abs(amount) if credit and amount else amount


def _status(view: InvoiceView) -> str:
    label = STATUS_LABELS.get(view["status"], view["status"])
    if view.get("overdue"):
        return f"{label}(逾期{view.get('days_overdue', 0)}天)"
    return label


def _date(value: dt.date | str | None) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value[:10])


# --- figures as printed ---------------------------------------------------------------------------------


def _money(value: Decimal) -> str:
    """``Decimal("42400")`` → ``"42,400.00"``: rounded half-up like every amount (format_money)."""
    return f"{Decimal(format_money(value)):,.2f}"


def _quantity(value: Decimal) -> str:
    """``10.0000`` → ``"10"``, ``1600.0000`` → ``"1,600"``, ``7.5000`` → ``"7.5"`` (no trailing zeros)."""
    text = f"{Decimal(value).normalize():,f}"
    return "0" if text in ("-0", "0") else text


def _rate(value: Decimal) -> str:
    """``0.060000`` → ``"6%"``, ``0.065`` → ``"6.5%"``."""
    return f"{(Decimal(value) * 100).normalize():f}%"


def _day(value: dt.date | str | None) -> str:
    day = _date(value)
    return day.isoformat() if day else "—"


# --- the PDF's font -------------------------------------------------------------------------------------

#: the Debian/Ubuntu package of the PDF's font (deploy/system-deps.sh and deploy/Dockerfile install it)
FONT_PACKAGE = "fonts-noto-cjk"

#: where a Chinese font is looked for when none is configured, first found wins. Noto Sans CJK is an
#: OpenType collection with CFF outlines, which fpdf2 embeds (and subsets) as it is; WenQuanYi is the
#: TrueType-outline fallback some older images carry.
KNOWN_FONT_PATHS: tuple[Path, ...] = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),  # Debian, Ubuntu: fonts-noto-cjk
    Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),  # Arch: noto-fonts-cjk
    Path("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc"),  # Fedora: google-noto-sans-cjk-fonts
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),  # Debian, Ubuntu: fonts-wqy-zenhei
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),  # Debian, Ubuntu: fonts-wqy-microhei
)

#: a glyph every document prints; a font without it (a Latin-only TTF set by mistake) is refused up front,
#: because fpdf2 would otherwise drop the missing glyphs and print an invoice of blanks
_PROBE = "结算单"


class PdfFontMissing(RuntimeError):
    """No usable Chinese font for the PDF: the service answers 503 (an installation problem, not the
    caller's)."""


@dataclass(frozen=True)
class PdfFont:
    """The PDF's font file and, for a collection (.ttc), the face to use."""

    path: Path
    face: int


def find_font(
    configured: str | Path | None = None, *, candidates: Sequence[Path] = KNOWN_FONT_PATHS
) -> PdfFont:
    """The PDF's font: ``configured`` (the ``BILLING_PDF_FONT`` setting, a file path) if given, else the
    first of ``candidates`` present. Raises :class:`PdfFontMissing` naming what to install.

    Remembered per process (reading a collection's names takes a moment), except a failure: a font
    installed after a 503 is found by the next request."""
    return _find_font(str(configured) if configured else None, tuple(candidates))


@lru_cache(maxsize=8)
def _find_font(configured: str | None, candidates: tuple[Path, ...]) -> PdfFont:
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise PdfFontMissing(
                f"BILLING_PDF_FONT is {configured!r}, which is not a file: point it at a .ttf, .otf or .ttc "
                f"font with Chinese glyphs, or unset it to use the {FONT_PACKAGE} package's font"
            )
        return PdfFont(path, _chinese_face(path))
    for path in candidates:
        if path.is_file():
            return PdfFont(path, _chinese_face(path))
    looked = ", ".join(str(p) for p in candidates)
    raise PdfFontMissing(
        f"no Chinese font for the invoice PDF: install the {FONT_PACKAGE} package "
        f"(sudo apt-get install -y {FONT_PACKAGE}; `make install` does) or set BILLING_PDF_FONT to a "
        f"font file with Chinese glyphs. Looked in: {looked}"
    )


def _chinese_face(path: Path) -> int:
    """The face of a collection that is drawn for Simplified Chinese (Noto Sans CJK's first face is the
    Japanese one, whose glyph shapes differ from the Chinese standard ones); 0 for a single font."""
    from fontTools.ttLib import TTCollection, TTFont, TTLibError

    try:
        if path.suffix.lower() in (".ttc", ".otc"):
            with TTCollection(str(path), lazy=True) as collection:
                names = [font["name"].getDebugName(1) or "" for font in collection.fonts]
                index = next((i for i, name in enumerate(names) if name.endswith(" SC")), 0)
                cmap = collection.fonts[index].getBestCmap()
        else:
            with TTFont(str(path), lazy=True) as font:
                index, cmap = 0, font.getBestCmap()
    except (OSError, TTLibError) as exc:
        raise PdfFontMissing(f"{path} is not a readable font file ({exc})") from exc
    if not cmap or not all(ord(char) in cmap for char in _PROBE):
        raise PdfFontMissing(
            f"{path} has no Chinese glyphs: install {FONT_PACKAGE} or set BILLING_PDF_FONT to a Chinese font"
        )
    return index


# --- the PDF --------------------------------------------------------------------------------------------

_FOOTNOTE = "本单为服务费结算凭证，不是增值税发票；增值税发票由税务系统另行开具。"
_LINE_HEADINGS = ("序号", "项目", "数量", "单位", "单价", "金额")
#: millimetres across the 180 mm between the margins of an A4 page
_LINE_WIDTHS = (12, 86, 22, 14, 22, 24)
_LINE_ALIGN = ("CENTER", "LEFT", "RIGHT", "CENTER", "RIGHT", "RIGHT")
_MARGIN = 15
_BLACK = 0
_GREY = 110
_PALE = 160
_LIGHT = 235
_RULE = 180
#: a credit note's title is printed in red, as 红字 (red-ink) documents are
_RED = (170, 20, 20)


def invoice_pdf(
    view: InvoiceView, *, vendor_name: str = "云客服外包服务", font: str | Path | None = None
) -> bytes:
    """The printable A4 PDF of one invoice (服务费结算单) or credit note (红字结算单(冲红)).

    ``font`` is the ``BILLING_PDF_FONT`` setting (see :func:`find_font`); :class:`PdfFontMissing` when
    there is no usable one. The same view gives the same bytes: the PDF's creation date is the
    document's own (issued, else calculated, else created), never the clock's.
    """
    return _Document(view, vendor_name, find_font(font)).render()


def _title(view: InvoiceView) -> str:
    return "红字结算单(冲红)" if view["kind"] == pricing.CREDIT_NOTE else "服务费结算单"


def _created(view: InvoiceView) -> dt.datetime:
    for key in ("issued_at", "calculated_at", "created_at"):
        value = view.get(key)
        if isinstance(value, str) and value:
            value = dt.datetime.fromisoformat(value)
        if isinstance(value, dt.datetime):
            return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    issued = _date(view.get("issued_on"))
    return dt.datetime.combine(issued or dt.date(2000, 1, 1), dt.time(), tzinfo=dt.UTC)


@lru_cache(maxsize=1)
def _paged_pdf() -> type[FPDF]:
    """An FPDF whose header and footer (which fpdf2 draws on every page) are its owner's. fpdf2, with
    fontTools and Pillow behind it, takes most of a second to import: it is imported by the first PDF
    rather than by the billing service's start."""
    from fpdf import FPDF

    class PagedPdf(FPDF):
        owner: _Document

        def header(self) -> None:
            self.owner.header()

        def footer(self) -> None:
            self.owner.footer()

    return PagedPdf


class _Document:
    """One document's PDF; each method draws one block, top to bottom.

    One font file, regular weight only: each face costs fpdf2 about 0.6 s to read and subset, so bold
    is drawn by stroking the regular glyphs (text rendering mode "fill, then stroke") rather than by a
    second face.
    """

    def __init__(self, view: InvoiceView, vendor_name: str, font: PdfFont) -> None:
        self.view = view
        self.vendor_name = vendor_name
        self.number: str | None = view.get("number")
        pdf = _paged_pdf()(orientation="P", unit="mm", format="A4")
        pdf.owner = self  # type: ignore[attr-defined]
        pdf.add_font("cjk", "", font.path, collection_font_number=font.face)
        pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
        pdf.set_auto_page_break(auto=True, margin=20)
        pdf.set_creation_date(_created(view))
        pdf.set_title(f"{_title(view)} {self.number or DRAFT_NUMBER}")
        pdf.set_author(vendor_name)
        pdf.set_lang("zh-CN")
        self.pdf = pdf

    def render(self) -> bytes:
        self.pdf.add_page()
        self.heading()
        self.parties()
        self.lines()
        self.totals()
        if self.view["kind"] == pricing.CREDIT_NOTE:
            self.correction()
        else:
            self.payments()
            self.credit_notes()
        return bytes(self.pdf.output())

    # --- every page

    def header(self) -> None:
        if not self.number:
            self._watermark()
        if self.pdf.page_no() > 1:
            self._style(8, grey=_GREY)
            title = f"{_title(self.view)} {self.number or DRAFT_NUMBER}"
            self.pdf.cell(0, 5, f"{title} · 账期 {self.view['period']}(续)")
            self.pdf.ln(8)

    def footer(self) -> None:
        pdf = self.pdf
        pdf.set_y(-14)
        self._style(7.5, grey=_GREY)
        pdf.cell(150, 5, _FOOTNOTE)
        pdf.cell(0, 5, f"第 {pdf.page_no()} / {{nb}} 页", align="R")

    def _watermark(self) -> None:
        """草稿 across the page, pale, under the content: a draft must not pass for an issued document."""
        pdf = self.pdf
        with pdf.local_context():
            self._style(110, grey=_LIGHT)
            with pdf.rotation(30, x=pdf.w / 2, y=pdf.h / 2):
                width = pdf.get_string_width(DRAFT_NUMBER)
                pdf.text(pdf.w / 2 - width / 2, pdf.h / 2 + 15, DRAFT_NUMBER)

    # --- the blocks

    def heading(self) -> None:
        pdf = self.pdf
        self._style(9, grey=_GREY)
        pdf.cell(90, 5, self.vendor_name)
        pdf.cell(0, 5, f"币种 {self.view.get('currency') or 'CNY'}", align="R", new_x="LMARGIN", new_y="NEXT")
        self._style(20, grey=_RED if self.view["kind"] == pricing.CREDIT_NOTE else _BLACK)
        self._strong_cell(0, 12, _title(self.view), align="C")
        if self.number:
            self._style(11)
            self._strong_cell(0, 6, f"编号 {self.number}", align="C")
        else:
            self._style(11, grey=_PALE)
            pdf.cell(0, 6, f"{DRAFT_NUMBER}(未开具,无编号)", align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        pdf.set_draw_color(_BLACK)
        pdf.set_line_width(0.4)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        pdf.ln(3)

    def parties(self) -> None:
        """Who, what and when: customer, project, period, issue and due dates, status."""
        view = self.view
        customer = view.get("company_name") or "—"
        if view["kind"] == pricing.CREDIT_NOTE:
            # a credit note is not paid: where an invoice has its due date, it names the invoice it corrects
            last = ("原结算单", view.get("credited_invoice_number") or "—")
        else:
            last = ("到期日", _day(view.get("due_on")))
        rows = (
            ("客户", f"{customer}(商户编号 {view['merchant_id']})", "账期", view["period"]),
            ("项目", view["project_id"], "状态", _status(view)),
            ("开具日期", _day(view.get("issued_on")), *last),
        )
        self._style(9.5)
        with self.pdf.table(
            col_widths=(18, 92, 18, 52),
            borders_layout="NONE",
            first_row_as_headings=False,
            text_align="LEFT",
            line_height=5.5,
            wrapmode="CHAR",
        ) as table:
            for label, value, label2, value2 in rows:
                row = table.row()
                for text, grey in ((label, _GREY), (value, _BLACK), (label2, _GREY), (value2, _BLACK)):
                    row.cell(text, style=_face(grey))

    def lines(self) -> None:
        """The lines; a long description wraps, and the headings are repeated on every page."""
        self._section("明细")
        rows = [
            (
                str(line["seq"]),
                line["description"] or LINE_KIND_LABELS.get(line["kind"], line["kind"]),
                _quantity(line["quantity"]),
                line["unit"],
                _money(line["unit_price"]),
                _money(line["amount"]),
            )
            for line in sorted(self.view["lines"], key=lambda line: line["seq"])
        ]
        self._grid(_LINE_HEADINGS, rows, widths=_LINE_WIDTHS, align=_LINE_ALIGN)

    def totals(self) -> None:
        """小计 → 价税合计 and, for an invoice, what has been credited and paid and what is left."""
        view = self.view
        rows: list[tuple[str, str, bool]] = [
            ("小计(不含税)", _money(view["subtotal"]), False),
            ("税率", _rate(view["tax_rate"]), False),
            ("税额", _money(view["tax"]), False),
            ("价税合计", _money(view["total"]), True),
        ]
        if view["kind"] != pricing.CREDIT_NOTE:
            if view.get("credited"):
                rows.append(("已冲红", _money(abs(view["credited"])), False))
            rows.append(("已收款", _money(view["paid"]), False))
            balance = view["balance"]
            if balance < 0:
                # more paid than owed once a credit note is issued: the merchant's credit, refunded or set off
                rows.append(("贷方余额(应退或抵扣)", _money(-balance), True))
            else:
                rows.append(("余额(应付)", _money(balance), True))
        pdf = self.pdf
        pdf.ln(3)
        self._room(6.5 * len(rows))
        for label, value, strong in rows:
            if strong:
                self._style(10.5)
                pdf.set_x(pdf.w - pdf.r_margin - 100)
                self._strong_cell(60, 6.5, label, align="R", new_line=False)
                self._strong_cell(40, 6.5, value, align="R")
            else:
                pdf.set_x(pdf.w - pdf.r_margin - 100)
                self._style(9.5, grey=_GREY)
                pdf.cell(60, 6, label, align="R")
                self._style(9.5)
                pdf.cell(40, 6, value, align="R", new_x="LMARGIN", new_y="NEXT")

    def payments(self) -> None:
        if not self.number:
            return  # nothing is paid on a document that has not been issued
        self._section("收款记录")
        payments = list(self.view.get("payments") or [])
        if not payments:
            self.pdf.cell(0, 6, "暂无收款。", new_x="LMARGIN", new_y="NEXT")
            return
        self._grid(
            ("收款日期", "参考号", "金额"),
            [(_day(p["paid_on"]), p.get("reference") or "—", _money(p["amount"])) for p in payments],
            widths=(36, 104, 40),
            align=("LEFT", "LEFT", "RIGHT"),
        )

    def credit_notes(self) -> None:
        notes = list(self.view.get("credit_notes") or [])
        if not notes:
            return
        self._section("冲红记录")
        self._grid(
            ("红字结算单号", "开具日期", "金额", "原因"),
            [
                (n["number"], _day(n.get("issued_on")), _money(n["total"]), n.get("reason") or "—")
                for n in notes
            ],
            widths=(36, 26, 28, 90),
            align=("LEFT", "LEFT", "RIGHT", "LEFT"),
        )

    def correction(self) -> None:
        """What a credit note corrects: the invoice and why."""
        self._section("冲红说明")
        pdf = self.pdf
        invoice = self.view.get("credited_invoice_number") or "—"
        pdf.multi_cell(0, 5.5, f"原结算单：{invoice}", new_x="LMARGIN", new_y="NEXT")
        pdf.multi_cell(0, 5.5, f"冲红原因：{self.view.get('reason') or '—'}", new_x="LMARGIN", new_y="NEXT")

    # --- drawing helpers

    def _style(self, size: float, *, grey: int | tuple[int, int, int] = _BLACK) -> None:
        self.pdf.set_font("cjk", "", size)
        self.pdf.set_text_color(grey)

    def _strong_cell(self, w: float, h: float, text: str, *, align: str = "L", new_line: bool = True) -> None:
        """A cell in bold: the glyphs filled, then outlined with a pen a 70th of the font size wide."""
        pdf = self.pdf
        pen = pdf.font_size / 70
        with pdf.local_context(text_mode="FILL_STROKE", line_width=pen, draw_color=pdf.text_color):
            if new_line:
                pdf.cell(w, h, text, align=align, new_x="LMARGIN", new_y="NEXT")
            else:
                pdf.cell(w, h, text, align=align)

    def _room(self, height: float) -> None:
        """A new page unless ``height`` mm are left on this one: a block is not split from its title."""
        if self.pdf.get_y() + height > self.pdf.page_break_trigger:
            self.pdf.add_page()

    def _section(self, title: str) -> None:
        self.pdf.ln(5)
        self._room(7 + 2 * 6)  # the title, a table's heading row and its first row
        self._style(11)
        self._strong_cell(0, 7, title)
        self._style(9)

    def _grid(
        self,
        headings: Sequence[str],
        rows: Iterable[Sequence[str]],
        *,
        widths: Sequence[float],
        align: Sequence[str],
    ) -> None:
        """A table with a shaded heading row, repeated at the top of every page it runs onto."""
        self.pdf.set_draw_color(_RULE)
        self.pdf.set_line_width(0.2)
        with self.pdf.table(
            col_widths=tuple(widths),
            text_align=tuple(align),
            borders_layout="HORIZONTAL_LINES",
            headings_style=_face(_BLACK, fill=_LIGHT),
            line_height=4.4,
            padding=(0.8, 1.5),
            wrapmode="WORD",
            repeat_headings=1,
        ) as table:
            table.row(headings)
            for cells in rows:
                table.row(cells)


def _face(grey: int, *, fill: int | None = None) -> FontFace:
    from fpdf.fonts import FontFace

    return FontFace(family="cjk", emphasis="", color=grey, fill_color=fill)
