"""The console's own tables: user accounts, invitations and the audit trail of sign-ins (账号)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, new_metadata, utcnow


class Base(DeclarativeBase):
    metadata = new_metadata()


class User(Base):
    """A person who signs in. ``merchant_id`` binds a merchant user to its shop's projects; ``candidate_id``
    binds an agent to their talent-pool record (it is the ``sub`` of the agent's service tokens)."""

    __tablename__ = "users"
    # the administrator's list: newest first, then by e-mail (migration 0002), alone and by role
    __table_args__ = (
        sa.Index("ix_users_created_at_email", sa.text("created_at DESC"), "email"),
        sa.Index("ix_users_role_created_at_email", "role", sa.text("created_at DESC"), "email"),
        sa.Index(
            "ix_users_locked_until",
            "locked_until",
            postgresql_where=sa.text("locked_until IS NOT NULL"),
            sqlite_where=sa.text("locked_until IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100))
    role: Mapped[str] = mapped_column(sa.String(20))
    merchant_id: Mapped[str | None] = mapped_column(sa.String(64))
    candidate_id: Mapped[str | None] = mapped_column(sa.String(36))
    #: Argon2id hash; NULL until an invitation is accepted
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(sa.String(10))
    failed_attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: bumped on password change and sign-out everywhere: older session cookies stop working
    session_version: Mapped[int] = mapped_column(sa.Integer, default=1)
    #: secret part of the agent's iCal subscription URL (rotatable)
    calendar_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Invitation(Base):
    """A one-time, expiring link that lets an invited person set their password (邀请)."""

    __tablename__ = "invitations"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the token: the token itself is only ever in the link
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by: Mapped[str | None] = mapped_column(sa.String(36))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SignInEvent(Base):
    """Audit trail: every sign-in attempt, sign-out, lock-out and password change (登录审计)."""

    __tablename__ = "sign_in_events"
    # the audit trail: newest first (at, id), alone and by outcome
    __table_args__ = (
        sa.Index("ix_sign_in_events_at_id", "at", "id"),
        sa.Index("ix_sign_in_events_outcome_at_id", "outcome", "at", "id"),
    )

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    user_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    #: signed_in, failed, locked, signed_out, password_changed, invitation_accepted
    outcome: Mapped[str] = mapped_column(sa.String(30))
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
