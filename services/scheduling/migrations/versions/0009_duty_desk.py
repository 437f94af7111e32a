"""The on-duty supervisor desk (值班): duty shifts (desk and all-hands agent duty), agents' help requests,
and all-hands declarations for mass attrition (全员上岗).

Revision ID: scheduling_0009
Revises: scheduling_0008
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "scheduling_0009"
down_revision = "scheduling_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "duty_shifts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("supervisor_id", sa.String(length=64), nullable=False),
        sa.Column("supervisor_name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=True),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("duty", sa.String(length=10), nullable=False),
        sa.Column("all_hands_id", sa.String(length=36), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_shifts")),
    )
    op.create_index(
        "ix_duty_shifts_project_date",
        "duty_shifts",
        ["project_id", "date", "start_minute", "id"],
        unique=False,
    )
    op.create_index(
        "ix_duty_shifts_person_date",
        "duty_shifts",
        ["supervisor_id", "date", "start_minute", "id"],
        unique=False,
    )
    op.create_index("ix_duty_shifts_all_hands", "duty_shifts", ["all_hands_id"], unique=False)

    op.create_table(
        "help_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("agent_name", sa.String(length=100), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("order_ref", sa.String(length=100), nullable=True),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("order_amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("authority_note", sa.Text(), nullable=True),
        sa.Column("supervisor_id", sa.String(length=64), nullable=True),
        sa.Column("supervisor_name", sa.String(length=100), nullable=True),
        sa.Column("duty_shift_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=100), nullable=True),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.Column("waited_seconds", sa.Integer(), nullable=True),
        sa.Column("party", sa.String(length=20), nullable=True),
        sa.Column("handover_note", sa.Text(), nullable=True),
        sa.Column("handed_over_by", sa.String(length=100), nullable=True),
        sa.Column("handed_over_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_help_requests")),
    )
    op.create_index(
        "ix_help_requests_project", "help_requests", ["project_id", "requested_at", "id"], unique=False
    )
    op.create_index(
        "ix_help_requests_project_status",
        "help_requests",
        ["project_id", "status", "requested_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_help_requests_project_agent",
        "help_requests",
        ["project_id", "agent_id", "requested_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_help_requests_supervisor",
        "help_requests",
        ["supervisor_id", "status", "requested_at", "id"],
        unique=False,
    )

    op.create_table(
        "all_hands",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date(), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("staff", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("active_target", sa.Integer(), nullable=False),
        sa.Column("present_agents", sa.Integer(), nullable=False),
        sa.Column("missing", sa.Integer(), nullable=False),
        sa.Column("merchant_alert_id", sa.String(length=64), nullable=True),
        sa.Column("declared_by", sa.String(length=100), nullable=True),
        sa.Column("declared_at", UTCDateTime(), nullable=False),
        sa.Column("ended_by", sa.String(length=100), nullable=True),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_all_hands")),
    )
    op.create_index("ix_all_hands_project", "all_hands", ["project_id", "declared_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_all_hands_project", table_name="all_hands")
    op.drop_table("all_hands")
    for name in (
        "ix_help_requests_supervisor",
        "ix_help_requests_project_agent",
        "ix_help_requests_project_status",
        "ix_help_requests_project",
    ):
        op.drop_index(name, table_name="help_requests")
    op.drop_table("help_requests")
    for name in ("ix_duty_shifts_all_hands", "ix_duty_shifts_person_date", "ix_duty_shifts_project_date"):
        op.drop_index(name, table_name="duty_shifts")
    op.drop_table("duty_shifts")
