"""Payroll runs of overlapping scopes exclude each other in the database; runs keep their warnings;
payslip lines are indexed by ``ref`` (the carried-deduction balance is read from it).

``payroll_period_claims`` holds, per period, how many whole-period and project runs exist; its CHECK
allows one whole-period run or any number of project runs, never both. Existing runs are counted in; a
database that already holds overlapping runs (created before this fix) is refused with the list of
them, because there is no right guess of which one to keep.

Revision ID: billing_0004
Revises: billing_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "billing_0004"
down_revision = "billing_0003"
branch_labels = None
depends_on = None

ONE_SCOPE = "whole_runs BETWEEN 0 AND 1 AND project_runs >= 0 AND (whole_runs = 0 OR project_runs = 0)"


def upgrade() -> None:
    bind = op.get_bind()
    overlaps = bind.execute(
        sa.text(
            "SELECT period, id, status, scope_key FROM payroll_runs WHERE period IN ("
            "SELECT period FROM payroll_runs GROUP BY period "
            "HAVING SUM(CASE WHEN scope_key = '*' THEN 1 ELSE 0 END) > 0 AND COUNT(*) > 1) "
            "ORDER BY period, id"
        )
    ).all()
    if overlaps:
        listed = "; ".join(
            f"{period} run {run_id} ({status}, scope {scope})" for period, run_id, status, scope in overlaps
        )
        raise RuntimeError(
            "billing_0004: these periods have a whole-period run and another run at once, which this "
            f"migration forbids — {listed}. Delete the overlapping draft(s) (DELETE /api/v1/payroll-runs/"
            "{id}) with the previous release, then migrate again; overlapping approved runs paid twice and "
            "need a manual correction (a negative adjustment) first, then the duplicate row removed."
        )
    op.add_column("payroll_runs", sa.Column("warnings", sa.JSON(), nullable=True))
    op.execute("UPDATE payroll_runs SET warnings = '[]'")
    with op.batch_alter_table("payroll_runs") as batch:
        batch.alter_column("warnings", existing_type=sa.JSON(), nullable=False)
    op.create_table(
        "payroll_period_claims",
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("whole_runs", sa.Integer(), nullable=False),
        sa.Column("project_runs", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            ONE_SCOPE,
            name=op.f("ck_payroll_period_claims_one_scope"),
        ),
        sa.PrimaryKeyConstraint("period", name=op.f("pk_payroll_period_claims")),
    )
    op.create_index("ix_payslip_lines_ref", "payslip_lines", ["ref"], unique=False)
    op.execute(
        "INSERT INTO payroll_period_claims (period, whole_runs, project_runs) "
        "SELECT period, SUM(CASE WHEN scope_key = '*' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN scope_key = '*' THEN 0 ELSE 1 END) FROM payroll_runs GROUP BY period"
    )


def downgrade() -> None:
    op.drop_index("ix_payslip_lines_ref", table_name="payslip_lines")
    op.drop_table("payroll_period_claims")
    with op.batch_alter_table("payroll_runs") as batch:
        batch.drop_column("warnings")
