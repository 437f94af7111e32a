"""The machine check of a conversation (智能质检): what a robot can see in every chat, so that people only
read what needs them (人机协作).

Response times against the order's targets, the greeting and the closing, words an agent must never
write, the customer's mood (a sentiment score and negative words) and complaint intent, and customer
messages left unanswered. Pure: the sentiment scorer is passed in.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

SENDERS = ("agent", "customer")
FLAGS = (
    "slow_first_response",
    "slow_avg_response",
    "missing_greeting",
    "missing_closing",
    "forbidden_words",
    "negative_sentiment",
    "complaint_intent",
    "unanswered",
)
DEFAULT_KEYWORDS = Path(__file__).parent / "data" / "keywords.json"
_LISTS = ("greetings", "closings", "forbidden", "negative", "complaint_intent")


@dataclass(frozen=True)
class Message:
    at: dt.datetime
    sender: str
    text: str


@dataclass(frozen=True)
class Keywords:
    """Configurable Chinese word lists (defaults shipped in services/quality/data/keywords.json)."""

    greetings: tuple[str, ...]
    closings: tuple[str, ...]
    forbidden: tuple[str, ...]
    negative: tuple[str, ...]
    complaint_intent: tuple[str, ...]

    @classmethod
    def load(cls, path: Path | None = None) -> Keywords:
        source = path or DEFAULT_KEYWORDS
        try:
            data = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{source}: not a readable JSON file of word lists ({exc})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{source}: must be a JSON object with the lists {', '.join(_LISTS)}")
        lists: dict[str, tuple[str, ...]] = {}
        for key in _LISTS:
            words = data.get(key)
            if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
                raise ValueError(f"{source}: {key} must be a list of non-empty strings")
            lists[key] = tuple(_normalise(w) for w in words)
        return cls(**lists)


@dataclass(frozen=True)
class ResponseTimes:
    first_response_seconds: float | None
    avg_response_seconds: float | None
    unanswered: int


@dataclass(frozen=True)
class Finding:
    flag: str
    detail: str


@dataclass(frozen=True)
class MachineVerdict:
    times: ResponseTimes
    sentiment: float | None
    findings: tuple[Finding, ...]

    @property
    def flags(self) -> tuple[str, ...]:
        found = {f.flag for f in self.findings}
        return tuple(flag for flag in FLAGS if flag in found)

    @property
    def needs_review(self) -> bool:
        return bool(self.findings)


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower().strip()


def _hits(text: str, words: Sequence[str]) -> list[str]:
    normal = _normalise(text)
    return [w for w in dict.fromkeys(words) if w and w in normal]


def response_times(messages: Sequence[Message]) -> ResponseTimes:
    """First response: the customer's first message to the agent's first answer after it. Average: over
    every customer turn (a run of consecutive customer messages, timed from its first) answered by the
    next agent message. Unanswered: customer turns no agent message follows."""
    ordered = sorted(messages, key=lambda m: m.at)
    waits: list[float] = []
    unanswered = 0
    turn_start: dt.datetime | None = None
    for message in ordered:
        if message.sender == "customer":
            if turn_start is None:
                turn_start = message.at
        elif turn_start is not None:
            waits.append((message.at - turn_start).total_seconds())
            turn_start = None
    if turn_start is not None:
        unanswered += 1
    # a turn lasts until an agent answers, so the first wait is always the first customer turn's
    first = waits[0] if waits else None
    return ResponseTimes(
        first_response_seconds=first,
        avg_response_seconds=round(sum(waits) / len(waits), 2) if waits else None,
        unanswered=unanswered,
    )


def check_conversation(
    messages: Sequence[Message],
    *,
    keywords: Keywords,
    first_response_target: float | None,
    avg_response_target: float | None,
    sentiment: Callable[[str], float] | None,
    negative_threshold: float = 0.15,
) -> MachineVerdict:
    if not messages:
        raise ValueError("a conversation needs at least one message")
    ordered = sorted(messages, key=lambda m: m.at)
    times = response_times(ordered)
    agent = [m for m in ordered if m.sender == "agent"]
    customer = [m for m in ordered if m.sender == "customer"]
    findings: list[Finding] = []
    first, average = times.first_response_seconds, times.avg_response_seconds
    if first is not None and first_response_target is not None and first > first_response_target:
        findings.append(
            Finding("slow_first_response", f"首次响应 {first:g} 秒，超过目标 {first_response_target:g} 秒")
        )
    if average is not None and avg_response_target is not None and average > avg_response_target:
        findings.append(
            Finding("slow_avg_response", f"平均响应 {average:g} 秒，超过目标 {avg_response_target:g} 秒")
        )
    if agent:
        if not _hits(agent[0].text, keywords.greetings):
            findings.append(Finding("missing_greeting", "开场未使用问候语"))
        if not _hits(agent[-1].text, keywords.closings):
            findings.append(Finding("missing_closing", "结束未使用结束语"))
        forbidden = sorted({w for m in agent for w in _hits(m.text, keywords.forbidden)})
        if forbidden:
            findings.append(Finding("forbidden_words", "禁用语：" + "、".join(forbidden)))
    score: float | None = None
    if customer:
        text = "\n".join(m.text for m in customer)
        score = sentiment(text) if sentiment is not None else None
        negative = sorted({w for m in customer for w in _hits(m.text, keywords.negative)})
        reasons = []
        if score is not None and score < negative_threshold:
            reasons.append(f"情绪得分 {score:.2f}，低于 {negative_threshold:g}")
        if negative:
            reasons.append("负面词：" + "、".join(negative))
        if reasons:
            findings.append(Finding("negative_sentiment", "；".join(reasons)))
        intent = sorted({w for m in customer for w in _hits(m.text, keywords.complaint_intent)})
        if intent:
            findings.append(Finding("complaint_intent", "投诉意向：" + "、".join(intent)))
    if not agent:
        findings.append(Finding("unanswered", "客服未回复"))
    elif times.unanswered:
        findings.append(Finding("unanswered", f"{times.unanswered} 段顾客消息未回复"))
    return MachineVerdict(times=times, sentiment=score, findings=tuple(findings))
