"""The merchant's pages (商家): my projects, the order wizard, FAQ sheet, materials, surges, complaints.

Every call goes through the services as the signed-in merchant (``api()``): the services decide what the
merchant may see (another merchant's project answers 404, which the error page shows), the console never
filters by merchant itself.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from services.console.bff import ApiError, Call, Reply
from services.console.checklist import FIELD_LABELS, SECTION_LABELS, missing_text
from services.console.i18n import _
from services.console.i18n import lazy_gettext as _l
from services.console.labels import (
    COMPLAINT_CATEGORIES,
    STATUS_LABELS,
)
from services.console.labels import COMPLAINT_HISTORY as COMPLAINT_EVENTS
from services.console.labels import COMPLAINT_LEVELS as LEVELS
from services.console.labels import COMPLAINT_SEVERITIES as SEVERITIES
from services.console.web import (
    api,
    field_messages,
    is_htmx,
    pass_through,
    pick,
    problem_message,
    role_required,
)
from shared.workdays import today_shanghai

bp = Blueprint("merchant", __name__, url_prefix="/merchant")

STATUS_LABELS.update(
    {
        # surges (scheduling)
        "accepted": _l("Accepted"),
        "rejected": _l("Rejected"),
        # complaints
        "open": _l("Open"),
        "in_progress": _l("In progress"),
        "waiting_customer": _l("Waiting for the customer"),
        "resolved": _l("Resolved"),
        "reopened": _l("Reopened"),
    }
)

SERVICE_TYPES: dict[str, Any] = {
    "presale": _l("Pre-sales"),
    "aftersale": _l("After-sales"),
    "both": _l("Pre-sales and after-sales"),
}
SIDES: dict[str, Any] = {"vendor": _l("The vendor (us)"), "merchant": _l("The merchant")}

HISTORY_ACTIONS: dict[str, Any] = {
    "created": _l("Created"),
    "updated": _l("Changed"),
    "submit": _l("Submitted"),
    "return": _l("Returned"),
    "confirm": _l("Confirmed"),
    "go-live": _l("Went live"),
    "close": _l("Closed"),
    "cancel": _l("Cancelled"),
    "faq_updated": _l("FAQ sheet changed"),
    "material_added": _l("Material added"),
    "material_deleted": _l("Material deleted"),
}


#: The wizard: one step per part of the order, in the checklist's order (basics takes two steps).
STEPS: tuple[tuple[str, Any, str, tuple[str, ...]], ...] = (
    (
        "merchant",
        _l("Merchant information"),
        "basics",
        ("merchant.company_name", "merchant.contact_name", "merchant.contact_phone", "merchant.liaison"),
    ),
    (
        "service",
        _l("Service"),
        "basics",
        ("service.type", "service.hours", "service.seats", "service.platform"),
    ),
    (
        "metrics",
        _l("Service metrics"),
        "metrics",
        (
            "metrics.daily_consultations",
            "metrics.first_response_seconds",
            "metrics.avg_response_seconds",
            "metrics.conversion_rate",
            "metrics.avg_order_value",
            "metrics.satisfaction_rate",
        ),
    ),
    (
        "training",
        _l("Training and assessment"),
        "training",
        ("training.trainer", "training.assessor", "training.requirements"),
    ),
    ("go_live", _l("Go-live date"), "go_live", ("go_live_date",)),
    ("qa", _l("Quality inspection"), "qa", ("qa.merchant_standard", "qa.standard")),
    ("notes", _l("Other requests"), "other", ("notes",)),
)
STEP_KEYS = tuple(step[0] for step in STEPS)
INTEGER_FIELDS = frozenset(
    {
        "service.seats",
        "metrics.daily_consultations",
        "metrics.first_response_seconds",
        "metrics.avg_response_seconds",
    }
)
#: The FAQ sheet is editable while the order is still being settled (onboarding's rule).
FAQ_EDITABLE = frozenset({"draft", "submitted", "returned"})
#: Blank rows offered for the shop's own questions (more are added by the "add a question" button).
BLANK_OWN_ROWS = 3


@bp.context_processor
def _merchant_helpers() -> dict[str, Any]:
    return {
        "section_label": lambda key: str(SECTION_LABELS.get(key, key)),
        "field_label": lambda name: str(FIELD_LABELS.get(name, name)),
        "complaint_event": lambda kind: str(COMPLAINT_EVENTS.get(kind, kind)),
        "missing_text": missing_text,
    }


# --- helpers ---------------------------------------------------------------------------------------------


def _etag(version: Any) -> str:
    return f'"{version}"'


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _integer(value: str | None) -> Any:
    """Digits become an integer; anything else goes to the service as typed, which names the problem."""
    text = _clean(value)
    if text is None:
        return None
    return int(text) if text.isdigit() else text


def _set(target: dict[str, Any], path: str, value: Any) -> None:
    head, _dot, rest = path.partition(".")
    if not rest:
        target[head] = value
        return
    _set(target.setdefault(head, {}), rest, value)


def step_payload(step: str, form: Mapping[str, str]) -> dict[str, Any]:
    """The nested JSON of one wizard step from its form fields (an empty field clears the value)."""
    fields = next(s[3] for s in STEPS if s[0] == step)
    payload: dict[str, Any] = {}
    for path in fields:
        if path == "service.hours":
            start, end = _clean(form.get("service.hours.start")), _clean(form.get("service.hours.end"))
            hours = None
            if start or end:
                hours = {
                    "start": start or "",
                    "end": end or "",
                    "overnight": bool(form.get("service.hours.overnight")),
                }
            _set(payload, path, hours)
        elif path == "qa.merchant_standard":
            choice = form.get(path, "")
            _set(payload, path, {"yes": True, "no": False}.get(choice))
        elif path in INTEGER_FIELDS:
            _set(payload, path, _integer(form.get(path)))
        else:
            _set(payload, path, _clean(form.get(path)))
    return payload


def _prune(data: dict[str, Any]) -> dict[str, Any]:
    """Without the empty values (a new draft sends only what was filled in)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            value = _prune(value) if key != "hours" else value
            if not value:
                continue
        if value is None:
            continue
        out[key] = value
    return out


