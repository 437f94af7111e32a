"""Billing tables: read models (projects, agents, worked hours, deductions), pay plans, performance,
adjustments, the late-data journal and the payroll (runs, payslips, lines).

Revision ID: billing_0002
Revises: billing_0001
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "billing_0002"
down_revision = "billing_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "adjustments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adjustments")),
    )
    op.create_index("ix_adjustments_period", "adjustments", ["period"], unique=False)

    op.create_table(
        "agents",
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("admitted_on", sa.Date(), nullable=True),
        sa.Column("departed_on", sa.Date(), nullable=True),
        sa.Column("replaced_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "project_id", name=op.f("pk_agents")),
    )
    op.create_index("ix_agents_project_id", "agents", ["project_id"], unique=False)

    op.create_table(
        "deductions",
        sa.Column("complaint_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("complaint_id", name=op.f("pk_deductions")),
    )
    op.create_index("ix_deductions_period", "deductions", ["period"], unique=False)

    op.create_table(
        "pay_plans",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.Column("scope_key", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("hourly_rate", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("monthly_base", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("commission_rate", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("max_avg_response_seconds", sa.Numeric(precision=8, scale=2), nullable=True),
        sa.Column("min_response_rate", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("base_factor_when_unmet", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("notes", sa.String(length=500), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pay_plans")),
        sa.UniqueConstraint(
            "project_id", "scope_key", "effective_from", name=op.f("uq_pay_plans_project_id")
        ),
    )
    op.create_index("ix_pay_plans_project_id", "pay_plans", ["project_id"], unique=False)

    op.create_table(
        "payroll_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=True),
        sa.Column("scope_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("payslip_count", sa.Integer(), nullable=False),
        sa.Column("without_plan", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("calculated_at", UTCDateTime(), nullable=False),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("approved_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payroll_runs")),
        sa.UniqueConstraint("period", "scope_key", name=op.f("uq_payroll_runs_period")),
    )
    op.create_table(
        "pending_changes",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "agent_id", "period", name=op.f("pk_pending_changes")),
    )
    op.create_table(
        "performance",
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("sales_amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("avg_response_seconds", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("response_rate", sa.Numeric(precision=9, scale=6), nullable=False),
        sa.Column("consultations", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "project_id", "date", name=op.f("pk_performance")),
    )
    op.create_index("ix_performance_date", "performance", ["date"], unique=False)

    op.create_table(
        "projects",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=True),
        sa.Column("company_name", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_projects")),
    )
    op.create_table(
        "worked_hours",
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("hours", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "project_id", "date", name=op.f("pk_worked_hours")),
    )
    op.create_index("ix_worked_hours_date", "worked_hours", ["date"], unique=False)

    op.create_table(
        "payslips",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("agent_name", sa.String(length=100), nullable=True),
        sa.Column("plan_id", sa.String(length=36), nullable=True),
        sa.Column("plan_type", sa.String(length=20), nullable=True),
        sa.Column("total", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["payroll_runs.id"], name=op.f("fk_payslips_run_id_payroll_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payslips")),
        sa.UniqueConstraint("run_id", "agent_id", "project_id", name=op.f("uq_payslips_run_id")),
    )
    op.create_index("ix_payslips_agent_id_project_id", "payslips", ["agent_id", "project_id"], unique=False)

    op.create_table(
        "payslip_lines",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("payslip_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("explanation", sa.String(length=500), nullable=False),
        sa.Column("origin_period", sa.String(length=7), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["payslip_id"],
            ["payslips.id"],
            name=op.f("fk_payslip_lines_payslip_id_payslips"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payslip_lines")),
    )
    op.create_index("ix_payslip_lines_payslip_id", "payslip_lines", ["payslip_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_payslip_lines_payslip_id", table_name="payslip_lines")
    op.drop_table("payslip_lines")
    op.drop_index("ix_payslips_agent_id_project_id", table_name="payslips")
    op.drop_table("payslips")
    op.drop_index("ix_worked_hours_date", table_name="worked_hours")
    op.drop_table("worked_hours")
    op.drop_table("projects")
    op.drop_index("ix_performance_date", table_name="performance")
    op.drop_table("performance")
    op.drop_table("pending_changes")
    op.drop_table("payroll_runs")
    op.drop_index("ix_pay_plans_project_id", table_name="pay_plans")
    op.drop_table("pay_plans")
    op.drop_index("ix_deductions_period", table_name="deductions")
    op.drop_table("deductions")
    op.drop_index("ix_agents_project_id", table_name="agents")
    op.drop_table("agents")
    op.drop_index("ix_adjustments_period", table_name="adjustments")
    op.drop_table("adjustments")
