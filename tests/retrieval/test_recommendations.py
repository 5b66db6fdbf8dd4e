from __future__ import annotations

import numpy as np
import pytest

from retrieval.recommend import CoPurchase, RecConfig, Recommender
from tests.retrieval.retrieval_fakes import seeded_vectors

IDS = [f"i{n}" for n in range(12)]
CATS = {i: ("a" if n < 6 else "b") for n, i in enumerate(IDS)}
BASKETS = [["i0", "i1"], ["i0", "i1", "i2"], ["i0", "i7"], ["i3", "i4"], ["i3", "i4"], ["i5", "i0"], ["i0"]]


def make(config: RecConfig | None = None) -> Recommender:
    return Recommender(
        IDS, seeded_vectors(12, 16, seed=3), CATS, BASKETS, config, titles={i: i.upper() for i in IDS}
    )


def test_copurchase_counts_are_symmetric_and_normalised() -> None:
    co = CoPurchase(BASKETS)
    assert co.count("i0", "i1") == co.count("i1", "i0") == 2 and co.count("i0", "i0") == 0
    assert co.neighbours("i3")["i4"] == pytest.approx(1.0)  # always together
    assert co.neighbours("unknown") == {}


def test_together_ranks_co_purchases_with_reasons() -> None:
    recs = make(RecConfig(mmr_lambda=1.0, popularity_alpha=0.0)).together(["i1"], k=3)
    # cosine: i2 (1 of its 1 orders has i1) beats i0 (2 of its 6)
    assert [r.id for r in recs] == ["i2", "i0"]
    assert recs[0].reason == "often bought with I1" and recs[0].strategy == "together"


def test_similar_stays_in_category_first() -> None:
    rec = make()
    recs = rec.similar("i2", k=5)
    assert [CATS[r.id] for r in recs] == ["a"] * 5 and "i2" not in [r.id for r in recs]
    vectors = rec.vectors
    expected = max(
        (i for i in IDS if CATS[i] == "a" and i != "i2"), key=lambda i: vectors[IDS.index(i)] @ vectors[2]
    )
    assert make(RecConfig(mmr_lambda=1.0, popularity_alpha=0.0)).similar("i2", k=1)[0].id == expected


def test_personal_excludes_history_and_falls_back_to_popular() -> None:
    rec = make()
    recs = rec.personal(["i3", "i1"], k=5)
    ids = [r.id for r in recs]
    assert not {"i1", "i3"} & set(ids) and len(ids) == 5
    assert "i4" in ids[:2]  # always bought with i3
    assert all(r.reason for r in recs)
    cold = rec.personal([], k=3)
    assert [r.strategy for r in cold] == ["popular"] * 3 and cold[0].id == "i0"


def test_mmr_diversifies_near_duplicates() -> None:
    vectors = np.vstack([seeded_vectors(1, 8, seed=1)] * 3 + [seeded_vectors(1, 8, seed=2)]).astype("float32")
    ids = ["a", "a2", "a3", "b"]
    rec = Recommender(
        ids,
        vectors,
        dict.fromkeys(ids, "x"),
        [["q", "a"], ["q", "a2"], ["q", "a3"], ["q", "b"]],
        RecConfig(mmr_lambda=0.5, popularity_alpha=0.0),
    )
    plain = Recommender(
        ids,
        vectors,
        dict.fromkeys(ids, "x"),
        [["q", "a"], ["q", "a2"], ["q", "a3"], ["q", "b"]],
        RecConfig(mmr_lambda=1.0, popularity_alpha=0.0),
    )
    assert "b" in [r.id for r in rec.popular(k=2)]
    assert len([r.id for r in plain.popular(k=4)]) == 4


def test_unavailable_items_are_never_recommended() -> None:
    rec = Recommender(IDS, seeded_vectors(12, 16), CATS, BASKETS, available=[i for i in IDS if i != "i0"])
    assert "i0" not in [r.id for r in rec.popular(k=10)]
