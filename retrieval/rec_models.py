"""Item-based recommenders over a binary user-item matrix: EASE^R, item-kNN, RP3beta and implicit ALS.

Each model is fitted on a sparse ``rows x items`` matrix of purchases (0/1, or weighted by recency) (a row: one customer's purchases, or
one order) and scores a shopper's history (a 0/1 vector over the same items), so a shopper the model never saw
is served the same way as one it did. ``explain`` names the history item that contributes most to a
recommended item (the "often bought with your …" reason).

  * ``EASE``     Steck, "Embarrassingly Shallow Autoencoders" (WWW 2019): B = I - P diagMat(1 / diag(P)),
                 P = (X^T X + lambda I)^-1, diag(B) = 0, scores = x B. Dense ``items x items``.
  * ``ItemKNN``  cosine item-item similarity on the columns of X, each item keeping its ``k`` nearest
                 neighbours; scores = x S. Dense ``items x items``.
  * ``RP3Beta``  a three-step random walk item -> user -> item (Paudel et al., "Updatable, accurate, diverse,
                 and scalable recommendations for interactive applications", TiiS 2017; Dacrema et al. 2019):
                 W = P_iu^alpha P_ui^alpha (both row-stochastic), each column divided by its item's
                 popularity ** beta, each item keeping its ``k`` strongest neighbours; scores = x W.
  * ``ALS``      implicit-feedback matrix factorisation (Hu, Koren, Volinsky 2008) with the ``implicit``
                 package; a history's user factors are solved from it at scoring time.

``interactions`` builds the matrix from rows of item ids (binary, or weighted: ``recency_weights`` turns purchase
ages into weights, so the Gram matrix of EASE / kNN counts recent co-purchases more than old ones);
``normalise_rows`` divides each row by its length ** power (a customer with hundreds of items counts less per
item); ``make_model`` builds one from a name and settings.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from retrieval.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    from scipy import sparse

logger = logging.getLogger(__name__)

MODELS = ("ease", "knn", "rp3", "als")


class ItemModel(Protocol):
    name: str

    def fit(self, matrix: sparse.csr_matrix) -> ItemModel: ...

    def score(self, histories: np.ndarray) -> np.ndarray:
        """Scores of every item for each row of ``histories`` (``n x items``, 0/1)."""
        ...

    def explain(self, history: Sequence[int], item: int) -> int:
        """The column in ``history`` that contributes most to ``item``'s score."""
        ...


def interactions(
    rows: Iterable[Iterable[str]],
    index: Mapping[str, int] | None = None,
    weights: Iterable[Iterable[float]] | None = None,
) -> tuple[sparse.csr_matrix, dict[str, int]]:
    """A ``rows x items`` matrix and the item index (``index`` given: its items only; else every item).

    Without ``weights`` the matrix is binary; with them (one weight per item of each row, aligned with
    ``rows``) an entry is the largest weight its item got in that row (e.g. the recency of its latest purchase).
    """
    import numpy as np
    from scipy import sparse

    grow = index is None
    columns: dict[str, int] = {} if index is None else dict(index)
    indptr, indices, values = [0], [], []  # type: list[int], list[int], list[float]
    row_weights = iter(weights) if weights is not None else None
    for n, row in enumerate(rows):
        items = list(row)
        given = list(next(row_weights, ())) if row_weights is not None else [1.0] * len(items)
        if len(given) != len(items):
            raise ConfigError(f"weights of row {n}", len(given), f"one weight per item ({len(items)})")
        cols: dict[int, float] = {}
        for item, weight in zip(items, given, strict=True):
            col = columns.setdefault(item, len(columns)) if grow else columns.get(item)
            if col is not None:
                cols[col] = max(cols.get(col, 0.0), float(weight))
        ordered = sorted(cols)
        indices.extend(ordered)
        values.extend(cols[c] for c in ordered)
        indptr.append(len(indices))
    matrix = sparse.csr_matrix(
        (
            np.asarray(values, dtype="float32"),
            np.asarray(indices, dtype="int32"),
            np.asarray(indptr, dtype="int64"),
        ),
        shape=(len(indptr) - 1, len(columns)),
    )
    return matrix, columns


