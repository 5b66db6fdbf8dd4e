"""Measuring faiss indexes for bench/faiss_scale.py: memory per vector as faiss writes it, recall@10 against
exact search, single-query latency percentiles, batch throughput; the rows, their tables and plot."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

from bench.retrieval_speed import latency_ms, recall_at

K = 10
Setter = Callable[[int], None]


@dataclass(frozen=True)
class Row:
    size: int
    index: str
    param: str
    build_s: float
    bytes_per_vector: float
    recall: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    qps: float
    device: str = "cpu"
    data: str = ""


def serialized_bytes(index: faiss.Index) -> int:
    """The bytes faiss.write_index writes, counted as they stream (a 1M-vector index is not copied)."""
    total = 0

    def count(chunk: bytes) -> int:
        nonlocal total
        total += len(chunk)
        return len(chunk)

    writer = faiss.PyCallbackIOWriter(count)
    faiss.write_index(index, writer)
    del writer  # flushes
    return total


def bytes_per_vector(index: faiss.Index) -> float:
    if index.ntotal <= 0:
        raise ValueError(
            f"bytes per vector of an empty index ({type(index).__name__}, ntotal={index.ntotal})"
        )
    return serialized_bytes(index) / index.ntotal


def default_nlist(n: int) -> int:
    """The power of two nearest 4 * sqrt(n) (the faiss wiki's rule of thumb for IVF list counts), lowered until
    k-means has its 39 training points per list."""
    if n < 39:
        raise ValueError(f"an IVF index needs at least 39 vectors to train one list, got {n}")
    return 2 ** min(round(math.log2(4 * math.sqrt(n))), math.floor(math.log2(n / 39)))


def percentiles(ms: np.ndarray) -> tuple[float, float, float]:
    if len(ms) == 0:
        raise ValueError("no latencies to summarise (0 queries)")
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return float(p50), float(p95), float(p99)


def throughput(index: faiss.Index, queries: np.ndarray, min_seconds: float = 1.0) -> float:
    """Queries per second searching the whole batch at once, at the process's thread count."""
    done, start = 0, time.perf_counter()
    while True:
        index.search(queries, K)
        done += len(queries)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return done / elapsed


def sample(base: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).choice(len(base), size=min(n, len(base)), replace=False)
    return np.ascontiguousarray(base[np.sort(rows)])


def measure(
    size: int,
    label: str,
    index: faiss.Index,
    build_s: float,
    param: str,
    values: list[int],
    setter: Setter | None,
    queries: np.ndarray,
    truth: np.ndarray,
    latency_queries: int,
    threads: int,
    device: str = "cpu",
    build_threads: int = 1,
    min_seconds: float = 1.0,
) -> list[Row]:
    """Recall, single-query latency (1 thread) and batch throughput (``threads``) at each parameter value; OpenMP
    is left at ``build_threads`` for the next build."""
    memory = bytes_per_vector(index) if device == "cpu" else bytes_per_vector(faiss.index_gpu_to_cpu(index))
    rows = []
    for value in values or [0]:
        if setter is not None:
            setter(value)
        faiss.omp_set_num_threads(1)
        _, ms = latency_ms(index, queries[:latency_queries], K)
        faiss.omp_set_num_threads(threads)
        qps = throughput(index, queries, min_seconds)
        _, batch_ids = index.search(queries, K)
        row = Row(
            size,
            label,
            f"{param} {value}" if values else "",
            build_s,
            memory,
            recall_at(batch_ids, truth),
            *percentiles(ms),
            qps,
            device,
        )
        print(
            f"  {label + ' ' + row.param:48s} {build_s:7.1f} {memory:7.0f} {row.recall:7.4f} {row.p50_ms:7.3f} "
            f"{row.p95_ms:7.3f} {row.p99_ms:7.3f} {qps:9.0f}",
            flush=True,
        )
        rows.append(row)
    faiss.omp_set_num_threads(build_threads)
    return rows


HEADER = f"  {'index':48s} {'build s':>7s} {'B/vec':>7s} {'R@10':>7s} {'p50 ms':>7s} {'p95 ms':>7s} {'p99 ms':>7s} {'q/s batch':>9s}"


class Kept(list[Row]):
    """The rows of one set, labelled with it and appended to a JSON-lines file as they come (a run stopped
    during a long build keeps what it measured)."""

    def __init__(self, data: str, path: Path) -> None:
        super().__init__()
        self.data, self.path = data, path

    def __iadd__(self, rows: list[Row]) -> Kept:  # type: ignore[override,misc]
        labelled = [Row(**{**asdict(row), "data": self.data}) for row in rows]
        with self.path.open("a") as out:
            out.writelines(json.dumps(asdict(row)) + "\n" for row in labelled)
        self.extend(labelled)
        return self


def markdown(rows: list[Row]) -> str:
    """The rows as the docs/benchmarks.md tables, one per vector set."""
    lines = []
    for data in dict.fromkeys(row.data for row in rows):
        lines += [
            f"\n{data}\n",
            "| index | param | build s | B/vector | recall@10 | p50 ms | p95 ms | p99 ms | batch q/s |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r.index}{' [GPU]' if r.device == 'gpu' and '[GPU]' not in r.index else ''} | {r.param} | "
            f"{r.build_s:.0f} | {r.bytes_per_vector:.0f} | {r.recall:.3f} | {r.p50_ms:.2f} | {r.p95_ms:.2f} | "
            f"{r.p99_ms:.1f} | {r.qps:.0f} |"
            for r in rows
            if r.data == data
        ]
    return "\n".join(lines)


def plot(rows: list[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = sorted({row.data for row in rows}, key=lambda s: max(r.size for r in rows if r.data == s))
    fig, axes = plt.subplots(1, len(sets) + 1, figsize=(5 * (len(sets) + 1), 4.5))
    for ax, data in zip(axes, sets, strict=False):
        for label in dict.fromkeys(row.index for row in rows if row.data == data):
            points = [(r.p95_ms, r.recall) for r in rows if r.data == data and r.index == label]
            ax.plot(*zip(*points, strict=True), marker="o", label=label)
        ax.set(xscale="log", xlabel="p95 ms, one query, 1 thread", ylabel="recall@10 vs Flat", title=data)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    largest = sets[-1]
    memory = {r.index: r.bytes_per_vector for r in rows if r.data == largest}
    axes[-1].barh(list(memory), list(memory.values()))
    axes[-1].set(xlabel="bytes per vector (serialized, with ids)", title=largest)
    axes[-1].tick_params(axis="y", labelsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
