"""The talent pool (人才库): candidates added or changed by hand, and the all-or-nothing CSV/xlsx import.

Whenever people become available, the short requisitions are offered the pool at once (oldest due date
first). Use cases take the caller's unit of work and never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from services.recruitment import domain, queries, requisitions
from services.recruitment.config import RecruitmentSettings
from services.recruitment.csv_import import CandidateInput, ParsedFile
from services.recruitment.models import Candidate
from shared.errors import BusinessRuleViolation, Conflict
from shared.uow import UnitOfWork

_S = domain.CandidateStatus


def _tags(values: Iterable[str]) -> str:
    return "|" + "".join(f"{v}|" for v in values)


def candidate_values(data: CandidateInput | Mapping[str, Any]) -> dict[str, Any]:
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


def create_candidate(uow: UnitOfWork, data: CandidateInput, config: RecruitmentSettings) -> Candidate:
    existing = uow.session.scalars(select(Candidate.id).where(Candidate.phone == data.phone)).first()
    if existing is not None:
        raise Conflict(
            f"A candidate with phone {data.phone} is already in the pool (id {existing}); update that "
            "candidate with PATCH /api/v1/candidates/{id} instead.",
            extra={"candidate_id": existing},
        )
    now = uow.now()
    candidate = Candidate(id=str(uuid.uuid4()), status=_S.AVAILABLE, created_at=now, updated_at=now)
    for key, value in candidate_values(data).items():
        setattr(candidate, key, value)
    uow.session.add(candidate)
    try:
        uow.session.flush()
    except IntegrityError:
        raise Conflict(f"A candidate with phone {data.phone} was added at the same moment.") from None
    requisitions.top_up_open_requisitions(uow, config)
    return candidate


def update_candidate(
    uow: UnitOfWork, candidate_id: str, changes: Mapping[str, Any], config: RecruitmentSettings
) -> Candidate:
    candidate = queries.get_candidate(uow, candidate_id, lock=True)
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
        other = uow.session.scalars(select(Candidate.id).where(Candidate.phone == phone)).first()
        if other is not None:
            raise Conflict(f"Another candidate (id {other}) already has phone {phone}.")
    for key, value in candidate_values(changes).items():
        setattr(candidate, key, value)
    if wanted is not None:
        candidate.status = wanted
    candidate.updated_at = uow.now()
    uow.session.flush()
    if candidate.status == _S.AVAILABLE:
        requisitions.top_up_open_requisitions(uow, config)
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
    uow: UnitOfWork, parsed: ParsedFile, *, dry_run: bool, config: RecruitmentSettings
) -> ImportResult:
    """Write a fully valid file (the caller refused any file with a bad row): known phones update their
    candidate, new phones create one; then short requisitions are topped up from the new people."""
    phones = [c.phone for _, c in parsed.rows]
    existing: dict[str, str] = {}
    for start in range(0, len(phones), 1000):
        chunk = phones[start : start + 1000]
        for phone, candidate_id in uow.session.execute(
            select(Candidate.phone, Candidate.id).where(Candidate.phone.in_(chunk))
        ):
            existing[phone] = candidate_id
    created = [c for _, c in parsed.rows if c.phone not in existing]
    updated = [c for _, c in parsed.rows if c.phone in existing]
    if dry_run:
        return ImportResult(True, len(parsed.rows), len(created), len(updated), [])
    now = uow.now()
    if created:
        uow.session.execute(
            insert(Candidate),
            [
                {
                    "id": str(uuid.uuid4()),
                    "status": _S.AVAILABLE,
                    "created_at": now,
                    "updated_at": now,
                    **candidate_values(c),
                }
                for c in created
            ],
        )
    if updated:
        uow.session.execute(
            update(Candidate),
            [{"id": existing[c.phone], "updated_at": now, **candidate_values(c)} for c in updated],
        )
    topped = requisitions.top_up_open_requisitions(uow, config)
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
