"""bench.retrieval_adapted: the served decision per query and the threshold rule, on hand-made candidates."""

from __future__ import annotations

from bench.retrieval_adapted import Served, choose_product_rank, decide
from retrieval.config import RankConfig
from retrieval.index import Hit


def _served(rows: list[list[tuple[str, float]]], targets: list[str]) -> Served:
    hits = [[Hit(i, s, {}) for i, s in row] for row in rows]
    return Served(hits, [set() for _ in rows], targets)


def test_decide_follows_search_products() -> None:
    rank = RankConfig(answer=0.6, clarify=0.4, margin=0.05)
    served = _served(
        [
            [("a", 0.8), ("b", 0.5)],  # clears answer and margin: answered, right
            [("b", 0.8), ("a", 0.5)],  # answered, wrong
            [("a", 0.62), ("b", 0.6)],  # margin too small: cards, holding it
            [("b", 0.5), ("c", 0.45)],  # cards without it
            [("a", 0.3), ("b", 0.2)],  # below clarify: hand-off
            [("b", 0.9), ("a", 0.6)],  # "a" more than 0.2 below the best and not found by BM25: cut
        ],
        ["a"] * 6,
    )
    assert [decide(served, r, rank) for r in range(6)] == [
        "answer right",
        "answer wrong",
        "cards with it",
        "cards without it",
        "handoff",
        "answer wrong",
    ]


def test_thresholds_maximise_net_right_answers_and_keep_the_hand_off_share() -> None:
    # adapted: right answers score 0.8+, wrong ones 0.6-0.7; the best rule answers from above 0.7
    rows = [[("a", 0.8 + r / 100), ("x", 0.3)] for r in range(10)] + [
        [("x", 0.6 + r / 100), ("y", 0.3)] for r in range(10)
    ]
    adapted = _served(rows, ["a"] * 20)
    # stock: every best cosine at or above 0.25 (no hand-off): clarify goes to the adapted minimum, rounded down
    stock = _served([[("a", 0.5), ("x", 0.2)]] * 20, ["a"] * 20)
    chosen, basis = choose_product_rank(stock, adapted, list(range(20)))
    assert 0.7 <= chosen.answer <= 0.8
    assert chosen.clarify == 0.6 and basis["stock_handoff_share_dev"] == 0.0
    counts = [decide(adapted, r, chosen) for r in range(20)]
    assert counts.count("answer right") == 10 and counts.count("answer wrong") == 0
