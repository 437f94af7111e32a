"""Tables in and out: the performance import (all-or-nothing, every bad line reported) and the payroll
export (columns below; CSV or XLSX through ``shared.tabular``). No Flask: the views send the files."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError
from sqlalchemy import select

from services.billing.domain import LINE_KINDS, ZERO
from services.billing.models import PayrollRun, Payslip
from services.billing.payroll import get_run
from services.billing.queries import payslip_views
from shared.money import format_money
from shared.tabular import Column, FileRejected, header_map, read_rows
from shared.uow import UnitOfWork

PERFORMANCE_COLUMNS: tuple[Column, ...] = (
    Column("project_id", "项目编号"),
    Column("agent_id", "坐席编号"),
    Column("date", "日期", kind="date"),
    Column("sales_amount", "销售额", kind="money"),
    Column("avg_response_seconds", "平均响应秒数", kind="number"),
    Column("response_rate", "响应率", kind="number"),
    Column("consultations", "咨询量", kind="integer"),
)
IMPORT_COLUMNS = tuple(c.key for c in PERFORMANCE_COLUMNS)


@dataclass
class ParsedImport:
    """Rows that parsed, keyed by their line number (the header is line 1), and every line's problems."""

    items: list[dict[str, Any]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)


def parse_performance_csv(raw: bytes, schema: Schema, *, max_rows: int) -> ParsedImport:
    """Parse every line with ``schema`` (the same rules as the JSON endpoint); never stops at the first
    bad line, so finance can fix the whole file in one go. CSV (UTF-8, GBK, GB18030) or .xlsx; headers
    in English or Chinese."""
    out = ParsedImport()
    count = 0
    expected = ", ".join(f"{c.key} ({c.zh})" for c in PERFORMANCE_COLUMNS)
    try:
        rows = read_rows(raw)
        first = next(rows, None)
        if first is None:
            out.errors["file"] = [f"the file is empty; the first line must name the columns: {expected}"]
            return out
        _, header = first
        index, missing = header_map(PERFORMANCE_COLUMNS, header)
        if missing:
            out.errors["line 1"] = [
                f"missing column(s): {', '.join(missing)}; the header must name: {expected}"
            ]
            return out
        for number, cells in rows:
            if not any(cell.strip() for cell in cells):
                continue
            count += 1
            if count > max_rows:
                out.errors["file"] = [f"more than {max_rows} rows; split the file"]
                return out
            _parse_line(out, f"line {number}", index, cells, schema)
    except FileRejected as exc:
        out.errors["file"] = [str(exc).rstrip(".")]  # the API appends "; nothing was imported."
        return out
    if count == 0 and not out.errors:
        out.errors["file"] = ["the file has a header but no rows"]
    return out


def _parse_line(
    out: ParsedImport, label: str, index: Mapping[str, int], cells: list[str], schema: Schema
) -> None:
    record: dict[str, Any] = {}
    for name in IMPORT_COLUMNS:
        at = index[name]
        value = cells[at].strip() if at < len(cells) else ""
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
        return
    out.items.append(item)
    out.labels.append(label)


@dataclass(frozen=True)
class ExportRow:
    agent_id: str
    agent_name: str | None
    project_id: str
    plan_type: str | None
    total: Decimal
    lines: Sequence[Mapping[str, Any]]  # {kind, amount, explanation, origin_period}


#: the money column of each payslip line kind (all amounts in CNY, 元); a new kind needs its column here
_KIND_COLUMNS: dict[str, Column] = {
    "base": Column("base_pay", "基本工资(元)", kind="money"),
    "hours": Column("hourly_pay", "计时工资(元)", kind="money"),
    "commission": Column("commission_pay", "提成(元)", kind="money"),
    "deduction": Column("deductions", "扣款(元)", kind="money"),
    "adjustment": Column("adjustments", "调整(元)", kind="money"),
}

PAYROLL_COLUMNS: tuple[Column, ...] = (
    Column("run_id", "核算批次"),
    Column("period", "薪资周期"),
    Column("status", "状态"),
    Column("project_id", "项目编号"),
    Column("agent_id", "坐席编号"),
    Column("agent_name", "姓名"),
    Column("plan_type", "计薪方式"),
    *(_KIND_COLUMNS[kind] for kind in LINE_KINDS),
    Column("total", "应发合计(元)", kind="money"),
    Column("lines", "明细"),
)


def payroll_rows(run_id: str, period: str, status: str, rows: Iterable[ExportRow]) -> list[list[Any]]:
    """One row per payslip: the sum of its lines per kind (base pay, hourly pay, commission, deductions,
    adjustments — all money), the total, and every line with its amount and explanation last."""
    out: list[list[Any]] = []
    for row in rows:
        by_kind: dict[str, Decimal] = dict.fromkeys(LINE_KINDS, ZERO)
        described = []
        for line in row.lines:
            by_kind[line["kind"]] = by_kind.get(line["kind"], ZERO) + line["amount"]
            described.append(f"{line['kind']} {format_money(line['amount'])}: {line['explanation']}")
        out.append(
            [
                run_id,
                period,
                status,
                row.project_id,
                row.agent_id,
                row.agent_name,
                row.plan_type,
                *(by_kind[kind] for kind in LINE_KINDS),
                row.total,
                " | ".join(described),
            ]
        )
    return out


def export_rows(uow: UnitOfWork, run: PayrollRun) -> list[ExportRow]:
    """A run's payslips, by project and agent, as export rows."""
    payslips = list(
        uow.session.scalars(
            select(Payslip).where(Payslip.run_id == run.id).order_by(Payslip.project_id, Payslip.agent_id)
        )
    )
    return [
        ExportRow(v["agent_id"], v["agent_name"], v["project_id"], v["plan_type"], v["total"], v["lines"])
        for v in payslip_views(uow, payslips)
    ]


@dataclass(frozen=True)
class PayrollExport:
    """What the export view sends: the rows under ``PAYROLL_COLUMNS``, the file's and the sheet's name."""

    rows: list[list[Any]]
    filename: str
    sheet: str


def payroll_export(uow: UnitOfWork, run_id: str) -> PayrollExport:
    """A run's payslips as a table (404 for an unknown run)."""
    run = get_run(uow, run_id)
    rows = payroll_rows(run.id, run.period, run.status, export_rows(uow, run))
    scope = f"-{run.project_id}" if run.project_id else ""
    return PayrollExport(rows, filename=f"payroll-{run.period}{scope}", sheet=f"payroll {run.period}")
