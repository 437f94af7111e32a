"""Projects, their history, FAQ answers and training materials.

Revision ID: onboarding_0002
Revises: onboarding_0001
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "onboarding_0002"
down_revision = "onboarding_0001"
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_STATUSES = ("draft", "submitted", "returned", "confirmed", "live", "closed", "cancelled")


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("merchant_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("faq_version", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("company_name", sa.String(200), nullable=True),
        sa.Column("contact_name", sa.String(100), nullable=True),
        sa.Column("contact_phone", sa.String(40), nullable=True),
        sa.Column("liaison", sa.String(100), nullable=True),
        sa.Column("service_type", sa.String(10), nullable=True),
        sa.Column("hours_start", sa.String(5), nullable=True),
        sa.Column("hours_end", sa.String(5), nullable=True),
        sa.Column("hours_overnight", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("seats", sa.Integer(), nullable=True),
        sa.Column("platform", sa.String(50), nullable=True),
        sa.Column("daily_consultations", sa.Integer(), nullable=True),
        sa.Column("first_response_seconds", sa.Integer(), nullable=True),
        sa.Column("avg_response_seconds", sa.Integer(), nullable=True),
        sa.Column("conversion_rate", sa.Numeric(5, 2), nullable=True),
        sa.Column("avg_order_value", sa.Numeric(12, 2), nullable=True),
        sa.Column("satisfaction_rate", sa.Numeric(5, 2), nullable=True),
        sa.Column("materials_complete", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("materials_supplement", sa.Text(), nullable=True),
        sa.Column("materials_supplement_due", sa.Date(), nullable=True),
        sa.Column("trainer", sa.String(10), nullable=True),
        sa.Column("assessor", sa.String(10), nullable=True),
        sa.Column("training_requirements", sa.Text(), nullable=True),
        sa.Column("go_live_date", sa.Date(), nullable=True),
        sa.Column("qa_merchant_standard", sa.Boolean(), nullable=True),
        sa.Column("qa_standard", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("return_reason", sa.Text(), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=True),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
        sa.Column("confirmed_by", sa.String(100), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in _STATUSES) + ")", name=op.f("ck_projects_status")
        ),
        sa.CheckConstraint(
            "seats IS NULL OR (seats >= 1 AND seats <= 10000)", name=op.f("ck_projects_seats")
        ),
    )
    op.create_index(op.f("ix_projects_merchant_id"), "projects", ["merchant_id"])
    op.create_index(op.f("ix_projects_status"), "projects", ["status"])
    op.create_index(op.f("ix_projects_go_live_date"), "projects", ["go_live_date"])

    op.create_table(
        "project_history",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor_sub", sa.String(100), nullable=False),
        sa.Column("actor_role", sa.String(20), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("from_status", sa.String(20), nullable=True),
        sa.Column("to_status", sa.String(20), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_history_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_history")),
    )
    op.create_index(op.f("ix_project_history_project_id"), "project_history", ["project_id"])

    op.create_table(
        "faq_entries",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("key", sa.String(40), nullable=True),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_faq_entries_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_entries")),
        sa.UniqueConstraint("project_id", "key", name=op.f("uq_faq_entries_project_id")),
    )
    op.create_index(op.f("ix_faq_entries_project_id"), "faq_entries", ["project_id"])

    op.create_table(
        "materials",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("content_type", sa.String(120), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("uploaded_by", sa.String(100), nullable=False),
        sa.Column("uploaded_by_role", sa.String(20), nullable=False),
        sa.Column("uploaded_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_materials_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_materials")),
        sa.UniqueConstraint("project_id", "sha256", name=op.f("uq_materials_project_id")),
    )
    op.create_index(op.f("ix_materials_project_id"), "materials", ["project_id"])
    op.create_index(op.f("ix_materials_sha256"), "materials", ["sha256"])


def downgrade() -> None:
    op.drop_index(op.f("ix_materials_sha256"), table_name="materials")
    op.drop_index(op.f("ix_materials_project_id"), table_name="materials")
    op.drop_table("materials")
    op.drop_index(op.f("ix_faq_entries_project_id"), table_name="faq_entries")
    op.drop_table("faq_entries")
    op.drop_index(op.f("ix_project_history_project_id"), table_name="project_history")
    op.drop_table("project_history")
    op.drop_index(op.f("ix_projects_go_live_date"), table_name="projects")
    op.drop_index(op.f("ix_projects_status"), table_name="projects")
    op.drop_index(op.f("ix_projects_merchant_id"), table_name="projects")
    op.drop_table("projects")
