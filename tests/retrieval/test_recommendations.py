from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from retrieval.copurchase import CoPurchase
from retrieval.errors import ConfigError
from retrieval.recommend import RecConfig, Recommender
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


# --------------------------------------------------------------------------- the personal model (issue 16)
EASE_CONFIG = RecConfig(
    mmr_lambda=1.0,
    popularity_alpha=0.0,
    similar_weight=0.0,
    personal_model="ease",
    model_settings={"lam": 1.0},
)
# customers' purchases; "zz" is no catalog item (sold once, since removed)
HISTORIES = [["i0", "i1", "i2"], ["i0", "i1"], ["i3", "i4", "zz"], ["i3", "i4"], ["i5", "i0", "i1"]]


@pytest.mark.parametrize("model", ["ease", "knn", "rp3", "als"])
def test_personal_model_never_shows_bought_or_unknown_items(model: str) -> None:
    settings = {
        "ease": {"lam": 1.0},
        "knn": {"k": 5},
        "rp3": {"beta": 0.5},
        "als": {"factors": 4, "iterations": 5},
    }[model]
    config = RecConfig(personal_model=model, model_settings=settings)
    rec = Recommender(IDS, seeded_vectors(12, 16, seed=3), CATS, BASKETS, config, histories=HISTORIES)
    recs = rec.personal(["i3", "zz", "nope"], k=6)
    ids = [r.id for r in recs]
    assert len(ids) == 6 == len(set(ids)) and "i3" not in ids and set(ids) <= set(IDS)
    assert all(r.reason for r in recs)


def test_ease_personal_names_the_purchase_that_contributes_most() -> None:
    titles = {i: i.upper() for i in IDS}
    rec = Recommender(
        IDS, seeded_vectors(12, 16, seed=3), CATS, BASKETS, EASE_CONFIG, titles, histories=HISTORIES
    )
    recs = rec.personal(["i3"], k=3)
    assert recs[0].id == "i4" and (recs[0].reason_code, recs[0].reason_title) == ("personal_together", "I3")
    both = rec.personal(["i3", "i1"], k=3)  # i0 and i4 tie: catalogue order breaks it
    assert [(r.id, r.reason_title) for r in both[:2]] == [("i0", "I1"), ("i4", "I3")]


def test_model_rows_orders_fit_on_baskets() -> None:
    config = replace(EASE_CONFIG, model_rows="orders")
    rec = Recommender(
        IDS, seeded_vectors(12, 16, seed=3), CATS, BASKETS, config, histories=[["i9", "i10"]] * 5
    )
    assert rec.personal(["i3"], k=1)[0].id == "i4"  # from the baskets: the histories were not used


def test_personal_model_on_an_empty_or_tiny_shop_falls_back_sensibly() -> None:
    vectors = seeded_vectors(12, 16, seed=3)
    empty = Recommender(IDS, vectors, CATS, [], EASE_CONFIG, histories=[])
    assert [r.reason_code for r in empty.personal(["i1"], k=3)] == ["catalogue"] * 3
    assert [r.strategy for r in empty.personal([], k=2)] == ["popular"] * 2
    one_customer = Recommender(IDS, vectors, CATS, [["i1"]], EASE_CONFIG, histories=[["i1", "i2"]])
    recs = one_customer.personal(["i1"], k=3)
    assert recs[0].id == "i2" and "i1" not in [r.id for r in recs] and len(recs) == 3
    single = Recommender(["i0"], vectors[:1], {"i0": "a"}, [["i0"]], EASE_CONFIG, histories=[["i0"]])
    assert single.personal(["i0"], k=3) == [] and [r.id for r in single.popular(k=3)] == ["i0"]


@pytest.mark.parametrize(
    ("settings", "field", "value"),
    [
        ({"personal_model": "svd"}, "personal_model", "svd"),
        ({"model_rows": "sessions"}, "model_rows", "sessions"),
        ({"mmr_lambda": 1.5}, "mmr_lambda", 1.5),
        ({"popularity_alpha": -0.1}, "popularity_alpha", -0.1),
        ({"personal_model": "ease", "model_settings": {"lam": -1.0}}, "ease_lambda", -1.0),
    ],
)
def test_bad_rec_config_names_the_value(settings: dict, field: str, value: object) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError) as caught:
        RecConfig(**settings)
    assert caught.value.field == field and caught.value.value == value