def _form_values(project: Mapping[str, Any] | None) -> dict[str, Any]:
    """The project's current values under the form's field names."""
    values: dict[str, Any] = {}
    for path in FIELD_LABELS:
        values[path] = pick(project, *path.split("."), default="")
    hours = pick(project, "service", "hours") or {}
    values["service.hours.start"] = hours.get("start", "")
    values["service.hours.end"] = hours.get("end", "")
    values["service.hours.overnight"] = bool(hours.get("overnight"))
    standard = pick(project, "qa", "merchant_standard")
    values["qa.merchant_standard"] = {True: "yes", False: "no"}.get(standard, "")
    return values


def problem_of(error: ApiError) -> str:
    if error.status == 412:
        return _(
            "Someone changed this order meanwhile; the page now shows the current values. "
            "Apply your change again."
        )
    return problem_message(error)


def _fragment_or_page(template: str, fragment: str, status: int = 200, **context: Any) -> Any:
    return render_template(fragment if is_htmx() else template, **context), status


def _labelled(mapping: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(key, str(label)) for key, label in mapping.items()]


def _step_index(step: str) -> int:
    if step not in STEP_KEYS:
        abort(404)
    return STEP_KEYS.index(step)


def _ok(reply: Reply | ApiError) -> Reply:
    """A widget's result, or its error raised (the page cannot be shown without it)."""
    if isinstance(reply, ApiError):
        raise reply
    return reply


