"""Benchmark (not a test): billing's month of merchant invoices (对商家开票) on PostgreSQL, 200 projects
(issue 20).

The billing database is loaded (COPY straight into billing's read models, not through the API or the
events; not timed) with ``--projects`` projects of a few dozen merchants: go-live dates (a tenth of them
going live during the month, a few closing in it), the seat history (the order, changes before and during
the month), price lists (seven in ten per seat-month, two per agent-hour, one per consultation; older
versions, one project in ten with a new version from the 16th; some with a training price, a surge premium,
a minimum charge, a complaint credit or a missed-targets credit rate), and for every project ``--agents``
agents × each day in service of worked hours and of performance (billing holds them all for payroll,
whatever the project's basis, and invoicing reads them all), surges (双11 and one straddling the month's
start), training cohorts completed in the month and the month before, upheld complaints (deductions) of
the month and the month before, and the month's KPI verdicts.

Then, in the same run and interleaved so that the machine's load hits both alike, ``--repeat`` times:

- baseline: the SQL aggregate a finance analyst would write over the same rows — one statement that sums,
  per project, the seat-days (each active day's seats), the month's hours and consultations, the surge
  seat-days and the surge days' volume, the training person-hours, the upheld complaints and the KPI
  verdicts, prices them with the project's price list in force at the month's end, applies the minimum
  charge and the credits, and returns one subtotal per project, every row fetched. Its session runs with
  ``SET LOCAL jit = off``: at PostgreSQL's default ``jit_above_cost`` the statement's estimated cost makes
  the server JIT-compile it, 1.7–2.2 s of compilation for 0.2 s of work here, which would flatter the
  product tenfold (the product's statements, one per source table, stay below that cost);
- create: ``services.billing.invoicing.generate_invoices(uow, "2026-11")`` in one unit of work (fixed clock
  on 5 December 2026, a finance actor): it reads the same rows, computes every invoice, writes the drafts
  and their lines and commits;
- recalculation: the same call again, which recalculates the 200 drafts (old lines deleted, new ones
  written, commit); then the drafts are deleted (not timed) for the next round.

What the baseline does not do, so the comparison flatters it: it writes nothing (no invoice, no line, no
JSON ``sources``, no warning); it prices the whole month with one price list version (the one in force at
the month's end) where the product prices each day with the version in force that day and makes a line per
version; it rounds once per project where the product rounds each line to the fen (half-up) and the
subtotal is the sum of the rounded lines; it does not cap credits at the month's charges, lock existing
invoices or check the period. Its subtotals therefore differ from the invoices' for the projects whose
price changed in the month (the difference is reported, not checked).

Correctness, every round: the generated invoices' subtotals (read back from the database) must equal,
project by project, what the generator's own numbers give (computed here in Python from the rows it
wrote, each line rounded as an invoice line is), with one invoice per project and the expected number of
lines; the bench stops with an error otherwise.

Reported (``bench._support.report``): projects invoiced per second for create and for recalculation, each
the median of the rounds, against the aggregate's projects per second, with the wall times. Target: at
least 1/4 of the aggregate's rate (≤ 4× its time). The product reads the same rows with grouped
statements, one per source table, as the aggregate does, and its reading alone costs about what the
aggregate costs; what it adds is Python work per project and line (the version in force per day,
rounding, descriptions, sources) and the writes of 200 drafts and their lines — about as much again as the
reading, which puts it at 30–45% of the aggregate's rate on a healthy build. 1/3, payroll's bar, is inside
that spread and would fail on noise; 1/4 keeps a margin while still catching the regressions that matter:
per-project queries creeping in (a handful of statements × 200 projects, another ~0.5 s) or per-row
Python over the 230,000 timesheet and performance rows would each take the rate to about 1/5 or below,
where a 1/10 bar would let both pass.

    python bench/invoicing.py [--projects 200] [--agents 20] [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._support import Result, Scratch, report
from services.billing import invoicing
from services.billing.models import Invoice, InvoiceLine
from shared.db import Database
from shared.migrate import upgrade
from shared.service import load_spec
from shared.uow import Actor, unit_of_work

PERIOD = "2026-11"
START, END = dt.date(2026, 11, 1), dt.date(2026, 11, 30)
MONTH_DAYS = (END - START).days + 1
#: invoicing refuses a month that has not begun: the clock stands in December, after the month
NOW = dt.datetime(2026, 12, 5, 2, 0, tzinfo=dt.UTC)
TAX_RATE = Decimal("0.06")
BASES = ("seat_month", "agent_hour", "consultation")
FEN = Decimal("0.01")
TARGET = Fraction(1, 4)  # the product's rate at least this share of the aggregate's
ACTOR = Actor(sub="bench-finance", role="finance")


def fen(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


# --- what the generator writes, kept to compute the expected invoices -----------------------------------


@dataclass(frozen=True)
class Version:
    """One price list version as written to ``price_lists``."""

    id: str
    effective_from: dt.date
    basis: str
    price: Decimal  # the basis's price
    training: Decimal | None
    surge_rate: Decimal
    minimum: Decimal | None
    complaint_credit: Decimal | None
    targets_rate: Decimal | None


@dataclass
class Plan:
    """One generated project and the month's figures it was given."""

    project_id: str
    merchant_id: str
    go_live: dt.date
    closed_on: dt.date | None
    versions: list[Version] = field(default_factory=list)
    #: (effective_from, seats): the order first, then each change
    seat_changes: list[tuple[dt.date, int]] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    #: the month's hours and consultations by day, summed over the rows written
    hours: dict[dt.date, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    consultations: dict[dt.date, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    #: (surge_id, start, end, extra_seats)
    surges: list[tuple[str, dt.date, dt.date, int]] = field(default_factory=list)
    #: the month's cohorts: (completed_on, trainees, hours_each)
    cohorts: list[tuple[dt.date, int, Decimal]] = field(default_factory=list)
    upheld: int = 0
    scored: int = 0
    missed: int = 0

    @property
    def active(self) -> list[dt.date]:
        return days_between(max(START, self.go_live), min(END, self.closed_on or END))

    def version_on(self, day: dt.date) -> Version:
        return [v for v in self.versions if v.effective_from <= day][-1]

    def seats_on(self, day: dt.date) -> int:
        return [seats for since, seats in self.seat_changes if since <= day][-1]


def expected(plan: Plan) -> tuple[Decimal, int]:
    """The invoice's subtotal and number of lines from the generator's own figures: a line per basis and
    price list version, per surge and version, per priced cohort, the minimum top-up and the credits, each
    rounded to the fen."""
    by_version: dict[str, list[dt.date]] = {}
    for day in plan.active:
        by_version.setdefault(plan.version_on(day).id, []).append(day)
    versions = {v.id: v for v in plan.versions}
    service: list[Decimal] = []
    for version_id, days in by_version.items():
        v = versions[version_id]
        if v.basis == "seat_month":
            seat_days = sum(plan.seats_on(day) for day in days)
            service.append(fen(Decimal(seat_days) * v.price / MONTH_DAYS))
        else:
            volume = plan.hours if v.basis == "agent_hour" else plan.consultations
            units = sum((volume[day] for day in days if day in volume), Decimal(0))
            if units:
                service.append(fen(units * v.price))
    active = set(plan.active)
    for _surge_id, first, last, extra in plan.surges:
        spans: dict[str, list[dt.date]] = {}
        for day in days_between(first, last):
            if day in active:
                spans.setdefault(plan.version_on(day).id, []).append(day)
        for version_id, days in spans.items():
            v = versions[version_id]
            if v.basis == "seat_month":
                service.append(fen(Decimal(extra * len(days)) * v.price * (1 + v.surge_rate) / MONTH_DAYS))
            elif v.surge_rate:
                volume = plan.hours if v.basis == "agent_hour" else plan.consultations
                units = sum((volume[day] for day in days if day in volume), Decimal(0))
                if units:
                    service.append(fen(units * (v.price * v.surge_rate)))
    lines = len(service)
    fee = sum(service, Decimal(0))
    closing = plan.version_on(plan.active[-1])
    charges = fee
    if closing.minimum and fee < closing.minimum:
        charges, fee, lines = closing.minimum, closing.minimum, lines + 1
    for completed_on, trainees, hours_each in plan.cohorts:
        price = plan.version_on(completed_on).training
        if price is not None:
            charges += fen(hours_each * trainees * price)
            lines += 1
    credits = Decimal(0)
    if closing.complaint_credit and plan.upheld:
        credits += fen(closing.complaint_credit * plan.upheld)
        lines += 1
    if closing.targets_rate and plan.missed:
        credit = fen(fee * closing.targets_rate * (Decimal(plan.missed) / plan.scored))
        if credit > 0:
            credits += credit
            lines += 1
    if credits > charges:
        raise AssertionError(f"the generator made credits above the charges for {plan.project_id}")
    return charges - credits, lines


# --- loading ---------------------------------------------------------------------------------------------


def _day(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randint(0, (last - first).days))


def plan_projects(count: int, agents: int, rng: random.Random) -> list[Plan]:
    merchants = [str(uuid.uuid4()) for _ in range(max(1, count * 2 // 5))]
    plans: list[Plan] = []
    for i in range(count):
        if i % 10 == 3:
            go_live = _day(rng, dt.date(2026, 11, 3), dt.date(2026, 11, 20))
        else:
            go_live = _day(rng, dt.date(2025, 6, 1), dt.date(2026, 10, 31))
        closed_on = _day(rng, dt.date(2026, 11, 10), dt.date(2026, 11, 25)) if i % 40 == 7 else None
        plan = Plan(str(uuid.uuid4()), rng.choice(merchants), go_live, closed_on)
        plan.agents = [str(uuid.uuid4()) for _ in range(agents)]
        seats = rng.randint(5, 60)
        plan.seat_changes.append((go_live, seats))
        if go_live < dt.date(2026, 9, 1) and rng.random() < 0.4:
            seats = max(1, seats + rng.randint(-5, 10))
            plan.seat_changes.append((dt.date(2026, 9, 1), seats))
        if rng.random() < 0.3:
            changed = _day(rng, max(go_live, START) + dt.timedelta(days=1), dt.date(2026, 11, 25))
            plan.seat_changes.append((changed, max(1, seats + rng.randint(-8, 12))))
        plan.versions = _versions(i, go_live, rng)
        plans.append(plan)
    return plans


def _versions(i: int, go_live: dt.date, rng: random.Random) -> list[Version]:
    basis = "seat_month" if i % 10 < 7 else "agent_hour" if i % 10 < 9 else "consultation"
    if basis == "seat_month":
        price = Decimal(rng.randint(30, 60) * 100)
    elif basis == "agent_hour":
        price = Decimal(rng.randint(2000, 4000)) / 100
    else:
        price = Decimal(rng.randint(80, 300)) / 100
    current = Version(
        id=str(uuid.uuid4()),
        effective_from=go_live.replace(day=1),
        basis=basis,
        price=price,
        training=Decimal(rng.choice((15, 20, 25, 30))) if rng.random() < 0.3 else None,
        surge_rate=Decimal(rng.choice(("0.2", "0.3", "0.5"))) if rng.random() < 0.4 else Decimal(0),
        minimum=Decimal(rng.randint(4, 30) * 5000) if rng.random() < 0.15 else None,
        complaint_credit=Decimal(rng.choice((200, 500))) if rng.random() < 0.25 else None,
        targets_rate=Decimal(rng.choice(("0.05", "0.1"))) if rng.random() < 0.1 else None,
    )
    versions = [current]
    if current.effective_from > dt.date(2026, 1, 1) and rng.random() < 0.2:
        # an older price before go-live: read with the rest, never in force in the month
        old = replace(
            current, id=str(uuid.uuid4()), effective_from=dt.date(2026, 1, 1), price=fen(price * 9 / 10)
        )
        versions.insert(0, old)
    if i % 10 == 5:
        # a new price from the 16th: the month is priced by two versions, a line each
        raised = fen(price * Decimal(rng.choice(("1.05", "1.08", "1.10"))))
        versions.append(
            replace(current, id=str(uuid.uuid4()), effective_from=dt.date(2026, 11, 16), price=raised)
        )
    return versions


Row = tuple[object, ...]


def _copy(cursor: Any, table: str, columns: str, rows: Iterable[Row]) -> None:
    with cursor.copy(f"COPY {table} ({columns}, updated_at) FROM STDIN") as copy:
        for row in rows:
            copy.write_row((*row, NOW))


def load(database: Database, plans: list[Plan], rng: random.Random) -> None:
    """COPY the plans into billing's read models; the month's figures are added to the plans as the rows
    are drawn, so that the expected invoices come from exactly what was written."""
    raw = database.engine.raw_connection()
    try:
        cur = raw.cursor()
        _copy(
            cur,
            "projects",
            "project_id, merchant_id, company_name, status, seats, go_live_date, closed_on",
            _project_rows(plans),
        )
        _copy(
            cur,
            "project_seats",
            "project_id, effective_from, seats",
            ((p.project_id, since, seats) for p in plans for since, seats in p.seat_changes),
        )
        _copy(
            cur,
            "agents",
            "agent_id, project_id, name, admitted_on",
            (
                (agent, p.project_id, f"agent {n}", p.go_live)
                for p in plans
                for n, agent in enumerate(p.agents)
            ),
        )
        _copy(cur, "worked_hours", "agent_id, project_id, date, hours", _hours_rows(plans, rng))
        _copy(
            cur,
            "performance",
            "agent_id, project_id, date, sales_amount, avg_response_seconds, response_rate, consultations",
            _performance_rows(plans, rng),
        )
        _copy(
            cur,
            "surges",
            "surge_id, project_id, start_date, end_date, increase_pct, extra_seats, covered",
            _surge_rows(plans, rng),
        )
        _copy(
            cur,
            "training_cohorts",
            "cohort_id, project_id, completed_on, trainees, hours_each, admitted",
            _cohort_rows(plans, rng),
        )
        _copy(
            cur,
            "deductions",
            "complaint_id, number, agent_id, project_id, amount, resolved_on, period",
            _deduction_rows(plans, rng),
        )
        _copy(
            cur,
            "kpi_scores",
            "agent_id, project_id, period, score, targets_met, components, version",
            _kpi_rows(plans, rng),
        )
        # price lists carry created_at/created_by, not updated_at
        columns = (
            "id, project_id, effective_from, basis, seat_month_price, agent_hour_price, consultation_price, "
            "training_person_hour_price, surge_premium_rate, minimum_charge, tax_rate, payment_terms_days, "
            "complaint_credit, targets_missed_credit_rate, created_at, created_by"
        )
        with cur.copy(f"COPY price_lists ({columns}) FROM STDIN") as copy:
            for p in plans:
                for v in p.versions:
                    prices = [v.price if v.basis == basis else None for basis in BASES]
                    terms = (v.training, v.surge_rate, v.minimum, TAX_RATE, 30, v.complaint_credit)
                    head = (v.id, p.project_id, v.effective_from, v.basis)
                    copy.write_row((*head, *prices, *terms, v.targets_rate, NOW, "bench"))
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def _project_rows(plans: list[Plan]) -> Iterator[Row]:
    for n, p in enumerate(plans):
        status = "closed" if p.closed_on else "confirmed"
        order = (p.seat_changes[0][1], p.go_live, p.closed_on)
        yield (p.project_id, p.merchant_id, f"bench 店铺 {n}", status, *order)


def _hours_rows(plans: list[Plan], rng: random.Random) -> Iterator[Row]:
    for p in plans:
        for agent in p.agents:
            for day in p.active:
                if rng.random() < 0.1:
                    continue  # a day off: no timesheet row
                hours = Decimal(rng.choice(("4", "6", "7.5", "8", "8", "8", "10")))
                p.hours[day] += hours
                yield (agent, p.project_id, day, hours)


def _performance_rows(plans: list[Plan], rng: random.Random) -> Iterator[Row]:
    for p in plans:
        for agent in p.agents:
            for day in p.active:
                consultations = rng.randint(50, 300)
                p.consultations[day] += consultations
                sales = Decimal(rng.randint(0, 800_000)) / 100
                response = Decimal(rng.randint(1500, 4500)) / 100
                rate = Decimal(rng.randint(900_000, 1_000_000)) / 1_000_000
                yield (agent, p.project_id, day, sales, response, rate, consultations)


def _surge_rows(plans: list[Plan], rng: random.Random) -> Iterator[Row]:
    for p in plans:
        spans = []
        if rng.random() < 0.25:
            spans.append((dt.date(2026, 11, 9), dt.date(2026, 11, 12)))  # 双11
        if rng.random() < 0.08:
            spans.append((dt.date(2026, 10, 28), dt.date(2026, 11, 3)))  # straddles the month's start
        if rng.random() < 0.1:
            spans.append((dt.date(2026, 10, 1), dt.date(2026, 10, 7)))  # October's: not the month's
        for first, last in spans:
            surge_id, extra = str(uuid.uuid4()), rng.randint(2, 10)
            if last >= START:
                p.surges.append((surge_id, first, last, extra))
            yield (surge_id, p.project_id, first, last, Decimal(rng.choice((20, 30, 50))), extra, extra)


def _cohort_rows(plans: list[Plan], rng: random.Random) -> Iterator[Row]:
    for p in plans:
        for first, last in ((START, END), (dt.date(2026, 10, 1), dt.date(2026, 10, 31))):
            if rng.random() >= 0.25:
                continue
            completed_on = _day(rng, first, last)
            trainees, hours_each = rng.randint(5, 25), Decimal(rng.choice(("8", "16", "24", "7.5")))
            if first == START:
                p.cohorts.append((completed_on, trainees, hours_each))
            yield (str(uuid.uuid4()), p.project_id, completed_on, trainees, hours_each, trainees)


def _deduction_rows(plans: list[Plan], rng: random.Random) -> Iterator[Row]:
    months = (("2026-10", dt.date(2026, 10, 1), dt.date(2026, 10, 31)), (PERIOD, START, END))
    number = 0
    for p in plans:
        for period, first, last in months:
            for _ in range(rng.choice((0, 0, 1, 2, 3))):
                number += 1
                resolved = _day(rng, first, last)
                if period == PERIOD:
                    p.upheld += 1
                complaint = (str(uuid.uuid4()), f"TS{resolved:%Y%m%d}-{number:04d}", rng.choice(p.agents))
                yield (*complaint, p.project_id, Decimal("200.00"), resolved, period)


def _kpi_rows(plans: list[Plan], rng: random.Random) -> Iterator[Row]:
    for p in plans:
        for agent in p.agents:
            met = rng.random() < 0.85
            p.scored += 1
            p.missed += not met
            yield (agent, p.project_id, PERIOD, Decimal(rng.randint(6000, 9900)) / 100, met, "{}", 1)


# --- the baseline ------------------------------------------------------------------------------------------

AGGREGATE = text(
    """
    WITH pl AS (
        SELECT DISTINCT ON (project_id) project_id, basis,
               coalesce(seat_month_price, agent_hour_price, consultation_price) AS price,
               training_person_hour_price, surge_premium_rate, minimum_charge, complaint_credit,
               targets_missed_credit_rate
        FROM price_lists WHERE effective_from <= :end
        ORDER BY project_id, effective_from DESC
    ), active AS (
        SELECT p.project_id, d::date AS day
        FROM projects p
        CROSS JOIN LATERAL generate_series(
            greatest(p.go_live_date, :start), least(coalesce(p.closed_on, :end), :end), interval '1 day'
        ) AS d
        WHERE p.go_live_date <= :end
    ), seats AS (
        SELECT a.project_id, sum(s.seats) AS seat_days
        FROM active a
        CROSS JOIN LATERAL (
            SELECT ps.seats FROM project_seats ps
            WHERE ps.project_id = a.project_id AND ps.effective_from <= a.day
            ORDER BY ps.effective_from DESC LIMIT 1
        ) AS s
        GROUP BY a.project_id
    ), hours AS (
        SELECT project_id, sum(hours) AS units FROM worked_hours
        WHERE date BETWEEN :start AND :end GROUP BY project_id
    ), consultations AS (
        SELECT project_id, sum(consultations) AS units FROM performance
        WHERE date BETWEEN :start AND :end GROUP BY project_id
    ), surge AS (
        SELECT project_id,
               sum(extra_seats * (least(end_date, :end) - greatest(start_date, :start) + 1)) AS seat_days
        FROM surges WHERE start_date <= :end AND end_date >= :start GROUP BY project_id
    ), surge_hours AS (
        SELECT s.project_id, sum(w.hours) AS units
        FROM surges s JOIN worked_hours w ON w.project_id = s.project_id
             AND w.date BETWEEN greatest(s.start_date, :start) AND least(s.end_date, :end)
        WHERE s.start_date <= :end AND s.end_date >= :start GROUP BY s.project_id
    ), surge_consultations AS (
        SELECT s.project_id, sum(f.consultations) AS units
        FROM surges s JOIN performance f ON f.project_id = s.project_id
             AND f.date BETWEEN greatest(s.start_date, :start) AND least(s.end_date, :end)
        WHERE s.start_date <= :end AND s.end_date >= :start GROUP BY s.project_id
    ), training AS (
        SELECT project_id, sum(trainees * hours_each) AS person_hours FROM training_cohorts
        WHERE completed_on BETWEEN :start AND :end GROUP BY project_id
    ), upheld AS (
        SELECT project_id, count(*) AS complaints FROM deductions WHERE period = :period GROUP BY project_id
    ), kpi AS (
        SELECT project_id, count(*) AS scored, count(*) FILTER (WHERE NOT targets_met) AS missed
        FROM kpi_scores WHERE period = :period GROUP BY project_id
    ), fee AS (
        SELECT pl.*, coalesce(tr.person_hours, 0) AS person_hours, coalesce(u.complaints, 0) AS complaints,
               k.scored, coalesce(k.missed, 0) AS missed,
               CASE pl.basis
                   WHEN 'seat_month' THEN
                       (coalesce(se.seat_days, 0) + coalesce(su.seat_days, 0) * (1 + pl.surge_premium_rate))
                       * pl.price / :days
                   WHEN 'agent_hour' THEN
                       (coalesce(h.units, 0) + coalesce(sh.units, 0) * pl.surge_premium_rate) * pl.price
                   ELSE (coalesce(c.units, 0) + coalesce(sc.units, 0) * pl.surge_premium_rate) * pl.price
               END AS service
        FROM pl
        LEFT JOIN seats se USING (project_id)
        LEFT JOIN hours h USING (project_id)
        LEFT JOIN consultations c USING (project_id)
        LEFT JOIN surge su USING (project_id)
        LEFT JOIN surge_hours sh USING (project_id)
        LEFT JOIN surge_consultations sc USING (project_id)
        LEFT JOIN training tr USING (project_id)
        LEFT JOIN upheld u USING (project_id)
        LEFT JOIN kpi k USING (project_id)
    ), floored AS (
        SELECT *, greatest(service, coalesce(minimum_charge, 0)) AS service_fee FROM fee
    )
    SELECT project_id,
           round(
               service_fee
               + person_hours * coalesce(training_person_hour_price, 0)
               - complaints * coalesce(complaint_credit, 0)
               - CASE WHEN scored > 0
                      THEN service_fee * coalesce(targets_missed_credit_rate, 0) * missed / scored
                      ELSE 0 END,
               2
           ) AS subtotal
    FROM floored
    ORDER BY project_id
    """
)


def sql_aggregate(database: Database) -> tuple[float, dict[str, Decimal]]:
    """The baseline: one statement, a subtotal per project, every row fetched."""
    params = {"start": START, "end": END, "days": MONTH_DAYS, "period": PERIOD}
    t0 = time.perf_counter()
    with database.engine.connect() as conn:
        # LOCAL: the setting goes with this transaction, not with the pooled connection the product reuses
        conn.execute(text("SET LOCAL jit = off"))
        rows = conn.execute(AGGREGATE, params).all()
    elapsed = time.perf_counter() - t0
    return elapsed, {project_id: subtotal for project_id, subtotal in rows}


# --- the product -------------------------------------------------------------------------------------------


@dataclass
class Rounds:
    baseline: list[float] = field(default_factory=list)
    create: list[float] = field(default_factory=list)
    recalc: list[float] = field(default_factory=list)
    aggregate_total: Decimal = Decimal(0)
    lines: int = 0


def generate(database: Database) -> tuple[float, invoicing.Generation]:
    t0 = time.perf_counter()
    with unit_of_work(database, actor=ACTOR, clock=lambda: NOW) as uow:
        result = invoicing.generate_invoices(uow, PERIOD)
    return time.perf_counter() - t0, result


def check(database: Database, plans: list[Plan], wanted: dict[str, tuple[Decimal, int]], what: str) -> int:
    """The invoices written must be the expected ones, project by project; returns the number of lines."""
    with database.engine.connect() as conn:
        found = {
            project_id: (subtotal, lines)
            for project_id, subtotal, lines in conn.execute(
                select(Invoice.project_id, Invoice.subtotal, func.count(InvoiceLine.id))
                .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
                .where(Invoice.period == PERIOD, Invoice.kind == "invoice")
                .group_by(Invoice.id)
            )
        }
    wrong = [
        f"{p.project_id}: expected {wanted[p.project_id]}, found {found.get(p.project_id)}"
        for p in plans
        if found.get(p.project_id) != wanted[p.project_id]
    ]
    if wrong or len(found) != len(plans):
        raise AssertionError(
            f"{what}: {len(wrong)} of {len(plans)} invoices differ from the generated data "
            f"({len(found)} invoices found):\n" + "\n".join(wrong[:10])
        )
    total = sum(subtotal for subtotal, _ in found.values())
    expected_total = sum(subtotal for subtotal, _ in wanted.values())
    if total != expected_total:
        raise AssertionError(f"{what}: subtotals sum to {total}, expected {expected_total}")
    return sum(lines for _, lines in found.values())


def one_round(
    database: Database, plans: list[Plan], wanted: dict[str, tuple[Decimal, int]], rounds: Rounds
) -> None:
    elapsed, subtotals = sql_aggregate(database)
    rounds.baseline.append(elapsed)
    if len(subtotals) != len(plans):
        raise AssertionError(f"the aggregate returned {len(subtotals)} projects, not {len(plans)}")
    rounds.aggregate_total = sum(subtotals.values(), Decimal(0))
    elapsed, result = generate(database)
    if len(result.created) != len(plans) or result.recalculated or result.skipped:
        raise AssertionError(
            f"create: {len(result.created)} created, {len(result.recalculated)} recalculated, "
            f"skipped {result.skipped[:3]} (expected {len(plans)} created)"
        )
    rounds.create.append(elapsed)
    rounds.lines = check(database, plans, wanted, "create")
    elapsed, result = generate(database)
    if len(result.recalculated) != len(plans) or result.created or result.skipped:
        raise AssertionError(
            f"recalculation: {len(result.recalculated)} recalculated, {len(result.created)} created "
            f"(expected {len(plans)} recalculated)"
        )
    rounds.recalc.append(elapsed)
    check(database, plans, wanted, "recalculation")
    with database.engine.begin() as conn:
        conn.execute(text("TRUNCATE invoice_lines, invoice_payments, invoices"))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--agents", type=int, default=20, help="agents per project (hours and performance)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds (medians are reported)")
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args()

    with Scratch("bench_invoicing") as scratch:
        url = scratch.database("billing")
        upgrade(load_spec("billing"), url)
        database = Database(url)
        try:
            measure(database, args.projects, args.agents, args.repeat, args.seed)
        finally:
            database.dispose()
    return 0


def measure(database: Database, projects: int, agents: int, repeat: int, seed: int) -> None:
    rng = random.Random(seed)
    plans = plan_projects(projects, agents, rng)
    load(database, plans, rng)
    wanted = {p.project_id: expected(p) for p in plans}
    sql_aggregate(database)  # warm: the first read of a freshly loaded table pays for its hint bits
    rounds = Rounds()
    for _ in range(repeat):
        one_round(database, plans, wanted, rounds)
    baseline = statistics.median(rounds.baseline)
    baseline_rate = projects / baseline
    expected_total = sum(subtotal for subtotal, _ in wanted.values())
    rows = sum(len(p.agents) * len(p.active) for p in plans)
    load_average = " ".join(f"{x:.2f}" for x in os.getloadavg())
    for name, times in (("create", rounds.create), ("recalculation", rounds.recalc)):
        seconds = statistics.median(times)
        rate = projects / seconds
        report(
            Result(
                bench="invoicing",
                measure=f"invoicing {name}, a month of {projects} projects ({rows:,} agent-days)",
                product=rate,
                unit="projects/s",
                baseline=baseline_rate,
                target=f"≥ {TARGET} of the SQL aggregate's rate",
                met=rate >= float(TARGET) * baseline_rate,
                detail=f"{seconds * 1000:,.0f} ms wall, aggregate {baseline * 1000:,.0f} ms; median of "
                f"{repeat} (min {min(times) * 1000:,.0f} ms, aggregate min "
                f"{min(rounds.baseline) * 1000:,.0f} ms); "
                f"{rounds.lines:,} lines, subtotals "
                f"{expected_total:,.2f} as expected (the aggregate's {rounds.aggregate_total:,.2f}: "
                f"one version a month, rounded once); load average {load_average}",
            )
        )


if __name__ == "__main__":
    raise SystemExit(main())
