"""Recommendations on real purchases (UCI Online Retail II, 2009-12 … 2010-12) against strong baselines.

    .venv/app/bin/python -m bench.recs_eval [--data-dir ../shared/data] [--t1 2010-06-01] [--t2 2010-09-01]

Protocol (bench/recs_protocol.py): every hyper-parameter is chosen on the validation period [T1, T2), trained on
invoices before T1; then every strategy is retrained with its chosen settings on everything before T2 and
reported on the test period [T2, end), which nothing is tuned on. Targets are the items a customer bought in
the period and had not bought before (every strategy excludes past purchases).

Strategies, same run, same splits: popularity; similar items (embedding neighbours of recent purchases); bought
together (item-item co-occurrence); the strong baselines item-kNN, EASE^R and implicit ALS (each fitted on
customers' or on orders' purchases, whichever validates better); and the served path, ``Recommender.personal``:
each personal model x embedding-similarity weight, then recency on the best (its rows weighted by a half-life,
searched jointly with EASE's lambda; the scored history's half-life), the availability window (only items sold
within N days before the period, a proxy for "still in the range"), then the MMR / popularity de-bias re-rank,
all chosen by validation recall@10. Popularity, the strong baselines and the served path are then run again
with the best window, same run, so the filter's effect is reported on all of them. Reports recall@10, NDCG@10,
catalogue coverage and long-tail share, writes results/recs_eval.json and the recall vs long-tail plot
results/recs_tradeoff.png. ``--reuse-baselines results/recs_eval.json`` skips the strong baselines' search.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

try:
    from bench.recs_protocol import Period, evaluate, head_items, period
    from bench.retrieval_common import RESULTS, cached_embeddings, data_dir, require
except ImportError:  # run as a script: bench/ is on sys.path
    from recs_protocol import Period, evaluate, head_items, period  # type: ignore[no-redef]
    from retrieval_common import RESULTS, cached_embeddings, data_dir, require  # type: ignore[no-redef]

from retrieval.catalog import load_catalog, preset
from retrieval.config import EncoderConfig
from retrieval.encoder import SentenceTransformerEncoder
from retrieval.rec_models import interactions, make_model
from retrieval.recommend import RecConfig, Recommender

# Coordinate search on validation: each parameter in turn over its values, the others at their best so far.
SEARCH: dict[str, tuple[dict[str, Any], dict[str, tuple[Any, ...]]]] = {
    "ease": ({"lam": 250.0}, {"lam": (50.0, 250.0, 500.0, 750.0, 1000.0, 1500.0, 2500.0)}),
    "knn": ({"k": 100}, {"k": (25, 100, 400)}),
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


def embed(products: list[Any]) -> Any:
    encoder = SentenceTransformerEncoder(EncoderConfig(max_seq_length=64))
    return cached_embeddings("online_retail_titles", [p.title for p in products], encoder)


def load(args: argparse.Namespace) -> tuple[list[Any], Any]:
    import pandas as pd

    path = require(data_dir(args.data_dir) / "online_retail" / "year_2009_2010.parquet")
    fmt_, mapping = preset("online_retail")
    products = load_catalog(path, fmt_, mapping)
    ids = {p.id for p in products}
    lines = pd.read_parquet(path)
    lines = lines[
        ~lines["Invoice"].astype(str).str.startswith("C")
        & lines["Customer ID"].notna()
        & (lines["Quantity"] > 0)
        & lines["StockCode"].isin(ids)
    ]
    lines = lines.assign(
        when=pd.to_datetime(lines["InvoiceDate"]), customer=lines["Customer ID"].astype(int).astype(str)
    )
    return products, lines


def tune_models(bench: Bench, valid: Period, rows_choices: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per model family: the settings (coordinate search on customers' rows), then the rows, with the best
    validation recall@10 (NDCG@10 breaks ties)."""
    chosen: dict[str, dict[str, Any]] = {}
    for name, (start_settings, space) in SEARCH.items():
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
        return RecConfig(mmr_lambda=mmr, popularity_alpha=alpha, similar_weight=sw, fit_half_life_days=None)
    return RecConfig(
        fit_half_life_days=None,
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
    windows: Sequence[float | None] = WINDOWS
    reranks: Sequence[tuple[float, float]] = RERANKS


def tune_served(
    bench: Bench, valid: Period, chosen: dict[str, dict[str, Any]], grid: ServedGrid = ServedGrid()
) -> tuple[RecConfig, list[Any], dict[str, float], float | None]:
    """Stage 1: personal model x similar weight (no recency, no window, no re-rank); recency: the model's rows
    weighted by a half-life (EASE: jointly with its lambda, which the weights rescale), then the history's
    half-life, then the availability window; stage 2: the re-ranks on the best. Returns the chosen config, the
    trials, its validation metrics and the best window (the one the "with availability filter" tables use)."""
    trials: list[Any] = []
    fitted: dict[str, Recommender] = {}
    best: tuple[tuple[float, float], RecConfig, dict[str, float]] | None = None

    def trial(stage: str, config: RecConfig) -> dict[str, float]:
        nonlocal best
        fit = ("personal_model", "model_settings", "model_rows", "fit_half_life_days", "available_days")
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
    if config.history_half_life_days is not None:
        parts.append(f"history half-life {config.history_half_life_days:g}d")
    if config.available_days is not None:
        parts.append(f"sold within {config.available_days:g}d")
    if (config.mmr_lambda, config.popularity_alpha) != (1.0, 0.0):
        parts.append(f"MMR {config.mmr_lambda} de-bias {config.popularity_alpha}")
    return ", ".join(parts)


SERVED_NOW = "served now (chosen on validation)"


def windowed(name: str, window: float) -> str:
    return f"{name} | sold within {window:g}d"


def run_strategies(
    bench: Bench,
    p: Period,
    chosen: dict[str, dict[str, Any]],
    served: RecConfig,
    window: float | None,
    known: dict[str, dict[str, float]] | None = None,
) -> dict[str, dict[str, float]]:
    """Every strategy on ``p`` without the availability filter (the served path too), then, with ``window``,
    popularity, the strong baselines and the served path again recommending only items sold within ``window``
    days before ``p`` (names ending ``| sold within …``). ``known``: results already measured on ``p``."""
    plain = bench.recommender(p, PLAIN)
    k = bench.k
    lists: dict[str, Callable[[], Lists]] = {
        "popularity": lambda: bench.per_customer(p, lambda h: [r.id for r in plain.popular(k, exclude=h)]),
        "similar items": lambda: bench.per_customer(p, lambda h: bench.similar_items(plain, h)),
        "bought together": lambda: bench.per_customer(
            p, lambda h: [r.id for r in plain.together(list(dict.fromkeys(h)), k, exclude=h)]
        ),
    }
    for name in SEARCH:
        lists[f"{name} (strong baseline)"] = lambda name=name: bench.model_lists(  # type: ignore[misc]
            p, name, chosen[name]["settings"], chosen[name]["rows"]
        )
    old = bench.recommender(p, OLD_SERVED)
    lists["served before (co-occurrence + MMR/de-bias)"] = lambda: bench.personal(p, old)
    lists[SERVED_NOW] = lambda: bench.personal(p, bench.recommender(p, replace(served, available_days=None)))
    if window is not None:
        shop = bench.recommender(p, replace(PLAIN, available_days=window))
        lists[windowed("popularity", window)] = lambda: bench.per_customer(
            p, lambda h: [r.id for r in shop.popular(k, exclude=h)]
        )
        for name in SEARCH:
            lists[windowed(f"{name} (strong baseline)", window)] = lambda name=name: bench.model_lists(  # type: ignore[misc]
                p, name, chosen[name]["settings"], chosen[name]["rows"], window
            )
        lists[windowed(SERVED_NOW, window)] = lambda: bench.personal(
            p, bench.recommender(p, replace(served, available_days=window))
        )
    results: dict[str, dict[str, float]] = {}
    for name, make in lists.items():
        start = time.perf_counter()
        results[name] = (known or {}).get(name) or bench.score(p, make())
        base = results[windowed("popularity", window) if " | " in name and window else "popularity"]["recall"]
        print(
            f"  [{p.name}] {name:60s} {fmt(results[name], base)}  ({time.perf_counter() - start:.1f}s)",
            flush=True,
        )
    return results


def plot(valid: dict[str, dict[str, float]], test: dict[str, dict[str, float]], path: Any) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    for n, name in enumerate(s for s in test if " | " not in s):
        colour = f"C{n % 10}"
        ax.scatter(test[name]["long_tail"], test[name]["recall"], color=colour, label=name)
        ax.scatter(valid[name]["long_tail"], valid[name]["recall"], color=colour, facecolors="none")
    ax.set_xlabel("long-tail share (recommended slots outside the top-10 % items)")
    ax.set_ylabel("recall@10")
    ax.set_title("Online Retail II: test period (filled) and validation period (hollow)")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir")
    parser.add_argument("--t1", default="2010-06-01", help="validation period start (train before it)")
    parser.add_argument("--t2", default="2010-09-01", help="test period start (validation ends here)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--rows", default="customers,orders", help="what the models may be fitted on")
    parser.add_argument(
        "--served-models", default="cooccurrence,ease,knn,als", help="served path: models to try"
    )
    parser.add_argument(
        "--similar-weights", default="0,0.1,0.3", help="served path: similarity weights to try"
    )
    parser.add_argument("--reranks", default="1:0,0.9:0,1:0.1,0.75:0.15", help="served path: MMR λ:de-bias α")

    def days(text: str) -> list[float | None]:
        return [None if v == "none" else float(v) for v in text.split(",")]

    parser.add_argument(
        "--fit-half-lives", type=days, default=FIT_HALF_LIVES, help="served path: rows' half-lives (days)"
    )
    parser.add_argument(
        "--recency-lambdas",
        type=lambda t: [float(v) for v in t.split(",")],
        default=RECENCY_LAMBDAS,
        help="served path, EASE: lambdas tried with each rows' half-life",
    )
    parser.add_argument(
        "--history-half-lives", type=days, default=HISTORY_HALF_LIVES, help="served path: history half-lives"
    )
    parser.add_argument("--windows", type=days, default=WINDOWS, help="availability windows (days)")
    parser.add_argument(
        "--reuse-baselines",
        metavar="JSON",
        help="take the strong baselines' settings chosen by an earlier run (its results/recs_eval.json) "
        "instead of searching them again",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    t0 = time.perf_counter()
    products, lines = load(args)
    valid = period(lines, args.t1, args.t2, name="valid")
    test = period(lines, args.t2, None, name="test")
    bench = Bench(products, None, args.k)  # the embeddings are loaded after tuning the baselines (no need)
    for p in (valid, test):
        print(
            f"{p.name}: {p.start}..{p.end or lines['when'].max().date()}, trained on {len(p.baskets)} invoices "
            f"of {len(p.histories)} customers before {p.start}; {len(p.customers)} customers scored"
        )
    print(f"catalog {len(bench.ids)} products; setup {time.perf_counter() - t0:.1f}s", flush=True)

    if args.reuse_baselines:
        chosen = json.loads(open(args.reuse_baselines).read())["chosen"]
        print(f"strong baselines' settings reused from {args.reuse_baselines} (chosen on validation there)")
    else:
        print("tuning the strong baselines on validation:", flush=True)
        chosen = tune_models(bench, valid, args.rows.split(","))
    bench.vectors = embed(products)
    print("tuning the served path on validation:", flush=True)
    grid = ServedGrid(
        models=args.served_models.split(","),
        similar_weights=[float(w) for w in args.similar_weights.split(",")],
        fit_half_lives=args.fit_half_lives,
        recency_lambdas=args.recency_lambdas,
        history_half_lives=args.history_half_lives,
        windows=args.windows,
        reranks=[(float(m), float(a)) for m, a in (pair.split(":") for pair in args.reranks.split(","))],
    )
    served, trials, served_valid, window = tune_served(bench, valid, chosen, grid)
    print(
        f"chosen: {json.dumps({n: {'rows': c['rows'], **c['settings']} for n, c in chosen.items()})}; "
        f"served: {describe(served)}; best availability window on validation: {window}",
        flush=True,
    )
    print("validation (tuned here):", flush=True)
    known = {f"{n} (strong baseline)": c["valid"] for n, c in chosen.items()}
    if served.available_days is None:
        known[SERVED_NOW] = served_valid
    valid_results = run_strategies(bench, valid, chosen, served, window, known)
    print("test (retrained before T2 with the chosen settings; never tuned on):", flush=True)
    test_results = run_strategies(bench, test, chosen, served, window)

    def name(strategy: str) -> str:  # the comparison the served config makes: with its window, or none
        return strategy if served.available_days is None else windowed(strategy, served.available_days)

    base = test_results[name("popularity")]["recall"]
    now = test_results[name(SERVED_NOW)]["recall"]
    strong = max(test_results[name(f"{n} (strong baseline)")]["recall"] for n in SEARCH)
    print(
        f"test: served personalised recall@10 {now:.4f} = {now / base:.2f}x popularity (target >= 3x); "
        f"best strong baseline {strong:.4f} (target: served >= it: {'met' if now >= strong else 'NOT met'})"
    )
    RESULTS.mkdir(exist_ok=True)
    plot(valid_results, test_results, RESULTS / "recs_tradeoff.png")
    report = {
        "t1": args.t1,
        "t2": args.t2,
        "customers": {"valid": len(valid.customers), "test": len(test.customers)},
        "chosen": chosen,
        "served": asdict(served),
        "window": window,
        "trials": trials,
        "valid": valid_results,
        "test": test_results,
    }
    (RESULTS / "recs_eval.json").write_text(json.dumps(report, indent=1, default=str))
    print(f"wrote {RESULTS / 'recs_eval.json'} and {RESULTS / 'recs_tradeoff.png'}")


if __name__ == "__main__":
    main()
