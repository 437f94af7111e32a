"""Indexes for matching at a pool of a million and for the keyset lists (issue 16).

``ix_candidates_matching`` holds the matchable candidates (available, basic training passed) in ranking
order (``models.rank_base``, then basic_score, experience, phone), with the eligibility columns included:
matching reads it in order and stops at its LIMIT. The lists get each filter's index followed by their
sort (created_at, id); the single-column indexes on status and project_id they start with are dropped.

Revision ID: recruitment_0004
Revises: recruitment_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "recruitment_0004"
down_revision = "recruitment_0003"
branch_labels = None
depends_on = None

#: written out, not imported from the models: a migration is history and must not change with them
RANK_BASE = (
    "(basic_score +\nCASE\n"
    "    WHEN experience_months >= 24 THEN 12.0\n"
    "    WHEN experience_months <= 0 THEN CAST(0 AS NUMERIC)\n"
    "    ELSE CAST(experience_months AS NUMERIC) * 0.5\n"
    "END)"
)
MATCHABLE = "status = 'available' AND basic_training_passed"

NEW = [
    ("candidates", "ix_candidates_created", ["created_at", "id"]),
    ("candidates", "ix_candidates_status_created", ["status", "created_at", "id"]),
    ("candidates", "ix_candidates_city_created", ["city", "created_at", "id"]),
    ("candidates", "ix_candidates_passed_created", ["basic_training_passed", "created_at", "id"]),
    ("requisitions", "ix_requisitions_created", ["created_at", "id"]),
    ("requisitions", "ix_requisitions_project_created", ["project_id", "created_at", "id"]),
    ("requisitions", "ix_requisitions_status_created", ["status", "created_at", "id"]),
    ("requisitions", "ix_requisitions_reason_created", ["reason", "created_at", "id"]),
]
OLD = [
    ("candidates", "ix_candidates_status", "status"),
    ("requisitions", "ix_requisitions_project_id", "project_id"),
    ("requisitions", "ix_requisitions_status", "status"),
]


def upgrade() -> None:
    op.create_index(
        "ix_candidates_matching",
        "candidates",
        [
            sa.text(f"{RANK_BASE} DESC"),
            sa.text("basic_score DESC"),
            sa.text("experience_months DESC"),
            "phone",
        ],
        postgresql_include=["id", "skill_mask", "shift_mask", "platform_tags", "category_tags"],
        postgresql_where=sa.text(MATCHABLE),
        sqlite_where=sa.text(MATCHABLE),
    )
    for table, name, columns in NEW:
        op.create_index(name, table, columns)
    for table, name, _column in OLD:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for table, name, column in OLD:
        op.create_index(name, table, [column])
    for table, name, _columns in NEW:
        op.drop_index(name, table_name=table)
    op.drop_index("ix_candidates_matching", table_name="candidates")
