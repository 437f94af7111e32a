"""Indexes that serve every billing list (its filters, then its sort) for keyset pagination; cheaper payroll
writes.

Each list is read through one index whose leading columns are the list's equality filter and whose rest
is the list's sort, so a page is an index range read with a LIMIT: no scan of the table and no sort of it
(tests/integration/test_list_plans_billing.py checks the plans on 100,000 rows). Single-column indexes
that the new ones start with go.

A payroll run writes thousands of payslip lines in one statement. Two things made that slow, and go:
the foreign key from a line to its payslip checked (and share-locked) the payslip once per line — lines
are only ever written together with their payslip and deleted before it, by ``services.billing.payroll``;
and the index on ``ref`` held an entry for every line although only carried deductions, complaints and
adjustments have one (now a partial index, the same lookups by ``ref = …`` use it).

Revision ID: billing_0005
Revises: billing_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "billing_0005"
down_revision = "billing_0004"
branch_labels = None
depends_on = None

#: (index, table, columns); text columns are expressions
INDEXES: list[tuple[str, str, list[str | sa.TextClause]]] = [
    ("ix_agents_list", "agents", ["project_id", sa.text("coalesce(name, '')"), "agent_id"]),
    ("ix_projects_list", "projects", [sa.text("coalesce(company_name, '')"), "project_id"]),
    ("ix_projects_status_list", "projects", ["status", sa.text("coalesce(company_name, '')"), "project_id"]),
    ("ix_pay_plans_list", "pay_plans", ["project_id", "scope_key", "effective_from", "id"]),
    ("ix_pay_plans_agent_list", "pay_plans", ["agent_id", "project_id", "scope_key", "effective_from", "id"]),
    ("ix_performance_list", "performance", ["date", "project_id", "agent_id"]),
    ("ix_performance_project_list", "performance", ["project_id", "date", "agent_id"]),
    ("ix_worked_hours_list", "worked_hours", ["date", "project_id", "agent_id"]),
    ("ix_worked_hours_project_list", "worked_hours", ["project_id", "date", "agent_id"]),
    ("ix_deductions_list", "deductions", ["resolved_on", "complaint_id"]),
    ("ix_deductions_period_list", "deductions", ["period", "resolved_on", "complaint_id"]),
    ("ix_deductions_project_list", "deductions", ["project_id", "resolved_on", "complaint_id"]),
    ("ix_deductions_agent_list", "deductions", ["agent_id", "resolved_on", "complaint_id"]),
    ("ix_adjustments_list", "adjustments", ["created_at", "id"]),
    ("ix_adjustments_period_list", "adjustments", ["period", "created_at", "id"]),
    ("ix_adjustments_project_list", "adjustments", ["project_id", "created_at", "id"]),
    ("ix_adjustments_agent_list", "adjustments", ["agent_id", "created_at", "id"]),
    ("ix_payroll_runs_list", "payroll_runs", ["period", "created_at", "id"]),
    ("ix_payroll_runs_project_list", "payroll_runs", ["project_id", "period", "created_at", "id"]),
    ("ix_payroll_runs_status_list", "payroll_runs", ["status", "period", "created_at", "id"]),
    ("ix_payslips_list", "payslips", ["period", "project_id", "agent_id", "id"]),
    ("ix_payslips_agent_list", "payslips", ["agent_id", "period", "project_id", "id"]),
]
#: (index, table, columns) the new ones make redundant
REPLACED: list[tuple[str, str, list[str]]] = [
    ("ix_agents_project_id", "agents", ["project_id"]),
    ("ix_pay_plans_project_id", "pay_plans", ["project_id"]),
    ("ix_performance_date", "performance", ["date"]),
    ("ix_worked_hours_date", "worked_hours", ["date"]),
    ("ix_deductions_period", "deductions", ["period"]),
    ("ix_adjustments_period", "adjustments", ["period"]),
    ("ix_payslips_agent_id_project_id", "payslips", ["agent_id", "project_id"]),
]
REF_NOT_NULL = sa.text("ref IS NOT NULL")
LINE_FK = "fk_payslip_lines_payslip_id_payslips"


def upgrade() -> None:
    # first: on SQLite the batch copies the table and its indexes as they are at that point
    with op.batch_alter_table("payslip_lines") as batch:
        batch.drop_constraint(LINE_FK, type_="foreignkey")
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    for name, table, _columns in REPLACED:
        op.drop_index(name, table_name=table)
    op.drop_index("ix_payslip_lines_ref", table_name="payslip_lines")
    op.create_index(
        "ix_payslip_lines_ref",
        "payslip_lines",
        ["ref"],
        unique=False,
        postgresql_where=REF_NOT_NULL,
        sqlite_where=REF_NOT_NULL,
    )


def downgrade() -> None:
    op.drop_index("ix_payslip_lines_ref", table_name="payslip_lines")
    op.create_index("ix_payslip_lines_ref", "payslip_lines", ["ref"], unique=False)
    with op.batch_alter_table("payslip_lines") as batch:
        batch.create_foreign_key(LINE_FK, "payslips", ["payslip_id"], ["id"], ondelete="CASCADE")
    for name, table, columns in REPLACED:
        op.create_index(name, table, columns, unique=False)
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table)
