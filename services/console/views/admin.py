"""The administrator's pages: users and their invitations, the sign-in audit trail (用户管理/登录审计)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import Select, false, func, or_, select, true

from services.console import accounts
from services.console.bff import ApiError
from services.console.i18n import SHANGHAI, _
from services.console.i18n import lazy_gettext as _l
from services.console.labels import ROLE_LABELS
from services.console.models import SignInEvent, User
from services.console.web import api, db, problem_message, redirect_back, role_required, uow
from shared.pagination import MAX_PAGE, InvalidCursor, Page, paginate
from shared.web import transactional

bp = Blueprint("admin", __name__, url_prefix="/admin")

PER_PAGE = 25

#: What the audit trail records, as the administrator reads it.
OUTCOME_LABELS: dict[str, Any] = {
    "signed_in": _l("Signed in"),
    "failed": _l("Wrong e-mail or password"),
    "locked": _l("Refused: account locked"),
    "rate_limited": _l("Refused: too many attempts from the address"),
    "signed_out": _l("Signed out"),
    "signed_out_everywhere": _l("Signed out everywhere"),
    "password_changed": _l("Password changed"),
    "password_change_refused": _l("Password change refused"),
    "invitation_accepted": _l("Invitation accepted"),
    "unlocked": _l("Unlocked by an administrator"),
    "deactivated": _l("Deactivated"),
    "reactivated": _l("Reactivated"),
}

#: The states an account can be in (the users list filter and badges).
ACCOUNT_STATES: dict[str, Any] = {
    "active": _l("Active"),
    "invited": _l("Invited, no password yet"),
    "locked": _l("Locked"),
    "inactive": _l("Deactivated"),
}


def account_state(user: User, now: dt.datetime) -> str:
    if not user.active:
        return "inactive"
    if not user.password_hash:
        return "invited"
    if accounts.is_locked(user, now):
        return "locked"
    return "active"


#: Newest first; the e-mail (unique) makes the order total, which the ``after`` cursor needs.
USER_ORDER = (User.created_at.desc(), User.email)
AUDIT_ORDER = (SignInEvent.at.desc(), SignInEvent.id.desc())


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return min(MAX_PAGE, max(1, int(raw))) if raw.isdigit() else 1


def _paginate(query: Select[Any], order_by: tuple[Any, ...]) -> tuple[Page, int]:
    """One page of ``query`` and the number to show for it. "Next" links carry the page's ``after``
    cursor (read from the index, no OFFSET, no count: the audit trail grows without end); ``page`` alone
    (the first page, "Previous", a typed URL) is numbered. A cursor that is not ours starts again at
    page 1."""
    page = _page_number()
    after = request.args.get("after") or None
    try:
        return paginate(db(), query, 1 if after else page, PER_PAGE, order_by=order_by, after=after), page
    except InvalidCursor:
        return paginate(db(), query, 1, PER_PAGE, order_by=order_by), 1


def _config() -> Any:
    return current_app.extensions["console.config"]


def _user_or_404(user_id: str) -> User:
    user = db().get(User, user_id)
    if user is None:
        abort(404)
    return user


def invitation_link(token: str) -> str:
    return _config().public_url + url_for("auth.accept_invitation", token=token)


# --- users ------------------------------------------------------------------------------------------------


@bp.get("/users")
@role_required("admin")
def users() -> Any:
    now = uow().now()
    filters = {key: request.args.get(key, "").strip() for key in ("q", "role", "state")}
    query = select(User)
    if filters["q"]:
        needle = f"%{filters['q'].lower()}%"
        query = query.where(or_(User.email.like(needle), func.lower(User.display_name).like(needle)))
    if filters["role"] in ROLE_LABELS:
        query = query.where(User.role == filters["role"])
    state = filters["state"]
    if state == "inactive":
        query = query.where(User.active == false())
    elif state == "invited":
        query = query.where(User.active == true(), User.password_hash.is_(None))
    elif state == "locked":
        query = query.where(User.active == true(), User.locked_until > now)
    elif state == "active":
        query = query.where(
            User.active == true(),
            User.password_hash.is_not(None),
            or_(User.locked_until.is_(None), User.locked_until <= now),
        )
    result, page = _paginate(query, USER_ORDER)
    rows = result.items
    return render_template(
        "admin/users.html",
        users=rows,
        total=result.total,
        page=page,
        per_page=PER_PAGE,
        next_after=result.next_after,
        filters=filters,
        states={user.id: account_state(user, now) for user in rows},
        state_labels=ACCOUNT_STATES,
        roles=ROLE_LABELS,
    )


def _invite_form(
    values: dict[str, str], errors: dict[str, str] | None = None, error: str | None = None
) -> Any:
    return render_template(
        "admin/invite.html", values=values, errors=errors or {}, error=error, roles=ROLE_LABELS
    ), (422 if errors or error else 200)


@bp.route("/users/invite", methods=["GET", "POST"])
@transactional
@role_required("admin")
def invite() -> Any:
    fields = ("email", "display_name", "role", "merchant_id", "new_merchant", "candidate_id")
    values = {key: request.form.get(key, "").strip() for key in fields}
    if request.method == "GET":
        values["role"] = request.args.get("role", "vendor")
        return _invite_form(values)
    errors: dict[str, str] = {}
    role = values["role"]
    merchant_id = candidate_id = None
    minted_merchant = False
    if role == "merchant":
        if values["new_merchant"]:
            # A shop that is new to us: its id is minted here and becomes its tenant key in every service.
            merchant_id, minted_merchant = str(uuid.uuid4()), True
        elif values["merchant_id"]:
            merchant_id = values["merchant_id"]
        else:
            errors["merchant_id"] = _("Enter the merchant id, or choose a new merchant.")
    if role == "agent":
        candidate_id = values["candidate_id"]
        if not candidate_id:
            errors["candidate_id"] = _("Enter the agent's candidate id from the talent pool.")
        else:
            try:
                api().get("recruitment", f"/candidates/{candidate_id}")
            except ApiError as err:
                if err.status not in (404, 422):
                    return _invite_form(values, errors, problem_message(err))
                errors["candidate_id"] = _("There is no candidate with this id in the talent pool.")
    if errors:
        return _invite_form(values, errors)
    try:
        user, token = accounts.invite_user(
            uow(),
            email=values["email"],
            role=role,
            hours=_config().invitation_hours,
            display_name=values["display_name"],
            merchant_id=merchant_id,
            candidate_id=candidate_id,
        )
    except accounts.AccountError as exc:
        return _invite_form(values, error=_(exc.message, **exc.variables))
    return render_template(
        "admin/invited.html",
        user=user,
        link=invitation_link(token),
        hours=_config().invitation_hours,
        minted_merchant=minted_merchant,
        resent=False,
    ), 201


@bp.post("/users/<user_id>/resend")
@transactional
@role_required("admin")
def resend(user_id: str) -> Any:
    user = _user_or_404(user_id)
    try:
        token = accounts.resend_invitation(uow(), user, hours=_config().invitation_hours)
    except accounts.AccountError as exc:
        # a redirect is a success to the transaction: nothing was written before the refusal
        flash(_(exc.message, **exc.variables), "error")
        return redirect(url_for("admin.users"))
    return render_template(
        "admin/invited.html",
        user=user,
        link=invitation_link(token),
        hours=_config().invitation_hours,
        minted_merchant=False,
        resent=True,
    )


@bp.post("/users/<user_id>/unlock")
@transactional
@role_required("admin")
def unlock(user_id: str) -> Any:
    user = _user_or_404(user_id)
    accounts.unlock(uow(), user)
    flash(_("%(email)s is unlocked and can sign in again.", email=user.email), "success")
    return redirect_back("admin.users")


@bp.post("/users/<user_id>/deactivate")
@transactional
@role_required("admin")
def deactivate(user_id: str) -> Any:
    return _set_active(user_id, False)


@bp.post("/users/<user_id>/reactivate")
@transactional
@role_required("admin")
def reactivate(user_id: str) -> Any:
    return _set_active(user_id, True)


def _set_active(user_id: str, active: bool) -> Any:
    user = _user_or_404(user_id)
    try:
        accounts.set_active(uow(), user, active)
    except accounts.AccountError as exc:
        flash(_(exc.message, **exc.variables), "error")
    else:
        if active:
            flash(_("%(email)s can sign in again.", email=user.email), "success")
        else:
            flash(_("%(email)s is deactivated and signed out everywhere.", email=user.email), "success")
    return redirect(url_for("admin.users"))


# --- the audit trail --------------------------------------------------------------------------------------


def _day(raw: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@bp.get("/audit")
@role_required("admin")
def audit() -> Any:
    filters = {key: request.args.get(key, "").strip() for key in ("q", "outcome", "from", "to")}
    query = select(SignInEvent)
    if filters["q"]:
        query = query.where(SignInEvent.email.like(f"%{filters['q'].lower()}%"))
    if filters["outcome"] in OUTCOME_LABELS:
        query = query.where(SignInEvent.outcome == filters["outcome"])
    # Days are Beijing days, as the people reading the trail count them.
    first, last = _day(filters["from"]), _day(filters["to"])
    if first:
        query = query.where(SignInEvent.at >= dt.datetime.combine(first, dt.time(), SHANGHAI))
    if last:
        query = query.where(
            SignInEvent.at < dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), SHANGHAI)
        )
    result, page = _paginate(query, AUDIT_ORDER)
    return render_template(
        "admin/audit.html",
        events=result.items,
        total=result.total,
        page=page,
        per_page=PER_PAGE,
        next_after=result.next_after,
        filters=filters,
        outcomes=OUTCOME_LABELS,
    )
