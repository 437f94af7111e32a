"""Alerts (通知): what supervisors, the vendor and the merchant must know now, sent to their WeCom and
DingTalk group robots and mailboxes.

``raise_alert`` records an alert and one pending delivery per matching channel in the caller's transaction;
nothing is sent from a request or an event handler. The worker's ``scheduling.deliver_alerts`` job
(``deliver_due``) sends the deliveries that are due, and a failed try is retried after 30 s, 1 min, 2 min …
(doubling, capped at 30 min) until ``SCHEDULING_ALERT_MAX_ATTEMPTS`` tries have failed: an outage of a
webhook delays an alert, it does not lose it.

A channel belongs to one project or to the vendor as a whole (``project_id`` null), serves one audience
(supervisor, vendor or merchant) and some kinds (none listed: every kind). An alert goes to the enabled
channels of its audience that are the project's own or vendor-wide; a merchant's channel must name its
project, so one merchant's alerts never reach another's group.
"""

from __future__ import annotations

import datetime as dt
import logging
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from prometheus_client import Counter
from sqlalchemy import Select, and_, exists, func, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from services.scheduling.config import AlertSettings, load_alert_settings
from services.scheduling.models import Alert, AlertChannel, AlertDelivery, Project
from services.scheduling.senders import Message, PartlySent, Sender, SendError, Target, build_senders
from shared.db import is_postgres
from shared.errors import BusinessRuleViolation, Forbidden, NotFound, ValidationFailed
from shared.pagination import Page, paginate_args
from shared.uow import UnitOfWork
from shared.workdays import SHANGHAI

log = logging.getLogger(__name__)

ALERT_KINDS = (
    "no_show",
    "uncovered",
    "complaint_escalated",
    "complaint_overdue",
    "reserve_shortfall",
    "help_requested",
    "mass_attrition",
    "invoice_issued",
    "invoice_paid",
)
AUDIENCES = ("supervisor", "vendor", "merchant")
CHANNEL_TYPES = ("wecom", "dingtalk", "email")
MESSAGE_FORMATS = ("markdown", "text")
DELIVERY_STATUSES = ("pending", "sent", "failed")
#: an alert's status, from its deliveries: failed (one failed for good) > pending > sent; unrouted when
#: no channel took it
ALERT_STATUSES = ("pending", "sent", "failed", "unrouted")
#: the kind of the alert ``POST /alert-channels/{id}/test`` queues (to that one channel only)
TEST_KIND = "test"

KIND_LABELS: dict[str, str] = {
    "no_show": "缺勤",
    "uncovered": "排班缺口",
    "complaint_escalated": "投诉升级",
    "complaint_overdue": "投诉超时",
    "reserve_shortfall": "后备不足",
    "help_requested": "客服求助",
    "mass_attrition": "人员大量流失",
    "invoice_issued": "账单已开具",
    "invoice_paid": "账单收款",
    TEST_KIND: "测试",
}
AUDIENCE_LABELS = {"supervisor": "主管", "vendor": "服务商", "merchant": "商家"}
CHANNEL_TYPE_LABELS = {"wecom": "企业微信群机器人", "dingtalk": "钉钉群机器人", "email": "电子邮件"}

CHANNEL_NOT_FOUND = "There is no alert channel with this id."
ALERT_NOT_FOUND = "There is no alert with this id."
#: who manages vendor-wide channels (supervisors manage their projects' channels)
VENDOR_ROLES = ("vendor", "admin")

DELIVERIES = Counter(
    "scheduling_alert_deliveries_total",
    "Alert delivery attempts by channel type and outcome (sent, retry, failed)",
    ["channel_type", "outcome"],
)


# --- retries ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a delivery is tried: exponential backoff, then ``failed``."""

    max_attempts: int = 8
    backoff_seconds: float = 30.0
    backoff_max_seconds: float = 1800.0

    @classmethod
    def from_settings(cls, cfg: AlertSettings) -> RetryPolicy:
        return cls(cfg.max_attempts, cfg.backoff_seconds, cfg.backoff_max_seconds)

    def backoff(self, attempts: int) -> dt.timedelta:
        """The wait after the ``attempts``-th failed try: base, 2 × base, 4 × base … capped."""
        exponent = min(max(attempts, 1) - 1, 32)  # 2**32 × any base is past any cap
        return dt.timedelta(seconds=min(self.backoff_seconds * 2**exponent, self.backoff_max_seconds))


