"""Training pages: cohorts, one cohort (start / complete / admission results), its courseware (the trainer
builds it, the merchant confirms or rejects it) and the assessment grid of a whole cohort.

Everything goes through the training service; the service enforces who may do what (a merchant only sees
its own projects, only the trainer records scores, only the merchant its own verdict). The pages only show
each role the controls the service would accept from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from services.console.bff import ApiError, Call, Reply
from services.console.i18n import _
from services.console.i18n import lazy_gettext as _l
from services.console.labels import STATUS_LABELS
from services.console.web import api, pass_through, problem_message, role_required

bp = Blueprint("trainer", __name__, url_prefix="/trainer")

SERVICE = "training"
READERS = ("trainer", "vendor", "merchant", "supervisor")
TRAINERS = ("trainer", "vendor")
PER_PAGE = 20

# Statuses only training uses go into the shared labels; words other areas also use for something else
# (pending, passed, failed, rejected) stay in this area's own table below.
STATUS_LABELS.update(
    {
        "planned": _l("Planned"),
        "in_training": _l("In training"),
        "assessing": _l("Assessing"),
        "completed": _l("Completed"),
        "enrolled": _l("In training"),
        "admitted": _l("Admitted"),
        "passed_waitlisted": _l("Passed, waitlisted"),
        "not_assessed": _l("Not assessed"),
        "withdrawn": _l("Withdrawn"),
    }
)

TRAINING_LABELS: dict[str, Any] = {
    "planned": _l("Planned"),
    "in_training": _l("In training"),
    "assessing": _l("Assessing"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
    "enrolled": _l("In training"),
    "passed": _l("Passed"),
    "failed": _l("Failed"),
    "pending": _l("Pending"),
    "undecided": _l("Not decided yet"),
    "admitted": _l("Admitted"),
    "passed_waitlisted": _l("Passed, waitlisted"),
    "not_assessed": _l("Not assessed"),
    "withdrawn": _l("Withdrawn"),
    "confirmed": _l("Confirmed"),
    "rejected": _l("Rejected"),
}
COHORT_STATUSES = ("planned", "in_training", "assessing", "completed", "cancelled")
TOPIC_LABELS: dict[str, Any] = {
    "project": _l("Project overview"),
    "business": _l("Business knowledge"),
    "industry": _l("Industry knowledge"),
    "scripts": _l("Scripts"),
    "cases": _l("Case studies"),
    "faq": _l("FAQ categories"),
    "qa": _l("Quality requirements"),
}
ASSESSOR_LABELS: dict[str, Any] = {"merchant": _l("Trainer and merchant"), "vendor": _l("Trainer only")}
#: trainees the service still accepts assessments for
ASSESSABLE = ("enrolled", "passed", "failed")
TRAINER_FIELDS = ("quiz_score", "simulation_score", "trainer_passed", "notes")
MERCHANT_FIELDS = ("merchant_passed", "notes")

#: The service's business rules (problem ``rule``), as the reader knows them.
RULE_MESSAGES: dict[str, Any] = {
    "courseware-confirmed": _l("The merchant has to confirm the courseware first."),
    "courseware-items": _l("Add at least one courseware item before the merchant decides."),
    "cohort-started": _l("Training has not started yet, or has already started."),
    "cohort-completed": _l("The cohort is completed; its results are final."),
    "cohort-cancelled": _l("The cohort was cancelled because its project was closed."),
    "merchant-assessment": _l("This project is assessed by the trainer only; the merchant gives no verdict."),
    "trainee-assessable": _l("This trainee can no longer be assessed."),
    "project-confirmed": _l("The project's confirmation has not reached training yet."),
}
START_BLOCKERS: tuple[tuple[str, Any], ...] = (
    ("project's confirmation", _l("the project's confirmation")),
    ("courseware", _l("the merchant's confirmation of the courseware")),
    ("no trainees", _l("enrolled trainees")),
)
#: English messages of the service's field validation (substring → msgid), for per-cell messages.
FIELD_MESSAGES: tuple[tuple[str, Any], ...] = (
    ("Must be a number", _l("Enter a number.")),
    ("between 0 and 100", _l("Enter a score from 0 to 100.")),
    ("decimal places", _l("At most two decimal places.")),
    ("Not a valid boolean", _l("Choose pass or fail.")),
    ("Missing data for required field", _l("Required.")),
    ("Not a valid URL", _l("Enter a web address starting with http:// or https://.")),
    ("A link item needs its url", _l("Enter a web address starting with http:// or https://.")),
    ("Length must be between", _l("Too long, or empty.")),
    ("Longer than maximum length", _l("Too long.")),
    ("Shorter than minimum length", _l("Required.")),
    ("Must be one of", _l("Choose one of the options.")),
    ("not a trainee of this cohort", _l("Not a trainee of this cohort.")),
    ("only trainees still in training", _l("This trainee can no longer be assessed.")),
    ("appears twice", _l("This trainee appears twice.")),
    ("Attach the courseware file", _l("Choose a file.")),
)


def label(value: Any) -> str:
    return str(TRAINING_LABELS.get(value, value or ""))


@bp.app_template_filter("training_label")
def _training_label_filter(value: Any) -> str:
    return label(value)


@bp.app_template_filter("topic_label")
def _topic_label_filter(value: Any) -> str:
    return str(TOPIC_LABELS.get(value, value))


def field_message(message: str) -> str:
    for needle, msgid in FIELD_MESSAGES:
        if needle in message:
            return str(msgid)
    return message


def training_problem(error: ApiError) -> str:
    """The reader's sentence for a refusal: the service's rule when it names one, else the generic one."""
    rule = error.problem.get("rule")
    if rule == "cohort-start":
        missing = [
            str(msgid)
            for needle, msgid in START_BLOCKERS
            for m in error.problem.get("missing") or []
            if needle in m
        ]
        if missing:
            return _("Training cannot start yet. Missing: %(missing)s.", missing=_(", ").join(missing))
    if rule in RULE_MESSAGES:
        return str(RULE_MESSAGES[rule])
    return problem_message(error)


def is_trainer() -> bool:
    return current_user.role in (*TRAINERS, "admin")


def is_merchant() -> bool:
    return current_user.role == "merchant"


def _data(reply: Reply | ApiError) -> Any:
    if isinstance(reply, ApiError):
        raise reply
    return reply.data


# --- cohorts ------------------------------------------------------------------------------------------------


@bp.get("/cohorts")
@role_required(*READERS)
def cohorts() -> str:
    page = max(1, request.args.get("page", 1, type=int) or 1)
    project_id = (request.args.get("project_id") or "").strip()
    status = request.args.get("status") or ""
    if status not in COHORT_STATUSES:
        status = ""
    listing = api().page(
        SERVICE, "/cohorts", page=page, per_page=PER_PAGE, project_id=project_id, status=status
    )
    return render_template(
        "trainer/cohorts.html",
        cohorts=listing.items,
        total=listing.total,
        page=page,
        per_page=PER_PAGE,
        project_id=project_id,
        status=status,
        statuses=[("", _("All statuses"))] + [(s, label(s)) for s in COHORT_STATUSES],
    )


@bp.get("/cohorts/<cohort_id>")
@role_required(*READERS)
def cohort(cohort_id: str) -> str:
    replies = api().gather(
        {
            "cohort": Call(SERVICE, f"/cohorts/{cohort_id}"),
            "progress": Call(SERVICE, f"/cohorts/{cohort_id}/progress"),
        }
    )
    detail = _data(replies["cohort"])
    progress = _data(replies["progress"])
    trainees = detail.get("trainees") or []
    admitted = sorted((t for t in trainees if t["status"] == "admitted"), key=lambda t: t.get("rank") or 0)
    waitlisted = sorted(
        (t for t in trainees if t["status"] == "passed_waitlisted"), key=lambda t: t.get("rank") or 0
    )
    others = [t for t in trainees if t["status"] not in ("admitted", "passed_waitlisted")]
    return render_template(
        "trainer/cohort.html",
        cohort=detail,
        progress=progress,
        trainees=trainees,
        admitted=admitted,
        waitlisted=waitlisted,
        not_admitted=[(t, reasons_for(t, detail)) for t in others],
        can_act=is_trainer(),
        is_merchant=is_merchant(),
        can_withdraw=is_trainer() and detail.get("status") != "cancelled",
        assessor_label=str(ASSESSOR_LABELS.get(detail.get("assessor") or "", _("Not known yet"))),
    )


@bp.post("/cohorts/<cohort_id>/start")
@role_required(*TRAINERS)
def start(cohort_id: str) -> Response:
    return _action(cohort_id, "start", _("Training started."))


@bp.post("/cohorts/<cohort_id>/complete")
@role_required(*TRAINERS)
def complete(cohort_id: str) -> Response:
    return _action(cohort_id, "complete", _("The cohort is completed; admission is decided."))


def _action(cohort_id: str, action: str, done: str) -> Response:
    try:
        api().post(SERVICE, f"/cohorts/{cohort_id}/{action}")
    except ApiError as err:
        if err.status in (401, 404):
            raise
        flash(training_problem(err), "error")
    else:
        flash(done, "success")
    return redirect(url_for("trainer.cohort", cohort_id=cohort_id))


def _fmt(value: Any) -> str:
    number = Decimal(str(value))
    return format(number.normalize(), "f") if number == number.to_integral() else format(number, "f")


def reasons_for(trainee: Mapping[str, Any], cohort: Mapping[str, Any]) -> list[str]:
    """Why a trainee was not admitted, in the reader's language (from the data, not the service's English)."""
    status = trainee.get("status")
    if status == "withdrawn":
        reason = trainee.get("withdrawal_reason") or ""
        return [_("Withdrew: %(reason)s", reason=reason) if reason else _("Withdrew.")]
    reasons: list[str] = []
    marks = (
        ("quiz_score", cohort.get("pass_mark_quiz"), _l("Quiz score")),
        ("simulation_score", cohort.get("pass_mark_simulation"), _l("Simulation score")),
    )
    missing: list[str] = []
    for key, mark, name in marks:
        score = trainee.get(key)
        if score is None:
            missing.append(str(name))
        elif mark is not None and Decimal(str(score)) < Decimal(str(mark)):
            reasons.append(
                _(
                    "%(name)s %(score)s is below the pass mark %(mark)s.",
                    name=name,
                    score=_fmt(score),
                    mark=_fmt(mark),
                )
            )
    if trainee.get("trainer_passed") is False:
        reasons.append(_("The trainer did not pass the trainee."))
    elif trainee.get("trainer_passed") is None:
        missing.append(_("trainer's verdict"))
    if cohort.get("assessor") == "merchant":
        if trainee.get("merchant_passed") is False:
            reasons.append(_("The merchant did not pass the trainee."))
        elif trainee.get("merchant_passed") is None:
            missing.append(_("merchant's verdict"))
    if missing and not reasons:
        reasons.append(_("Assessment incomplete: %(missing)s not recorded.", missing=_(", ").join(missing)))
    return reasons


# --- courseware -------------------------------------------------------------------------------------------


@bp.get("/cohorts/<cohort_id>/courseware")
@role_required(*READERS)
def courseware(cohort_id: str) -> str:
    return _courseware_page(cohort_id)


def _courseware_page(
    cohort_id: str,
    *,
    errors: Mapping[str, str] | None = None,
    form: Mapping[str, Any] | None = None,
    reject_errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> Any:
    replies = api().gather(
        {
            "cohort": Call(SERVICE, f"/cohorts/{cohort_id}"),
            "courseware": Call(SERVICE, f"/cohorts/{cohort_id}/courseware"),
        }
    )
    detail = _data(replies["cohort"])
    ware = _data(replies["courseware"])
    open_cohort = detail.get("status") in ("planned", "in_training", "assessing")
    html = render_template(
        "trainer/courseware.html",
        cohort=detail,
        courseware=ware,
        can_edit=is_trainer() and open_cohort,
        can_decide=is_merchant() and open_cohort and bool(ware.get("items")),
        errors=errors or {},
        form=form or {},
        reject_errors=reject_errors or {},
        topics=list(TOPIC_LABELS),
    )
    return html if status == 200 else (html, status)


def _field_errors(err: ApiError) -> dict[str, str]:
    """Service field names (``topics.0``) onto the form's inputs, messages in the reader's language."""
    out: dict[str, str] = {}
    for name, messages in err.field_errors.items():
        key = name.split(".")[0]
        text = "; ".join(field_message(m) for m in messages)
        out[key] = f"{out[key]}; {text}" if key in out else text
    return out


@bp.post("/cohorts/<cohort_id>/courseware")
@role_required(*TRAINERS)
def add_courseware(cohort_id: str) -> Any:
    title = (request.form.get("title") or "").strip()
    topics = [t for t in request.form.getlist("topics") if t]
    url = (request.form.get("url") or "").strip()
    description = (request.form.get("description") or "").strip()
    upload = request.files.get("file")
    form = {"title": title, "topics": topics, "url": url, "description": description}
    path = f"/cohorts/{cohort_id}/courseware"
    try:
        if upload is not None and upload.filename:
            fields: dict[str, Any] = {"title": title, "topics": ",".join(topics)}
            if description:
                fields["description"] = description
            api().call(
                SERVICE,
                "POST",
                path,
                files={
                    "file": (upload.filename, upload.stream, upload.mimetype or "application/octet-stream")
                },
                data=fields,
            )
        elif url:
            body: dict[str, Any] = {"title": title, "topics": topics, "url": url}
            if description:
                body["description"] = description
            api().post(SERVICE, path, body)
        else:
            flash(_("Give a link, or choose a file to upload."), "error")
            return _courseware_page(
                cohort_id,
                errors={"url": _("Give a link, or choose a file to upload.")},
                form=form,
                status=422,
            )
    except ApiError as err:
        if err.status in (401, 404):
            raise
        flash(training_problem(err), "error")
        return _courseware_page(cohort_id, errors=_field_errors(err), form=form, status=err.status)
    flash(_("Courseware item added; the merchant needs to confirm the courseware again."), "success")
    return redirect(url_for("trainer.courseware", cohort_id=cohort_id))


@bp.post("/cohorts/<cohort_id>/courseware/<item_id>/delete")
@role_required(*TRAINERS)
def delete_courseware(cohort_id: str, item_id: str) -> Response:
    try:
        api().delete(SERVICE, f"/cohorts/{cohort_id}/courseware/{item_id}")
    except ApiError as err:
        if err.status == 401:
            raise
        flash(training_problem(err), "error")
    else:
        flash(_("Courseware item removed."), "success")
    return redirect(url_for("trainer.courseware", cohort_id=cohort_id))


@bp.get("/cohorts/<cohort_id>/courseware/<item_id>/file")
@role_required(*READERS)
def courseware_file(cohort_id: str, item_id: str) -> Response:
    return pass_through(api().call(SERVICE, "GET", f"/cohorts/{cohort_id}/courseware/{item_id}/file"))


@bp.post("/cohorts/<cohort_id>/courseware/confirm")
@role_required("merchant")
def confirm_courseware(cohort_id: str) -> Response:
    try:
        api().post(SERVICE, f"/cohorts/{cohort_id}/courseware/confirm")
    except ApiError as err:
        if err.status in (401, 404):
            raise
        flash(training_problem(err), "error")
    else:
        flash(_("Courseware confirmed. Training can start."), "success")
    return redirect(url_for("trainer.courseware", cohort_id=cohort_id))


@bp.post("/cohorts/<cohort_id>/courseware/reject")
@role_required("merchant")
def reject_courseware(cohort_id: str) -> Any:
    reason = (request.form.get("reason") or "").strip()
    if not reason:
        # the browser requires it too; said here in words the merchant reads (the service would refuse it)
        flash(_("Give the reason for rejecting the courseware."), "error")
        return _courseware_page(cohort_id, reject_errors={"reason": _("Required.")}, status=422)
    try:
        api().post(SERVICE, f"/cohorts/{cohort_id}/courseware/reject", {"reason": reason})
    except ApiError as err:
        if err.status in (401, 404):
            raise
        flash(training_problem(err), "error")
        return _courseware_page(cohort_id, reject_errors=_field_errors(err), status=err.status)
    flash(_("Courseware rejected; the trainer will revise it."), "success")
    return redirect(url_for("trainer.courseware", cohort_id=cohort_id))


# --- the assessment grid ------------------------------------------------------------------------------------


@dataclass
class GridState:
    """What the grid shows besides the service's data: submitted values and per-cell messages."""

    values: dict[str, dict[str, str]] = field(default_factory=dict)
    errors: dict[str, dict[str, str]] = field(default_factory=dict)


