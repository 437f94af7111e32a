"""Courseware (课件): the trainer builds it from the merchant's materials, the merchant confirms it.

Any change to the items sends the courseware back to the merchant for a new decision; assessments are
accepted only while it is confirmed (see ``assessments``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from services.training import domain
from services.training.domain import CoursewareStatus
from services.training.models import Cohort, CoursewareItem
from services.training.queries import ITEM_NOT_FOUND, get_cohort, refuse_unless_open
from shared.errors import Conflict, NotFound
from shared.uow import UnitOfWork


def _editable(uow: UnitOfWork, cohort_id: str, *, lock: bool = False) -> Cohort:
    cohort = get_cohort(uow, cohort_id, lock=lock)
    refuse_unless_open(cohort, "changing its courseware")
    return cohort


def check_courseware_editable(uow: UnitOfWork, cohort_id: str) -> None:
    """Refuse before an upload is stored: the same 404/409 that adding the item would give."""
    _editable(uow, cohort_id)


def add_courseware_item(uow: UnitOfWork, cohort_id: str, values: Mapping[str, Any]) -> CoursewareItem:
    """A link or a stored file, tagged with the training topics it covers."""
    cohort = _editable(uow, cohort_id, lock=True)
    item = CoursewareItem(
        id=str(uuid.uuid4()),
        cohort_id=cohort.id,
        kind=values["kind"],
        title=values["title"],
        topics=sorted(set(values["topics"]), key=[t.value for t in domain.Topic].index),
        description=values.get("description"),
        url=values.get("url"),
        file_sha256=values.get("file_sha256"),
        file_name=values.get("file_name"),
        content_type=values.get("content_type"),
        size_bytes=values.get("size_bytes"),
        created_at=uow.now(),
        created_by=uow.actor.sub,
    )
    uow.session.add(item)
    cohort.courseware_status = domain.courseware_after_change(CoursewareStatus(cohort.courseware_status))
    uow.flush()
    return item


def delete_courseware_item(uow: UnitOfWork, cohort_id: str, item_id: str) -> str | None:
    """Remove an item; returns the SHA-256 of a file no item uses any more (the caller deletes the file
    once the transaction has committed: a rolled-back delete must still find it)."""
    session = uow.session
    cohort = _editable(uow, cohort_id, lock=True)
    item = session.get(CoursewareItem, item_id)
    if item is None or item.cohort_id != cohort.id:
        raise NotFound(ITEM_NOT_FOUND)
    sha = item.file_sha256
    session.delete(item)
    cohort.courseware_status = domain.courseware_after_change(CoursewareStatus(cohort.courseware_status))
    uow.flush()
    if sha is None:
        return None
    still_used = session.scalar(
        select(func.count()).select_from(CoursewareItem).where(CoursewareItem.file_sha256 == sha)
    )
    return None if still_used else sha


def decide_courseware(uow: UnitOfWork, cohort_id: str, *, confirm: bool, reason: str | None = None) -> Cohort:
    """The merchant confirms the courseware (课件确认) or rejects it with a reason."""
    cohort = _editable(uow, cohort_id, lock=True)
    if cohort.merchant_id is None:
        raise Conflict(
            "The project's confirmation has not reached training yet, so its merchant is unknown.",
            extra={"rule": "project-confirmed"},
        )
    items = uow.session.scalar(
        select(func.count()).select_from(CoursewareItem).where(CoursewareItem.cohort_id == cohort.id)
    )
    if not items:
        raise Conflict(
            "There is no courseware to decide on yet: the trainer adds items first "
            f"(POST /api/v1/cohorts/{cohort.id}/courseware).",
            extra={"rule": "courseware-items"},
        )
    if confirm and cohort.courseware_status == CoursewareStatus.CONFIRMED:
        raise Conflict(
            f"The courseware was already confirmed on {cohort.courseware_decided_at:%Y-%m-%d}.",
            extra={"rule": "courseware-confirmed"},
        )
    cohort.courseware_status = CoursewareStatus.CONFIRMED if confirm else CoursewareStatus.REJECTED
    cohort.courseware_reason = None if confirm else reason
    cohort.courseware_decided_at = uow.now()
    cohort.courseware_decided_by = uow.actor.sub
    return cohort
