"""Classification metrics over sentiment labels, without scikit-learn (the tests and the CLIs use them too)."""

from __future__ import annotations

from collections.abc import Sequence

from sentiment.types import LABELS


def accuracy(gold: Sequence[str], pred: Sequence[str]) -> float:
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predictions")
    return sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold) if gold else 0.0


def macro_f1(gold: Sequence[str], pred: Sequence[str]) -> float:
    """Mean F1 over the labels present in ``gold`` (a binary corpus is scored on its two classes; predicting
    neutral there still costs recall)."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predictions")
    labels = [label for label in LABELS if label in set(gold)]
    if not labels:
        return 0.0
    total = 0.0
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
        total += 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return total / len(labels)


def binary_accuracy(gold: Sequence[str], scores: Sequence[float]) -> float | None:
    """Accuracy on the non-neutral gold examples, deciding positive vs negative by the score's sign (a score of
    exactly 0 counts as wrong); None when there are none."""
    pairs = [(g, s) for g, s in zip(gold, scores, strict=True) if g != "neutral"]
    if not pairs:
        return None
    return sum((s > 0) if g == "positive" else (s < 0) for g, s in pairs) / len(pairs)


def confusion(gold: Sequence[str], pred: Sequence[str]) -> list[list[int]]:
    """Rows: gold label, columns: predicted label, both in ``LABELS`` order."""
    index: dict[str, int] = {label: i for i, label in enumerate(LABELS)}
    matrix = [[0] * len(LABELS) for _ in LABELS]
    for g, p in zip(gold, pred, strict=True):
        matrix[index[g]][index[p]] += 1
    return matrix