def editable_fields(cohort: Mapping[str, Any]) -> tuple[str, ...]:
    """The columns the signed-in user may edit in this cohort (what the service accepts from the role)."""
    if (
        cohort.get("status") not in ("in_training", "assessing")
        or cohort.get("courseware_status") != "confirmed"
    ):
        return ()
    if is_trainer():
        return TRAINER_FIELDS
    if is_merchant() and cohort.get("assessor") == "merchant":
        return MERCHANT_FIELDS
    return ()


def _score_text(value: Any) -> str:
    return "" if value is None else _fmt(value)


def _verdict_text(value: Any) -> str:
    return "" if value is None else ("yes" if value else "no")


def cell_value(trainee: Mapping[str, Any], name: str) -> str:
    """A cell's current value as the form shows it."""
    if name in ("quiz_score", "simulation_score"):
        return _score_text(trainee.get(name))
    if name in ("trainer_passed", "merchant_passed"):
        return _verdict_text(trainee.get(name))
    if name == "notes":
        return trainee.get("merchant_notes" if is_merchant() else "notes") or ""
    return ""


def _parse_cell(name: str, raw: str) -> Any:
    """The JSON value to send for a cell. An unreadable score goes to the service as typed, so the
    service's own validation (the single source of the rules) reports it on that cell."""
    raw = raw.strip()
    if name in ("quiz_score", "simulation_score"):
        if not raw:
            return None
        try:
            number = Decimal(raw)
        except InvalidOperation:
            return raw
        if not number.is_finite():
            return raw
        return int(number) if number == number.to_integral() else float(raw)
    if name in ("trainer_passed", "merchant_passed"):
        return {"yes": True, "no": False}.get(raw)
    return raw or None


