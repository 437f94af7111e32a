"""The onboarding HTTP API (/api/v1/projects…): thin views over the use cases and ``queries.py``.

Roles: a merchant reaches only its own projects (another merchant's answer 404, as a missing one does);
the vendor reaches all of them and is the one who returns, confirms, takes live and closes; trainers and
supervisors read (they build courseware from the materials and the FAQ sheet).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint

from services.onboarding import exports, faq, materials, projects, queries, schemas
from services.onboarding.config import OnboardingSettings, load_settings
from services.onboarding.domain import ACTION_ROLES, Action
from services.onboarding.records import IfMatch, etag, faq_etag, material_path
from shared.auth import roles_required
from shared.errors import ProblemError
from shared.pagination import page_response_schema
from shared.storage import FileStore, content_disposition
from shared.web import current_uow, get_settings, idempotent, transactional
from shared.web.blobs import send_blob
from shared.web.downloads import export_response, export_responses, negotiate_format

blp = Blueprint(
    "projects",
    __name__,
    url_prefix="/api/v1",
    description="The merchant's order (商家订单): checklist, FAQ sheet, materials, confirmation.",
)

#: qa (quality staff) read every project: they follow the live projects they inspect
READ_ROLES = ("vendor", "merchant", "trainer", "supervisor", "qa")
EDIT_ROLES = ("vendor", "merchant")

ProjectPage = page_response_schema(schemas.ProjectOut, "ProjectPage")
HistoryPage = page_response_schema(schemas.HistoryOut, "ProjectHistoryPage")
MaterialPage = page_response_schema(schemas.MaterialOut, "MaterialPage")


def _config() -> OnboardingSettings:
    return load_settings(get_settings().extra)


def _store() -> FileStore:
    return FileStore.from_settings(get_settings())


def _if_match() -> IfMatch:
    if "If-Match" not in request.headers:
        return None
    tags = request.if_match
    if tags.star_tag:
        return "*"
    return frozenset(tags.as_set(include_weak=True))


def _with_etag(project: Any) -> tuple[dict[str, Any], int, dict[str, str]]:
    return queries.view(current_uow(), project), 200, {"ETag": etag(project)}


@blp.route("/projects")
class Projects(MethodView):
    @roles_required(*READ_ROLES)
    @blp.arguments(schemas.ProjectListArgs, location="query")
    @blp.response(200, ProjectPage)
    def get(self, args: dict[str, Any]) -> Any:
        """List projects (a merchant sees only its own)

        Filters: status (comma-separated), merchant, go_live_from / go_live_to, q (company name contains).
        Newest first; pass the answer's next_after as `after` for the next page. with_checklist=true adds
        each project's checklist_progress (sections complete).
        """
        filters = queries.ProjectFilters(
            statuses=tuple(args.get("status") or ()),
            merchant_id=args.get("merchant"),
            go_live_from=args.get("go_live_from"),
            go_live_to=args.get("go_live_to"),
            text=args.get("q"),
        )
        page, items = queries.list_projects(
            current_uow(),
            filters,
            args["page"],
            args["per_page"],
            after=args["after"],
            progress=_config() if args.get("with_checklist") else None,
        )
        return page.with_items([schemas.Dumped(item) for item in items])

    @idempotent
    @roles_required(*EDIT_ROLES)
    @blp.arguments(schemas.ProjectCreateIn)
    @blp.response(201, schemas.ProjectOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a draft project (drafts may be partial)

        A merchant creates for itself; the vendor names the merchant (merchant_id).
        """
        uow = current_uow()
        project = projects.create_project(uow, data)
        headers = {"ETag": etag(project), "Location": f"{blp.url_prefix}/projects/{project.id}"}
        return queries.view(uow, project), 201, headers


@blp.route("/projects/<project_id>")
class ProjectItem(MethodView):
    @roles_required(*READ_ROLES)
    @blp.response(200, schemas.ProjectOut)
    def get(self, project_id: str) -> Any:
        """One project, with its ETag"""
        row = queries.project_row(current_uow(), project_id)
        return schemas.Dumped(queries.project_json(row, row.material_count)), 200, {"ETag": etag(row)}

    @transactional
    @roles_required(*EDIT_ROLES)
    @blp.arguments(schemas.ProjectIn)
    @blp.response(200, schemas.ProjectOut)
    @blp.alt_response(412, description="If-Match is stale: someone else changed the project")
    @blp.alt_response(428, description="If-Match is missing")
    def patch(self, data: dict[str, Any], project_id: str) -> Any:
        """Change some fields (needs If-Match: the ETag you read)

        Nested groups merge (send only what changes); null or "" clears a field. Draft and returned
        projects are editable by both sides, a submitted one by the vendor only; a confirmed or live one
        only in seats, hours, service type, go-live date, contacts and notes, by the vendor, which sends
        project.updated.
        """
        project = projects.update_project(current_uow(), project_id, data, _if_match(), _config())
        return _with_etag(project)


