"""Finance (财务): pay plans, performance data, payroll runs — draft, review, warnings, approve, export.

Everything goes to billing through the signed-in user's token; billing enforces who may write (finance)
and read (finance, vendor), so the pages only hide the write forms from readers.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from services.console.bff import ApiError, Call, Reply
from services.console.i18n import _, current_locale
from services.console.i18n import lazy_gettext as _l
from services.console.labels import STATUS_LABELS
from services.console.web import api, field_messages, pass_through, problem_message, role_required

bp = Blueprint("finance", __name__, url_prefix="/finance")

STATUS_LABELS.update({"draft": _l("Draft"), "approved": _l("Approved")})

READERS = ("finance", "vendor")
PER_PAGE = 20
#: pickers list at most one page of the largest size billing answers
PICKER_SIZE = 200

PLAN_TYPES: dict[str, Any] = {
    "hourly": _l("Hourly"),
    "monthly": _l("Monthly salary"),
    "base_commission": _l("Base + commission"),
    "commission": _l("Commission only"),
}
#: which inputs each plan type uses (billing refuses a field the type does not use, so only these are sent)
PLAN_FIELDS: dict[str, tuple[str, ...]] = {
    "hourly": ("hourly_rate",),
    "monthly": ("monthly_base", "conditions", "base_factor_when_unmet"),
    "base_commission": ("monthly_base", "commission_rate", "conditions", "base_factor_when_unmet"),
    "commission": ("commission_rate",),
}
WARNING_LABELS: dict[str, Any] = {
    "negative-net": _l("Net pay below zero"),
    "zero-net": _l("Net pay of zero"),
    "deductions-carried": _l("Deductions carried to next period"),
    "carried-deductions-applied": _l("Deductions carried from an earlier period"),
    "late-data": _l("Late data for a closed period"),
    "no-hours": _l("Hourly plan without hours"),
    "idle-agent": _l("Member with nothing to pay"),
    "without-plan": _l("Data but no pay plan"),
    "carry-outstanding": _l("Deductions still owed"),
}
LINE_KINDS: dict[str, Any] = {
    "base": _l("Base pay"),
    "hours": _l("Hourly pay"),
    "commission": _l("Commission"),
    "deduction": _l("Deductions"),
    "adjustment": _l("Adjustments"),
}
EXPORT_FORMATS = ("csv", "xlsx")
#: billing's business refusals (its problem's ``rule``) as a finance clerk reads them
RULE_MESSAGES: dict[str, Any] = {
    "unknown-project": _l(
        "Billing does not know this project yet; it arrives once the project is confirmed."
    ),
    "closed-period": _l(
        "The payroll of that month is already approved for this project; let the plan take effect later."
    ),
    "plan-exists": _l(
        "A plan for the same agent and effective date exists; plans are never edited: "
        "give the new plan a later effective date."
    ),
    "run-exists": _l("A draft run for this month and project already exists."),
    "period-closed": _l("The payroll of this month and project is already approved."),
    "run-approved": _l("This run is approved and can no longer change; late data is paid in the next run."),
    "already-approved": _l("This run is already approved."),
    "stale-draft": _l(
        "Data changed after this draft was calculated: recalculate, check the figures, then approve."
    ),
}


def message(err: ApiError) -> str:
    """One sentence in the reader's language: billing's rule when we know it, else the generic one."""
    known = RULE_MESSAGES.get(str(err.problem.get("rule") or ""))
    return str(known) if known is not None else problem_message(err)


def can_write() -> bool:
    return current_user.role in ("finance", "admin")


def _ok(result: Reply | ApiError) -> Reply:
    """A widget's answer, or the page fails the way a single GET does (a localized error page)."""
    if isinstance(result, ApiError):
        raise result
    return result


def project_options(reply: Reply) -> list[tuple[str, str]]:
    return [(p["project_id"], p.get("company_name") or p["project_id"]) for p in reply.items]


def agent_options(reply: Reply) -> list[tuple[str, str]]:
    return [(a["agent_id"], f"{a.get('name') or a['agent_id']} ({a['agent_id']})") for a in reply.items]


def percent_to_rate(raw: str) -> str | None:
    """Finance types percentages ("1" for 1%); billing takes rates as decimal strings ("0.01"). Anything
    that is not a number goes through unchanged so billing names the problem in its field error."""
    text = raw.strip().rstrip("%").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    if not value.is_finite():
        return text
    return format(value / 100, "f")


def rate_to_percent(value: Any) -> str:
    if value in (None, ""):
        return ""
    try:
        return format((Decimal(str(value)) * 100).normalize(), "f")
    except InvalidOperation:
        return str(value)


