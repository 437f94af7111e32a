"""How the platform finds the onboarding service: app, handlers, jobs, models, migrations."""

from pathlib import Path

from services.onboarding.app import create_app
from services.onboarding.config import load_settings
from services.onboarding.handlers import HANDLERS
from services.onboarding.jobs import go_live
from services.onboarding.models import Base
from shared.service import Job, ServiceSpec

_GO_LIVE_CHECK_SECONDS = load_settings().go_live_check_seconds

SPEC = ServiceSpec(
    name="onboarding",
    metadata=Base.metadata,
    create_app=create_app,
    migrations_dir=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
    # 0 turns the job off: the vendor then uses POST /projects/{id}/go-live
    jobs=(Job("promote-due-projects", _GO_LIVE_CHECK_SECONDS, go_live),)
    if _GO_LIVE_CHECK_SECONDS > 0
    else (),
)
