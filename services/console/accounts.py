"""Accounts: creating users, passwords (Argon2id), signing in with lock-out, the audit trail.

Use cases take a :class:`shared.uow.UnitOfWork` and never commit: the entry point (a view decorated with
``transactional``, the CLI, the seed) owns the transaction. Time is ``uow.now()``; whoever acts on another
account (an administrator, the CLI) is ``uow.actor``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select

from services.console.models import Invitation, SignInEvent, User
from shared.auth import ROLES
from shared.uow import UnitOfWork

HASHER = PasswordHasher()
MIN_PASSWORD_LENGTH = 10
#: A hash computed once, verified against when the e-mail is unknown, so that an unknown address takes as
#: long to refuse as a wrong password (no user enumeration by timing).
_DUMMY_HASH = HASHER.hash("not-a-real-password-" + uuid.uuid4().hex)


def N_(message: str) -> str:
    """Marks a msgid for extraction where the string is translated later (by the view that shows it)."""
    return message


class AccountError(Exception):
    """A refusal the user must read (the message is an English msgid, translated by the view)."""

    def __init__(self, message: str, **variables: object) -> None:
        super().__init__(message)
        self.message = message
        self.variables = variables


def normalize_email(email: str) -> str:
    return email.strip().lower()


def password_problems(password: str, *, email: str = "") -> list[str]:
    """What makes a password unacceptable (msgids); empty when it is fine."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(N_("The password must have at least 10 characters."))
    if email and password.strip().lower() == normalize_email(email):
        problems.append(N_("The password must not be your e-mail address."))
    if len(set(password)) < 4:
        problems.append(N_("The password is too simple."))
    return problems


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def create_user(
    uow: UnitOfWork,
    *,
    email: str,
    role: str,
    display_name: str = "",
    password: str | None = None,
    merchant_id: str | None = None,
    candidate_id: str | None = None,
) -> User:
    email = normalize_email(email)
    if "@" not in email or len(email) > 254:
        raise AccountError(N_("Enter a valid e-mail address."))
    if role not in ROLES:
        raise AccountError(N_("Unknown role %(role)s."), role=role)
    if role == "merchant" and not merchant_id:
        raise AccountError(N_("A merchant user needs a merchant id."))
    if role == "agent" and not candidate_id:
        raise AccountError(N_("An agent user needs their candidate id from the talent pool."))
    session = uow.session
    if session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise AccountError(N_("A user with this e-mail address already exists."))
    if password is not None:
        problems = password_problems(password, email=email)
        if problems:
            raise AccountError(problems[0])
    user = User(
        id=str(uuid.uuid4()),
        email=email,
        display_name=display_name.strip() or email.split("@")[0],
        role=role,
        merchant_id=merchant_id if role == "merchant" else None,
        candidate_id=candidate_id if role == "agent" else None,
        password_hash=hash_password(password) if password is not None else None,
        password_changed_at=uow.now() if password is not None else None,
        created_at=uow.now(),
        active=True,
        failed_attempts=0,
        session_version=1,
    )
    session.add(user)
    session.flush()
    return user


@dataclass(frozen=True)
class LockoutPolicy:
    threshold: int = 5
    minutes: int = 15


def record(
    uow: UnitOfWork, outcome: str, email: str, user: User | None, ip: str | None, agent: str | None
) -> None:
    """One line of the sign-in audit trail (登录审计)."""
    uow.session.add(
        SignInEvent(
            user_id=user.id if user else None,
            email=normalize_email(email)[:254],
            outcome=outcome,
            ip=(ip or "")[:64] or None,
            user_agent=(agent or "")[:300] or None,
            at=uow.now(),
        )
    )