def _load(project_id: str, *extra: str) -> dict[str, Any]:
    """The project and its checklist (and any of history/materials/faq), in parallel."""
    base = f"/projects/{project_id}"
    calls = {"project": Call("onboarding", base), "checklist": Call("onboarding", f"{base}/checklist")}
    paths = {
        "history": (f"{base}/history", {"per_page": 200}),
        "materials": (f"{base}/materials", {"per_page": 200}),
        "faq": (f"{base}/faq", None),
    }
    for name in extra:
        path, params = paths[name]
        calls[name] = Call("onboarding", path, params=params)
    results = api().gather(calls)
    project_reply = _ok(results["project"])
    data: dict[str, Any] = {"project": project_reply.data}
    for name in ("checklist", *extra):
        reply = _ok(results[name])
        data[name] = reply.items if name in ("history", "materials") else reply.data
    return data


def _sections_done(checklist: Mapping[str, Any] | None) -> int:
    return sum(1 for section in (checklist or {}).get("sections", []) if section.get("complete"))


# --- my projects -----------------------------------------------------------------------------------------


@bp.get("/projects")
@role_required("merchant")
def projects() -> Any:
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    reply = api().page("onboarding", "/projects", page=page, per_page=20, with_checklist="true")
    return render_template(
        "merchant/projects.html", projects=reply.items, total=reply.total, page=page, per_page=20
    )


# --- the order wizard ------------------------------------------------------------------------------------


def _wizard(
    step: str,
    *,
    project: Mapping[str, Any] | None,
    checklist: Mapping[str, Any] | None,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    message: str | None = None,
    status: int = 200,
) -> Any:
    index = _step_index(step)
    return (
        render_template(
            "merchant/wizard.html",
            steps=STEPS,
            step=step,
            index=index,
            title=STEPS[index][1],
            fields=STEPS[index][3],
            project=project,
            checklist=checklist,
            values=values if values is not None else _form_values(project),
            errors=errors or {},
            message=message,
            labels=FIELD_LABELS,
            service_types=[("", _("Choose…")), *_labelled(SERVICE_TYPES)],
            sides=[("", _("Choose…")), *_labelled(SIDES)],
            idempotency_key=str(uuid.uuid4()),
            today=today_shanghai().isoformat(),
        ),
        status,
    )


@bp.route("/projects/new", methods=["GET", "POST"])
@role_required("merchant")
def new_project() -> Any:
    """Step 1 creates the draft (POST /projects); the next steps PATCH it."""
    if request.method == "GET":
        return _wizard("merchant", project=None, checklist=None)
    payload = _prune(step_payload("merchant", request.form))
    key = request.form.get("idempotency_key") or str(uuid.uuid4())
    try:
        created = api().post("onboarding", "/projects", payload, headers={"Idempotency-Key": key})
    except ApiError as err:
        values = {**_form_values(None), **request.form.to_dict()}
        return _wizard(
            "merchant",
            project=None,
            checklist=None,
            values=values,
            errors=field_messages(err),
            message=problem_of(err),
            status=err.status if err.status < 500 else 502,
        )
    flash(_("The draft order is saved. Continue with the next step."), "success")
    return redirect(url_for("merchant.edit_step", project_id=created["id"], step=STEP_KEYS[1]))


@bp.route("/projects/<project_id>/edit/<step>", methods=["GET", "POST"])
@role_required("merchant")
def edit_step(project_id: str, step: str) -> Any:
    index = _step_index(step)
    if request.method == "GET":
        data = _load(project_id)
        return _wizard(step, project=data["project"], checklist=data["checklist"])
    try:
        api().patch(
            "onboarding",
            f"/projects/{project_id}",
            step_payload(step, request.form),
            headers={"If-Match": _etag(request.form.get("version", ""))},
        )
    except ApiError as err:
        if err.status in (401, 404):
            raise
        data = _load(project_id)
        values = {**_form_values(data["project"]), **request.form.to_dict()}
        if err.status == 412:
            values = _form_values(data["project"])
        return _wizard(
            step,
            project=data["project"],
            checklist=data["checklist"],
            values=values,
            errors=field_messages(err),
            message=problem_of(err),
            status=err.status if err.status < 500 else 502,
        )
    if request.form.get("go") == "back" and index > 0:
        return redirect(url_for("merchant.edit_step", project_id=project_id, step=STEP_KEYS[index - 1]))
    if index + 1 < len(STEPS):
        return redirect(url_for("merchant.edit_step", project_id=project_id, step=STEP_KEYS[index + 1]))
    flash(
        _("The order is saved. Upload the training materials and answer the FAQ sheet, then submit."),
        "success",
    )
    return redirect(url_for("merchant.project", project_id=project_id))


