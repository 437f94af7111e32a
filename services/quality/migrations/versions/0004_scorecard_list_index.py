"""The scorecard list's index: its sort (newest first, then id), so that a page of every scorecard (the
vendor's side, no project) or of a merchant's (the vendor's and its own projects') is an index range read
with a LIMIT, not a scan and sort of the table (tests/integration/test_list_plans_quality.py checks the
plans of every quality list on 100,000 rows). The other lists are of one project and already read through
an index that starts with it; ``ix_scorecards_project_version`` stays for a project's newest version.

Revision ID: quality_0004
Revises: quality_0003
"""

from alembic import op

revision = "quality_0004"
down_revision = "quality_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_scorecards_list", "scorecards", ["created_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_scorecards_list", table_name="scorecards")
