"""The billing service's own tables (SQLAlchemy 2.0 typed models).

Read models built from other services' events (``projects``, ``agents``, ``worked_hours``,
``deductions``, quality's ``kpi_scores``), finance's own data (``pay_plans``, ``performance``,
``adjustments``) and the payroll (``payroll_runs`` → ``payslips`` → ``payslip_lines``).
``pending_changes`` is the journal of which agent's period was touched since its last payroll, so that
data arriving after a period was approved is found and paid as an adjustment in the next period without
recomputing every closed month.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, new_metadata

_BigId = BigInteger().with_variant(Integer(), "sqlite")
ID = 64  # ids minted by other services are UUID strings; leave room for their own formats
MONEY = Numeric(12, 2)
RATE = Numeric(9, 6)
ALL_SCOPE = "*"  # scope_key of a plan for every agent, or of a run over every project


class Base(DeclarativeBase):
    metadata = new_metadata()


class Project(Base):
    """Read model of onboarding's projects (project.confirmed / updated / closed)."""

    __tablename__ = "projects"

    project_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    merchant_id: Mapped[str | None] = mapped_column(String(ID))
    company_name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    #: the order's seats and go-live (what a seat-month invoice charges from), the day it closed
    seats: Mapped[int | None] = mapped_column(Integer)
    go_live_date: Mapped[dt.date | None] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    # the list's sort (by name, a missing one first) after its filter: see migration billing_0005
    __table_args__ = (
        Index("ix_projects_list", text("coalesce(company_name, '')"), "project_id"),
        Index("ix_projects_status_list", "status", text("coalesce(company_name, '')"), "project_id"),
    )


class Agent(Base):
    """An agent's membership of a project (云客服): joined on agent.admitted, left on agent.departed."""

    __tablename__ = "agents"

    agent_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))
    admitted_on: Mapped[dt.date | None] = mapped_column(Date)
    departed_on: Mapped[dt.date | None] = mapped_column(Date)
    replaced_by: Mapped[str | None] = mapped_column(String(ID))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_agents_list", "project_id", text("coalesce(name, '')"), "agent_id"),)


class PayPlan(Base):
    """A pay plan (计薪方案): a project's default (agent_id NULL) or one agent's override, from a date."""

    __tablename__ = "pay_plans"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(ID))
    agent_id: Mapped[str | None] = mapped_column(String(ID))
    #: agent_id, or "*" for the project's default: a NULL would defeat the unique constraint
    scope_key: Mapped[str] = mapped_column(String(ID))
    type: Mapped[str] = mapped_column(String(20))
    hourly_rate: Mapped[Decimal | None] = mapped_column(MONEY)
    monthly_base: Mapped[Decimal | None] = mapped_column(MONEY)
    commission_rate: Mapped[Decimal | None] = mapped_column(RATE)
    max_avg_response_seconds: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    min_response_rate: Mapped[Decimal | None] = mapped_column(RATE)
    #: quality's KPI conditions (a base judged on quality): the period's KPI at least this …
    min_kpi_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    #: … and/or the order's service targets met by quality's verdict (NULL: not a condition)
    kpi_targets_met: Mapped[bool | None] = mapped_column(Boolean)
    base_factor_when_unmet: Mapped[Decimal | None] = mapped_column(RATE)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (
        UniqueConstraint("project_id", "scope_key", "effective_from"),
        Index("ix_pay_plans_list", "project_id", "scope_key", "effective_from", "id"),
        Index("ix_pay_plans_agent_list", "agent_id", "project_id", "scope_key", "effective_from", "id"),
    )


class WorkedHours(Base):
    """Hours worked on a day (工时), from scheduling's shift.worked; a re-sent day replaces."""

    __tablename__ = "worked_hours"

    agent_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    hours: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_worked_hours_list", "date", "project_id", "agent_id"),
        Index("ix_worked_hours_project_list", "project_id", "date", "agent_id"),
    )


