"""Recruitment use cases: load, apply the domain rules, save, stage events — in the caller's transaction.

Views commit after calling these; event handlers run inside the consumer's inbox transaction and never
commit. Matching runs in the database (``_claim``): the eligibility filter and the ranking score of
``domain`` as SQL, with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so that two requisitions matched at the
same moment never take the same person.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, insert, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from services.recruitment import domain
from services.recruitment.config import RecruitmentSettings
from services.recruitment.csv_import import CandidateInput, ParsedFile
from services.recruitment.models import Candidate, Match, Project, Requisition
from services.recruitment.queries import get_candidate, get_requisition
from shared.db import is_postgres, utcnow
from shared.errors import BusinessRuleViolation, Conflict
from shared.events.outbox import add_event
from shared.workdays import SHANGHAI, add_workdays, today_shanghai

log = logging.getLogger(__name__)

_S = domain.CandidateStatus
_R = domain.RequisitionStatus
_O = domain.MatchOutcome


# --- the project read model ------------------------------------------------------------------------------


def ensure_project(session: Session, project_id: str, merchant_id: str | None = None) -> Project:
    """The project's row, created ``pending`` when this is the first we hear of it, locked on PostgreSQL so
    that the events of one project are applied one at a time."""
    dialect = session.get_bind().dialect.name
    values = {"project_id": project_id, "status": "pending", "categories": [], "updated_at": utcnow()}
    if dialect == "postgresql":
        session.execute(postgresql.insert(Project).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite.insert(Project).values(**values).on_conflict_do_nothing())
    project = session.scalars(
        select(Project)
        .where(Project.project_id == project_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if merchant_id and not project.merchant_id:
        project.merchant_id = merchant_id
    return project


def update_project_settings(
    session: Session, project_id: str, changes: Mapping[str, Any], config: RecruitmentSettings
) -> Project:
    """Per-project matching settings (ratio override, platform, categories); the main requisition follows."""
    project = ensure_project(session, project_id)
    if "platform" in changes:
        project.platform = changes["platform"]
    if "categories" in changes:
        project.categories = domain.unique(changes["categories"] or [])
    if "match_ratio" in changes:
        new_ratio = changes["match_ratio"]
        main = _main_requisition(session, project_id, lock=True)
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
            _fill(session, main, project, config, today_shanghai(), announce_short=False)
        else:
            project.match_ratio = new_ratio
    session.flush()
    return project


def _main_requisition(session: Session, project_id: str, *, lock: bool = False) -> Requisition | None:
    stmt = select(Requisition).where(Requisition.source_ref == f"project.confirmed:{project_id}")
    if lock:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


# --- the talent pool -------------------------------------------------------------------------------------


def _tags(values: Iterable[str]) -> str:
    return "|" + "".join(f"{v}|" for v in values)


def _candidate_values(data: CandidateInput | Mapping[str, Any]) -> dict[str, Any]:
    """Column values for a candidate's profile fields (from a full input or a partial patch)."""
    src: Mapping[str, Any] = data.__dict__ if isinstance(data, CandidateInput) else data
    out: dict[str, Any] = {}
    for key, value in src.items():
        if key == "skills":
            out["skill_mask"] = domain.mask(value, domain.SKILL_BITS)
        elif key == "shifts_available":
            out["shift_mask"] = domain.mask(value, domain.SHIFT_BITS)
        elif key == "categories":
            out["categories"] = list(value or [])
            out["category_tags"] = _tags(value or [])
        elif key == "platforms":
            out["platforms"] = list(value or [])
            out["platform_tags"] = _tags(value or [])
        elif key == "status":
            continue
        else:
            out[key] = value
    return out