def authenticate(
    uow: UnitOfWork,
    email: str,
    password: str,
    *,
    policy: LockoutPolicy,
    ip: str | None = None,
    user_agent: str | None = None,
) -> User:
    """The user whose password this is, or :class:`AccountError`; every attempt is audited.

    ``policy.threshold`` failures in a row lock the account for ``policy.minutes``; a correct password
    during the lock is refused too (the lock is what stops guessing). A refusal has been audited (and the
    failure counted) when the error is raised: the caller keeps those writes.
    """
    now = uow.now()
    user = uow.session.scalar(select(User).where(User.email == normalize_email(email)).with_for_update())
    if user is None or not user.password_hash or not user.active:
        _verify(_DUMMY_HASH, password)
        record(uow, "failed", email, user, ip, user_agent)
        raise AccountError(N_("The e-mail address or password is not correct."))
    if user.locked_until is not None and user.locked_until > now:
        record(uow, "locked", email, user, ip, user_agent)
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        raise AccountError(
            N_("Too many failed attempts: the account is locked for %(minutes)s more minutes."),
            minutes=minutes,
        )
    if not _verify(user.password_hash, password):
        user.failed_attempts = (user.failed_attempts or 0) + 1
        if user.failed_attempts >= policy.threshold:
            user.locked_until = now + dt.timedelta(minutes=policy.minutes)
            user.failed_attempts = 0
            record(uow, "locked", email, user, ip, user_agent)
            raise AccountError(
                N_("Too many failed attempts: the account is locked for %(minutes)s more minutes."),
                minutes=policy.minutes,
            )
        record(uow, "failed", email, user, ip, user_agent)
        raise AccountError(N_("The e-mail address or password is not correct."))
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_attempts = 0
    user.locked_until = None
    user.last_sign_in_at = now
    record(uow, "signed_in", email, user, ip, user_agent)
    return user


def _verify(hashed: str, password: str) -> bool:
    try:
        return HASHER.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# --- invitations ------------------------------------------------------------------------------------------

#: Kinds of unusable invitation links, each with its own explanation on the accept page.
INVITATION_UNKNOWN, INVITATION_USED, INVITATION_EXPIRED = "unknown", "used", "expired"


class InvitationError(AccountError):
    """An invitation link that cannot be used; ``kind`` says why (unknown, used, expired)."""

    def __init__(self, kind: str) -> None:
        super().__init__(
            {
                INVITATION_USED: N_("This invitation has already been used."),
                INVITATION_EXPIRED: N_("This invitation has expired."),
            }.get(kind, N_("This invitation link is not valid."))
        )
        self.kind = kind


def token_hash(token: str) -> str:
    # Only the hash is stored: a copy of the database does not let anyone accept an invitation.
    return hashlib.sha256(token.encode()).hexdigest()


def issue_invitation(uow: UnitOfWork, user: User, *, hours: int) -> str:
    """A new one-time token for ``user`` (returned once, never stored); earlier links of the user die.

    ``created_by`` is the acting person's account id (none when the CLI issues it)."""
    now = uow.now()
    session = uow.session
    session.execute(delete(Invitation).where(Invitation.user_id == user.id, Invitation.used_at.is_(None)))
    token = secrets.token_urlsafe(32)
    session.add(
        Invitation(
            id=str(uuid.uuid4()),
            user_id=user.id,
            token_hash=token_hash(token),
            created_by=_acting_user_id(uow),
            created_at=now,
            expires_at=now + dt.timedelta(hours=hours),
        )
    )
    session.flush()
    return token


def invite_user(
    uow: UnitOfWork,
    *,
    email: str,
    role: str,
    hours: int,
    display_name: str = "",
    merchant_id: str | None = None,
    candidate_id: str | None = None,
) -> tuple[User, str]:
    """A new account without a password and the token of its invitation link (邀请)."""
    user = create_user(
        uow,
        email=email,
        role=role,
        display_name=display_name,
        merchant_id=merchant_id,
        candidate_id=candidate_id,
    )
    return user, issue_invitation(uow, user, hours=hours)


def resend_invitation(uow: UnitOfWork, user: User, *, hours: int) -> str:
    """A fresh link (the previous one stops working): for someone who has not accepted yet, or — for an
    account that has a password — a password reset for someone who forgot theirs (the old password keeps
    working until the link is used)."""
    if not user.active:
        raise AccountError(N_("This user is deactivated; reactivate them first."))
    return issue_invitation(uow, user, hours=hours)


def find_invitation(uow: UnitOfWork, token: str) -> Invitation:
    """The usable invitation of ``token``, or :class:`InvitationError` saying why not."""
    now = uow.now()
    invitation = uow.session.scalar(
        select(Invitation).where(Invitation.token_hash == token_hash(token)).with_for_update()
    )
    if invitation is None:
        raise InvitationError(INVITATION_UNKNOWN)
    if invitation.used_at is not None:
        raise InvitationError(INVITATION_USED)
    if invitation.expires_at <= now:
        raise InvitationError(INVITATION_EXPIRED)
    return invitation


