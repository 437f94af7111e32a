"""Alerts (通知) without a database: DingTalk's signature, the robots' payloads, the Chinese message, the
retry backoff, masking of secrets and the settings."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import urllib.parse

import pytest

from services.scheduling.alerts import (
    HALF_TIME_REASON,
    OVERDUE_REASON,
    RetryPolicy,
    compose_message,
    is_overdue_escalation,
    mask,
    mask_url,
)
from services.scheduling.config import AlertSettings
from services.scheduling.senders import (
    WECOM_TEXT_BYTES,
    Message,
    clip,
    dingtalk_payload,
    dingtalk_sign,
    dingtalk_signed_url,
    wecom_payload,
)
from shared.env import ConfigError

# --- DingTalk's signature (加签) ---------------------------------------------------------------------------

#: computed outside Python:
#: printf '1700000000000\nSECtest' | openssl dgst -sha256 -hmac SECtest -binary | base64
KNOWN_B64 = "aZLLrriXgn05YbwaGR7knYsLeJADjr9NwLaNNKpxh4g="


def doc_formula(secret: str, timestamp_ms: int) -> str:
    """DingTalk's custom-robot documentation, step by step: ``timestamp + "\\n" + secret`` signed with
    HmacSHA256 keyed by the secret, Base64, then urlEncode (UTF-8)."""
    string_to_sign = str(timestamp_ms) + "\n" + secret
    mac = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256)
    return urllib.parse.quote_plus(base64.b64encode(mac.digest()))


def test_dingtalk_sign_matches_a_known_vector() -> None:
    assert dingtalk_sign("SECtest", 1700000000000) == "aZLLrriXgn05YbwaGR7knYsLeJADjr9NwLaNNKpxh4g%3D"
    assert urllib.parse.unquote_plus(dingtalk_sign("SECtest", 1700000000000)) == KNOWN_B64


@pytest.mark.parametrize(
    ("secret", "timestamp_ms"),
    [
        ("SECtest", 1700000000000),
        ("SEC3f1c8d0e6a7b49b2a1e5f0c9d8b7a6e5f4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8", 1731283200123),
        ("SEC带中文的密钥", 1),
    ],
)
def test_dingtalk_sign_follows_the_documented_formula(secret: str, timestamp_ms: int) -> None:
    assert dingtalk_sign(secret, timestamp_ms) == doc_formula(secret, timestamp_ms)


def test_the_signed_url_keeps_the_access_token_and_adds_timestamp_and_sign() -> None:
    url = dingtalk_signed_url(
        "https://oapi.dingtalk.com/robot/send?access_token=abc123", "SECtest", 1700000000000
    )
    parts = urllib.parse.urlsplit(url)
    assert parts.path == "/robot/send"
    query = urllib.parse.parse_qs(parts.query)
    assert query == {"access_token": ["abc123"], "timestamp": ["1700000000000"], "sign": [KNOWN_B64]}
    # a webhook without a query string gets one
    bare = dingtalk_signed_url("http://127.0.0.1:9/robot/send", "SECtest", 1700000000000)
    assert bare.startswith("http://127.0.0.1:9/robot/send?timestamp=1700000000000&sign=")


# --- payloads and the message -----------------------------------------------------------------------------

AT = dt.datetime(2026, 11, 10, 16, 5, tzinfo=dt.UTC)  # 00:05 on 11 November in Beijing


def test_the_message_is_chinese_with_kind_project_and_beijing_time() -> None:
    message = compose_message(
        "no_show", "客服张三未到岗", "班次 09:00-17:00，已呼叫后备客服李四。", "杭州某服饰旗舰店", AT
    )
    assert message.title == "[云客服] 【缺勤】客服张三未到岗 - 杭州某服饰旗舰店"
    assert message.text == (
        "【缺勤】客服张三未到岗\n项目：杭州某服饰旗舰店\n时间：2026-11-11 00:05（北京时间）\n\n"
        "班次 09:00-17:00，已呼叫后备客服李四。"
    )
    assert message.markdown == (
        "### 【缺勤】客服张三未到岗\n**项目**：杭州某服饰旗舰店\n**时间**：2026-11-11 00:05（北京时间）\n\n"
        "班次 09:00-17:00，已呼叫后备客服李四。"
    )


def test_without_a_project_name_the_line_is_left_out() -> None:
    message = compose_message("reserve_shortfall", "后备客服不足", "缺 3 人。", None, AT)
    assert message.title == "[云客服] 【后备不足】后备客服不足"
    assert "项目" not in message.text
    assert message.text.splitlines()[1] == "时间：2026-11-11 00:05（北京时间）"


def test_wecom_and_dingtalk_payloads() -> None:
    message = Message(title="标题", markdown="### 标题\n正文", text="标题\n正文")
    assert wecom_payload(message, "markdown") == {
        "msgtype": "markdown",
        "markdown": {"content": "### 标题\n正文"},
    }
    assert wecom_payload(message, "text") == {"msgtype": "text", "text": {"content": "标题\n正文"}}
    assert dingtalk_payload(message, "markdown") == {
        "msgtype": "markdown",
        "markdown": {"title": "标题", "text": "### 标题\n正文"},
    }
    assert dingtalk_payload(message, "text") == {"msgtype": "text", "text": {"content": "标题\n正文"}}


def test_a_long_body_is_cut_to_the_robots_limit_on_a_character_boundary() -> None:
    long = "投诉" * 2000  # 12,000 bytes of UTF-8
    payload = wecom_payload(Message("t", long, long), "text")
    content = payload["text"]["content"]
    assert len(content.encode()) <= WECOM_TEXT_BYTES
    assert content.endswith("…")
    assert content[:-1] == long[: len(content) - 1]
    assert clip("短", 10) == "短"


# --- retries ----------------------------------------------------------------------------------------------


def test_backoff_doubles_from_30_seconds_and_stops_at_30_minutes() -> None:
    policy = RetryPolicy(max_attempts=8, backoff_seconds=30, backoff_max_seconds=1800)
    waits = [policy.backoff(n).total_seconds() for n in range(1, 10)]
    assert waits == [30, 60, 120, 240, 480, 960, 1800, 1800, 1800]
    assert policy.backoff(10_000) == dt.timedelta(minutes=30)


# --- secrets are shown masked -----------------------------------------------------------------------------


def test_masking_hides_keys_and_secrets() -> None:
    assert mask("SEC0123456789abcdef") == "SEC0****cdef"
    assert mask("short") == "****"
    assert mask(None) is None
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
    assert mask_url(url) == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a****5aaa"
    assert mask_url("https://user:pw@example.com/hook?access_token=abcdefghijklmnop&x=1") == (
        "https://****@example.com/hook?access_token=abcd****mnop&x=****"
    )


# --- the escalation reasons complaints sends --------------------------------------------------------------


def test_only_the_deadline_escalation_is_overdue() -> None:
    assert is_overdue_escalation({"reason": OVERDUE_REASON + " without a resolution"})
    assert not is_overdue_escalation({"reason": HALF_TIME_REASON + " without a resolution"})
    assert not is_overdue_escalation({"reason": "客户情绪激动"})
    assert not is_overdue_escalation({})


# --- settings ---------------------------------------------------------------------------------------------


def test_alert_settings_from_the_environment() -> None:
    cfg = AlertSettings.from_env(
        {
            "SCHEDULING_ALERT_MAX_ATTEMPTS": "3",
            "SCHEDULING_ALERT_BACKOFF_SECONDS": "10",
            "SCHEDULING_SMTP_HOST": "smtp.example.com",
            "SCHEDULING_SMTP_PORT": "587",
            "SCHEDULING_SMTP_STARTTLS": "true",
            "SCHEDULING_SMTP_PASSWORD": " secret with blanks ",
        }
    )
    assert (cfg.max_attempts, cfg.backoff_seconds, cfg.backoff_max_seconds) == (3, 10.0, 1800.0)
    assert (cfg.smtp_host, cfg.smtp_port, cfg.smtp_starttls) == ("smtp.example.com", 587, True)
    assert cfg.smtp_password == " secret with blanks "
    assert AlertSettings.from_env({}).interval_seconds == 15.0


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SCHEDULING_ALERT_MAX_ATTEMPTS": "0"}, "SCHEDULING_ALERT_MAX_ATTEMPTS"),
        ({"SCHEDULING_SMTP_PORT": "70000"}, "SCHEDULING_SMTP_PORT"),
        ({"SCHEDULING_SMTP_STARTTLS": "maybe"}, "SCHEDULING_SMTP_STARTTLS"),
        ({"SCHEDULING_ALERT_BACKOFF_MAX_SECONDS": "5"}, "SCHEDULING_ALERT_BACKOFF_MAX_SECONDS"),
        ({"SCHEDULING_ALERT_INTERVAL_SECONDS": "-1"}, "SCHEDULING_ALERT_INTERVAL_SECONDS"),
    ],
)
def test_a_bad_alert_setting_is_refused_by_name(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        AlertSettings.from_env(env)