# --- raising an alert -------------------------------------------------------------------------------------


def raise_alert(
    uow: UnitOfWork,
    *,
    project_id: str | None,
    kind: str,
    title: str,
    body: str,
    data: dict[str, Any] | None = None,
    dedup_key: str | None = None,
    audience: str = "supervisor",
) -> str | None:
    """Record an alert and one pending delivery per matching channel, in the caller's transaction.

    Returns the alert's id, or None when an alert with this ``dedup_key`` was raised before (also by a
    concurrent transaction: the unique key decides). ``title`` and ``body`` are Chinese, for people.
    """
    if kind not in ALERT_KINDS:
        raise ValueError(f"unknown alert kind {kind!r}; one of {ALERT_KINDS}")
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}; one of {AUDIENCES}")
    if dedup_key is not None and not 0 < len(dedup_key) <= 200:
        raise ValueError("a dedup_key has 1 to 200 characters")
    alert_id = _insert_alert(
        uow,
        {
            "kind": kind,
            "project_id": project_id,
            "audience": audience,
            "title": title[:200],
            "body": body,
            "data": dict(data or {}),
            "dedup_key": dedup_key,
        },
    )
    if alert_id is None:
        return None
    for channel in matching_channels(uow, project_id, audience, kind):
        _queue(uow, alert_id, channel)
    return alert_id


def _insert_alert(uow: UnitOfWork, values: dict[str, Any]) -> str | None:
    """INSERT the alert; with a dedup key, ON CONFLICT DO NOTHING: a repeat (even a concurrent one, which
    waits for the first to commit) inserts nothing and gets None."""
    alert_id = str(uuid.uuid4())
    row = {"id": alert_id, "created_at": uow.now(), **values}
    session = uow.session
    if values["dedup_key"] is None:
        session.execute(insert(Alert), [row])
        return alert_id
    table = Alert.__table__
    builder = postgresql.insert if is_postgres(session) else sqlite.insert
    stmt = builder(table).values(row).on_conflict_do_nothing(index_elements=["dedup_key"])
    return session.scalars(stmt.returning(table.c.id)).first()


def matching_channels(
    uow: UnitOfWork, project_id: str | None, audience: str, kind: str
) -> list[AlertChannel]:
    """The enabled channels of the audience that are the project's own or vendor-wide and take the kind."""
    scope = AlertChannel.project_id.is_(None)
    if project_id is not None:
        scope = or_(scope, AlertChannel.project_id == project_id)
    channels = uow.session.scalars(
        select(AlertChannel)
        .where(AlertChannel.enabled.is_(True), AlertChannel.audience == audience, scope)
        .order_by(AlertChannel.created_at, AlertChannel.id)
    ).all()
    # kinds is a JSON list (empty: every kind); channels are few, so filtering here is cheap and portable
    return [c for c in channels if not c.kinds or kind in c.kinds]


