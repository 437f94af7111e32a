"""Training tables: projects (read model), cohorts, trainees, courseware items, retrainings.

Revision ID: training_0002
Revises: training_0001
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "training_0002"
down_revision = "training_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cohorts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("training_days", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("pass_mark_quiz", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("pass_mark_simulation", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("courseware_status", sa.String(length=20), nullable=False),
        sa.Column("courseware_reason", sa.Text(), nullable=True),
        sa.Column("courseware_decided_at", UTCDateTime(), nullable=True),
        sa.Column("courseware_decided_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("completed_by", sa.String(length=100), nullable=True),
        sa.Column("shortfall", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cohorts")),
        sa.UniqueConstraint("project_id", "sequence", name="uq_cohorts_project_sequence"),
    )
    op.create_index(op.f("ix_cohorts_merchant_id"), "cohorts", ["merchant_id"], unique=False)
    op.create_index(op.f("ix_cohorts_project_id"), "cohorts", ["project_id"], unique=False)
    op.create_index(op.f("ix_cohorts_status"), "cohorts", ["status"], unique=False)
    op.create_table(
        "projects",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=True),
        sa.Column("company_name", sa.String(length=200), nullable=True),
        sa.Column("seats", sa.Integer(), nullable=True),
        sa.Column("service_type", sa.String(length=20), nullable=True),
        sa.Column("trainer", sa.String(length=10), nullable=True),
        sa.Column("assessor", sa.String(length=10), nullable=True),
        sa.Column("requirements", sa.Text(), nullable=True),
        sa.Column("go_live_date", sa.Date(), nullable=True),
        sa.Column("training_days", sa.Integer(), nullable=True),
        sa.Column("faq", sa.JSON(), nullable=True),
        sa.Column("materials", sa.JSON(), nullable=True),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_projects")),
    )
    op.create_index(op.f("ix_projects_merchant_id"), "projects", ["merchant_id"], unique=False)
    op.create_table(
        "retrainings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("complaint_id", sa.String(length=64), nullable=False),
        sa.Column("complaint_number", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=True),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("agent_name", sa.String(length=100), nullable=True),
        sa.Column("penalty", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=100), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retrainings")),
        sa.UniqueConstraint("complaint_id", name=op.f("uq_retrainings_complaint_id")),
    )
    op.create_index(op.f("ix_retrainings_agent_id"), "retrainings", ["agent_id"], unique=False)
    op.create_index(op.f("ix_retrainings_merchant_id"), "retrainings", ["merchant_id"], unique=False)
    op.create_index(op.f("ix_retrainings_project_id"), "retrainings", ["project_id"], unique=False)
    op.create_index(op.f("ix_retrainings_status"), "retrainings", ["status"], unique=False)
    op.create_table(
        "courseware_items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("cohort_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("file_sha256", sa.String(length=64), nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["cohort_id"], ["cohorts.id"], name=op.f("fk_courseware_items_cohort_id_cohorts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courseware_items")),
    )
    op.create_index(op.f("ix_courseware_items_cohort_id"), "courseware_items", ["cohort_id"], unique=False)
    op.create_table(
        "trainees",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("cohort_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("candidate_id", sa.String(length=64), nullable=False),
        sa.Column("requisition_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("shifts_available", sa.JSON(), nullable=False),
        sa.Column("basic_score", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("enrolment_seq", sa.Integer(), nullable=False),
        sa.Column("enrolled_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("quiz_score", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("simulation_score", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("trainer_passed", sa.Boolean(), nullable=True),
        sa.Column("merchant_passed", sa.Boolean(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("merchant_notes", sa.Text(), nullable=True),
        sa.Column("assessed_at", UTCDateTime(), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("admitted_at", UTCDateTime(), nullable=True),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.Column("withdrawal_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["cohort_id"], ["cohorts.id"], name=op.f("fk_trainees_cohort_id_cohorts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trainees")),
        sa.UniqueConstraint("cohort_id", "candidate_id", name="uq_trainees_cohort_candidate"),
    )
    op.create_index(op.f("ix_trainees_candidate_id"), "trainees", ["candidate_id"], unique=False)
    op.create_index(op.f("ix_trainees_cohort_id"), "trainees", ["cohort_id"], unique=False)
    op.create_index(op.f("ix_trainees_project_id"), "trainees", ["project_id"], unique=False)
    op.create_index(op.f("ix_trainees_status"), "trainees", ["status"], unique=False)


def downgrade() -> None:
    for table in ("trainees", "courseware_items", "retrainings", "projects", "cohorts"):
        op.drop_table(table)
