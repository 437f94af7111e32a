"""Requisitions (招聘需求) and matching: a project's seats × its ratio in candidates, topped up from the pool.

Use cases take the caller's unit of work and never commit. Matching runs in the database (``_claim``): the
eligibility filter and the ranking score of ``domain`` as SQL, with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL so that two requisitions matched at the same moment never take the same person.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import uuid
from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric, Select, and_, func, insert, literal_column, or_, select, union_all, update
from sqlalchemy.orm.attributes import set_committed_value

from services.recruitment import domain, projections, queries
from services.recruitment.config import RecruitmentSettings
from services.recruitment.models import MATCHABLE, RANK_BASE_SQL, Candidate, Match, Project, Requisition
from shared.db import is_postgres
from shared.errors import BusinessRuleViolation
from shared.uow import UnitOfWork
from shared.workdays import add_workdays, today_shanghai

log = logging.getLogger(__name__)

_S = domain.CandidateStatus
_R = domain.RequisitionStatus
_O = domain.MatchOutcome


# --- project matching settings ---------------------------------------------------------------------------


def update_project_settings(
    uow: UnitOfWork, project_id: str, changes: Mapping[str, Any], config: RecruitmentSettings
) -> Project:
    """Per-project matching settings (ratio override, platform, categories); the main requisition follows."""
    project = projections.project_copy(uow, project_id)
    if "platform" in changes:
        project.platform = changes["platform"]
    if "categories" in changes:
        project.categories = domain.unique(changes["categories"] or [])
    if "match_ratio" in changes:
        new_ratio = changes["match_ratio"]
        main = _main_requisition(uow, project_id, lock=True)
        if main is not None and main.status != _R.CLOSED and project.seats:
            ratio = new_ratio if new_ratio is not None else config.match_ratio
            target = domain.match_target(main.seats, ratio)
            if target < main.matched:
                minimum = (Decimal(main.matched) / Decimal(main.seats)).quantize(Decimal("0.01"))
                raise BusinessRuleViolation(
                    f"Rule match-ratio-floor: {main.matched} candidates are already matched for this "
                    f"project's {main.seats} seats, so the ratio cannot go below {minimum}; choose a "
                    f"ratio of at least {minimum}.",
                    rule="match-ratio-floor",
                )
            project.match_ratio = new_ratio
            main.ratio, main.target = ratio, target
            _fill(uow, main, project, config, announce_short=False)
        else:
            project.match_ratio = new_ratio
    uow.session.flush()
    return project


def _main_requisition(uow: UnitOfWork, project_id: str, *, lock: bool = False) -> Requisition | None:
    stmt = select(Requisition).where(Requisition.source_ref == f"project.confirmed:{project_id}")
    if lock:
        stmt = stmt.with_for_update()
    return uow.session.scalars(stmt).one_or_none()


# --- matching --------------------------------------------------------------------------------------------


def _bonus_classes(requirement: domain.Requirement) -> list[tuple[Decimal, list[Any]]]:
    """The pool split by the bonus the project gives: (bonus, conditions), best first, for 20 (worked on its
    platform and one of its categories), 10 (one of the two) and 0; one class when the project names
    neither. Within a class ``domain.score`` is ``rank_base`` + a constant, so the matching index is in
    score order there."""
    tests: list[tuple[Decimal, Any]] = []
    if requirement.platform:
        tests.append(
            (
                domain.PLATFORM_BONUS,
                Candidate.platform_tags.contains(f"|{requirement.platform}|", autoescape=True),
            )
        )
    if requirement.categories:
        tests.append(
            (
                domain.CATEGORY_BONUS,
                or_(
                    *(
                        Candidate.category_tags.contains(f"|{c}|", autoescape=True)
                        for c in sorted(requirement.categories)
                    )
                ),
            )
        )
    if not tests:
        return [(Decimal(0), [])]
    # grouped by the bonus they give (platform only and category only are one class): fewer classes, fewer
    # rows to merge
    classes: dict[Decimal, list[Any]] = {}
    for truth in itertools.product((True, False), repeat=len(tests)):
        bonus = sum((b for (b, _), yes in zip(tests, truth, strict=True) if yes), Decimal(0))
        both = and_(*(test if yes else ~test for (_, test), yes in zip(tests, truth, strict=True)))
        classes.setdefault(bonus, []).append(both)
    return [(bonus, [or_(*alternatives)]) for bonus, alternatives in classes.items()]


def ranking_query(
    skill: str, count: int, requirement: domain.Requirement, passed_over: Collection[str] = ()
) -> Select[Any]:
    """The ids and scores of the ``count`` best eligible candidates for a skill slot, best first, not locked.

    Each bonus class is read from ``ix_candidates_matching`` in rank order and cut at ``count``; only those
    few rows (at most three × ``count``) are merged by score. Sorting the whole eligible pool by score
    instead took seconds at a million candidates.
    """
    shift_mask = domain.mask(requirement.shifts, domain.SHIFT_BITS)
    eligible: list[Any] = [
        # the matching index's own predicate, spelt the same so PostgreSQL sees that it applies
        literal_column(MATCHABLE),
        Candidate.skill_mask.op("&")(domain.SKILL_BITS[skill]) != 0,
        Candidate.shift_mask.op("&")(shift_mask) != 0,
        ~(
            select(Match.id)
            .where(
                Match.candidate_id == Candidate.id,
                Match.project_id == requirement.project_id,
                Match.outcome == _O.NOT_ADMITTED,
            )
            .exists()
        ),
    ]
    if passed_over:
        eligible.append(Candidate.id.not_in(sorted(passed_over)))
    base = literal_column(RANK_BASE_SQL)
    branches = [
        select(
            Candidate.id,
            literal_column(f"{RANK_BASE_SQL} + {bonus}", Numeric(6, 2)).label("score"),
            Candidate.basic_score,
            Candidate.experience_months,
            Candidate.phone,
        )
        .where(*eligible, *conditions)
        .order_by(
            base.desc(), Candidate.basic_score.desc(), Candidate.experience_months.desc(), Candidate.phone
        )
        .limit(count)
        for bonus, conditions in _bonus_classes(requirement)
    ]
    if len(branches) == 1:
        return branches[0]
    merged = union_all(*(select(branch.subquery()) for branch in branches)).subquery()
    return (
        select(merged.c.id, merged.c.score)
        .order_by(
            merged.c.score.desc(),
            merged.c.basic_score.desc(),
            merged.c.experience_months.desc(),
            merged.c.phone,
        )
        .limit(count)
    )


def _claim(
    uow: UnitOfWork, skill: str, count: int, requirement: domain.Requirement, taken: set[str]
) -> list[tuple[Candidate, Decimal]]:
    """Lock and return the ``count`` best eligible candidates for a skill slot, none of ``taken``.

    The ranking is read without locks, then its rows are locked with ``SKIP LOCKED``: a concurrent matcher's
    rows are passed over, and the re-check of ``status = 'available'`` after the lock drops rows a
    committed matcher already took. Rows lost that way are made up from the next ones in rank order.
    """
    claimed: list[tuple[Candidate, Decimal]] = []
    passed_over = set(taken)
    while len(claimed) < count:
        wanted = count - len(claimed)
        ranked = [
            (row.id, Decimal(row.score))
            for row in uow.session.execute(ranking_query(skill, wanted, requirement, passed_over))
        ]
        if not ranked:
            break
        stmt = select(Candidate).where(
            Candidate.id.in_([candidate_id for candidate_id, _ in ranked]), literal_column(MATCHABLE)
        )
        if is_postgres(uow.session):
            stmt = stmt.with_for_update(skip_locked=True)
        locked = {candidate.id: candidate for candidate in uow.session.scalars(stmt)}
        claimed += [(locked[cid], value) for cid, value in ranked if cid in locked]
        passed_over.update(cid for cid, _ in ranked)
        if len(ranked) < wanted:
            break  # the pool has no more
    return claimed


def _requirement(project: Project) -> domain.Requirement:
    return domain.Requirement(
        shifts=frozenset(domain.project_shifts(project.hours_start, project.hours_end)),
        platform=project.platform,
        categories=frozenset(project.categories or []),
        project_id=project.project_id,
    )


def _fill(
    uow: UnitOfWork,
    requisition: Requisition,
    project: Project,
    config: RecruitmentSettings,
    *,
    announce_short: bool,
) -> list[Candidate]:
    """Match up to the requisition's remaining quotas; stage ``candidates.matched`` for the new people and
    ``requisition.shortfall`` when the requisition stays short (always on its first pass, afterwards only
    when a pass changed something)."""
    now = uow.now()
    newcomers: list[tuple[Candidate, str, Decimal]] = []
    if requisition.status != _R.CLOSED and project.status != "closed":
        quotas = domain.skill_quotas(project.service_type, requisition.target, config.presale_share)
        done: dict[str, int] = {
            skill: count
            for skill, count in uow.session.execute(
                select(Match.skill, func.count())
                .where(Match.requisition_id == requisition.id)
                .group_by(Match.skill)
            )
        }
        remaining = domain.remaining_quotas(quotas, done)
        budget = max(0, requisition.target - requisition.matched)
        requirement = _requirement(project)
        taken: set[str] = set()
        for skill in sorted(remaining, key=domain.SKILLS.index, reverse=True):
            wanted = min(remaining[skill], budget - len(newcomers))
            if wanted <= 0:
                continue
            for candidate, value in _claim(uow, skill, wanted, requirement, taken):
                taken.add(candidate.id)
                newcomers.append((candidate, skill, value))
    if newcomers:
        # one statement for the whole batch, every skill slot
        uow.session.execute(
            update(Candidate)
            .where(Candidate.id.in_([c.id for c, _, _ in newcomers]))
            .values(status=_S.MATCHED, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        for candidate, _, _ in newcomers:
            set_committed_value(candidate, "status", _S.MATCHED)
        first_rank = requisition.matched + 1
        # the table, not the entity: a plain executemany, without the ORM's per-row bulk bookkeeping
        uow.session.execute(
            insert(Match.__table__),
            [
                {
                    "id": str(uuid.uuid4()),
                    "requisition_id": requisition.id,
                    "candidate_id": candidate.id,
                    "project_id": requisition.project_id,
                    "skill": skill,
                    "score": value,
                    "rank": first_rank + i,
                    "matched_at": now,
                    "outcome": _O.MATCHED,
                }
                for i, (candidate, skill, value) in enumerate(newcomers)
            ],
        )
        requisition.matched += len(newcomers)
        uow.emit(
            "candidates.matched",
            {
                "requisition_id": requisition.id,
                "project_id": requisition.project_id,
                "candidates": [
                    {**c.profile(), "skill": skill, "score": float(value), "rank": first_rank + i}
                    for i, (c, skill, value) in enumerate(newcomers)
                ],
            },
        )
    if requisition.status != _R.CLOSED:
        requisition.status = domain.requisition_status(
            requisition.target, requisition.matched, requisition.due_date, today_shanghai(now)
        )
        if requisition.status == _R.OVERDUE and requisition.overdue_at is None:
            requisition.overdue_at = now
        if requisition.status in domain.OPEN_REQUISITION_STATUSES and (announce_short or newcomers):
            uow.emit(
                "requisition.shortfall",
                {
                    "requisition_id": requisition.id,
                    "project_id": requisition.project_id,
                    "needed": requisition.target,
                    "matched": requisition.matched,
                },
            )
    requisition.updated_at = now
    uow.session.flush()
    uow.session.expire(requisition, ["matches"])
    return [c for c, _, _ in newcomers]


def open_requisition(
    uow: UnitOfWork,
    project: Project,
    *,
    reason: domain.RequisitionReason,
    source_ref: str,
    seats: int,
    ratio: Decimal,
    start: dt.date,
    config: RecruitmentSettings,
    cohort_id: str | None = None,
) -> Requisition | None:
    """A new requisition, matched at once. None when its cause was already handled or the project closed."""
    if project.status == "closed":
        log.info("project %s is closed: no requisition for %s", project.project_id, source_ref)
        return None
    if uow.session.scalars(select(Requisition.id).where(Requisition.source_ref == source_ref)).first():
        return None
    now = uow.now()
    requisition = Requisition(
        id=str(uuid.uuid4()),
        project_id=project.project_id,
        merchant_id=project.merchant_id,
        reason=reason,
        source_ref=source_ref,
        cohort_id=cohort_id,
        seats=seats,
        ratio=ratio,
        target=domain.match_target(seats, ratio),
        matched=0,
        due_date=domain.due_date(start, config.due_workdays, add_workdays),
        status=_R.SHORT,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(requisition)
    uow.session.flush()
    _fill(uow, requisition, project, config, announce_short=True)
    return requisition


def top_up_open_requisitions(
    uow: UnitOfWork, config: RecruitmentSettings, *, project_id: str | None = None
) -> list[tuple[Requisition, int]]:
    """Offer the pool to every short requisition, the oldest due date first."""
    stmt = (
        select(Requisition)
        .where(Requisition.status.in_(list(domain.OPEN_REQUISITION_STATUSES)))
        .order_by(Requisition.due_date, Requisition.created_at, Requisition.id)
        .with_for_update()
    )
    if project_id is not None:
        stmt = stmt.where(Requisition.project_id == project_id)
    out: list[tuple[Requisition, int]] = []
    for requisition in uow.session.scalars(stmt).all():
        project = uow.session.get(Project, requisition.project_id)
        if project is None:
            continue
        added = _fill(uow, requisition, project, config, announce_short=False)
        if added:
            out.append((requisition, len(added)))
    return out


def rematch(uow: UnitOfWork, requisition_id: str, config: RecruitmentSettings) -> tuple[Requisition, int]:
    requisition = queries.get_requisition(uow, requisition_id, lock=True)
    if requisition.status == _R.CLOSED:
        raise BusinessRuleViolation(
            "Rule rematch-open-only: this requisition is closed because its project closed; nothing can be "
            "matched to it.",
            rule="rematch-open-only",
            status=409,
        )
    if requisition.status == _R.FILLED:
        raise BusinessRuleViolation(
            f"Rule rematch-open-only: this requisition already has its {requisition.target} candidates; "
            "rematch tops up short or overdue requisitions only.",
            rule="rematch-open-only",
            status=409,
        )
    project = projections.project_copy(uow, requisition.project_id)
    added = _fill(uow, requisition, project, config, announce_short=False)
    return requisition, len(added)


def flag_overdue(uow: UnitOfWork) -> int:
    """The periodic job: a short requisition past its due date (a Shanghai day) becomes ``overdue``."""
    now = uow.now()
    result = uow.session.execute(
        update(Requisition)
        .where(Requisition.status == _R.SHORT, Requisition.due_date < today_shanghai(now))
        .values(status=_R.OVERDUE, overdue_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    count = int(result.rowcount or 0)
    if count:
        log.warning("%d requisition(s) are past their due date and still short: flagged overdue", count)
    return count


# --- requisitions opened by events (project confirmed or changed, scheduling short of agents) ------------


def project_confirmed(
    uow: UnitOfWork, data: Mapping[str, Any], occurred_at: dt.datetime, config: RecruitmentSettings
) -> Requisition | None:
    """The main requisition: seats × the project's ratio, due a few working days after the confirmation."""
    project = projections.keep_confirmed(uow, data, occurred_at)
    requisition = open_requisition(
        uow,
        project,
        reason=domain.RequisitionReason.PROJECT_CONFIRMED,
        source_ref=f"project.confirmed:{project.project_id}",
        seats=project.seats or 0,
        ratio=project.match_ratio or config.match_ratio,
        start=project.confirmed_on,
        config=config,
    )
    # requisitions opened before we knew what the project needs (reserve/surge events came first)
    top_up_open_requisitions(uow, config, project_id=project.project_id)
    return requisition


