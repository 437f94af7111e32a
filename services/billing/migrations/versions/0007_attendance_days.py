"""Attendance on payslips: scheduling's attendance.recorded and agent.no_show kept per agent, project and
day (``attendance_days``), listed at /api/v1/attendance, and summarised on each payslip when it is
calculated (``payslips.attendance_*``; NULL on the payslips calculated before).

The list's two indexes follow billing_0005's rule (the equality filter first, then the list's sort); the
primary key (agent, project, date) serves an agent's list and a payslip's month.

Revision ID: billing_0007
Revises: billing_0006
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "billing_0007"
down_revision = "billing_0006"
branch_labels = None
depends_on = None

SUMMARY_COLUMNS = (
    "attendance_days_recorded",
    "attendance_present",
    "attendance_late",
    "attendance_early_leave",
    "attendance_no_show",
    "attendance_late_minutes",
    "attendance_early_minutes",
)


def upgrade() -> None:
    op.create_table(
        "attendance_days",
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("shift", sa.String(length=40), nullable=True),
        sa.Column("late_minutes", sa.Integer(), nullable=False),
        sa.Column("early_minutes", sa.Integer(), nullable=False),
        sa.Column("hours", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("clock_in", UTCDateTime(), nullable=True),
        sa.Column("clock_out", UTCDateTime(), nullable=True),
        sa.Column("corrected", sa.Boolean(), nullable=False),
        sa.Column("no_show_replacement_id", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "project_id", "date", name=op.f("pk_attendance_days")),
    )
    op.create_index("ix_attendance_days_list", "attendance_days", ["date", "project_id", "agent_id"])
    op.create_index("ix_attendance_days_project_list", "attendance_days", ["project_id", "date", "agent_id"])
    with op.batch_alter_table("payslips") as batch:
        for column in SUMMARY_COLUMNS:
            batch.add_column(sa.Column(column, sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payslips") as batch:
        for column in reversed(SUMMARY_COLUMNS):
            batch.drop_column(column)
    op.drop_index("ix_attendance_days_project_list", table_name="attendance_days")
    op.drop_index("ix_attendance_days_list", table_name="attendance_days")
    op.drop_table("attendance_days")
