"""Speed and scale on this machine: encode throughput; Flat vs HNSW vs IVF query latency, recall@10 against
Flat, memory and build time — on real catalog embeddings (Myntra titles) and at 100k / 1M vectors.

    .venv/app/bin/python -m bench.retrieval_speed [--data-dir ../shared/data] [--sizes 100000,1000000] [--hnsw-1m]

The 100k / 1M sets are the real embeddings plus small Gaussian perturbations (renormalised), so they keep the
clustered structure of real text embeddings (uniform random vectors would understate ANN recall). Latency is one
query at a time on one thread (what an action does), measured over --queries held-out queries.
"""

from __future__ import annotations

import argparse
import logging
import time

import faiss
import numpy as np

try:
    from bench.retrieval_common import cached_embeddings, data_dir, require
except ImportError:  # run as a script: bench/ is on sys.path
    from retrieval_common import cached_embeddings, data_dir, require  # type: ignore[no-redef]

from retrieval.config import EncoderConfig
from retrieval.encoder import SentenceTransformerEncoder


def latency_ms(index: faiss.Index, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Search one query at a time: the ids found (n x k) and each search's milliseconds."""
    found = np.zeros((len(queries), k), dtype="int64")
    times = []
    for n, q in enumerate(queries):
        start = time.perf_counter()
        _, ids = index.search(q[None, :], k)
        times.append(time.perf_counter() - start)
        found[n] = ids[0]
    return found, np.asarray(times) * 1000


def latency(index: faiss.Index, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, float, float]:
    found, ms = latency_ms(index, queries, k)
    return found, float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)]))