def project_updated(uow: UnitOfWork, data: Mapping[str, Any], config: RecruitmentSettings) -> None:
    """New seats move the main requisition's target; every open requisition is offered the pool again."""
    project = projections.keep_updated(uow, data)
    main = _main_requisition(uow, project.project_id, lock=True)
    if main is not None and main.status != _R.CLOSED and data.get("seats") is not None:
        # fewer seats never un-matches anyone: the extra people simply make the requisition filled
        main.seats = data["seats"]
        main.target = domain.match_target(main.seats, main.ratio)
        _fill(uow, main, project, config, announce_short=False)
    uow.session.flush()
    top_up_open_requisitions(uow, config, project_id=project.project_id)


def replacement_requisition(
    uow: UnitOfWork,
    project_id: str,
    agents_needed: int,
    *,
    reason: domain.RequisitionReason,
    source_ref: str,
    config: RecruitmentSettings,
) -> Requisition | None:
    """Scheduling needs ``agents_needed`` more agents: a requisition for that many seats at the project's
    matching ratio (1:3), like any other recruitment request: one missing agent → 3 candidates."""
    project = projections.project_copy(uow, project_id)
    if agents_needed <= 0:
        return None
    return open_requisition(
        uow,
        project,
        reason=reason,
        source_ref=source_ref,
        seats=agents_needed,
        ratio=project.match_ratio or config.match_ratio,
        start=today_shanghai(uow.now()),
        config=config,
    )