@blp.route("/projects/<project_id>/history")
@roles_required(*READ_ROLES)
@blp.arguments(schemas.PageArgsSchema, location="query")
@blp.response(200, HistoryPage)
def project_history(args: dict[str, Any], project_id: str) -> Any:
    """Every change of the project: who, when, what (oldest first)"""
    return queries.history_page(
        current_uow(), project_id, args["page"], args["per_page"], after=args["after"]
    )


@blp.route("/projects/<project_id>/checklist")
@roles_required(*READ_ROLES)
@blp.response(200, schemas.ChecklistOut)
def project_checklist(project_id: str) -> Any:
    """The seven-section confirmation checklist (确认信息), computed now

    Each section says whether it is complete and what is missing; also the earliest acceptable go-live
    date and whether every standard FAQ question is answered (needed to confirm).
    """
    return queries.checklist_view(current_uow(), project_id, _config())


# --- transitions -----------------------------------------------------------------------------------------

_TRANSITION_DOCS: dict[Action, tuple[str, str]] = {
    Action.SUBMIT: (
        "Submit the project for the vendor's review",
        "Draft or returned → submitted. Refused (422, rule checklist-incomplete) while any checklist section "
        "is incomplete; the refusal lists every missing item.",
    ),
    Action.RETURN: (
        "Return a submitted project to the merchant, with reasons",
        "Submitted → returned (vendor). The reason is required.",
    ),
    Action.CONFIRM: (
        "Confirm the order (订单确认)",
        "Submitted → confirmed (vendor). Needs a complete checklist, every standard FAQ question answered "
        "and the go-live date at least N working days (default 3) after today (Asia/Shanghai, China's "
        "calendar). Publishes project.confirmed.",
    ),
    Action.GO_LIVE: (
        "Mark a confirmed project live",
        "Confirmed → live (vendor). The worker also does it on the go-live date.",
    ),
    Action.CLOSE: ("Close the project", "Confirmed or live → closed (vendor). Publishes project.closed."),
    Action.CANCEL: ("Cancel a draft or returned project", "Draft or returned → cancelled."),
}


def _register_transition(action: Action) -> None:
    schema = schemas.ReturnIn if action == Action.RETURN else schemas.ReasonIn
    summary, description = _TRANSITION_DOCS[action]

    def view(data: dict[str, Any], project_id: str) -> Any:
        project = projects.transition(
            current_uow(),
            project_id,
            action,
            reason=data.get("reason"),
            if_match=_if_match(),
            settings=_config(),
        )
        return _with_etag(project)

    view.__name__ = f"project_{action.value.replace('-', '_')}"
    decorated: Callable[..., Any] = blp.response(200, schemas.ProjectOut)(view)
    decorated = blp.doc(summary=summary, description=description)(decorated)
    decorated = blp.arguments(schema, required=action == Action.RETURN)(decorated)
    decorated = roles_required(*ACTION_ROLES[action])(decorated)
    decorated = idempotent(decorated)
    blp.route(f"/projects/<project_id>/{action.value}", methods=["POST"], endpoint=view.__name__)(decorated)


for _action in Action:
    _register_transition(_action)


# --- FAQ sheet -------------------------------------------------------------------------------------------


@blp.route("/projects/<project_id>/faq")
class Faq(MethodView):
    @roles_required(*READ_ROLES)
    @blp.response(200, schemas.FaqOut)
    def get(self, project_id: str) -> Any:
        """The FAQ sheet (常见问题咨询&话术): the standard questions with the answers, plus the shop's own"""
        uow = current_uow()
        project = queries.get_project(uow, project_id)
        return queries.faq_sheet(uow, project, _config()), 200, {"ETag": faq_etag(project)}

    @transactional
    @roles_required(*EDIT_ROLES)
    @blp.arguments(schemas.FaqIn)
    @blp.response(200, schemas.FaqOut)
    def put(self, data: dict[str, Any], project_id: str) -> Any:
        """Replace the FAQ sheet's answers (If-Match with the sheet's ETag is honoured when sent)

        A standard question left out is unanswered. Editable while the project is draft, submitted or
        returned.
        """
        uow = current_uow()
        project = faq.put_faq(uow, project_id, data, _if_match())
        return queries.faq_sheet(uow, project, _config()), 200, {"ETag": faq_etag(project)}


