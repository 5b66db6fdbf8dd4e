from __future__ import annotations

import numpy as np
import pytest

from retrieval.responder.config import Thresholds
from retrieval.responder.decision import decide
from retrieval.responder.errors import ResponderConfigError
from retrieval.responder.training.metrics import mrr, rank_of, routing, top1
from retrieval.responder.training.tuning import fit_thresholds

T = Thresholds(answer=0.6, clarify=0.2, margin=0.1, choice_floor=0.05, max_choices=3)


def test_a_confident_clear_winner_is_answered() -> None:
    d = decide(np.array([0.1, 0.9, 0.05]), T)
    assert (d.kind, d.indices) == ("answer", (1,))
    assert d.confidence == pytest.approx(0.9)


def test_a_middling_best_asks_with_two_or_three_choices_best_first() -> None:
    d = decide(np.array([0.3, 0.1, 0.4, 0.02]), T)
    assert d.kind == "clarify"
    assert d.indices == (2, 0, 1)


def test_a_close_call_between_two_confident_candidates_clarifies() -> None:
    d = decide(np.array([0.8, 0.75, 0.01, 0.0]), T)
    assert d.kind == "clarify"
    assert d.indices[:2] == (0, 1) and 2 <= len(d.indices) <= 3
    assert d.reason == "close_call"


def test_clarify_always_offers_at_least_two_when_there_are_two() -> None:
    d = decide(np.array([0.3, 0.01, 0.0]), T)
    assert d.kind == "clarify" and d.indices == (0, 1)


def test_low_confidence_hands_off() -> None:
    d = decide(np.array([0.1, 0.05, 0.01]), T)
    assert (d.kind, d.indices) == ("handoff", ())


@pytest.mark.parametrize("probs", [np.array([]), np.zeros(4), np.array([np.nan, 0.0])])
def test_no_usable_candidate_hands_off(probs: np.ndarray) -> None:
    assert decide(probs, T).kind == "handoff"


def test_thresholds_route_to_all_three_outcomes_and_move_with_configuration() -> None:
    lists = [np.array([0.95, 0.1]), np.array([0.4, 0.3]), np.array([0.05, 0.04])]
    assert [decide(p, T).kind for p in lists] == ["answer", "clarify", "handoff"]
    strict = Thresholds(answer=0.99, clarify=0.5)
    assert [decide(p, strict).kind for p in lists] == ["clarify", "handoff", "handoff"]


@pytest.mark.parametrize(("field", "value"), [("answer", 1.5), ("clarify", -0.1), ("max_choices", 5)])
def test_bad_thresholds_name_the_field_and_valid_set(field: str, value: float) -> None:
    with pytest.raises(ResponderConfigError, match=field):
        Thresholds(**{field: value})


def test_clarify_above_answer_is_refused() -> None:
    with pytest.raises(ResponderConfigError, match="clarify"):
        Thresholds(answer=0.3, clarify=0.5)


def test_ranking_metrics() -> None:
    scores = [np.array([0.1, 0.9]), np.array([0.9, 0.1, 0.5]), np.array([0.2, 0.3])]
    ranks = [rank_of(scores[0], 1), rank_of(scores[1], 2), None]
    assert ranks[:2] == [1, 2]
    assert top1(ranks) == pytest.approx(1 / 3)
    assert mrr(ranks, 10) == pytest.approx((1 + 0.5 + 0) / 3)


def test_routing_reports_share_and_accuracy_per_outcome() -> None:
    probs = [np.array([0.9, 0.1]), np.array([0.9, 0.1]), np.array([0.3, 0.25]), np.array([0.01, 0.02])]
    shares = {r.kind: r for r in routing(probs, [0, 1, 1, -1], T)}
    assert shares["answer"].share == pytest.approx(0.5) and shares["answer"].accuracy == pytest.approx(0.5)
    assert shares["clarify"].count == 1 and shares["clarify"].accuracy == 1.0
    assert shares["handoff"].count == 1 and shares["handoff"].accuracy == 1.0


def test_fitted_answer_threshold_reaches_the_target_precision() -> None:
    rng = np.random.default_rng(3)
    probs, positives = [], []
    for _ in range(300):
        confidence = rng.random()
        p = rng.random(5) * 0.05
        right = rng.random() < confidence  # higher confidence, more often right
        p[0] = confidence
        probs.append(p)
        positives.append(0 if right else 1)
    fitted = fit_thresholds(probs, positives, Thresholds(), target_precision=0.9)
    answered = [
        pos == 0 for p, pos in zip(probs, positives, strict=True) if decide(p, fitted).kind == "answer"
    ]
    assert len(answered) >= 10
    assert np.mean(answered) >= 0.9
    assert fitted.clarify <= fitted.answer
