"""The alerts API under /api/v1 (通知): channels (WeCom/DingTalk robots, e-mail), alerts and their
deliveries. Nothing is sent from here: a test and a retry only queue deliveries for the worker."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from services.scheduling import alerts
from services.scheduling.alerts_schemas import (
    AlertArgsSchema,
    AlertChannelArgsSchema,
    AlertChannelCreateSchema,
    AlertChannelPage,
    AlertChannelSchema,
    AlertChannelUpdateSchema,
    AlertDetailSchema,
    AlertPage,
)
from shared.auth import roles_required
from shared.web import current_uow, idempotent, transactional

blp = Blueprint(
    "scheduling-alerts",
    __name__,
    url_prefix="/api/v1",
    description="Alerts (通知) to WeCom and DingTalk group robots and e-mail, with their delivery",
)

#: who configures channels (a supervisor: its projects' channels; vendor-wide ones are the vendor's)
MANAGERS = ("vendor", "supervisor")


@blp.route("/alert-channels")
class AlertChannelsResource(MethodView):
    @roles_required(*MANAGERS)
    @blp.arguments(AlertChannelArgsSchema, location="query")
    @blp.response(200, AlertChannelPage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Alert channels, newest first (secrets masked)"""
        return alerts.channel_page(current_uow(), args)

    @idempotent
    @roles_required(*MANAGERS)
    @blp.arguments(AlertChannelCreateSchema)
    @blp.response(201, AlertChannelSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Add a channel: a WeCom robot (webhook), a DingTalk robot (webhook + signing secret) or e-mail

        It receives the alerts of its audience for its project (or every project: `project_id` null,
        vendor and admin only) and of the kinds listed (none: every kind).
        """
        return alerts.channel_dict(alerts.create_channel(current_uow(), data))


@blp.route("/alert-channels/<channel_id>")
class AlertChannelResource(MethodView):
    @roles_required(*MANAGERS)
    @blp.response(200, AlertChannelSchema)
    def get(self, channel_id: str) -> dict[str, Any]:
        """One alert channel (secrets masked)"""
        return alerts.channel_dict(alerts.get_channel(current_uow(), channel_id))

    @transactional
    @roles_required(*MANAGERS)
    @blp.arguments(AlertChannelUpdateSchema)
    @blp.response(200, AlertChannelSchema)
    def patch(self, data: dict[str, Any], channel_id: str) -> dict[str, Any]:
        """Change a channel; a masked secret or webhook sent back unchanged is kept

        Disabling a channel stops its pending deliveries (they end `failed`, "the channel was disabled").
        """
        return alerts.channel_dict(alerts.update_channel(current_uow(), channel_id, data))

    @transactional
    @roles_required(*MANAGERS)
    @blp.response(204)
    def delete(self, channel_id: str) -> None:
        """Delete a channel; its past deliveries stay in the alerts' history"""
        alerts.delete_channel(current_uow(), channel_id)


@blp.route("/alert-channels/<channel_id>/test", methods=["POST"])
@transactional
@roles_required(*MANAGERS)
@blp.response(202, AlertDetailSchema)
def test_alert_channel(channel_id: str) -> dict[str, Any]:
    """Queue a test alert to this channel: the worker sends it within its interval (`GET /alerts/{id}`)"""
    uow = current_uow()
    alert = alerts.queue_test_alert(uow, channel_id)
    return alerts.get_alert(uow, alert.id)


@blp.route("/alerts")
@roles_required(*MANAGERS, "merchant")
@blp.arguments(AlertArgsSchema, location="query")
@blp.response(200, AlertPage)
def list_alerts(args: dict[str, Any]) -> dict[str, Any]:
    """Alerts, newest first, with their delivery status (a merchant: its projects' merchant alerts)

    `status=failed` lists the alerts a channel did not take after every retry: fix the channel, then
    `POST /alerts/{id}/retry`.
    """
    return alerts.alert_page(current_uow(), args)


@blp.route("/alerts/<alert_id>")
@roles_required(*MANAGERS, "merchant")
@blp.response(200, AlertDetailSchema)
def get_alert(alert_id: str) -> dict[str, Any]:
    """One alert with each delivery: tries, next try, last error"""
    return alerts.get_alert(current_uow(), alert_id)


@blp.route("/alerts/<alert_id>/retry", methods=["POST"])
@transactional
@roles_required(*MANAGERS)
@blp.response(200, AlertDetailSchema)
def retry_alert(alert_id: str) -> dict[str, Any]:
    """Send an alert's failed deliveries again, with a fresh set of tries (after fixing the channel)"""
    return alerts.retry_alert(current_uow(), alert_id)
