"""The FAQ sheet (常见问题咨询&话术): the standard questions' answers or not-applicable marks, the shop's own
questions, and how far the sheet is from what confirmation needs."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from services.onboarding import domain
from services.onboarding.config import OnboardingSettings
from services.onboarding.domain import Status
from services.onboarding.models import FaqEntry, Project
from services.onboarding.records import IfMatch, check_if_match, faq_etag, load_project, record
from shared.errors import Conflict, PreconditionFailed
from shared.uow import UnitOfWork


def faq_entries(session: Session, project: Project) -> list[FaqEntry]:
    return list(
        session.scalars(
            select(FaqEntry).where(FaqEntry.project_id == project.id).order_by(FaqEntry.position)
        ).all()
    )


def faq_answers(session: Session, project: Project) -> dict[str, str | None]:
    return {e.key: e.answer for e in faq_entries(session, project) if e.key is not None}


def _progress(entries: Iterable[FaqEntry], settings: OnboardingSettings) -> domain.FaqProgress:
    entries = list(entries)
    standard = {
        e.key: domain.StandardState(e.answer, bool(e.not_applicable)) for e in entries if e.key is not None
    }
    own = [e.answer for e in entries if e.key is None]
    return domain.faq_progress(standard, own, settings.min_own_faq_questions)


def faq_progress(
    session: Session, project: Project, settings: OnboardingSettings | None = None
) -> domain.FaqProgress:
    return _progress(faq_entries(session, project), settings or OnboardingSettings())


def faq_status(progress: domain.FaqProgress) -> dict[str, Any]:
    return {
        "complete": progress.complete,
        "unanswered": list(progress.unanswered),
        "not_applicable": list(progress.not_applicable),
        "own_questions": progress.own_questions,
        "min_own_questions": progress.min_own_questions,
        "problems": progress.problems(),
    }


def faq_view(
    session: Session, project: Project, settings: OnboardingSettings | None = None
) -> dict[str, Any]:
    """The sheet as ``FaqOut`` shows it."""
    entries = faq_entries(session, project)
    by_key = {e.key: e for e in entries if e.key is not None}
    progress = _progress(entries, settings or OnboardingSettings())

    def standard(q: domain.StandardQuestion) -> dict[str, Any]:
        entry = by_key.get(q.key)
        answer = entry.answer if entry else None
        not_applicable = bool(entry and entry.not_applicable)
        return {
            "key": q.key,
            "question": q.question,
            "label": q.label,
            "group": q.group,
            "hint": q.hint,
            "answer": answer,
            "answered": domain.is_answered(answer),
            "not_applicable": not_applicable,
            "not_applicable_by": entry.decided_by if not_applicable and entry else None,
            "not_applicable_by_role": entry.decided_by_role if not_applicable and entry else None,
            "not_applicable_at": entry.decided_at if not_applicable and entry else None,
        }

    return {
        "project_id": project.id,
        "version": project.faq_version,
        **faq_status(progress),
        "standard": [standard(q) for q in domain.STANDARD_QUESTIONS],
        "custom": [{"question": e.question, "answer": e.answer} for e in entries if e.key is None],
    }


def faq_items(session: Session, project: Project) -> list[dict[str, Any]]:
    """The sheet as one list, standard questions first (the shape of the event and the exports)."""
    sheet = faq_view(session, project)
    return [
        {
            "key": q["key"],
            "question": q["question"],
            "answer": q["answer"],
            "standard": True,
            "not_applicable": q["not_applicable"],
        }
        for q in sheet["standard"]
    ] + [
        {
            "key": None,
            "question": c["question"],
            "answer": c["answer"],
            "standard": False,
            "not_applicable": False,
        }
        for c in sheet["custom"]
    ]


def put_faq(uow: UnitOfWork, project_id: str, data: Mapping[str, Any], if_match: IfMatch) -> Project:
    """Replace the sheet's answers; a standard question left out is unanswered."""
    session, actor = uow.session, uow.actor
    project = load_project(uow, project_id)
    check_if_match(faq_etag(project), if_match, required=False, what="FAQ sheet")
    if Status(project.status) not in domain.OPEN_STATUSES:
        raise Conflict(
            f"The FAQ sheet of a {project.status} project is settled and can no longer be changed; it can be "
            "edited while the project is draft, submitted or returned.",
            extra={"current_status": project.status},
        )
    entries = faq_entries(session, project)
    before = {e.key: e for e in entries if e.key is not None}
    before_custom = sum(1 for e in entries if e.key is None)
    new_answers = {item["key"]: item.get("answer") for item in data.get("standard", [])}
    new_na = {item["key"] for item in data.get("standard", []) if item.get("not_applicable")}
    was_na = {k for k, e in before.items() if e.not_applicable}
    changed = sorted(
        k
        for k in domain.STANDARD_KEYS
        if ((before[k].answer if k in before else None) or None) != (new_answers.get(k) or None)
    )
    # who decided a question does not apply, and when, is kept while the mark stays
    decisions = {k: (e.decided_by, e.decided_by_role, e.decided_at) for k, e in before.items() if k in new_na}
    now = uow.now()

    session.execute(delete(FaqEntry).where(FaqEntry.project_id == project.id))
    position = 0
    for question in domain.STANDARD_QUESTIONS:
        key = question.key
        if key in new_na:
            by, role, at = decisions[key] if key in was_na else (actor.sub, actor.role, now)
            session.add(
                FaqEntry(
                    id=str(uuid.uuid4()),
                    project_id=project.id,
                    key=key,
                    answer=None,
                    position=position,
                    not_applicable=True,
                    decided_by=by,
                    decided_by_role=role,
                    decided_at=at,
                )
            )
        elif new_answers.get(key):
            session.add(
                FaqEntry(
                    id=str(uuid.uuid4()),
                    project_id=project.id,
                    key=key,
                    answer=new_answers[key],
                    position=position,
                )
            )
        position += 1
    for item in data.get("custom", []):
        session.add(
            FaqEntry(
                id=str(uuid.uuid4()),
                project_id=project.id,
                key=None,
                question=item["question"],
                answer=item.get("answer"),
                position=position,
            )
        )
        position += 1
    # bump the sheet's own version, compare-and-set: a concurrent PUT that got in first makes this a 412
    bumped = session.execute(
        update(Project)
        .where(Project.id == project.id, Project.faq_version == project.faq_version)
        .values(faq_version=project.faq_version + 1)
        .execution_options(synchronize_session=False)
    )
    if bumped.rowcount != 1:
        raise PreconditionFailed(
            "The FAQ sheet was changed by someone else at the same moment; GET it and retry."
        )
    record(
        uow,
        project,
        "faq_updated",
        changes={
            "answers_changed": changed,
            "not_applicable": {"marked": sorted(new_na - was_na), "cleared": sorted(was_na - new_na)},
            "custom_questions": {"from": before_custom, "to": len(data.get("custom", []))},
        },
    )
    uow.flush()
    session.refresh(project)  # the version was bumped in SQL, behind the ORM's back
    return project
