"""Reading the back office's files (figures, chat records grouped into conversations) and the quality
settings, without a database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from services.quality.config import QualitySettings
from services.quality.exports import parse_agent_days, parse_messages
from shared.env import ConfigError

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "quality"


def test_the_sample_figures_file_reads_with_chinese_headers() -> None:
    parsed = parse_agent_days((SAMPLES / "agent-days.csv").read_bytes(), project_id="p-1", max_rows=100)
    assert parsed.errors == {}
    assert [i["agent_id"] for i in parsed.items] == ["agent-li", "agent-wang", "agent-zhao"]
    first = parsed.items[0]
    assert first["project_id"] == "p-1" and first["date"] == dt.date(2026, 11, 30)
    assert first["sales_amount"] == Decimal("4180.00") and first["first_response_seconds"] == Decimal("9.50")
    assert parsed.labels == ["line 2", "line 3", "line 4"]


def test_a_figures_file_without_the_project_needs_it_named() -> None:
    parsed = parse_agent_days((SAMPLES / "agent-days.csv").read_bytes(), project_id=None, max_rows=100)
    assert parsed.unreadable
    assert "project_id" in parsed.errors["line 1"][0]


def test_every_bad_line_is_reported() -> None:
    text = (
        "客服编号,日期,接待人数,询单人数,下单人数,销售额\na,2026-11-30,10,20,1,5.00\nb,2026-11-31,x,1,1,5\n"
    )
    parsed = parse_agent_days(text.encode(), project_id="p-1", max_rows=100)
    assert set(parsed.errors) == {"line 2.inquiries", "line 3.date", "line 3.receptions"}
    assert parsed.items == []


def test_chat_records_are_grouped_into_conversations_in_file_order() -> None:
    parsed = parse_messages((SAMPLES / "chats.csv").read_bytes(), project_id="p-1", max_rows=100)
    assert parsed.errors == {}
    assert [c["external_id"] for c in parsed.items] == ["tb-s-20261130-0001", "tb-s-20261130-0002"]
    first, second = parsed.items
    assert (first["outcome"], second["outcome"]) == ("ordered", "lost")
    assert [m["sender"] for m in first["messages"]] == ["customer", "agent", "customer", "agent"]
    # no offset in the file: Beijing time
    assert first["messages"][0]["at"] == dt.datetime(2026, 11, 30, 2, 2, 11, tzinfo=dt.UTC)
    assert parsed.labels == ["line 2", "line 6"]


def test_a_session_with_two_agents_and_bad_cells_are_refused_by_line() -> None:
    text = (
        "会话编号,客服编号,时间,发送方,内容,结果\n"
        "s1,a,2026-11-30 10:00:00,顾客,在吗,\n"
        "s1,b,2026-11-30 10:00:05,客服,在的,\n"
        "s2,a,yesterday,机器人,你好,成交\n"
    )
    parsed = parse_messages(text.encode(), project_id="p-1", max_rows=100)
    assert set(parsed.errors) == {"line 3.agent_id", "line 4.time", "line 4.sender", "line 4.outcome"}


def test_settings_defaults_and_refusals(tmp_path: Path) -> None:
    settings = QualitySettings.from_env({})
    assert (settings.weights.data, settings.weights.performance, settings.weights.execution) == (65, 25, 10)
    assert settings.sample_size == 5 and settings.gold_team_satisfaction == Decimal("95.0")
    custom = QualitySettings.from_env(
        {"QUALITY_KPI_WEIGHT_DATA": "60", "QUALITY_KPI_WEIGHT_PERFORMANCE": "30", "QUALITY_SAMPLE_SIZE": "8"}
    )
    assert custom.weights.data == 60 and custom.sample_size == 8
    with pytest.raises(ConfigError, match="add up to 100"):
        QualitySettings.from_env({"QUALITY_KPI_WEIGHT_DATA": "70"})
    with pytest.raises(ConfigError, match="QUALITY_SAMPLE_SIZE"):
        QualitySettings.from_env({"QUALITY_SAMPLE_SIZE": "0"})
    with pytest.raises(ConfigError, match="QUALITY_KEYWORDS_FILE"):
        QualitySettings.from_env({"QUALITY_KEYWORDS_FILE": str(tmp_path / "missing.json")})
