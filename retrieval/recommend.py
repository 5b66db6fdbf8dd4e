"""Recommendations from plain data: item embeddings, categories and co-purchase baskets.

Strategies (each recommendation carries a reason: a code of ``REASONS`` and the title it names):
  * ``similar``      embedding neighbours in the same category (other categories only to fill up)
  * ``together``     item-item co-occurrence from order baskets, normalised (cosine on basket counts)
  * ``personal``     for a verified shopper: co-occurrence with and similarity to what they bought, minus it
  * ``popular``      the cold-start fallback
Then a diversity / long-tail re-rank: MMR on the embeddings and a popularity penalty ``score / pop**alpha``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from retrieval.errors import UnknownItemError

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)


# Why an item is recommended: a code and the title it refers to; the shopper's sentence comes from the actions'
# message catalog (actions.messages), the English wording here serves logs, benchmarks and tests.
REASONS = {
    "popular": "popular with other shoppers",
    "catalogue": "from our catalogue",
    "similar": "similar to {title}",
    "together": "often bought with {title}",
    "personal_together": "often bought with your {title}",
    "personal_similar": "similar to your {title}",
}


@dataclass(frozen=True)
class Recommendation:
    id: str
    score: float
    strategy: str
    reason_code: str  # a key of REASONS
    reason_title: str = ""  # the product the reason names ("often bought with <title>")

    @property
    def reason(self) -> str:
        """The reason in English (``often bought with Yoga Mat``)."""
        return REASONS[self.reason_code].format(title=self.reason_title) if self.reason_code else ""


@dataclass(frozen=True)
class RecConfig:
    mmr_lambda: float = 0.75  # 1.0 = relevance only
    popularity_alpha: float = 0.15  # 0 = no de-biasing
    candidates: int = 100
    similar_weight: float = 0.3  # personal: weight of embedding similarity next to co-occurrence
    min_cooccurrence: int = 1


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


class Recommender:
    def __init__(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        categories: Mapping[str, str],
        baskets: Iterable[Iterable[str]] = (),
        config: RecConfig | None = None,
        titles: Mapping[str, str] | None = None,
        available: Iterable[str] | None = None,
    ) -> None:
        import numpy as np

        self.ids = list(ids)
        self.position = {item_id: row for row, item_id in enumerate(self.ids)}
        self.vectors = np.ascontiguousarray(vectors, dtype="float32")
        self.categories = dict(categories)
        self.titles = dict(titles or {})
        self.config = config or RecConfig()
        self.co = CoPurchase(baskets)
        self.available = set(available) if available is not None else set(self.ids)
        pop = self.co.popularity()
        self._pop = np.asarray([pop.get(i, 0) for i in self.ids], dtype="float32")

    # ------------------------------------------------------------------ helpers
    def _title(self, item_id: str) -> str:
        return self.titles.get(item_id, item_id)

    def _vector(self, item_id: str) -> np.ndarray:
        if item_id not in self.position:
            raise UnknownItemError(item_id)
        return self.vectors[self.position[item_id]]

    def _co_weight(self, a: str, b: str) -> float:
        if a not in self.co.index or b not in self.co.index:
            return 0.0
        return float(self.co.cosine[self.co.index[a], self.co.index[b]])

    def _finish(
        self, scored: dict[str, tuple[float, str, str, str]], k: int, exclude: set[str]
    ) -> list[Recommendation]:
        """Popularity de-bias, then MMR for diversity; ``scored``: id -> (score, strategy, reason code, title)."""
        import numpy as np

        cands = [
            (i, s)
            for i, s in scored.items()
            if i not in exclude and i in self.available and i in self.position
        ]
        if not cands:
            return []
        alpha = self.config.popularity_alpha
        adjusted = {i: s[0] / (1.0 + float(self._pop[self.position[i]])) ** alpha for i, s in cands}
        pool = sorted(adjusted, key=lambda i: -adjusted[i])[: self.config.candidates]
        if self.config.mmr_lambda >= 1.0:  # relevance only
            return [Recommendation(i, float(adjusted[i]), *scored[i][1:]) for i in pool[:k]]
        top = max(adjusted[pool[0]], 1e-9)
        chosen: list[str] = []
        lam = self.config.mmr_lambda
        pool_vectors = self.vectors[[self.position[i] for i in pool]]
        max_sim = np.full(len(pool), -np.inf, dtype="float32")
        remaining = list(range(len(pool)))
        while remaining and len(chosen) < k:
            best_j, best_value = remaining[0], -np.inf
            for j in remaining:
                relevance = adjusted[pool[j]] / top
                redundancy = 0.0 if not chosen else float(max_sim[j])
                value = lam * relevance - (1 - lam) * redundancy
                if value > best_value:
                    best_j, best_value = j, value
            chosen.append(pool[best_j])
            remaining.remove(best_j)
            max_sim = np.maximum(max_sim, pool_vectors @ pool_vectors[best_j])
        return [Recommendation(i, float(adjusted[i]), *scored[i][1:]) for i in chosen]

    # ------------------------------------------------------------------ strategies
    def popular(self, k: int = 10, exclude: Iterable[str] = ()) -> list[Recommendation]:
        pop = self.co.popularity()
        if pop:
            scored = {i: (float(n), "popular", "popular", "") for i, n in pop.items()}
        else:  # no order history at all: catalogue order
            scored = {i: (1.0 / (1 + r), "popular", "catalogue", "") for r, i in enumerate(self.ids)}
        # popularity is the signal here: no de-biasing, keep MMR for some variety
        saved = self.config
        self.config = RecConfig(**{**saved.__dict__, "popularity_alpha": 0.0})
        try:
            return self._finish(scored, k, set(exclude))
        finally:
            self.config = saved

    def similar(self, item_id: str, k: int = 10, exclude: Iterable[str] = ()) -> list[Recommendation]:
        import numpy as np

        query = self._vector(item_id)
        sims = self.vectors @ query
        category = self.categories.get(item_id, "")
        same = np.asarray([self.categories.get(i, "") == category for i in self.ids], dtype=bool)
        # same-category items first; other categories only fill up (scaled down) when too few exist
        sims = np.where(same, sims, sims - 1.0)
        order = np.argsort(-sims)[: self.config.candidates + 1]
        title = self._title(item_id)
        scored = {self.ids[j]: (float(sims[j]) + 1.0, "similar", "similar", title) for j in order}
        return self._finish(scored, k, {item_id, *exclude})

    def together(
        self, item_ids: Sequence[str], k: int = 10, exclude: Iterable[str] = ()
    ) -> list[Recommendation]:
        sources = list(dict.fromkeys(item_ids))
        totals = self.co.scores(dict.fromkeys(sources, 1.0))
        picked = self._finish(
            {i: (v, "together", "", "") for i, v in totals.items()}, k, {*sources, *exclude}
        )
        out = []
        for rec in picked:
            weights = {s: self._co_weight(s, rec.id) for s in sources}
            source = max(weights, key=weights.__getitem__)
            out.append(Recommendation(rec.id, rec.score, "together", "together", self._title(source)))
        return out

    def personal(self, history: Sequence[str], k: int = 10) -> list[Recommendation]:
        """From a shopper's purchases (most recent last); excludes what they already bought."""
        import numpy as np

        bought = [i for i in dict.fromkeys(history) if i in self.position]
        if not bought:
            return self.popular(k)
        recency = {item: 0.5 + 0.5 * (n + 1) / len(bought) for n, item in enumerate(bought)}
        co_scores = self.co.scores(recency)
        sim_scores: dict[str, float] = {}
        sim_source: dict[str, str] = {}
        if self.config.similar_weight > 0:
            profile = self.vectors[[self.position[i] for i in bought]]
            sims = (self.vectors @ profile.T) * np.asarray([recency[i] for i in bought], dtype="float32")
            best = sims.argmax(axis=1)
            best_sim = sims.max(axis=1)
            for j in np.argsort(-best_sim)[: self.config.candidates * 2]:
                sim_scores[self.ids[j]] = self.config.similar_weight * float(best_sim[j])
                sim_source[self.ids[j]] = bought[int(best[j])]
        total = {i: co_scores.get(i, 0.0) + sim_scores.get(i, 0.0) for i in {*co_scores, *sim_scores}}
        picked = self._finish({i: (v, "personal", "", "") for i, v in total.items()}, k, set(bought))
        recs: list[Recommendation] = []
        for rec in picked:
            if co_scores.get(rec.id, 0.0) >= sim_scores.get(rec.id, 0.0):
                weights = {b: recency[b] * self._co_weight(b, rec.id) for b in bought}
                source = max(weights, key=weights.__getitem__)
                code, title = "personal_together", self._title(source)
            else:
                code, title = "personal_similar", self._title(sim_source[rec.id])
            recs.append(Recommendation(rec.id, rec.score, "personal", code, title))
        if len(recs) < k:  # cold start for this shopper's items: fill with popular
            taken = {r.id for r in recs} | set(bought)
            recs += self.popular(k - len(recs), exclude=taken)
        return recs
