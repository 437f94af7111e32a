"""Tables in and out: the performance import (all-or-nothing, every bad line reported) and the payroll
export (columns below; CSV or XLSX through ``shared.tabular``). No Flask: the views send the files."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from marshmallow import Schema
from sqlalchemy import select

from services.billing.domain import LINE_KINDS, ZERO
from services.billing.models import PayrollRun, Payslip
from services.billing.payroll import get_run
from services.billing.queries import payslip_views
from shared.money import format_money
from shared.tabular import Column, ParsedImport, parse_table
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


def parse_performance_csv(raw: bytes, schema: Schema, *, max_rows: int) -> ParsedImport:
    """The performance file, every line through ``schema`` (the JSON endpoint's rules), all reported."""
    return parse_table(raw, PERFORMANCE_COLUMNS, schema, max_rows=max_rows)


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
