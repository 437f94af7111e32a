"""FAQ: a standard question may be marked not applicable, with who decided and when.

Revision ID: onboarding_0004
Revises: onboarding_0003
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "onboarding_0004"
down_revision = "onboarding_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "faq_entries", sa.Column("not_applicable", sa.Boolean(), server_default="0", nullable=False)
    )
    op.add_column("faq_entries", sa.Column("decided_by", sa.String(100), nullable=True))
    op.add_column("faq_entries", sa.Column("decided_by_role", sa.String(20), nullable=True))
    op.add_column("faq_entries", sa.Column("decided_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("faq_entries", "decided_at")
    op.drop_column("faq_entries", "decided_by_role")
    op.drop_column("faq_entries", "decided_by")
    op.drop_column("faq_entries", "not_applicable")
