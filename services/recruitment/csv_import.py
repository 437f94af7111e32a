"""Reading a talent-pool file: columns and every bad row with its line number (pure, no I/O). Encodings
(UTF-8, GBK, GB18030) and .xlsx workbooks are read by ``shared.tabular``.

The import is all-or-nothing, so this module only *reads*: it returns every row it could parse and every
problem it found; ``service.import_candidates`` refuses the whole file when there is any problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from services.recruitment import domain
from shared import tabular

#: Column → what it holds. Headers are matched case-insensitively; the Chinese names are accepted too.
COLUMNS: dict[str, str] = {
    "name": "full name (姓名), required",
    "phone": "Chinese mobile number (手机), required, unique: a known phone updates that candidate",
    "skills": "presale and/or aftersale (售前/售后), separated by ; , | or 、, required",
    "shifts_available": "morning/afternoon/night (早班/晚班/夜班), separated like skills, required",
    "basic_training_passed": "passed basic training and its assessment: true/false, yes/no, 1/0, 是/否; "
    "required",
    "basic_score": "basic training score 0–100 (up to 2 decimals), required",
    "categories": "product categories worked on, e.g. 服装;美妆 (optional)",
    "platforms": "platforms worked on: taobao (Tmall counts as Taobao), jd, pinduoduo, douyin … (optional)",
    "city": "city (optional)",
    "experience_months": "months of customer-service experience, whole number 0–600 (optional, default 0)",
    "notes": "free text (optional)",
}
REQUIRED_COLUMNS: tuple[str, ...] = (
    "name",
    "phone",
    "skills",
    "shifts_available",
    "basic_training_passed",
    "basic_score",
)
HEADER_ALIASES: dict[str, str] = {
    "姓名": "name",
    "手机": "phone",
    "手机号": "phone",
    "电话": "phone",
    "技能": "skills",
    "班次": "shifts_available",
    "可排班次": "shifts_available",
    "shifts": "shifts_available",
    "基础培训通过": "basic_training_passed",
    "基础分": "basic_score",
    "基础成绩": "basic_score",
    "类目": "categories",
    "平台": "platforms",
    "城市": "city",
    "经验月数": "experience_months",
    "备注": "notes",
}
_LIST_SPLIT = re.compile(r"[;；,，|、]")
_TRUE = frozenset({"true", "yes", "y", "1", "是", "通过", "t"})
_FALSE = frozenset({"false", "no", "n", "0", "否", "未通过", "f"})
MAX_NAME = 100
MAX_CITY = 50
MAX_NOTES = 2000


class FileRejected(tabular.FileRejected):
    """The file as a whole cannot be read (encoding, header, empty)."""


@dataclass(frozen=True)
class CandidateInput:
    """A validated, normalised candidate (from JSON or from a CSV row)."""

    name: str
    phone: str
    skills: list[str]
    shifts_available: list[str]
    basic_training_passed: bool
    basic_score: Decimal
    categories: list[str] = field(default_factory=list)
    platforms: list[str] = field(default_factory=list)
    city: str | None = None
    experience_months: int = 0
    notes: str | None = None


@dataclass(frozen=True)
class RowError:
    line: int
    errors: dict[str, list[str]]


@dataclass
class ParsedFile:
    rows: list[tuple[int, CandidateInput]]
    errors: list[RowError]


def split_list(raw: str) -> list[str]:
    return [part.strip() for part in _LIST_SPLIT.split(raw or "") if part.strip()]


def parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise domain.InvalidValue(f"{raw.strip()!r} is not yes or no; write true/false, yes/no, 1/0 or 是/否.")


def parse_score(raw: str) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise domain.InvalidValue(f"{raw.strip()!r} is not a number; the score is 0–100.") from None
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(100):
        raise domain.InvalidValue(f"{raw.strip()} is outside 0–100.")
    if value != value.quantize(Decimal("0.01")):
        raise domain.InvalidValue(f"{raw.strip()} has more than 2 decimals.")
    return value.quantize(Decimal("0.01"))


def parse_months(raw: str) -> int:
    text = raw.strip()
    if not text:
        return 0
    if not re.fullmatch(r"\d{1,3}", text) or int(text) > 600:
        raise domain.InvalidValue(f"{text!r} is not a whole number of months between 0 and 600.")
    return int(text)


def _text(raw: str, limit: int, what: str, required: bool = False) -> str | None:
    value = (raw or "").strip()
    if not value:
        if required:
            raise domain.InvalidValue(f"the {what} is required.")
        return None
    if len(value) > limit:
        raise domain.InvalidValue(f"the {what} is longer than {limit} characters.")
    return value


def _list(raw: str, normalize: Callable[[str], str], what: str, required: bool) -> list[str]:
    values = domain.unique(normalize(part) for part in split_list(raw))
    if required and not values:
        raise domain.InvalidValue(f"at least one {what} is required.")
    return values


def candidate_from_cells(cells: Mapping[str, str]) -> tuple[CandidateInput | None, dict[str, list[str]]]:
    """Validate one row's cells (column → text); every field's problem is reported, not just the first."""
    errors: dict[str, list[str]] = {}
    values: dict[str, object] = {}
    parsers: dict[str, Callable[[str], object]] = {
        "name": lambda v: _text(v, MAX_NAME, "name", required=True),
        "phone": domain.normalize_phone,
        "skills": lambda v: _list(v, domain.normalize_skill, "skill", True),
        "shifts_available": lambda v: _list(v, domain.normalize_shift, "shift", True),
        "basic_training_passed": parse_bool,
        "basic_score": parse_score,
        "categories": lambda v: _list(v, domain.normalize_category, "category", False),
        "platforms": lambda v: _list(v, domain.normalize_platform, "platform", False),
        "city": lambda v: _text(v, MAX_CITY, "city"),
        "experience_months": parse_months,
        "notes": lambda v: _text(v, MAX_NOTES, "notes"),
    }
    for column, parse in parsers.items():
        raw = cells.get(column)
        if raw is None or (column in REQUIRED_COLUMNS and not raw.strip()):
            if column in REQUIRED_COLUMNS:
                errors[column] = ["This value is required."]
            continue
        try:
            values[column] = parse(raw)
        except domain.InvalidValue as exc:
            errors[column] = [str(exc)]
    if errors:
        return None, errors
    return CandidateInput(**values), {}  # type: ignore[arg-type]


def parse_csv(raw: bytes, *, max_rows: int) -> ParsedFile:
    """Every row of the file (CSV or .xlsx), or the reason the file as a whole is refused
    (``FileRejected``, or ``shared.tabular.FileRejected`` for an unreadable encoding or workbook)."""
    if not raw.strip():
        raise FileRejected("The file is empty; send a header line and at least one candidate row.")
    reader = tabular.read_rows(raw)
    _, header = next(reader, (1, []))
    columns = _read_header(header)
    rows: list[tuple[int, CandidateInput]] = []
    errors: list[RowError] = []
    seen_phones: dict[str, int] = {}
    count, line = 0, 1
    while True:
        try:
            line, cells = next(reader, (0, None))
        except tabular.FileRejected as exc:
            errors.append(RowError(exc.line or line + 1, {"_row": [str(exc)]}))
            break
        if cells is None:
            break
        if not any(cell.strip() for cell in cells):
            continue  # blank lines (Excel leaves some at the end) are not rows
        count += 1
        if count > max_rows:
            raise FileRejected(
                f"The file has more than {max_rows} candidate rows; split it into smaller files."
            )
        if len(cells) != len(columns):
            errors.append(
                RowError(
                    line, {"_row": [f"expected {len(columns)} cells as in the header, got {len(cells)}."]}
                )
            )
            continue
        candidate, row_errors = candidate_from_cells(dict(zip(columns, cells, strict=True)))
        if candidate is not None:
            first = seen_phones.setdefault(candidate.phone, line)
            if first != line:
                row_errors = {"phone": [f"phone {candidate.phone} is also on line {first}; keep one row."]}
        if row_errors:
            errors.append(RowError(line, row_errors))
        elif candidate is not None:
            rows.append((line, candidate))
    if count == 0:
        raise FileRejected("The file has a header but no candidate rows.")
    return ParsedFile(rows=rows, errors=errors)


def _read_header(header: list[str]) -> list[str]:
    columns: list[str] = []
    unknown: list[str] = []
    for cell in header:
        name = cell.strip().lstrip("\ufeff")
        key = HEADER_ALIASES.get(name, name.lower())
        if key not in COLUMNS:
            unknown.append(name or "(empty)")
        columns.append(key)
    problems: list[str] = []
    if unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)}")
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        problems.append(f"missing required column(s): {', '.join(missing)}")
    duplicated = sorted({c for c in columns if columns.count(c) > 1 and c in COLUMNS})
    if duplicated:
        problems.append(f"column(s) given twice: {', '.join(duplicated)}")
    if problems:
        raise FileRejected(
            f"The header line is wrong: {'; '.join(problems)}. The columns are: {', '.join(COLUMNS)} "
            f"(required: {', '.join(REQUIRED_COLUMNS)})."
        )
    return columns