def create_candidate(session: Session, data: CandidateInput, config: RecruitmentSettings) -> Candidate:
    existing = session.scalars(select(Candidate.id).where(Candidate.phone == data.phone)).first()
    if existing is not None:
        raise Conflict(
            f"A candidate with phone {data.phone} is already in the pool (id {existing}); update that "
            "candidate with PATCH /api/v1/candidates/{id} instead.",
            extra={"candidate_id": existing},
        )
    now = utcnow()
    candidate = Candidate(id=str(uuid.uuid4()), status=_S.AVAILABLE, created_at=now, updated_at=now)
    for key, value in _candidate_values(data).items():
        setattr(candidate, key, value)
    session.add(candidate)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"A candidate with phone {data.phone} was added at the same moment.") from None
    top_up_open_requisitions(session, config)
    return candidate


def update_candidate(
    session: Session, candidate_id: str, changes: Mapping[str, Any], config: RecruitmentSettings
) -> Candidate:
    candidate = get_candidate(session, candidate_id, lock=True)
    wanted = changes.get("status")
    if wanted is not None and not domain.can_change_status_by_hand(candidate.status, wanted):
        raise BusinessRuleViolation(
            f"Rule candidate-status: a {candidate.status} candidate cannot be set to {wanted} by hand; "
            "only available ↔ inactive is manual. A matched or in-training candidate is released when "
            "training completes or the project closes; an assigned one when the project closes.",
            rule="candidate-status",
            status=409,
        )
    phone = changes.get("phone")
    if phone is not None and phone != candidate.phone:
        other = session.scalars(select(Candidate.id).where(Candidate.phone == phone)).first()
        if other is not None:
            raise Conflict(f"Another candidate (id {other}) already has phone {phone}.")
    for key, value in _candidate_values(changes).items():
        setattr(candidate, key, value)
    if wanted is not None:
        candidate.status = wanted
    candidate.updated_at = utcnow()
    session.flush()
    if candidate.status == _S.AVAILABLE:
        top_up_open_requisitions(session, config)
    return candidate


# --- CSV import ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    dry_run: bool
    rows: int
    created: int
    updated: int
    topped_up: list[dict[str, Any]]


def import_candidates(
    session: Session, parsed: ParsedFile, *, dry_run: bool, config: RecruitmentSettings
) -> ImportResult:
    """Write a fully valid file (the caller refused any file with a bad row): known phones update their
    candidate, new phones create one; then short requisitions are topped up from the new people."""
    phones = [c.phone for _, c in parsed.rows]
    existing: dict[str, str] = {}
    for start in range(0, len(phones), 1000):
        chunk = phones[start : start + 1000]
        for phone, candidate_id in session.execute(
            select(Candidate.phone, Candidate.id).where(Candidate.phone.in_(chunk))
        ):
            existing[phone] = candidate_id
    created = [c for _, c in parsed.rows if c.phone not in existing]
    updated = [c for _, c in parsed.rows if c.phone in existing]
    if dry_run:
        return ImportResult(True, len(parsed.rows), len(created), len(updated), [])
    now = utcnow()
    if created:
        session.execute(
            insert(Candidate),
            [
                {
                    "id": str(uuid.uuid4()),
                    "status": _S.AVAILABLE,
                    "created_at": now,
                    "updated_at": now,
                    **_candidate_values(c),
                }
                for c in created
            ],
        )
    if updated:
        session.execute(
            update(Candidate),
            [{"id": existing[c.phone], "updated_at": now, **_candidate_values(c)} for c in updated],
        )
    topped = top_up_open_requisitions(session, config)
    return ImportResult(
        False,
        len(parsed.rows),
        len(created),
        len(updated),
        [
            {"requisition_id": r.id, "project_id": r.project_id, "newly_matched": n, "status": r.status}
            for r, n in topped
        ],
    )


# --- matching --------------------------------------------------------------------------------------------