def _money_input(raw: str) -> str | None:
    text = raw.strip().replace(",", "").replace("¥", "")
    return text or None


# --- payroll runs -------------------------------------------------------------------------------------------


def _runs_page(
    form: dict[str, str] | None = None, errors: dict[str, str] | None = None, error: str = ""
) -> Any:
    page = request.args.get("page", 1, type=int)
    status = request.args.get("status", "")
    results = api().gather(
        {
            "runs": Call(
                "billing",
                "/payroll-runs",
                params={"page": page, "per_page": PER_PAGE, "status": status or None},
            ),
            "projects": Call("billing", "/projects", params={"per_page": PICKER_SIZE}),
        }
    )
    runs = _ok(results["runs"])
    projects = project_options(_ok(results["projects"]))
    return render_template(
        "finance/runs.html",
        runs=runs.items,
        total=runs.total or 0,
        page=page,
        per_page=PER_PAGE,
        status=status,
        projects=projects,
        project_names=dict(projects),
        form=form or {},
        errors=errors or {},
        error=error,
        can_write=can_write(),
    ), (422 if error else 200)


@bp.get("/runs")
@role_required(*READERS)
def runs() -> Any:
    return _runs_page()


@bp.post("/runs")
@role_required("finance")
def create_run() -> Any:
    form = {
        "period": request.form.get("period", "").strip(),
        "project_id": request.form.get("project_id", ""),
    }
    try:
        run = api().post(
            "billing", "/payroll-runs", {"period": form["period"], "project_id": form["project_id"] or None}
        )
    except ApiError as err:
        if err.status == 409 and err.problem.get("run_id"):
            flash(message(err), "error")
            return redirect(url_for("finance.run", run_id=err.problem["run_id"]))
        return _runs_page(form, field_messages(err), message(err))
    flash(_("Draft payroll run for %(period)s calculated.", period=run["period"]), "success")
    return redirect(url_for("finance.run", run_id=run["id"]))