GRID_FIELDS = (*TRAINER_FIELDS, "merchant_passed")


def _posted_rows() -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """The grid's form: ``rows-<i>-candidate_id``, ``rows-<i>-<field>`` (what the user left in the cell) and
    ``rows-<i>-was-<field>`` (what the page showed when it was loaded) → ({candidate: {field: raw}}, same
    for the loaded values)."""
    rows: dict[str, dict[str, str]] = {}
    loaded: dict[str, dict[str, str]] = {}
    index = 0
    while (cid := request.form.get(f"rows-{index}-candidate_id")) is not None:
        prefix = f"rows-{index}-"
        rows[cid] = {n: request.form.get(prefix + n, "") for n in GRID_FIELDS if prefix + n in request.form}
        loaded[cid] = {
            n: request.form.get(f"{prefix}was-{n}", "")
            for n in GRID_FIELDS
            if f"{prefix}was-{n}" in request.form
        }
        index += 1
    return rows, loaded


@bp.get("/cohorts/<cohort_id>/assessments")
@role_required(*READERS)
def assessments(cohort_id: str) -> str:
    detail = api().get(SERVICE, f"/cohorts/{cohort_id}")
    return _grid(detail, GridState())


def _grid(detail: Mapping[str, Any], state: GridState, status: int = 200) -> Any:
    editable = editable_fields(detail)
    html = render_template(
        "trainer/assessments.html",
        cohort=detail,
        trainees=detail.get("trainees") or [],
        editable=editable,
        assessable=ASSESSABLE,
        merchant_column=detail.get("assessor") == "merchant",
        state=state,
        cell_value=cell_value,
        why_read_only=_why_read_only(detail) if not editable else "",
    )
    return html if status == 200 else (html, status)


