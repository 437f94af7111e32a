"""The agents' calendar feeds under /api/v1 (日历订阅): issue, list and revoke the signed feed URLs, and
the feed itself, which takes no bearer token (a calendar app cannot send one). Thin views over
``calendar_feed``."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from services.scheduling import agenda, calendar_feed
from services.scheduling.config import CalendarSettings, load_calendar_settings
from shared.auth import ensure_self_or_roles, public_endpoint, roles_documented
from shared.config import is_development
from shared.pagination import PageArgsSchema, page_response_schema
from shared.web import current_uow, get_settings, transactional

blp = Blueprint(
    "scheduling-calendar",
    __name__,
    url_prefix="/api/v1",
    description="Agents' calendar feeds (日历订阅): signed, revocable URLs a phone's calendar subscribes to",
)

#: besides the agent itself (its own tokens only), who manages an agent's feed URLs
MANAGERS = ("vendor",)
_SETTINGS_KEY = "yunkefu.scheduling.calendar"


def calendar_settings() -> CalendarSettings:
    """The app's feed settings, parsed once (app.py parses them at start-up, refusing a weak secret)."""
    cached = current_app.extensions.get(_SETTINGS_KEY)
    if cached is None:
        cached = load_calendar_settings(get_settings().extra, development=is_development())
        current_app.extensions[_SETTINGS_KEY] = cached
    return cached


class CalendarTokenSchema(Schema):
    id = fields.String()
    agent_id = fields.String()
    active = fields.Boolean(metadata={"description": "false once revoked"})
    url_path = fields.String(
        allow_none=True,
        metadata={
            "description": "the feed on this service (null once revoked); anyone holding it reads the "
            "agent's shifts, so it is shown only to the agent and the vendor",
            "example": "/api/v1/calendar/<token id>.<signature>.ics",
        },
    )
    gateway_path = fields.String(
        allow_none=True,
        metadata={"description": "the same feed through the gateway: /api/scheduling/v1/calendar/….ics"},
    )
    created_at = fields.AwareDateTime()
    revoked_at = fields.AwareDateTime(allow_none=True)
    last_used_at = fields.AwareDateTime(
        allow_none=True, metadata={"description": "when a calendar app last fetched the feed"}
    )


CalendarTokenPage = page_response_schema(CalendarTokenSchema, "CalendarTokenPage")


@blp.route("/agents/<agent_id>/calendar-tokens")
class CalendarTokens(MethodView):
    @roles_documented("agent", *MANAGERS)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, CalendarTokenPage)
    def get(self, args: dict[str, Any], agent_id: str) -> Any:
        """The agent's calendar links, revoked ones too (an agent: only its own)"""
        ensure_self_or_roles(agent_id, *MANAGERS)
        return calendar_feed.list_tokens(current_uow(), agent_id, args, calendar_settings().secret)

    @transactional
    @roles_documented("agent", *MANAGERS)
    @blp.response(201, CalendarTokenSchema)
    @blp.doc(
        description=f"Answers the feed's address (`url_path`, and `gateway_path` through the gateway): "
        f"subscribe to it from a phone's calendar app, no sign-in needed. At most "
        f"{calendar_feed.MAX_ACTIVE_TOKENS} links work at once (409 `calendar-token-limit`: revoke one). "
        "The vendor may issue a link for any agent in a pool (404 for an unknown agent)."
    )
    def post(self, agent_id: str) -> dict[str, Any]:
        """Issue a calendar link for the agent's shifts (an agent: for itself)"""
        ensure_self_or_roles(agent_id, *MANAGERS)
        return calendar_feed.issue_token(current_uow(), agent_id, calendar_settings().secret)


@blp.route("/agents/<agent_id>/calendar-tokens/<token_id>", methods=["DELETE"])
@transactional
@roles_documented("agent", *MANAGERS)
@blp.response(204)
def revoke_calendar_token(agent_id: str, token_id: str) -> None:
    """Revoke a calendar link: its feed answers 404 from now on (an agent: only its own)"""
    ensure_self_or_roles(agent_id, *MANAGERS)
    calendar_feed.revoke_token(current_uow(), agent_id, token_id)


@blp.route("/calendar/<token>.ics", methods=["GET"])
@transactional
@public_endpoint("the signed, revocable token in the URL (issued at /agents/{agent_id}/calendar-tokens)")
@blp.arguments(agenda.AgentShiftsArgs, location="query")
@blp.doc(
    description=f"No bearer token: the URL is the credential. Without `from`/`to`: from "
    f"{calendar_feed.FEED_PAST_DAYS} days ago to {calendar_feed.FEED_FUTURE_DAYS} days ahead "
    "(Asia/Shanghai). An unknown, revoked or wrongly signed token gets the same 404.",
    responses={
        "200": {
            "description": "text/calendar: one VEVENT per shift in every project, times in UTC",
            "content": {"text/calendar": {"schema": {"type": "string"}}},
        }
    },
)
def calendar_feed_ics(args: dict[str, Any], token: str) -> Response:
    """An agent's shifts as an iCalendar feed, for calendar apps (no sign-in)"""
    body = calendar_feed.feed(current_uow(), token, calendar_settings().secret, args)
    return Response(
        body,
        content_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": 'inline; filename="shifts.ics"',
            # a personal feed: the app may keep it, no shared cache may
            "Cache-Control": "private, max-age=300",
        },
    )
