"""Routing a calibrated ranking to one of three outcomes: answer, clarify (offer 2–3 choices) or hand off."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retrieval.responder.config import Thresholds

KINDS = ("answer", "clarify", "handoff")


@dataclass(frozen=True)
class Decision:
    """``indices`` point into the candidate list, best first: one for answer, two or three for clarify
    (one only when a single candidate exists), none for handoff."""

    kind: str
    indices: tuple[int, ...]
    confidence: float
    reason: str = ""


def ranking(probs: np.ndarray) -> np.ndarray:
    """Candidate indices best first; ties keep the input (retrieval) order."""
    return np.argsort(-np.asarray(probs, dtype="float64"), kind="stable")


def decide(probs: np.ndarray, thresholds: Thresholds) -> Decision:
    p = np.nan_to_num(np.asarray(probs, dtype="float64").ravel(), nan=0.0)
    if p.size == 0 or float(p.max()) <= 0.0:
        return Decision("handoff", (), 0.0, "no_candidates")
    order = ranking(p)
    best = float(p[order[0]])
    second = float(p[order[1]]) if p.size > 1 else 0.0
    if best >= thresholds.answer and best - second >= thresholds.margin:
        return Decision("answer", (int(order[0]),), best, "confident")
    if best >= thresholds.clarify:
        shown = [int(i) for i in order[: thresholds.max_choices] if p[i] >= thresholds.choice_floor]
        if len(shown) < 2:
            shown = [int(i) for i in order[:2] if p[i] > 0.0]
        reason = "close_call" if best >= thresholds.answer else "uncertain"
        return Decision("clarify", tuple(shown), best, reason)
    return Decision("handoff", (), best, "low_confidence")