def _score_expression(requirement: domain.Requirement) -> Any:
    """``domain.score`` as SQL (the same weights; a test checks that both rank alike)."""
    platform_bonus: Any = literal(Decimal(0))
    if requirement.platform:
        platform_bonus = case(
            (
                Candidate.platform_tags.contains(f"|{requirement.platform}|", autoescape=True),
                domain.PLATFORM_BONUS,
            ),
            else_=Decimal(0),
        )
    category_bonus: Any = literal(Decimal(0))
    if requirement.categories:
        category_bonus = case(
            (
                or_(
                    *(
                        Candidate.category_tags.contains(f"|{c}|", autoescape=True)
                        for c in sorted(requirement.categories)
                    )
                ),
                domain.CATEGORY_BONUS,
            ),
            else_=Decimal(0),
        )
    cap = domain.EXPERIENCE_CAP_MONTHS
    experience = case(
        (Candidate.experience_months >= cap, domain.EXPERIENCE_POINTS_PER_MONTH * cap),
        (Candidate.experience_months <= 0, Decimal(0)),
        else_=Candidate.experience_months * domain.EXPERIENCE_POINTS_PER_MONTH,
    )
    return Candidate.basic_score + platform_bonus + category_bonus + experience


def _claim(
    session: Session, skill: str, count: int, requirement: domain.Requirement
) -> list[tuple[Candidate, Decimal]]:
    """Lock and return the ``count`` best eligible candidates for a skill slot.

    ``SKIP LOCKED`` makes a concurrent matcher pass over rows another transaction is taking, and its
    re-check of ``status = 'available'`` after the lock drops rows a committed matcher already took.
    """
    score = _score_expression(requirement).label("score")
    shift_mask = domain.mask(requirement.shifts, domain.SHIFT_BITS)
    stmt = (
        select(Candidate, score)
        .where(
            Candidate.status == _S.AVAILABLE,
            Candidate.basic_training_passed.is_(True),
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
        )
        .order_by(
            score.desc(), Candidate.basic_score.desc(), Candidate.experience_months.desc(), Candidate.phone
        )
        .limit(count)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True, of=Candidate)
    return [(candidate, Decimal(value)) for candidate, value in session.execute(stmt)]


def _requirement(project: Project) -> domain.Requirement:
    return domain.Requirement(
        shifts=frozenset(domain.project_shifts(project.hours_start, project.hours_end)),
        platform=project.platform,
        categories=frozenset(project.categories or []),
        project_id=project.project_id,
    )


