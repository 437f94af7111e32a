"""The recruitment API under /api/v1: the talent pool, CSV import, requisitions and project settings.

Who: the vendor's operations staff (role ``vendor``) write; trainers and supervisors read; admin does
anything. Merchants have no business here (403): the pool holds people's phone numbers. An agent may read
their own candidate profile and history.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from services.recruitment import csv_import, queries, requisitions, talent_pool
from services.recruitment.config import RecruitmentSettings, load_settings
from services.recruitment.csv_import import CandidateInput
from services.recruitment.schemas import (
    CandidateDetailOut,
    CandidateIn,
    CandidateListArgs,
    CandidateOut,
    CandidatePage,
    CandidatePatch,
    ImportArgs,
    ImportResultOut,
    ProjectOut,
    ProjectPatch,
    RematchOut,
    RequisitionListArgs,
    RequisitionOut,
    RequisitionPage,
)
from shared.auth import ensure_self_or_roles, roles_documented, roles_required
from shared.errors import NotFound, ValidationFailed
from shared.tabular import FileRejected
from shared.web import current_uow, get_settings, idempotent, transactional
from shared.web.downloads import read_upload, upload_request_body

blp = Blueprint(
    "recruitment",
    __name__,
    url_prefix="/api/v1",
    description="The talent pool (人才库) and 1:3 matching of candidates to requisitions (招聘需求).",
)

READERS = ("vendor", "trainer", "supervisor")

_IMPORT_DOC = (
    "All-or-nothing import of a CSV (UTF-8 with or without BOM, GBK or GB18030) or an .xlsx workbook "
    "(first sheet), sent as multipart field `file` or as the request body (e.g. `text/csv`). "
    "Columns (header line, any order; Chinese headers accepted): "
    + "; ".join(f"`{name}`: {text}" for name, text in csv_import.COLUMNS.items())
    + ". Any bad row → 422 listing every bad row with its line number (`rows`), nothing imported. A phone "
    "already in the pool updates that candidate (counted as `updated`). `?dry_run=true` validates and counts "
    "only. Files over the size limit (10 MB by default) → 413. After an import, short requisitions are "
    "topped up from the new people, the oldest due date first."
)


def _config() -> RecruitmentSettings:
    return load_settings(get_settings().extra)


# --- candidates ------------------------------------------------------------------------------------------


@blp.route("/candidates")
class Candidates(MethodView):
    @roles_required(*READERS)
    @blp.arguments(CandidateListArgs, location="query")
    @blp.response(200, CandidatePage)
    def get(self, args: dict[str, Any]) -> Any:
        """List the talent pool (filters: skill, category, platform, shift, status, basic_training_passed,
        city, min_score, q), newest first"""
        return queries.list_candidates(current_uow(), args)

    @idempotent
    @roles_required("vendor")
    @blp.arguments(CandidateIn)
    @blp.response(201, CandidateOut)
    def post(self, data: CandidateInput) -> Any:
        """Add a candidate to the pool; short requisitions are topped up at once if they qualify"""
        return talent_pool.create_candidate(current_uow(), data, _config())


@blp.route("/candidates/import", methods=["POST"])
@transactional
@roles_required("vendor")
@blp.arguments(ImportArgs, location="query")
@blp.response(200, ImportResultOut)
@blp.doc(
    description=_IMPORT_DOC,
    requestBody=upload_request_body(),
)
def import_candidates(args: dict[str, Any]) -> Any:
    """Import candidates from a CSV file (all or nothing)"""
    config = _config()
    raw = read_upload(config.import_max_bytes, what="file")
    try:
        parsed = csv_import.parse_csv(raw, max_rows=config.import_max_rows)
    except FileRejected as exc:
        raise ValidationFailed({"file": [str(exc)]}, detail=f"{exc} Nothing was imported.") from None
    if parsed.errors:
        lines = [e.line for e in parsed.errors]
        shown = ", ".join(map(str, lines[:20])) + (" …" if len(lines) > 20 else "")
        raise ValidationFailed(
            {f"line {e.line}.{field}": msgs for e in parsed.errors for field, msgs in e.errors.items()},
            detail=f"{len(lines)} row(s) are invalid (line {shown}); nothing was imported. Correct them and "
            "upload the whole file again.",
            extra={"rows": [{"line": e.line, "errors": e.errors} for e in parsed.errors]},
        )
    return talent_pool.import_candidates(current_uow(), parsed, dry_run=args["dry_run"], config=config)


@blp.route("/candidates/<candidate_id>")
class CandidateItem(MethodView):
    @roles_documented("agent", *READERS)  # an agent reaches only their own record (checked below)
    @blp.response(200, CandidateDetailOut)
    def get(self, candidate_id: str) -> Any:
        """A candidate with their history: every project matched to and the outcome (an agent: their own)"""
        ensure_self_or_roles(candidate_id, *READERS)
        return queries.candidate_detail(current_uow(), candidate_id)

    @idempotent
    @roles_required("vendor")
    @blp.arguments(CandidatePatch(partial=True))
    @blp.response(200, CandidateOut)
    def patch(self, changes: dict[str, Any], candidate_id: str) -> Any:
        """Update a candidate's profile, or move them between available and inactive"""
        return talent_pool.update_candidate(current_uow(), candidate_id, changes, _config())


# --- requisitions ----------------------------------------------------------------------------------------


@blp.route("/requisitions")
class Requisitions(MethodView):
    @roles_required(*READERS)
    @blp.arguments(RequisitionListArgs, location="query")
    @blp.response(200, RequisitionPage)
    def get(self, args: dict[str, Any]) -> Any:
        """List requisitions (filters: project_id, status, reason), newest first"""
        return queries.list_requisitions(current_uow(), args)


@blp.route("/requisitions/<requisition_id>")
class RequisitionItem(MethodView):
    @roles_required(*READERS)
    @blp.response(200, RequisitionOut)
    def get(self, requisition_id: str) -> Any:
        """A requisition with its matches in rank order"""
        return queries.get_requisition(current_uow(), requisition_id)


@blp.route("/requisitions/<requisition_id>/rematch", methods=["POST"])
@idempotent
@roles_required("vendor")
@blp.response(200, RematchOut)
def rematch(requisition_id: str) -> Any:
    """Top a short or overdue requisition up from the pool as it is now"""
    requisition, added = requisitions.rematch(current_uow(), requisition_id, _config())
    return {"newly_matched": added, "requisition": requisition}


# --- projects (the read model and its matching settings) -------------------------------------------------


@blp.route("/projects/<project_id>")
class ProjectItem(MethodView):
    @roles_required(*READERS)
    @blp.response(200, ProjectOut)
    def get(self, project_id: str) -> Any:
        """What recruitment knows of a project and how it matches for it"""
        return queries.get_project(current_uow(), project_id)

    @idempotent
    @roles_required("vendor")
    @blp.arguments(ProjectPatch)
    @blp.response(200, ProjectOut)
    def patch(self, changes: dict[str, Any], project_id: str) -> Any:
        """Set this project's matching ratio (overrides the default 3), platform or categories; may be set
        before the project is confirmed. Raising the ratio tops the requisition up at once."""
        if len(project_id) > 64:
            raise NotFound("Project ids are at most 64 characters.")
        return requisitions.update_project_settings(current_uow(), project_id, changes, _config())
