"""The hybrid-search part of bench/retrieval_quality.py: BM25 vs dense vs hybrid vs hybrid + responder on one pool.

A pool is documents (one id each) with one or more texts per document: a product is one text; a knowledge-base
entry is its questions and title + answer, found by its best text (as the served kb index folds its records).
The lexical side is what the service serves (``retrieval.hybrid.LexicalIndex`` over ``lexical.tokens``, an entry
one document); the dense side is brute-force cosine over the same texts (= FAISS ``Flat``); the fusion is
``retrieval.hybrid.rrf``; the responder re-ranks the top-k fused (or dense) candidates with their dense cosines
as its prior, as ``RetrievalService`` does.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.adapt import AdaptConfig
from retrieval.hybrid import LexicalIndex, rrf


@dataclass
class Pool:
    name: str
    ids: list[str]  # one per document
    texts: list[list[str]]  # the texts each document is found by (dense: best one; BM25: all, joined)
    passages: list[str]  # what the responder reads per document
    kind: str  # "kb" | "product": the responder's calibration pool


@dataclass
class Runs:
    """Per query: the dense order and cosines over every document, and the BM25 top list."""

    dense_order: np.ndarray  # [queries, depth] document rows
    dense_sims: np.ndarray  # [queries, documents] cosine (best text per document)
    lexical: list[list[str]]  # BM25 top ids
    lexical_scores: list[dict[str, float]]  # their BM25 scores
    lexical_build_s: float
    lexical_query_ms: float


def dense_sims(
    query_vectors: np.ndarray, text_vectors: np.ndarray, owners: Sequence[int], n_docs: int
) -> np.ndarray:
    """[queries, documents]: each document's best text cosine."""
    sims = query_vectors @ text_vectors.T
    out = np.full((len(query_vectors), n_docs), -np.inf, dtype="float32")
    owners_arr = np.asarray(owners)
    for row in range(len(query_vectors)):
        np.maximum.at(out[row], owners_arr, sims[row])
    return out


def run_pool(
    pool: Pool, queries: Sequence[str], query_vectors: np.ndarray, text_vectors: np.ndarray, depth: int = 50
) -> Runs:
    owners = [d for d, texts in enumerate(pool.texts) for _ in texts]
    sims = dense_sims(query_vectors, text_vectors, owners, len(pool.ids))
    depth = min(depth, len(pool.ids))
    top = np.argpartition(-sims, depth - 1, axis=1)[:, :depth]
    order = np.take_along_axis(
        top, np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1, kind="stable"), 1
    )
    start = time.perf_counter()
    lexical_index = LexicalIndex.from_records(
        {"id": i, "text": " ".join(texts)} for i, texts in zip(pool.ids, pool.texts, strict=True)
    )
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    found = [lexical_index.search(q, k=depth) for q in queries]
    query_ms = (time.perf_counter() - start) * 1000 / max(len(queries), 1)
    return Runs(
        order,
        sims,
        [[h.key for h in f] for f in found],
        [{h.key: h.score for h in f} for f in found],
        build_s,
        query_ms,
    )


def dense_lists(pool: Pool, runs: Runs, rows: Sequence[int]) -> list[list[str]]:
    return [[pool.ids[j] for j in runs.dense_order[r]] for r in rows]


def hybrid_lists(
    pool: Pool, runs: Runs, rows: Sequence[int], rrf_k: float, lexical_weight: float, method: str = "rrf"
) -> list[list[str]]:
    """The fused lists as ``retrieval.hybrid.fuse`` orders them (``rrf`` or ``score``)."""
    dense = dense_lists(pool, runs, rows)
    if method == "score":
        return score_fusion_lists(pool, runs, rows, lexical_weight)
    return [
        [i for i, _ in rrf([d, runs.lexical[r]], k=rrf_k, weights=(1 - lexical_weight, lexical_weight))]
        for d, r in zip(dense, rows, strict=True)
    ]


def score_fusion_lists(pool: Pool, runs: Runs, rows: Sequence[int], lexical_weight: float) -> list[list[str]]:
    """``(1 - w) * cosine + w * BM25 / the query's best BM25`` over the union of both lists."""
    col = {i: n for n, i in enumerate(pool.ids)}
    out = []
    for r in rows:
        candidates = list(dict.fromkeys([pool.ids[j] for j in runs.dense_order[r]] + runs.lexical[r]))
        scores = runs.lexical_scores[r]
        top = max(scores.values(), default=0.0) or 1.0
        fused = {
            c: (1 - lexical_weight) * float(runs.dense_sims[r, col[c]])
            + lexical_weight * scores.get(c, 0.0) / top
            for c in candidates
        }
        out.append(sorted(candidates, key=lambda c: -fused[c]))
    return out