class AttendanceDay(Base):
    """An agent's attendance of a day on a project (考勤), from scheduling's attendance.recorded and
    agent.no_show: what a payslip summarises beside the hours (which arrive as shift.worked).

    ``source`` says which event the state came from: a supervisor's confirmation (``attendance``) is the
    final word, so a no-show notice never overwrites it; ``recorded_at`` (the applied event's
    occurred_at) keeps an older confirmation arriving late from undoing a newer correction.
    """

    __tablename__ = "attendance_days"

    agent_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    #: present | late | early_leave | late_early_leave | no_show
    status: Mapped[str] = mapped_column(String(20))
    shift: Mapped[str | None] = mapped_column(String(40))
    late_minutes: Mapped[int] = mapped_column(Integer)
    early_minutes: Mapped[int] = mapped_column(Integer)
    #: the confirmed hours (those paid come through shift.worked: never summed from here)
    hours: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    clock_in: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    clock_out: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    corrected: Mapped[bool] = mapped_column(Boolean)
    no_show_replacement_id: Mapped[str | None] = mapped_column(String(ID))
    #: attendance (a supervisor's confirmation) | no_show (the tolerance passed without a clock-in)
    source: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_attendance_days_list", "date", "project_id", "agent_id"),
        Index("ix_attendance_days_project_list", "project_id", "date", "agent_id"),
    )


class Performance(Base):
    """One agent's sales and service data for a day (销售额, 平响, 回复率, 咨询量); a re-sent day replaces."""

    __tablename__ = "performance"

    agent_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    sales_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    avg_response_seconds: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    response_rate: Mapped[Decimal] = mapped_column(RATE)
    consultations: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_performance_list", "date", "project_id", "agent_id"),
        Index("ix_performance_project_list", "project_id", "date", "agent_id"),
    )


class KpiScore(Base):
    """An agent's KPI for a month from the quality service (``kpi.scored``): what plans with KPI
    conditions pay the base on. The highest ``version`` wins, so a re-scored period replaces an older
    score and a late duplicate of the older one changes nothing."""

    __tablename__ = "kpi_scores"

    agent_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    score: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    targets_met: Mapped[bool] = mapped_column(Boolean)
    components: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_kpi_scores_period", "period", "project_id", "agent_id"),)


class Deduction(Base):
    """A penalty for an upheld complaint (complaint.upheld), in the period of the complaint's resolution."""

    __tablename__ = "deductions"

    complaint_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    number: Mapped[str] = mapped_column(String(40))
    agent_id: Mapped[str] = mapped_column(String(ID))
    project_id: Mapped[str] = mapped_column(String(ID))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    resolved_on: Mapped[dt.date] = mapped_column(Date)
    period: Mapped[str] = mapped_column(String(7))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_deductions_list", "resolved_on", "complaint_id"),
        Index("ix_deductions_period_list", "period", "resolved_on", "complaint_id"),
        Index("ix_deductions_project_list", "project_id", "resolved_on", "complaint_id"),
        Index("ix_deductions_agent_list", "agent_id", "resolved_on", "complaint_id"),
    )


class Adjustment(Base):
    """A manual adjustment by finance (调整): positive or negative, always with a reason."""

    __tablename__ = "adjustments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(ID))
    project_id: Mapped[str] = mapped_column(String(ID))
    period: Mapped[str] = mapped_column(String(7))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (
        Index("ix_adjustments_list", "created_at", "id"),
        Index("ix_adjustments_period_list", "period", "created_at", "id"),
        Index("ix_adjustments_project_list", "project_id", "created_at", "id"),
        Index("ix_adjustments_agent_list", "agent_id", "created_at", "id"),
    )


class PendingChange(Base):
    """An agent's period touched by new data since its payroll: the late-data journal."""

    __tablename__ = "pending_changes"

    project_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PayrollRun(Base):
    """A payroll run (薪资核算) for a period over one project or all of them: draft, then approved."""

    __tablename__ = "payroll_runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    period: Mapped[str] = mapped_column(String(7))
    project_id: Mapped[str | None] = mapped_column(String(ID))
    #: project_id, or "*" for a run over every project
    scope_key: Mapped[str] = mapped_column(String(ID))
    status: Mapped[str] = mapped_column(String(20))
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    payslip_count: Mapped[int] = mapped_column(Integer)
    #: agents with activity in the period but no plan in force: [{agent_id, project_id}]
    without_plan: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: what finance should look at before approving: [{code, message, agent_id?, project_id?, amount?}]
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))
    calculated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    approved_by: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        UniqueConstraint("period", "scope_key"),
        Index("ix_payroll_runs_list", "period", "created_at", "id"),
        Index("ix_payroll_runs_project_list", "project_id", "period", "created_at", "id"),
        Index("ix_payroll_runs_status_list", "status", "period", "created_at", "id"),
    )


