"""Choosing the answer / clarify thresholds on dev so that they mean something.

answer:  the lowest threshold whose answered questions are at least ``target_precision`` right on dev
         (the most coverage at the wanted accuracy); the most cautious grid value if none reaches it.
clarify: among the questions not answered, the threshold that best separates "the right answer is among the
         offered choices" (clarify helps) from "it is not" (a person should take over).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from retrieval.responder.config import Thresholds
from retrieval.responder.decision import decide, ranking

ANSWER_GRID = tuple(round(x, 2) for x in np.arange(0.30, 0.96, 0.05))
CLARIFY_GRID = tuple(round(x, 2) for x in np.arange(0.02, 0.61, 0.02))


def fit_thresholds(
    probs_per_query: Sequence[np.ndarray],
    positives: Sequence[int],
    base: Thresholds,
    *,
    target_precision: float = 0.9,
    min_answered: int = 3,
) -> Thresholds:
    if not probs_per_query:
        return base
    chosen_answer = ANSWER_GRID[-1]
    for t in ANSWER_GRID:
        trial = replace(base, answer=t, clarify=min(base.clarify, t))
        hits = [
            int(ranking(p)[0]) == pos
            for p, pos in zip(probs_per_query, positives, strict=True)
            if decide(p, trial).kind == "answer"
        ]
        if len(hits) >= min_answered and float(np.mean(hits)) >= target_precision:
            chosen_answer = t
            break
    best_clarify, best_score = min(base.clarify, chosen_answer), -1
    for c in (c for c in CLARIFY_GRID if c <= chosen_answer):
        trial = replace(base, answer=chosen_answer, clarify=c)
        score = 0
        for p, pos in zip(probs_per_query, positives, strict=True):
            d = decide(p, trial)
            if d.kind == "clarify":
                score += pos in d.indices
            elif d.kind == "handoff":
                score += pos < 0 or pos not in ranking(p)[: base.max_choices].tolist()
        if score > best_score:
            best_clarify, best_score = c, score
    return replace(base, answer=chosen_answer, clarify=best_clarify)
