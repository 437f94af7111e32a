"""How the platform finds the onboarding service: app, handlers, jobs, models, migrations."""

import os
from pathlib import Path

from services.onboarding.app import create_app
from services.onboarding.handlers import HANDLERS
from services.onboarding.models import Base
from services.onboarding.service import promote_due_projects
from shared.service import Job, ServiceSpec
from shared.uow import UnitOfWork
from shared.workdays import today_shanghai

#: ONBOARDING_GO_LIVE_CHECK_SECONDS: how often the worker moves confirmed projects whose go-live date has
#: come to live (0 turns it off: the vendor then uses POST /projects/{id}/go-live).
GO_LIVE_CHECK_SECONDS = float(os.environ.get("ONBOARDING_GO_LIVE_CHECK_SECONDS", "600"))


def go_live_job(uow: UnitOfWork) -> None:
    promote_due_projects(uow.session, today_shanghai())


SPEC = ServiceSpec(
    name="onboarding",
    metadata=Base.metadata,
    create_app=create_app,
    migrations_dir=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
    jobs=(Job("promote-due-projects", GO_LIVE_CHECK_SECONDS, go_live_job),)
    if GO_LIVE_CHECK_SECONDS > 0
    else (),
)
