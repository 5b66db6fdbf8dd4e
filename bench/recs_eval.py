"""Recommendations on real purchases (UCI Online Retail II, 2009-12 … 2010-12), temporal split.

    .venv/app/bin/python -m bench.recs_eval [--data-dir ../shared/data] [--cutoff 2010-09-01]

Train on invoices before the cutoff; for each customer with purchases on both sides, the target is the set of
products they bought after the cutoff and had *not* bought before (every strategy excludes past purchases, so
re-buys would reward nothing but memory). Strategies, same run, same split: popularity, similar items (embedding
neighbours of the customer's recent purchases), bought together (item-item co-occurrence), personalised
(co-occurrence + embedding similarity, MMR + popularity de-biasing). Reports recall@10, NDCG@10, coverage.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections import defaultdict

try:
    from bench.retrieval_common import cached_embeddings, data_dir, rank_metrics, require
except ImportError:  # run as a script: bench/ is on sys.path
    from retrieval_common import cached_embeddings, data_dir, rank_metrics, require  # type: ignore[no-redef]

from retrieval.catalog import load_catalog, preset
from retrieval.config import EncoderConfig
from retrieval.encoder import SentenceTransformerEncoder
from retrieval.recommend import RecConfig, Recommender


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir")
    parser.add_argument("--cutoff", default="2010-09-01")
    parser.add_argument("--max-customers", type=int, default=0, help="0 = all")
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import pandas as pd

    path = require(data_dir(args.data_dir) / "online_retail" / "year_2009_2010.parquet")
    t0 = time.perf_counter()
    fmt, mapping = preset("online_retail")
    products = load_catalog(path, fmt, mapping)
    ids = [p.id for p in products]
    encoder = SentenceTransformerEncoder(EncoderConfig(max_seq_length=64))
    vectors = cached_embeddings("online_retail_titles", [p.title for p in products], encoder)
    lines = pd.read_parquet(path)
    lines = lines[
        ~lines["Invoice"].astype(str).str.startswith("C")
        & lines["Customer ID"].notna()
        & (lines["Quantity"] > 0)
        & lines["StockCode"].isin(set(ids))
    ]
    lines = lines.assign(
        when=pd.to_datetime(lines["InvoiceDate"]), customer=lines["Customer ID"].astype(int).astype(str)
    )
    train = lines[lines["when"] < args.cutoff]
    test = lines[lines["when"] >= args.cutoff]
    baskets = train.groupby("Invoice")["StockCode"].apply(list).tolist()
    history: dict[str, list[str]] = defaultdict(list)
    for customer, code in train.sort_values("when")[["customer", "StockCode"]].itertuples(index=False):
        history[customer].append(code)
    future = test.groupby("customer")["StockCode"].apply(set).to_dict()
    customers = sorted(c for c in future if c in history and future[c] - set(history[c]))
    if args.max_customers:
        customers = customers[: args.max_customers]
    cats = {p.id: p.category for p in products}
    titles = {p.id: p.title for p in products}
    setup = time.perf_counter() - t0
    print(
        f"catalog {len(ids)} products; train {len(baskets)} invoices before {args.cutoff}; "
        f"{len(customers)} test customers; setup {setup:.1f}s"
    )

    plain = Recommender(
        ids, vectors, cats, baskets, RecConfig(mmr_lambda=1.0, popularity_alpha=0.0), titles=titles
    )
    tuned = Recommender(ids, vectors, cats, baskets, RecConfig(), titles=titles)
    k = args.k

    def similar_items(rec: Recommender, hist: list[str]) -> list[str]:
        recent = list(dict.fromkeys(reversed(hist)))[:5]
        seen, out = set(hist), {}
        for n, item in enumerate(recent):
            for r in rec.similar(item, k=k, exclude=seen):
                out[r.id] = max(out.get(r.id, 0.0), r.score / (1 + 0.1 * n))
        return sorted(out, key=lambda i: -out[i])[:k]

    strategies = {
        "popularity": lambda h: [r.id for r in plain.popular(k, exclude=h)],
        "similar items": lambda h: similar_items(plain, h),
        "bought together": lambda h: [r.id for r in plain.together(list(dict.fromkeys(h)), k, exclude=h)],
        "personalised (no re-rank)": lambda h: [r.id for r in plain.personal(h, k)],
        "personalised (MMR + de-bias)": lambda h: [r.id for r in tuned.personal(h, k)],
    }
    relevant = [future[c] - set(history[c]) for c in customers]
    results = {}
    for name, strategy in strategies.items():
        start = time.perf_counter()
        ranked = [strategy(history[c]) for c in customers]
        seconds = time.perf_counter() - start
        metrics = rank_metrics(ranked, relevant, k)
        coverage = len({i for r in ranked for i in r}) / len(ids)
        results[name] = metrics
        print(
            f"{name:30s} recall@{k} {metrics['recall@10']:.4f}  NDCG@{k} {metrics['ndcg@10']:.4f}  "
            f"coverage {coverage:.3f}  ({1000 * seconds / len(customers):.1f} ms/customer)"
        )
    base = results["popularity"]["recall@10"]
    best = max(
        results["personalised (no re-rank)"]["recall@10"],
        results["personalised (MMR + de-bias)"]["recall@10"],
    )
    print(f"personalised / popularity recall@{k}: {best / base:.2f}x (target ≥ 2x)")


if __name__ == "__main__":
    main()
