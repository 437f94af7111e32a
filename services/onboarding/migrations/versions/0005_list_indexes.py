"""Indexes for the keyset-paginated lists: each list's equality filter followed by its sort key.

Projects are listed newest first (created_at, id), alone, by merchant or by status; a project's history by
id and its materials by (uploaded_at, id). The new composite indexes start with the columns the single-column
ones indexed, so those go.

Revision ID: onboarding_0005
Revises: onboarding_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "onboarding_0005"
down_revision = "onboarding_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_projects_created_at_id", "projects", ["created_at", "id"])
    op.create_index("ix_projects_merchant_id_created_at_id", "projects", ["merchant_id", "created_at", "id"])
    op.create_index("ix_projects_status_created_at_id", "projects", ["status", "created_at", "id"])
    op.drop_index("ix_projects_merchant_id", table_name="projects")
    op.drop_index("ix_projects_status", table_name="projects")
    op.create_index("ix_project_history_project_id_id", "project_history", ["project_id", "id"])
    op.drop_index("ix_project_history_project_id", table_name="project_history")
    op.create_index(
        "ix_materials_project_id_uploaded_at_id", "materials", ["project_id", "uploaded_at", "id"]
    )
    op.drop_index("ix_materials_project_id", table_name="materials")
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and _trigrams_available(bind):
        # q (the company name contains…) cannot use a b-tree; trigrams find the few matching rows
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(f"CREATE INDEX {TRIGRAM_INDEX} ON projects USING gin (lower(company_name) gin_trgm_ops)")


#: models.Project declares it for PostgreSQL too
TRIGRAM_INDEX = "ix_projects_company_name_trgm"


def _trigrams_available(bind: sa.engine.Connection) -> bool:
    """pg_trgm ships with PostgreSQL's contrib and is a trusted extension (the database's owner may create
    it); where it is missing the list still works, the text filter reading the list's index instead."""
    found = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first()
    return found is not None


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")
    op.create_index("ix_materials_project_id", "materials", ["project_id"])
    op.drop_index("ix_materials_project_id_uploaded_at_id", table_name="materials")
    op.create_index("ix_project_history_project_id", "project_history", ["project_id"])
    op.drop_index("ix_project_history_project_id_id", table_name="project_history")
    op.create_index("ix_projects_status", "projects", ["status"])
    op.create_index("ix_projects_merchant_id", "projects", ["merchant_id"])
    op.drop_index("ix_projects_status_created_at_id", table_name="projects")
    op.drop_index("ix_projects_merchant_id_created_at_id", table_name="projects")
    op.drop_index("ix_projects_created_at_id", table_name="projects")
