"""How an alert leaves the system (通知发送): WeCom (企业微信) and DingTalk (钉钉) group robots, and e-mail.

Only the worker's delivery job (``alerts.deliver_due``) calls these, never a web request. Each sender
either returns (the robot answered ``{"errcode": 0}``, the SMTP server accepted the message) or raises
``SendError`` saying what went wrong, in words that never contain the webhook's key or the signing secret
(the error is stored and shown in ``GET /alerts/{id}``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import smtplib
import ssl
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol

import httpx

from services.scheduling.config import AlertSettings

#: Robot message limits (bytes of UTF-8): WeCom's markdown content 4096 and text 2048, DingTalk's ~20000.
#: A longer body is cut (with an ellipsis) rather than refused by the robot, which would fail every retry.
WECOM_MARKDOWN_BYTES = 4096
WECOM_TEXT_BYTES = 2048
DINGTALK_BYTES = 18000
ELLIPSIS = "…"


class SendError(Exception):
    """A delivery attempt failed; the message says why (it is stored as the delivery's ``last_error``)."""


class PartlySent(Exception):
    """The message went out, but not to everyone (some e-mail recipients were refused): not retried, since
    the others would get it twice; the message says who is missing."""


@dataclass(frozen=True)
class Message:
    """One alert as it is sent: a subject line, a Markdown body for robots, a plain body for text."""

    title: str
    markdown: str
    text: str


@dataclass(frozen=True)
class Target:
    """Where one delivery goes: what a sender needs of its channel."""

    type: str
    webhook_url: str | None = None
    secret: str | None = None
    recipients: tuple[str, ...] = ()
    message_format: str = "markdown"


class Sender(Protocol):
    def send(self, target: Target, message: Message) -> None: ...


def clip(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, on a character boundary, with an ellipsis."""
    raw = text.encode()
    if len(raw) <= max_bytes:
        return text
    room = max_bytes - len(ELLIPSIS.encode())
    return raw[:room].decode(errors="ignore") + ELLIPSIS


# --- robots -----------------------------------------------------------------------------------------------


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's custom-robot signature (加签): HMAC-SHA256 keyed by the secret over
    ``"{timestamp}\\n{secret}"``, Base64-encoded, then URL-encoded (the ``sign`` query parameter)."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode())


def dingtalk_signed_url(webhook_url: str, secret: str, timestamp_ms: int) -> str:
    """The webhook (``…/robot/send?access_token=…``) with ``timestamp`` and ``sign`` appended."""
    separator = (
        "&" if urllib.parse.urlsplit(webhook_url).query else ("" if webhook_url.endswith("?") else "?")
    )
    return f"{webhook_url}{separator}timestamp={timestamp_ms}&sign={dingtalk_sign(secret, timestamp_ms)}"


def wecom_payload(message: Message, message_format: str) -> dict[str, Any]:
    if message_format == "text":
        return {"msgtype": "text", "text": {"content": clip(message.text, WECOM_TEXT_BYTES)}}
    return {"msgtype": "markdown", "markdown": {"content": clip(message.markdown, WECOM_MARKDOWN_BYTES)}}


def dingtalk_payload(message: Message, message_format: str) -> dict[str, Any]:
    if message_format == "text":
        return {"msgtype": "text", "text": {"content": clip(message.text, DINGTALK_BYTES)}}
    return {
        "msgtype": "markdown",
        "markdown": {"title": message.title, "text": clip(message.markdown, DINGTALK_BYTES)},
    }


def _post_robot(robot: str, url: str, payload: dict[str, Any], timeout: float) -> None:
    """POST the JSON; success is HTTP 2xx with ``errcode`` 0. Errors name the robot, never the URL (it
    holds the robot's key)."""
    try:
        response = httpx.post(url, json=payload, timeout=timeout, follow_redirects=False)
    except httpx.TimeoutException as exc:
        raise SendError(
            f"{robot} webhook did not answer within {timeout:g} s ({type(exc).__name__})"
        ) from None
    except httpx.HTTPError as exc:
        raise SendError(f"{robot} webhook unreachable: {type(exc).__name__}: {exc}") from None
    if not 200 <= response.status_code < 300:
        raise SendError(f"{robot} webhook answered HTTP {response.status_code}: {response.text[:200]}")
    try:
        answer = response.json()
    except ValueError:
        raise SendError(
            f"{robot} webhook answered something other than JSON: {response.text[:200]}"
        ) from None
    errcode = answer.get("errcode") if isinstance(answer, dict) else None
    if errcode != 0:
        errmsg = answer.get("errmsg") if isinstance(answer, dict) else None
        raise SendError(f"{robot} refused the message: errcode {errcode}, errmsg {errmsg!r}")


@dataclass(frozen=True)
class WeComSender:
    """A WeCom group robot (群机器人): POST ``{"msgtype": "markdown"|"text", …}`` to its key URL."""

    timeout: float = 5.0

    def send(self, target: Target, message: Message) -> None:
        if not target.webhook_url:
            raise SendError("the WeCom channel has no webhook URL")
        _post_robot("WeCom", target.webhook_url, wecom_payload(message, target.message_format), self.timeout)


@dataclass(frozen=True)
class DingTalkSender:
    """A DingTalk custom robot (自定义机器人) with 加签: every request carries ``timestamp`` (ms, which
    DingTalk accepts within an hour of its own clock, hence the wall clock) and ``sign``."""

    timeout: float = 5.0
    clock: Callable[[], float] = field(default=time.time)

    def send(self, target: Target, message: Message) -> None:
        if not target.webhook_url:
            raise SendError("the DingTalk channel has no webhook URL")
        if not target.secret:
            raise SendError("the DingTalk channel has no signing secret (加签)")
        url = dingtalk_signed_url(target.webhook_url, target.secret, round(self.clock() * 1000))
        _post_robot("DingTalk", url, dingtalk_payload(message, target.message_format), self.timeout)


# --- e-mail -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSender:
    """E-mail through the configured SMTP server (``SCHEDULING_SMTP_*``), the plain-text body."""

    host: str
    port: int = 25
    sender: str = "yunkefu@localhost"
    user: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 5.0

    def send(self, target: Target, message: Message) -> None:
        if not self.host:
            raise SendError("no SMTP server is configured (set SCHEDULING_SMTP_HOST)")
        if not target.recipients:
            raise SendError("the e-mail channel has no recipients")
        email = EmailMessage()
        email["Subject"] = message.title
        email["From"] = self.sender
        email["To"] = ", ".join(target.recipients)
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        email.set_content(message.text)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password)
                refused = smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            raise SendError(f"the SMTP server refused every recipient: {sorted(exc.recipients)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise SendError(f"SMTP {self.host}:{self.port} failed: {reason}") from None
        if refused:
            raise PartlySent(f"the SMTP server refused some recipients: {sorted(refused)}")


def build_senders(cfg: AlertSettings) -> Mapping[str, Sender]:
    """The sender of each channel type, as the settings configure them."""
    return {
        "wecom": WeComSender(timeout=cfg.timeout_seconds),
        "dingtalk": DingTalkSender(timeout=cfg.timeout_seconds),
        "email": SmtpSender(
            host=cfg.smtp_host,
            port=cfg.smtp_port,
            sender=cfg.smtp_from,
            user=cfg.smtp_user,
            password=cfg.smtp_password,
            starttls=cfg.smtp_starttls,
            timeout=cfg.timeout_seconds,
        ),
    }
