"""Recency in the personal recommendations (issue 16): weighted model rows, a weighted history, and the
availability window — each checked against the same data without it, so the tests fail when the feature does."""

from __future__ import annotations

from dataclasses import replace

import pytest

from retrieval.errors import ConfigError
from retrieval.rec_models import interactions, recency_weights
from retrieval.recommend import RecConfig, Recommender
from tests.retrieval.retrieval_fakes import seeded_vectors

IDS = ["anchor", "old", "new", "x", "px", "y", "py", "gone"]
CATS = dict.fromkeys(IDS, "home")
PLAIN_EASE = RecConfig(
    personal_model="ease",
    model_settings={"lam": 1.0},
    fit_half_life_days=None,
    mmr_lambda=1.0,
    popularity_alpha=0.0,
)


def make(config: RecConfig, histories: list[list[str]], ages: list[list[float]]) -> Recommender:
    return Recommender(
        IDS,
        seeded_vectors(len(IDS), 16, seed=5),
        CATS,
        [],
        config,
        histories=histories,
        history_ages=ages,
    )


def test_weighted_interactions_keep_each_items_largest_weight() -> None:
    matrix, index = interactions([["a", "b", "a"], ["b"]], weights=[[0.25, 0.5, 0.75], [1.0]])
    assert index == {"a": 0, "b": 1}
    assert matrix.toarray().tolist() == [[0.75, 0.5], [0.0, 1.0]]  # a: its latest (largest) weight
    with pytest.raises(ConfigError, match="weights of row 1"):
        interactions([["a"], ["b", "c"]], weights=[[1.0], [1.0]])


def test_recency_weights_halve_every_half_life() -> None:
    assert recency_weights([0.0, 30.0, 60.0, -2.0], 30.0) == pytest.approx([1.0, 0.5, 0.25, 1.0])
    assert recency_weights([0.0, 400.0], None) == [1.0, 1.0]
    with pytest.raises(ConfigError) as caught:
        recency_weights([1.0], 0.0)
    assert caught.value.field == "half_life_days" and caught.value.value == 0.0


# "old" was bought with "anchor" by three customers a year ago, "new" by two customers last week
CO_PURCHASES = [["anchor", "old"]] * 3 + [["anchor", "new"]] * 2
CO_AGES = [[365.0, 365.0]] * 3 + [[7.0, 7.0]] * 2


def test_recency_weighted_rows_rank_the_recent_co_purchase_first() -> None:
    plain = make(PLAIN_EASE, CO_PURCHASES, CO_AGES).personal(["anchor"], k=2)
    assert [r.id for r in plain] == ["old", "new"]  # counted alone, the year-old pairs win
    weighted = make(replace(PLAIN_EASE, fit_half_life_days=60.0), CO_PURCHASES, CO_AGES)
    assert [r.id for r in weighted.personal(["anchor"], k=2)] == ["new", "old"]


def test_without_ages_the_rows_weigh_the_same_whatever_the_half_life() -> None:
    config = replace(PLAIN_EASE, fit_half_life_days=60.0)
    rec = Recommender(IDS, seeded_vectors(len(IDS), 16, seed=5), CATS, [], config, histories=CO_PURCHASES)
    assert [r.id for r in rec.personal(["anchor"], k=2)] == ["old", "new"]


# x goes with px (three customers), y with py (two): the shopper bought x long ago and y yesterday
PAIRS = [["x", "px"]] * 3 + [["y", "py"]] * 2
PAIR_AGES = [[10.0, 10.0]] * 5


def test_a_weighted_history_ranks_what_goes_with_the_recent_purchase_first() -> None:
    rec = make(PLAIN_EASE, PAIRS, PAIR_AGES)
    assert rec.personal(["x", "y"], k=2, ages=[400.0, 1.0])[0].id == "px"  # unweighted
    rec.config = replace(PLAIN_EASE, history_half_life_days=90.0)
    recs = rec.personal(["x", "y"], k=2, ages=[400.0, 1.0])
    assert [r.id for r in recs] == ["py", "px"] and recs[0].reason_title == "y"
    # an item bought twice counts by its latest purchase
    assert rec.personal(["x", "y", "x"], k=1, ages=[400.0, 200.0, 0.0])[0].id == "px"
    with pytest.raises(ConfigError, match="ages"):
        rec.personal(["x", "y"], k=2, ages=[1.0])


def test_the_availability_window_never_recommends_an_item_not_sold_within_it() -> None:
    baskets = [["anchor", "gone"]] * 4 + [["anchor", "new"], ["x", "px"], ["y", "py"]]
    basket_ages = [100.0] * 4 + [3.0, 5.0, 6.0]  # "gone" (and old) last sold 100 days ago
    config = replace(PLAIN_EASE, model_rows="orders", available_days=28.0)
    rec = Recommender(
        IDS, seeded_vectors(len(IDS), 16, seed=5), CATS, baskets, config, basket_ages=basket_ages
    )
    without = replace(config, available_days=None)
    unfiltered = Recommender(
        IDS, seeded_vectors(len(IDS), 16, seed=5), CATS, baskets, without, basket_ages=basket_ages
    )
    assert unfiltered.personal(["anchor"], k=1)[0].id == "gone"  # the strongest pair, when not filtered
    sold_lately = {"anchor", "new", "x", "px", "y", "py"}
    lists = [
        rec.personal(["anchor"], k=6),
        rec.personal(["x"], k=6),
        rec.popular(k=8),
        rec.together(["anchor"], k=6),
        rec.similar("anchor", k=6),
    ]
    for recs in lists:
        assert recs and {r.id for r in recs} <= sold_lately
    with pytest.raises(ConfigError, match="basket_ages"):
        Recommender(IDS, seeded_vectors(len(IDS), 16), CATS, baskets, config, basket_ages=[1.0])


@pytest.mark.parametrize(
    ("settings", "field", "value"),
    [
        ({"fit_half_life_days": 0.0}, "fit_half_life_days", 0.0),
        ({"history_half_life_days": -30.0}, "history_half_life_days", -30.0),
        ({"available_days": "4w"}, "available_days", "4w"),
        ({"available_days": True}, "available_days", True),
    ],
)
def test_bad_recency_settings_name_the_value(settings: dict, field: str, value: object) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError) as caught:
        RecConfig(**settings)
    assert caught.value.field == field and caught.value.value == value
