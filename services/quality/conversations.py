"""Conversations in, checked by the machine, sampled for people (人机协作质检).

Every imported conversation goes through the machine check (``machine_qa``): response times against the
order's targets, greeting and closing, forbidden words, the customer's sentiment (an offline Chinese model)
and complaint-intent words, unanswered messages. A conversation with a finding needs a person's review.
People also review a weekly sample of the rest, per agent and stratified by outcome, and on request every
lost inquiry (询单流失) of a week.

An import is all or nothing. Conversations are matched by the platform's id: one imported again is
updated in place (its reviews stay linked). Re-importing a day replaces it: that day's conversations
missing from the new batch are deleted, except those already reviewed (kept, and counted).
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select, tuple_, update

from services.quality import domain
from services.quality.config import QualitySettings
from services.quality.machine_qa import Keywords, MachineVerdict, Message, check_conversation
from services.quality.models import Conversation, Import, Project, Sample
from services.quality.platform_data import project_problems
from shared.bulk import chunks
from shared.errors import NotFound, ValidationFailed
from shared.uow import UnitOfWork
from shared.workdays import SHANGHAI, today_shanghai


@functools.lru_cache(maxsize=4)
def keywords_for(settings: QualitySettings) -> Keywords:
    return Keywords.load(settings.keywords_file)


def sentiment_for(settings: QualitySettings) -> Callable[[str], float] | None:
    if not settings.sentiment_model:
        return None
    from services.quality.sentiment import default_model

    return default_model().score


def machine_check(
    messages: Sequence[Message], project: Project | None, settings: QualitySettings
) -> MachineVerdict:
    """The machine's verdict on one conversation against its project's targets."""
    return check_conversation(
        messages,
        keywords=keywords_for(settings),
        first_response_target=_seconds(project.first_response_seconds if project else None),
        avg_response_target=_seconds(project.avg_response_seconds if project else None),
        sentiment=sentiment_for(settings),
        negative_threshold=settings.negative_threshold,
    )


def _seconds(value: Any) -> float | None:
    return None if value is None else float(value)


def _messages(raw: Sequence[Mapping[str, Any]]) -> list[Message]:
    return sorted((Message(at=m["at"], sender=m["sender"], text=m["text"]) for m in raw), key=lambda m: m.at)


def import_conversations(
    uow: UnitOfWork,
    items: Sequence[Mapping[str, Any]],
    labels: Sequence[str],
    settings: QualitySettings,
    *,
    source: str,
    earlier_errors: Mapping[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Store and check a batch of one project's conversations, all or nothing."""
    errors: dict[str, list[str]] = defaultdict(list)
    for name, messages in (earlier_errors or {}).items():
        errors[name].extend(messages)
    now = uow.now()
    today = today_shanghai(now)
    if len({i["project_id"] for i in items}) > 1:
        errors["_schema"].append("a batch holds one project's conversations (one shop's export); split it")
    first_seen: dict[tuple[str, str], str] = {}
    for label, item in zip(labels, items, strict=True):
        key = (item["project_id"], item["external_id"])
        if key in first_seen:
            errors[label or "_schema"].append(f"conversation {item['external_id']!r} appears twice")
        else:
            first_seen[key] = label
        started = min(m["at"] for m in item["messages"])
        if started.astimezone(SHANGHAI).date() > today:
            errors[f"{label}.messages" if label else "messages"].append(
                "the conversation starts in the future"
            )
    projects, problems = project_problems(uow, items, labels)
    for name, messages in problems.items():
        errors[name].extend(messages)
    if errors:
        raise ValidationFailed(
            dict(errors),
            detail=f"{len(errors)} problem(s) in the conversations; nothing was stored. Fix them and import "
            "the whole batch again.",
        )
    session = uow.session
    project_id = items[0]["project_id"]
    project = projects[project_id]
    batch = Import(
        id=str(uuid.uuid4()),
        project_id=project_id,
        kind="conversations",
        source=source,
        rows=len(items),
        dates=[],
        created_at=now,
        created_by=uow.actor.label[:100],
    )
    rows: list[dict[str, Any]] = []
    for item in items:
        messages = _messages(item["messages"])
        verdict = machine_check(messages, project, settings)
        started = messages[0].at.astimezone(dt.UTC)
        rows.append(
            {
                "project_id": project_id,
                "external_id": item["external_id"],
                "agent_id": item["agent_id"],
                "customer": item.get("customer"),
                "date": started.astimezone(SHANGHAI).date(),
                "started_at": started,
                "outcome": item.get("outcome") or "none",
                "messages": [
                    {"at": m.at.astimezone(dt.UTC).isoformat(), "sender": m.sender, "text": m.text}
                    for m in messages
                ],
                "message_count": len(messages),
                "first_response_seconds": verdict.times.first_response_seconds,
                "avg_response_seconds": verdict.times.avg_response_seconds,
                "unanswered": verdict.times.unanswered,
                "sentiment": verdict.sentiment,
                "flags": list(verdict.flags),
                "findings": [{"flag": f.flag, "detail": f.detail} for f in verdict.findings],
                "needs_review": verdict.needs_review,
                "import_id": batch.id,
                "updated_at": now,
            }
        )
    days = sorted({r["date"] for r in rows})
    existing: dict[str, tuple[str, dt.date, bool]] = {}
    for chunk in chunks([(project_id, d) for d in days]):
        for cid, external_id, day, reviewed in session.execute(
            select(Conversation.id, Conversation.external_id, Conversation.date, Conversation.reviewed).where(
                tuple_(Conversation.project_id, Conversation.date).in_(list(chunk))
            )
        ):
            existing[external_id] = (cid, day, bool(reviewed))
    # the batch's conversations that exist on other days (a re-import moving one) are matched too
    outside = [r["external_id"] for r in rows if r["external_id"] not in existing]
    for chunk in chunks(outside):
        for cid, external_id, day, reviewed in session.execute(
            select(Conversation.id, Conversation.external_id, Conversation.date, Conversation.reviewed).where(
                Conversation.project_id == project_id, Conversation.external_id.in_(list(chunk))
            )
        ):
            existing[external_id] = (cid, day, bool(reviewed))
    incoming = {r["external_id"] for r in rows}
    stale = [cid for ext, (cid, day, reviewed) in existing.items() if ext not in incoming and not reviewed]
    kept = sum(1 for ext, (_c, _d, reviewed) in existing.items() if ext not in incoming and reviewed)
    for chunk in chunks(stale):
        session.execute(delete(Conversation).where(Conversation.id.in_(list(chunk))))
    created = replaced = 0
    for row in rows:
        found = existing.get(row["external_id"])
        if found is None:
            session.add(Conversation(id=str(uuid.uuid4()), reviewed=False, created_at=now, **row))
            created += 1
        else:
            session.execute(update(Conversation).where(Conversation.id == found[0]).values(**row))
            replaced += 1
    batch.dates = [d.isoformat() for d in days]
    batch.created, batch.replaced, batch.removed = created, replaced, len(stale)
    session.add(batch)
    flagged = sum(1 for r in rows if r["needs_review"])
    return {
        "import_id": batch.id,
        "received": len(rows),
        "days": len(days),
        "created": created,
        "replaced": replaced,
        "removed": len(stale),
        "kept_reviewed": kept,
        "flagged": flagged,
    }


