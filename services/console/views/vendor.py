"""Vendor operations (运营): the project board, a project's funnel, requisitions, the talent pool and the
system health page (admin).

Every number on these pages comes from the services at request time (nothing is cached in the console), and
a page with several widgets fetches them in parallel with ``api().gather`` — one call per widget.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from prometheus_client.parser import text_string_to_metric_families

from services.console.bff import ApiError, Call, Reply
from services.console.checklist import missing_text, section_label
from services.console.i18n import _
from services.console.i18n import lazy_gettext as _l
from services.console.labels import STATUS_LABELS
from services.console.web import (
    api,
    field_messages,
    flash_problem,
    is_htmx,
    pick,
    problem_message,
    redirect_back,
    role_required,
    service_client,
)
from shared.config import SERVICES

bp = Blueprint("vendor", __name__, url_prefix="/vendor")

#: who reads the vendor pages (qa sees the board only through its navigation; the services decide the rest)
READERS = ("vendor", "qa")
PER_PAGE = 20
#: rows per section of the grouped board (each section links to its full, paginated list)
SECTION_ROWS = 10

STATUS_LABELS.update(
    {
        # requisitions
        "filled": _l("Filled"),
        "short": _l("Short"),
        "overdue": _l("Overdue"),
        # candidates and match outcomes
        "available": _l("Available"),
        "matched": _l("Matched"),
        "in_training": _l("In training"),
        "inactive": _l("Inactive"),
        "admitted": _l("Admitted"),
        "not_admitted": _l("Not admitted"),
        "released": _l("Released"),
    }
)

#: a candidate's status in the pool ("assigned" means something else for a complaint, hence not STATUS_LABELS)
CANDIDATE_STATUSES = {
    "available": _l("Available"),
    "matched": _l("Matched"),
    "in_training": _l("In training"),
    "assigned": _l("Assigned to a project"),
    "inactive": _l("Inactive"),
}
SKILLS = {"presale": _l("Pre-sales"), "aftersale": _l("After-sales")}
SHIFTS = {
    "morning": _l("Morning (08–16)"),
    "afternoon": _l("Afternoon (16–24)"),
    "night": _l("Night (00–08)"),
}
REASONS = {
    "project_confirmed": _l("Project confirmed"),
    "training_shortfall": _l("Training shortfall"),
    "reserve_shortfall": _l("Reserve shortfall"),
    "surge": _l("Surge"),
    "plan": _l("Staffing plan"),
}


@dataclass(frozen=True)
class BoardGroup:
    key: str
    statuses: tuple[str, ...]
    title: Any


#: The board's order: what waits for the vendor first, then what runs, then the rest.
BOARD_GROUPS: tuple[BoardGroup, ...] = (
    BoardGroup("submitted", ("submitted",), _l("Awaiting confirmation")),
    BoardGroup("running", ("confirmed", "live"), _l("Confirmed and live")),
    BoardGroup("draft", ("draft",), _l("Drafts")),
    BoardGroup("returned", ("returned",), _l("Returned to the merchant")),
    BoardGroup("closed", ("closed", "cancelled"), _l("Closed and cancelled")),
)
GROUPS_BY_KEY = {group.key: group for group in BOARD_GROUPS}


def _page_arg() -> int:
    raw = request.args.get("page", "1")
    return max(1, min(int(raw), 10_000)) if raw.isdigit() else 1


def _text_arg(name: str, limit: int = 100) -> str:
    return request.args.get(name, "").strip()[:limit]


# --- the board -------------------------------------------------------------------------------------------


@bp.get("/")
@role_required(*READERS)
def board() -> Any:
    group_key = request.args.get("group", "")
    group = GROUPS_BY_KEY.get(group_key)
    filters = {"merchant": _text_arg("merchant", 64), "q": _text_arg("q")}
    if group is not None:
        page = _page_arg()
        reply = api().page(
            "onboarding",
            "/projects",
            page=page,
            per_page=PER_PAGE,
            status=",".join(group.statuses),
            **filters,
        )
        sections = [(group, reply.items, reply.total or 0)]
    else:
        page = 1
        replies = api().gather(
            {
                g.key: Call(
                    "onboarding",
                    "/projects",
                    params={"status": ",".join(g.statuses), "per_page": SECTION_ROWS, **filters},
                )
                for g in BOARD_GROUPS
            }
        )
        sections = []
        for g in BOARD_GROUPS:
            result = replies[g.key]
            if isinstance(result, ApiError):
                raise result
            sections.append((g, result.items, result.total or 0))
    return render_template(
        "vendor/board.html",
        sections=sections,
        group=group,
        group_options=[(g.key, g.title) for g in BOARD_GROUPS],
        filters=filters,
        page=page,
        per_page=PER_PAGE,
    )


@bp.post("/projects/<project_id>/confirm")
@role_required("vendor")
def confirm(project_id: str) -> Any:
    try:
        api().post("onboarding", f"/projects/{project_id}/confirm")
    except ApiError as err:
        if err.status in (401, 404):
            raise
        flash_problem(err)
    else:
        flash(_("The project is confirmed; recruitment, training and scheduling start now."), "success")
    return redirect_back("vendor.project", project_id=project_id)


@bp.post("/projects/<project_id>/return")
@role_required("vendor")
def return_project(project_id: str) -> Any:
    reason = request.form.get("reason", "").strip()
    try:
        api().post("onboarding", f"/projects/{project_id}/return", {"reason": reason})
    except ApiError as err:
        if err.status in (401, 404):
            raise
        return _project_page(project_id, return_error=err, reason=reason), 422 if err.status == 422 else 409
    flash(_("The project was returned to the merchant with your reason."), "success")
    return redirect(url_for("vendor.project", project_id=project_id))


# --- one project and its funnel --------------------------------------------------------------------------


@bp.get("/projects/<project_id>")
@role_required(*READERS)
def project(project_id: str) -> Any:
    return _project_page(project_id)


def _project_page(project_id: str, return_error: ApiError | None = None, reason: str = "") -> str:
    results = api().gather(
        {
            "checklist": Call("onboarding", f"/projects/{project_id}/checklist"),
            **_funnel_calls(project_id),
        }
    )
    project = results["project"]
    if isinstance(project, ApiError):
        raise project
    checklist = results["checklist"]
    return render_template(
        "vendor/project.html",
        section_label=section_label,
        missing_text=missing_text,
        project=project.data,
        checklist=None if isinstance(checklist, ApiError) else checklist.data,
        funnel=_funnel(results),
        return_message=problem_message(return_error) if return_error else None,
        return_errors=field_messages(return_error) if return_error else {},
        reason=reason,
    )


@bp.get("/projects/<project_id>/funnel")
@role_required(*READERS)
def funnel(project_id: str) -> Any:
    """The funnel alone: polled by the project page every 3 s while events arrive."""
    results = api().gather(_funnel_calls(project_id))
    project = results["project"]
    if isinstance(project, ApiError):
        raise project
    return render_template("vendor/_funnel.html", project=project.data, funnel=_funnel(results))


def _funnel_calls(project_id: str) -> dict[str, Call]:
    return {
        "project": Call("onboarding", f"/projects/{project_id}"),
        "requisitions": Call(
            "recruitment", "/requisitions", params={"project_id": project_id, "per_page": 200}
        ),
        "training": Call("training", f"/projects/{project_id}/training"),
        "cohorts": Call("training", "/cohorts", params={"project_id": project_id, "per_page": 200}),
        "pool": Call("scheduling", f"/projects/{project_id}/pool", params={"per_page": 1}),
    }


@dataclass
class FunnelStep:
    """One stage of the funnel: ``actual`` against ``target``; ``state`` says why a number is missing
    (``waiting``: the service has not heard of the project yet, ``down``: it did not answer)."""

    key: str
    actual: int | None = None
    target: int | None = None
    extra: int | None = None
    state: str = "ok"

    @property
    def short(self) -> bool:
        return self.actual is not None and self.target is not None and self.actual < self.target


def _widget(result: Reply | ApiError) -> tuple[Any, str]:
    """A widget's data, or why there is none: a 404 means the service has not received the project's
    confirmation yet (the events are on their way), anything else that the service is not answering."""
    if isinstance(result, ApiError):
        return None, "waiting" if result.status == 404 else "down"
    return result.data, "ok"


def _funnel(results: Mapping[str, Reply | ApiError]) -> dict[str, FunnelStep]:
    project = results["project"]
    seats = pick(project.data, "service", "seats") if isinstance(project, Reply) else None
    steps = {"seats": FunnelStep("seats", actual=seats)}

    requisitions = results["requisitions"]
    matched = FunnelStep("matched")
    if isinstance(requisitions, ApiError):
        matched.state = "down"
    elif not requisitions.items:
        matched.state = "waiting"
    else:
        # Replacement requisitions (shortfalls, surges) add to the project's first one: the funnel counts all.
        matched.actual = sum(int(r.get("matched") or 0) for r in requisitions.items)
        matched.target = sum(int(r.get("target") or 0) for r in requisitions.items)
    steps["matched"] = matched

    training, state = _widget(results["training"])
    cohorts = results["cohorts"]
    in_training = FunnelStep("in_training", state=state)
    admitted = FunnelStep("admitted", state=state)
    if training is not None:
        admitted.actual = int(training.get("admitted") or 0)
        admitted.target = int(training.get("target") or 0)
        if isinstance(cohorts, Reply):
            open_cohorts = [
                c for c in cohorts.items if c.get("status") in ("planned", "in_training", "assessing")
            ]
            in_training.actual = sum(int(c.get("enrolled") or 0) for c in open_cohorts)
        else:
            in_training.state = "down"
    steps["in_training"] = in_training
    steps["admitted"] = admitted

    pool, state = _widget(results["pool"])
    active = FunnelStep("active", state=state)
    reserve = FunnelStep("reserve", state=state)
    if pool is not None:
        active.actual = int(pool.get("active") or 0)
        active.target = int(pool.get("active_target") or 0)
        reserve.actual = int(pool.get("reserve") or 0)
        if admitted.target is not None and active.target is not None:
            # what admission at 2 × seats leaves beyond the active 1.5 × seats
            reserve.target = max(admitted.target - active.target, 0)
    steps["active"] = active
    steps["reserve"] = reserve
    return steps


# --- requisitions ----------------------------------------------------------------------------------------


@bp.get("/requisitions")
@role_required(*READERS)
def requisitions() -> Any:
    page = _page_arg()
    status = request.args.get("status", "")
    status = status if status in ("filled", "short", "overdue", "closed") else ""
    project_id = _text_arg("project_id", 64)
    results = api().gather(
        {
            "requisitions": Call(
                "recruitment",
                "/requisitions",
                params={"page": page, "per_page": PER_PAGE, "status": status, "project_id": project_id},
            ),
            # one call for the names of the projects the requisitions are about (confirmed ones are the
            # only ones recruitment hears of)
            "projects": Call(
                "onboarding", "/projects", params={"status": "confirmed,live,closed", "per_page": 200}
            ),
        }
    )
    listing = results["requisitions"]
    if isinstance(listing, ApiError):
        raise listing
    projects = results["projects"]
    names = (
        {p["id"]: pick(p, "merchant", "company_name", default="") for p in projects.items}
        if isinstance(projects, Reply)
        else {}
    )
    return render_template(
        "vendor/requisitions.html",
        requisitions=listing.items,
        total=listing.total or 0,
        page=page,
        per_page=PER_PAGE,
        status=status,
        project_id=project_id,
        names=names,
        reasons=REASONS,
    )


@bp.get("/requisitions/<requisition_id>")
@role_required(*READERS)
def requisition(requisition_id: str) -> Any:
    found = api().get("recruitment", f"/requisitions/{requisition_id}")
    return render_template("vendor/requisition.html", requisition=found, reasons=REASONS, skills=SKILLS)


@bp.post("/requisitions/<requisition_id>/rematch")
@role_required("vendor")
def rematch(requisition_id: str) -> Any:
    try:
        result = api().post("recruitment", f"/requisitions/{requisition_id}/rematch")
    except ApiError as err:
        if err.status in (401, 404):
            raise
        flash_problem(err)
    else:
        added = int(result.get("newly_matched") or 0)
        if added:
            flash(_("%(count)s more candidates were matched.", count=added), "success")
        else:
            flash(_("Nobody eligible is free in the talent pool right now; nothing changed."), "warning")
    return redirect(url_for("vendor.requisition", requisition_id=requisition_id))


# --- talent pool -----------------------------------------------------------------------------------------

#: The import's columns as the recruitment service reads them (its docs: docs/services/recruitment.md).
IMPORT_COLUMNS: tuple[tuple[str, str, bool, Any], ...] = (
    ("name", "姓名", True, _l("1–100 characters")),
    ("phone", "手机", True, _l("Chinese mobile number; a phone already in the pool updates that person")),
    ("skills", "技能", True, _l("售前 and/or 售后 (presale, aftersale), separated by ;")),
    ("shifts_available", "班次", True, _l("早班, 晚班, 夜班 (morning, afternoon, night), separated by ;")),
    ("basic_training_passed", "基础培训通过", True, _l("是 or 否 (yes/no)")),
    ("basic_score", "基础分", True, _l("0–100, up to 2 decimals")),
    ("categories", "类目", False, _l("e.g. 服装;美妆")),
    ("platforms", "平台", False, _l("淘宝, 天猫, 京东, 拼多多, 抖音 …")),
    ("city", "城市", False, _l("up to 50 characters")),
    ("experience_months", "经验月数", False, _l("whole months, default 0")),
    ("notes", "备注", False, _l("up to 2,000 characters")),
)
TEMPLATE_ROW = (
    "张三",
    "13800000001",
    "售前;售后",
    "早班;晚班",
    "是",
    "88",
    "服装",
    "天猫;京东",
    "杭州",
    "12",
    "",
)


def _pool_filters() -> dict[str, str]:
    skill = request.args.get("skill", "")
    status = request.args.get("status", "")
    trained = request.args.get("basic_training_passed", "")
    return {
        "skill": skill if skill in SKILLS else "",
        "status": status if status in CANDIDATE_STATUSES else "",
        "basic_training_passed": trained if trained in ("true", "false") else "",
        "q": _text_arg("q"),
    }


@bp.get("/talent-pool")
@role_required(*READERS)
def talent_pool() -> Any:
    return _talent_pool_page()


def _talent_pool_page(import_result: Any = None, import_error: ApiError | None = None) -> str:
    page = _page_arg()
    filters = _pool_filters()
    listing = api().page("recruitment", "/candidates", page=page, per_page=PER_PAGE, **filters)
    return render_template(
        "vendor/talent_pool.html",
        candidates=listing.items,
        total=listing.total or 0,
        page=page,
        per_page=PER_PAGE,
        filters=filters,
        skills=SKILLS,
        shifts=SHIFTS,
        candidate_statuses=CANDIDATE_STATUSES,
        columns=IMPORT_COLUMNS,
        **_import_context(import_result, import_error),
    )


def _import_context(result: Any, error: ApiError | None) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    if error is not None:
        for row in error.problem.get("rows") or []:
            for column, messages in (row.get("errors") or {}).items():
                for message in messages if isinstance(messages, list) else [messages]:
                    rows.append({"line": row.get("line"), "column": column, "message": message})
    return {
        "import_result": result,
        "import_message": problem_message(error) if error is not None else None,
        "import_rows": rows,
    }


@bp.post("/talent-pool/import")
@role_required("vendor")
def import_candidates() -> Any:
    upload = request.files.get("file")
    error: ApiError | None = None
    result: Any = None
    if upload is None or not upload.filename:
        error = ApiError("recruitment", 422, {"detail": _("Choose a CSV or Excel file to import.")})
    else:
        try:
            result = (
                api()
                .call(
                    "recruitment",
                    "POST",
                    "/candidates/import",
                    files={"file": (upload.filename, upload.read(), upload.mimetype or "text/csv")},
                    params={"dry_run": "true" if request.form.get("dry_run") else None},
                )
                .data
            )
        except ApiError as err:
            if err.status == 401:
                raise
            error = err
    status = 200 if error is None else (error.status if error.status in (413, 415, 422) else 502)
    if is_htmx():
        # vendor.js posts the file itself (for the upload progress bar) and shows this fragment
        return render_template("vendor/_import_result.html", **_import_context(result, error)), status
    return _talent_pool_page(import_result=result, import_error=error), status


@bp.get("/talent-pool/template.csv")
@role_required(*READERS)
def import_template() -> Response:
    """An empty import file with the Chinese headers and one example row (UTF-8 with BOM, opens in Excel)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([chinese for _name, chinese, _req, _help in IMPORT_COLUMNS])
    writer.writerow(TEMPLATE_ROW)
    return Response(
        "\ufeff" + buffer.getvalue(),
        content_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="candidates-template.csv"; '
            "filename*=UTF-8''%E4%BA%BA%E6%89%8D%E5%BA%93%E6%A8%A1%E6%9D%BF.csv"
        },
    )