def build(factory: str, base: np.ndarray) -> tuple[faiss.Index, float, int]:
    faiss.omp_set_num_threads(2)
    start = time.perf_counter()
    index = faiss.index_factory(base.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:
        train_n = 40 * faiss.extract_index_ivf(index).nlist  # faiss asks for >= 39 points per list
        sample = base[np.random.default_rng(0).choice(len(base), size=min(train_n, len(base)), replace=False)]
        index.train(sample)
    index.add(base)
    seconds = time.perf_counter() - start
    size = len(faiss.serialize_index(index))
    faiss.omp_set_num_threads(1)
    return index, seconds, size


def run_set(
    name: str, base: np.ndarray, queries: np.ndarray, configs: list[tuple[str, str, dict[str, int]]]
) -> None:
    print(f"\n{name}: {len(base):,} vectors x {base.shape[1]}, {len(queries)} single queries, 1 thread")
    print(f"  {'index':24s} {'build s':>8s} {'MiB':>7s} {'p50 ms':>7s} {'p95 ms':>7s} {'recall@10':>9s}")
    truth = None
    for label, factory, params in configs:
        index, seconds, size = build(factory, base)
        for key, values in params.items():
            for value in [values] if isinstance(values, int) else values:
                if key == "efSearch":
                    faiss.ParameterSpace().set_index_parameter(index, "efSearch", value)
                elif key == "nprobe":
                    faiss.ParameterSpace().set_index_parameter(index, "nprobe", value)
                found, p50, p95 = latency(index, queries)
                if truth is None:
                    truth = found
                print(
                    f"  {label + f' {key}={value}':24s} {seconds:8.1f} {size / 2**20:7.0f} {p50:7.3f} {p95:7.3f} "
                    f"{recall_at(found, truth):9.4f}"
                )
        if not params:
            found, p50, p95 = latency(index, queries)
            if truth is None:
                truth = found
            print(
                f"  {label:24s} {seconds:8.1f} {size / 2**20:7.0f} {p50:7.3f} {p95:7.3f} {recall_at(found, truth):9.4f}"
            )
        del index


def perturbed(real: np.ndarray, n: int, sigma: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, real.shape[1]), dtype="float32")
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        rows = real[rng.integers(0, len(real), size=stop - start)]
        block = rows + rng.normal(0.0, sigma, size=rows.shape).astype("float32")
        out[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def myntra_frame(data_dir_arg: str | None):  # type: ignore[no-untyped-def]
    import pandas as pd

    return pd.read_csv(require(data_dir(data_dir_arg) / "myntra" / "catalog.csv")).drop_duplicates(
        "ProductID"
    )


def title_docs(frame) -> list[str]:  # type: ignore[no-untyped-def]
    """The Myntra catalog's indexed text: name, brand, colour."""
    docs = frame["ProductName"] + ". " + frame["ProductBrand"] + ". " + frame["PrimaryColor"].fillna("")
    return docs.str.strip().tolist()


def title_encoder() -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder(EncoderConfig(max_seq_length=64))


def myntra_embeddings(data_dir_arg: str | None) -> np.ndarray:
    """The Myntra titles' MiniLM embeddings, encoded once (cached under results/cache by model + texts)."""
    return cached_embeddings("myntra_title_docs", title_docs(myntra_frame(data_dir_arg)), title_encoder())


def held_out(real: np.ndarray, n_queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(base, queries): n_queries real vectors drawn as queries, the rest as the indexed set."""
    held = np.random.default_rng(seed).choice(len(real), size=n_queries, replace=False)
    mask = np.ones(len(real), dtype=bool)
    mask[held] = False
    return np.ascontiguousarray(real[mask]), np.ascontiguousarray(real[held])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir")
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--corpus", choices=("online_retail", "myntra"), default="online_retail")
    parser.add_argument("--queries-1m", type=int, default=200, help="queries at sizes above 200k")
    parser.add_argument("--sigma", type=float, default=0.02)
    parser.add_argument("--hnsw-1m", action="store_true", help="also build HNSW at 1M (slow on 2 cores)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import pandas as pd

    frame = myntra_frame(args.data_dir)
    docs = pd.Series(title_docs(frame), index=frame.index)
    encoder = title_encoder()
    sample = docs.sample(n=512, random_state=1).tolist()
    encoder.encode(sample[:32])  # load + warm up
    start = time.perf_counter()
    encoder.encode(sample)
    rate = len(sample) / (time.perf_counter() - start)
    long_texts = (
        (frame["ProductName"] + ". " + frame["Description"].fillna("")).sample(n=128, random_state=2).tolist()
    )
    long_encoder = SentenceTransformerEncoder(EncoderConfig(max_seq_length=256))
    long_encoder.encode(long_texts[:8])
    start = time.perf_counter()
    long_encoder.encode(long_texts)
    long_rate = len(long_texts) / (time.perf_counter() - start)
    print(
        f"encode throughput (CPU, 2 shared cores): {rate:.0f} titles/s (≤64 tokens), "
        f"{long_rate:.0f} descriptions/s (≤256 tokens), batch 64"
    )

    if args.corpus == "myntra":
        real = cached_embeddings("myntra_title_docs", docs.tolist(), encoder)
    else:  # the Online Retail catalog's product titles (4k real embeddings, cheaper to encode on 2 cores)
        from retrieval.catalog import load_catalog, preset

        fmt, mapping = preset("online_retail")
        products = load_catalog(
            require(data_dir(args.data_dir) / "online_retail" / "year_2009_2010.parquet"), fmt, mapping
        )
        real = cached_embeddings("online_retail_titles", [p.title for p in products], encoder)
    print(f"real catalog embeddings: {args.corpus}, {len(real)} items", flush=True)
    base, queries = held_out(real, args.queries)
    run_set(
        "Myntra title embeddings (real)",
        base,
        queries,
        [
            ("Flat", "Flat", {}),
            ("HNSW32", "HNSW32", {"efSearch": [32, 64, 128]}),
            ("IVF100,Flat", "IVF100,Flat", {"nprobe": [4, 8, 16]}),
        ],
    )
    for size in [int(s) for s in args.sizes.split(",") if s]:
        vectors = perturbed(base, size, args.sigma, seed=size)
        n_queries = len(queries) if size <= 200_000 else min(len(queries), args.queries_1m)
        q = perturbed(queries[:n_queries], n_queries, args.sigma, seed=size + 1)
        nlist = 1024 if size <= 200_000 else 2048
        configs = [("Flat", "Flat", {})]
        if size <= 200_000 or args.hnsw_1m:
            configs.append(("HNSW32", "HNSW32", {"efSearch": [32, 64, 128, 256]}))
        configs.append((f"IVF{nlist},Flat", f"IVF{nlist},Flat", {"nprobe": [8, 16, 32, 64]}))
        run_set(f"{size:,} perturbed real embeddings (sigma {args.sigma})", vectors, q, configs)
        del vectors


if __name__ == "__main__":
    main()
