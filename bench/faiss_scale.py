"""Faiss at scale (issue 16): exact Flat against IVF-Flat, IVF-SQ8, IVF-PQ (alone and with a refine stage) and
HNSW (plain and over SQ8) at 100k and 1M 384-d vectors — build time, memory per vector, recall@10 against Flat,
p50/p95/p99 single-query latency on one thread and batch throughput; the same table on the GPU when faiss sees one.

    nice -n 19 bash -c 'echo 19 > /proc/$$/autogroup; exec .venv/app/bin/python -m bench.faiss_scale \\
        --data-dir ../shared/data [--sizes 100000,1000000] [--queries 500] [--hnsw-budget-s 1200] \\
        [--build-threads 1] [--skip-real] [--name faiss_scale]'

Builds run on --build-threads (1 by default: on a shared, loaded CPU, OpenMP barriers made a 2-thread PQ training
40x slower than one thread); single queries on one thread; batches on all of the process's threads.

The vectors are those of bench/retrieval_speed.py: the Myntra titles' MiniLM embeddings (cached under
results/cache) plus small Gaussian noise, renormalised; queries are held-out titles with their own noise. A first
table runs the same indexes on the real 11.5k titles and on 11.5k noisy ones, to show what the noise does.

Memory per vector is the serialized index (faiss.write_index, counted, not kept) divided by its vectors, holding
ids the way ShopDesk does (retrieval.index_faiss.with_ids: IVF keeps 8-byte ids plus a hash-table direct map;
Flat and HNSW sit in IndexIDMap2). The IVF variants share one coarse quantizer (k-means on 40 x nlist points)
and one assignment of the base; their build time counts that shared work in full. IVF-PQ + Refine keeps ids as
positions (IndexRefine reads its second codes by position): serving it with shop ids adds an IndexIDMap2 (+8 B).
Rows go to results/<name>.jsonl as they are measured, the table and plot to results/<name>.json and .png.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict

import faiss
import numpy as np
from faiss.contrib.ivf_tools import add_preassigned

from bench.faiss_measure import (
    HEADER,
    K,
    Kept,
    Row,
    Setter,
    default_nlist,
    markdown,
    measure,
    plot,
    sample,
)
from bench.retrieval_common import RESULTS
from bench.retrieval_speed import held_out, myntra_embeddings, perturbed
from retrieval.index_faiss import with_ids


def ivf_variants(
    base: np.ndarray, nlist: int, pq_m: int
) -> Iterator[tuple[str, faiss.Index, float, str, Setter]]:
    """IVF-Flat, IVF-SQ8, IVF-PQ and IVF-PQ + refine (SQ8, exact), all over one trained coarse quantizer."""
    d, n = base.shape[1], len(base)
    ip = faiss.METRIC_INNER_PRODUCT
    start = time.perf_counter()
    quantizer = faiss.IndexFlatIP(d)
    coarse = faiss.IndexIVFFlat(quantizer, d, nlist, ip)
    coarse.train(sample(base, 40 * nlist))
    _, assign = quantizer.search(base, 1)
    assign = np.ascontiguousarray(assign[:, 0])
    centroids = quantizer.reconstruct_n(0, nlist)
    shared = time.perf_counter() - start
    print(f"  coarse quantizer IVF{nlist}: trained and assigned {n:,} in {shared:.0f} s", flush=True)
    ids = np.arange(n, dtype="int64")
    encoder_sample = sample(base, 65_536, seed=1)

    trained: dict[str, tuple[faiss.IndexIVF, float]] = {}

    def ivf(kind: str) -> tuple[faiss.IndexIVF, float]:
        """An empty IVF index of this kind with trained codes, and the seconds its first training took."""
        if kind not in trained:
            start = time.perf_counter()
            q = faiss.IndexFlatIP(d)
            q.add(centroids)
            if kind == "Flat":
                index = faiss.IndexIVFFlat(q, d, nlist, ip)
            elif kind == "SQ8":
                index = faiss.IndexIVFScalarQuantizer(q, d, nlist, faiss.ScalarQuantizer.QT_8bit, ip)
            else:
                index = faiss.IndexIVFPQ(q, d, nlist, pq_m, 8, ip)
            index.train(encoder_sample)  # the quantizer is trained already: this trains only the codes
            trained[kind] = (index, time.perf_counter() - start)
        index, seconds = trained[kind]
        return faiss.clone_index(index), seconds

    def fill(index: faiss.IndexIVF, serve_ids: bool) -> faiss.Index:
        served = with_ids(index) if serve_ids else index
        for lo in range(0, n, 200_000):
            hi = min(n, lo + 200_000)
            add_preassigned(index, base[lo:hi], assign[lo:hi], ids[lo:hi])
        return served

    def nprobe_of(index: faiss.IndexIVF) -> Setter:
        return lambda value: setattr(index, "nprobe", value)

    for kind in ("Flat", "SQ8", "PQ"):
        index, train_s = ivf(kind)  # build time: shared + this kind's training (once) + adding
        start = time.perf_counter()
        served = fill(index, serve_ids=True)
        label = f"IVF{nlist},{'PQ' + str(pq_m) if kind == 'PQ' else kind}"
        yield label, served, shared + train_s + time.perf_counter() - start, "nprobe", nprobe_of(index)
        del served, index
    for refine in ("SQ8", "Flat"):
        index, train_s = ivf("PQ")
        start = time.perf_counter()
        fill(index, serve_ids=False)  # IndexRefine reads the refine codes by position: ids are positions
        if refine == "SQ8":
            exact = faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit, ip)
            exact.train(encoder_sample)
        else:
            exact = faiss.IndexFlatIP(d)
        exact.add(base)
        refined = faiss.IndexRefine(index, exact)
        refined.k_factor = 4
        label = f"IVF{nlist},PQ{pq_m},Refine({refine}) k_factor 4"
        yield label, refined, shared + train_s + time.perf_counter() - start, "nprobe", nprobe_of(index)
        del refined, exact, index


def hnsw_variant(
    base: np.ndarray, storage: str, budget_s: float
) -> tuple[faiss.Index, float, Setter] | tuple[None, float, int]:
    """HNSW32 (flat or SQ8 storage), added in chunks; (None, seconds, added) when the budget ran out first."""
    d, n = base.shape[1], len(base)
    start = time.perf_counter()
    if storage == "Flat":
        inner = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
    else:
        inner = faiss.IndexHNSWSQ(d, faiss.ScalarQuantizer.QT_8bit, 32, faiss.METRIC_INNER_PRODUCT)
        inner.train(sample(base, 65_536, seed=1))
    index = with_ids(inner)
    chunk = max(1, n // 20)
    for lo in range(0, n, chunk):
        index.add_with_ids(base[lo : lo + chunk], np.arange(lo, min(n, lo + chunk), dtype="int64"))
        elapsed = time.perf_counter() - start
        print(f"    HNSW32,{storage}: {min(n, lo + chunk):,}/{n:,} added, {elapsed:.0f} s", flush=True)
        if elapsed > budget_s and lo + chunk < n:
            return None, elapsed, min(n, lo + chunk)
    return index, time.perf_counter() - start, lambda value: setattr(inner.hnsw, "efSearch", value)


def run_set(
    data: str, base: np.ndarray, queries: np.ndarray, args: argparse.Namespace, threads: int
) -> list[Row]:
    n, d = base.shape
    nlist = args.nlist or default_nlist(n)
    faiss.omp_set_num_threads(args.build_threads)
    print(
        f"\n{data}: {n:,} vectors x {d}, {len(queries)} queries; builds on {args.build_threads} thread(s), "
        f"batches on {threads}, single queries on 1",
        flush=True,
    )
    print(HEADER, flush=True)
    size = n
    rows = Kept(data, RESULTS / f"{args.name}.jsonl")
    start = time.perf_counter()
    flat = with_ids(faiss.IndexFlatIP(d))
    flat.add_with_ids(base, np.arange(n, dtype="int64"))
    built = time.perf_counter() - start
    _, truth = flat.search(queries, K)
    flat_latency = min(len(queries), args.flat_latency_queries)
    rows += measure(
        size,
        "Flat (exact)",
        flat,
        built,
        "",
        [],
        None,
        queries,
        truth,
        flat_latency,
        threads,
        "cpu",
        args.build_threads,
    )
    del flat
    sweeps = {"Flat": [8, 16, 32, 64], "SQ8": [16, 32, 64]}
    for label, index, build_s, param, setter in ivf_variants(base, nlist, args.pq_m):
        values = sweeps.get(label.split(",")[1], [16, 32, 64])
        rows += measure(
            size,
            label,
            index,
            build_s,
            param,
            values,
            setter,
            queries,
            truth,
            len(queries),
            threads,
            "cpu",
            args.build_threads,
        )
    storages = ["Flat", "SQ8"] if n <= args.hnsw_sq8_max else ["Flat"]
    for storage in storages:
        index, seconds, setter = hnsw_variant(base, storage, args.hnsw_budget_s)
        if index is None:
            print(f"  HNSW32,{storage}: not finished — {setter:,} of {n:,} added in {seconds:.0f} s (budget)")
            continue
        rows += measure(
            size,
            f"HNSW32,{storage}",
            index,
            seconds,
            "efSearch",
            [32, 64, 128, 256],
            setter,
            queries,
            truth,
            len(queries),
            threads,
            "cpu",
            args.build_threads,
        )
        del index
    rows += gpu_rows(size, base, queries, truth, nlist, args.pq_m, threads)
    return list(rows)


def gpu_rows(
    size: int, base: np.ndarray, queries: np.ndarray, truth: np.ndarray, nlist: int, pq_m: int, threads: int
) -> list[Row]:
    """The same indexes built and searched on every GPU faiss sees (faiss-gpu); HNSW has no faiss GPU form."""
    if not hasattr(faiss, "get_num_gpus") or faiss.get_num_gpus() <= 0:
        print(
            "  GPU: skipped — faiss sees no GPU (faiss-cpu build or no device; docs/benchmarks.md says how)"
        )
        return []
    rows: list[Row] = []
    ip = faiss.METRIC_INNER_PRODUCT
    for factory, values in (
        ("Flat", []),
        (f"IVF{nlist},Flat", [16, 32, 64]),
        (f"IVF{nlist},SQ8", [16, 32, 64]),
        (f"IVF{nlist},PQ{pq_m}", [16, 32, 64]),
    ):
        options = faiss.GpuMultipleClonerOptions()
        options.useFloat16 = "PQ" in factory  # PQ48 lookup tables exceed shared memory in fp32
        try:
            index = faiss.index_cpu_to_all_gpus(faiss.index_factory(base.shape[1], factory, ip), options)
            start = time.perf_counter()
            if not index.is_trained:
                index.train(sample(base, 40 * nlist))
            index.add(base)
            built = time.perf_counter() - start
        except RuntimeError as exc:
            print(f"  GPU {factory}: not built ({exc})")
            continue
        space = faiss.GpuParameterSpace()
        setter = (
            (lambda value, index=index, space=space: space.set_index_parameter(index, "nprobe", value))
            if values
            else None
        )
        rows += measure(
            size,
            f"{factory} [GPU]",
            index,
            built,
            "nprobe" if values else "",
            values,
            setter,
            queries,
            truth,
            len(queries),
            threads,
            device="gpu",
        )
        del index
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir")
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument(
        "--queries", type=int, default=500, help="held-out queries (recall, latency, batches)"
    )
    parser.add_argument("--flat-latency-queries", type=int, default=100)
    parser.add_argument("--sigma", type=float, default=0.02)
    parser.add_argument("--pq-m", type=int, default=48, help="PQ sub-quantizers (bytes per code)")
    parser.add_argument("--hnsw-budget-s", type=float, default=1200, help="give up an HNSW build after this")
    parser.add_argument(
        "--hnsw-sq8-max", type=int, default=200_000, help="HNSW32,SQ8 up to this many vectors"
    )
    parser.add_argument("--build-threads", type=int, default=1, help="OpenMP threads for training and adding")
    parser.add_argument(
        "--nlist", type=int, default=0, help="IVF lists (default: 4 sqrt(n) as a power of two)"
    )
    parser.add_argument("--name", default="faiss_scale", help="results/<name>.json and .png")
    parser.add_argument("--skip-real", action="store_true", help="skip the real-vs-noisy 11.5k comparison")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    real = myntra_embeddings(args.data_dir)
    base, queries = held_out(real, args.queries)
    threads = faiss.omp_get_max_threads()
    print(f"faiss {faiss.__version__}, {threads} threads, {faiss.get_num_gpus()} GPU(s)", flush=True)
    sets: list[tuple[str, int]] = []
    if not args.skip_real:
        sets += [(f"real titles ({len(base):,})", 0), (f"noisy titles ({len(base):,})", len(base))]
    sets += [(f"{size:,} noisy", size) for size in sizes]
    rows: list[Row] = []
    out = RESULTS / f"{args.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.jsonl").unlink(missing_ok=True)
    for data, size in sets:
        if size == 0:
            vectors, q = base, queries
        else:
            vectors = perturbed(base, size, args.sigma, seed=size)
            q = perturbed(queries, len(queries), args.sigma, seed=size + 1)
        rows += run_set(data, vectors, q, args, threads)
        del vectors
        out.write_text(json.dumps([asdict(row) for row in rows], indent=1))
        plot(rows, RESULTS / f"{args.name}.png")
    print(markdown(rows))
    print(f"\nwrote {out} and {RESULTS / args.name}.png")


if __name__ == "__main__":
    main()