def _split(raw: str) -> list[str]:
    for separator in ",，、|":
        raw = raw.replace(separator, ";")
    return [part.strip() for part in raw.split(";") if part.strip()]


@bp.route("/talent-pool/new", methods=["GET", "POST"])
@role_required("vendor")
def new_candidate() -> Any:
    form: dict[str, Any] = {"skills": [], "shifts_available": [], "experience_months": "0"}
    message = None
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = {
            "name": request.form.get("name", "").strip(),
            "phone": request.form.get("phone", "").strip(),
            "skills": [s for s in request.form.getlist("skills") if s in SKILLS],
            "shifts_available": [s for s in request.form.getlist("shifts_available") if s in SHIFTS],
            "basic_training_passed": request.form.get("basic_training_passed") == "yes",
            "basic_score": request.form.get("basic_score", "").strip(),
            "city": request.form.get("city", "").strip(),
            "experience_months": request.form.get("experience_months", "").strip() or "0",
            "categories": request.form.get("categories", "").strip(),
            "platforms": request.form.get("platforms", "").strip(),
            "notes": request.form.get("notes", "").strip(),
        }
        body: dict[str, Any] = {
            **form,
            "categories": _split(form["categories"]),
            "platforms": _split(form["platforms"]),
            "city": form["city"] or None,
            "notes": form["notes"] or None,
            "experience_months": int(form["experience_months"])
            if form["experience_months"].isdigit()
            else -1,
        }
        try:
            created = api().post("recruitment", "/candidates", body)
        except ApiError as err:
            if err.status == 401:
                raise
            message, errors = problem_message(err), field_messages(err)
            status = err.status if err.status in (409, 422) else 502
        else:
            flash(_("%(name)s was added to the talent pool.", name=created.get("name", "")), "success")
            return redirect(url_for("vendor.talent_pool", q=created.get("phone") or created.get("name")))
    return (
        render_template(
            "vendor/new_candidate.html",
            form=form,
            message=message,
            errors=errors,
            skills=SKILLS,
            shifts=SHIFTS,
        ),
        status,
    )


