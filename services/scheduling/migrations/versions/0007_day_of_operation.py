"""The day of operation: availability windows and exceptions, leave requests, shift swaps, open shifts and
their claims, attendance records, calendar-feed tokens; a project's clock-in tolerance and an agent's
settlement authority.

Revision ID: scheduling_0007
Revises: scheduling_0006
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "scheduling_0007"
down_revision = "scheduling_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("clock_tolerance_minutes", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("settlement_limit_amount", sa.Numeric(precision=12, scale=2), nullable=True)
        )
        batch.add_column(sa.Column("settlement_limit_pct", sa.Numeric(precision=5, scale=2), nullable=True))
    op.create_table(
        "attendance_records",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("shift", sa.String(length=40), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("clock_in", UTCDateTime(), nullable=True),
        sa.Column("clock_out", UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("late_minutes", sa.Integer(), nullable=False),
        sa.Column("early_minutes", sa.Integer(), nullable=False),
        sa.Column("replacement_id", sa.String(length=64), nullable=True),
        sa.Column("confirmed_hours", sa.Numeric(precision=4, scale=2), nullable=True),
        sa.Column("correction_reason", sa.Text(), nullable=True),
        sa.Column("confirmed_by", sa.String(length=100), nullable=True),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
        sa.Column("timesheet_id", sa.String(length=36), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_records")),
        sa.UniqueConstraint("project_id", "agent_id", "date", name=op.f("uq_attendance_records_project_id")),
    )
    op.create_index(
        "ix_attendance_records_day", "attendance_records", ["project_id", "date", "agent_id"], unique=False
    )
    op.create_table(
        "availability_exceptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("windows", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_exceptions")),
        sa.UniqueConstraint("agent_id", "date", name=op.f("uq_availability_exceptions_agent_id")),
    )
    op.create_table(
        "availability_windows",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("end_minute", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_windows")),
    )
    op.create_index(
        "ix_availability_windows_agent",
        "availability_windows",
        ["agent_id", "weekday", "start_minute"],
        unique=False,
    )
    op.create_table(
        "calendar_tokens",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_tokens")),
    )
    op.create_index("ix_calendar_tokens_agent", "calendar_tokens", ["agent_id", "created_at"], unique=False)
    op.create_table(
        "leave_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("effects", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leave_requests")),
    )
    op.create_index(
        "ix_leave_requests_agent", "leave_requests", ["agent_id", "date_from", "date_to"], unique=False
    )
    op.create_index(
        "ix_leave_requests_status", "leave_requests", ["status", "created_at", "id"], unique=False
    )
    op.create_table(
        "open_shifts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("shift", sa.String(length=40), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("skill", sa.String(length=20), nullable=True),
        sa.Column("places", sa.Integer(), nullable=False),
        sa.Column("claimed", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_shifts")),
        sa.UniqueConstraint("project_id", "date", "shift", name=op.f("uq_open_shifts_project_id")),
    )
    op.create_index(
        "ix_open_shifts_status", "open_shifts", ["project_id", "status", "date", "start_minute"], unique=False
    )
    op.create_table(
        "swap_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("shift", sa.String(length=40), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("skill", sa.String(length=20), nullable=True),
        sa.Column("from_agent_id", sa.String(length=64), nullable=False),
        sa.Column("to_agent_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("rule", sa.String(length=50), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("roster_version", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("accepted_at", UTCDateTime(), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_swap_requests")),
    )
    op.create_index(
        "ix_swap_requests_project",
        "swap_requests",
        ["project_id", "status", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "open_shift_claims",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("open_shift_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("roster_version", sa.Integer(), nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["open_shift_id"],
            ["open_shifts.id"],
            name=op.f("fk_open_shift_claims_open_shift_id_open_shifts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_shift_claims")),
        sa.UniqueConstraint("open_shift_id", "agent_id", name=op.f("uq_open_shift_claims_open_shift_id")),
        sa.UniqueConstraint("project_id", "date", "agent_id", name=op.f("uq_open_shift_claims_project_id")),
    )


def downgrade() -> None:
    for table in (
        "open_shift_claims",
        "swap_requests",
        "open_shifts",
        "leave_requests",
        "calendar_tokens",
        "availability_windows",
        "availability_exceptions",
        "attendance_records",
    ):
        op.drop_table(table)
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("settlement_limit_pct")
        batch.drop_column("settlement_limit_amount")
        batch.drop_column("clock_tolerance_minutes")