def _fill(
    session: Session,
    requisition: Requisition,
    project: Project,
    config: RecruitmentSettings,
    today: dt.date,
    *,
    announce_short: bool,
) -> list[Candidate]:
    """Match up to the requisition's remaining quotas; stage ``candidates.matched`` for the new people and
    ``requisition.shortfall`` when the requisition stays short (always on its first pass, afterwards only
    when a pass changed something)."""
    newcomers: list[tuple[Candidate, str, Decimal]] = []
    if requisition.status != _R.CLOSED and project.status != "closed":
        quotas = domain.skill_quotas(project.service_type, requisition.target, config.presale_share)
        done: dict[str, int] = {
            skill: count
            for skill, count in session.execute(
                select(Match.skill, func.count())
                .where(Match.requisition_id == requisition.id)
                .group_by(Match.skill)
            )
        }
        remaining = domain.remaining_quotas(quotas, done)
        budget = max(0, requisition.target - requisition.matched)
        requirement = _requirement(project)
        for skill in sorted(remaining, key=domain.SKILLS.index, reverse=True):
            wanted = min(remaining[skill], budget - len(newcomers))
            if wanted <= 0:
                continue
            claimed = _claim(session, skill, wanted, requirement)
            if not claimed:
                continue
            ids = [c.id for c, _ in claimed]
            session.execute(
                update(Candidate)
                .where(Candidate.id.in_(ids))
                .values(status=_S.MATCHED, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            for candidate, value in claimed:
                set_committed_value(candidate, "status", _S.MATCHED)
                newcomers.append((candidate, skill, value))
    if newcomers:
        now = utcnow()
        first_rank = requisition.matched + 1
        session.execute(
            insert(Match),
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
        add_event(
            session,
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
            requisition.target, requisition.matched, requisition.due_date, today
        )
        if requisition.status == _R.OVERDUE and requisition.overdue_at is None:
            requisition.overdue_at = utcnow()
        if requisition.status in domain.OPEN_REQUISITION_STATUSES and (announce_short or newcomers):
            add_event(
                session,
                "requisition.shortfall",
                {
                    "requisition_id": requisition.id,
                    "project_id": requisition.project_id,
                    "needed": requisition.target,
                    "matched": requisition.matched,
                },
            )
    requisition.updated_at = utcnow()
    session.flush()
    session.expire(requisition, ["matches"])
    return [c for c, _, _ in newcomers]


def open_requisition(
    session: Session,
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
    if session.scalars(select(Requisition.id).where(Requisition.source_ref == source_ref)).first():
        return None
    now = utcnow()
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
    session.add(requisition)
    session.flush()
    _fill(session, requisition, project, config, today_shanghai(), announce_short=True)
    return requisition


def top_up_open_requisitions(
    session: Session, config: RecruitmentSettings, *, project_id: str | None = None
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
    today = today_shanghai()
    out: list[tuple[Requisition, int]] = []
    for requisition in session.scalars(stmt).all():
        project = session.get(Project, requisition.project_id)
        if project is None:
            continue
        added = _fill(session, requisition, project, config, today, announce_short=False)
        if added:
            out.append((requisition, len(added)))
    return out


def rematch(session: Session, requisition_id: str, config: RecruitmentSettings) -> tuple[Requisition, int]:
    requisition = get_requisition(session, requisition_id, lock=True)
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
    project = ensure_project(session, requisition.project_id)
    added = _fill(session, requisition, project, config, today_shanghai(), announce_short=False)
    return requisition, len(added)


def flag_overdue(session: Session, today: dt.date | None = None) -> int:
    """The periodic job: a short requisition past its due date becomes ``overdue``."""
    today = today or today_shanghai()
    result = session.execute(
        update(Requisition)
        .where(Requisition.status == _R.SHORT, Requisition.due_date < today)
        .values(status=_R.OVERDUE, overdue_at=utcnow(), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    count = int(result.rowcount or 0)
    if count:
        log.warning("%d requisition(s) are past their due date and still short: flagged overdue", count)
    return count


# --- the funnel (event use cases) ------------------------------------------------------------------------


def _day_in_shanghai(value: dt.datetime | str | None) -> dt.date:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value is None:
        return today_shanghai()
    return value.astimezone(SHANGHAI).date()


def project_confirmed(
    session: Session, data: Mapping[str, Any], occurred_at: dt.datetime, config: RecruitmentSettings
) -> Requisition | None:
    project = ensure_project(session, data["project_id"], data.get("merchant_id"))
    project.merchant_id = data["merchant_id"]
    _apply_project_fields(project, data)
    merchant = data.get("merchant") or {}
    categories = merchant.get("categories") or ([merchant["category"]] if merchant.get("category") else [])
    if categories and not project.categories:
        project.categories = _safe_tags(categories, domain.normalize_category)
    if project.status != "closed":
        project.status = "confirmed"
    project.confirmed_on = _day_in_shanghai(data.get("confirmed_at") or occurred_at)
    project.updated_at = utcnow()
    session.flush()
    requisition = open_requisition(
        session,
        project,
        reason=domain.RequisitionReason.PROJECT_CONFIRMED,
        source_ref=f"project.confirmed:{project.project_id}",
        seats=project.seats or 0,
        ratio=project.match_ratio or config.match_ratio,
        start=project.confirmed_on,
        config=config,
    )
    # requisitions opened before we knew what the project needs (reserve/surge events came first)
    top_up_open_requisitions(session, config, project_id=project.project_id)
    return requisition


def _safe_tags(values: Iterable[Any], normalize: Any) -> list[str]:
    out = []
    for value in values:
        try:
            out.append(normalize(str(value)))
        except domain.InvalidValue:
            log.info("ignoring the project tag %r", value)
    return domain.unique(out)


def _apply_project_fields(project: Project, data: Mapping[str, Any]) -> None:
    if data.get("seats") is not None:
        project.seats = data["seats"]
    if data.get("service_type") is not None:
        project.service_type = data["service_type"]
    hours = data.get("service_hours")
    if hours:
        project.hours_start, project.hours_end = hours["start"], hours["end"]
    if data.get("go_live_date") is not None:
        project.go_live_date = data["go_live_date"]
    if data.get("platform") and not project.platform:
        platforms = _safe_tags([data["platform"]], domain.normalize_platform)
        project.platform = platforms[0] if platforms else None


def project_updated(session: Session, data: Mapping[str, Any], config: RecruitmentSettings) -> None:
    project = ensure_project(session, data["project_id"], data.get("merchant_id"))
    _apply_project_fields(project, data)
    project.updated_at = utcnow()
    main = _main_requisition(session, project.project_id, lock=True)
    if main is not None and main.status != _R.CLOSED and data.get("seats") is not None:
        # fewer seats never un-matches anyone: the extra people simply make the requisition filled
        main.seats = data["seats"]
        main.target = domain.match_target(main.seats, main.ratio)
        _fill(session, main, project, config, today_shanghai(), announce_short=False)
    session.flush()
    top_up_open_requisitions(session, config, project_id=project.project_id)


def project_closed(session: Session, data: Mapping[str, Any], config: RecruitmentSettings) -> int:
    """Close the project's requisitions and release everyone it still holds; returns how many."""
    project = ensure_project(session, data["project_id"], data.get("merchant_id"))
    now = utcnow()
    project.status = "closed"
    project.closed_at = project.closed_at or now
    session.execute(
        update(Requisition)
        .where(Requisition.project_id == project.project_id, Requisition.status != _R.CLOSED)
        .values(status=_R.CLOSED, closed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    held = select(Match.candidate_id).where(
        Match.project_id == project.project_id,
        Match.outcome.in_([*domain.PENDING_OUTCOMES, _O.ADMITTED]),
    )
    result = session.execute(
        update(Candidate)
        .where(
            Candidate.id.in_(held),
            Candidate.status.in_([_S.MATCHED, _S.IN_TRAINING, _S.ASSIGNED]),
        )
        .values(status=_S.AVAILABLE, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Match)
        .where(Match.project_id == project.project_id, Match.outcome.in_(list(domain.PENDING_OUTCOMES)))
        .values(outcome=_O.RELEASED, outcome_at=now)
        .execution_options(synchronize_session=False)
    )
    released = int(result.rowcount or 0)
    log.info("project %s closed: %d candidate(s) back in the pool", project.project_id, released)
    if released:
        top_up_open_requisitions(session, config)
    return released


def _latest_match(session: Session, candidate_id: str, project_id: str) -> Match | None:
    return session.scalars(
        select(Match)
        .where(Match.candidate_id == candidate_id, Match.project_id == project_id)
        .order_by(Match.matched_at.desc(), Match.rank.desc())
        .limit(1)
        .with_for_update()
    ).first()


def mark_in_training(session: Session, project_id: str, cohort_id: str, before: dt.datetime) -> int:
    """Training reporting on a cohort means the people matched for the project before that report are in
    it (training sends no enrolment event): matched → in_training."""
    pending = and_(
        Match.project_id == project_id,
        Match.outcome == _O.MATCHED,
        Match.matched_at <= before,
    )
    ids = list(session.scalars(select(Match.candidate_id).where(pending)))
    if not ids:
        return 0
    now = utcnow()
    session.execute(
        update(Match)
        .where(pending)
        .values(outcome=_O.IN_TRAINING, outcome_at=now, cohort_id=cohort_id)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Candidate)
        .where(Candidate.id.in_(ids), Candidate.status == _S.MATCHED)
        .values(status=_S.IN_TRAINING, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return len(ids)


def agent_admitted(session: Session, data: Mapping[str, Any], occurred_at: dt.datetime) -> None:
    project = ensure_project(session, data["project_id"], data.get("merchant_id"))
    mark_in_training(session, project.project_id, data["cohort_id"], occurred_at)
    candidate = session.scalars(
        select(Candidate).where(Candidate.id == data["candidate_id"]).with_for_update()
    ).one_or_none()
    if candidate is None:
        log.warning("agent.admitted for candidate %s, who is not in our pool: ignored", data["candidate_id"])
        return
    now = utcnow()
    match = _latest_match(session, candidate.id, project.project_id)
    if match is not None:
        match.outcome, match.outcome_at, match.cohort_id = _O.ADMITTED, now, data["cohort_id"]
    if project.status == "closed":
        return  # admitted to a project that has already ended: the person stays free
    if candidate.status in (_S.MATCHED, _S.IN_TRAINING, _S.AVAILABLE):
        candidate.status = _S.ASSIGNED
        candidate.updated_at = now
    else:
        log.warning(
            "agent.admitted for candidate %s whose status is %s: left as is", candidate.id, candidate.status
        )


def cohort_completed(
    session: Session, data: Mapping[str, Any], occurred_at: dt.datetime, config: RecruitmentSettings
) -> int:
    """Everyone of the cohort not admitted goes back to the pool (history: not_admitted)."""
    project = ensure_project(session, data["project_id"], data.get("merchant_id"))
    cohort_id = data["cohort_id"]
    # Only people matched before the cohort ended were in it: replacements asked for by the same
    # completion's training.shortfall (even if that event arrived first) are matched later and wait for
    # the follow-up cohort.
    judged = and_(
        Match.project_id == project.project_id,
        Match.outcome.in_(list(domain.PENDING_OUTCOMES)),
        Match.matched_at <= occurred_at,
        or_(Match.cohort_id.is_(None), Match.cohort_id == cohort_id),
    )
    ids = list(session.scalars(select(Match.candidate_id).where(judged)))
    if not ids:
        return 0
    now = utcnow()
    session.execute(
        update(Match)
        .where(judged)
        .values(outcome=_O.NOT_ADMITTED, outcome_at=now, cohort_id=cohort_id)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Candidate)
        .where(Candidate.id.in_(ids), Candidate.status.in_([_S.MATCHED, _S.IN_TRAINING]))
        .values(status=_S.AVAILABLE, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    top_up_open_requisitions(session, config)
    return len(ids)


def training_shortfall(
    session: Session,
    data: Mapping[str, Any],
    event_id: str,
    occurred_at: dt.datetime,
    config: RecruitmentSettings,
) -> Requisition | None:
    """Training admitted fewer than it needs: match ``missing`` more people for the project."""
    project = ensure_project(session, data["project_id"])
    mark_in_training(session, project.project_id, data["cohort_id"], occurred_at)
    return open_requisition(
        session,
        project,
        reason=domain.RequisitionReason.TRAINING_SHORTFALL,
        source_ref=f"training.shortfall:{event_id}",
        seats=data["missing"],
        ratio=Decimal(1),
        start=today_shanghai(),
        config=config,
        cohort_id=data["cohort_id"],
    )


def replacement_requisition(
    session: Session,
    project_id: str,
    agents_needed: int,
    *,
    reason: domain.RequisitionReason,
    source_ref: str,
    config: RecruitmentSettings,
) -> Requisition | None:
    """Scheduling needs ``agents_needed`` more agents: a requisition for that many seats at the project's
    matching ratio (1:3), like any other recruitment request: one missing agent → 3 candidates."""
    project = ensure_project(session, project_id)
    if agents_needed <= 0:
        return None
    return open_requisition(
        session,
        project,
        reason=reason,
        source_ref=source_ref,
        seats=agents_needed,
        ratio=project.match_ratio or config.match_ratio,
        start=today_shanghai(),
        config=config,
    )


def profiles(candidates: Sequence[Candidate]) -> list[dict[str, Any]]:
    return [c.profile() for c in candidates]
