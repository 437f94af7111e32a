"""Pay a base on the quality service's KPI: quality's ``kpi.scored`` kept per agent and month
(``kpi_scores``), and a plan's KPI conditions (``min_kpi_score``, ``kpi_targets_met``).

Revision ID: billing_0006
Revises: billing_0005
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "billing_0006"
down_revision = "billing_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_scores",
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("score", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("targets_met", sa.Boolean(), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "project_id", "period", name=op.f("pk_kpi_scores")),
    )
    op.create_index("ix_kpi_scores_period", "kpi_scores", ["period", "project_id", "agent_id"], unique=False)
    with op.batch_alter_table("pay_plans") as batch:
        batch.add_column(sa.Column("min_kpi_score", sa.Numeric(precision=5, scale=2), nullable=True))
        batch.add_column(sa.Column("kpi_targets_met", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pay_plans") as batch:
        batch.drop_column("kpi_targets_met")
        batch.drop_column("min_kpi_score")
    op.drop_index("ix_kpi_scores_period", table_name="kpi_scores")
    op.drop_table("kpi_scores")
