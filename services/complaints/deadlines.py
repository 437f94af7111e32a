"""The promises' deadlines, kept by the worker's periodic jobs (``jobs``): automatic escalation and
breach flags, and closing resolved complaints nobody reopened.

Each run takes at most ``JOB_BATCH`` complaints (the rest wait for the next run). The steps are recorded
as the actor ``system`` whichever job runs them: history and the console show automatic steps that way.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from sqlalchemy import Select, and_, or_, select

from services.complaints import domain, queries, workflow
from services.complaints.domain import ACTIVE_STATUSES, RESOLVED, Policy
from services.complaints.models import Complaint
from shared.db import is_postgres
from shared.uow import Actor, UnitOfWork

log = logging.getLogger(__name__)

#: how many complaints one job run looks at (the rest wait for the next run)
JOB_BATCH = 500
#: who history names for the automatic steps
SYSTEM = Actor.system("system")


def escalate_overdue(uow: UnitOfWork, policy: Policy) -> int:
    """The automatic escalation (the worker's job): agent-level complaints half-way to their promise go to
    the supervisor, supervisor-level ones past it go to the manager, and every one past it is flagged
    breached. Returns how many steps were taken."""
    now = uow.now()
    stmt = (
        select(Complaint)
        .where(
            Complaint.status.in_(ACTIVE_STATUSES),
            or_(
                and_(Complaint.level == "agent", Complaint.half_time_at <= now),
                and_(
                    Complaint.due_at <= now,
                    or_(Complaint.level == "supervisor", Complaint.breached.is_(False)),
                ),
            ),
        )
        .order_by(Complaint.due_at, Complaint.id)
    )
    steps = 0
    for complaint in _batch(uow, stmt):
        for step in domain.auto_steps(
            complaint.level, complaint.status, queries.clock_of(complaint), complaint.breached, now
        ):
            if step.kind == "escalate":
                workflow.escalate_one_level(uow, complaint, step.reason, SYSTEM, policy, now)
            else:
                workflow.mark_breached(uow, complaint, SYSTEM, now)
                complaint.updated_at = now
            steps += 1
    if steps:
        log.info("complaint escalation job took %d step(s)", steps)
    return steps


def close_unreopened(uow: UnitOfWork, policy: Policy) -> int:
    """Close resolved complaints nobody reopened within the window (default 7 days)."""
    now = uow.now()
    cutoff = now - dt.timedelta(days=policy.auto_close_days)
    stmt = (
        select(Complaint)
        .where(Complaint.status == RESOLVED, Complaint.resolved_at <= cutoff)
        .order_by(Complaint.resolved_at, Complaint.id)
    )
    closed = 0
    for complaint in _batch(uow, stmt):
        workflow.close_complaint(
            uow,
            complaint,
            "auto",
            f"Closed automatically: not reopened within {policy.auto_close_days:g} days of the resolution.",
            SYSTEM,
            now,
        )
        closed += 1
    return closed


def _batch(uow: UnitOfWork, stmt: Select[tuple[Complaint]]) -> Sequence[Complaint]:
    """One run's share of the complaints due; one being changed by a request right now is skipped and
    looked at again on the next run."""
    stmt = stmt.limit(JOB_BATCH)
    if is_postgres(uow.session):
        stmt = stmt.with_for_update(skip_locked=True)
    return uow.session.scalars(stmt).all()
