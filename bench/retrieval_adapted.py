"""The catalog-adapted encoder's part of ``bench.retrieval_quality``: train (cached) and compare the adapted
settings on the Myntra dev half, add their columns to the Myntra and KB tables, and choose the adapted encoder's
product thresholds on the dev half (reporting the test half's decisions).

Product thresholds (``RankConfig`` answer / clarify / margin). The stock ones (0.45 / 0.25 / 0.04) were set by
hand when product search was built; a catalog-adapted encoder moves the cosine bands, so they do not carry over.
Chosen here on the Myntra dev half: every dev query runs through what ``RetrievalService.search_products`` does
(the fused top 5, the tail cut, ``BiEncoderRanker`` with the fused order kept), with the served stock hybrid and
its thresholds, and with the adapted hybrid and each grid cell.

- answer + margin: the most (right - wrong) confident answers on dev (a confident wrong product costs what a right
  one gains; ties: the higher thresholds);
- clarify: the stock threshold carried through the two dev distributions of the best candidate's cosine (the
  adapted cosine at the stock's hand-off quantile, rounded down): the same share of dev queries is handed off.
  The Myntra queries all have a product to find, so there is nothing here to set a hand-off threshold by
  precision; this keeps the stock model's guard where it was.

The test half's decisions (answered right / wrong, cards with / without the product, handed off) are printed for
both, and the chosen values are written to results/retrieval_quality.json (``adapted_serving``); they are what
:data:`retrieval.config.ADAPTED_PRODUCT_RANK` holds (retrieval.adapt writes them into each adapted model's
adapt.json).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.hybrid_eval import Adapted, Pool, Runs, adapted_runs, dense_lists, hybrid_lists, run_pool
from bench.retrieval_common import rank_metrics
from retrieval.config import (
    ADAPTED_LEXICAL_WEIGHT,
    ADAPTED_PRODUCT_RANK,
    STOCK_PRODUCT_RANK,
    EncoderConfig,
    HybridConfig,
    RankConfig,
)
from retrieval.encoder import SentenceTransformerEncoder
from retrieval.index import Hit
from retrieval.ranker import BiEncoderRanker
from retrieval.service import cut_tail

# the settings compared on the Myntra dev half (docs/benchmarks.md): a random description sentence vs the query
# rule itself, 3,000 pairs each (what the shared CPU allowed); each trained once, cached in results/cache
ADAPT_SPECS = ("random_sentence:1:1e-4:3000", "first_sentence:1:1e-4:3000")
OUTCOMES = ("answer right", "answer wrong", "cards with it", "cards without it", "handoff")
SERVED_K = 5  # search_products takes max(k, 5) fused candidates
CARDS = 3


def adapt_items(frame: Any, sample: Any) -> list[tuple[str, str]]:
    """(description, doc) of every product outside the query sample: the adapted encoder's only training data."""
    train = frame[~frame["ProductID"].isin(set(sample["ProductID"]))]
    return list(zip(train["Description"].fillna("").astype(str), train["doc"], strict=True))


def adapted_lists(pool: Pool, adapted: Adapted, rows: list[int]) -> dict[str, list[list[str]]]:
    method, rrf_k, weight = adapted.fusion
    fusion = f"RRF k={rrf_k:g}" if method == "rrf" else "score"
    return {
        "dense (catalog-adapted)": dense_lists(pool, adapted.runs, rows),
        f"hybrid (catalog-adapted, {fusion}, w={weight:g})": hybrid_lists(
            pool, adapted.runs, rows, rrf_k, weight, method
        ),
    }


def adapted_kb(
    name: str,
    pool: Pool,
    queries: list[str],
    relevant: list[set[str]],
    adapted: Adapted,
    served: HybridConfig,
    report_json: dict[str, Any],
    compare: Callable[..., dict[str, dict[str, float]]],
    report: Callable[[str, dict[str, dict[str, float]]], None],
) -> None:
    """The KB set searched with the catalog-adapted encoder, hybrid at the served KB weight; added to the set's
    rows. Not what serves (the KB keeps the stock encoder when the adapted one serves the catalog): it shows what
    one adapted encoder for both would cost the KB."""
    encoder = SentenceTransformerEncoder(EncoderConfig(model=str(adapted.model_dir)))
    runs = run_pool(
        pool, queries, encoder.encode(queries), encoder.encode([t for ts in pool.texts for t in ts])
    )
    rows = list(range(len(queries)))
    weight = served.kb_lexical_weight
    fusion = f"RRF k={served.rrf_k:g}" if served.fusion == "rrf" else "score"
    lists = {
        "dense (catalog-adapted)": dense_lists(pool, runs, rows),
        f"hybrid (catalog-adapted, {fusion}, w={weight:g})": hybrid_lists(
            pool, runs, rows, served.rrf_k, weight, served.fusion
        ),
    }
    report_json[name] |= compare(lists, relevant)
    report(f"(a) {name} again, with the catalog-adapted encoder ({adapted.spec})", report_json[name])


