"""The complaints service's complaints, for the weekly review (complaint.opened / .escalated / .resolved
/ .upheld).

Revision ID: quality_0003
Revises: quality_0002
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "quality_0003"
down_revision = "quality_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("complaint_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.Column("level", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("upheld", sa.Boolean(), nullable=False),
        sa.Column("penalty", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("complaint_id", name=op.f("pk_complaints")),
    )
    op.create_index(
        "ix_complaints_week", "complaints", ["project_id", "opened_on", "complaint_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_complaints_week", table_name="complaints")
    op.drop_table("complaints")
