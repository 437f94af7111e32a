"""The supervisor's early warning: each agent's latest KPI on a project from quality's kpi.scored.

Revision ID: scheduling_0005
Revises: scheduling_0004
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "scheduling_0005"
down_revision = "scheduling_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_standings",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("score", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("below_threshold_streak", sa.Integer(), nullable=False),
        sa.Column("warning", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "agent_id", name=op.f("pk_kpi_standings")),
    )
    op.create_index(
        "ix_kpi_standings_warning", "kpi_standings", ["project_id", "warning", "agent_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_kpi_standings_warning", table_name="kpi_standings")
    op.drop_table("kpi_standings")
