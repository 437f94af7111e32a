"""An agent's calendar feed at a URL (日历订阅): the agent's shifts across every project, for a phone's
calendar app to subscribe to.

A calendar app cannot send a bearer header, so the URL carries the credential:
``/api/v1/calendar/<token id>.<signature>.ics``. The id names a ``calendar_tokens`` row, which the agent
(or the vendor) revokes; the signature — HMAC-SHA256 under ``SCHEDULING_CALENDAR_SECRET`` over the id and
the agent's id, base64url without padding — makes an id alone (in a database dump, a log of ids) worth
nothing and ties the URL to its agent. An unknown id, a revoked token and a wrong signature get the same
404, so a URL cannot be probed for which part is wrong.

The URL is recomputed from the row and the secret whenever the agent lists its tokens: nothing secret is
stored, and rotating the secret retires every URL at once.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from services.scheduling import agenda
from services.scheduling.models import CalendarToken, PoolAgent
from shared.errors import BusinessRuleViolation, NotFound
from shared.pagination import Page, paginate_args
from shared.uow import Actor, UnitOfWork
from shared.workdays import today_shanghai

#: the feed's days when the URL asks for none: last week (a shift just worked) and two months ahead
FEED_PAST_DAYS = 7
FEED_FUTURE_DAYS = 60
#: tokens an agent holds at once (one per phone or calendar app is plenty); revoke one to issue another
MAX_ACTIVE_TOKENS = 5
FEED_PREFIX = "/api/v1/calendar/"
#: the same feed through the gateway (deploy/Caddyfile maps /api/scheduling/v1/… to /api/v1/…)
GATEWAY_PREFIX = "/api/scheduling/v1/calendar/"
FEED_NAME = "我的排班"
#: a token id is a UUID (lower-case, as ``uuid4`` writes it); a signature 32 bytes in unpadded base64url
_TOKEN = re.compile(
    r"(?P<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(?P<signature>[A-Za-z0-9_-]{43})"
)
_UNKNOWN = "There is no calendar feed at this address (it may have been revoked); issue a new link."


def signature(secret: str, token_id: str, agent_id: str) -> str:
    """HMAC-SHA256 over ``<token id>.<agent id>``, base64url without padding (43 characters)."""
    digest = hmac.new(secret.encode(), f"{token_id}.{agent_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def feed_token(secret: str, row: CalendarToken) -> str:
    return f"{row.id}.{signature(secret, row.id, row.agent_id)}"


def token_view(secret: str, row: CalendarToken) -> dict[str, Any]:
    """A token as the API shows it; the feed's address only while the token works."""
    active = row.revoked_at is None
    token = feed_token(secret, row) if active else None
    return {
        "id": row.id,
        "agent_id": row.agent_id,
        "active": active,
        "url_path": f"{FEED_PREFIX}{token}.ics" if token else None,
        "gateway_path": f"{GATEWAY_PREFIX}{token}.ics" if token else None,
        "created_at": row.created_at,
        "revoked_at": row.revoked_at,
        "last_used_at": row.last_used_at,
    }


def issue_token(uow: UnitOfWork, agent_id: str, secret: str) -> dict[str, Any]:
    """A new feed URL for the agent. The vendor may issue one for any agent scheduling knows (a pool
    member); an agent for itself, pool or not (its calendar is simply empty until it is rostered)."""
    session = uow.session
    if (
        uow.actor.role != "agent"
        and session.scalar(select(PoolAgent.agent_id).where(PoolAgent.agent_id == agent_id).limit(1)) is None
    ):
        raise NotFound(
            f"Scheduling knows no agent {agent_id!r}: agents arrive in a project's pool when admitted."
        )
    active = session.scalar(
        select(func.count())
        .select_from(CalendarToken)
        .where(CalendarToken.agent_id == agent_id, CalendarToken.revoked_at.is_(None))
    )
    if (active or 0) >= MAX_ACTIVE_TOKENS:
        raise BusinessRuleViolation(
            f"The agent already has {MAX_ACTIVE_TOKENS} calendar links; revoke one that is no longer used "
            "(DELETE /agents/{agent_id}/calendar-tokens/{token_id}) before issuing another.",
            rule="calendar-token-limit",
            status=409,
        )
    row = CalendarToken(id=str(uuid.uuid4()), agent_id=agent_id, created_at=uow.now())
    session.add(row)
    session.flush()
    return token_view(secret, row)


TOKENS_ORDER = (CalendarToken.created_at, CalendarToken.id)


def list_tokens(uow: UnitOfWork, agent_id: str, args: Mapping[str, Any], secret: str) -> Page:
    """The agent's tokens, oldest first, revoked ones too (when each was last used tells which to keep)."""
    stmt = select(CalendarToken).where(CalendarToken.agent_id == agent_id)
    page = paginate_args(uow.session, stmt, args, order_by=TOKENS_ORDER)
    return page.with_items([token_view(secret, row) for row in page.items])


def revoke_token(uow: UnitOfWork, agent_id: str, token_id: str) -> None:
    """The URL stops working at once; revoking twice changes nothing. Another agent's token is unknown."""
    row = uow.session.get(CalendarToken, token_id, with_for_update=True)
    if row is None or row.agent_id != agent_id:
        raise NotFound(f"Agent {agent_id!r} has no calendar token {token_id!r}.")
    if row.revoked_at is None:
        row.revoked_at = uow.now()


def verify(uow: UnitOfWork, token: str, secret: str) -> CalendarToken:
    """The token row a feed URL names, if it is well formed, known, not revoked and signed by us; else
    the same NotFound for every case."""
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise NotFound(_UNKNOWN)
    row = uow.session.get(CalendarToken, match["id"])
    # the signature is computed and compared whatever the row, so a known id answers no slower or faster
    expected = signature(secret, match["id"], row.agent_id if row is not None else "")
    signed = hmac.compare_digest(expected.encode(), match["signature"].encode())
    if row is None or row.revoked_at is not None or not signed:
        raise NotFound(_UNKNOWN)
    return row


def feed(uow: UnitOfWork, token: str, secret: str, args: Mapping[str, Any]) -> str:
    """The agent's shifts in every project as iCalendar, recording when the feed was last fetched: a week
    back to two months ahead, unless ``from``/``to`` ask otherwise (then as ``agenda.agent_shifts``)."""
    row = verify(uow, token, secret)
    now = uow.now()
    row.last_used_at = now
    # the rest of the request acts as the agent the token belongs to (logs, anything it emits)
    uow.actor = Actor(sub=row.agent_id, role="agent")
    window: Mapping[str, Any] = args
    if not args.get("from_") and not args.get("to"):
        today = today_shanghai(now)
        past, ahead = dt.timedelta(days=FEED_PAST_DAYS), dt.timedelta(days=FEED_FUTURE_DAYS)
        window = {"from_": today - past, "to": today + ahead}
    view = agenda.agent_shifts(uow, row.agent_id, dict(window))
    return agenda.agent_ics(view, now, calendar_name=FEED_NAME)
