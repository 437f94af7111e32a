"""The platform's tables in the quality database: outbox, inbox, idempotency keys and their retention
indexes (a service born after both platform revisions takes them in one).

Revision ID: quality_0001
Revises:
"""

from shared.migrate import (
    create_platform_indexes_v2,
    create_platform_tables_v1,
    drop_platform_indexes_v2,
    drop_platform_tables_v1,
)

revision = "quality_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_platform_tables_v1()
    create_platform_indexes_v2()


def downgrade() -> None:
    drop_platform_indexes_v2()
    drop_platform_tables_v1()