_FAQ_EXPORT_RESPONSES = export_responses("the FAQ sheet as CSV, an XLSX workbook or Markdown")
_FAQ_EXPORT_RESPONSES["200"]["content"]["text/markdown"] = {"schema": {"type": "string"}}


@blp.route("/projects/<project_id>/faq/export")
@roles_required(*READ_ROLES)
@blp.arguments(schemas.ExportArgs, location="query")
@blp.doc(responses=_FAQ_EXPORT_RESPONSES)
def faq_export(args: dict[str, Any], project_id: str) -> Response:
    """Export the FAQ sheet: CSV or XLSX for Excel (format=csv|xlsx, lang=zh|en) or Markdown for the
    trainers (format=md)"""
    uow = current_uow()
    project = queries.get_project(uow, project_id)
    name = f"faq-{project.company_name or project.id}"
    if args.get("format") == "md":
        return Response(
            exports.faq_markdown(uow, project),
            content_type="text/markdown; charset=utf-8",
            headers={"Content-Disposition": content_disposition(f"{name}.md")},
        )
    return export_response(
        exports.FAQ_COLUMNS,
        exports.faq_rows(uow, project, args["lang"]),
        filename=name,
        fmt=negotiate_format(args.get("format")),
        lang=args["lang"],
        sheet="常见问题咨询&话术",
    )


# --- materials -------------------------------------------------------------------------------------------


@blp.route("/projects/<project_id>/materials")
class Materials(MethodView):
    @roles_required(*READ_ROLES)
    @blp.arguments(schemas.PageArgsSchema, location="query")
    @blp.response(200, MaterialPage)
    def get(self, args: dict[str, Any], project_id: str) -> Any:
        """The project's training materials (培训资料)"""
        return queries.list_materials(
            current_uow(), project_id, args["page"], args["per_page"], after=args["after"]
        )

    @transactional
    @roles_required(*EDIT_ROLES)
    @blp.arguments(schemas.UploadIn, location="files")
    @blp.response(201, schemas.MaterialOut)
    @blp.alt_response(200, schema=schemas.MaterialOut, description="the same file was already uploaded")
    @blp.alt_response(413, description="larger than MAX_UPLOAD_BYTES")
    @blp.alt_response(415, description="not an accepted type (judged by content)")
    def post(self, files: dict[str, Any], project_id: str) -> Any:
        """Upload a training material (multipart field "file")

        pdf, doc/docx, xls/xlsx, ppt/pptx, txt, md, csv, png, jpg or zip, judged by the content; at most
        MAX_UPLOAD_BYTES (20 MB by default). The same file twice is listed (and stored) once.
        """
        upload = files["file"]
        material, created = materials.add_material(
            current_uow(), project_id, _store(), upload.stream, upload.filename
        )
        headers = {"Location": material_path(material)}
        return materials.material_view(material), 201 if created else 200, headers


@blp.route("/projects/<project_id>/materials/<material_id>")
class MaterialItem(MethodView):
    @roles_required(*READ_ROLES)
    @blp.response(200, description="the file, with its Content-Type and Content-Disposition")
    def get(self, project_id: str, material_id: str) -> Response:
        """Download one material"""
        material = queries.get_material(current_uow(), project_id, material_id)
        try:
            blob = _store().open(material.sha256)
        except FileNotFoundError:
            raise ProblemError(
                f"The file of material {material.id} ({material.filename}) is missing from storage; upload "
                "it again.",
                status=410,
            ) from None
        # streamed from the folder or the bucket alike, with ETag, Last-Modified and Range support
        response = send_blob(
            blob, mimetype=material.content_type, download_name=material.filename, etag=material.sha256
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @transactional
    @roles_required(*EDIT_ROLES)
    @blp.response(204)
    def delete(self, project_id: str, material_id: str) -> None:
        """Delete a material (while the project is draft, submitted or returned)"""
        materials.delete_material(current_uow(), project_id, material_id, _store())
