"""Improvement training from the quality service's findings (qa.finding): a retraining record has a
source (an upheld complaint or QA), a QA record carries its findings, and a complaint's columns are empty
on it.

Revision ID: training_0005
Revises: training_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "training_0005"
down_revision = "training_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("retrainings") as batch:
        batch.add_column(
            sa.Column("source", sa.String(length=10), nullable=False, server_default="complaint")
        )
        batch.add_column(sa.Column("findings", sa.JSON(), nullable=True))
        batch.alter_column("complaint_id", existing_type=sa.String(length=64), nullable=True)
        batch.alter_column("complaint_number", existing_type=sa.String(length=40), nullable=True)
        batch.alter_column("penalty", existing_type=sa.Numeric(precision=12, scale=2), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM retrainings WHERE source <> 'complaint'")
    with op.batch_alter_table("retrainings") as batch:
        batch.alter_column("penalty", existing_type=sa.Numeric(precision=12, scale=2), nullable=False)
        batch.alter_column("complaint_number", existing_type=sa.String(length=40), nullable=False)
        batch.alter_column("complaint_id", existing_type=sa.String(length=64), nullable=False)
        batch.drop_column("findings")
        batch.drop_column("source")
