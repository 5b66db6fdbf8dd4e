"""Ranking and routing metrics over re-ranked candidate lists (small numpy helpers)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.responder.config import Thresholds
from retrieval.responder.decision import KINDS, decide, ranking


def rank_of(scores: np.ndarray, positive: int) -> int | None:
    """1-based rank of the candidate at index ``positive`` (None when the right answer is not a candidate)."""
    if positive < 0:
        return None
    order = ranking(scores)
    return int(np.nonzero(order == positive)[0][0]) + 1


def top1(ranks: Sequence[int | None]) -> float:
    return float(np.mean([r == 1 for r in ranks])) if ranks else 0.0


def mrr(ranks: Sequence[int | None], k: int = 10) -> float:
    return float(np.mean([1.0 / r if r is not None and r <= k else 0.0 for r in ranks])) if ranks else 0.0


def recall(ranks: Sequence[int | None], k: int) -> float:
    return float(np.mean([r is not None and r <= k for r in ranks])) if ranks else 0.0


@dataclass(frozen=True)
class RouteShare:
    kind: str
    share: float
    accuracy: float  # answer: top-1 right; clarify: right one among the choices; handoff: not in the top 3
    count: int


def routing(
    probs_per_query: Sequence[np.ndarray], positives: Sequence[int], thresholds: Thresholds
) -> list[RouteShare]:
    """Share of questions answered / clarified / handed off, and how often each outcome was the right call."""
    outcomes: dict[str, list[bool]] = {kind: [] for kind in KINDS}
    for probs, positive in zip(probs_per_query, positives, strict=True):
        decision = decide(probs, thresholds)
        rank = rank_of(probs, positive)
        if decision.kind == "answer":
            ok = rank == 1
        elif decision.kind == "clarify":
            ok = positive in decision.indices
        else:
            ok = rank is None or rank > 3
        outcomes[decision.kind].append(ok)
    total = max(1, len(positives))
    return [
        RouteShare(kind, len(v) / total, float(np.mean(v)) if v else 0.0, len(v))
        for kind, v in outcomes.items()
    ]
