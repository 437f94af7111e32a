"""The machine check's rules on hand-made conversations (a fake sentiment scorer keeps them off the
model), and the offline sentiment model against the hand-labelled sample."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from services.quality.machine_qa import Keywords, Message, check_conversation, response_times
from services.quality.sentiment import default_model
from services.quality.sentiment_eval import evaluate, load_sample

T0 = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)
KEYWORDS = Keywords.load()


def m(seconds: float, sender: str, text: str) -> Message:
    return Message(T0 + dt.timedelta(seconds=seconds), sender, text)


def check(messages: list[Message], **kwargs: object) -> tuple[str, ...]:
    options: dict[str, object] = {
        "keywords": KEYWORDS,
        "first_response_target": 15,
        "avg_response_target": 30,
        "sentiment": None,
        **kwargs,
    }
    return check_conversation(messages, **options).flags  # type: ignore[arg-type]


GOOD = [
    m(0, "customer", "这款有货吗"),
    m(5, "agent", "亲，您好，有货的哦"),
    m(60, "customer", "好的"),
    m(70, "agent", "感谢亲的支持，祝您购物愉快"),
]


def test_response_times_count_turns_from_their_first_message() -> None:
    times = response_times(
        [
            m(0, "agent", "亲，在的"),
            m(10, "customer", "在吗"),
            m(20, "customer", "有人吗"),
            m(40, "agent", "在的"),
            m(100, "customer", "好"),
            m(110, "agent", "好的"),
            m(200, "customer", "还有一个问题"),
        ]
    )
    assert times.first_response_seconds == 30  # from 10 s, the turn's first message
    assert times.avg_response_seconds == 20  # (30 + 10) / 2
    assert times.unanswered == 1


def test_a_good_conversation_has_no_finding() -> None:
    assert check(GOOD) == ()


def test_slow_responses_beyond_the_targets_not_at_them() -> None:
    at_target = [m(0, "customer", "在吗"), m(15, "agent", "亲，您好，感谢")]
    assert check(at_target) == ()
    slow = [
        m(0, "customer", "在吗"),
        m(16, "agent", "亲，您好"),
        m(20, "customer", "嗯"),
        m(80, "agent", "感谢"),
    ]
    assert check(slow) == ("slow_first_response", "slow_avg_response")
    assert check(slow, first_response_target=None, avg_response_target=None) == ()


def test_greeting_closing_forbidden_words_and_complaint_intent() -> None:
    rude = [
        m(0, "customer", "优惠券怎么用不了"),
        m(5, "agent", "不知道，你自己看"),
        m(30, "customer", "什么态度，我要投诉"),
    ]
    verdict = check_conversation(
        rude, keywords=KEYWORDS, first_response_target=15, avg_response_target=30, sentiment=None
    )
    assert verdict.flags == (
        "missing_greeting", "missing_closing", "forbidden_words", "negative_sentiment", "complaint_intent",
        "unanswered",
    )  # fmt: skip
    details = {f.flag: f.detail for f in verdict.findings}
    assert "不知道" in details["forbidden_words"] and "你自己看" in details["forbidden_words"]
    assert "投诉" in details["complaint_intent"]
    assert verdict.needs_review


def test_an_agent_who_never_wrote_is_unanswered_without_greeting_noise() -> None:
    assert check([m(0, "customer", "在吗")]) == ("unanswered",)


def test_the_sentiment_score_flags_below_the_threshold_and_input_order_is_not_trusted() -> None:
    unsorted = list(reversed(GOOD))
    assert check(unsorted, sentiment=lambda _text: 0.9) == ()
    verdict = check_conversation(
        unsorted, keywords=KEYWORDS, first_response_target=15, avg_response_target=30,
        sentiment=lambda _text: 0.05, negative_threshold=0.15,
    )  # fmt: skip
    assert verdict.flags == ("negative_sentiment",) and verdict.sentiment == 0.05
    with pytest.raises(ValueError):
        check([])


def test_keyword_files_are_checked(tmp_path: Path) -> None:
    bad = tmp_path / "words.json"
    bad.write_text(json.dumps({"greetings": ["亲"], "closings": []}), encoding="utf-8")
    with pytest.raises(ValueError, match="forbidden must be a list"):
        Keywords.load(bad)
    bad.write_text("not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not a readable JSON"):
        Keywords.load(bad)


def test_the_model_tells_clear_praise_from_clear_anger() -> None:
    model = default_model()
    assert model.score("收到了，质量很好，很满意，谢谢") > 0.7
    assert model.score("质量太差了，客服态度恶劣，我要投诉") < 0.15
    assert model.score("   ") == 0.5


def test_the_model_agrees_with_the_labelled_sample() -> None:
    texts = [text for text, _label in load_sample()]
    assert len(texts) == len(set(texts)) >= 60
    result = evaluate()
    # measured: 46 of 60 (77%); negative 85%, neutral 55%, positive 90%
    assert result.rate >= 0.70
    assert result.rate_of("negative") >= 0.80
