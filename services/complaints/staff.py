"""Project staff (项目主管 and managers): who takes supervisor- and manager-level complaints.

The vendor lists each project's supervisors and managers; a complaint reaching their level goes to the
listed person with the fewest active complaints, else to the configured default, else waits unassigned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete

from services.complaints import domain, queries
from services.complaints.domain import Policy
from services.complaints.models import ProjectStaff
from shared.uow import UnitOfWork


def put_staff(uow: UnitOfWork, project_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Replace the project's supervisor and manager lists (order matters: first listed wins ties)."""
    queries.known_project(uow, project_id)
    uow.session.execute(delete(ProjectStaff).where(ProjectStaff.project_id == project_id))
    for role, key in (("supervisor", "supervisors"), ("manager", "managers")):
        for position, person in enumerate(values.get(key, [])):
            uow.session.add(
                ProjectStaff(
                    project_id=project_id,
                    role=role,
                    user_id=person["user_id"],
                    name=person.get("name"),
                    position=position,
                )
            )
    uow.flush()
    return queries.get_staff(uow, project_id)


def pick_assignee(uow: UnitOfWork, project_id: str, level: str, policy: Policy) -> str | None:
    """Who takes a supervisor- or manager-level complaint: the project's listed person with the fewest
    active complaints, else the configured default, else nobody (the complaint waits unassigned)."""
    listed = queries.listed_staff(uow, project_id, level)
    if listed:
        return domain.pick_least_loaded(listed, queries.active_load(uow, listed))
    return policy.default_supervisor if level == "supervisor" else policy.default_manager
