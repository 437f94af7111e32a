"""Tables in: the shop back office's files (CSV or .xlsx), parsed line by line with every problem reported.

- **Platform figures**: one row per agent per day (客服绩效报表), headers in English or Chinese.
- **Chat records**: one row per message (聊天记录导出): session id, agent, customer, time, sender, text and,
  on any of the session's rows, its outcome. Rows are grouped into conversations by session id, in file
  order. A time without an offset is Beijing time, as the back offices write it.

No Flask: the views read the upload and pass the bytes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate

from services.quality.schemas import AgentDayIn
from shared.tabular import Column, ParsedImport, parse_table
from shared.workdays import SHANGHAI

AGENT_DAY_COLUMNS: tuple[Column, ...] = (
    Column("project_id", "项目编号"),
    Column("agent_id", "客服编号"),
    Column("date", "日期", kind="date"),
    Column("receptions", "接待人数", kind="integer"),
    Column("inquiries", "询单人数", kind="integer"),
    Column("orders", "下单人数", kind="integer"),
    Column("first_response_seconds", "首次响应(秒)", kind="number"),
    Column("avg_response_seconds", "平均响应(秒)", kind="number"),
    Column("sales_amount", "销售额", kind="money"),
    Column("votes_very_satisfied", "很满意", kind="integer"),
    Column("votes_satisfied", "满意", kind="integer"),
    Column("votes_neutral", "一般", kind="integer"),
    Column("votes_unsatisfied", "不满意", kind="integer"),
    Column("votes_very_unsatisfied", "很不满意", kind="integer"),
    Column("quality_refunds", "品质退款", kind="integer"),
    Column("help_requests", "平台求助", kind="integer"),
)
_AGENT_DAY_REQUIRED = ("agent_id", "date", "receptions", "inquiries", "orders", "sales_amount")

MESSAGE_COLUMNS: tuple[Column, ...] = (
    Column("project_id", "项目编号"),
    Column("conversation_id", "会话编号"),
    Column("agent_id", "客服编号"),
    Column("customer", "顾客"),
    Column("outcome", "结果"),
    Column("time", "时间"),
    Column("sender", "发送方"),
    Column("text", "内容"),
)
_MESSAGE_REQUIRED = ("conversation_id", "agent_id", "time", "sender", "text")

_SENDERS = {"agent": "agent", "客服": "agent", "customer": "customer", "顾客": "customer", "买家": "customer"}
_OUTCOMES = {
    "ordered": "ordered",
    "已下单": "ordered",
    "下单": "ordered",
    "lost": "lost",
    "询单流失": "lost",
    "流失": "lost",
    "none": "none",
    "无": "none",
}


def _with_project(project_id: str | None) -> type[AgentDayIn]:
    class _Row(AgentDayIn):
        @pre_load
        def _project(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
            if project_id and not data.get("project_id"):
                data = {**data, "project_id": project_id}
            return data

    return _Row


def parse_agent_days(raw: bytes, *, project_id: str | None, max_rows: int) -> ParsedImport:
    """The figures file; ``project_id`` fills rows without one (a shop's export names no project)."""
    required = _AGENT_DAY_REQUIRED if project_id else ("project_id", *_AGENT_DAY_REQUIRED)
    return parse_table(
        raw, AGENT_DAY_COLUMNS, _with_project(project_id)(), max_rows=max_rows, required=required
    )


class _MessageRow(Schema):
    project_id = fields.String(validate=validate.Length(min=1, max=64))
    conversation_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    agent_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    customer = fields.String(validate=validate.Length(max=100))
    outcome = fields.String()
    time = fields.String(required=True)
    sender = fields.String(required=True)
    text = fields.String(required=True, validate=validate.Length(min=1, max=5000))

    @post_load
    def _rules(self, row: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        problems: dict[str, list[str]] = {}
        sender = _SENDERS.get(row["sender"].strip().lower())
        if sender is None:
            problems["sender"] = ["must be agent or customer (客服 / 顾客)"]
        row["sender"] = sender
        outcome = row.get("outcome", "").strip().lower()
        if outcome and outcome not in _OUTCOMES:
            problems["outcome"] = ["must be ordered, lost or none (已下单 / 询单流失 / 无)"]
        row["outcome"] = _OUTCOMES.get(outcome) if outcome else None
        try:
            at = dt.datetime.fromisoformat(row["time"].strip())
            row["at"] = at if at.tzinfo else at.replace(tzinfo=SHANGHAI)
        except ValueError:
            problems["time"] = ["must be a time such as 2026-11-11 10:00:05 (Beijing time) or with an offset"]
        if problems:
            raise ValidationError(problems)
        return row


def parse_messages(raw: bytes, *, project_id: str | None, max_rows: int) -> ParsedImport:
    """The chat-record file, grouped into conversations: items shaped as ``ConversationIn`` loads them,
    each labelled by the line of its first message."""
    required = _MESSAGE_REQUIRED if project_id else ("project_id", *_MESSAGE_REQUIRED)
    parsed = parse_table(raw, MESSAGE_COLUMNS, _MessageRow(), max_rows=max_rows, required=required)
    if parsed.unreadable:
        return parsed
    grouped: dict[str, dict[str, Any]] = {}
    labels: dict[str, str] = {}
    for label, row in zip(parsed.labels, parsed.items, strict=True):
        key = row["conversation_id"]
        item = grouped.get(key)
        row_project = row.get("project_id") or project_id
        if item is None:
            item = grouped[key] = {
                "project_id": row_project,
                "external_id": key,
                "agent_id": row["agent_id"],
                "customer": row.get("customer") or None,
                "outcome": "none",
                "messages": [],
            }
            labels[key] = label
        elif row["agent_id"] != item["agent_id"] or row_project != item["project_id"]:
            parsed.errors[f"{label}.agent_id"] = [
                f"session {key!r} already has agent {item['agent_id']!r} in project {item['project_id']!r} "
                f"({labels[key]}); one session, one agent"
            ]
            continue
        if row.get("outcome"):
            item["outcome"] = row["outcome"]
        if row.get("customer") and not item["customer"]:
            item["customer"] = row["customer"]
        item["messages"].append({"at": row["at"], "sender": row["sender"], "text": row["text"]})
    return ParsedImport(
        items=list(grouped.values()), labels=[labels[k] for k in grouped], errors=parsed.errors
    )
