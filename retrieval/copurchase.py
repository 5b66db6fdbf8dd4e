"""Item-item co-occurrence over order baskets: what :class:`retrieval.recommend.Recommender` calls "bought
together" and its plain ``cooccurrence`` personal model."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping


class CoPurchase:
    """Item-item co-occurrence over baskets (each basket: the item ids of one order), as a sparse matrix."""

    def __init__(self, baskets: Iterable[Iterable[str]], max_basket: int = 100) -> None:
        import numpy as np
        from scipy import sparse

        self.item_count: Counter[str] = Counter()
        self.index: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        n_baskets = 0
        for basket in baskets:
            items = sorted(set(basket))[:max_basket]  # wholesale orders add noise and quadratic cost
            if not items:
                continue
            self.item_count.update(items)
            for item in items:
                rows.append(self.index.setdefault(item, len(self.index)))
                cols.append(n_baskets)
            n_baskets += 1
        self.ids = list(self.index)
        incidence = sparse.csr_matrix(
            (np.ones(len(rows), dtype="float32"), (rows, cols)), shape=(len(self.index), n_baskets)
        )
        counts = (incidence @ incidence.T).tocsr()
        counts.setdiag(0)
        counts.eliminate_zeros()
        self.counts = counts
        norm = np.sqrt(np.asarray([self.item_count[i] for i in self.ids], dtype="float32"))
        inv = sparse.diags(1.0 / np.maximum(norm, 1e-9))
        self.cosine = (inv @ counts @ inv).tocsr()

    def count(self, a: str, b: str) -> int:
        if a not in self.index or b not in self.index:
            return 0
        return int(self.counts[self.index[a], self.index[b]])

    def neighbours(self, item_id: str, min_count: int = 1) -> dict[str, float]:
        """Cosine-normalised co-occurrence with ``item_id``."""
        row = self.index.get(item_id)
        if row is None:
            return {}
        start, end = self.cosine.indptr[row], self.cosine.indptr[row + 1]
        cols, values = self.cosine.indices[start:end], self.cosine.data[start:end]
        raw = self.counts.getrow(row)
        raw_counts = dict(zip(raw.indices.tolist(), raw.data.tolist(), strict=True))
        return {
            self.ids[c]: float(v)
            for c, v in zip(cols.tolist(), values.tolist(), strict=True)
            if raw_counts.get(c, 0) >= min_count
        }

    def scores(self, weights: Mapping[str, float]) -> dict[str, float]:
        """Sum of weighted cosine rows for several items at once (one sparse product)."""
        import numpy as np

        vector = np.zeros(len(self.ids), dtype="float32")
        for item, weight in weights.items():
            if item in self.index:
                vector[self.index[item]] = weight
        if not vector.any():
            return {}
        total = self.cosine.T @ vector
        nonzero = np.flatnonzero(total)
        return {self.ids[j]: float(total[j]) for j in nonzero}

    def popularity(self) -> Counter[str]:
        return self.item_count