# --- complaints (the ops pages own them) -----------------------------------------------------------------


@bp.get("/complaints")
@role_required(*READERS)
def complaints() -> Any:
    if "ops.complaints" in current_app.view_functions:
        return redirect(url_for("ops.complaints", **request.args))
    page = _page_arg()
    listing = api().page("complaints", "/complaints", page=page, per_page=PER_PAGE)
    return render_template(
        "vendor/complaints.html",
        complaints=listing.items,
        total=listing.total or 0,
        page=page,
        per_page=PER_PAGE,
    )


# --- system health (admin) -------------------------------------------------------------------------------

_PROBES = ThreadPoolExecutor(max_workers=12, thread_name_prefix="console-health")
#: the gauges of shared.web's PlatformCollector, and the consumer queue depth when a service exposes it
HEALTH_METRICS = (
    "outbox_pending_events",
    "outbox_oldest_pending_age_seconds",
    "dead_letter_queue_messages",
    "consumer_queue_messages",
)


SERVICE_LABELS = {
    "onboarding": _l("Orders (onboarding)"),
    "recruitment": _l("Recruitment"),
    "training": _l("Training and assessment service"),
    "scheduling": _l("Scheduling"),
    "complaints": _l("Complaints"),
    "billing": _l("Payroll (billing)"),
}