def recency_weights(ages_days: Iterable[float], half_life_days: float | None) -> list[float]:
    """``0.5 ** (age / half_life)`` per age in days (a purchase ``half_life_days`` old weighs half of one made
    today); ``half_life_days`` None: every weight 1. A negative age (a clock ahead of the fit) counts as 0."""
    ages = [float(a) for a in ages_days]
    if half_life_days is None:
        return [1.0] * len(ages)
    _positive("half_life_days", half_life_days, "a number of days > 0, or None for no recency weighting")
    return [0.5 ** (max(a, 0.0) / half_life_days) for a in ages]


def normalise_rows(matrix: sparse.csr_matrix, power: float) -> sparse.csr_matrix:
    """Each row divided by (its number of items) ** ``power`` (0: unchanged; 0.5: by the square root)."""
    import numpy as np
    from scipy import sparse

    if not power >= 0:
        raise ConfigError("row_norm_power", power, "a number >= 0")
    if power == 0:
        return matrix
    lengths = np.maximum(np.diff(matrix.indptr), 1).astype("float64")
    return sparse.csr_matrix(sparse.diags((1.0 / lengths**power).astype("float32")) @ matrix)


def _positive(field: str, value: float, valid: str = "a number > 0") -> None:
    if not value > 0:
        raise ConfigError(field, value, valid)


class _ItemItem:
    """An item x item weight matrix ``weights`` (set by ``fit``): a history's scores are ``x W``, and the item
    of the history that contributed most to a recommended item explains it."""

    weights: np.ndarray | None = None

    def _fitted(self) -> np.ndarray:
        if self.weights is None:
            raise RuntimeError(f"{type(self).__name__}: call fit() before scoring")
        return self.weights

    def score(self, histories: np.ndarray) -> np.ndarray:
        return histories @ self._fitted()

    def explain(self, history: Sequence[int], item: int) -> int:
        import numpy as np

        return int(history[int(np.argmax(self._fitted()[list(history), item]))])


class EASE(_ItemItem):
    name = "ease"

    def __init__(self, lam: float = 250.0) -> None:
        _positive("ease_lambda", lam)
        self.lam = float(lam)
        self.weights: np.ndarray | None = None

    def fit(self, matrix: sparse.csr_matrix) -> EASE:
        import numpy as np
        from scipy.linalg import lapack

        gram = np.asarray((matrix.T @ matrix).todense(), dtype="float64")
        gram[np.diag_indices_from(gram)] += self.lam
        # the Gram matrix + lambda I is symmetric positive definite: invert it through its Cholesky factor
        factor, info = lapack.dpotrf(gram, lower=False, clean=True, overwrite_a=True)
        if info == 0:
            precision, info = lapack.dpotri(factor, lower=False, overwrite_c=True)
        if info != 0:
            raise ConfigError(
                "ease_lambda", self.lam, f"a value that keeps X^T X + lambda I invertible ({info})"
            )
        precision = np.triu(precision) + np.triu(precision, 1).T
        weights = precision / -np.diag(precision)
        weights[np.diag_indices_from(weights)] = 0.0
        self.weights = weights.astype("float32")
        return self


class ItemKNN(_ItemItem):
    name = "knn"

    def __init__(self, k: int = 100) -> None:
        if not isinstance(k, int) or k < 1:
            raise ConfigError("knn_k", k, "an integer >= 1")
        self.k = k
        self.weights: np.ndarray | None = None

    def fit(self, matrix: sparse.csr_matrix) -> ItemKNN:
        import numpy as np

        counts = np.asarray((matrix.T @ matrix).todense(), dtype="float32")
        norm = np.sqrt(np.maximum(np.diag(counts), 1e-9))
        sims = counts / norm[:, None] / norm[None, :]
        sims[np.diag_indices_from(sims)] = 0.0
        n = sims.shape[0]
        if self.k < n:  # keep, for each item (column), its k most similar items
            drop = np.argpartition(-sims, self.k, axis=0)[self.k :]
            np.put_along_axis(sims, drop, 0.0, axis=0)
        self.weights = sims
        return self


