"""Alerts (通知) on PostgreSQL + RabbitMQ: channels and their validation, fan-out, the delivery job against
a local WeCom/DingTalk robot (``http.server``) and a local SMTP sink (aiosmtpd), retries through an
outage, complaint.escalated, and who may see what."""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import hashlib
import hmac
import json
import socket
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from services.scheduling import alerts
from services.scheduling.alerts import OVERDUE_REASON, RetryPolicy, deliver_due, raise_alert
from services.scheduling.config import AlertSettings
from services.scheduling.models import Alert, AlertChannel, AlertDelivery
from services.scheduling.senders import build_senders
from shared.uow import UnitOfWork
from shared.worker import run_job
from tests.integration.test_scheduling_api import ENV, apply_event, assert_problem, project_data
from tests.support import ServiceHarness, wait_until

DING_SECRET = "SEC9b1e0c6f5a2d4e8b7c3f1a0d9e8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9"
WECOM_KEY = "693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- a local WeCom / DingTalk robot ------------------------------------------------------------------------


@dataclass
class RobotServer:
    """Answers like the robots: ``{"errcode": 0}`` — or HTTP 500, or a non-zero errcode, or nothing at all
    (stopped). DingTalk requests (``/robot/send``) must carry a valid ``timestamp`` + ``sign``."""

    port: int = field(default_factory=free_port)
    mode: str = "ok"
    requests: list[dict[str, Any]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(parts.query)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                record = {"path": parts.path, "query": query, "json": body, "accepted": False}
                robot.requests.append(record)
                if robot.mode == "500":
                    self._answer(500, b"upstream unavailable", "text/plain")
                    return
                if robot.mode == "errcode":
                    self._json({"errcode": 93000, "errmsg": "invalid webhook url"})
                    return
                if parts.path == "/robot/send" and not robot.signature_ok(query):
                    self._json({"errcode": 310000, "errmsg": "sign not match"})
                    return
                record["accepted"] = True
                self._json({"errcode": 0, "errmsg": "ok"})

            def _json(self, answer: dict[str, Any]) -> None:
                self._answer(200, json.dumps(answer).encode(), "application/json")

            def _answer(self, status: int, raw: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @staticmethod
    def signature_ok(query: dict[str, list[str]]) -> bool:
        """DingTalk's check, computed independently: Base64(HMAC-SHA256(secret, ts + "\\n" + secret))."""
        if query.get("access_token") != ["ding-token-123"] or "timestamp" not in query or "sign" not in query:
            return False
        timestamp = query["timestamp"][0]
        now_ms = dt.datetime.now(dt.UTC).timestamp() * 1000
        if abs(now_ms - int(timestamp)) > 3600 * 1000:
            return False
        expected = base64.b64encode(
            hmac.new(DING_SECRET.encode(), f"{timestamp}\n{DING_SECRET}".encode(), hashlib.sha256).digest()
        ).decode()
        return hmac.compare_digest(query["sign"][0], expected)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def accepted(self, path: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["accepted"] and (path is None or r["path"] == path)]


@pytest.fixture()
def robot() -> Iterator[RobotServer]:
    server = RobotServer()
    server.start()
    yield server
    server.stop()


class MailSink:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture()
def smtp() -> Iterator[tuple[MailSink, int]]:
    sink, port = MailSink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


# --- helpers ----------------------------------------------------------------------------------------------


@pytest.fixture()
def h(service_env: Callable[..., ServiceHarness]) -> ServiceHarness:
    return service_env("scheduling", env=ENV)


def project(h: ServiceHarness, name: str = "杭州某服饰旗舰店") -> tuple[str, str]:
    project_id, merchant_id = f"p-{uuid.uuid4().hex[:8]}", f"m-{uuid.uuid4().hex[:8]}"
    data = {**project_data(project_id, merchant_id), "company_name": name}
    occurred = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat()
    with h.database.session() as session:
        apply_event(session, "project.confirmed", data, occurred)
    return project_id, merchant_id


def make_channel(h: ServiceHarness, role: str = "vendor", **body: Any) -> dict[str, Any]:
    response = h.client.post("/api/v1/alert-channels", json=body, headers=h.auth(role))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def wecom(h: ServiceHarness, robot: RobotServer, **body: Any) -> dict[str, Any]:
    return make_channel(
        h,
        **{
            "name": "企业微信值班群",
            "type": "wecom",
            "webhook_url": robot.url(f"/cgi-bin/webhook/send?key={WECOM_KEY}"),
            **body,
        },
    )


def raised(h: ServiceHarness) -> list[tuple[str, str, str]]:
    """The alerts raised so far: (kind, audience, title), oldest first."""
    with h.database.session() as session:
        rows = session.execute(select(Alert.kind, Alert.audience, Alert.title).order_by(Alert.created_at))
        return [tuple(r) for r in rows]  # type: ignore[misc]


def raise_(h: ServiceHarness, **kwargs: Any) -> str | None:
    values = {
        "title": "客服张三未到岗",
        "body": "早班 09:00 未打卡，已呼叫后备客服。",
        "kind": "no_show",
        **kwargs,
    }
    with h.database.session() as session:
        return raise_alert(UnitOfWork(session), **values)


def deliver(
    h: ServiceHarness, now: dt.datetime, *, smtp_port: int = 0, policy: RetryPolicy | None = None
) -> alerts.DeliveryReport:
    cfg = AlertSettings(
        smtp_host="127.0.0.1" if smtp_port else "", smtp_port=smtp_port or 25, timeout_seconds=3
    )
    with h.database.session() as session:
        return deliver_due(UnitOfWork(session), now, build_senders(cfg), policy=policy)


def deliveries(h: ServiceHarness, alert_id: str) -> list[AlertDelivery]:
    with h.database.session() as session:
        rows = session.scalars(select(AlertDelivery).where(AlertDelivery.alert_id == alert_id)).all()
        session.expunge_all()
        return list(rows)


def soon(seconds: float = 1) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)


# --- channels ---------------------------------------------------------------------------------------------


def test_channel_crud_masks_secrets_and_keeps_them_when_sent_back(
    h: ServiceHarness, robot: RobotServer
) -> None:
    project_id, _ = project(h)
    created = make_channel(
        h,
        name="钉钉双11群",
        type="dingtalk",
        project_id=project_id,
        kinds=["no_show", "uncovered", "no_show"],
        webhook_url=robot.url("/robot/send?access_token=ding-token-123"),
        secret=DING_SECRET,
    )
    assert created["webhook_url"] == robot.url("/robot/send?access_token=ding****-123")
    assert created["secret"] == "SEC9****d0c9" and created["has_secret"] is True
    assert DING_SECRET not in json.dumps(created) and "ding-token-123" not in json.dumps(created)
    assert created["kinds"] == ["no_show", "uncovered"]
    assert (created["audience"], created["enabled"], created["message_format"]) == (
        "supervisor",
        True,
        "markdown",
    )

    auth = h.auth("vendor")
    url = f"/api/v1/alert-channels/{created['id']}"
    assert h.client.get(url, headers=auth).get_json() == created
    listed = h.client.get(f"/api/v1/alert-channels?project_id={project_id}", headers=auth)
    assert listed.headers["X-Total-Count"] == "1" and listed.get_json()["items"] == [created]

    # a form sends the whole channel back, secrets masked as shown: they are kept, the rest changes
    changed = h.client.patch(
        url,
        json={
            **{k: created[k] for k in ("webhook_url", "secret", "kinds")},
            "name": "钉钉大促群",
            "kinds": [],
        },
        headers=auth,
    )
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert changed.get_json()["name"] == "钉钉大促群" and changed.get_json()["kinds"] == []
    with h.database.session() as session:
        row = session.get(AlertChannel, created["id"])
        assert row is not None
        assert (row.secret, row.webhook_url) == (
            DING_SECRET,
            robot.url("/robot/send?access_token=ding-token-123"),
        )

    assert h.client.delete(url, headers=auth).status_code == 204
    assert_problem(h.client.get(url, headers=auth), 404)


def test_channel_validation_is_422_per_field(h: ServiceHarness) -> None:
    project_id, _ = project(h)
    auth = h.auth("vendor")

    def errors(body: dict[str, Any]) -> dict[str, Any]:
        return assert_problem(h.client.post("/api/v1/alert-channels", json=body, headers=auth), 422)["errors"]

    bad = errors(
        {
            "name": "x",
            "type": "pager",
            "audience": "everyone",
            "kinds": ["no_show", "fire"],
            "webhook_url": "ftp://example.com/hook",
            "recipients": ["not-an-address"],
            "message_format": "html",
        }
    )
    assert {"type", "audience", "kinds.1", "webhook_url", "recipients.0", "message_format"} <= set(bad), bad
    assert set(errors({"type": "wecom"})) == {"name", "webhook_url"}
    assert set(
        errors({"name": "钉钉", "type": "dingtalk", "webhook_url": "https://oapi.dingtalk.com/robot/send"})
    ) == {"secret"}
    assert set(errors({"name": "邮件", "type": "email", "webhook_url": "https://example.com/x"})) == {
        "recipients",
        "webhook_url",
    }
    assert set(
        errors({"name": "企微", "type": "wecom", "webhook_url": "https://e.com/x", "secret": "SECabc"})
    ) == {"secret"}
    merchant_wide = errors(
        {"name": "商家群", "type": "email", "recipients": ["ops@shop.example"], "audience": "merchant"}
    )
    assert "vendor-wide" in merchant_wide["project_id"][0]
    unknown = errors({"name": "邮件", "type": "email", "recipients": ["a@b.example"], "project_id": "p-nope"})
    assert "No confirmed project" in unknown["project_id"][0]
    # PATCH is checked against the channel as it would become
    channel = make_channel(h, name="邮件", type="email", recipients=["a@b.example"], project_id=project_id)
    patched = h.client.patch(f"/api/v1/alert-channels/{channel['id']}", json={"type": "wecom"}, headers=auth)
    assert set(assert_problem(patched, 422)["errors"]) == {"webhook_url", "recipients"}
    assert_problem(h.client.get("/api/v1/alerts?status=lost", headers=auth), 422)


# --- raising: fan-out and dedup ---------------------------------------------------------------------------


def test_raise_alert_fans_out_to_matching_channels_only(h: ServiceHarness, robot: RobotServer) -> None:
    p, _ = project(h)
    q, _ = project(h, "宁波某家电专营店")
    own = wecom(h, robot, project_id=p, name="P 全部")
    wide_no_show = wecom(h, robot, name="全局缺勤", kinds=["no_show"])
    own_uncovered = wecom(h, robot, project_id=p, name="P 缺口", kinds=["uncovered"])
    wecom(h, robot, project_id=p, name="P 服务商", audience="vendor")
    wecom(h, robot, project_id=q, name="Q 全部")
    wecom(h, robot, project_id=p, name="P 停用", enabled=False)

    no_show = raise_(h, project_id=p, dedup_key=f"no_show:{p}:agent-1:2026-11-11")
    assert no_show is not None
    assert {d.channel_id for d in deliveries(h, no_show)} == {own["id"], wide_no_show["id"]}
    assert {d.status for d in deliveries(h, no_show)} == {"pending"}
    # the same dedup key again: nothing new
    assert raise_(h, project_id=p, dedup_key=f"no_show:{p}:agent-1:2026-11-11") is None
    uncovered = raise_(h, project_id=p, kind="uncovered", title="早班缺 2 人")
    assert uncovered is not None
    assert {d.channel_id for d in deliveries(h, uncovered)} == {own["id"], own_uncovered["id"]}
    with h.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 2
    # no channel for this audience: the alert is kept, unrouted
    merchant = raise_(h, project_id=p, kind="mass_attrition", title="人员大量流失", audience="merchant")
    assert merchant is not None and deliveries(h, merchant) == []
    listed = h.client.get("/api/v1/alerts?status=unrouted", headers=h.auth("vendor")).get_json()
    assert [a["id"] for a in listed["items"]] == [merchant]
    with pytest.raises(ValueError, match="unknown alert kind"):
        raise_(h, project_id=p, kind="fire")


# --- delivering -------------------------------------------------------------------------------------------


def test_the_job_sends_to_wecom_dingtalk_and_email(
    h: ServiceHarness, robot: RobotServer, smtp: tuple[MailSink, int]
) -> None:
    sink, smtp_port = smtp
    p, _ = project(h)
    wecom(h, robot, project_id=p)
    make_channel(
        h,
        name="钉钉群",
        type="dingtalk",
        project_id=p,
        message_format="text",
        webhook_url=robot.url("/robot/send?access_token=ding-token-123"),
        secret=DING_SECRET,
    )
    make_channel(h, name="主管邮箱", type="email", project_id=p, recipients=["zhuguan@vendor.example"])
    alert_id = raise_(h, project_id=p, data={"agent_id": "agent-1"})
    assert alert_id is not None

    report = deliver(h, soon(), smtp_port=smtp_port)
    assert (report.sent, report.retried, report.failed) == (3, 0, 0)

    [wecom_request] = robot.accepted("/cgi-bin/webhook/send")
    assert wecom_request["query"] == {"key": [WECOM_KEY]}
    assert wecom_request["json"]["msgtype"] == "markdown"
    content = wecom_request["json"]["markdown"]["content"]
    assert content.startswith("### 【缺勤】客服张三未到岗\n**项目**：杭州某服饰旗舰店\n")
    assert content.endswith("早班 09:00 未打卡，已呼叫后备客服。")
    [ding_request] = robot.accepted("/robot/send")  # accepted only with a valid signature
    assert ding_request["json"]["msgtype"] == "text"
    assert ding_request["json"]["text"]["content"].startswith(
        "【缺勤】客服张三未到岗\n项目：杭州某服饰旗舰店\n"
    )
    [mail] = sink.messages
    assert mail["Subject"] == "[云客服] 【缺勤】客服张三未到岗 - 杭州某服饰旗舰店"
    assert mail["To"] == "zhuguan@vendor.example"
    assert "早班 09:00 未打卡" in mail.get_content()

    detail = h.client.get(f"/api/v1/alerts/{alert_id}", headers=h.auth("supervisor")).get_json()
    assert detail["status"] == "sent" and detail["delivery_counts"] == {"pending": 0, "sent": 3, "failed": 0}
    assert {d["status"] for d in detail["deliveries"]} == {"sent"}
    assert all(d["attempts"] == 1 and d["sent_at"] for d in detail["deliveries"])
    assert (detail["project_name"], detail["kind_label"], detail["data"]) == (
        "杭州某服饰旗舰店",
        "缺勤",
        {"agent_id": "agent-1"},
    )
    # nothing is sent twice
    assert deliver(h, soon(60), smtp_port=smtp_port).tried == 0
    assert len(robot.requests) == 2 and len(sink.messages) == 1


def test_a_webhook_outage_delays_the_alert_which_is_then_delivered_once(
    h: ServiceHarness, robot: RobotServer
) -> None:
    p, _ = project(h)
    wecom(h, robot, project_id=p)
    alert_id = raise_(h, project_id=p)
    assert alert_id is not None
    t0 = soon()

    robot.mode = "500"
    assert deliver(h, t0).retried == 1
    [d] = deliveries(h, alert_id)
    assert (d.status, d.attempts, d.next_attempt_at) == ("pending", 1, t0 + dt.timedelta(seconds=30))
    assert d.last_error is not None and "HTTP 500" in d.last_error
    assert deliver(h, t0 + dt.timedelta(seconds=29)).tried == 0  # not due yet

    robot.stop()  # the robot is down altogether
    t1 = t0 + dt.timedelta(seconds=30)
    assert deliver(h, t1).retried == 1
    [d] = deliveries(h, alert_id)
    assert (d.status, d.attempts, d.next_attempt_at) == ("pending", 2, t1 + dt.timedelta(seconds=60))
    assert d.last_error is not None and "unreachable" in d.last_error and WECOM_KEY not in d.last_error

    robot.mode = "errcode"
    robot.start()
    t2 = t1 + dt.timedelta(seconds=60)
    assert deliver(h, t2).retried == 1
    [d] = deliveries(h, alert_id)
    assert d.attempts == 3 and d.last_error is not None and "errcode 93000" in d.last_error
    failed_view = h.client.get(f"/api/v1/alerts/{alert_id}", headers=h.auth("vendor")).get_json()
    assert failed_view["status"] == "pending" and failed_view["deliveries"][0]["next_attempt_at"]

    robot.mode = "ok"  # recovered
    t3 = t2 + dt.timedelta(seconds=120)
    assert deliver(h, t3).sent == 1
    [d] = deliveries(h, alert_id)
    assert (d.status, d.attempts, d.sent_at, d.last_error) == ("sent", 4, t3, None)
    assert deliver(h, t3 + dt.timedelta(hours=2)).tried == 0
    assert len(robot.accepted()) == 1
    assert len(robot.requests) == 3  # 500, errcode, ok (the down try never reached it)


def test_after_the_last_try_it_is_failed_listed_and_can_be_retried(
    h: ServiceHarness, robot: RobotServer
) -> None:
    p, _ = project(h)
    wecom(h, robot, project_id=p)
    alert_id = raise_(h, project_id=p)
    assert alert_id is not None
    robot.mode = "500"
    policy = RetryPolicy(max_attempts=2, backoff_seconds=30, backoff_max_seconds=60)
    t0 = soon()
    assert deliver(h, t0, policy=policy).retried == 1
    assert deliver(h, t0 + dt.timedelta(seconds=30), policy=policy).failed == 1
    [d] = deliveries(h, alert_id)
    assert (d.status, d.attempts) == ("failed", 2)
    assert deliver(h, t0 + dt.timedelta(days=1), policy=policy).tried == 0

    auth = h.auth("vendor")
    failed = h.client.get("/api/v1/alerts?status=failed", headers=auth).get_json()
    assert [a["id"] for a in failed["items"]] == [alert_id]
    assert failed["items"][0]["delivery_counts"] == {"pending": 0, "sent": 0, "failed": 1}
    assert h.client.get("/api/v1/alerts?status=pending", headers=auth).get_json()["total"] == 0

    robot.mode = "ok"  # the channel is fixed: send it again
    retried = h.client.post(f"/api/v1/alerts/{alert_id}/retry", headers=auth)
    assert retried.status_code == 200, retried.get_data(as_text=True)
    assert retried.get_json()["status"] == "pending"
    assert deliver(h, soon(2), policy=policy).sent == 1
    assert len(robot.accepted()) == 1
    assert assert_problem(h.client.post(f"/api/v1/alerts/{alert_id}/retry", headers=auth), 409)["rule"] == (
        "alert-nothing-to-retry"
    )


def test_disabled_or_deleted_channels_are_sent_nothing(h: ServiceHarness, robot: RobotServer) -> None:
    p, _ = project(h)
    disabled, deleted = wecom(h, robot, project_id=p, name="停用"), wecom(h, robot, project_id=p, name="删除")
    alert_id = raise_(h, project_id=p)
    assert alert_id is not None
    auth = h.auth("vendor")
    h.client.patch(f"/api/v1/alert-channels/{disabled['id']}", json={"enabled": False}, headers=auth)
    assert h.client.delete(f"/api/v1/alert-channels/{deleted['id']}", headers=auth).status_code == 204
    deliver(h, soon())
    assert robot.requests == []
    errors = {d.channel_name: (d.status, d.last_error, d.channel_id) for d in deliveries(h, alert_id)}
    assert errors == {
        "停用": ("failed", "the channel was disabled", disabled["id"]),
        "删除": ("failed", "the channel was deleted", None),
    }
    assert_problem(h.client.post(f"/api/v1/alert-channels/{disabled['id']}/test", headers=auth), 409)


def test_a_channel_test_is_queued_then_sent_by_the_worker_job(
    h: ServiceHarness, robot: RobotServer, smtp: tuple[MailSink, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    sink, smtp_port = smtp
    p, _ = project(h)
    channel = make_channel(
        h, "supervisor", name="主管邮箱", type="email", project_id=p, recipients=["a@v.example"]
    )
    queued = h.client.post(f"/api/v1/alert-channels/{channel['id']}/test", headers=h.auth("supervisor"))
    assert queued.status_code == 202, queued.get_data(as_text=True)
    body = queued.get_json()
    assert (body["kind"], body["status"], len(body["deliveries"])) == ("test", "pending", 1)
    assert sink.messages == []  # nothing is sent from the request

    # the worker's own job, with its settings from the environment as in production
    monkeypatch.setenv("SCHEDULING_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SCHEDULING_SMTP_PORT", str(smtp_port))
    [job] = [j for j in h.spec.jobs if j.name == "scheduling.deliver_alerts"]
    assert job.interval_seconds == 15.0
    assert run_job(h.database, "scheduling", job)
    [mail] = sink.messages
    assert mail["Subject"] == "[云客服] 【测试】通知渠道测试：主管邮箱 - 杭州某服饰旗舰店"
    assert sink.envelopes[0].rcpt_tos == ["a@v.example"]
    detail = h.client.get(f"/api/v1/alerts/{body['id']}", headers=h.auth("vendor")).get_json()
    assert detail["status"] == "sent"


# --- complaint.escalated ----------------------------------------------------------------------------------


def test_complaint_escalated_events_raise_alerts_once(h: ServiceHarness, robot: RobotServer) -> None:
    p, _ = project(h)
    wecom(h, robot, project_id=p, kinds=["complaint_escalated", "complaint_overdue"])
    h.start_worker()
    complaint = {
        "complaint_id": str(uuid.uuid4()),
        "number": "TS20261111-0007",
        "project_id": p,
        "agent_id": "agent-7",
        "status": "in_progress",
    }
    half = {**complaint, "level": "supervisor", "reason": alerts.HALF_TIME_REASON + " without a resolution"}
    h.publish("complaint.escalated", half)
    h.publish("complaint.escalated", half)  # the same escalation told twice: one alert
    overdue = {**complaint, "level": "manager", "reason": OVERDUE_REASON + " without a resolution"}
    h.publish("complaint.escalated", overdue)

    wait_until(lambda: len(raised(h)) >= 3, what="three complaint alerts")
    assert sorted(raised(h)) == [
        ("complaint_escalated", "supervisor", "投诉 TS20261111-0007 已升级至主管"),
        ("complaint_overdue", "supervisor", "投诉 TS20261111-0007 已超时，升级至经理"),
        ("complaint_overdue", "vendor", "投诉 TS20261111-0007 已超时，升级至经理"),
    ]
    listed = h.client.get(f"/api/v1/alerts?project_id={p}&kind=complaint_overdue", headers=h.auth("vendor"))
    items = listed.get_json()["items"]
    assert len(items) == 2
    assert (
        items[0]["data"]["number"] == "TS20261111-0007" and "已超过向客户承诺的处理时限" in items[0]["body"]
    )
    # the worker's job delivers the supervisors' two (the vendor has no channel) within its interval
    wait_until(lambda: len(robot.accepted()) == 2, timeout=45, what="the worker's deliveries")
    contents = sorted(r["json"]["markdown"]["content"].splitlines()[0] for r in robot.accepted())
    assert contents == [
        "### 【投诉升级】投诉 TS20261111-0007 已升级至主管",
        "### 【投诉超时】投诉 TS20261111-0007 已超时，升级至经理",
    ]


# --- billing's invoices ---------------------------------------------------------------------------------


def test_invoice_events_tell_the_merchant_once(h: ServiceHarness, robot: RobotServer) -> None:
    p, _ = project(h)
    wecom(h, robot, project_id=p, audience="merchant", kinds=["invoice_issued", "invoice_paid"])
    h.start_worker()
    invoice = {
        "invoice_id": str(uuid.uuid4()),
        "number": "FP2026-00001",
        "merchant_id": "m-yunshang",
        "project_id": p,
        "period": "2026-11",
        "total": "42400.00",
        "balance": "42400.00",
        "status": "issued",
        "due_on": "2027-01-04",
    }
    h.publish("invoice.issued", invoice)
    h.publish("invoice.issued", invoice)  # told twice: one alert
    paid = {
        **invoice,
        "balance": "0.00",
        "status": "paid",
        "payment_id": str(uuid.uuid4()),
        "amount": "42400.00",
        "paid_on": "2026-12-20",
    }
    h.publish("invoice.paid", paid)

    wait_until(lambda: len(raised(h)) >= 2, what="two invoice alerts")
    assert sorted(raised(h)) == [
        ("invoice_issued", "merchant", "2026-11 账单 FP2026-00001 已开具"),
        ("invoice_paid", "merchant", "账单 FP2026-00001 已收到付款"),
    ]
    wait_until(lambda: len(robot.accepted()) == 2, timeout=45, what="the worker's deliveries")
    bodies = sorted(r["json"]["markdown"]["content"] for r in robot.accepted())
    assert "价税合计：42,400.00 元" in bodies[0] and "付款期限：2027-01-04" in bodies[0]
    assert "余额：已结清" in bodies[1]


# --- who may see what -------------------------------------------------------------------------------------


def test_permissions(h: ServiceHarness, robot: RobotServer) -> None:
    p, merchant = project(h)
    q, other_merchant = project(h, "宁波某家电专营店")
    for role in ("agent", "merchant", "finance", "trainer"):
        token = h.auth(role, merchant_id=merchant if role == "merchant" else None)
        assert_problem(h.client.get("/api/v1/alert-channels", headers=token), 403)
    assert_problem(h.client.get("/api/v1/alerts", headers=h.auth("agent")), 403)
    assert_problem(h.client.get("/api/v1/alert-channels"), 401)

    # a supervisor manages a project's channels, not vendor-wide ones
    sup = h.auth("supervisor")
    body = {"name": "企微", "type": "wecom", "webhook_url": robot.url("/hook?key=abcdefghijklmnop")}
    assert_problem(h.client.post("/api/v1/alert-channels", json=body, headers=sup), 403)
    mine = h.client.post("/api/v1/alert-channels", json={**body, "project_id": p}, headers=sup)
    assert mine.status_code == 201
    wide = make_channel(h, "admin", **body)
    assert h.client.get(f"/api/v1/alert-channels/{wide['id']}", headers=sup).status_code == 200
    assert_problem(
        h.client.patch(f"/api/v1/alert-channels/{wide['id']}", json={"name": "x"}, headers=sup), 403
    )
    assert_problem(h.client.delete(f"/api/v1/alert-channels/{wide['id']}", headers=sup), 403)
    assert_problem(
        h.client.patch(
            f"/api/v1/alert-channels/{mine.get_json()['id']}", json={"project_id": None}, headers=sup
        ),
        403,
    )

    # a merchant sees its own projects' merchant alerts only
    own = raise_(h, project_id=p, kind="mass_attrition", title="人员大量流失", audience="merchant")
    raise_(h, project_id=p, kind="no_show")  # the supervisors'
    theirs = raise_(h, project_id=q, kind="mass_attrition", title="人员大量流失", audience="merchant")
    merchant_auth = h.auth("merchant", merchant_id=merchant)
    seen = h.client.get("/api/v1/alerts", headers=merchant_auth).get_json()
    assert [a["id"] for a in seen["items"]] == [own]
    assert h.client.get(f"/api/v1/alerts/{own}", headers=merchant_auth).status_code == 200
    assert_problem(h.client.get(f"/api/v1/alerts/{theirs}", headers=merchant_auth), 404)
    assert_problem(h.client.post(f"/api/v1/alerts/{own}/retry", headers=merchant_auth), 403)
    other = h.client.get("/api/v1/alerts", headers=h.auth("merchant", merchant_id=other_merchant)).get_json()
    assert [a["id"] for a in other["items"]] == [theirs]
    assert h.client.get("/api/v1/alerts", headers=h.auth("vendor")).get_json()["total"] == 3
