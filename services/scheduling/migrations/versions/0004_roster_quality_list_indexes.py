"""Roster versions record how they were chosen and the demand asked for; indexes for the keyset lists.

``rosters.solver_report`` (the solver's status, objective, bound and gap and both candidate rosters'
figures) and ``rosters.demand`` (per-shift demand) are new. The lists (issue 16) get one index each per
filter set: its equality columns, then its sort key; the single-column indexes they start with are
dropped, and the timesheet lookup key gains the sort's tail.

Revision ID: scheduling_0004
Revises: scheduling_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "scheduling_0004"
down_revision = "scheduling_0003"
branch_labels = None
depends_on = None

#: (table, name, columns) of the new indexes
NEW = [
    ("rosters", "ix_rosters_project_version", ["project_id", "version", "id"]),
    ("surges", "ix_surges_project_created", ["project_id", "created_at", "id"]),
    ("surges", "ix_surges_project_status_created", ["project_id", "status", "created_at", "id"]),
    (
        "timesheet_entries",
        "ix_timesheet_entries_list",
        ["date", "project_id", "agent_id", "recorded_at", "id"],
    ),
    (
        "timesheet_entries",
        "ix_timesheet_entries_project_list",
        ["project_id", "date", "agent_id", "recorded_at", "id"],
    ),
    (
        "timesheet_entries",
        "ix_timesheet_entries_agent_list",
        ["agent_id", "date", "project_id", "recorded_at", "id"],
    ),
]
#: (table, name, columns) of the indexes the new ones replace
OLD = [
    ("rosters", "ix_rosters_project_id", ["project_id"]),
    ("surges", "ix_surges_project_id", ["project_id"]),
    ("timesheet_entries", "ix_timesheet_entries_agent_id", ["agent_id"]),
    ("timesheet_entries", "ix_timesheet_entries_date", ["date"]),
]
KEY = "ix_timesheet_entries_key"


def upgrade() -> None:
    with op.batch_alter_table("rosters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("solver_report", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("demand", sa.JSON(), nullable=True))
    for table, name, columns in NEW:
        op.create_index(name, table, columns, unique=False)
    for table, name, _columns in OLD:
        op.drop_index(name, table_name=table)
    op.drop_index(KEY, table_name="timesheet_entries")
    op.create_index(
        KEY, "timesheet_entries", ["project_id", "agent_id", "date", "recorded_at", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(KEY, table_name="timesheet_entries")
    op.create_index(KEY, "timesheet_entries", ["project_id", "agent_id", "date"], unique=False)
    for table, name, columns in OLD:
        op.create_index(name, table, columns, unique=False)
    for table, name, _columns in NEW:
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("rosters", schema=None) as batch_op:
        batch_op.drop_column("demand")
        batch_op.drop_column("solver_report")
