"""Merchant invoicing: the project's seats, go-live and closing day (``projects``), the seat history
(``project_seats``), accepted surges and completed cohorts (from scheduling's and training's events),
price list versions, invoices and credit notes with their lines and payments, and the yearly counters
that number them gap-free.

The invoices' lists follow billing_0005's rule (the equality filter first, then the list's sort); the
partial unique index keeps one invoice per project and month while credit notes are as many as needed.

Revision ID: billing_0008
Revises: billing_0007
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "billing_0008"
down_revision = "billing_0007"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(12, 2)
AMOUNT = sa.Numeric(14, 2)
RATE = sa.Numeric(9, 6)


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("seats", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("go_live_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("closed_on", sa.Date(), nullable=True))

    op.create_table(
        "project_seats",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "effective_from", name=op.f("pk_project_seats")),
    )
    op.create_table(
        "surges",
        sa.Column("surge_id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("increase_pct", sa.Numeric(7, 2), nullable=False),
        sa.Column("extra_seats", sa.Integer(), nullable=False),
        sa.Column("covered", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("surge_id", name=op.f("pk_surges")),
    )
    op.create_index("ix_surges_project", "surges", ["project_id", "start_date", "surge_id"])
    op.create_table(
        "training_cohorts",
        sa.Column("cohort_id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("trainees", sa.Integer(), nullable=False),
        sa.Column("hours_each", sa.Numeric(6, 2), nullable=False),
        sa.Column("admitted", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("cohort_id", name=op.f("pk_training_cohorts")),
    )
    op.create_index(
        "ix_training_cohorts_project", "training_cohorts", ["project_id", "completed_on", "cohort_id"]
    )
    op.create_table(
        "price_lists",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("basis", sa.String(length=20), nullable=False),
        sa.Column("seat_month_price", MONEY, nullable=True),
        sa.Column("agent_hour_price", MONEY, nullable=True),
        sa.Column("consultation_price", MONEY, nullable=True),
        sa.Column("training_person_hour_price", MONEY, nullable=True),
        sa.Column("surge_premium_rate", RATE, nullable=False),
        sa.Column("minimum_charge", MONEY, nullable=True),
        sa.Column("tax_rate", RATE, nullable=False),
        sa.Column("payment_terms_days", sa.Integer(), nullable=False),
        sa.Column("complaint_credit", MONEY, nullable=True),
        sa.Column("targets_missed_credit_rate", RATE, nullable=True),
        sa.Column("notes", sa.String(length=500), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_lists")),
        sa.UniqueConstraint("project_id", "effective_from", name=op.f("uq_price_lists_project_id")),
    )
    op.create_index("ix_price_lists_list", "price_lists", ["project_id", "effective_from", "id"])
    op.create_table(
        "invoices",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=True),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=True),
        sa.Column("company_name", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal", AMOUNT, nullable=False),
        sa.Column("tax_rate", RATE, nullable=False),
        sa.Column("tax", AMOUNT, nullable=False),
        sa.Column("total", AMOUNT, nullable=False),
        sa.Column("paid", AMOUNT, nullable=False),
        sa.Column("credited", AMOUNT, nullable=False),
        sa.Column("payment_terms_days", sa.Integer(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("credited_invoice_id", sa.String(length=36), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("calculated_at", UTCDateTime(), nullable=False),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("approved_by", sa.String(length=100), nullable=True),
        sa.Column("issued_at", UTCDateTime(), nullable=True),
        sa.Column("issued_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["credited_invoice_id"], ["invoices.id"], name=op.f("fk_invoices_credited_invoice_id_invoices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("number", name=op.f("uq_invoices_number")),
    )
    op.create_index(
        "uq_invoices_project_period",
        "invoices",
        ["project_id", "period"],
        unique=True,
        postgresql_where=sa.text("kind = 'invoice'"),
        sqlite_where=sa.text("kind = 'invoice'"),
    )
    op.create_index("ix_invoices_list", "invoices", ["period", "created_at", "id"])
    op.create_index("ix_invoices_merchant_list", "invoices", ["merchant_id", "period", "created_at", "id"])
    op.create_index("ix_invoices_project_list", "invoices", ["project_id", "period", "created_at", "id"])
    op.create_index("ix_invoices_status_list", "invoices", ["status", "period", "created_at", "id"])
    op.create_index("ix_invoices_credited", "invoices", ["credited_invoice_id"])
    op.create_table(
        "invoice_lines",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("invoice_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("quantity", sa.Numeric(14, 4), nullable=False),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("unit_price", MONEY, nullable=False),
        sa.Column("amount", AMOUNT, nullable=False),
        sa.Column("price_list_id", sa.String(length=36), nullable=True),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_lines_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
        sa.UniqueConstraint("invoice_id", "seq", name=op.f("uq_invoice_lines_invoice_id")),
    )
    op.create_table(
        "invoice_payments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("invoice_id", sa.String(length=36), nullable=False),
        sa.Column("amount", AMOUNT, nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("reversed_at", UTCDateTime(), nullable=True),
        sa.Column("reversed_by", sa.String(length=100), nullable=True),
        sa.Column("reversal_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_payments_invoice_id_invoices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_payments")),
    )
    op.create_index("ix_invoice_payments_invoice", "invoice_payments", ["invoice_id", "paid_on", "id"])
    op.create_table(
        "document_counters",
        sa.Column("series", sa.String(length=4), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("series", "year", name=op.f("pk_document_counters")),
    )


def downgrade() -> None:
    op.drop_table("document_counters")
    op.drop_index("ix_invoice_payments_invoice", table_name="invoice_payments")
    op.drop_table("invoice_payments")
    op.drop_table("invoice_lines")
    for name in (
        "ix_invoices_credited",
        "ix_invoices_status_list",
        "ix_invoices_project_list",
        "ix_invoices_merchant_list",
        "ix_invoices_list",
        "uq_invoices_project_period",
    ):
        op.drop_index(name, table_name="invoices")
    op.drop_table("invoices")
    op.drop_index("ix_price_lists_list", table_name="price_lists")
    op.drop_table("price_lists")
    op.drop_index("ix_training_cohorts_project", table_name="training_cohorts")
    op.drop_table("training_cohorts")
    op.drop_index("ix_surges_project", table_name="surges")
    op.drop_table("surges")
    op.drop_table("project_seats")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("closed_on")
        batch.drop_column("go_live_date")
        batch.drop_column("seats")
