"""Signing in and out, changing one's password, accepting an invitation (登录/退出/修改密码/接受邀请).

Sign-in attempts are limited per IP address (``CONSOLE_SIGN_IN_RATE_LIMIT``): every FAILED attempt from
an address counts, and once the budget is spent the form is refused with a 429 page before any password is
checked. Successful sign-ins do not count, so an office whose staff share one address is not locked out by
its own Monday morning; the per-account lock-out (``accounts.authenticate``) stops guessing one account.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from services.console import accounts
from services.console.i18n import _
from services.console.models import User
from services.console.web import home_url_for, uow
from shared.web import keep_on_refusal, transactional

bp = Blueprint("auth", __name__)

_LIMITER_KEY = "console.sign_in_limiter"
_LIMITER_LOCK = threading.Lock()


@dataclass
class SignInLimiter:
    """The per-address budget of failed sign-ins, kept in the services' rate-limit storage."""

    limiter: FixedWindowRateLimiter
    items: list[RateLimitItem]

    @classmethod
    def for_app(cls, app: Flask) -> SignInLimiter:
        with _LIMITER_LOCK:  # one budget per app, even when the first attempts arrive together
            return app.extensions.get(_LIMITER_KEY) or cls._install(app)

    @classmethod
    def _install(cls, app: Flask) -> SignInLimiter:
        settings = app.extensions["console.settings"]
        config = app.extensions["console.config"]
        found = cls(
            FixedWindowRateLimiter(storage_from_string(settings.rate_limit_storage_uri)),
            parse_many(config.sign_in_rate_limit) if config.sign_in_rate_limit.strip() else [],
        )
        app.extensions[_LIMITER_KEY] = found
        return found

    def retry_after(self, address: str) -> int | None:
        """Seconds until ``address`` may try again, or None while it has budget left."""
        for item in self.items:
            if not self.limiter.test(item, "sign-in", address):
                reset_at, _remaining = self.limiter.get_window_stats(item, "sign-in", address)
                return max(1, math.ceil(reset_at - time.time()))
        return None

    def count_failure(self, address: str) -> None:
        for item in self.items:
            self.limiter.hit(item, "sign-in", address)


def _safe_next(target: str | None) -> str | None:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


def _log_in(user: User) -> None:
    from services.console.app import SessionUser

    session.clear()  # a new session (and CSRF secret) on sign-in: no fixation
    session.permanent = True
    login_user(SessionUser(user))


def _me() -> User:
    user = uow().session.get(User, current_user.id)
    assert user is not None  # the session loader just found them
    return user


def _address() -> str:
    return request.remote_addr or "unknown"


@bp.route("/sign-in", methods=["GET", "POST"])
@transactional
def sign_in() -> Any:
    if current_user.is_authenticated and request.method == "GET":
        return redirect(home_url_for(current_user.role))
    error = None
    email = request.form.get("email", "")
    if request.method == "POST":
        limiter = SignInLimiter.for_app(current_app)
        retry_after = limiter.retry_after(_address())
        if retry_after is not None:
            accounts.record(uow(), "rate_limited", email, None, _address(), request.user_agent.string)
            keep_on_refusal()
            message = _(
                "Too many failed sign-in attempts from your network; wait %(seconds)s seconds and try again.",
                seconds=retry_after,
            )
            page = render_template("auth/sign_in.html", error=message, email=email)
            return page, 429, {"Retry-After": str(retry_after)}
        config = current_app.extensions["console.config"]
        policy = accounts.LockoutPolicy(config.lockout_threshold, config.lockout_minutes)
        try:
            user = accounts.authenticate(
                uow(),
                email,
                request.form.get("password", ""),
                policy=policy,
                ip=_address(),
                user_agent=request.user_agent.string,
            )
        except accounts.AccountError as exc:
            keep_on_refusal()  # the failed attempt and the lock are kept
            limiter.count_failure(_address())
            error = _(exc.message, **exc.variables)
        else:
            _log_in(user)
            return redirect(_safe_next(request.args.get("next")) or home_url_for(user.role))
    status = 401 if error else 200
    return render_template("auth/sign_in.html", error=error, email=email), status


@bp.post("/sign-out")
@transactional
@login_required
def sign_out() -> Any:
    accounts.sign_out(uow(), current_user.user, ip=_address())
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.sign_in"))


@bp.post("/sign-out-everywhere")
@transactional
@login_required
def sign_out_everywhere() -> Any:
    user = _me()
    accounts.sign_out_everywhere(uow(), user, ip=_address(), user_agent=request.user_agent.string)
    logout_user()
    session.clear()
    flash(_("You have been signed out on every device."), "info")
    return redirect(url_for("auth.sign_in"))


@bp.route("/password", methods=["GET", "POST"])
@transactional
@login_required
def password() -> Any:
    error = None
    if request.method == "POST":
        user = _me()
        try:
            accounts.change_password(
                uow(),
                user,
                request.form.get("current", ""),
                request.form.get("new", ""),
                request.form.get("repeat", ""),
                ip=_address(),
                user_agent=request.user_agent.string,
            )
        except accounts.AccountError as exc:
            keep_on_refusal()  # a wrong current password is audited
            error = _(exc.message, **exc.variables)
        else:
            # Other sessions die with the old session version; this one carries on under the new one.
            _log_in(user)
            flash(_("Your password has been changed. You were signed out on your other devices."), "success")
            return redirect(url_for("auth.password"))
    return (
        render_template("auth/password.html", error=error, min_length=accounts.MIN_PASSWORD_LENGTH),
        422 if error else 200,
    )


@bp.route("/invite/<token>", methods=["GET", "POST"])
@transactional
def accept_invitation(token: str) -> Any:
    try:
        invitation = accounts.find_invitation(uow(), token)
    except accounts.InvitationError as exc:
        return render_template("auth/invitation_invalid.html", message=_(exc.message), kind=exc.kind), 404
    invited = uow().session.get(User, invitation.user_id)
    if invited is None or not invited.active:
        return (
            render_template(
                "auth/invitation_invalid.html",
                message=_("This invitation link is not valid."),
                kind="unknown",
            ),
            404,
        )
    error = None
    if request.method == "POST":
        try:
            user = accounts.accept_invitation(
                uow(),
                token,
                request.form.get("new", ""),
                request.form.get("repeat", ""),
                ip=_address(),
                user_agent=request.user_agent.string,
            )
        except accounts.AccountError as exc:
            error = _(exc.message, **exc.variables)
        else:
            if current_user.is_authenticated:
                logout_user()
            _log_in(user)
            flash(_("Welcome! Your password is set and you are signed in."), "success")
            return redirect(home_url_for(user.role))
    return (
        render_template(
            "auth/accept_invitation.html",
            invited=invited,
            token=token,
            error=error,
            min_length=accounts.MIN_PASSWORD_LENGTH,
        ),
        422 if error else 200,
    )