def accept_invitation(
    uow: UnitOfWork,
    token: str,
    password: str,
    repeated: str,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
) -> User:
    """Set the invited user's password with the link's token; the token is spent."""
    invitation = find_invitation(uow, token)
    user = uow.session.get(User, invitation.user_id)
    if user is None or not user.active:
        raise InvitationError(INVITATION_UNKNOWN)
    _check_new_password(password, repeated, email=user.email)
    now = uow.now()
    if user.password_hash:  # a reset: sessions opened with the old password end
        user.session_version = (user.session_version or 1) + 1
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    user.failed_attempts = 0
    user.locked_until = None
    user.last_sign_in_at = now
    invitation.used_at = now
    record(uow, "invitation_accepted", user.email, user, ip, user_agent)
    return user


# --- the signed-in user's own account ---------------------------------------------------------------------


def _check_new_password(password: str, repeated: str, *, email: str) -> None:
    if password != repeated:
        raise AccountError(N_("The two new passwords are not the same."))
    problems = password_problems(password, email=email)
    if problems:
        raise AccountError(problems[0])


def change_password(
    uow: UnitOfWork,
    user: User,
    current: str,
    new: str,
    repeated: str,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
) -> None:
    """Replace the password; every other session of the user ends (the session version moves on).

    A wrong current password is audited before the refusal is raised: the caller keeps that write."""
    if not user.password_hash or not _verify(user.password_hash, current):
        record(uow, "password_change_refused", user.email, user, ip, user_agent)
        raise AccountError(N_("The current password is not correct."))
    _check_new_password(new, repeated, email=user.email)
    if _verify(user.password_hash, new):
        raise AccountError(N_("The new password must differ from the current one."))
    user.password_hash = hash_password(new)
    user.password_changed_at = uow.now()
    user.session_version = (user.session_version or 1) + 1
    record(uow, "password_changed", user.email, user, ip, user_agent)


def sign_out(uow: UnitOfWork, user: User, *, ip: str | None = None) -> None:
    """Audit the end of this session (the cookie itself is cleared by the view)."""
    record(uow, "signed_out", user.email, user, ip, None)


def sign_out_everywhere(
    uow: UnitOfWork, user: User, *, ip: str | None = None, user_agent: str | None = None
) -> None:
    """End every session of the user, on every device, this one included."""
    user.session_version = (user.session_version or 1) + 1
    record(uow, "signed_out_everywhere", user.email, user, ip, user_agent)


# --- administration ---------------------------------------------------------------------------------------


def _acting_user_id(uow: UnitOfWork) -> str | None:
    """The account id of the person acting, None for a system process (the CLI)."""
    if not uow.has_actor or uow.actor.is_system:
        return None
    return uow.actor.sub


def _acting_user(uow: UnitOfWork) -> User | None:
    user_id = _acting_user_id(uow)
    return uow.session.get(User, user_id) if user_id else None


def unlock(uow: UnitOfWork, user: User) -> None:
    """Lift a lock-out (解锁) — by the acting administrator, or the CLI."""
    by = _acting_user(uow)
    user.locked_until = None
    user.failed_attempts = 0
    record(uow, "unlocked", user.email, user, None, f"by {by.email}" if by else None)


def set_active(uow: UnitOfWork, user: User, active: bool) -> None:
    """Deactivate (every session ends at once, the password stays) or reactivate an account."""
    by = _acting_user(uow)
    if by is not None and by.id == user.id and not active:
        raise AccountError(N_("You cannot deactivate your own account."))
    if user.active == active:
        return
    user.active = active
    if not active:
        user.session_version = (user.session_version or 1) + 1
    record(
        uow,
        "reactivated" if active else "deactivated",
        user.email,
        user,
        None,
        f"by {by.email}" if by else None,
    )


def is_locked(user: User, now: dt.datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


def calendar_token(uow: UnitOfWork, user: User, *, rotate: bool = False, size: int = 32) -> str:
    """The agent's iCal subscription secret, made on first use; ``rotate`` replaces it (the old link dies)."""
    if rotate or not user.calendar_token:
        user.calendar_token = secrets.token_urlsafe(size)
    return user.calendar_token