# ----------------------------------------------------------------------------------------- thresholds
@dataclass(frozen=True)
class Served:
    """Per query, what search_products ranks: the fused top 5 (ids, dense cosines, found by BM25 or not)."""

    hits: list[list[Hit]]
    lexical: list[set[str]]
    target: list[str]


def served_candidates(
    pool: Pool, runs: Runs, relevant: Sequence[set[str]], fusion: tuple[str, float, float]
) -> Served:
    rows = list(range(len(relevant)))
    method, rrf_k, weight = fusion
    fused = hybrid_lists(pool, runs, rows, rrf_k, weight, method)
    col = {i: n for n, i in enumerate(pool.ids)}
    hits = [[Hit(i, float(runs.dense_sims[r, col[i]]), {}) for i in fused[r][:SERVED_K]] for r in rows]
    return Served(hits, [set(lst) for lst in runs.lexical], [next(iter(rel)) for rel in relevant])


def decide(served: Served, r: int, rank: RankConfig) -> str:
    """One query's outcome as ``search_products`` (no filters) would decide it."""
    hits = cut_tail(served.hits[r], served.lexical[r], rank)
    ranked = BiEncoderRanker(rank, keep_order=True).rank("", hits, ["" for _ in hits])
    target = served.target[r]
    if ranked.kind == "answer":
        return OUTCOMES[0] if hits[0].id == target else OUTCOMES[1]
    if ranked.kind == "clarify":
        return OUTCOMES[2] if any(h.id == target for h in ranked.hits[:CARDS]) else OUTCOMES[3]
    return OUTCOMES[4]


def outcomes(served: Served, rows: Sequence[int], rank: RankConfig) -> dict[str, int]:
    counts = dict.fromkeys(OUTCOMES, 0)
    for r in rows:
        counts[decide(served, r, rank)] += 1
    return counts


def choose_product_rank(
    stock: Served, adapted: Served, dev: Sequence[int]
) -> tuple[RankConfig, dict[str, Any]]:
    """The adapted thresholds by the rules in the module docstring, on ``dev`` only."""
    base = outcomes(stock, dev, STOCK_PRODUCT_RANK)
    best: tuple[tuple[int, float, float], RankConfig] | None = None
    for answer in np.round(np.arange(0.30, 0.951, 0.01), 2):
        for margin in (0.0, 0.01, 0.02, 0.03, 0.04, 0.06, 0.08, 0.10):
            rank = RankConfig(answer=float(answer), clarify=0.0, margin=margin)
            counts = outcomes(adapted, dev, rank)
            key = (counts[OUTCOMES[0]] - counts[OUTCOMES[1]], float(answer), margin)
            if best is None or key > best[0]:
                best = (key, rank)
    assert best is not None
    stock_best = [max((h.score for h in stock.hits[r]), default=0.0) for r in dev]
    adapted_best = [max((h.score for h in adapted.hits[r]), default=0.0) for r in dev]
    share = float(np.mean([b < STOCK_PRODUCT_RANK.clarify for b in stock_best]))
    clarify = min(best[1].answer, math.floor(float(np.quantile(adapted_best, share)) * 100) / 100)
    chosen = RankConfig(answer=best[1].answer, clarify=clarify, margin=best[1].margin)
    return chosen, {
        "stock_dev": base,
        "stock_handoff_share_dev": share,
        "best_cosine_dev_p1_p50": {
            "stock": [round(float(np.percentile(stock_best, q)), 3) for q in (1, 50)],
            "adapted": [round(float(np.percentile(adapted_best, q)), 3) for q in (1, 50)],
        },
    }


