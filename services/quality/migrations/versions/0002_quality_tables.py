"""Quality tables: projects and agents (read models), imports, agent days (platform figures), conversations
with the machine check, scorecards, reviews, samples, execution ratings and KPI scores.

Revision ID: quality_0002
Revises: quality_0001
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "quality_0002"
down_revision = "quality_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_days",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("receptions", sa.Integer(), nullable=False),
        sa.Column("inquiries", sa.Integer(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("first_response_seconds", sa.Numeric(precision=8, scale=2), nullable=True),
        sa.Column("avg_response_seconds", sa.Numeric(precision=8, scale=2), nullable=True),
        sa.Column("sales_amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("votes_very_satisfied", sa.Integer(), nullable=False),
        sa.Column("votes_satisfied", sa.Integer(), nullable=False),
        sa.Column("votes_neutral", sa.Integer(), nullable=False),
        sa.Column("votes_unsatisfied", sa.Integer(), nullable=False),
        sa.Column("votes_very_unsatisfied", sa.Integer(), nullable=False),
        sa.Column("quality_refunds", sa.Integer(), nullable=False),
        sa.Column("help_requests", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.String(length=36), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "date", "agent_id", name=op.f("pk_agent_days")),
    )
    op.create_index("ix_agent_days_agent", "agent_days", ["project_id", "agent_id", "date"], unique=False)

    op.create_table(
        "conversations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("customer", sa.String(length=100), nullable=True),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("first_response_seconds", sa.Float(), nullable=True),
        sa.Column("avg_response_seconds", sa.Float(), nullable=True),
        sa.Column("unanswered", sa.Integer(), nullable=False),
        sa.Column("sentiment", sa.Float(), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("reviewed", sa.Boolean(), nullable=False),
        sa.Column("import_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("project_id", "external_id", name="uq_conversations_external"),
    )
    op.create_index(
        "ix_conversations_agent", "conversations", ["project_id", "agent_id", "date"], unique=False
    )
    op.create_index(
        "ix_conversations_list", "conversations", ["project_id", "started_at", "id"], unique=False
    )
    op.create_index(
        "ix_conversations_review",
        "conversations",
        ["project_id", "needs_review", "reviewed", "started_at", "id"],
        unique=False,
    )

    op.create_table(
        "execution_ratings",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("score", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("rated_by", sa.String(length=100), nullable=False),
        sa.Column("rated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "agent_id", "period", name=op.f("pk_execution_ratings")),
    )
    op.create_table(
        "imports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("dates", sa.JSON(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("replaced", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imports")),
    )
    op.create_index("ix_imports_project_created", "imports", ["project_id", "created_at", "id"], unique=False)

    op.create_table(
        "kpi_scores",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("data", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("performance", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("execution", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("missing", sa.JSON(), nullable=False),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("targets_met", sa.Boolean(), nullable=False),
        sa.Column("reviews", sa.Integer(), nullable=False),
        sa.Column("below_threshold_streak", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("scored_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "period", "agent_id", name=op.f("pk_kpi_scores")),
    )
    op.create_index("ix_kpi_scores_agent", "kpi_scores", ["project_id", "agent_id", "period"], unique=False)

    op.create_table(
        "project_agents",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("admitted_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "agent_id", name=op.f("pk_project_agents")),
    )
    op.create_table(
        "projects",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=True),
        sa.Column("company_name", sa.String(length=200), nullable=True),
        sa.Column("platform", sa.String(length=20), nullable=True),
        sa.Column("seats", sa.Integer(), nullable=True),
        sa.Column("daily_consultations", sa.Integer(), nullable=True),
        sa.Column("first_response_seconds", sa.Numeric(precision=8, scale=2), nullable=True),
        sa.Column("avg_response_seconds", sa.Numeric(precision=8, scale=2), nullable=True),
        sa.Column("conversion_rate", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("avg_order_value", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("satisfaction_rate", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("qa_merchant_standard", sa.Boolean(), nullable=False),
        sa.Column("qa_standard", sa.Text(), nullable=True),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_projects")),
    )
    op.create_index(op.f("ix_projects_merchant_id"), "projects", ["merchant_id"], unique=False)

    op.create_table(
        "reviews",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=True),
        sa.Column("scorecard_id", sa.String(length=36), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=30), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("reviewer", sa.String(length=100), nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("areas", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("max_total", sa.Integer(), nullable=False),
        sa.Column("percent", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("good_cases", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
    )
    op.create_index("ix_reviews_agent", "reviews", ["project_id", "agent_id", "date"], unique=False)
    op.create_index(op.f("ix_reviews_conversation_id"), "reviews", ["conversation_id"], unique=False)
    op.create_index("ix_reviews_list", "reviews", ["project_id", "created_at", "id"], unique=False)

    op.create_table(
        "samples",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("size_per_agent", sa.Integer(), nullable=True),
        sa.Column("conversation_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_samples")),
        sa.UniqueConstraint("project_id", "week", "kind", name="uq_samples_week_kind"),
    )
    op.create_table(
        "scorecards",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("max_points", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scorecards")),
    )
    op.create_index("ix_scorecards_project_version", "scorecards", ["project_id", "version"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_scorecards_project_version", table_name="scorecards")

    op.drop_table("scorecards")
    op.drop_table("samples")
    op.drop_index("ix_reviews_list", table_name="reviews")
    op.drop_index(op.f("ix_reviews_conversation_id"), table_name="reviews")
    op.drop_index("ix_reviews_agent", table_name="reviews")

    op.drop_table("reviews")
    op.drop_index(op.f("ix_projects_merchant_id"), table_name="projects")

    op.drop_table("projects")
    op.drop_table("project_agents")
    op.drop_index("ix_kpi_scores_agent", table_name="kpi_scores")

    op.drop_table("kpi_scores")
    op.drop_index("ix_imports_project_created", table_name="imports")

    op.drop_table("imports")
    op.drop_table("execution_ratings")
    op.drop_index("ix_conversations_review", table_name="conversations")
    op.drop_index("ix_conversations_list", table_name="conversations")
    op.drop_index("ix_conversations_agent", table_name="conversations")

    op.drop_table("conversations")
    op.drop_index("ix_agent_days_agent", table_name="agent_days")

    op.drop_table("agent_days")
