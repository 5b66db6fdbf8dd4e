"""Scoring dev groups with a cross-encoder and summarising the ranking: shared by training (every epoch) and
the evaluation CLI."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.responder.config import Thresholds
from retrieval.responder.training.dataset import Dataset, Group
from retrieval.responder.training.metrics import mrr, rank_of, routing, top1

if TYPE_CHECKING:
    from retrieval.responder.model import CrossEncoder


def group_logits(
    model: CrossEncoder, dataset: Dataset, groups: Sequence[Group], k: int, *, batch_size: int = 64
) -> list[np.ndarray]:
    """Cross-encoder logits for each group's first ``k`` candidates (all pairs batched together)."""
    queries: list[str] = []
    passages: list[str] = []
    sizes: list[int] = []
    for g in groups:
        cands = g.candidates[:k]
        sizes.append(len(cands))
        queries.extend([g.query] * len(cands))
        passages.extend(dataset.text(c) for c in cands)
    flat = model.logits(queries, passages, batch_size=batch_size) if queries else np.zeros(0, "float32")
    out, start = [], 0
    for n in sizes:
        out.append(flat[start : start + n])
        start += n
    return out


def positives(groups: Sequence[Group], k: int) -> list[int]:
    return [g.positive_index if 0 <= g.positive_index < k else -1 for g in groups]


def listwise_loss(scores: Sequence[np.ndarray], pos: Sequence[int], bce_weight: float = 0.5) -> float:
    """The training objective on dev: softmax cross-entropy over each list plus weighted pointwise BCE
    (only lists that contain the right answer count)."""
    losses = []
    for s, p in zip(scores, pos, strict=True):
        if p < 0 or len(s) == 0:
            continue
        s = s.astype("float64")
        ce = float(np.logaddexp.reduce(s) - s[p])
        labels = np.zeros_like(s)
        labels[p] = 1.0
        bce = float(np.mean(np.logaddexp(0.0, s) - labels * s))
        losses.append(ce + bce_weight * bce)
    return float(np.mean(losses)) if losses else float("nan")


def ranking_report(scores: Sequence[np.ndarray], pos: Sequence[int]) -> dict[str, float]:
    ranks = [rank_of(s, p) if p >= 0 else None for s, p in zip(scores, pos, strict=True)]
    return {"top1": round(top1(ranks), 4), "mrr10": round(mrr(ranks, 10), 4), "n": len(ranks)}


def bi_encoder_scores(groups: Sequence[Group], k: int) -> list[np.ndarray]:
    return [np.asarray(g.scores[:k], dtype="float32") for g in groups]


def routing_report(probs: Sequence[np.ndarray], pos: Sequence[int], thresholds: Thresholds) -> dict[str, Any]:
    return {
        r.kind: {"share": round(r.share, 4), "accuracy": round(r.accuracy, 4), "count": r.count}
        for r in routing(probs, pos, thresholds)
    }