class PayrollPeriodClaim(Base):
    """Which scopes of a period runs hold: the whole period or some projects, never both (nor two wholes).

    Every run creation and deletion upserts its period's row in its own transaction; the row lock queues
    concurrent writers and the CHECK refuses an overlap, so the database — not a check-then-insert —
    keeps a whole-period run and a project run of the same period from both existing. Two runs of the
    same project are kept apart by ``payroll_runs``' unique (period, scope_key).
    """

    __tablename__ = "payroll_period_claims"

    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    whole_runs: Mapped[int] = mapped_column(Integer)
    project_runs: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint(
            "whole_runs BETWEEN 0 AND 1 AND project_runs >= 0 AND (whole_runs = 0 OR project_runs = 0)",
            name="one_scope",
        ),
    )


class Payslip(Base):
    """One agent's pay for one project in a run (工资条)."""

    __tablename__ = "payslips"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("payroll_runs.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))
    agent_id: Mapped[str] = mapped_column(String(ID))
    project_id: Mapped[str] = mapped_column(String(ID))
    agent_name: Mapped[str | None] = mapped_column(String(100))
    plan_id: Mapped[str | None] = mapped_column(String(36))
    plan_type: Mapped[str | None] = mapped_column(String(20))
    total: Mapped[Decimal] = mapped_column(MONEY)
    # The period's attendance (attendance_days) as it was when the payslip was calculated, frozen with it:
    # shown beside the pay, never paid from (the hours come from worked_hours). Integer columns rather than
    # one JSON value so that the run's COPY writes them as it writes the rest; NULL on payslips calculated
    # before billing received attendance (migration billing_0007).
    attendance_days_recorded: Mapped[int | None] = mapped_column(Integer)
    attendance_present: Mapped[int | None] = mapped_column(Integer)
    attendance_late: Mapped[int | None] = mapped_column(Integer)
    attendance_early_leave: Mapped[int | None] = mapped_column(Integer)
    attendance_no_show: Mapped[int | None] = mapped_column(Integer)
    attendance_late_minutes: Mapped[int | None] = mapped_column(Integer)
    attendance_early_minutes: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        # also the order of a run's payslip list
        UniqueConstraint("run_id", "agent_id", "project_id"),
        Index("ix_payslips_list", "period", "project_id", "agent_id", "id"),
        # an agent's payslips; and the settled amounts and carried deductions of given agents
        Index("ix_payslips_agent_list", "agent_id", "period", "project_id", "id"),
    )


class PayslipLine(Base):
    """A payslip line: base, hours, commission, deduction or adjustment, with its explanation.

    ``payslip_id`` has no foreign key: lines are written only with their payslip and deleted before it
    (``services.billing.payroll``), and a key checked — and the payslip share-locked — once per line doubled
    the cost of writing a payroll run's thousands of lines (migration billing_0005).
    """

    __tablename__ = "payslip_lines"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    payslip_id: Mapped[str] = mapped_column(String(36))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    explanation: Mapped[str] = mapped_column(String(500))
    #: the period the line pays for: the payslip's own, or an earlier one for late data
    origin_period: Mapped[str] = mapped_column(String(7))
    ref: Mapped[str | None] = mapped_column(String(ID))

    __table_args__ = (
        Index("ix_payslip_lines_payslip_id", "payslip_id"),
        # finds the few carried-deduction lines (and a complaint's or adjustment's lines) without a scan;
        # partial: most lines have no ref, and a payroll run need not index each of them
        Index(
            "ix_payslip_lines_ref",
            "ref",
            postgresql_where=text("ref IS NOT NULL"),
            sqlite_where=text("ref IS NOT NULL"),
        ),
    )


# --- merchant invoicing (对商家开票) ------------------------------------------------------------------------


class ProjectSeats(Base):
    """The project's seat count from a day on: the order's (at go-live), then each change onboarding sent."""

    __tablename__ = "project_seats"

    project_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    effective_from: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    seats: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class SurgeCopy(Base):
    """A surge scheduling accepted (surge.accepted): extra seats over a date range, charged to the
    merchant."""

    __tablename__ = "surges"

    surge_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(ID))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    increase_pct: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    extra_seats: Mapped[int] = mapped_column(Integer)
    covered: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_surges_project", "project_id", "start_date", "surge_id"),)


class TrainingCohort(Base):
    """A cohort training completed (cohort.completed): people trained and hours each (the training fee)."""

    __tablename__ = "training_cohorts"

    cohort_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(ID))
    completed_on: Mapped[dt.date] = mapped_column(Date)
    trainees: Mapped[int] = mapped_column(Integer)
    hours_each: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    admitted: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_training_cohorts_project", "project_id", "completed_on", "cohort_id"),)


