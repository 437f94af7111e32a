"""The scheduling tables: project and pool read models, roster versions, surges, timesheets.

Revision ID: scheduling_0002
Revises: scheduling_0001
Create Date: 2026-11-27 00:12:14.683477
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "scheduling_0002"
down_revision = "scheduling_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pool_agents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("cohort_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("shifts_available", sa.JSON(), nullable=False),
        sa.Column("quiz_score", sa.Float(), nullable=False),
        sa.Column("simulation_score", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("admitted_at", UTCDateTime(), nullable=False),
        sa.Column("departed_on", sa.Date(), nullable=True),
        sa.Column("departure_reason", sa.Text(), nullable=True),
        sa.Column("replaced_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_agents")),
        sa.UniqueConstraint("project_id", "agent_id", name=op.f("uq_pool_agents_project_id")),
    )
    with op.batch_alter_table("pool_agents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pool_agents_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pool_agents_project_id"), ["project_id"], unique=False)

    op.create_table(
        "projects",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=True),
        sa.Column("seats", sa.Integer(), nullable=True),
        sa.Column("service_type", sa.String(length=20), nullable=True),
        sa.Column("service_start", sa.String(length=5), nullable=True),
        sa.Column("service_end", sa.String(length=5), nullable=True),
        sa.Column("go_live_date", sa.Date(), nullable=True),
        sa.Column("company_name", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("last_event_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_projects_merchant_id"), ["merchant_id"], unique=False)

    op.create_table(
        "rosters",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("method", sa.String(length=30), nullable=False),
        sa.Column("solver_status", sa.String(length=50), nullable=False),
        sa.Column("solve_seconds", sa.Float(), nullable=False),
        sa.Column("binding_rules", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rosters")),
        sa.UniqueConstraint("project_id", "version", name=op.f("uq_rosters_project_id")),
    )
    with op.batch_alter_table("rosters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rosters_project_id"), ["project_id"], unique=False)

    op.create_table(
        "surges",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("increase_pct", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("notice_days", sa.Integer(), nullable=False),
        sa.Column("extra_seats", sa.Integer(), nullable=False),
        sa.Column("covered", sa.Integer(), nullable=False),
        sa.Column("uncovered", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=50), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("earliest_start", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("cancelled_at", UTCDateTime(), nullable=True),
        sa.Column("cancelled_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surges")),
    )
    with op.batch_alter_table("surges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_surges_project_id"), ["project_id"], unique=False)

    op.create_table(
        "timesheet_entries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("hours", sa.Numeric(precision=4, scale=2), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=100), nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("superseded_at", UTCDateTime(), nullable=True),
        sa.Column("superseded_by", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timesheet_entries")),
    )
    with op.batch_alter_table("timesheet_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_timesheet_entries_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_timesheet_entries_date"), ["date"], unique=False)
        batch_op.create_index("ix_timesheet_entries_key", ["project_id", "agent_id", "date"], unique=False)

    op.create_table(
        "roster_assignments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("roster_id", sa.String(length=36), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("shift", sa.String(length=20), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["roster_id"],
            ["rosters.id"],
            name=op.f("fk_roster_assignments_roster_id_rosters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_assignments")),
        sa.UniqueConstraint("roster_id", "date", "agent_id", name=op.f("uq_roster_assignments_roster_id")),
    )
    with op.batch_alter_table("roster_assignments", schema=None) as batch_op:
        batch_op.create_index("ix_roster_assignments_agent_date", ["agent_id", "date"], unique=False)
        batch_op.create_index(batch_op.f("ix_roster_assignments_roster_id"), ["roster_id"], unique=False)

    op.create_table(
        "roster_slots",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("roster_id", sa.String(length=36), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("shift", sa.String(length=20), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("needed", sa.Integer(), nullable=False),
        sa.Column("missing", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=50), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["roster_id"], ["rosters.id"], name=op.f("fk_roster_slots_roster_id_rosters"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_slots")),
        sa.UniqueConstraint("roster_id", "date", "shift", name=op.f("uq_roster_slots_roster_id")),
    )
    with op.batch_alter_table("roster_slots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_roster_slots_roster_id"), ["roster_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("roster_slots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roster_slots_roster_id"))

    op.drop_table("roster_slots")
    with op.batch_alter_table("roster_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roster_assignments_roster_id"))
        batch_op.drop_index("ix_roster_assignments_agent_date")

    op.drop_table("roster_assignments")
    with op.batch_alter_table("timesheet_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_timesheet_entries_key")
        batch_op.drop_index(batch_op.f("ix_timesheet_entries_date"))
        batch_op.drop_index(batch_op.f("ix_timesheet_entries_agent_id"))

    op.drop_table("timesheet_entries")
    with op.batch_alter_table("surges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_surges_project_id"))

    op.drop_table("surges")
    with op.batch_alter_table("rosters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rosters_project_id"))

    op.drop_table("rosters")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projects_merchant_id"))

    op.drop_table("projects")
    with op.batch_alter_table("pool_agents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pool_agents_project_id"))
        batch_op.drop_index(batch_op.f("ix_pool_agents_agent_id"))

    op.drop_table("pool_agents")
