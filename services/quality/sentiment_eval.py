"""How often the sentiment model agrees with people: the hand-labelled customer messages in
``data/labelled_chats.jsonl`` (positive, neutral, negative), each score mapped to a label by two cut-offs.

    python -m services.quality.sentiment_eval
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from services.quality.sentiment import SentimentModel, default_model

LABELLED = Path(__file__).parent / "data" / "labelled_chats.jsonl"
LABELS = ("negative", "neutral", "positive")
#: below: negative; at or above POSITIVE_FROM: positive; between: neutral. Chosen on this sample (see the
#: quality guide): snownlp scores short neutral questions low, so the usual 0.3 / 0.7 flagged 60% of them
NEGATIVE_BELOW = 0.15
POSITIVE_FROM = 0.55


def label_of(score: float) -> str:
    if score < NEGATIVE_BELOW:
        return "negative"
    return "positive" if score >= POSITIVE_FROM else "neutral"


@dataclass
class Agreement:
    total: int = 0
    agreeing: int = 0
    #: people's label -> the model's label -> count
    confusion: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )

    @property
    def rate(self) -> float:
        return self.agreeing / self.total if self.total else 0.0

    def rate_of(self, label: str) -> float:
        row = self.confusion.get(label, {})
        total = sum(row.values())
        return row.get(label, 0) / total if total else 0.0


def load_sample(path: Path | None = None) -> list[tuple[str, str]]:
    rows = []
    for line in (path or LABELLED).read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            rows.append((item["text"], item["label"]))
    return rows


def evaluate(model: SentimentModel | None = None, path: Path | None = None) -> Agreement:
    scorer = model or default_model()
    result = Agreement()
    for text, label in load_sample(path):
        predicted = label_of(scorer.score(text))
        result.total += 1
        result.agreeing += predicted == label
        result.confusion[label][predicted] += 1
    return result


def main() -> None:
    result = evaluate()
    print(f"agreement with the labels: {result.agreeing} of {result.total} ({result.rate:.0%})")
    print("people \\ model | " + " | ".join(LABELS) + " | agreement")
    for label in LABELS:
        row = result.confusion.get(label, {})
        print(
            f"{label} | " + " | ".join(str(row.get(p, 0)) for p in LABELS) + f" | {result.rate_of(label):.0%}"
        )


if __name__ == "__main__":
    main()