@dataclass
class ServiceHealth:
    service: str
    answered: bool = False
    ready: bool = False
    checks: dict[str, str] | None = None
    metrics_answered: bool = False
    values: dict[str, float] | None = None

    def value(self, name: str) -> int | None:
        if not self.values or name not in self.values:
            return None
        return math.ceil(self.values[name])


def _probe(client: httpx.Client, url: str) -> httpx.Response | None:
    try:
        return client.get(url, timeout=5.0)
    except httpx.HTTPError:
        return None


def parse_metrics(text: str, wanted: tuple[str, ...] = HEALTH_METRICS) -> dict[str, float]:
    """The unlabelled samples of ``wanted`` in a Prometheus text exposition (labelled ones are summed)."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in wanted:
                found[sample.name] = found.get(sample.name, 0.0) + float(sample.value)
    return found


@bp.get("/health")
@role_required()  # admin only
def health() -> Any:
    """Each service's /readyz and /metrics, all at once: a service that does not answer shows as such
    instead of holding the page up (5 s per probe)."""
    services = service_client()
    client = services.client()
    futures = {
        (name, kind): _PROBES.submit(_probe, client, f"{services.service_urls[name]}/{kind}")
        for name in SERVICES
        for kind in ("readyz", "metrics")
    }
    rows = []
    for name in SERVICES:
        row = ServiceHealth(name)
        ready = futures[(name, "readyz")].result()
        if ready is not None:
            row.answered = True
            row.ready = ready.status_code == 200
            try:
                row.checks = dict((ready.json() or {}).get("checks") or {})
            except ValueError:
                row.checks = None
        metrics = futures[(name, "metrics")].result()
        if metrics is not None and metrics.status_code == 200:
            row.answered = True
            row.metrics_answered = True
            try:
                row.values = parse_metrics(metrics.text)
            except ValueError:
                row.values = {}
        rows.append(row)
    template = "vendor/_health_rows.html" if is_htmx() else "vendor/health.html"
    return render_template(template, rows=rows, labels=SERVICE_LABELS)