def threshold_report(
    pool: Pool,
    base_runs: Runs,
    served: HybridConfig,
    adapted: Adapted,
    relevant: list[set[str]],
    dev: list[int],
    test: list[int],
) -> dict[str, Any]:
    """Choose the adapted product thresholds on ``dev`` and print both halves' decisions, stock vs adapted."""
    stock = served_candidates(pool, base_runs, relevant, (served.fusion, served.rrf_k, served.lexical_weight))
    tuned = served_candidates(pool, adapted.runs, relevant, adapted.fusion)
    chosen, basis = choose_product_rank(stock, tuned, dev)
    print(
        f"\nproduct thresholds for the adapted encoder, chosen on the Myntra dev half ({len(dev)} queries): "
        f"answer {chosen.answer:.2f}, clarify {chosen.clarify:.2f}, margin {chosen.margin:.2f} "
        f"(stock {STOCK_PRODUCT_RANK.answer}/{STOCK_PRODUCT_RANK.clarify}/{STOCK_PRODUCT_RANK.margin}; best "
        f"candidate's cosine on dev p1/p50: stock {basis['best_cosine_dev_p1_p50']['stock']}, adapted "
        f"{basis['best_cosine_dev_p1_p50']['adapted']}; stock hand-off share {basis['stock_handoff_share_dev']:.3f})"
        f"; served (retrieval.config.ADAPTED_PRODUCT_RANK): {ADAPTED_PRODUCT_RANK.answer}/"
        f"{ADAPTED_PRODUCT_RANK.clarify}/{ADAPTED_PRODUCT_RANK.margin}, lexical w {ADAPTED_LEXICAL_WEIGHT}"
    )
    out: dict[str, Any] = {
        "product_rank": {"answer": chosen.answer, "clarify": chosen.clarify, "margin": chosen.margin},
        "lexical_weight": adapted.fusion[2],
        "fusion": adapted.fusion[0],
        **basis,
    }
    print(f"  {'half / encoder (thresholds)':44s} " + " ".join(f"{o:>16s}" for o in OUTCOMES))
    for half, rows in (("dev", dev), ("test", test)):
        for label, cands, rank in (
            (
                f"stock hybrid ({STOCK_PRODUCT_RANK.answer}/{STOCK_PRODUCT_RANK.clarify})",
                stock,
                STOCK_PRODUCT_RANK,
            ),
            (f"adapted hybrid ({chosen.answer:.2f}/{chosen.clarify:.2f})", tuned, chosen),
            ("adapted hybrid, stock thresholds", tuned, STOCK_PRODUCT_RANK),
        ):
            counts = outcomes(cands, rows, rank)
            out[f"{half}: {label}"] = counts
            print(f"  {half + ': ' + label:44s} " + " ".join(f"{counts[o]:>16d}" for o in OUTCOMES))
    return out


def adapted_section(
    args: Any,
    frame: Any,
    sample: Any,
    pool: Pool,
    m_queries: list[str],
    m_rel: list[set[str]],
    dev: list[int],
    test: list[int],
    runs: Runs,
    served: HybridConfig,
    kb_sets: dict[str, tuple[Pool, list[str], list[set[str]]]],
    report_json: dict[str, Any],
    compare: Callable[..., dict[str, dict[str, float]]],
    report: Callable[[str, dict[str, dict[str, float]]], None],
) -> dict[str, list[list[str]]]:
    """Train (cached) each ``args.adapt`` setting, keep the best on the dev half, add its KB rows and choose its
    product thresholds; returns its Myntra columns."""
    items = adapt_items(frame, sample)  # the 1,000 query products (dev and test) are never trained on
    print(f"\ncatalog-adapted encoder: {len(items)} products outside the {len(sample)} query products")
    tried = [adapted_runs(s, items, pool, m_queries, m_rel, dev, rank_metrics) for s in args.adapt]
    for a in tried:
        print(
            f"  {a.spec}: {a.meta['pairs']} pairs, {a.meta['steps']} steps, {a.meta['train_seconds']} s; "
            f"dev top-1 dense {a.dev_dense['top1']:.3f}, hybrid {a.dev_hybrid['top1']:.3f} "
            f"({a.fusion[0]}, k={a.fusion[1]:g}, w={a.fusion[2]:g})"
        )
    best = max(tried, key=lambda a: (round(a.dev_hybrid["top1"], 6), round(a.dev_dense["top1"], 6)))
    report_json["adapted"] = [
        {"spec": a.spec, "dev_dense": a.dev_dense, "dev_hybrid": a.dev_hybrid, "fusion": a.fusion, **a.meta}
        for a in tried
    ]
    report_json["adapted_chosen"] = best.spec
    for name, (kb_pool, kb_queries, kb_rel) in kb_sets.items():
        adapted_kb(name, kb_pool, kb_queries, kb_rel, best, served, report_json, compare, report)
    report_json["adapted_serving"] = threshold_report(pool, runs, served, best, m_rel, dev, test)
    return adapted_lists(pool, best, list(range(len(m_queries))))
