"""The talent pool, requisitions, matches (the candidates' history) and the project read model.

Revision ID: recruitment_0002
Revises: recruitment_0001
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "recruitment_0002"
down_revision = "recruitment_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("merchant_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=True),
        sa.Column("service_type", sa.String(20), nullable=True),
        sa.Column("hours_start", sa.String(5), nullable=True),
        sa.Column("hours_end", sa.String(5), nullable=True),
        sa.Column("platform", sa.String(40), nullable=True),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("match_ratio", sa.Numeric(5, 2), nullable=True),
        sa.Column("go_live_date", sa.Date(), nullable=True),
        sa.Column("confirmed_on", sa.Date(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", name="pk_projects"),
    )
    op.create_index("ix_projects_merchant_id", "projects", ["merchant_id"])

    op.create_table(
        "candidates",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(11), nullable=False),
        sa.Column("skill_mask", sa.SmallInteger(), nullable=False),
        sa.Column("shift_mask", sa.SmallInteger(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("platforms", sa.JSON(), nullable=False),
        sa.Column("category_tags", sa.String(2000), nullable=False),
        sa.Column("platform_tags", sa.String(1000), nullable=False),
        sa.Column("basic_training_passed", sa.Boolean(), nullable=False),
        sa.Column("basic_score", sa.Numeric(5, 2), nullable=False),
        sa.Column("city", sa.String(50), nullable=True),
        sa.Column("experience_months", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_candidates"),
        sa.UniqueConstraint("phone", name="uq_candidates_phone"),
    )
    op.create_index("ix_candidates_status", "candidates", ["status"])

    op.create_table(
        "requisitions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("merchant_id", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(30), nullable=False),
        sa.Column("source_ref", sa.String(200), nullable=False),
        sa.Column("cohort_id", sa.String(64), nullable=True),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("ratio", sa.Numeric(5, 2), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("overdue_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_requisitions"),
        sa.UniqueConstraint("source_ref", name="uq_requisitions_source_ref"),
    )
    op.create_index("ix_requisitions_project_id", "requisitions", ["project_id"])
    op.create_index("ix_requisitions_status", "requisitions", ["status"])

    op.create_table(
        "matches",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("requisition_id", sa.String(36), nullable=False),
        sa.Column("candidate_id", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("skill", sa.String(20), nullable=False),
        sa.Column("score", sa.Numeric(6, 2), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("matched_at", UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("outcome_at", UTCDateTime(), nullable=True),
        sa.Column("cohort_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_matches"),
        sa.ForeignKeyConstraint(
            ["requisition_id"], ["requisitions.id"], name="fk_matches_requisition_id_requisitions"
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"], ["candidates.id"], name="fk_matches_candidate_id_candidates"
        ),
        sa.UniqueConstraint("requisition_id", "candidate_id", name="uq_matches_requisition_id"),
    )
    op.create_index("ix_matches_candidate_id", "matches", ["candidate_id"])
    op.create_index("ix_matches_project_id", "matches", ["project_id"])


def downgrade() -> None:
    op.drop_table("matches")
    op.drop_table("requisitions")
    op.drop_table("candidates")
    op.drop_table("projects")
