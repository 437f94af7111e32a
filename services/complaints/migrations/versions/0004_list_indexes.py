"""Indexes for the keyset complaint list: one equality filter, then the sort key (created_at, number)
(issue 16). The single-column indexes these start with are dropped: the composite serves them.

Revision ID: complaints_0004
Revises: complaints_0003
"""

from alembic import op

revision = "complaints_0004"
down_revision = "complaints_0003"
branch_labels = None
depends_on = None

SORT = ["created_at", "number"]
#: name → the equality column it leads with (None: the sort alone)
NEW = {
    "ix_complaints_created": None,
    "ix_complaints_merchant_created": "merchant_id",
    "ix_complaints_project_created": "project_id",
    "ix_complaints_status_created": "status",
    "ix_complaints_assignee_created": "assignee",
    "ix_complaints_creator_created": "created_by",
    "ix_complaints_agent_created": "agent_id",
    "ix_complaints_category_created": "category",
    "ix_complaints_customer_created": "customer_ref",
}
#: the single-column indexes the new ones replace
OLD = ["agent_id", "assignee", "category", "created_at", "merchant_id", "project_id", "status"]


def upgrade() -> None:
    for name, column in NEW.items():
        op.create_index(name, "complaints", ([column] if column else []) + SORT, unique=False)
    for column in OLD:
        op.drop_index(f"ix_complaints_{column}", table_name="complaints")


def downgrade() -> None:
    for column in OLD:
        op.create_index(f"ix_complaints_{column}", "complaints", [column], unique=False)
    for name in NEW:
        op.drop_index(name, table_name="complaints")