class PriceList(Base):
    """A version of a project's price list (报价) agreed with the merchant, in force from a date."""

    __tablename__ = "price_lists"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(ID))
    effective_from: Mapped[dt.date] = mapped_column(Date)
    #: seat_month | agent_hour | consultation
    basis: Mapped[str] = mapped_column(String(20))
    seat_month_price: Mapped[Decimal | None] = mapped_column(MONEY)
    agent_hour_price: Mapped[Decimal | None] = mapped_column(MONEY)
    consultation_price: Mapped[Decimal | None] = mapped_column(MONEY)
    training_person_hour_price: Mapped[Decimal | None] = mapped_column(MONEY)
    surge_premium_rate: Mapped[Decimal] = mapped_column(RATE)
    minimum_charge: Mapped[Decimal | None] = mapped_column(MONEY)
    tax_rate: Mapped[Decimal] = mapped_column(RATE)
    payment_terms_days: Mapped[int] = mapped_column(Integer)
    complaint_credit: Mapped[Decimal | None] = mapped_column(MONEY)
    targets_missed_credit_rate: Mapped[Decimal | None] = mapped_column(RATE)
    notes: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (
        UniqueConstraint("project_id", "effective_from"),
        Index("ix_price_lists_list", "project_id", "effective_from", "id"),
    )


class Invoice(Base):
    """A merchant's monthly invoice of a project (结算单), or a credit note (红字) correcting an issued one.

    Amounts are frozen at calculation (drafts are recalculated, never issued ones). ``paid`` and
    ``credited`` (the credit notes' negative totals) are kept on the row so that lists and aging need no
    sums; they change only with a payment or a credit note, under the invoice's row lock.
    """

    __tablename__ = "invoices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: invoice | credit_note
    kind: Mapped[str] = mapped_column(String(20))
    number: Mapped[str | None] = mapped_column(String(20), unique=True)
    period: Mapped[str] = mapped_column(String(7))
    project_id: Mapped[str] = mapped_column(String(ID))
    merchant_id: Mapped[str | None] = mapped_column(String(ID))
    company_name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    tax_rate: Mapped[Decimal] = mapped_column(RATE)
    tax: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    paid: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    credited: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    payment_terms_days: Mapped[int] = mapped_column(Integer)
    issued_on: Mapped[dt.date | None] = mapped_column(Date)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    #: a credit note's invoice, and why it was issued
    credited_invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"))
    reason: Mapped[str | None] = mapped_column(String(500))
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))
    calculated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    approved_by: Mapped[str | None] = mapped_column(String(100))
    issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    issued_by: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        # one invoice per project and month (credit notes are as many as needed)
        Index(
            "uq_invoices_project_period",
            "project_id",
            "period",
            unique=True,
            postgresql_where=text("kind = 'invoice'"),
            sqlite_where=text("kind = 'invoice'"),
        ),
        Index("ix_invoices_list", "period", "created_at", "id"),
        Index("ix_invoices_merchant_list", "merchant_id", "period", "created_at", "id"),
        Index("ix_invoices_project_list", "project_id", "period", "created_at", "id"),
        Index("ix_invoices_status_list", "status", "period", "created_at", "id"),
        Index("ix_invoices_credited", "credited_invoice_id"),
    )


class InvoiceLine(Base):
    """A line of an invoice or credit note, with the source rows it was computed from (``sources``)."""

    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    unit: Mapped[str] = mapped_column(String(10))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    price_list_id: Mapped[str | None] = mapped_column(String(36))
    sources: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("invoice_id", "seq"),)


class InvoicePayment(Base):
    """A payment received against an issued invoice (收款), or one reversed (冲销) when it was recorded
    by mistake."""

    __tablename__ = "invoice_payments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    paid_on: Mapped[dt.date] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(String(500))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(100))
    #: a payment recorded by mistake is reversed (kept, with who and why), never deleted
    reversed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reversed_by: Mapped[str | None] = mapped_column(String(100))
    reversal_reason: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (Index("ix_invoice_payments_invoice", "invoice_id", "paid_on", "id"),)


class DocumentCounter(Base):
    """The last number taken per series (FP invoices, HC credit notes) and year: gap-free numbering, as
    complaints number theirs (the upsert's row lock queues concurrent issues)."""

    __tablename__ = "document_counters"

    series: Mapped[str] = mapped_column(String(4), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)
