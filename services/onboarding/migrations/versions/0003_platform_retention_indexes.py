"""The platform's retention indexes (outbox published_at, inbox received_at, idempotency keys created_at).

Revision ID: onboarding_0003
Revises: onboarding_0002
"""

from shared.migrate import create_platform_indexes_v2, drop_platform_indexes_v2

revision = "onboarding_0003"
down_revision = "onboarding_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_platform_indexes_v2()


def downgrade() -> None:
    drop_platform_indexes_v2()
