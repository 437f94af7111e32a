"""Tables in and out: every CSV/XLSX export and every CSV/XLSX import of every service goes through here
(this module knows nothing of HTTP; ``shared.web.downloads`` is its web side).

**Exports.** A service describes its columns once (``Column``: key, Chinese and English header, kind) and
hands over plain Python rows; ``to_csv``/``to_xlsx`` write them (``shared.web.downloads.export_response``
serves them as a download, choosing the format from ``?format=`` or ``Accept``):

- **CSV**: UTF-8 with a BOM (so Excel on Chinese Windows does not read it as GBK), CRLF line ends,
  Chinese headers by default (``?lang=en``: English ones);
- **XLSX** (openpyxl): one sheet, typed cells — numbers are numbers, dates are dates, text is text.

*Formula injection.* A spreadsheet runs a cell that starts with ``= + - @`` (or TAB/CR, which some
programs skip before looking) as a formula. In a CSV every **text** cell (names, notes, answers … anything a
user typed) that starts with one of them gets a leading ``'``, which Excel shows as a plain-text marker.
Typed cells (money, numbers, dates) are written by us and cannot carry a formula, so a negative amount like
``-40.00`` stays a number that Excel can sum. In XLSX text cells are stored as strings (never as formulas),
so they are written as they are, without the apostrophe.

**Imports.** ``shared.web.downloads.read_upload`` takes the file from a multipart field ``file`` or a raw
body and enforces the size limit; ``read_rows`` reads it — CSV in UTF-8 (with or without BOM), GBK or
GB18030 (a superset of GBK, tried after UTF-8), or an ``.xlsx`` workbook (its first sheet) — into rows of
text cells with their line numbers, and refuses anything else with ``FileRejected`` (the services turn it
into a 422).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from marshmallow import Schema, ValidationError, fields, validate

from shared.workdays import SHANGHAI

__all__ = [
    "CSV_MIME",
    "XLSX_MIME",
    "Column",
    "ExportArgs",
    "FileRejected",
    "LangArgs",
    "decode_text",
    "header_map",
    "is_xlsx",
    "neutralise",
    "read_rows",
    "to_csv",
    "to_xlsx",
]

CSV_MIME = "text/csv; charset=utf-8"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS: tuple[str, ...] = ("csv", "xlsx")
LANGS: tuple[str, ...] = ("zh", "en")
BOM = "\ufeff"
#: a text cell starting with one of these is a formula to Excel, LibreOffice or Sheets
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: Excel refuses longer cells (the workbook then opens only after a "repair")
XLSX_MAX_CELL = 32_767
#: openpyxl writes about 3,000 rows a second here (pure-Python XML, no lxml): beyond this a workbook would
#: outlast the web worker's 30 s timeout, so larger exports are refused in favour of CSV (same rows, fast)
XLSX_MAX_ROWS = 20_000
#: what an upload may be declared as; the content decides whether it is CSV or XLSX
UPLOAD_TYPES = frozenset(
    {
        "text/csv",
        "text/plain",
        "application/csv",
        "application/vnd.ms-excel",
        "application/octet-stream",
        XLSX_MIME,
    }
)
#: an .xlsx is a zip: refuse one that would inflate to more than this many times the upload limit
_XLSX_INFLATE_FACTOR = 20

Kind = Literal["text", "money", "number", "integer", "date", "datetime", "bool"]


@dataclass(frozen=True)
class Column:
    """One export column. ``en`` defaults to the key (snake_case, what scripts expect)."""

    key: str
    zh: str
    en: str = ""
    kind: Kind = "text"

    def header(self, lang: str) -> str:
        return (self.en or self.key) if lang == "en" else self.zh


class FileRejected(ValueError):
    """The uploaded file as a whole cannot be read (encoding, format, size of the unpacked workbook);
    ``line`` is set when reading stopped at a row that is not valid CSV."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class LangArgs(Schema):
    """``?lang=zh|en`` only, for endpoints whose path already names the format."""

    lang = fields.String(
        load_default="zh",
        validate=validate.OneOf(LANGS),
        metadata={"description": "column headers: zh (Chinese, default) or en (English)"},
    )


class ExportArgs(LangArgs):
    """``?format=csv|xlsx`` (default: the ``Accept`` header, else CSV) and ``?lang=zh|en`` for headers."""

    format = fields.String(
        validate=validate.OneOf(FORMATS),
        metadata={"description": "csv (UTF-8 with BOM) or xlsx; without it the Accept header decides, "
                  "CSV by default"},
    )  # fmt: skip


# --- writing -------------------------------------------------------------------------------------------


