"""The strong baselines and the validation search of ``bench.recs_eval`` (split out of it to keep both small).

``Bench`` turns a period and a strategy into top-k lists and scores them; ``tune_models`` searches each strong
baseline's settings (coordinate search, validation recall@10); ``tune_served`` searches the served path
(``Recommender.personal``) stage by stage on validation. Nothing here looks at the test period.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

try:
    from bench.recs_protocol import Period, evaluate, head_items
except ImportError:  # run as a script: bench/ is on sys.path
    from recs_protocol import Period, evaluate, head_items  # type: ignore[no-redef]

from retrieval.rec_models import interactions, make_model
from retrieval.recommend import RecConfig, Recommender

# Coordinate search on validation: each parameter in turn over its values, the others at their best so far.
SEARCH: dict[str, tuple[dict[str, Any], dict[str, tuple[Any, ...]]]] = {
    "ease": ({"lam": 250.0}, {"lam": (50.0, 250.0, 500.0, 750.0, 1000.0, 1500.0, 2500.0)}),
    "knn": ({"k": 100}, {"k": (25, 100, 400)}),
    "rp3": (
        {"alpha": 0.75, "beta": 0.5, "k": None},
        {"alpha": (0.5, 0.75, 1.0), "beta": (0.2, 0.35, 0.5, 0.6), "k": (None, 100)},
    ),
    "als": (
        {"factors": 64, "regularization": 0.1, "alpha": 10.0, "iterations": 15},
        {
            "factors": (32, 64, 128),
            "regularization": (0.01, 0.1, 1.0),
            "alpha": (1.0, 10.0, 40.0),
            "iterations": (10, 15, 25),
        },
    ),
}
SIMILAR_WEIGHTS = (0.0, 0.1, 0.3)
# recency (issue 16): the model's rows weighted by 0.5 ** (age / half-life), EASE's lambda searched with it (the
# weights shrink the Gram matrix, so a smaller lambda regularises as much); the scored history's half-life; the
# availability window (only items sold within that many days before the period)
FIT_HALF_LIVES: tuple[float | None, ...] = (None, 30.0, 60.0, 90.0, 180.0, 365.0)
RECENCY_LAMBDAS = (100.0, 175.0, 250.0, 500.0, 1000.0)
HISTORY_HALF_LIVES: tuple[float | None, ...] = (None, 90.0, 180.0, 365.0)
WINDOWS: tuple[float | None, ...] = (None, 28.0, 56.0, 91.0)
# the model's rows divided by their length ** power, EASE's lambda searched with it (the rows shrink again)
ROW_NORM_POWERS = (0.0, 0.25, 0.5)
ROW_NORM_LAMBDAS = (5.0, 10.0, 25.0, 50.0, 100.0)
RERANKS = ((1.0, 0.0), (0.9, 0.0), (1.0, 0.1), (0.75, 0.15))  # (mmr λ, pop α)
# what served before issue 16: co-occurrence + 0.3 x embedding similarity, MMR 0.75, popularity de-bias 0.15
OLD_SERVED = RecConfig(
    mmr_lambda=0.75, popularity_alpha=0.15, similar_weight=0.3, personal_model="cooccurrence"
)
PLAIN = RecConfig(mmr_lambda=1.0, popularity_alpha=0.0, fit_half_life_days=None)

Lists = list[list[str]]


class Bench:
    def __init__(self, products: list[Any], vectors: Any, k: int) -> None:
        self.ids = [p.id for p in products]
        self.cats = {p.id: p.category for p in products}
        self.titles = {p.id: p.title for p in products}
        self.vectors = vectors
        self.k = k

    def recommender(self, p: Period, config: RecConfig) -> Recommender:
        customers = sorted(p.histories)
        return Recommender(
            self.ids,
            self.vectors,
            self.cats,
            p.baskets,
            config,
            titles=self.titles,
            histories=[p.histories[c] for c in customers],
            history_ages=[p.history_ages[c] for c in customers],
            basket_ages=p.basket_ages,
        )

    def score(self, p: Period, ranked: Lists) -> dict[str, float]:
        return evaluate(ranked, p.relevant, len(self.ids), head_items(p.popularity), self.k)

    def model_lists(
        self, p: Period, name: str, settings: dict[str, Any], rows: str, window: float | None = None
    ) -> Lists:
        """A strong baseline's top-k lists (``window``: only items sold within that many days before the
        period, the availability filter ``RecConfig.available_days`` applies to the served path)."""
        import numpy as np

        train = [p.histories[c] for c in sorted(p.histories)] if rows == "customers" else p.baskets
        matrix, columns = interactions(train)
        model = make_model(name, settings).fit(matrix)
        items = list(columns)
        gone = np.zeros(len(items), dtype=bool)
        if window is not None:
            recent = {i for b, a in zip(p.baskets, p.basket_ages, strict=True) if a <= window for i in b}
            gone = np.asarray([i not in recent for i in items], dtype=bool)
        out: Lists = []
        for start in range(0, len(p.customers), 512):
            chunk = [p.histories[c] for c in p.customers[start : start + 512]]
            history = interactions(chunk, columns)[0].toarray()
            scores = np.asarray(model.score(history), dtype="float32")
            scores[history > 0] = -np.inf
            scores[:, gone] = -np.inf
            top = np.argpartition(-scores, self.k, axis=1)[:, : self.k]
            order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
            out += [[items[j] for j in row] for row in np.take_along_axis(top, order, axis=1)]
        return out

    def personal(self, p: Period, rec: Recommender) -> Lists:
        return [[r.id for r in rec.personal(p.histories[c], self.k, p.history_ages[c])] for c in p.customers]

    def per_customer(self, p: Period, strategy: Callable[[list[str]], list[str]]) -> Lists:
        return [strategy(p.histories[c]) for c in p.customers]

    def similar_items(self, rec: Recommender, hist: list[str]) -> list[str]:
        recent = list(dict.fromkeys(reversed(hist)))[:5]
        seen, out = set(hist), {}  # type: set[str], dict[str, float]
        for n, item in enumerate(recent):
            for r in rec.similar(item, k=self.k, exclude=seen):
                out[r.id] = max(out.get(r.id, 0.0), r.score / (1 + 0.1 * n))
        return sorted(out, key=lambda i: -out[i])[: self.k]


def fmt(metrics: dict[str, float], base: float | None = None) -> str:
    ratio = f"  {metrics['recall'] / base:5.2f}x pop" if base else ""
    return (
        f"recall@10 {metrics['recall']:.4f}  NDCG@10 {metrics['ndcg']:.4f}  "
        f"coverage {metrics['coverage']:.3f}  long tail {metrics['long_tail']:.3f}{ratio}"
    )


def tune_models(
    bench: Bench, valid: Period, rows_choices: Sequence[str], names: Sequence[str] = tuple(SEARCH)
) -> dict[str, dict[str, Any]]:
    """Per model family of ``names``: the settings (coordinate search on customers' rows), then the rows, with
    the best validation recall@10 (NDCG@10 breaks ties)."""
    chosen: dict[str, dict[str, Any]] = {}
    for name in names:
        start_settings, space = SEARCH[name]
        seen: dict[tuple[str, str], dict[str, float]] = {}

        def trial(
            settings: dict[str, Any], rows: str, name: str = name, seen: dict = seen
        ) -> tuple[float, float]:
            key = (rows, json.dumps(settings, sort_keys=True))
            if key not in seen:
                start = time.perf_counter()
                seen[key] = bench.score(valid, bench.model_lists(valid, name, settings, rows))
                print(
                    f"  [valid] {name:4s} {rows:9s} {settings}  {fmt(seen[key])}  "
                    f"({time.perf_counter() - start:.1f}s)",
                    flush=True,
                )
            return seen[key]["recall"], seen[key]["ndcg"]

        best, rows = dict(start_settings), rows_choices[0]
        for param, values in space.items():
            best[param] = max(values, key=lambda v: trial({**best, param: v}, rows))
        rows = max(rows_choices, key=lambda r: trial(best, r))
        metrics = seen[(rows, json.dumps(best, sort_keys=True))]
        chosen[name] = {"rows": rows, "settings": best, "valid": metrics}
    return chosen


def served_config(
    model: str, chosen: dict[str, dict[str, Any]], sw: float, mmr: float, alpha: float
) -> RecConfig:
    if model == "cooccurrence":
        return RecConfig(
            mmr_lambda=mmr,
            popularity_alpha=alpha,
            similar_weight=sw,
            fit_half_life_days=None,
            row_norm_power=0.0,
        )
    return RecConfig(
        fit_half_life_days=None,
        row_norm_power=0.0,
        mmr_lambda=mmr,
        popularity_alpha=alpha,
        similar_weight=sw,
        personal_model=model,
        model_settings=chosen[model]["settings"],
        model_rows=chosen[model]["rows"],
    )


@dataclass(frozen=True)
class ServedGrid:
    """The served path's validation grid (``bench.recs_eval --help`` narrows it)."""

    models: Sequence[str] = ("cooccurrence", *SEARCH)
    similar_weights: Sequence[float] = SIMILAR_WEIGHTS
    fit_half_lives: Sequence[float | None] = FIT_HALF_LIVES
    recency_lambdas: Sequence[float] = RECENCY_LAMBDAS
    history_half_lives: Sequence[float | None] = HISTORY_HALF_LIVES
    row_norm_powers: Sequence[float] = ROW_NORM_POWERS
    row_norm_lambdas: Sequence[float] = ROW_NORM_LAMBDAS
    windows: Sequence[float | None] = WINDOWS
    reranks: Sequence[tuple[float, float]] = RERANKS


def tune_served(
    bench: Bench, valid: Period, chosen: dict[str, dict[str, Any]], grid: ServedGrid = ServedGrid()
) -> tuple[RecConfig, list[Any], dict[str, float], float | None]:
    """Stage 1: personal model x similar weight (no recency, no window, no re-rank); recency: the model's rows
    weighted by a half-life (EASE: jointly with its lambda, which the weights rescale); the rows divided by
    their length ** power (EASE: jointly with lambda again), then the history's half-life, then the availability window; stage 2: the re-ranks on the best. Returns the chosen config, the
    trials, its validation metrics and the best window (the one the "with availability filter" tables use)."""
    trials: list[Any] = []
    fitted: dict[str, Recommender] = {}
    best: tuple[tuple[float, float], RecConfig, dict[str, float]] | None = None

    def trial(stage: str, config: RecConfig) -> dict[str, float]:
        nonlocal best
        fit = (
            "personal_model",
            "model_settings",
            "model_rows",
            "fit_half_life_days",
            "row_norm_power",
            "available_days",
        )
        key = json.dumps([getattr(config, f) for f in fit], sort_keys=True)
        if key not in fitted:  # the fit depends on these; the rest of the config only on scoring
            fitted.clear()  # one fitted model at a time (a dense items x items matrix each)
            fitted[key] = bench.recommender(valid, config)
        rec = fitted[key]
        rec.config = config
        start = time.perf_counter()
        metrics = bench.score(valid, bench.personal(valid, rec))
        print(
            f"  [valid] {stage:8s} {describe(config)}  {fmt(metrics)}  ({time.perf_counter() - start:.1f}s)",
            flush=True,
        )
        trials.append((stage, describe(config), asdict(config), metrics))
        if best is None or (metrics["recall"], metrics["ndcg"]) > best[0]:
            best = ((metrics["recall"], metrics["ndcg"]), config, metrics)
        return metrics

    for model in grid.models:
        for sw in grid.similar_weights:
            trial("stage1", served_config(model, chosen, sw, 1.0, 0.0))
    assert best is not None
    stage1 = best[1]
    for half_life in grid.fit_half_lives:
        if half_life is None:
            continue  # stage 1 measured it
        lambdas = grid.recency_lambdas if stage1.personal_model == "ease" else [None]
        for lam in lambdas:
            settings = stage1.model_settings if lam is None else {**stage1.model_settings, "lam": lam}
            trial("recency", replace(stage1, fit_half_life_days=half_life, model_settings=settings))
    recency = best[1]
    for power in grid.row_norm_powers:
        if power == 0:
            continue  # measured above
        lambdas = grid.row_norm_lambdas if recency.personal_model == "ease" else [None]
        for lam in lambdas:
            settings = recency.model_settings if lam is None else {**recency.model_settings, "lam": lam}
            trial("row-norm", replace(recency, row_norm_power=power, model_settings=settings))
    for half_life in grid.history_half_lives:
        if half_life is not None:
            trial("history", replace(best[1], history_half_life_days=half_life))
    windowed: dict[float, float] = {}
    for days in grid.windows:
        if days is not None:
            windowed[days] = trial("window", replace(best[1], available_days=days))["recall"]
    window = max(windowed, key=windowed.__getitem__) if windowed else None
    before_rerank = best[1]
    for mmr, alpha in grid.reranks:
        if (mmr, alpha) != (1.0, 0.0):  # no re-rank: measured above
            trial("re-rank", replace(before_rerank, mmr_lambda=mmr, popularity_alpha=alpha))
    return best[1], trials, best[2], window


def describe(config: RecConfig) -> str:
    model = config.personal_model
    settings = (
        " ".join(f"{k} {v}" for k, v in config.model_settings.items()) if model != "cooccurrence" else ""
    )
    parts = [f"{model} {settings} {config.model_rows}".strip() if settings else model]
    if config.similar_weight:
        parts.append(f"similarity {config.similar_weight}")
    if config.fit_half_life_days is not None and model != "cooccurrence":
        parts.append(f"rows half-life {config.fit_half_life_days:g}d")
    if config.row_norm_power and model != "cooccurrence":
        parts.append(f"rows / length^{config.row_norm_power:g}")
    if config.history_half_life_days is not None:
        parts.append(f"history half-life {config.history_half_life_days:g}d")
    if config.available_days is not None:
        parts.append(f"sold within {config.available_days:g}d")
    if (config.mmr_lambda, config.popularity_alpha) != (1.0, 0.0):
        parts.append(f"MMR {config.mmr_lambda} de-bias {config.popularity_alpha}")
    return ", ".join(parts)
