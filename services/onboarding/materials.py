"""Training materials (培训资料): files the merchant uploads for the trainers, stored once by content."""

from __future__ import annotations

import uuid
from typing import Any, BinaryIO

from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.onboarding import domain
from services.onboarding.domain import Status
from services.onboarding.models import Material, Project
from services.onboarding.records import load_project, material_path, record
from shared.errors import Conflict, NotFound
from shared.storage import FileStore
from shared.uow import UnitOfWork


def material_view(material: Material) -> dict[str, Any]:
    return {
        "id": material.id,
        "project_id": material.project_id,
        "filename": material.filename,
        "kind": material.kind,
        "content_type": material.content_type,
        "size": material.size,
        "sha256": material.sha256,
        "uploaded_by": material.uploaded_by,
        "uploaded_by_role": material.uploaded_by_role,
        "uploaded_at": material.uploaded_at,
        "download_path": material_path(material),
    }


def _references(session: Session, sha256: str) -> int:
    return int(session.execute(select(func.count()).where(Material.sha256 == sha256)).scalar_one())


def _same_file(session: Session, project_id: str, sha256: str) -> Material | None:
    return session.scalars(
        select(Material).where(Material.project_id == project_id, Material.sha256 == sha256)
    ).first()


def load_material(session: Session, project: Project, material_id: str) -> Material:
    material = None
    if len(material_id) <= 64:
        material = session.scalars(
            select(Material).where(Material.id == material_id, Material.project_id == project.id)
        ).first()
    if material is None:
        raise NotFound(f"Project {project.id} has no material with id {material_id}.")
    return material


def add_material(
    uow: UnitOfWork, project_id: str, store: FileStore, stream: BinaryIO, filename: str | None
) -> tuple[Material, bool]:
    """Store the uploaded file and list it; ``(material, False)`` when the same bytes are already on this
    project."""
    session, actor = uow.session, uow.actor
    project = load_project(uow, project_id)
    if Status(project.status) in domain.FINAL_STATUSES:
        raise Conflict(
            f"Materials cannot be added to a {project.status} project.",
            extra={"current_status": project.status},
        )
    stored = store.save(stream, filename)
    try:
        existing = _same_file(session, project.id, stored.sha256)
        if existing is not None:
            return existing, False
        material = Material(
            id=str(uuid.uuid4()),
            project_id=project.id,
            filename=stored.filename,
            kind=stored.kind.name,
            content_type=stored.content_type,
            size=stored.size,
            sha256=stored.sha256,
            uploaded_by=actor.sub[:100],
            uploaded_by_role=actor.role,
            uploaded_at=uow.now(),
        )
        # a savepoint: losing the race below undoes only this listing, not the request's transaction
        with session.begin_nested():
            session.add(material)
            record(
                uow,
                project,
                "material_added",
                changes={
                    "material": {"id": material.id, "filename": material.filename, "size": material.size}
                },
            )
        return material, True
    except IntegrityError:
        # the same file uploaded twice at the same moment: the other request listed it
        existing = _same_file(session, project_id, stored.sha256)
        if existing is None:
            raise
        return existing, False
    except BaseException:
        if stored.created and _references(session, stored.sha256) == 0:
            store.delete(stored.sha256)
        raise


def delete_material(uow: UnitOfWork, project_id: str, material_id: str, store: FileStore) -> None:
    session = uow.session
    project = load_project(uow, project_id)
    material = load_material(session, project, material_id)
    if Status(project.status) not in domain.OPEN_STATUSES:
        raise Conflict(
            f"Materials of a {project.status} project are kept for training; they can be deleted while the "
            "project is draft, submitted or returned.",
            extra={"current_status": project.status},
        )
    sha = material.sha256
    record(
        uow,
        project,
        "material_deleted",
        changes={"material": {"id": material.id, "filename": material.filename, "size": material.size}},
    )
    session.delete(material)
    uow.flush()
    if _references(session, sha) == 0:
        # only once the row's removal is committed: a failed delete leaves an orphan blob (harmless), never
        # a row without its file
        event.listen(session, "after_commit", lambda _session: store.delete(sha), once=True)
