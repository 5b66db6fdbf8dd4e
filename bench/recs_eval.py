"""Recommendations on real purchases (UCI Online Retail II, 2009-12 … 2010-12) against strong baselines.

    .venv/app/bin/python -m bench.recs_eval [--data-dir ../shared/data] [--t1 2010-06-01] [--t2 2010-09-01]

Protocol (bench/recs_protocol.py): every hyper-parameter is chosen on the validation period [T1, T2), trained on
invoices before T1; then every strategy is retrained with its chosen settings on everything before T2 and
reported on the test period [T2, end), which nothing is tuned on. Targets are the items a customer bought in
the period and had not bought before (every strategy excludes past purchases).

Strategies, same run, same splits: popularity; similar items (embedding neighbours of recent purchases); bought
together (item-item co-occurrence); the strong baselines item-kNN, EASE^R, RP3beta and implicit ALS (each fitted
on customers' or on orders' purchases, whichever validates better); and the served path, ``Recommender.personal``:
each personal model x embedding-similarity weight, then recency on the best (its rows weighted by a half-life,
searched jointly with EASE's lambda), the rows divided by their length ** power (jointly with lambda again), the
scored history's half-life, the availability window (only items sold
within N days before the period, a proxy for "still in the range"), then the MMR / popularity de-bias re-rank,
all chosen by validation recall@10. Popularity, the strong baselines and the served path are then run again
with the best window, same run, so the filter's effect is reported on all of them. Reports recall@10, NDCG@10,
catalogue coverage and long-tail share, writes results/recs_eval.json and the recall vs long-tail plot
results/recs_tradeoff.png. ``--reuse-baselines results/recs_eval.json`` skips the strong baselines' search.
The baselines and the validation search live in ``bench.recs_tuning``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Any

from bench.recs_protocol import Period, period
from bench.recs_tuning import (
    FIT_HALF_LIVES,
    HISTORY_HALF_LIVES,
    OLD_SERVED,
    PLAIN,
    RECENCY_LAMBDAS,
    ROW_NORM_LAMBDAS,
    ROW_NORM_POWERS,
    SEARCH,
    WINDOWS,
    Bench,
    Lists,
    ServedGrid,
    describe,
    fmt,
    tune_models,
    tune_served,
)
from bench.retrieval_common import RESULTS, cached_embeddings, data_dir, require
from retrieval.catalog import load_catalog, preset
from retrieval.config import EncoderConfig
from retrieval.encoder import SentenceTransformerEncoder
from retrieval.recommend import RecConfig


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
        "--served-models", default="cooccurrence,ease,knn,rp3,als", help="served path: models to try"
    )
    parser.add_argument(
        "--similar-weights", default="0,0.1,0.3", help="served path: similarity weights to try"
    )
    parser.add_argument("--reranks", default="1:0,0.9:0,1:0.1,0.75:0.15", help="served path: MMR λ:de-bias α")

    def days(text: str) -> list[float | None]:
        return [None if v == "none" else float(v) for v in text.split(",")]

    def floats(text: str) -> list[float]:
        return [float(v) for v in text.split(",")]

    parser.add_argument(
        "--fit-half-lives", type=days, default=FIT_HALF_LIVES, help="served path: rows' half-lives (days)"
    )
    parser.add_argument(
        "--recency-lambdas",
        type=floats,
        default=RECENCY_LAMBDAS,
        help="served path, EASE: lambdas tried with each rows' half-life",
    )
    parser.add_argument(
        "--history-half-lives", type=days, default=HISTORY_HALF_LIVES, help="served path: history half-lives"
    )
    parser.add_argument(
        "--row-norm-powers",
        type=floats,
        default=ROW_NORM_POWERS,
        help="served path: powers of the rows' length the model's rows are divided by (0: none)",
    )
    parser.add_argument(
        "--row-norm-lambdas",
        type=floats,
        default=ROW_NORM_LAMBDAS,
        help="served path, EASE: lambdas tried with each row-norm power",
    )
    parser.add_argument("--windows", type=days, default=WINDOWS, help="availability windows (days)")
    parser.add_argument(
        "--reuse-baselines",
        metavar="JSON",
        help="take the strong baselines' settings chosen by an earlier run (its results/recs_eval.json) "
        "instead of searching them again (a family it lacks is searched)",
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
        missing = [n for n in SEARCH if n not in chosen]
        if missing:
            print(f"tuning the strong baselines it lacks ({', '.join(missing)}) on validation:", flush=True)
            chosen.update(tune_models(bench, valid, args.rows.split(","), missing))
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
        row_norm_powers=args.row_norm_powers,
        row_norm_lambdas=args.row_norm_lambdas,
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
