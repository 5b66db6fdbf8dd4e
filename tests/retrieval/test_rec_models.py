"""The strong recommendation baselines: EASE^R, item-kNN and implicit ALS on tiny hand-checkable data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from retrieval.errors import ConfigError
from retrieval.rec_models import ALS, EASE, ItemKNN, interactions, make_model

ROWS = [["a", "b"], ["a", "b", "c"], ["c", "d"], ["c", "d"], ["a", "b"], ["b", "e"]]


def test_interactions_are_binary_and_ignore_unknown_ids_given_an_index() -> None:
    matrix, index = interactions([["a", "a", "b"], [], ["c"]])
    assert index == {"a": 0, "b": 1, "c": 2}
    assert matrix.toarray().tolist() == [[1, 1, 0], [0, 0, 0], [0, 0, 1]]
    again, same = interactions([["zz", "c"]], index)
    assert same == index and again.toarray().tolist() == [[0, 0, 1]]


def test_ease_matches_the_constrained_ridge_regression_solved_column_by_column() -> None:
    matrix, _ = interactions(ROWS)
    lam = 2.0
    weights = EASE(lam).fit(matrix).weights
    assert weights is not None
    x = matrix.toarray().astype("float64")
    gram = x.T @ x
    n = gram.shape[0]
    for j in range(n):  # column j regresses item j on the other items, without itself
        others = [i for i in range(n) if i != j]
        expected = np.linalg.solve(gram[np.ix_(others, others)] + lam * np.eye(n - 1), gram[others, j])
        assert weights[others, j] == pytest.approx(expected, abs=1e-5)
        assert weights[j, j] == 0.0


def test_ease_scores_and_explains_a_history() -> None:
    matrix, index = interactions(ROWS)
    model = EASE(1.0).fit(matrix)
    history = np.zeros(len(index), dtype="float32")
    history[index["a"]] = 1.0
    scores = model.score(history)
    assert int(np.argmax(scores)) == index["b"]  # a is always bought with b
    assert model.explain([index["d"], index["a"]], index["b"]) == index["a"]


def test_item_knn_is_cosine_and_keeps_k_neighbours_per_item() -> None:
    matrix, index = interactions(ROWS)
    full = ItemKNN(k=10).fit(matrix).weights
    assert full is not None
    a, b, c, e = index["a"], index["b"], index["c"], index["e"]
    assert full[a, b] == pytest.approx(3 / math.sqrt(3 * 4))  # 3 rows share a and b; a in 3, b in 4
    assert full[a, c] == pytest.approx(1 / math.sqrt(3 * 3)) and full[a, a] == 0.0
    pruned = ItemKNN(k=1).fit(matrix).weights
    assert pruned is not None
    assert (np.count_nonzero(pruned, axis=0) <= 1).all()
    assert pruned[a, b] == pytest.approx(full[a, b]) and pruned[e, b] == 0.0  # b keeps only a


def test_als_recovers_items_bought_together() -> None:
    rng = np.random.default_rng(7)
    rows = []
    for user in range(80):  # two groups of shoppers, each buying from its own five items
        group = [f"g{user % 2}-{n}" for n in range(5)]
        rows.append(list(rng.choice(group, size=3, replace=False)))
    matrix, index = interactions(rows)
    model = ALS(factors=4, regularization=0.05, alpha=10.0, iterations=20, seed=1).fit(matrix)
    history = np.zeros(len(index), dtype="float32")
    history[index["g0-0"]] = 1.0
    scores = model.score(history)
    scores[index["g0-0"]] = -np.inf
    items = list(index)
    top = [items[j] for j in np.argsort(-scores)[:4]]
    assert all(i.startswith("g0-") for i in top)
    assert model.explain([index["g1-0"], index["g0-0"]], index["g0-1"]) == index["g0-0"]


@pytest.mark.parametrize(
    ("make", "field", "value"),
    [
        (lambda: EASE(0.0), "ease_lambda", 0.0),
        (lambda: ItemKNN(0), "knn_k", 0),
        (lambda: ALS(factors=0), "als_factors", 0),
        (lambda: ALS(regularization=-1.0), "als_regularization", -1.0),
        (lambda: ALS(alpha=0.0), "als_alpha", 0.0),
        (lambda: ALS(iterations=0), "als_iterations", 0),
        (lambda: make_model("svd", {}), "personal_model", "svd"),
        (lambda: make_model("ease", {"lambda": 3}), "ease settings", {"lambda": 3}),
    ],
)
def test_bad_settings_are_rejected_naming_the_value(make, field: str, value: object) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as caught:
        make()
    assert caught.value.field == field and caught.value.value == value
    assert repr(value) in str(caught.value)


def test_scoring_an_unfitted_model_says_so() -> None:
    with pytest.raises(RuntimeError, match="fit"):
        EASE().score(np.zeros(3, dtype="float32"))