@bp.post("/projects/<project_id>/edit/<step>/autosave")
@role_required("merchant")
def autosave(project_id: str, step: str) -> Any:
    """htmx, after each field change: save the step's fields, answer the checklist as it is now."""
    _step_index(step)
    message = None
    errors: dict[str, str] = {}
    try:
        api().patch(
            "onboarding",
            f"/projects/{project_id}",
            step_payload(step, request.form),
            headers={"If-Match": _etag(request.form.get("version", ""))},
        )
    except ApiError as err:
        if err.status in (401, 404):
            raise
        message, errors = problem_of(err), field_messages(err)
    data = _load(project_id)
    return render_template(
        "merchant/_checklist_live.html",
        project=data["project"],
        checklist=data["checklist"],
        message=message,
        errors=errors,
        labels=FIELD_LABELS,
    )


@bp.get("/projects/<project_id>/checklist")
@role_required("merchant")
def checklist_panel(project_id: str) -> Any:
    checklist = api().get("onboarding", f"/projects/{project_id}/checklist")
    return render_template("merchant/_checklist.html", checklist=checklist)


# --- project detail --------------------------------------------------------------------------------------


@bp.get("/projects/<project_id>")
@role_required("merchant")
def project(project_id: str) -> Any:
    data = _load(project_id, "history", "materials")
    return _project_page(data)


def _project_page(
    data: Mapping[str, Any], *, message: str | None = None, missing: Any = None, status: int = 200
) -> Any:
    return (
        render_template(
            "merchant/project.html",
            project=data["project"],
            checklist=data["checklist"],
            history=data["history"],
            materials=data["materials"],
            message=message,
            refused_missing=missing,
            steps=STEPS,
            labels=FIELD_LABELS,
            service_types=SERVICE_TYPES,
            sides=SIDES,
            actions=HISTORY_ACTIONS,
            sections_done=_sections_done(data["checklist"]),
        ),
        status,
    )


@bp.post("/projects/<project_id>/submit")
@role_required("merchant")
def submit(project_id: str) -> Any:
    try:
        api().post(
            "onboarding",
            f"/projects/{project_id}/submit",
            headers={
                "If-Match": _etag(request.form.get("version", "")),
                "Idempotency-Key": str(uuid.uuid4()),
            },
        )
    except ApiError as err:
        if err.status in (401, 404):
            raise
        data = _load(project_id, "history", "materials")
        missing = err.problem.get("missing") if isinstance(err.problem.get("missing"), Mapping) else None
        message = (
            _("The order cannot be submitted yet: some sections of the checklist are incomplete.")
            if err.problem.get("rule") == "checklist-incomplete"
            else problem_of(err)
        )
        return _project_page(
            data, message=message, missing=missing, status=err.status if err.status < 500 else 502
        )
    flash(_("The order is submitted. The vendor reviews it and confirms it or returns it to you."), "success")
    return redirect(url_for("merchant.project", project_id=project_id))


# --- FAQ sheet -------------------------------------------------------------------------------------------