def rerank(
    responder: Any,
    pool: Pool,
    runs: Runs,
    queries: Sequence[str],
    rows: Sequence[int],
    lists: Sequence[Sequence[str]],
    k: int = 20,
) -> list[list[str]]:
    """The responder over each list's top-``k`` (prior: each candidate's dense cosine), as served."""
    col = {i: n for n, i in enumerate(pool.ids)}
    out = []
    for r, candidates in zip(rows, lists, strict=True):
        top = list(candidates[:k])
        prior = [float(runs.dense_sims[r, col[c]]) for c in top]
        probs = responder.score(queries[r], [pool.passages[col[c]] for c in top], prior=prior, kind=pool.kind)
        order = np.argsort(-np.asarray(probs), kind="stable")
        out.append([top[j] for j in order] + list(candidates[k:]))
    return out


def tune(
    pool: Pool,
    runs: Runs,
    relevant: Sequence[set[str]],
    rows: Sequence[int],
    metrics: Any,
    ks: Sequence[float] = (5, 10, 20, 60),
    weights: Sequence[float] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8),
) -> tuple[tuple[str, float, float], list[tuple[str, float, float, dict[str, float]]]]:
    """The (method, rrf_k, lexical_weight) with the best top-1 (then MRR@10) on ``rows`` — the dev half only."""
    grid = []
    for method, method_ks in (("rrf", ks), ("score", (0.0,))):
        for rrf_k in method_ks:
            for weight in weights:
                m = metrics(
                    hybrid_lists(pool, runs, rows, rrf_k, weight, method), [relevant[r] for r in rows]
                )
                grid.append((method, rrf_k, weight, m))
    best = max(grid, key=lambda g: (round(g[3]["top1"], 6), round(g[3]["mrr@10"], 6), -abs(g[2] - 0.5)))
    return (best[0], best[1], best[2]), grid


@dataclass
class Adapted:
    """One catalog-adapted encoder on the Myntra pool: its runs and the fusion tuned for it on the dev half."""

    spec: str  # "rule:epochs:lr"
    model_dir: Path
    runs: Runs
    fusion: tuple[str, float, float]  # (method, rrf_k, lexical weight), best on dev
    dev_dense: dict[str, float]
    dev_hybrid: dict[str, float]
    meta: dict[str, Any]


def adapt_config(spec: str) -> AdaptConfig:
    """``rule:epochs:lr[:max_pairs]`` (e.g. ``random_sentence:1:5e-5``) as an :class:`AdaptConfig`."""
    try:
        rule, epochs, lr, *limit = spec.split(":")
        max_pairs = int(limit[0]) if limit else None
        return AdaptConfig(pair_rule=rule, epochs=int(epochs), learning_rate=float(lr), max_pairs=max_pairs)
    except ValueError as exc:
        raise SystemExit(f"--adapt {spec!r}: expected rule:epochs:lr[:max_pairs] ({exc})") from None


def adapted_runs(
    spec: str,
    train_items: Sequence[tuple[str, str]],
    pool: Pool,
    queries: Sequence[str],
    relevant: Sequence[set[str]],
    dev: Sequence[int],
    metrics: Any,
) -> Adapted:
    """Train (once: cached by pairs and settings) the adapted encoder on ``train_items`` (description, target) —
    products outside the query sample only — then search the pool with it and tune the fusion on ``dev``."""
    from bench.retrieval_common import cached_adapted_model, cached_embeddings
    from retrieval.adapt import text_pairs
    from retrieval.catalog_encoder import read_adapt_meta
    from retrieval.config import EncoderConfig
    from retrieval.encoder import SentenceTransformerEncoder

    config = adapt_config(spec)
    pairs = text_pairs(train_items, config)
    model_dir = cached_adapted_model(f"adapted-{pool.name}", pairs, config)
    encoder = SentenceTransformerEncoder(EncoderConfig(model=str(model_dir), max_seq_length=64))
    doc_vectors = cached_embeddings(f"{pool.name}_title_docs", [t for ts in pool.texts for t in ts], encoder)
    runs = run_pool(pool, queries, encoder.encode(list(queries)), doc_vectors)
    # a stronger dense side may want less BM25: the weight grid starts lower than the base encoder's
    fusion, _ = tune(pool, runs, relevant, dev, metrics, weights=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8))
    dev_rel = [relevant[r] for r in dev]
    return Adapted(
        spec,
        model_dir,
        runs,
        fusion,
        metrics(dense_lists(pool, runs, dev), dev_rel),
        metrics(hybrid_lists(pool, runs, dev, fusion[1], fusion[2], fusion[0]), dev_rel),
        read_adapt_meta(model_dir) or {},
    )
