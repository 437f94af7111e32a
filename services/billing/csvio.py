"""CSV in and out: the performance import (all-or-nothing, every bad line reported) and the payroll
export (UTF-8 with a BOM so that Excel opens the Chinese names correctly). No Flask, no SQL."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError

from services.billing.domain import LINE_KINDS, ZERO
from shared.money import format_money

IMPORT_COLUMNS = (
    "project_id",
    "agent_id",
    "date",
    "sales_amount",
    "avg_response_seconds",
    "response_rate",
    "consultations",
)
BOM = "\ufeff"


@dataclass
class ParsedImport:
    """Rows that parsed, keyed by their line number (the header is line 1), and every line's problems."""

    items: list[dict[str, Any]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)


def decode(raw: bytes) -> str:
    """UTF-8 (with or without BOM, as Excel saves it) or GB18030 (WPS and older Excel on Chinese Windows)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError("the file is neither UTF-8 nor GB18030 text")


def parse_performance_csv(raw: bytes, schema: Schema, *, max_rows: int) -> ParsedImport:
    """Parse every line with ``schema`` (the same rules as the JSON endpoint); never stops at the first
    bad line, so finance can fix the whole file in one go."""
    out = ParsedImport()
    try:
        text = decode(raw)
    except ValueError as exc:
        out.errors["file"] = [str(exc)]
        return out
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        out.errors["file"] = [
            f"the file is empty; the first line must name the columns: {', '.join(IMPORT_COLUMNS)}"
        ]
        return out
    missing = [c for c in IMPORT_COLUMNS if c not in header]
    if missing:
        out.errors["line 1"] = [
            f"missing column(s): {', '.join(missing)}; the header must name: {', '.join(IMPORT_COLUMNS)}"
        ]
        return out
    index = {name: header.index(name) for name in IMPORT_COLUMNS}
    count = 0
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        count += 1
        if count > max_rows:
            out.errors["file"] = [f"more than {max_rows} rows; split the file"]
            return out
        label = f"line {number}"
        if len(cells) < len(header):
            cells = cells + [""] * (len(header) - len(cells))
        record: dict[str, Any] = {}
        for name in IMPORT_COLUMNS:
            value = cells[index[name]].strip()
            if value == "":
                continue
            if name == "consultations":
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
            continue
        out.items.append(item)
        out.labels.append(label)
    if count == 0 and not out.errors:
        out.errors["file"] = ["the file has a header but no rows"]
    return out


def _cell(value: str | None) -> str:
    """Text that Excel would run as a formula (=, +, -, @) is quoted with a leading apostrophe."""
    text = value or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@dataclass(frozen=True)
class ExportRow:
    agent_id: str
    agent_name: str | None
    project_id: str
    plan_type: str | None
    total: Decimal
    lines: Sequence[Mapping[str, Any]]  # {kind, amount, explanation, origin_period}


EXPORT_HEADER = (
    "run_id",
    "period",
    "status",
    "project_id",
    "agent_id",
    "agent_name",
    "plan_type",
    *LINE_KINDS,
    "total",
    "lines",
)


def payroll_csv(run_id: str, period: str, status: str, rows: Iterable[ExportRow]) -> bytes:
    """One row per payslip: the sum of its lines per kind (base, hours, commission, deduction,
    adjustment), the total, and every line with its amount and explanation in the last column."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_HEADER)
    for row in rows:
        by_kind: dict[str, Decimal] = dict.fromkeys(LINE_KINDS, ZERO)
        described = []
        for line in row.lines:
            by_kind[line["kind"]] = by_kind.get(line["kind"], ZERO) + line["amount"]
            described.append(f"{line['kind']} {format_money(line['amount'])}: {line['explanation']}")
        writer.writerow(
            [
                run_id,
                period,
                status,
                row.project_id,
                row.agent_id,
                _cell(row.agent_name),
                row.plan_type or "",
                *(format_money(by_kind[kind]) for kind in LINE_KINDS),
                format_money(row.total),
                _cell(" | ".join(described)),
            ]
        )
    return (BOM + buffer.getvalue()).encode("utf-8")