def neutralise(text: str) -> str:
    """A text cell a spreadsheet would run as a formula, prefixed with ``'`` so that it shows as text."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _local(value: dt.datetime) -> dt.datetime:
    """Times are shown in Beijing time, the time every user of the platform works in."""
    return value.astimezone(SHANGHAI) if value.tzinfo is not None else value


def _csv_cell(column: Column, value: Any, lang: str) -> str:
    if value is None or value == "":
        return ""
    if column.kind == "money":
        return f"{Decimal(value).quantize(Decimal('0.01')):f}"
    if column.kind in ("number", "integer"):
        return f"{value:f}" if isinstance(value, Decimal) else str(value)
    if column.kind == "bool":
        return _bool_text(bool(value), lang)
    if column.kind == "datetime" and isinstance(value, dt.datetime):
        return _local(value).isoformat(timespec="seconds")
    if column.kind == "date" and isinstance(value, dt.date):
        return value.isoformat()
    return neutralise(str(value))


def _bool_text(value: bool, lang: str) -> str:
    if lang == "en":
        return "yes" if value else "no"
    return "是" if value else "否"


def to_csv(columns: Sequence[Column], rows: Iterable[Sequence[Any]], lang: str = "zh") -> bytes:
    """UTF-8 with BOM, CRLF rows, headers in ``lang``; text cells neutralised against formulas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.header(lang) for c in columns])
    for row in rows:
        writer.writerow([_csv_cell(c, v, lang) for c, v in zip(columns, row, strict=True)])
    return (BOM + buffer.getvalue()).encode("utf-8")


_NUMBER_FORMATS: dict[str, str] = {
    "money": "#,##0.00",
    "integer": "0",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm:ss",
}


def _xlsx_value(column: Column, value: Any, lang: str) -> Any:
    if value is None or value == "":
        return None
    if column.kind == "money":
        return Decimal(value).quantize(Decimal("0.01"))
    if column.kind in ("number", "integer"):
        return value if isinstance(value, int | float | Decimal) else Decimal(str(value))
    if column.kind == "bool":
        return _bool_text(bool(value), lang)
    if column.kind == "datetime" and isinstance(value, dt.datetime):
        return _local(value).replace(tzinfo=None)  # Excel has no time zones
    if column.kind == "date" and isinstance(value, dt.date):
        return value
    return str(value)


def to_xlsx(
    columns: Sequence[Column], rows: Iterable[Sequence[Any]], lang: str = "zh", sheet: str = "Sheet1"
) -> bytes:
    """One sheet, header row frozen; typed cells, and text cells forced to be strings (never formulas).
    Write-only mode: memory stays flat for the largest exports (100,000 timesheet rows)."""
    return to_xlsx_book([(sheet, columns, rows)], lang)


def to_xlsx_book(
    sheets: Sequence[tuple[str, Sequence[Column], Iterable[Sequence[Any]]]], lang: str = "zh"
) -> bytes:
    """A workbook of several sheets (a report), each written as ``to_xlsx`` writes its one."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    for sheet, columns, rows in sheets:
        ws = book.create_sheet(_sheet_title(sheet))
        ws.freeze_panes = "A2"
        for i, column in enumerate(columns, start=1):
            width = {"money": 12, "date": 12, "datetime": 20, "text": 18}.get(column.kind, 10)
            ws.column_dimensions[get_column_letter(i)].width = max(width, len(column.header(lang)) * 2 + 2)
        ws.append([_text_cell(ws, c.header(lang), ILLEGAL_CHARACTERS_RE) for c in columns])
        for row in rows:
            cells: list[Any] = []
            for column, raw in zip(columns, row, strict=True):
                value = _xlsx_value(column, raw, lang)
                if isinstance(value, str):
                    cells.append(_text_cell(ws, value, ILLEGAL_CHARACTERS_RE))
                elif value is not None and column.kind in _NUMBER_FORMATS:
                    cell = WriteOnlyCell(ws, value=value)
                    cell.number_format = _NUMBER_FORMATS[column.kind]
                    cells.append(cell)
                else:
                    cells.append(value)
            ws.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _text_cell(ws: Any, value: str, illegal: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=illegal.sub("", value)[:XLSX_MAX_CELL])
    cell.data_type = "s"  # openpyxl would otherwise store "=…" as a formula
    return cell


def _sheet_title(name: str) -> str:
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in name).strip("'") or "Sheet1"
    return cleaned[:31]


# --- reading -------------------------------------------------------------------------------------------


def decode_text(raw: bytes) -> str:
    """UTF-8 (with or without the BOM Excel writes), else GB18030 — which also reads GBK, what Excel and
    WPS save as "CSV" on Chinese Windows. Bytes valid in neither → ``FileRejected``."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise FileRejected(
                f"The file is not text in UTF-8, GBK or GB18030 (unreadable byte at position {exc.start}); "
                "save it from Excel as 'CSV UTF-8 (逗号分隔)' or as .xlsx and upload it again."
            ) from None
        text = text.removeprefix(BOM)
    if "\x00" in text:
        raise FileRejected("The file contains NUL bytes: it is not a CSV text file.")
    return text


def is_xlsx(raw: bytes) -> bool:
    return raw.startswith(b"PK\x03\x04") and b"xl/" in raw[:65536]