class RP3Beta(_ItemItem):
    name = "rp3"

    def __init__(self, alpha: float = 1.0, beta: float = 0.5, k: int | None = None) -> None:
        _positive("rp3_alpha", alpha)
        if not beta >= 0:
            raise ConfigError("rp3_beta", beta, "a number >= 0")
        if k is not None and (not isinstance(k, int) or k < 1):
            raise ConfigError("rp3_k", k, "an integer >= 1, or None for every neighbour")
        self.alpha, self.beta, self.k = float(alpha), float(beta), k
        self.weights: np.ndarray | None = None

    def fit(self, matrix: sparse.csr_matrix) -> RP3Beta:
        import numpy as np
        from scipy import sparse

        x = sparse.csr_matrix(matrix, dtype="float64")

        def stochastic(m: sparse.csr_matrix) -> sparse.csr_matrix:  # rows sum to 1, then ** alpha
            sums = np.asarray(m.sum(axis=1)).ravel()
            out = sparse.csr_matrix(sparse.diags(1.0 / np.maximum(sums, 1e-12)) @ m)
            return out.power(self.alpha) if self.alpha != 1.0 else out

        walk = np.asarray((stochastic(x.T.tocsr()) @ stochastic(x)).todense())
        popularity = np.maximum(np.diff(x.tocsc().indptr), 1).astype("float64")  # rows holding each item
        walk /= popularity[None, :] ** self.beta
        walk[np.diag_indices_from(walk)] = 0.0
        if self.k is not None and self.k < walk.shape[1]:  # keep, for each item (row), its k strongest
            drop = np.argpartition(-walk, self.k, axis=1)[:, self.k :]
            np.put_along_axis(walk, drop, 0.0, axis=1)
        self.weights = walk.astype("float32")
        return self


class ALS:
    name = "als"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 10.0,
        iterations: int = 15,
        seed: int = 0,
    ) -> None:
        if not isinstance(factors, int) or factors < 1:
            raise ConfigError("als_factors", factors, "an integer >= 1")
        if not isinstance(iterations, int) or iterations < 1:
            raise ConfigError("als_iterations", iterations, "an integer >= 1")
        _positive("als_regularization", regularization)
        _positive("als_alpha", alpha)
        self.factors, self.regularization, self.alpha = factors, float(regularization), float(alpha)
        self.iterations, self.seed = iterations, seed
        self.model: Any = None

    def fit(self, matrix: sparse.csr_matrix) -> ALS:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):  # implicit runs its own threads; nested BLAS threads slow it down
            self.model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                random_state=self.seed,
                calculate_training_loss=False,
            )
            self.model.fit(matrix.astype("float32").tocsr(), show_progress=False)
        self.model.num_threads = 1  # scoring solves one shopper at a time: threads cost more than they save
        return self

    def _fitted(self) -> Any:
        if self.model is None:
            raise RuntimeError("ALS: call fit() before scoring")
        return self.model

    def score(self, histories: np.ndarray) -> np.ndarray:
        import numpy as np
        from scipy import sparse
        from threadpoolctl import threadpool_limits

        model = self._fitted()
        rows = np.atleast_2d(histories)
        with threadpool_limits(
            1 if rows.shape[0] == 1 else None
        ):  # one shopper: threads cost more than they save
            users = model.recalculate_user(np.arange(rows.shape[0]), sparse.csr_matrix(rows, dtype="float32"))
        scores = users @ model.item_factors.T
        return scores if histories.ndim == 2 else scores[0]

    def explain(self, history: Sequence[int], item: int) -> int:
        import numpy as np
        from scipy import sparse

        model = self._fitted()
        row = np.zeros((1, model.item_factors.shape[0]), dtype="float32")
        row[0, list(history)] = 1.0
        _, contributions, _ = model.explain(0, sparse.csr_matrix(row), item, N=1)
        return int(contributions[0][0]) if contributions else int(history[0])


def make_model(name: str, settings: Mapping[str, Any]) -> ItemModel:
    """A model by name; ``settings`` are its constructor's keywords (unknown keys are a ConfigError)."""
    factories: dict[str, type] = {"ease": EASE, "knn": ItemKNN, "rp3": RP3Beta, "als": ALS}
    if name not in factories:
        raise ConfigError("personal_model", name, ("cooccurrence", *MODELS))
    try:
        model: ItemModel = factories[name](**settings)
    except TypeError as exc:
        raise ConfigError(f"{name} settings", dict(settings), str(exc)) from exc
    return model