def get_conversation(uow: UnitOfWork, conversation_id: str) -> Conversation:
    conversation = uow.session.get(Conversation, conversation_id)
    if conversation is None or not _visible(uow, conversation.project_id):
        raise NotFound("There is no conversation with this id.")
    return conversation


def _visible(uow: UnitOfWork, project_id: str) -> bool:
    if uow.actor.role != "merchant":
        return True
    project = uow.session.get(Project, project_id)
    return project is not None and project.merchant_id == uow.actor.merchant_id


# --- samples --------------------------------------------------------------------------------------------


def draw_sample(
    uow: UnitOfWork, project_id: str, week: str, kind: str, settings: QualitySettings
) -> tuple[Sample, bool]:
    """The week's sample for people to review, and whether it was drawn now (False: drawn before, the
    same one is returned, so that every reviewer works on one list).

    ``weekly``: per agent, ``QUALITY_SAMPLE_SIZE`` of the week's conversations the machine did not flag
    (flagged ones are reviewed anyway), stratified by outcome (ordered, lost inquiry, neither).
    ``lost_inquiries``: every lost inquiry of the week (询单流失全检)."""
    project = uow.session.get(Project, project_id)
    if project is None or not project.confirmed or not _visible(uow, project_id):
        raise NotFound("The quality service has no record of this project.")
    existing = uow.session.scalars(
        select(Sample).where(Sample.project_id == project_id, Sample.week == week, Sample.kind == kind)
    ).first()
    if existing is not None:
        return existing, False
    monday, sunday = domain.week_bounds(week)
    stmt = select(
        Conversation.id, Conversation.agent_id, Conversation.outcome, Conversation.needs_review
    ).where(Conversation.project_id == project_id, Conversation.date.between(monday, sunday))
    rows = uow.session.execute(stmt).all()
    if kind == "lost_inquiries":
        chosen = sorted(r.id for r in rows if r.outcome == "lost")
        size = None
    else:
        size = settings.sample_size
        by_agent: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for r in rows:
            if not r.needs_review:
                by_agent[r.agent_id][r.outcome].append(r.id)
        chosen = sorted(
            cid
            for agent_id, strata in sorted(by_agent.items())
            for cid in domain.stratified_sample(strata, size, f"{project_id}/{week}/{agent_id}")
        )
    sample = Sample(
        id=str(uuid.uuid4()),
        project_id=project_id,
        week=week,
        kind=kind,
        size_per_agent=size,
        conversation_ids=chosen,
        created_at=uow.now(),
        created_by=uow.actor.label[:100],
    )
    uow.session.add(sample)
    return sample, True


def get_sample(uow: UnitOfWork, sample_id: str) -> Sample:
    sample = uow.session.get(Sample, sample_id)
    if sample is None or not _visible(uow, sample.project_id):
        raise NotFound("There is no sample with this id.")
    return sample
