"""The customer's sentiment in Chinese, offline: snownlp's model (trained on shopping reviews, shipped
inside the package; jieba cuts the words). Loaded on first use, so importing this module stays cheap."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any


class SentimentModel:
    """0 (negative) … 1 (positive) for a text; 0.5 for an empty one."""

    def __init__(self) -> None:
        self._snownlp: Any = None

    def _model(self) -> Any:
        if self._snownlp is None:
            from snownlp import SnowNLP

            self._snownlp = SnowNLP
        return self._snownlp

    def score(self, text: str) -> float:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if not lines:
            return 0.5
        snow = self._model()
        # each message on its own: one angry line in a long chat is what a reviewer must see, and a mean
        # over the whole text would dilute it
        return round(min(float(snow(line).sentiments) for line in lines), 4)

    def score_many(self, texts: Iterable[str]) -> list[float]:
        return [self.score(t) for t in texts]


@functools.lru_cache(maxsize=1)
def default_model() -> SentimentModel:
    return SentimentModel()