def _why_read_only(cohort: Mapping[str, Any]) -> str:
    status = cohort.get("status")
    if status == "planned":
        return _("Assessments can be recorded once training has started.")
    if status in ("completed", "cancelled"):
        return _("The cohort is %(status)s; its assessments are final.", status=label(status))
    if cohort.get("courseware_status") != "confirmed":
        return str(RULE_MESSAGES["courseware-confirmed"])
    if is_merchant():
        return str(RULE_MESSAGES["merchant-assessment"])
    return _("Your role can read the assessments but not record them.")


@bp.post("/cohorts/<cohort_id>/assessments")
@role_required("trainer", "vendor", "merchant")
def save_assessments(cohort_id: str) -> Any:
    detail = api().get(SERVICE, f"/cohorts/{cohort_id}")
    editable = editable_fields(detail)
    posted, loaded = _posted_rows()
    if not editable:
        flash(_why_read_only(detail), "error")
        return _grid(detail, GridState(values=posted), status=409)
    current = {t["candidate_id"]: t for t in detail.get("trainees") or []}
    # Only the cells the user changed since loading the page go to the service: an untouched row keeps its
    # assessment time, and a cell someone else saved meanwhile is not overwritten with the stale value this
    # page still shows.
    batch: list[dict[str, Any]] = []
    for cid, cells in posted.items():
        trainee = current.get(cid)
        if trainee is None or trainee.get("status") not in ASSESSABLE:
            continue
        row: dict[str, Any] = {}
        for name in editable:
            before = loaded.get(cid, {}).get(name, cell_value(trainee, name))
            if name in cells and cells[name].strip() != before.strip():
                row[name] = _parse_cell(name, cells[name])
        if row:
            batch.append({"candidate_id": cid, **row})
    # what the user typed is shown again after a refusal; untouched cells show the service's values
    typed = {
        cid: {n: v for n, v in cells.items() if v.strip() != loaded.get(cid, {}).get(n, v).strip()}
        for cid, cells in posted.items()
    }
    if not batch:
        flash(_("Nothing changed; nothing to save."), "info")
        return redirect(url_for("trainer.assessments", cohort_id=cohort_id))
    try:
        api().post(SERVICE, f"/cohorts/{cohort_id}/assessments", {"assessments": batch})
    except ApiError as err:
        if err.status in (401, 404):
            raise
        state = GridState(values=typed, errors=_cell_errors(err, batch))
        flash(_grid_problem(err, state), "error")
        return _grid(detail, state, status=err.status)
    flash(
        _("Saved: %(rows)s trainees updated.", rows=len(batch)),
        "success",
    )
    return redirect(url_for("trainer.assessments", cohort_id=cohort_id))


