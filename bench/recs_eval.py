"""Recommendations on real purchases (UCI Online Retail II, 2009-12 … 2010-12) against strong baselines.

    .venv/app/bin/python -m bench.recs_eval [--data-dir ../shared/data] [--t1 2010-06-01] [--t2 2010-09-01]

Protocol (bench/recs_protocol.py): every hyper-parameter is chosen on the validation period [T1, T2), trained on
invoices before T1; then every strategy is retrained with its chosen settings on everything before T2 and
reported on the test period [T2, end), which nothing is tuned on. Targets are the items a customer bought in
the period and had not bought before (every strategy excludes past purchases).

Strategies, same run, same splits: popularity; similar items (embedding neighbours of recent purchases); bought
together (item-item co-occurrence); the strong baselines item-kNN, EASE^R and implicit ALS (each fitted on
customers' or on orders' purchases, whichever validates better); and the served path, ``Recommender.personal``:
each personal model x embedding-similarity weight, then the MMR / popularity de-bias re-rank on the best, chosen
by validation recall@10. Reports recall@10, NDCG@10, catalogue coverage and long-tail share, writes
results/recs_eval.json and the recall vs long-tail plot results/recs_tradeoff.png.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
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
    "ease": ({"lam": 250.0}, {"lam": (50.0, 250.0, 1000.0, 2500.0)}),
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
RERANKS = ((1.0, 0.0), (0.9, 0.0), (1.0, 0.1), (0.75, 0.15))  # (mmr λ, pop α)
# what served before issue 16: co-occurrence + 0.3 x embedding similarity, MMR 0.75, popularity de-bias 0.15
OLD_SERVED = RecConfig(
    mmr_lambda=0.75, popularity_alpha=0.15, similar_weight=0.3, personal_model="cooccurrence"
)
PLAIN = RecConfig(mmr_lambda=1.0, popularity_alpha=0.0)

Lists = list[list[str]]


class Bench:
    def __init__(self, products: list[Any], vectors: Any, k: int) -> None:
        self.ids = [p.id for p in products]
        self.cats = {p.id: p.category for p in products}
        self.titles = {p.id: p.title for p in products}
        self.vectors = vectors
        self.k = k

    def recommender(self, p: Period, config: RecConfig) -> Recommender:
        histories = [p.histories[c] for c in sorted(p.histories)]
        return Recommender(
            self.ids, self.vectors, self.cats, p.baskets, config, titles=self.titles, histories=histories
        )

    def score(self, p: Period, ranked: Lists) -> dict[str, float]:
        return evaluate(ranked, p.relevant, len(self.ids), head_items(p.popularity), self.k)

    def model_lists(self, p: Period, name: str, settings: dict[str, Any], rows: str) -> Lists:
        import numpy as np

        train = [p.histories[c] for c in sorted(p.histories)] if rows == "customers" else p.baskets
        matrix, columns = interactions(train)
        model = make_model(name, settings).fit(matrix)
        items = list(columns)
        out: Lists = []
        for start in range(0, len(p.customers), 512):
            chunk = [p.histories[c] for c in p.customers[start : start + 512]]
            history = interactions(chunk, columns)[0].toarray()
            scores = np.asarray(model.score(history), dtype="float32")
            scores[history > 0] = -np.inf
            top = np.argpartition(-scores, self.k, axis=1)[:, : self.k]
            order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
            out += [[items[j] for j in row] for row in np.take_along_axis(top, order, axis=1)]
        return out

    def personal(self, p: Period, rec: Recommender) -> Lists:
        return [[r.id for r in rec.personal(p.histories[c], self.k)] for c in p.customers]

    def per_customer(self, p: Period, strategy: Callable[[list[str]], list[str]]) -> Lists:
        return [strategy(p.histories[c]) for c in p.customers]

    def similar_items(self, rec: Recommender, hist: list[str]) -> list[str]:
        recent = list(dict.fromkeys(reversed(hist)))[:5]
        seen, out = set(hist), {}
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
        return RecConfig(mmr_lambda=mmr, popularity_alpha=alpha, similar_weight=sw)
    return RecConfig(
        mmr_lambda=mmr,
        popularity_alpha=alpha,
        similar_weight=sw,
        personal_model=model,
        model_settings=chosen[model]["settings"],
        model_rows=chosen[model]["rows"],
    )


def tune_served(
    bench: Bench,
    valid: Period,
    chosen: dict[str, dict[str, Any]],
    grid: tuple[Sequence[str], Sequence[float], Sequence[tuple[float, float]]] = (
        ("cooccurrence", *SEARCH),
        SIMILAR_WEIGHTS,
        RERANKS,
    ),
) -> tuple[RecConfig, list[Any], dict[str, float]]:
    """Stage 1: personal model x similar weight, no re-rank; stage 2: the re-ranks on the best of stage 1."""
    trials: list[Any] = []
    best: tuple[tuple[float, float], RecConfig, dict[str, float]] | None = None
    models, similar_weights, reranks = grid
    for model in models:
        rec = bench.recommender(valid, served_config(model, chosen, 0.0, 1.0, 0.0))
        for sw in similar_weights:
            rec.config = replace(rec.config, similar_weight=sw)  # the fitted model does not depend on it
            start = time.perf_counter()
            metrics = bench.score(valid, bench.personal(valid, rec))
            print(
                f"  [valid] served {model:12s} similar {sw:.1f}  {fmt(metrics)}  ({time.perf_counter() - start:.1f}s)",
                flush=True,
            )
            trials.append(("stage1", model, sw, 1.0, 0.0, metrics))
            if best is None or (metrics["recall"], metrics["ndcg"]) > best[0]:
                best = ((metrics["recall"], metrics["ndcg"]), rec.config, metrics)
    assert best is not None
    stage1 = best[1]
    rec = bench.recommender(valid, stage1)
    for mmr, alpha in reranks:
        rec.config = replace(stage1, mmr_lambda=mmr, popularity_alpha=alpha)
        start = time.perf_counter()
        metrics = bench.score(valid, bench.personal(valid, rec))
        print(
            f"  [valid] re-rank {stage1.personal_model} MMR {mmr:.2f} de-bias {alpha:.2f}  {fmt(metrics)}  "
            f"({time.perf_counter() - start:.1f}s)",
            flush=True,
        )
        trials.append(("stage2", stage1.personal_model, stage1.similar_weight, mmr, alpha, metrics))
        if (metrics["recall"], metrics["ndcg"]) > best[0]:
            best = ((metrics["recall"], metrics["ndcg"]), rec.config, metrics)
    return best[1], trials, best[2]


def run_strategies(
    bench: Bench,
    p: Period,
    chosen: dict[str, dict[str, Any]],
    served: RecConfig,
    known: dict[str, dict[str, float]] | None = None,
) -> dict[str, dict[str, float]]:
    """Every strategy on ``p`` (``known``: results already measured on ``p`` while tuning, reused)."""
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
    new = bench.recommender(p, served)
    lists["served before (co-occurrence + MMR/de-bias)"] = lambda: bench.personal(p, old)
    lists["served now (chosen on validation)"] = lambda: bench.personal(p, new)
    results: dict[str, dict[str, float]] = {}
    for name, make in lists.items():
        start = time.perf_counter()
        results[name] = (known or {}).get(name) or bench.score(p, make())
        base = results["popularity"]["recall"]
        print(
            f"  [{p.name}] {name:45s} {fmt(results[name], base)}  ({time.perf_counter() - start:.1f}s)",
            flush=True,
        )
    return results


def plot(valid: dict[str, dict[str, float]], test: dict[str, dict[str, float]], path: Any) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    for n, name in enumerate(test):
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

    print("tuning the strong baselines on validation:", flush=True)
    chosen = tune_models(bench, valid, args.rows.split(","))
    bench.vectors = embed(products)
    print("tuning the served path on validation:", flush=True)
    grid = (
        args.served_models.split(","),
        [float(w) for w in args.similar_weights.split(",")],
        [(float(m), float(a)) for m, a in (pair.split(":") for pair in args.reranks.split(","))],
    )
    served, trials, served_valid = tune_served(bench, valid, chosen, grid)
    print(
        f"chosen: {json.dumps({n: {'rows': c['rows'], **c['settings']} for n, c in chosen.items()})}; served: "
        f"{served.personal_model} {served.model_rows} {served.model_settings} similar {served.similar_weight} "
        f"MMR {served.mmr_lambda} de-bias {served.popularity_alpha}",
        flush=True,
    )
    print("validation (tuned here):", flush=True)
    known = {f"{n} (strong baseline)": c["valid"] for n, c in chosen.items()}
    known["served now (chosen on validation)"] = served_valid
    valid_results = run_strategies(bench, valid, chosen, served, known)
    print("test (retrained before T2 with the chosen settings; never tuned on):", flush=True)
    test_results = run_strategies(bench, test, chosen, served)

    base = test_results["popularity"]["recall"]
    now = test_results["served now (chosen on validation)"]["recall"]
    strong = max(v["recall"] for n, v in test_results.items() if "strong baseline" in n)
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
        "served": {k: v for k, v in served.__dict__.items()},
        "trials": trials,
        "valid": valid_results,
        "test": test_results,
    }
    (RESULTS / "recs_eval.json").write_text(json.dumps(report, indent=1, default=str))
    print(f"wrote {RESULTS / 'recs_eval.json'} and {RESULTS / 'recs_tradeoff.png'}")


if __name__ == "__main__":
    main()
