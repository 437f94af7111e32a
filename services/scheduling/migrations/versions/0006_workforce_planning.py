"""Workforce planning: consultation history, campaigns, staffing plans with their intervals and coverage;
part-timers in the pool; planned shifts carry a skill and a longer name.

Revision ID: scheduling_0006
Revises: scheduling_0005
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "scheduling_0006"
down_revision = "scheduling_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("first_response_seconds", sa.Integer(), nullable=True))
    with op.batch_alter_table("pool_agents") as batch:
        batch.add_column(sa.Column("part_time", sa.Boolean(), server_default="0", nullable=False))
    with op.batch_alter_table("roster_assignments") as batch:
        batch.alter_column("shift", existing_type=sa.String(length=20), type_=sa.String(length=40))
        batch.add_column(sa.Column("skill", sa.String(length=20), nullable=True))
    with op.batch_alter_table("roster_slots") as batch:
        batch.alter_column("shift", existing_type=sa.String(length=20), type_=sa.String(length=40))

    op.create_table(
        "demand_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("minute", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("consultations", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demand_history")),
        sa.UniqueConstraint(
            "project_id", "date", "minute", "channel", name=op.f("uq_demand_history_project_id")
        ),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("festival_day", sa.Date(), nullable=False),
        sa.Column("last_year_festival_day", sa.Date(), nullable=False),
        sa.Column("phases", sa.JSON(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index("ix_campaigns_project", "campaigns", ["project_id", "created_at", "id"], unique=False)
    op.create_table(
        "staffing_plans",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("roster_id", sa.String(length=36), nullable=True),
        sa.Column("required_agents", sa.Integer(), nullable=False),
        sa.Column("available_agents", sa.Integer(), nullable=False),
        sa.Column("gap", sa.Integer(), nullable=False),
        sa.Column("peak_agents", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_staffing_plans_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staffing_plans")),
        sa.UniqueConstraint("campaign_id", "version", name=op.f("uq_staffing_plans_campaign_id")),
    )
    op.create_index(
        "ix_staffing_plans_project", "staffing_plans", ["project_id", "created_at", "id"], unique=False
    )
    op.create_table(
        "plan_intervals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.String(length=36), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("minute", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("phase", sa.String(length=20), nullable=False),
        sa.Column("last_year", sa.Float(), nullable=False),
        sa.Column("forecast", sa.Float(), nullable=False),
        sa.Column("bot", sa.Float(), nullable=False),
        sa.Column("traffic", sa.Float(), nullable=False),
        sa.Column("erlang_agents", sa.Integer(), nullable=False),
        sa.Column("simple_agents", sa.Integer(), nullable=False),
        sa.Column("own_agents", sa.Integer(), nullable=False),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("service_level", sa.Float(), nullable=False),
        sa.Column("occupancy", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["staffing_plans.id"],
            name=op.f("fk_plan_intervals_plan_id_staffing_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_intervals")),
        sa.UniqueConstraint("plan_id", "date", "minute", "channel", name=op.f("uq_plan_intervals_plan_id")),
    )
    op.create_table(
        "plan_coverage",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.String(length=36), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("minute", sa.Integer(), nullable=False),
        sa.Column("skill", sa.String(length=10), nullable=False),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("scheduled", sa.Integer(), nullable=False),
        sa.Column("short", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["staffing_plans.id"],
            name=op.f("fk_plan_coverage_plan_id_staffing_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_coverage")),
        sa.UniqueConstraint("plan_id", "date", "minute", "skill", name=op.f("uq_plan_coverage_plan_id")),
    )
    op.create_index(
        "ix_plan_coverage_short", "plan_coverage", ["plan_id", "short", "date", "minute"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_plan_coverage_short", table_name="plan_coverage")
    op.drop_table("plan_coverage")
    op.drop_table("plan_intervals")
    op.drop_index("ix_staffing_plans_project", table_name="staffing_plans")
    op.drop_table("staffing_plans")
    op.drop_index("ix_campaigns_project", table_name="campaigns")
    op.drop_table("campaigns")
    op.drop_table("demand_history")
    with op.batch_alter_table("roster_slots") as batch:
        batch.alter_column("shift", existing_type=sa.String(length=40), type_=sa.String(length=20))
    with op.batch_alter_table("roster_assignments") as batch:
        batch.drop_column("skill")
        batch.alter_column("shift", existing_type=sa.String(length=40), type_=sa.String(length=20))
    with op.batch_alter_table("pool_agents") as batch:
        batch.drop_column("part_time")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("first_response_seconds")