def _queue(uow: UnitOfWork, alert_id: str, channel: AlertChannel) -> AlertDelivery:
    now = uow.now()
    delivery = AlertDelivery(
        id=str(uuid.uuid4()),
        alert_id=alert_id,
        channel_id=channel.id,
        channel_type=channel.type,
        channel_name=channel.name,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    uow.session.add(delivery)
    return delivery


# --- complaints (complaint.escalated) ---------------------------------------------------------------------

LEVEL_LABELS = {"agent": "客服", "supervisor": "主管", "manager": "经理"}
#: the reasons complaints' escalation job gives (services/complaints/domain.py ``auto_steps``): the second
#: one means the time promised to the customer has passed, which makes the alert ``complaint_overdue``
HALF_TIME_REASON = "automatic: half of the time promised to the customer has passed"
OVERDUE_REASON = "automatic: the time promised to the customer has passed"
_REASON_LABELS = {
    HALF_TIME_REASON: "已过承诺处理时限的一半仍未解决，系统自动升级",
    OVERDUE_REASON: "已超过向客户承诺的处理时限仍未解决，系统自动升级",
}


def is_overdue_escalation(data: Mapping[str, Any]) -> bool:
    return str(data.get("reason") or "").startswith(OVERDUE_REASON)


def complaint_escalated(uow: UnitOfWork, data: Mapping[str, Any]) -> list[str]:
    """``complaint.escalated``: a ``complaint_escalated`` alert to the supervisors, ``complaint_overdue``
    when the escalation job moved it because its deadline passed; at the manager level the vendor is told
    too. Once per complaint, level and audience (a redelivered or replayed event raises nothing)."""
    overdue = is_overdue_escalation(data)
    kind = "complaint_overdue" if overdue else "complaint_escalated"
    number, level = str(data["number"]), str(data["level"])
    level_label = LEVEL_LABELS.get(level, level)
    reason = str(data.get("reason") or "").strip()
    reason_text = next((label for key, label in _REASON_LABELS.items() if reason.startswith(key)), reason)
    title = (
        f"投诉 {number} 已超时，升级至{level_label}" if overdue else f"投诉 {number} 已升级至{level_label}"
    )
    lines = [f"投诉编号：{number}", f"当前处理级别：{level_label}"]
    if data.get("agent_id"):
        lines.append(f"涉及客服：{data['agent_id']}")
    if reason_text:
        lines.append(f"升级原因：{reason_text}")
    lines.append("请尽快跟进处理。")
    details = {
        "complaint_id": data["complaint_id"],
        "number": number,
        "level": level,
        "agent_id": data.get("agent_id"),
        "reason": reason or None,
        "status": data.get("status"),
    }
    raised = []
    for audience in ("supervisor", "vendor") if level == "manager" else ("supervisor",):
        alert_id = raise_alert(
            uow,
            project_id=data.get("project_id"),
            kind=kind,
            title=title,
            body="\n".join(lines),
            data=details,
            dedup_key=f"{kind}:{data['complaint_id']}:{level}:{audience}",
            audience=audience,
        )
        if alert_id is not None:
            raised.append(alert_id)
    return raised


def _yuan(text: str) -> str:
    """A money string as the alert prints it: 42400.00 → 42,400.00 元."""
    amount = Decimal(text)
    return f"{amount:,.2f} 元"


def invoice_notice(uow: UnitOfWork, data: Mapping[str, Any], *, paid: bool) -> str | None:
    """billing's ``invoice.issued`` / ``invoice.paid``: the merchant is told through its project's channels
    (账单通知: a new invoice or credit note with its total and due date; a payment and the balance left).
    Once per invoice and payment state (a redelivered event raises nothing)."""
    number = str(data["number"])
    balance = Decimal(str(data["balance"]))
    period = data.get("period") or ""
    if paid:
        title = f"账单 {number} 已收到付款"
        lines = [f"账单编号：{number}", f"本次收款：{_yuan(str(data.get('amount') or '0'))}"]
        lines.append("余额：已结清" if balance <= 0 else f"余额：{_yuan(str(balance))}")
        # one per payment (two equal payments are two alerts)
        key = f"invoice_paid:{data['invoice_id']}:{data.get('payment_id') or data.get('paid_on')}"
    else:
        credit = Decimal(str(data["total"])) < 0
        title = f"红字账单 {number} 已开具" if credit else f"{period} 账单 {number} 已开具"
        lines = [f"账单编号：{number}", f"账期：{period}", f"价税合计：{_yuan(str(data['total']))}"]
        if data.get("due_on") and not credit:
            lines.append(f"付款期限：{data['due_on']}")
        key = f"invoice_issued:{data['invoice_id']}"
    return raise_alert(
        uow,
        project_id=data.get("project_id"),
        kind="invoice_paid" if paid else "invoice_issued",
        title=title,
        body="\n".join(lines),
        data={k: (str(v) if v is not None else None) for k, v in data.items()},
        dedup_key=key[:200],
        audience="merchant",
    )


# --- the message ------------------------------------------------------------------------------------------


def compose_message(
    kind: str, title: str, body: str, project_name: str | None, created_at: dt.datetime
) -> Message:
    """The alert as people read it: 【kind】title, the project, the Beijing time, the body."""
    label = KIND_LABELS.get(kind, "通知")
    when = created_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    head = f"【{label}】{title}"
    subject = f"[云客服] {head}" + (f" - {project_name}" if project_name else "")
    facts = ([("项目", project_name)] if project_name else []) + [("时间", f"{when}（北京时间）")]
    markdown = "\n".join([f"### {head}", *(f"**{k}**：{v}" for k, v in facts), "", body.strip()])
    text = "\n".join([head, *(f"{k}：{v}" for k, v in facts), "", body.strip()])
    return Message(title=subject, markdown=markdown, text=text)


def _project_names(uow: UnitOfWork, project_ids: set[str]) -> dict[str, str]:
    if not project_ids:
        return {}
    rows = uow.session.execute(
        select(Project.id, Project.company_name).where(Project.id.in_(sorted(project_ids)))
    ).all()
    return {pid: name for pid, name in rows if name}


# --- delivering -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def tried(self) -> int:
        return self.sent + self.retried + self.failed


def _target(channel: AlertChannel) -> Target:
    return Target(
        type=channel.type,
        webhook_url=channel.webhook_url,
        secret=channel.secret,
        recipients=tuple(channel.recipients or ()),
        message_format=channel.message_format,
    )


def _error_text(exc: Exception) -> str:
    text = str(exc) if isinstance(exc, SendError | PartlySent) else f"{type(exc).__name__}: {exc}"
    return text[:1000]


def deliver_due(
    uow: UnitOfWork,
    now: dt.datetime,
    senders: Mapping[str, Sender],
    *,
    policy: RetryPolicy | None = None,
    batch: int = 20,
) -> DeliveryReport:
    """Try the pending deliveries whose time has come (oldest first, at most ``batch``): each is sent, or
    waits for its next try (``policy.backoff``), or after ``policy.max_attempts`` tries is ``failed``.
    On PostgreSQL rows another worker holds are skipped (``FOR UPDATE SKIP LOCKED``), so a delivery is
    tried by one worker at a time."""
    policy = policy or RetryPolicy()
    stmt = (
        select(AlertDelivery)
        .where(AlertDelivery.status == "pending", AlertDelivery.next_attempt_at <= now)
        .order_by(AlertDelivery.next_attempt_at, AlertDelivery.id)
        .limit(batch)
    )
    if is_postgres(uow.session):
        stmt = stmt.with_for_update(skip_locked=True)
    deliveries = uow.session.scalars(stmt).all()
    if not deliveries:
        return DeliveryReport()
    alerts = {
        a.id: a
        for a in uow.session.scalars(
            select(Alert).where(Alert.id.in_(sorted({d.alert_id for d in deliveries})))
        )
    }
    channel_ids = {d.channel_id for d in deliveries if d.channel_id is not None}
    channels = {
        c.id: c
        for c in uow.session.scalars(select(AlertChannel).where(AlertChannel.id.in_(sorted(channel_ids))))
    }
    names = _project_names(uow, {a.project_id for a in alerts.values() if a.project_id})
    sent = retried = failed = 0
    for delivery in deliveries:
        alert = alerts[delivery.alert_id]
        channel = channels.get(delivery.channel_id) if delivery.channel_id else None
        if channel is None or not channel.enabled:
            # nobody wants this channel's alerts any more: close the delivery rather than send or keep it
            delivery.status = "failed"
            delivery.last_error = "the channel was deleted" if channel is None else "the channel was disabled"
            failed += 1
            DELIVERIES.labels(delivery.channel_type, "failed").inc()
            continue
        message = compose_message(
            alert.kind, alert.title, alert.body, names.get(alert.project_id or ""), alert.created_at
        )
        delivery.attempts += 1
        delivery.last_attempt_at = now
        try:
            sender = senders.get(channel.type)
            if sender is None:
                raise SendError(f"no sender for channel type {channel.type!r}")
            sender.send(_target(channel), message)
        except PartlySent as exc:
            delivery.status, delivery.sent_at, delivery.last_error = "sent", now, _error_text(exc)
            sent += 1
        except Exception as exc:
            # any failure of one delivery (a bug in a sender included) must not stop the others
            delivery.last_error = _error_text(exc)
            if delivery.attempts >= policy.max_attempts:
                delivery.status = "failed"
                failed += 1
                log.error(
                    "alert %s to channel %s failed for good after %d tries: %s",
                    alert.id,
                    channel.id,
                    delivery.attempts,
                    delivery.last_error,
                )
            else:
                delivery.next_attempt_at = now + policy.backoff(delivery.attempts)
                retried += 1
                log.warning(
                    "alert %s to channel %s failed (try %d), next try at %s: %s",
                    alert.id,
                    channel.id,
                    delivery.attempts,
                    delivery.next_attempt_at.isoformat(),
                    delivery.last_error,
                )
            DELIVERIES.labels(channel.type, "failed" if delivery.status == "failed" else "retry").inc()
            continue
        else:
            delivery.status, delivery.sent_at, delivery.last_error = "sent", now, None
            sent += 1
        DELIVERIES.labels(channel.type, "sent").inc()
    report = DeliveryReport(sent, retried, failed)
    log.info("alert deliveries: %d sent, %d to retry, %d failed", sent, retried, failed)
    return report


def deliver_alerts(uow: UnitOfWork) -> DeliveryReport:
    """The worker's ``scheduling.deliver_alerts`` job: ``deliver_due`` with the process's settings."""
    cfg = load_alert_settings()
    return deliver_due(
        uow, uow.now(), build_senders(cfg), policy=RetryPolicy.from_settings(cfg), batch=cfg.batch
    )


# --- channels ---------------------------------------------------------------------------------------------


def mask(value: str | None) -> str | None:
    """A secret as it may be shown: its first and last four characters at most."""
    if value is None:
        return None
    if len(value) < 12:
        return "****"
    return f"{value[:4]}****{value[-4:]}"


def mask_url(url: str | None) -> str | None:
    """The webhook with every query value and any user-info masked: WeCom's ``key`` and DingTalk's
    ``access_token`` are what lets anyone post to the group."""
    if url is None:
        return None
    parts = urllib.parse.urlsplit(url)
    query = "&".join(
        f"{name}={mask(value)}" if value else name
        for name, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    )
    netloc = parts.netloc.rpartition("@")[2]
    if "@" in parts.netloc:
        netloc = f"****@{netloc}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def channel_dict(channel: AlertChannel) -> dict[str, Any]:
    return {
        "id": channel.id,
        "project_id": channel.project_id,
        "name": channel.name,
        "type": channel.type,
        "audience": channel.audience,
        "kinds": list(channel.kinds or []),
        "enabled": channel.enabled,
        "webhook_url": mask_url(channel.webhook_url),
        "secret": mask(channel.secret),
        "has_secret": channel.secret is not None,
        "recipients": list(channel.recipients or []),
        "message_format": channel.message_format,
        "created_by": channel.created_by,
        "created_at": channel.created_at,
        "updated_at": channel.updated_at,
    }


def _check_manage(uow: UnitOfWork, project_id: str | None) -> None:
    """Supervisors manage their projects' channels; vendor-wide ones are the vendor's."""
    actor = uow.actor
    if project_id is None and actor.role not in VENDOR_ROLES:
        raise Forbidden(
            "Vendor-wide alert channels (no project_id) are managed by the vendor; a supervisor manages "
            "the channels of a project (give its project_id).",
            extra={"required_roles": list(VENDOR_ROLES)},
        )


def _channel_problems(uow: UnitOfWork, values: Mapping[str, Any], *, project_changed: bool) -> dict[str, Any]:
    """What makes a channel (as it would be after the request) unusable, per field."""
    errors = channel_shape_problems(values)
    project_id = values.get("project_id")
    if project_changed and project_id is not None and uow.session.get(Project, project_id) is None:
        errors.setdefault("project_id", []).append(
            "No confirmed project has this id (scheduling knows a project once onboarding confirmed it)."
        )
    return errors


def channel_shape_problems(values: Mapping[str, Any]) -> dict[str, list[str]]:
    """The fields a channel of its type and audience needs or must not have (no database needed: the
    request schema reports these together with the fields' own errors)."""
    errors: dict[str, list[str]] = {}
    kind = values["type"]
    if kind in ("wecom", "dingtalk"):
        if not values.get("webhook_url"):
            errors["webhook_url"] = [f"A {kind} channel needs its robot's webhook URL."]
        if values.get("recipients"):
            errors["recipients"] = ["Only an e-mail channel has recipients."]
    if kind == "dingtalk" and not values.get("secret"):
        errors["secret"] = [
            "A DingTalk channel needs its signing secret (加签, the SEC… string of the robot's security "
            "settings): every request is signed."
        ]
    if kind != "dingtalk" and values.get("secret"):
        errors["secret"] = ["Only a DingTalk channel has a signing secret."]
    if kind == "email":
        if not values.get("recipients"):
            errors["recipients"] = ["An e-mail channel needs at least one recipient."]
        if values.get("webhook_url"):
            errors["webhook_url"] = ["An e-mail channel has no webhook URL."]
    if values["audience"] == "merchant" and values.get("project_id") is None:
        errors.setdefault("project_id", []).append(
            "A merchant's channel must name its project: a vendor-wide one would send every merchant's "
            "alerts to the same group."
        )
    return errors


def create_channel(uow: UnitOfWork, values: Mapping[str, Any]) -> AlertChannel:
    _check_manage(uow, values.get("project_id"))
    merged = {
        "project_id": values.get("project_id"),
        "name": values["name"],
        "type": values["type"],
        "audience": values.get("audience", "supervisor"),
        "kinds": list(dict.fromkeys(values.get("kinds") or [])),
        "enabled": values.get("enabled", True),
        "webhook_url": values.get("webhook_url"),
        "secret": values.get("secret"),
        "recipients": list(dict.fromkeys(values.get("recipients") or [])),
        "message_format": values.get("message_format", "markdown"),
    }
    errors = _channel_problems(uow, merged, project_changed=True)
    if errors:
        raise ValidationFailed(errors)
    now = uow.now()
    channel = AlertChannel(
        id=str(uuid.uuid4()), created_by=uow.actor.label, created_at=now, updated_at=now, **merged
    )
    uow.session.add(channel)
    uow.session.flush()
    return channel


def get_channel(uow: UnitOfWork, channel_id: str, *, for_update: bool = False) -> AlertChannel:
    channel = uow.session.get(AlertChannel, channel_id, with_for_update=for_update or None)
    if channel is None:
        raise NotFound(CHANNEL_NOT_FOUND)
    return channel


def update_channel(uow: UnitOfWork, channel_id: str, values: Mapping[str, Any]) -> AlertChannel:
    """Change some fields. A secret or webhook sent back exactly as this API shows it (masked) is left
    as it is, so a form can send the whole channel back."""
    channel = get_channel(uow, channel_id, for_update=True)
    _check_manage(uow, channel.project_id)
    changes = dict(values)
    if "webhook_url" in changes and changes["webhook_url"] == mask_url(channel.webhook_url):
        del changes["webhook_url"]
    if "secret" in changes and changes["secret"] is not None and changes["secret"] == mask(channel.secret):
        del changes["secret"]
    for key in ("kinds", "recipients"):
        if changes.get(key) is not None:
            changes[key] = list(dict.fromkeys(changes[key]))
    if "project_id" in changes:
        _check_manage(uow, changes["project_id"])
    current = channel_fields(channel)
    merged = {**current, **changes}
    errors = _channel_problems(uow, merged, project_changed=merged["project_id"] != current["project_id"])
    if errors:
        raise ValidationFailed(errors)
    for key, value in changes.items():
        setattr(channel, key, value)
    channel.updated_at = uow.now()
    return channel


def channel_fields(channel: AlertChannel) -> dict[str, Any]:
    return {
        "project_id": channel.project_id,
        "name": channel.name,
        "type": channel.type,
        "audience": channel.audience,
        "kinds": list(channel.kinds or []),
        "enabled": channel.enabled,
        "webhook_url": channel.webhook_url,
        "secret": channel.secret,
        "recipients": list(channel.recipients or []),
        "message_format": channel.message_format,
    }


def delete_channel(uow: UnitOfWork, channel_id: str) -> None:
    """Delete a channel; its deliveries stay as history (without the channel), pending ones are closed."""
    channel = get_channel(uow, channel_id, for_update=True)
    _check_manage(uow, channel.project_id)
    for delivery in uow.session.scalars(
        select(AlertDelivery).where(AlertDelivery.channel_id == channel.id, AlertDelivery.status == "pending")
    ):
        delivery.status, delivery.last_error = "failed", "the channel was deleted"
    uow.session.delete(channel)


def queue_test_alert(uow: UnitOfWork, channel_id: str) -> Alert:
    """Queue a test alert to this one channel (sent by the worker like any other)."""
    channel = get_channel(uow, channel_id)
    _check_manage(uow, channel.project_id)
    if not channel.enabled:
        raise BusinessRuleViolation(
            "The channel is disabled, and a disabled channel is sent nothing; enable it "
            '(PATCH {"enabled": true}) to test it.',
            rule="alert-channel-disabled",
            status=409,
        )
    now = uow.now()
    alert = Alert(
        id=str(uuid.uuid4()),
        kind=TEST_KIND,
        project_id=channel.project_id,
        audience=channel.audience,
        title=f"通知渠道测试：{channel.name}",
        body=(
            f"这是一条测试消息，用于确认{CHANNEL_TYPE_LABELS[channel.type]}渠道「{channel.name}」"
            f"可以收到云客服的{AUDIENCE_LABELS[channel.audience]}通知。收到即表示配置正确，无需处理。"
        ),
        data={"channel_id": channel.id, "requested_by": uow.actor.label},
        dedup_key=None,
        created_at=now,
    )
    uow.session.add(alert)
    uow.session.flush()
    _queue(uow, alert.id, channel)
    uow.session.flush()
    return alert


def channel_page(uow: UnitOfWork, args: Mapping[str, Any]) -> dict[str, Any]:
    """Channels, newest first; ``project_id`` (that project's own), ``vendor_wide``, type, audience,
    enabled."""
    stmt = select(AlertChannel)
    if args.get("project_id"):
        stmt = stmt.where(AlertChannel.project_id == args["project_id"])
    if args.get("vendor_wide") is not None:
        stmt = stmt.where(
            AlertChannel.project_id.is_(None) if args["vendor_wide"] else AlertChannel.project_id.is_not(None)
        )
    for key in ("type", "audience", "enabled"):
        if args.get(key) is not None:
            stmt = stmt.where(getattr(AlertChannel, key) == args[key])
    page = paginate_args(
        uow.session, stmt, args, order_by=(AlertChannel.created_at.desc(), AlertChannel.id.desc())
    )
    return _page_dict(page, channel_dict)


# --- reading alerts ---------------------------------------------------------------------------------------


def _has(status: str) -> Any:
    return exists().where(AlertDelivery.alert_id == Alert.id, AlertDelivery.status == status)


def _status_filter(status: str) -> Any:
    if status == "failed":
        return _has("failed")
    if status == "pending":
        return and_(~_has("failed"), _has("pending"))
    if status == "sent":
        return and_(~_has("failed"), ~_has("pending"), _has("sent"))
    return ~exists().where(AlertDelivery.alert_id == Alert.id)  # unrouted


def _scoped(uow: UnitOfWork, stmt: Select[Any]) -> Select[Any]:
    """A merchant sees the merchant-audience alerts of its own projects, nothing else."""
    actor = uow.actor
    if not actor.is_merchant:
        return stmt
    own = select(Project.id).where(Project.merchant_id == actor.merchant_id)
    return stmt.where(Alert.audience == "merchant", Alert.project_id.in_(own))


def alert_page(uow: UnitOfWork, args: Mapping[str, Any]) -> dict[str, Any]:
    """Alerts, newest first, by project, kind, audience and status."""
    stmt = _scoped(uow, select(Alert))
    for key in ("project_id", "kind", "audience"):
        if args.get(key):
            stmt = stmt.where(getattr(Alert, key) == args[key])
    if args.get("status"):
        stmt = stmt.where(_status_filter(args["status"]))
    page = paginate_args(uow.session, stmt, args, order_by=(Alert.created_at.desc(), Alert.id.desc()))
    counts: dict[str, dict[str, int]] = {a.id: dict.fromkeys(DELIVERY_STATUSES, 0) for a in page.items}
    if counts:
        for alert_id, status, n in uow.session.execute(
            select(AlertDelivery.alert_id, AlertDelivery.status, func.count())
            .where(AlertDelivery.alert_id.in_(list(counts)))
            .group_by(AlertDelivery.alert_id, AlertDelivery.status)
        ):
            counts[alert_id][status] = n
    names = _project_names(uow, {a.project_id for a in page.items if a.project_id})
    return _page_dict(page, lambda a: alert_dict(a, counts[a.id], names.get(a.project_id or "")))


def get_alert(uow: UnitOfWork, alert_id: str) -> dict[str, Any]:
    alert = uow.session.scalars(_scoped(uow, select(Alert).where(Alert.id == alert_id))).first()
    if alert is None:
        raise NotFound(ALERT_NOT_FOUND)
    deliveries = uow.session.scalars(
        select(AlertDelivery)
        .where(AlertDelivery.alert_id == alert.id)
        .order_by(AlertDelivery.created_at, AlertDelivery.id)
    ).all()
    counts = dict.fromkeys(DELIVERY_STATUSES, 0)
    for d in deliveries:
        counts[d.status] += 1
    names = _project_names(uow, {alert.project_id} if alert.project_id else set())
    return {
        **alert_dict(alert, counts, names.get(alert.project_id or "")),
        "deliveries": [delivery_dict(d) for d in deliveries],
    }


def retry_alert(uow: UnitOfWork, alert_id: str) -> dict[str, Any]:
    """Send an alert's failed deliveries again (after fixing the channel): each is pending once more with
    a fresh set of tries; a delivery whose channel is gone stays failed."""
    get_alert(uow, alert_id)  # 404 as the reads answer it
    failed = uow.session.scalars(
        select(AlertDelivery)
        .where(
            AlertDelivery.alert_id == alert_id,
            AlertDelivery.status == "failed",
            AlertDelivery.channel_id.is_not(None),
        )
        .with_for_update()
    ).all()
    if not failed:
        raise BusinessRuleViolation(
            "This alert has no failed delivery to a channel that still exists; only those can be retried.",
            rule="alert-nothing-to-retry",
            status=409,
        )
    now = uow.now()
    for delivery in failed:
        delivery.status, delivery.attempts, delivery.next_attempt_at = "pending", 0, now
    uow.session.flush()
    return get_alert(uow, alert_id)


def alert_status(counts: Mapping[str, int]) -> str:
    if counts.get("failed"):
        return "failed"
    if counts.get("pending"):
        return "pending"
    if counts.get("sent"):
        return "sent"
    return "unrouted"


def alert_dict(alert: Alert, counts: Mapping[str, int], project_name: str | None) -> dict[str, Any]:
    return {
        "id": alert.id,
        "kind": alert.kind,
        "kind_label": KIND_LABELS.get(alert.kind, alert.kind),
        "project_id": alert.project_id,
        "project_name": project_name,
        "audience": alert.audience,
        "title": alert.title,
        "body": alert.body,
        "data": alert.data or {},
        "dedup_key": alert.dedup_key,
        "created_at": alert.created_at,
        "status": alert_status(counts),
        "delivery_counts": dict(counts),
    }


def delivery_dict(delivery: AlertDelivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "channel_id": delivery.channel_id,
        "channel_type": delivery.channel_type,
        "channel_name": delivery.channel_name,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at if delivery.status == "pending" else None,
        "last_attempt_at": delivery.last_attempt_at,
        "last_error": delivery.last_error,
        "sent_at": delivery.sent_at,
        "created_at": delivery.created_at,
    }


def _page_dict(page: Page, shape: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    return {
        "items": [shape(item) for item in page.items],
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
        "pages": page.pages,
        "next_after": page.next_after,
    }
