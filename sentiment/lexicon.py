"""The lexicon baseline: VADER for English, snownlp for Chinese. No training of ours, nothing to download.

VADER's compound polarity is already in [-1, 1] (its authors' cut-offs: >= 0.05 positive, <= -0.05 negative).
snownlp gives P(positive) in [0, 1] from a Naive Bayes model trained on shopping reviews; the score is
2p - 1 and the cut-offs default to 0.4 / 0.6 (the neutral band in between).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sentiment.text import has_words, language_of
from sentiment.types import NOT_JUDGED, Label, Prediction


@dataclass(frozen=True)
class LexiconThresholds:
    en_negative: float = -0.05
    en_positive: float = 0.05
    zh_negative: float = -0.2
    zh_positive: float = 0.2


def _label(score: float, negative: float, positive: float) -> Label:
    if score <= negative:
        return "negative"
    if score >= positive:
        return "positive"
    return "neutral"


class LexiconScorer:
    """VADER (en) + snownlp (zh), each loaded on first use."""

    name = "lexicon"

    def __init__(self, thresholds: LexiconThresholds | None = None) -> None:
        self.thresholds = thresholds or LexiconThresholds()
        self._vader: Any = None
        self._lock = threading.Lock()

    def _english(self, text: str) -> float:
        if self._vader is None:
            with self._lock:
                if self._vader is None:
                    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                    self._vader = SentimentIntensityAnalyzer()
        return float(self._vader.polarity_scores(text)["compound"])

    @staticmethod
    def _chinese(text: str) -> float:
        from snownlp import SnowNLP

        return max(-1.0, min(1.0, 2.0 * float(SnowNLP(text).sentiments) - 1.0))

    def predict_one(self, text: str) -> Prediction:
        if not has_words(text):
            return NOT_JUDGED
        t = self.thresholds
        if language_of(text) == "zh":
            score = self._chinese(text)
            return Prediction(_label(score, t.zh_negative, t.zh_positive), score)
        score = self._english(text)
        return Prediction(_label(score, t.en_negative, t.en_positive), score)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        return [self.predict_one(text) for text in texts]