def whole_gap_requisition(
    uow: UnitOfWork, data: Mapping[str, Any], event_id: str, config: RecruitmentSettings
) -> Requisition | None:
    """Scheduling states a project's whole gap (``whole_gap``: all-hands after mass attrition): ask for what
    the project's reserve-shortfall requisitions of the last ``WHOLE_GAP_LOOKBACK_DAYS`` days have not
    already asked for — those candidates are still being matched, trained and admitted, and the gap counts
    only agents present — so the departures' own shortfalls and the all-hands' gap are not recruited twice."""
    since = uow.now() - dt.timedelta(days=domain.WHOLE_GAP_LOOKBACK_DAYS)
    pending = (
        uow.session.scalar(
            select(func.coalesce(func.sum(Requisition.seats), 0)).where(
                Requisition.project_id == data["project_id"],
                Requisition.reason == domain.RequisitionReason.RESERVE_SHORTFALL,
                Requisition.status != domain.RequisitionStatus.CLOSED,
                Requisition.created_at >= since,
            )
        )
        or 0
    )
    return replacement_requisition(
        uow,
        data["project_id"],
        int(data["missing"]) - int(pending),
        reason=domain.RequisitionReason.RESERVE_SHORTFALL,
        source_ref=f"reserve.shortfall:{event_id}",
        config=config,
    )


def plan_requisition(
    uow: UnitOfWork, data: Mapping[str, Any], config: RecruitmentSettings
) -> Requisition | None:
    """A published staffing plan is ``gap`` agents short: ask for what the campaign's earlier plans have
    not already asked for and is still being recruited (their open requisitions' seats), so re-planning a
    campaign does not recruit twice for the same shortfall. A re-sent event changes nothing."""
    campaign = data["campaign_id"]
    pending = (
        uow.session.scalar(
            select(func.coalesce(func.sum(Requisition.seats), 0)).where(
                Requisition.project_id == data["project_id"],
                Requisition.reason == domain.RequisitionReason.PLAN,
                Requisition.source_ref.like(f"plan:{campaign}:%"),
                Requisition.source_ref != f"plan:{campaign}:{data['plan_id']}",
                Requisition.status.in_(tuple(domain.OPEN_REQUISITION_STATUSES)),
            )
        )
        or 0
    )
    return replacement_requisition(
        uow,
        data["project_id"],
        int(data["gap"]) - int(pending),
        reason=domain.RequisitionReason.PLAN,
        source_ref=f"plan:{campaign}:{data['plan_id']}",
        config=config,
    )