def _grid_problem(err: ApiError, state: GridState) -> str:
    if err.status == 422 and state.errors:
        cells = sum(len(row) for row in state.errors.values())
        return _(
            "Nothing was saved: %(cells)s entries in %(rows)s rows need correcting (marked in the grid).",
            cells=cells,
            rows=len(state.errors),
        )
    return training_problem(err)


def _cell_errors(err: ApiError, batch: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """``assessments.3.quiz_score`` → {candidate of batch row 3: {"quiz_score": message}}; a message about
    the row itself (``assessments.3`` or its ``candidate_id``) goes to the row (``_row``)."""
    out: dict[str, dict[str, str]] = {}
    for name, messages in err.field_errors.items():
        parts = name.split(".")
        if len(parts) < 2 or parts[0] != "assessments" or not parts[1].isdigit():
            continue
        index = int(parts[1])
        if index >= len(batch):
            continue
        cid = batch[index]["candidate_id"]
        cell = parts[2] if len(parts) > 2 and parts[2] != "candidate_id" else "_row"
        text = "; ".join(field_message(m) for m in messages)
        row = out.setdefault(cid, {})
        row[cell] = f"{row[cell]}; {text}" if cell in row else text
    return out


# --- withdrawal ------------------------------------------------------------------------------------------


def _trainee_of(detail: Mapping[str, Any], candidate_id: str) -> Mapping[str, Any]:
    for trainee in detail.get("trainees") or []:
        if trainee.get("candidate_id") == candidate_id:
            return trainee
    abort(404)


@bp.route("/cohorts/<cohort_id>/trainees/<candidate_id>/withdraw", methods=["GET", "POST"])
@role_required(*TRAINERS)
def withdraw(cohort_id: str, candidate_id: str) -> Any:
    detail = api().get(SERVICE, f"/cohorts/{cohort_id}")
    trainee = _trainee_of(detail, candidate_id)
    errors: dict[str, str] = {}
    reason = (request.form.get("reason") or "").strip()
    if request.method == "POST":
        if not reason:
            errors["reason"] = _("Required.")
        else:
            try:
                result = api().post(
                    SERVICE, f"/cohorts/{cohort_id}/trainees/{candidate_id}/withdraw", {"reason": reason}
                )
            except ApiError as err:
                if err.status in (401, 404):
                    raise
                flash(training_problem(err), "error")
                errors = _field_errors(err)
            else:
                flash(_withdrawn_message(trainee, result), "success")
                return redirect(url_for("trainer.cohort", cohort_id=cohort_id))
    html = render_template(
        "trainer/withdraw.html", cohort=detail, trainee=trainee, errors=errors, reason=reason
    )
    return (html, 422) if errors else html


def _withdrawn_message(trainee: Mapping[str, Any], result: Mapping[str, Any]) -> str:
    promoted = result.get("promoted")
    if promoted:
        return _(
            "%(name)s withdrew; %(promoted)s is admitted in their place (rank %(rank)s).",
            name=trainee.get("name"),
            promoted=promoted.get("name"),
            rank=promoted.get("rank"),
        )
    if result.get("shortfall"):
        return _(
            "%(name)s withdrew; nobody is waitlisted, so recruitment has been asked for one more candidate.",
            name=trainee.get("name"),
        )
    return _("%(name)s withdrew.", name=trainee.get("name"))