def _faq_rows(faq: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    standard = [dict(item) for item in faq.get("standard", [])]
    own = [dict(item) for item in faq.get("custom", [])]
    return standard, own


def _faq_from_form(
    form: Any,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[int], list[int]]:
    """The sheet to PUT, the rows as typed (to show them again), which form row each own question sent
    is, and the own rows with an answer but no question."""
    keys = form.getlist("std_key")
    standard_rows, standard = [], []
    for i, key in enumerate(keys):
        answer = _clean(form.get(f"std_answer_{i}"))
        not_applicable = bool(form.get(f"std_na_{i}"))
        standard_rows.append(
            {
                "key": key,
                "answer": answer or "",
                "not_applicable": not_applicable,
                "question": form.get(f"std_q_{i}", ""),
                "hint": form.get(f"std_hint_{i}", ""),
            }
        )
        item: dict[str, Any] = {"key": key, "not_applicable": not_applicable}
        if answer is not None:
            item["answer"] = answer
        standard.append(item)
    own_rows, own, own_index, own_missing = [], [], [], []
    count = form.get("own_count", 0, type=int) or 0
    for i in range(min(count, 400)):
        question, answer = _clean(form.get(f"own_q_{i}")), _clean(form.get(f"own_a_{i}"))
        removed = bool(form.get(f"own_del_{i}"))
        own_rows.append({"question": question or "", "answer": answer or "", "removed": removed})
        if removed or (question is None and answer is None):
            continue
        if question is None:
            # the service would store an answer without its question; say so beside the row instead
            own_missing.append(i)
            continue
        entry: dict[str, Any] = {"question": question or ""}
        if answer is not None:
            entry["answer"] = answer
        own.append(entry)
        own_index.append(i)
    return {"standard": standard, "custom": own}, standard_rows, own_rows, own_index, own_missing


def _row_errors(errors: Mapping[str, str], group: str, index_map: list[int] | None = None) -> dict[int, str]:
    """``standard.3.answer`` → {3: "…"}; for own questions the sent index is mapped back to the form row."""
    out: dict[int, str] = {}
    for name, message in errors.items():
        parts = name.split(".")
        if len(parts) >= 2 and parts[0] == group and parts[1].isdigit():
            sent = int(parts[1])
            row = index_map[sent] if index_map is not None and sent < len(index_map) else sent
            out[row] = f"{out[row]}; {message}" if row in out else message
    return out


def _faq_page(
    project: Mapping[str, Any],
    faq: Mapping[str, Any],
    standard_rows: list[dict[str, Any]],
    own_rows: list[dict[str, Any]],
    *,
    message: str | None = None,
    std_errors: Mapping[int, str] | None = None,
    own_errors: Mapping[int, str] | None = None,
    status: int = 200,
) -> Any:
    return (
        render_template(
            "merchant/faq.html",
            project=project,
            faq=faq,
            standard_rows=standard_rows,
            own_rows=own_rows + [{"question": "", "answer": "", "removed": False}] * BLANK_OWN_ROWS,
            editable=project.get("status") in FAQ_EDITABLE,
            message=message,
            std_errors=std_errors or {},
            own_errors=own_errors or {},
        ),
        status,
    )


@bp.get("/projects/<project_id>/faq")
@role_required("merchant")
def faq(project_id: str) -> Any:
    results = api().gather(
        {
            "project": Call("onboarding", f"/projects/{project_id}"),
            "faq": Call("onboarding", f"/projects/{project_id}/faq"),
        }
    )
    project_data, sheet = _ok(results["project"]).data, _ok(results["faq"]).data
    standard_rows, own_rows = _faq_rows(sheet)
    return _faq_page(project_data, sheet, standard_rows, own_rows)


@bp.post("/projects/<project_id>/faq")
@role_required("merchant")
def save_faq(project_id: str) -> Any:
    body, standard_rows, own_rows, own_index, own_missing = _faq_from_form(request.form)
    try:
        if own_missing:
            raise ApiError(
                "onboarding",
                422,
                {
                    "errors": {
                        f"own.{row}": [_("Write the question, or clear its answer.")] for row in own_missing
                    }
                },
            )
        api().put(
            "onboarding",
            f"/projects/{project_id}/faq",
            body,
            headers={"If-Match": f'"faq-{request.form.get("faq_version", "")}"'},
        )
    except ApiError as err:
        if err.status in (401, 404):
            raise
        results = api().gather(
            {
                "project": Call("onboarding", f"/projects/{project_id}"),
                "faq": Call("onboarding", f"/projects/{project_id}/faq"),
            }
        )
        project_data, sheet = _ok(results["project"]).data, _ok(results["faq"]).data
        if err.status == 412:
            standard_rows, own_rows = _faq_rows(sheet)
        errors = field_messages(err)
        return _faq_page(
            project_data,
            sheet,
            standard_rows,
            own_rows,
            message=problem_of(err),
            std_errors=_row_errors(errors, "standard"),
            own_errors={**_row_errors(errors, "custom", own_index), **_row_errors(errors, "own")},
            status=err.status if err.status < 500 else 502,
        )
    flash(_("The FAQ sheet is saved."), "success")
    return redirect(url_for("merchant.faq", project_id=project_id))


# --- materials -------------------------------------------------------------------------------------------


def _materials_context(project_id: str) -> dict[str, Any]:
    data = _load(project_id, "materials")
    return {
        "project": data["project"],
        "checklist": data["checklist"],
        "materials": data["materials"],
        "max_mb": _max_upload_mb(),
    }


def _max_upload_mb() -> int:
    from flask import current_app

    return max(current_app.extensions["console.settings"].max_upload_bytes // (1024 * 1024), 1)


@bp.get("/projects/<project_id>/materials")
@role_required("merchant")
def materials(project_id: str) -> Any:
    return render_template("merchant/materials.html", **_materials_context(project_id), message=None)


@bp.post("/projects/<project_id>/materials")
@role_required("merchant")
def upload_material(project_id: str) -> Any:
    """Each file goes on to onboarding as multipart; a refusal (413/415/422) is shown in words."""
    uploads = [f for f in request.files.getlist("file") if f and f.filename]
    message = None
    status = 200
    done: list[str] = []
    if not uploads:
        message, status = _("Choose a file to upload."), 422
    for upload in uploads:
        try:
            api().call(
                "onboarding",
                "POST",
                f"/projects/{project_id}/materials",
                files={
                    "file": (upload.filename, upload.stream, upload.mimetype or "application/octet-stream")
                },
            )
        except ApiError as err:
            if err.status in (401, 404):
                raise
            message = _("%(name)s: %(problem)s", name=upload.filename, problem=problem_of(err))
            status = err.status if err.status < 500 else 502
            break
        done.append(str(upload.filename))
    if is_htmx():
        context = _materials_context(project_id)
        return render_template("merchant/_materials_list.html", **context, message=message), status
    if message is None:
        flash(_("Uploaded: %(names)s", names=", ".join(done)), "success")
        return redirect(url_for("merchant.materials", project_id=project_id))
    if done:
        flash(_("Uploaded: %(names)s", names=", ".join(done)), "success")
    return render_template(
        "merchant/materials.html", **_materials_context(project_id), message=message
    ), status


@bp.get("/projects/<project_id>/materials/<material_id>")
@role_required("merchant")
def download_material(project_id: str, material_id: str) -> Response:
    # nosniff, as on every console answer (app.py)
    return pass_through(api().call("onboarding", "GET", f"/projects/{project_id}/materials/{material_id}"))


@bp.post("/projects/<project_id>/materials/complete")
@role_required("merchant")
def materials_complete(project_id: str) -> Any:
    complete = request.form.get("complete") == "1"
    try:
        api().patch(
            "onboarding",
            f"/projects/{project_id}",
            {"materials": {"complete": complete}},
            headers={"If-Match": _etag(request.form.get("version", ""))},
        )
    except ApiError as err:
        if err.status in (401, 404):
            raise
        context = _materials_context(project_id)
        return render_template("merchant/materials.html", **context, message=problem_of(err)), err.status
    flash(
        _("The training materials are marked complete.")
        if complete
        else _("The training materials are marked incomplete."),
        "success",
    )
    return redirect(url_for("merchant.materials", project_id=project_id))


# --- surges ----------------------------------------------------------------------------------------------


def _increase(raw: str | None) -> Decimal | None:
    """The typed increase as a positive number, or None (nothing to ask about yet)."""
    try:
        pct = Decimal((raw or "").strip())
    except InvalidOperation:
        return None
    return pct if pct.is_finite() and pct > 0 else None


def _surge_rule_call(increase: str | None) -> Call:
    """Scheduling's notice rule (``GET /surges/rule``), with what it says of ``increase`` when one is typed:
    the console states the rule, it does not apply it."""
    pct = _increase(increase)
    return Call("scheduling", "/surges/rule", params={"increase_pct": str(pct)} if pct is not None else None)


def surge_rule(increase: str | None = None) -> dict[str, Any]:
    call = _surge_rule_call(increase)
    return api().get(call.service, call.path, **(call.params or {}))


def rule_text(rule: Mapping[str, Any]) -> dict[str, Any]:
    """The rule's figures as the surges page states them."""
    return {
        "small_pct": rule["small_pct"],
        "small_days": rule["small_notice_days"],
        "large_pct": rule["large_pct"],
        "large_days": rule["large_notice_days"],
        "max_days": rule["max_roster_days"],
    }


def earliest_surge_start(rule: Mapping[str, Any]) -> dict[str, Any]:
    """What the rule says for the asked increase: the notice it needs and the earliest start, or why not."""
    if rule.get("increase_pct") is None or rule.get("allowed") is None:
        return {"state": "empty"}
    if not rule["allowed"]:
        return {"state": "above", "limit": Decimal(rule["large_pct"])}
    return {
        "state": "ok",
        "pct": Decimal(rule["increase_pct"]),
        "notice": rule["required_notice_days"],
        "earliest": dt.date.fromisoformat(rule["earliest_start"]),
    }


def _surges_page(
    project_id: str,
    *,
    values: Mapping[str, Any] | None = None,
    message: str | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
    rule: Mapping[str, Any] | None = None,
) -> Any:
    values = values or {}
    calls = {
        "project": Call("onboarding", f"/projects/{project_id}"),
        "surges": Call("scheduling", f"/projects/{project_id}/surges", params={"per_page": 50}),
    }
    if rule is None:
        calls["rule"] = _surge_rule_call(values.get("increase_pct"))
    results = api().gather(calls)
    project_data = _ok(results["project"]).data
    if rule is None:
        rule = _ok(results["rule"]).data
    surges_reply = results["surges"]
    surges: list[dict[str, Any]] = []
    available = True
    if isinstance(surges_reply, ApiError):
        # scheduling learns of a project from its confirmation: before that it does not know it (404)
        if surges_reply.status not in (404, 409):
            raise surges_reply
        available = False
    else:
        surges = surges_reply.items
    return (
        render_template(
            "merchant/surges.html",
            project=project_data,
            surges=surges,
            available=available and project_data.get("status") in ("confirmed", "live"),
            rule=rule_text(rule),
            values=values,
            earliest=earliest_surge_start(rule),
            message=message,
            errors=errors or {},
            today=today_shanghai().isoformat(),
            idempotency_key=str(uuid.uuid4()),
        ),
        status,
    )


@bp.get("/projects/<project_id>/surges")
@role_required("merchant")
def surges(project_id: str) -> Any:
    return _surges_page(project_id)


@bp.get("/projects/<project_id>/surges/earliest")
@role_required("merchant")
def surge_earliest(project_id: str) -> Any:
    """htmx, as the merchant types the increase: the earliest start the rule allows for it."""
    increase = request.args.get("increase_pct")
    rule = surge_rule(increase) if _increase(increase) is not None else {}  # nothing typed: nothing to ask
    return render_template("merchant/_surge_earliest.html", earliest=earliest_surge_start(rule))


@bp.post("/projects/<project_id>/surges")
@role_required("merchant")
def request_surge(project_id: str) -> Any:
    form = request.form
    body: dict[str, Any] = {
        "start_date": _clean(form.get("start_date")),
        "end_date": _clean(form.get("end_date")),
        "increase_pct": _clean(form.get("increase_pct")),
    }
    if _clean(form.get("note")):
        body["note"] = _clean(form.get("note"))
    try:
        created = api().post(
            "scheduling",
            f"/projects/{project_id}/surges",
            body,
            headers={"Idempotency-Key": form.get("idempotency_key") or str(uuid.uuid4())},
        )
    except ApiError as err:
        if err.status in (401, 404):
            raise
        rule = surge_rule(form.get("increase_pct"))
        return _surges_page(
            project_id,
            values=form.to_dict(),
            message=surge_refusal(err, rule),
            errors=field_messages(err),
            status=err.status if err.status < 500 else 502,
            rule=rule,
        )
    flash(
        _(
            "The surge is accepted: %(extra)s extra seats, %(covered)s covered by reserve agents.",
            extra=created.get("extra_seats", 0),
            covered=created.get("covered", 0),
        ),
        "success",
    )
    return redirect(url_for("merchant.surges", project_id=project_id))


def surge_refusal(error: ApiError, rule: Mapping[str, Any]) -> str:
    """Scheduling's refusal, stated with the rule in the reader's language."""
    from services.console.i18n import format_day

    problem = error.problem
    rule = problem.get("rule")
    if rule == "surge-notice":
        return _(
            "Refused: this increase needs %(required)s days' notice, the surge starts in %(notice)s days. "
            "The earliest possible start is %(day)s.",
            required=problem.get("required_notice_days", ""),
            notice=problem.get("notice_days", ""),
            day=format_day(problem.get("earliest_start_date")),
        )
    if rule == "surge-above-limit":
        return _(
            "Refused: an increase above %(limit)s%% cannot be covered by the reserve; place a new order for "
            "the extra seats.",
            limit=rule["large_pct"],
        )
    if rule == "surge-overlap":
        return _(
            "Refused: an accepted surge already covers some of these dates; surges are not added up. Choose "
            "other dates or ask the vendor to replace it."
        )
    if rule == "project-closed":
        return _("Refused: the project is closed.")
    return problem_of(error)


# --- complaints ------------------------------------------------------------------------------------------


@bp.get("/complaints")
@role_required("merchant")
def complaints() -> Any:
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    project_id = request.args.get("project_id") or None
    status = request.args.get("status") or None
    results = api().gather(
        {
            "complaints": Call(
                "complaints",
                "/complaints",
                params={
                    k: v
                    for k, v in {
                        "project_id": project_id,
                        "status": status,
                        "page": page,
                        "per_page": 20,
                    }.items()
                    if v
                },
            ),
            "projects": Call("onboarding", "/projects", params={"per_page": 200}),
        }
    )
    listed = _ok(results["complaints"])
    projects_reply = results["projects"]
    names: dict[str, str] = {}
    if not isinstance(projects_reply, ApiError):
        names = {
            p["id"]: pick(p, "merchant", "company_name", default=p["id"][:8]) for p in projects_reply.items
        }
    return render_template(
        "merchant/complaints.html",
        complaints=listed.items,
        total=listed.total,
        page=page,
        per_page=20,
        names=names,
        project_id=project_id or "",
        status=status or "",
        statuses=["open", "in_progress", "waiting_customer", "resolved", "reopened", "closed"],
        categories=COMPLAINT_CATEGORIES,
        severities=SEVERITIES,
    )


@bp.get("/complaints/<complaint_id>")
@role_required("merchant")
def complaint(complaint_id: str) -> Any:
    found = api().get("complaints", f"/complaints/{complaint_id}")
    return render_template(
        "merchant/complaint.html",
        complaint=found,
        categories=COMPLAINT_CATEGORIES,
        severities=SEVERITIES,
        levels=LEVELS,
    )
