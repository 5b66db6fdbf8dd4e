"""Recommendations from plain data: item embeddings, categories and co-purchase baskets.

Strategies (each recommendation carries a reason: a code of ``REASONS`` and the title it names):
  * ``similar``      embedding neighbours in the same category (other categories only to fill up)
  * ``together``     item-item co-occurrence from order baskets, normalised (cosine on basket counts)
  * ``personal``     for a verified shopper: an item model (``RecConfig.personal_model``: EASE^R, item-kNN,
                     RP3beta or implicit ALS from :mod:`retrieval.rec_models`, or the plain co-occurrence above) scoring
                     what they bought, plus ``similar_weight`` x embedding similarity to it, minus it. Recency,
                     when purchase ages are given: the model's rows weight each purchase by
                     ``0.5 ** (age / fit_half_life_days)``, and the shopper's history by
                     ``0.5 ** (age / history_half_life_days)``; ``available_days`` recommends only items sold
                     within that many days (a proxy for "still in the range"); ``row_norm_power``
                     divides each of the model's rows by its length ** power
  * ``popular``      the cold-start fallback
Then an optional diversity / long-tail re-rank: MMR on the embeddings and a popularity penalty
``score / pop**alpha``. The defaults of ``RecConfig`` are the settings ``bench.recs_eval`` chose on its
validation period (docs/benchmarks.md), not the test period.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from retrieval.copurchase import CoPurchase
from retrieval.errors import ConfigError, UnknownItemError
from retrieval.rec_models import (
    MODELS,
    ItemModel,
    interactions,
    make_model,
    normalise_rows,
    recency_weights,
)

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


PERSONAL_MODELS = ("cooccurrence", *MODELS)
MODEL_ROWS = ("customers", "orders")


@dataclass(frozen=True)
class RecConfig:
    # The defaults are what bench.recs_eval chose by validation recall@10 (docs/benchmarks.md, issue 16); a
    # challenger replaces them only when its validation gain's paired-bootstrap 95 % interval excludes zero (the
    # row normalisation's +0.0016 did not: [-0.0017, +0.0045]), so EASE lambda 250 on 90-day rows serves.
    mmr_lambda: float = 1.0  # 1.0 = relevance only
    popularity_alpha: float = 0.0  # 0 = no de-biasing
    candidates: int = 100
    similar_weight: float = 0.0  # personal: weight of embedding similarity next to the model's score
    similar_history: int = 20  # personal: similarity to this many most recent purchases (bounds the cost)
    min_cooccurrence: int = 1
    personal_model: str = "ease"  # one of PERSONAL_MODELS
    # the personal model's constructor settings (retrieval.rec_models): EASE's lambda (smaller than without
    # weights: the recency weights below shrink the Gram matrix, so a smaller lambda regularises as much)
    model_settings: dict[str, Any] = field(default_factory=lambda: {"lam": 250.0})
    model_rows: str = "customers"  # what the model is fitted on: customers' purchases or single orders
    # recency (used when the purchases' ages are given, in days): the half-life of a purchase's weight in the
    # model's rows (the Gram matrix counts recent co-purchases more) and in the scored history; None: weight 1
    fit_half_life_days: float | None = 90.0
    history_half_life_days: float | None = None
    available_days: float | None = None  # only items sold within this many days (None: every item in stock)
    # the model's rows divided by (their number of items) ** this power (0: unchanged): a wholesaler with
    # hundreds of items then weighs less per co-purchase than a shopper with five (0.25 with lambda 50 was +0.0016
    # on validation, within noise; off by default)
    row_norm_power: float = 0.0

    def __post_init__(self) -> None:
        if self.personal_model not in PERSONAL_MODELS:
            raise ConfigError("personal_model", self.personal_model, PERSONAL_MODELS)
        if self.model_rows not in MODEL_ROWS:
            raise ConfigError("model_rows", self.model_rows, MODEL_ROWS)
        if not 0.0 <= self.mmr_lambda <= 1.0:
            raise ConfigError("mmr_lambda", self.mmr_lambda, "a number in [0, 1]")
        if self.similar_history < 1:
            raise ConfigError("similar_history", self.similar_history, "an integer >= 1")
        if self.popularity_alpha < 0 or self.similar_weight < 0:
            bad = "popularity_alpha" if self.popularity_alpha < 0 else "similar_weight"
            raise ConfigError(bad, getattr(self, bad), "a number >= 0")
        for name in ("fit_half_life_days", "history_half_life_days", "available_days"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not (isinstance(value, int | float) and value > 0)
            ):
                raise ConfigError(name, value, "a number of days > 0, or None")
        if isinstance(self.row_norm_power, bool) or not (
            isinstance(self.row_norm_power, int | float) and self.row_norm_power >= 0
        ):
            raise ConfigError("row_norm_power", self.row_norm_power, "a number >= 0")
        if self.personal_model != "cooccurrence":
            make_model(self.personal_model, self.model_settings)  # settings are checked now, not when serving


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
        histories: Iterable[Iterable[str]] | None = None,
        history_ages: Iterable[Iterable[float]] | None = None,
        basket_ages: Iterable[float] | None = None,
    ) -> None:
        """``baskets``: the item ids of each order; ``histories``: each customer's purchased item ids (the
        personal model's rows when ``config.model_rows`` is "customers"; without them it fits on the baskets).
        ``history_ages`` (per customer, per purchase in ``histories``) and ``basket_ages`` (per basket): how many
        days ago it was bought — the recency weights of the model's rows and the ``available_days`` window;
        without them every purchase weighs 1 and no window applies."""
        import numpy as np

        orders: list[list[str]] = [list(b) for b in baskets]
        ages = [float(a) for a in basket_ages] if basket_ages is not None else None
        if ages is not None and len(ages) != len(orders):
            raise ConfigError("basket_ages", len(ages), f"one age per basket ({len(orders)})")
        self._model_rows = orders
        self._row_ages: list[list[float]] | None = (
            None if ages is None else [[a] * len(b) for b, a in zip(orders, ages, strict=True)]
        )
        if histories is not None and (config or RecConfig()).model_rows == "customers":
            self._model_rows = [list(h) for h in histories]
            self._row_ages = None if history_ages is None else [[float(a) for a in h] for h in history_ages]
        if self._row_ages is not None and [len(r) for r in self._row_ages] != [
            len(r) for r in self._model_rows
        ]:
            raise ConfigError("history_ages", "misaligned", "one age per purchase of each history")
        self.ids = list(ids)
        self.position = {item_id: row for row, item_id in enumerate(self.ids)}
        self.vectors = np.ascontiguousarray(vectors, dtype="float32")
        self.categories = dict(categories)
        self.titles = dict(titles or {})
        self.config = config or RecConfig()
        self.co = CoPurchase(orders)
        self.available = set(available) if available is not None else set(self.ids)
        if self.config.available_days is not None and ages is not None:  # the range: items sold lately
            recent = {
                i for b, a in zip(orders, ages, strict=True) if a <= self.config.available_days for i in b
            }
            self.available &= recent
        pop = self.co.popularity()
        self._pop = np.asarray([pop.get(i, 0) for i in self.ids], dtype="float32")

    # ------------------------------------------------------------------ helpers
    @cached_property
    def _model(self) -> tuple[ItemModel, dict[str, int], list[str]] | None:
        """The personal model fitted on the purchases of catalog items (None: co-occurrence, or no purchases)."""
        if self.config.personal_model == "cooccurrence":
            return None
        weights = None
        if self._row_ages is not None:
            weights = [
                recency_weights(
                    [a for i, a in zip(row, ages, strict=True) if i in self.position],
                    self.config.fit_half_life_days,
                )
                for row, ages in zip(self._model_rows, self._row_ages, strict=True)
            ]
        rows = [[i for i in row if i in self.position] for row in self._model_rows]
        matrix, columns = interactions(rows, weights=weights)
        if not columns:
            return None
        matrix = normalise_rows(matrix, self.config.row_norm_power)
        model = make_model(self.config.personal_model, self.config.model_settings).fit(matrix)
        logger.info(
            "personal model %s fitted on %s rows x %s items", self.config.personal_model, *matrix.shape
        )
        return model, columns, list(columns)

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
        self,
        scored: dict[str, tuple[float, str, str, str]],
        k: int,
        exclude: set[str],
        popularity_alpha: float | None = None,
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
        alpha = self.config.popularity_alpha if popularity_alpha is None else popularity_alpha
        adjusted = {i: s[0] / (1.0 + float(self._pop[self.position[i]])) ** alpha for i, s in cands}
        # ties go to catalogue order, so the same history always gets the same list
        pool = sorted(adjusted, key=lambda i: (-adjusted[i], self.position[i]))[: self.config.candidates]
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
        """The most bought items; catalogue order fills up when too few were ever bought (a new shop)."""
        pop = self.co.popularity()
        scored = {i: (float(n), "popular", "popular", "") for i, n in pop.items()}
        # popularity is the signal here: no de-biasing, keep MMR for some variety
        recs = self._finish(scored, k, set(exclude), popularity_alpha=0.0)
        if len(recs) < k:
            taken = {*exclude, *(r.id for r in recs)}
            fill = [i for i in self.ids if i not in taken and i in self.available][: k - len(recs)]
            recs += [Recommendation(i, 0.0, "popular", "catalogue") for i in fill]
        return recs

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

    def personal(
        self, history: Sequence[str], k: int = 10, ages: Sequence[float] | None = None
    ) -> list[Recommendation]:
        """From a shopper's purchases (most recent last; ``ages``: how many days ago each was bought, which
        weights them by ``config.history_half_life_days``); excludes what they already bought."""
        if ages is not None and len(ages) != len(history):
            raise ConfigError("ages", len(ages), f"one age per purchase in the history ({len(history)})")
        bought = [i for i in dict.fromkeys(history) if i in self.position]
        if not bought:
            return self.popular(k)
        recency = {item: 0.5 + 0.5 * (n + 1) / len(bought) for n, item in enumerate(bought)}
        weight = dict.fromkeys(bought, 1.0)
        if ages is not None and self.config.history_half_life_days is not None:
            weight = dict.fromkeys(bought, 0.0)  # an item bought several times: its latest purchase counts
            for item, w in zip(
                history, recency_weights(ages, self.config.history_half_life_days), strict=True
            ):
                if item in weight:
                    weight[item] = max(weight[item], w)
        fitted = self._model
        if fitted is None:
            model_scores = self.co.scores(recency)
        else:
            model_scores = self._model_scores(fitted, weight)
        sim_scores, sim_source = self._similar_to_history(bought, recency)
        total = {i: model_scores.get(i, 0.0) + sim_scores.get(i, 0.0) for i in {*model_scores, *sim_scores}}
        picked = self._finish({i: (v, "personal", "", "") for i, v in total.items()}, k, set(bought))
        recs: list[Recommendation] = []
        for rec in picked:
            if model_scores.get(rec.id, 0.0) >= sim_scores.get(rec.id, 0.0):
                source = self._source(fitted, bought, recency, rec.id)
                code, title = "personal_together", self._title(source)
            else:
                code, title = "personal_similar", self._title(sim_source[rec.id])
            recs.append(Recommendation(rec.id, rec.score, "personal", code, title))
        if len(recs) < k:  # cold start for this shopper's items: fill with popular
            taken = {r.id for r in recs} | set(bought)
            recs += self.popular(k - len(recs), exclude=taken)
        return recs

    def _model_scores(
        self, fitted: tuple[ItemModel, dict[str, int], list[str]], bought: Mapping[str, float]
    ) -> dict[str, float]:
        """The model's best ``candidates`` positive scores for the history ``bought`` (item -> its weight),
        scaled to a maximum of 1, bought items left out."""
        import numpy as np

        model, columns, items = fitted
        cols = [columns[i] for i in bought if i in columns]
        if not cols:
            return {}
        row = np.zeros(len(items), dtype="float32")
        row[cols] = [bought[i] for i in bought if i in columns]
        scores = np.asarray(model.score(row), dtype="float32")
        scores[cols] = -np.inf
        n = min(self.config.candidates, len(items))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[scores[top] > 0]
        if not len(top):
            return {}
        best = float(scores[top].max())
        return {items[j]: float(scores[j]) / best for j in top}

    def _similar_to_history(
        self, bought: Sequence[str], recency: Mapping[str, float]
    ) -> tuple[dict[str, float], dict[str, str]]:
        import numpy as np

        sim_scores: dict[str, float] = {}
        sim_source: dict[str, str] = {}
        n = self.config.candidates * 2
        if self.config.similar_weight > 0:
            recent = list(bought)[-self.config.similar_history :]
            profile = self.vectors[[self.position[i] for i in recent]]
            sims = (self.vectors @ profile.T) * np.asarray([recency[i] for i in recent], dtype="float32")
            best = sims.argmax(axis=1)
            best_sim = sims.max(axis=1)
            for j in np.argpartition(-best_sim, min(n, len(best_sim) - 1))[:n]:
                sim_scores[self.ids[j]] = self.config.similar_weight * float(best_sim[j])
                sim_source[self.ids[j]] = recent[int(best[j])]
        return sim_scores, sim_source

    def _source(
        self,
        fitted: tuple[ItemModel, dict[str, int], list[str]] | None,
        bought: Sequence[str],
        recency: Mapping[str, float],
        item_id: str,
    ) -> str:
        """The purchase that contributes most to ``item_id`` (named in "often bought with your …")."""
        if fitted is not None:
            model, columns, items = fitted
            cols = [columns[i] for i in bought if i in columns]
            if cols and item_id in columns:
                return items[model.explain(cols, columns[item_id])]
        weights = {b: recency[b] * self._co_weight(b, item_id) for b in bought}
        return max(weights, key=weights.__getitem__)
