"""Indexes for the administrator's keyset-paginated lists (users, the sign-in audit trail): each list's
equality filter followed by its sort key, so that a page is read from the index with no sort.

Users are listed newest first, then by e-mail; the audit trail newest first (at, id). The composite indexes
start with the columns the single-column ones indexed, so those go.

Revision ID: console_0002
Revises: console_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "console_0002"
down_revision = "console_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_users_created_at_email", "users", [sa.text("created_at DESC"), "email"])
    op.create_index("ix_users_role_created_at_email", "users", ["role", sa.text("created_at DESC"), "email"])
    op.drop_index("ix_users_role", table_name="users")
    # state=locked: the few accounts locked now, whatever else is asked
    op.create_index(
        "ix_users_locked_until",
        "users",
        ["locked_until"],
        postgresql_where=sa.text("locked_until IS NOT NULL"),
        sqlite_where=sa.text("locked_until IS NOT NULL"),
    )
    op.create_index("ix_sign_in_events_at_id", "sign_in_events", ["at", "id"])
    op.create_index("ix_sign_in_events_outcome_at_id", "sign_in_events", ["outcome", "at", "id"])
    op.drop_index("ix_sign_in_events_at", table_name="sign_in_events")


def downgrade() -> None:
    op.create_index("ix_sign_in_events_at", "sign_in_events", ["at"])
    op.drop_index("ix_sign_in_events_outcome_at_id", table_name="sign_in_events")
    op.drop_index("ix_sign_in_events_at_id", table_name="sign_in_events")
    op.create_index("ix_users_role", "users", ["role"])
    op.drop_index("ix_users_locked_until", table_name="users")
    op.drop_index("ix_users_role_created_at_email", table_name="users")
    op.drop_index("ix_users_created_at_email", table_name="users")