def read_rows(raw: bytes) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) for every row, the header first (line 1). Cells are text as the user sees it.

    CSV line numbers are the physical line a row starts on (a quoted cell may span lines); a row that
    is not valid CSV raises ``FileRejected`` naming its line. Decoding problems raise before the first row.
    """
    if is_xlsx(raw):
        yield from _xlsx_rows(raw)
        return
    reader = csv.reader(io.StringIO(decode_text(raw), newline=""))
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FileRejected(f"Line {line} is not valid CSV: {exc}.", line=line) from None
        yield line, cells


def _xlsx_rows(raw: bytes) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
        if inflated > max(len(raw), 1024 * 1024) * _XLSX_INFLATE_FACTOR:
            raise FileRejected("The workbook unpacks to far more than its size; save it again from Excel.")
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except FileRejected:
        raise
    except Exception:  # openpyxl raises many types for a damaged or foreign zip
        raise FileRejected("The file looks like an .xlsx workbook but cannot be read; save it again from "
                           "Excel (.xlsx) or as 'CSV UTF-8'.") from None  # fmt: skip
    try:
        ws = book.worksheets[0] if book.worksheets else None
        if ws is None:
            return
        width = 0
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = [_xlsx_text(v) for v in values]
            # a sheet's rows are padded to its widest row: keep the header's width, like a CSV would
            while len(cells) > width and not cells[-1]:
                cells.pop()
            width = width or len(cells)
            yield number, cells + [""] * (width - len(cells))
    finally:
        book.close()


def _xlsx_text(value: Any) -> str:
    """A cell as the text the user would have typed into a CSV."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    return str(value).strip()


def header_map(columns: Sequence[Column], header: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """Where each column is in an import's header, matched by key, English or Chinese header
    (case-insensitive, BOM and spaces ignored), and the keys that are missing."""
    names: dict[str, str] = {}
    for c in columns:
        for name in (c.key, c.en, c.zh):
            if name:
                names[name.strip().lower()] = c.key
    index: dict[str, int] = {}
    for i, cell in enumerate(header):
        key = names.get(cell.strip().lstrip(BOM).strip().lower())
        if key is not None and key not in index:
            index[key] = i
    return index, [c.key for c in columns if c.key not in index]


@dataclass
class ParsedImport:
    """Rows that parsed, keyed by their line number (the header is line 1), and every line's problems."""

    items: list[dict[str, Any]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def unreadable(self) -> bool:
        """The file as a whole was refused (format, header, size): no line was looked at."""
        return "file" in self.errors or "line 1" in self.errors


def parse_table(
    raw: bytes,
    columns: Sequence[Column],
    schema: Schema,
    *,
    max_rows: int,
    required: Sequence[str] | None = None,
) -> ParsedImport:
    """Every line of an import through ``schema`` (the same rules as the JSON endpoint beside it); never
    stops at the first bad line, so a user fixes the whole file in one go. CSV (UTF-8, GBK, GB18030) or
    .xlsx; headers by key, English or Chinese. ``required`` names the columns the header must have (all
    of ``columns`` by default); a blank cell is left out of the record (the schema's default applies)."""
    out = ParsedImport()
    count = 0
    needed = [c.key for c in columns] if required is None else list(required)
    expected = ", ".join(f"{c.key} ({c.zh})" for c in columns if c.key in needed)
    try:
        rows = read_rows(raw)
        first = next(rows, None)
        if first is None:
            out.errors["file"] = [f"the file is empty; the first line must name the columns: {expected}"]
            return out
        _, header = first
        index, missing = header_map(columns, header)
        missing = [key for key in missing if key in needed]
        if missing:
            out.errors["line 1"] = [
                f"missing column(s): {', '.join(missing)}; the header must name: {expected}"
            ]
            return out
        kinds = {c.key: c.kind for c in columns if c.key in index}
        for number, cells in rows:
            if not any(cell.strip() for cell in cells):
                continue
            count += 1
            if count > max_rows:
                out.errors["file"] = [f"more than {max_rows} rows; split the file"]
                return out
            _parse_line(out, f"line {number}", index, kinds, cells, schema)
    except FileRejected as exc:
        out.errors["file"] = [str(exc).rstrip(".")]  # the API appends "; nothing was imported."
        return out
    if count == 0 and not out.errors:
        out.errors["file"] = ["the file has a header but no rows"]
    return out


def _parse_line(
    out: ParsedImport,
    label: str,
    index: Mapping[str, int],
    kinds: Mapping[str, Kind],
    cells: list[str],
    schema: Schema,
) -> None:
    record: dict[str, Any] = {}
    for name, kind in kinds.items():
        at = index[name]
        value = cells[at].strip() if at < len(cells) else ""
        if value == "":
            continue
        if kind == "integer":
            try:
                record[name] = int(value)
            except ValueError:
                record[name] = value  # the schema reports it as not an integer
        else:
            record[name] = value
    try:
        item = schema.load(record)
    except ValidationError as exc:
        for name, msgs in sorted(exc.messages_dict.items()):
            out.errors[f"{label}.{name}"] = [str(m) for m in (msgs if isinstance(msgs, list) else [msgs])]
        return
    out.items.append(item)
    out.labels.append(label)
