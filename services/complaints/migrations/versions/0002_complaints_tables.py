"""Complaints tables: projects and agents (read models), project staff, daily counters, complaints and
their history.

Revision ID: complaints_0002
Revises: complaints_0001
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "complaints_0002"
down_revision = "complaints_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaint_counters",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_complaint_counters")),
    )
    op.create_table(
        "complaints",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("about_staff", sa.Boolean(), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.Column("customer_ref", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("due_at_source", sa.String(length=10), nullable=False),
        sa.Column("sla_started_at", UTCDateTime(), nullable=False),
        sa.Column("half_time_at", UTCDateTime(), nullable=False),
        sa.Column("paused_seconds", sa.Float(), nullable=False),
        sa.Column("paused_since", UTCDateTime(), nullable=True),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("breached_at", UTCDateTime(), nullable=True),
        sa.Column("first_response_due_at", UTCDateTime(), nullable=False),
        sa.Column("first_responded_at", UTCDateTime(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("agent_at_fault", sa.Boolean(), nullable=False),
        sa.Column("penalty", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("upheld_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("close_reason", sa.String(length=10), nullable=True),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_by_role", sa.String(length=20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("number", name=op.f("uq_complaints_number")),
    )
    op.create_index(op.f("ix_complaints_agent_id"), "complaints", ["agent_id"], unique=False)
    op.create_index(op.f("ix_complaints_assignee"), "complaints", ["assignee"], unique=False)
    op.create_index(op.f("ix_complaints_category"), "complaints", ["category"], unique=False)
    op.create_index(op.f("ix_complaints_created_at"), "complaints", ["created_at"], unique=False)
    op.create_index(op.f("ix_complaints_merchant_id"), "complaints", ["merchant_id"], unique=False)
    op.create_index(op.f("ix_complaints_project_id"), "complaints", ["project_id"], unique=False)
    op.create_index(op.f("ix_complaints_resolved_at"), "complaints", ["resolved_at"], unique=False)
    op.create_index(op.f("ix_complaints_status"), "complaints", ["status"], unique=False)
    op.create_table(
        "project_agents",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("admitted_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "agent_id", name=op.f("pk_project_agents")),
    )
    op.create_table(
        "project_staff",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "role", "user_id", name=op.f("pk_project_staff")),
    )
    op.create_table(
        "projects",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=True),
        sa.Column("company_name", sa.String(length=200), nullable=True),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_projects")),
    )
    op.create_index(op.f("ix_projects_merchant_id"), "projects", ["merchant_id"], unique=False)
    op.create_table(
        "complaint_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("complaint_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("visibility", sa.String(length=10), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=True),
        sa.Column("from_level", sa.String(length=20), nullable=True),
        sa.Column("to_level", sa.String(length=20), nullable=True),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_complaint_history_complaint_id_complaints")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_history")),
    )
    op.create_index(
        op.f("ix_complaint_history_complaint_id"), "complaint_history", ["complaint_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_complaint_history_complaint_id"), table_name="complaint_history")
    op.drop_table("complaint_history")
    op.drop_index(op.f("ix_projects_merchant_id"), table_name="projects")
    op.drop_table("projects")
    op.drop_table("project_staff")
    op.drop_table("project_agents")
    op.drop_index(op.f("ix_complaints_status"), table_name="complaints")
    op.drop_index(op.f("ix_complaints_resolved_at"), table_name="complaints")
    op.drop_index(op.f("ix_complaints_project_id"), table_name="complaints")
    op.drop_index(op.f("ix_complaints_merchant_id"), table_name="complaints")
    op.drop_index(op.f("ix_complaints_created_at"), table_name="complaints")
    op.drop_index(op.f("ix_complaints_category"), table_name="complaints")
    op.drop_index(op.f("ix_complaints_assignee"), table_name="complaints")
    op.drop_index(op.f("ix_complaints_agent_id"), table_name="complaints")
    op.drop_table("complaints")
    op.drop_table("complaint_counters")
