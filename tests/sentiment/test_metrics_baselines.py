from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sentiment.baselines import EmbeddingCache, EmbeddingLinearScorer, tune_lexicon
from sentiment.lexicon import LexiconScorer, LexiconThresholds
from sentiment.metrics import accuracy, binary_accuracy, confusion, macro_f1
from sentiment.types import Example


def test_macro_f1_averages_over_the_gold_labels_only() -> None:
    gold = ["positive", "positive", "negative", "negative"]
    assert macro_f1(gold, gold) == 1.0
    # predicting neutral on a binary corpus costs recall but neutral is not a class of its own there
    assert macro_f1(gold, ["positive", "neutral", "negative", "negative"]) == pytest.approx((2 / 3 + 1.0) / 2)
    assert accuracy(gold, ["positive", "neutral", "negative", "negative"]) == 0.75
    with pytest.raises(ValueError, match="4 gold labels but 3"):
        macro_f1(gold, gold[:3])


def test_binary_accuracy_leaves_out_neutral_gold_and_decides_by_sign() -> None:
    gold = ["positive", "neutral", "negative", "negative"]
    assert binary_accuracy(gold, [0.2, 0.9, -0.1, 0.0]) == pytest.approx(2 / 3)
    assert binary_accuracy(["neutral"], [0.5]) is None


def test_confusion_rows_are_gold() -> None:
    assert confusion(["negative", "positive"], ["neutral", "positive"]) == [[0, 1, 0], [0, 0, 0], [0, 0, 1]]


def _ex(text: str, label: str, language: str = "en") -> Example:
    return Example(text, label, language, "t")  # type: ignore[arg-type]


def test_tune_lexicon_widens_the_neutral_band_when_dev_has_mild_neutral_requests() -> None:
    dev = [
        _ex("please help me with my order", "neutral"),
        _ex("can you please check the delivery", "neutral"),
        _ex("ok thanks", "neutral"),
        _ex("I love it, wonderful, amazing", "positive"),
        _ex("great fantastic excellent dress", "positive"),
        _ex("terrible awful horrible service", "negative"),
        _ex("I hate this, worst ever", "negative"),
    ]
    default = LexiconScorer()
    assert [p.label for p in default.predict([e.text for e in dev[:3]])].count("neutral") < 3
    tuned = tune_lexicon(dev)
    assert tuned != LexiconThresholds()
    labels = [p.label for p in LexiconScorer(tuned).predict([e.text for e in dev])]
    assert labels == [e.label for e in dev]


class FakeEncoder:
    """Deterministic 'embeddings': positive words push one axis, negative words another."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        rows = []
        for t in texts:
            pos = sum(w in t for w in ("good", "great", "love"))
            neg = sum(w in t for w in ("bad", "awful", "hate"))
            rows.append([pos, neg, 1.0, len(t) % 3 / 10])
        return np.asarray(rows, dtype=np.float32)


def _data(n: int) -> list[Example]:
    out = []
    for i in range(n):
        out += [
            _ex(f"good great {i}", "positive"),
            _ex(f"bad awful {i}", "negative"),
            _ex(f"order {i}", "neutral"),
        ]
    return out


def test_linear_scorer_fits_predicts_and_leaves_unjudged_texts_alone(tmp_path: Path) -> None:
    encoder = FakeEncoder()
    scorer = EmbeddingLinearScorer(EmbeddingCache(None, encoder))
    report = scorer.fit(_data(20), _data(5), cs=(1.0, 10.0))
    assert set(report) == {"1.0", "10.0"}
    preds = scorer.predict(["love it, good", "🙂", "hate it, bad", "where is order 7"])
    assert [p.label for p in preds] == ["positive", "neutral", "negative", "neutral"]
    assert preds[0].score > 0.5 > -0.5 > preds[2].score
    assert preds[1].judged is False and preds[1].score == 0.0


def test_embedding_cache_persists_and_embeds_only_new_texts(tmp_path: Path) -> None:
    encoder = FakeEncoder()
    path = tmp_path / "cache.npz"
    first = EmbeddingCache(path, encoder).embed(["good", "bad"])
    again = EmbeddingCache(path, encoder)
    second = again.embed(["bad", "good", "new"])
    assert encoder.calls == [["bad", "good"], ["new"]]
    np.testing.assert_array_equal(second[:2], first[::-1])


def test_predict_before_fit_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="before fit"):
        EmbeddingLinearScorer(EmbeddingCache(None, FakeEncoder())).predict(["x"])
