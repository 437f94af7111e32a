"""Indexes for the keyset lists: each list's equality filters, then its sort key (issue 16).

Cohorts sort on (created_at, id), retraining records on (opened_at, id), a cohort's trainees on
(enrolment_seq, id). The single-column indexes these start with are dropped: the composite serves them.

Revision ID: training_0004
Revises: training_0003
"""

from alembic import op

revision = "training_0004"
down_revision = "training_0003"
branch_labels = None
depends_on = None

#: (table, name, columns) of the new indexes
NEW = [
    ("cohorts", "ix_cohorts_created", ["created_at", "id"]),
    ("cohorts", "ix_cohorts_merchant_created", ["merchant_id", "created_at", "id"]),
    ("cohorts", "ix_cohorts_merchant_status_created", ["merchant_id", "status", "created_at", "id"]),
    ("cohorts", "ix_cohorts_project_created", ["project_id", "created_at", "id"]),
    ("cohorts", "ix_cohorts_status_created", ["status", "created_at", "id"]),
    ("trainees", "ix_trainees_cohort_seq", ["cohort_id", "enrolment_seq", "id"]),
    ("retrainings", "ix_retrainings_opened", ["opened_at", "id"]),
    ("retrainings", "ix_retrainings_merchant_opened", ["merchant_id", "opened_at", "id"]),
    ("retrainings", "ix_retrainings_agent_opened", ["agent_id", "opened_at", "id"]),
    ("retrainings", "ix_retrainings_project_opened", ["project_id", "opened_at", "id"]),
    ("retrainings", "ix_retrainings_status_opened", ["status", "opened_at", "id"]),
]
#: (table, name, column) of the single-column indexes the new ones replace
OLD = [
    ("cohorts", "ix_cohorts_merchant_id", "merchant_id"),
    ("cohorts", "ix_cohorts_project_id", "project_id"),
    ("cohorts", "ix_cohorts_status", "status"),
    ("trainees", "ix_trainees_cohort_id", "cohort_id"),
    ("retrainings", "ix_retrainings_agent_id", "agent_id"),
    ("retrainings", "ix_retrainings_merchant_id", "merchant_id"),
    ("retrainings", "ix_retrainings_project_id", "project_id"),
    ("retrainings", "ix_retrainings_status", "status"),
]


def upgrade() -> None:
    for table, name, columns in NEW:
        op.create_index(name, table, columns, unique=False)
    for table, name, _column in OLD:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for table, name, column in OLD:
        op.create_index(name, table, [column], unique=False)
    for table, name, _columns in NEW:
        op.drop_index(name, table_name=table)