def line_totals(payslip: dict[str, Any]) -> dict[str, Decimal]:
    """A payslip's lines summed per kind (a payslip can hold several deductions or adjustments)."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for line in payslip.get("lines", []):
        try:
            totals[line["kind"]] += Decimal(str(line["amount"]))
        except (InvalidOperation, KeyError):
            continue
    return totals


@bp.get("/runs/<run_id>")
@role_required(*READERS)
def run(run_id: str) -> Any:
    page = request.args.get("page", 1, type=int)
    results = api().gather(
        {
            "run": Call("billing", f"/payroll-runs/{run_id}"),
            "payslips": Call(
                "billing", f"/payroll-runs/{run_id}/payslips", params={"page": page, "per_page": PER_PAGE}
            ),
            "projects": Call("billing", "/projects", params={"per_page": PICKER_SIZE}),
        }
    )
    data = _ok(results["run"]).data
    payslips = _ok(results["payslips"])
    project_names = dict(project_options(_ok(results["projects"])))
    rows = [{"slip": slip, "sums": line_totals(slip)} for slip in payslips.items]
    return render_template(
        "finance/run.html",
        run=data,
        rows=rows,
        total=payslips.total or 0,
        page=page,
        per_page=PER_PAGE,
        project_names=project_names,
        warning_labels=WARNING_LABELS,
        plan_types=PLAN_TYPES,
        line_kinds=LINE_KINDS,
        can_write=can_write(),
    )


def _run_action(run_id: str, action: str, done: str) -> Any:
    try:
        api().post("billing", f"/payroll-runs/{run_id}/{action}")
    except ApiError as err:
        if err.status == 404:
            raise
        flash(message(err), "error")
    else:
        flash(done, "success")
    return redirect(url_for("finance.run", run_id=run_id))


@bp.post("/runs/<run_id>/approve")
@role_required("finance")
def approve_run(run_id: str) -> Any:
    return _run_action(
        run_id, "approve", _("The payroll run is approved; payslips are now visible to agents.")
    )


@bp.post("/runs/<run_id>/recalculate")
@role_required("finance")
def recalculate_run(run_id: str) -> Any:
    return _run_action(run_id, "recalculate", _("The draft was recalculated from the current data."))


@bp.post("/runs/<run_id>/delete")
@role_required("finance")
def delete_run(run_id: str) -> Any:
    try:
        api().delete("billing", f"/payroll-runs/{run_id}")
    except ApiError as err:
        if err.status == 404:
            raise
        flash(message(err), "error")
        return redirect(url_for("finance.run", run_id=run_id))
    flash(_("The draft run was deleted."), "success")
    return redirect(url_for("finance.runs"))


@bp.get("/runs/<run_id>/export.<fmt>")
@role_required(*READERS)
def export_run(run_id: str, fmt: str) -> Any:
    """Billing's own file, streamed through: its content type and file name, headers in the reader's
    language."""
    if fmt not in EXPORT_FORMATS:
        abort(404)
    reply = api().call(
        "billing",
        "GET",
        f"/payroll-runs/{run_id}/export",
        params={"format": fmt, "lang": "en" if current_locale() == "en" else "zh"},
    )
    return pass_through(reply, fallback_filename=f"payroll-{run_id}.{fmt}", no_store=True)


# --- pay plans ----------------------------------------------------------------------------------------------


def _plan_payload(form: dict[str, str]) -> dict[str, Any]:
    plan_type = form.get("type", "")
    used = PLAN_FIELDS.get(plan_type, ())
    payload: dict[str, Any] = {
        "project_id": form.get("project_id", ""),
        "agent_id": form.get("agent_id") or None,
        "type": plan_type,
    }
    if "hourly_rate" in used:
        payload["hourly_rate"] = _money_input(form.get("hourly_rate", ""))
    if "monthly_base" in used:
        payload["monthly_base"] = _money_input(form.get("monthly_base", ""))
    if "commission_rate" in used:
        payload["commission_rate"] = percent_to_rate(form.get("commission_rate", ""))
    if "conditions" in used:
        # service-data targets are base + commission's; the quality KPI judges either plan's base
        service_data = plan_type == "base_commission"
        seconds, rate = None, None
        if service_data:
            seconds = form.get("conditions.max_avg_response_seconds", "").strip() or None
            rate = percent_to_rate(form.get("conditions.min_response_rate", ""))
        kpi_score = form.get("conditions.min_kpi_score", "").strip() or None
        kpi_targets = form.get("conditions.kpi_targets_met") in ("on", "true", "1")
        if seconds is not None or rate is not None or kpi_score is not None or kpi_targets:
            payload["conditions"] = {
                "max_avg_response_seconds": seconds,
                "min_response_rate": rate,
                "min_kpi_score": kpi_score,
                "kpi_targets_met": kpi_targets,
            }
            payload["base_factor_when_unmet"] = percent_to_rate(form.get("base_factor_when_unmet", ""))
        elif form.get("base_factor_when_unmet", "").strip():
            payload["base_factor_when_unmet"] = percent_to_rate(form["base_factor_when_unmet"])
    if form.get("effective_from"):
        payload["effective_from"] = form["effective_from"]
    if form.get("notes", "").strip():
        payload["notes"] = form["notes"].strip()
    return {k: v for k, v in payload.items() if v is not None or k == "agent_id"}


def _plans_page(
    form: dict[str, str] | None = None, errors: dict[str, str] | None = None, error: str = ""
) -> Any:
    page = request.args.get("page", 1, type=int)
    project_id = request.args.get("project_id", "") or (form or {}).get("project_id", "")
    scope = request.args.get("scope", "")
    plan_params: dict[str, Any] = {"page": page, "per_page": PER_PAGE, "project_id": project_id or None}
    if scope == "defaults":
        plan_params["defaults_only"] = "true"
    results = api().gather(
        {
            "plans": Call("billing", "/pay-plans", params=plan_params),
            "projects": Call("billing", "/projects", params={"per_page": PICKER_SIZE}),
            "agents": Call(
                "billing", "/agents", params={"per_page": PICKER_SIZE, "project_id": project_id or None}
            ),
        }
    )
    plans = _ok(results["plans"])
    projects = project_options(_ok(results["projects"]))
    agents = agent_options(_ok(results["agents"]))
    shown = dict(form or {})
    for name in ("commission_rate", "conditions.min_response_rate", "base_factor_when_unmet"):
        shown.setdefault(name, "")
    return render_template(
        "finance/pay_plans.html",
        plans=plans.items,
        total=plans.total or 0,
        page=page,
        per_page=PER_PAGE,
        project_id=project_id,
        scope=scope,
        projects=projects,
        project_names=dict(projects),
        agents=agents,
        agent_names={a: label for a, label in agents},
        plan_types=PLAN_TYPES,
        plan_fields=PLAN_FIELDS,
        form=shown,
        errors=errors or {},
        error=error,
        can_write=can_write(),
        percent=rate_to_percent,
    ), (422 if error else 200)


@bp.get("/pay-plans")
@role_required(*READERS)
def pay_plans() -> Any:
    return _plans_page()


@bp.post("/pay-plans")
@role_required("finance")
def create_pay_plan() -> Any:
    form = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        api().post("billing", "/pay-plans", _plan_payload(form))
    except ApiError as err:
        return _plans_page(form, field_messages(err), message(err))
    flash(_("Pay plan saved."), "success")
    return redirect(url_for("finance.pay_plans", project_id=form.get("project_id", "")))


# --- performance data ---------------------------------------------------------------------------------------

PERFORMANCE_FILTERS = ("project_id", "agent_id", "from", "to")


def _performance_page(
    *,
    entry: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str = "",
    row_errors: list[tuple[str, str]] | None = None,
    import_error: str = "",
) -> Any:
    page = request.args.get("page", 1, type=int)
    filters = {name: request.args.get(name, "") for name in PERFORMANCE_FILTERS}
    results = api().gather(
        {
            "rows": Call("billing", "/performance", params={"page": page, "per_page": PER_PAGE, **filters}),
            "projects": Call("billing", "/projects", params={"per_page": PICKER_SIZE}),
            "agents": Call(
                "billing",
                "/agents",
                params={"per_page": PICKER_SIZE, "project_id": filters["project_id"] or None},
            ),
        }
    )
    rows = _ok(results["rows"])
    projects = project_options(_ok(results["projects"]))
    agents = agent_options(_ok(results["agents"]))
    failed = bool(error or import_error)
    return render_template(
        "finance/performance.html",
        rows=rows.items,
        total=rows.total or 0,
        page=page,
        per_page=PER_PAGE,
        filters=filters,
        projects=projects,
        project_names=dict(projects),
        agents=agents,
        entry=entry or {},
        errors=errors or {},
        error=error,
        row_errors=row_errors or [],
        import_error=import_error,
        can_write=can_write(),
        percent=rate_to_percent,
    ), (422 if failed else 200)


@bp.get("/performance")
@role_required(*READERS)
def performance() -> Any:
    return _performance_page()


def _line_order(key: str) -> tuple[int, str]:
    """``line 12.date`` after ``line 3.sales_amount``: row errors in file order."""
    head = key.split(".", 1)[0]
    number = head.removeprefix("line ").strip()
    return (int(number) if number.isdigit() else 0, key)


@bp.post("/performance/import")
@role_required("finance")
def import_performance() -> Any:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _performance_page(import_error=_("Choose a CSV or Excel file to import."))
    try:
        result = (
            api()
            .call(
                "billing",
                "POST",
                "/performance/import",
                files={
                    "file": (
                        upload.filename,
                        upload.stream.read(),
                        upload.mimetype or "application/octet-stream",
                    )
                },
            )
            .data
        )
    except ApiError as err:
        if err.status != 422:
            return _performance_page(import_error=message(err))
        rows = sorted(err.field_errors.items(), key=lambda item: _line_order(item[0]))
        return _performance_page(
            import_error=_(
                "The file was not imported: nothing was stored. Correct these rows and upload it again."
            ),
            row_errors=[(key, "; ".join(messages)) for key, messages in rows],
        )
    flash(
        _(
            "Imported %(received)s rows: %(created)s new days, %(replaced)s replaced.",
            received=result.get("received", 0),
            created=result.get("created", 0),
            replaced=result.get("replaced", 0),
        ),
        "success",
    )
    return redirect(url_for("finance.performance"))


ENTRY_FIELDS = (
    "project_id",
    "agent_id",
    "date",
    "sales_amount",
    "avg_response_seconds",
    "response_rate",
    "consultations",
)


def _entry_payload(form: dict[str, str]) -> dict[str, Any]:
    consultations = form.get("consultations", "").strip()
    return {
        "project_id": form.get("project_id", ""),
        "agent_id": form.get("agent_id", ""),
        "date": form.get("date", ""),
        "sales_amount": _money_input(form.get("sales_amount", "")),
        "avg_response_seconds": form.get("avg_response_seconds", "").strip() or None,
        "response_rate": percent_to_rate(form.get("response_rate", "")),
        # billing wants a JSON integer; anything else goes as typed so billing names the problem
        "consultations": int(consultations) if consultations.isdigit() else (consultations or None),
    }


@bp.post("/performance")
@role_required("finance")
def add_performance() -> Any:
    form = {name: request.form.get(name, "") for name in ENTRY_FIELDS}
    try:
        result = api().post("billing", "/performance", _entry_payload(form))
    except ApiError as err:
        return _performance_page(entry=form, errors=field_messages(err), error=message(err))
    if result.get("replaced"):
        flash(_("The day was saved and replaces the earlier figures."), "success")
    else:
        flash(_("The day was saved."), "success")
    return redirect(url_for("finance.performance", project_id=form["project_id"]))
