"""The platform's tables in the complaints database: outbox, inbox, idempotency keys.

Revision ID: complaints_0001
Revises:
"""

from shared.migrate import create_platform_tables_v1, drop_platform_tables_v1

revision = "complaints_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_platform_tables_v1()


def downgrade() -> None:
    drop_platform_tables_v1()
