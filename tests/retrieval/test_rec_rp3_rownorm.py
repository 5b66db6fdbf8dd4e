"""RP3beta and row-length normalisation (issue 16): hand-checked weights, and rankings that flip when the
feature is on — each checked against the same data without it, so the tests fail when the feature does."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from retrieval.errors import ConfigError
from retrieval.rec_models import RP3Beta, interactions, make_model, normalise_rows
from retrieval.recommend import RecConfig, Recommender
from tests.retrieval.retrieval_fakes import seeded_vectors

ROWS = [["a", "b"], ["a", "b", "c"], ["c", "d"], ["c", "d"], ["a", "b"], ["b", "e"]]


def test_rp3beta_is_a_two_step_walk_divided_by_popularity_to_the_beta() -> None:
    matrix, index = interactions(ROWS)
    a, b, c = index["a"], index["b"], index["c"]
    walk = RP3Beta(alpha=1.0, beta=0.0).fit(matrix).weights
    assert walk is not None
    # from a: to one of its 3 rows (1/3 each), then to an item of that row: b is 1/2, 1/3, 1/2 of them
    assert walk[a, b] == pytest.approx((1 / 2 + 1 / 3 + 1 / 2) / 3)
    assert walk[a, c] == pytest.approx((1 / 3) / 3) and walk[a, a] == 0.0
    # a row of the walk sums to 1 less the walk back to a (a is in the same rows as b but one: 4/9 as well)
    assert walk[a].sum() == pytest.approx(1 - (1 / 2 + 1 / 3 + 1 / 2) / 3)
    damped = RP3Beta(alpha=1.0, beta=0.5).fit(matrix).weights
    assert damped is not None
    assert damped[a, b] == pytest.approx(walk[a, b] / 4**0.5)  # b is in 4 rows
    squared = RP3Beta(alpha=2.0, beta=0.0).fit(matrix).weights
    assert squared is not None
    assert squared[a, b] == pytest.approx((1 / 4 + 1 / 9 + 1 / 4) / 9)


def test_rp3beta_beta_ranks_the_rarer_neighbour_above_the_popular_one() -> None:
    rows = [["a", "pop"]] * 3 + [["a", "rare"]] * 2 + [["pop", f"z{n}"] for n in range(10)]
    matrix, index = interactions(rows)
    history = np.zeros(len(index), dtype="float32")
    history[index["a"]] = 1.0
    plain = RP3Beta(alpha=1.0, beta=0.0).fit(matrix).score(history)
    assert plain[index["pop"]] > plain[index["rare"]]
    damped = RP3Beta(alpha=1.0, beta=1.0).fit(matrix)
    scores = damped.score(history)
    assert scores[index["rare"]] > scores[index["pop"]]
    assert damped.explain([index["z0"], index["a"]], index["rare"]) == index["a"]


def test_rp3beta_keeps_k_neighbours_per_item() -> None:
    matrix, _ = interactions(ROWS)
    full = RP3Beta(beta=0.0).fit(matrix).weights
    pruned = RP3Beta(beta=0.0, k=1).fit(matrix).weights
    assert full is not None and pruned is not None
    assert (np.count_nonzero(full, axis=1) > 1).any()
    assert (np.count_nonzero(pruned, axis=1) <= 1).all()
    kept = pruned != 0
    assert np.allclose(pruned[kept], full[kept])
    assert (pruned.max(axis=1) == full.max(axis=1)).all()  # each item keeps its strongest


def test_normalise_rows_divides_each_row_by_its_length_to_the_power() -> None:
    matrix, _ = interactions([["a", "b", "c", "d"], ["a"]])
    assert normalise_rows(matrix, 0.0) is matrix
    half = normalise_rows(matrix, 0.5).toarray()
    assert half[0].tolist() == pytest.approx([0.5] * 4) and half[1].tolist() == pytest.approx([1, 0, 0, 0])
    with pytest.raises(ConfigError) as caught:
        normalise_rows(matrix, -1.0)
    assert caught.value.field == "row_norm_power" and caught.value.value == -1.0


# two shoppers bought anchor with "pair"; three wholesale orders hold anchor, "bulk" and five other items each
FILLERS = [[f"f{order}-{n}" for n in range(5)] for order in range(3)]
IDS = ["anchor", "pair", "bulk", *(f for order in FILLERS for f in order)]
WHOLESALE = [["anchor", "pair"]] * 2 + [["anchor", "bulk", *order] for order in FILLERS]
PLAIN_EASE = RecConfig(
    personal_model="ease",
    model_settings={"lam": 20.0},
    fit_half_life_days=None,
    row_norm_power=0.0,
    mmr_lambda=1.0,
    popularity_alpha=0.0,
)


def test_normalised_rows_let_a_small_shoppers_pair_outrank_wholesale_co_purchases() -> None:
    def ranked(config: RecConfig) -> list[str]:
        vectors = seeded_vectors(len(IDS), 16, seed=3)
        rec = Recommender(IDS, vectors, dict.fromkeys(IDS, "home"), [], config, histories=WHOLESALE)
        return [r.id for r in rec.personal(["anchor"], k=2)]

    assert ranked(PLAIN_EASE) == ["bulk", "pair"]  # counted alone, the three wholesale orders win
    assert ranked(replace(PLAIN_EASE, row_norm_power=0.25)) == ["pair", "bulk"]
    assert ranked(replace(PLAIN_EASE, row_norm_power=0.5)) == ["pair", "bulk"]


@pytest.mark.parametrize(
    ("make", "field", "value"),
    [
        (lambda: RP3Beta(alpha=0.0), "rp3_alpha", 0.0),
        (lambda: RP3Beta(beta=-0.1), "rp3_beta", -0.1),
        (lambda: RP3Beta(k=0), "rp3_k", 0),
        (lambda: make_model("rp3", {"gamma": 1}), "rp3 settings", {"gamma": 1}),
        (lambda: RecConfig(row_norm_power=-0.25), "row_norm_power", -0.25),
        (lambda: RecConfig(row_norm_power=True), "row_norm_power", True),
        (lambda: RecConfig(personal_model="rp3", model_settings={"beta": -1.0}), "rp3_beta", -1.0),
    ],
)
def test_bad_settings_are_rejected_naming_the_value(make, field: str, value: object) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as caught:
        make()
    assert caught.value.field == field and caught.value.value == value


def test_scoring_an_unfitted_rp3beta_says_so() -> None:
    with pytest.raises(RuntimeError, match="fit"):
        RP3Beta().score(np.zeros(3, dtype="float32"))
