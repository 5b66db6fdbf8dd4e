"""Retrieval quality: BM25 (rank_bm25) vs the bi-encoder, same run, same data.

    .venv/app/bin/python -m bench.retrieval_quality [--data-dir ../shared/data] [--myntra-queries 1000]

(a) knowledge-base questions: paraphrased shopper questions written for the demo KB (below, none of them appear
    in training_data/kb/) against its entries; and the 79 question→answer pairs of ecommerce_faq (query: the
    question; corpus: the 79 answers).
(b) known-item product search on the Myntra catalog: the query is the first sentence of a product's description,
    the corpus is every product's title + brand + colour (descriptions are not indexed), one relevant item.
Reports top-1, MRR@10, NDCG@10.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.hybrid_eval import (
    Pool,
    Runs,
    dense_lists,
    hybrid_lists,
    rerank,
    run_pool,
    tune,
)
from bench.retrieval_common import RESULTS, ROOT, cached_embeddings, data_dir, rank_metrics
from retrieval.config import EncoderConfig, HybridConfig
from retrieval.encoder import SentenceTransformerEncoder
from retrieval.kb import load_kb

# Paraphrased questions for the demo knowledge base (written for this benchmark): (question, entry id).
KB_PARAPHRASES = [
    ("can you send my order to Portugal", "ship-countries"),
    ("do you deliver to the states", "ship-countries"),
    ("what does delivery cost me", "ship-costs"),
    ("how much do I need to spend for free postage", "ship-costs"),
    ("I need it tomorrow, is that possible", "ship-express"),
    ("fastest shipping option?", "ship-express"),
    ("will the parcel arrive on a saturday", "ship-weekend"),
    ("can I collect from a locker near me", "ship-pickup"),
    ("the courier came while I was out", "ship-missed"),
    ("I only got half of my items", "ship-split"),
    ("could you wrap it as a present", "ship-gift-wrap"),
    ("can I include a birthday note", "ship-gift-wrap"),
    ("is the box plastic free", "ship-packaging"),
    ("will there be import charges to Switzerland", "ship-customs"),
    ("how can I send an item back", "ret-how"),
    ("do I have to pay to return stuff", "ret-cost"),
    ("I want the same shoes one size bigger", "ret-exchange"),
    ("can discounted things be returned", "ret-sale"),
    ("can I send back earrings", "ret-nonreturnable"),
    ("my mug arrived smashed", "ret-damaged"),
    ("you sent me the wrong item", "ret-damaged"),
    ("the zipper broke after a few months", "ret-warranty"),
    ("do you offer invoice payment for companies", "pay-invoice"),
    ("can I pay later", "pay-invoice"),
    ("do you accept cash when the parcel arrives", "pay-cod"),
    ("can I use ethereum", "pay-crypto"),
    ("is my credit card data secure with you", "pay-security"),
    ("when do you take the money", "pay-when-charged"),
    ("are prices shown with tax", "pay-currency"),
    ("where do I type my voucher code", "pay-vouchers"),
    ("can I buy a gift voucher", "pay-vouchers"),
    ("it got cheaper a day after I bought it", "pay-price-match"),
    ("do I have to sign up to order", "acc-guest"),
    ("what are the perks of premium", "acc-premium"),
    ("I need invoices with my company's VAT ID", "acc-business"),
    ("how do I get a copy of my invoice", "acc-invoice-copy"),
    ("who do you share my information with", "priv-data"),
    ("I want a copy of all my personal data", "priv-export"),
    ("how do I reject analytics cookies", "priv-cookies"),
    ("is this conversation stored", "priv-chat"),
    ("what size should I get", "size-guide"),
    ("convert US shoe size 9 to european", "size-conversion"),
    ("at what temperature should I wash cotton", "care-washing"),
    ("how to take care of leather boots", "care-leather"),
    ("my jumper has little balls of fluff", "care-wool"),
    ("when will the sold out jacket come back", "prod-restock"),
    ("are these genuine brand products", "prod-authentic"),
    ("can I visit you in person", "shop-stores"),
    ("what time does support open", "shop-hours"),
    ("are your clothes eco friendly", "shop-sustainability"),
    ("any discount for students", "shop-student"),
]


def bm25_rank(corpus: list[str], queries: list[str], ids: list[str], k: int = 10) -> list[list[str]]:
    from rank_bm25 import BM25Okapi

    def tok(text: str) -> list[str]:
        return re.findall(r"[a-z0-9]+", text.lower())

    bm25 = BM25Okapi([tok(doc) for doc in corpus])
    out = []
    for q in queries:
        scores = bm25.get_scores(tok(q))
        out.append([ids[j] for j in np.argsort(-scores)[:k]])
    return out


def dense_rank(
    doc_vectors: np.ndarray, query_vectors: np.ndarray, ids: list[str], k: int = 10
) -> list[list[str]]:
    import faiss

    index = faiss.IndexFlatIP(doc_vectors.shape[1])
    index.add(np.ascontiguousarray(doc_vectors, dtype="float32"))
    _, found = index.search(np.ascontiguousarray(query_vectors, dtype="float32"), k)
    return [[ids[j] for j in row if j >= 0] for row in found]


def report(name: str, results: dict[str, dict[str, float]]) -> None:
    print(f"\n{name}")
    print(f"  {'method':44s} {'top-1':>7s} {'MRR@10':>7s} {'NDCG@10':>8s}")
    for method, m in results.items():
        print(f"  {method:44s} {m['top1']:7.3f} {m['mrr@10']:7.3f} {m['ndcg@10']:8.3f}")


def load_responder_or_none(path: Path) -> Any:
    try:
        from retrieval.responder import ResponderConfig, load_responder

        return load_responder(path, config=ResponderConfig(top_k=20))
    except Exception as exc:  # not trained yet: the responder rows are left out, and the report says why
        print(f"\nresponder rows skipped: {type(exc).__name__}: {exc}")
        return None


def method_lists(
    pool: Pool,
    queries: list[str],
    runs: Runs,
    hybrid: HybridConfig,
    responder: Any,
    extra: dict[str, list[list[str]]] | None = None,
    responder_rows: list[int] | None = None,
) -> dict[str, list[list[str]]]:
    """Every method's ranked ids per query: BM25 vs dense vs hybrid (vs dense / hybrid + responder, on
    ``responder_rows`` only when given: the others get empty lists and are not reported)."""
    rows = list(range(len(queries)))
    dense = dense_lists(pool, runs, rows)
    weight = hybrid.weight_for("kb" if pool.kind == "kb" else "catalog")
    fused = hybrid_lists(pool, runs, rows, hybrid.rrf_k, weight, hybrid.fusion)
    out = {f"{n} (issue 3)": lst for n, lst in (extra or {}).items()}
    out["BM25 (served tokens, retrieval.hybrid)"] = runs.lexical
    out["dense (all-MiniLM-L6-v2)"] = dense
    fusion = f"RRF k={hybrid.rrf_k:g}" if hybrid.fusion == "rrf" else "score"
    out[f"hybrid ({fusion}, lexical w={weight:g})"] = fused
    if (hybrid.fusion, weight) != ("rrf", 0.5):  # the equal-weight RRF, for comparison (not served)
        out[f"  tried: RRF k={hybrid.rrf_k:g}, lexical w=0.5"] = hybrid_lists(
            pool, runs, rows, hybrid.rrf_k, 0.5
        )
    if responder is not None:
        chosen = rows if responder_rows is None else responder_rows
        for name, lists in (("dense + responder (production today)", dense), ("hybrid + responder", fused)):
            reranked = rerank(responder, pool, runs, queries, chosen, [lists[r] for r in chosen])
            out[name] = [[] for _ in rows]
            for r, lst in zip(chosen, reranked, strict=True):
                out[name][r] = lst
    return out


def compare(
    lists: dict[str, list[list[str]]], relevant: list[set[str]], rows: list[int] | None = None
) -> dict[str, dict[str, float]]:
    rows = list(range(len(relevant))) if rows is None else rows
    rel = [relevant[r] for r in rows]
    return {
        name: rank_metrics([lst[r] for r in rows], rel)
        for name, lst in lists.items()
        if all(lst[r] for r in rows)  # a method run on part of the queries is reported on that part only
    }


def tune_kb_weight(kb: Pool, encoder: Any, served: HybridConfig) -> None:
    """The KB's lexical weight on generated dev questions (the responder's paraphrase generator, another seed;
    the hand-written paraphrases and ecommerce_faq are never tuned on)."""
    from retrieval.responder.training.questions import kb_questions
    from retrieval.responder.training.sources import load_kb as load_kb_sources

    rng = random.Random(7)
    pairs = [
        (q, e.id)
        for e in load_kb_sources(ROOT / "training_data" / "kb")
        for q in kb_questions(e, rng, 4, include_given=False)
    ]
    queries = [q for q, _ in pairs]
    relevant = [{i} for _, i in pairs]
    runs = run_pool(kb, queries, encoder.encode(queries), encoder.encode([t for ts in kb.texts for t in ts]))
    rows = list(range(len(queries)))
    print(
        f"\nKB lexical weight on {len(queries)} generated KB dev questions ({served.fusion} fusion), top-1 (MRR@10):"
    )
    results = []
    for weight in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5):
        m = rank_metrics(hybrid_lists(kb, runs, rows, served.rrf_k, weight, served.fusion), relevant)
        results.append((round(m["top1"], 6), round(m["mrr@10"], 6), -weight))
        print(f"  w={weight:.1f}: {m['top1']:.3f} ({m['mrr@10']:.3f})")
    best = max(results)
    print(f"  best on KB dev: w={-best[2]:.1f} (served: {served.kb_lexical_weight:g})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir")
    parser.add_argument("--myntra-queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--responder", default=str(ROOT / "var" / "responder"))
    parser.add_argument("--no-responder", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    encoder = SentenceTransformerEncoder(EncoderConfig())
    shared = data_dir(args.data_dir)
    served = HybridConfig()  # what the service runs (its defaults were tuned on the Myntra dev half below)
    responder = None if args.no_responder else load_responder_or_none(Path(args.responder))
    report_json: dict[str, Any] = {"served": served.__dict__ | {"languages": list(served.languages)}}

    # (a) demo knowledge base: an entry is found by any of its questions or its title + answer (as served)
    entries = load_kb(ROOT / "training_data" / "kb")
    ids = [e.id for e in entries]
    docs = [" ".join([e.title, *e.questions, e.answer]) for e in entries]
    queries = [q for q, _ in KB_PARAPHRASES]
    relevant = [{i} for _, i in KB_PARAPHRASES]
    assert all(i in ids for _, i in KB_PARAPHRASES)
    kb = Pool(
        "kb",
        ids,
        [[*e.questions, f"{e.title}. {e.answer}"] for e in entries],
        [f"{e.title.rstrip('.')}. {e.answer}" for e in entries],
        "kb",
    )
    kb_runs = run_pool(
        kb, queries, encoder.encode(queries), encoder.encode([t for ts in kb.texts for t in ts])
    )
    tune_kb_weight(kb, encoder, served)
    report_json["kb"] = compare(
        method_lists(
            kb, queries, kb_runs, served, responder, {"BM25 rank_bm25": bm25_rank(docs, queries, ids)}
        ),
        relevant,
    )
    report(f"(a) demo KB: {len(queries)} paraphrased questions, {len(entries)} entries", report_json["kb"])

    faq_path = shared / "ecommerce_faq" / "faq.json"
    if faq_path.exists():
        faq = json.loads(faq_path.read_text(encoding="utf-8"))["questions"]
        f_ids = [str(n) for n in range(len(faq))]
        answers = [r["answer"] for r in faq]
        f_queries = [r["question"] for r in faq]
        f_rel = [{i} for i in f_ids]
        faq_pool = Pool("ecommerce_faq", f_ids, [[a] for a in answers], answers, "kb")
        f_runs = run_pool(faq_pool, f_queries, encoder.encode(f_queries), encoder.encode(answers))
        report_json["ecommerce_faq"] = compare(
            method_lists(
                faq_pool,
                f_queries,
                f_runs,
                served,
                responder,
                {"BM25 rank_bm25": bm25_rank(answers, f_queries, f_ids)},
            ),
            f_rel,
        )
        report(f"(a) ecommerce_faq: {len(faq)} questions → their answers", report_json["ecommerce_faq"])
    else:
        print(f"\n(a) ecommerce_faq skipped: {faq_path} absent")

    # (b) Myntra known-item search
    myntra = shared / "myntra" / "catalog.csv"
    if not myntra.exists():
        print(f"\n(b) Myntra skipped: {myntra} absent")
        return
    import pandas as pd

    frame = pd.read_csv(myntra).drop_duplicates("ProductID")
    frame["doc"] = (
        frame["ProductName"] + ". " + frame["ProductBrand"] + ". " + frame["PrimaryColor"].fillna("")
    ).str.strip()
    glued = re.compile(r"(?<=[a-z0-9])(?=[A-Z][a-z])")
    firsts = [glued.sub(". ", str(d)).split(". ")[0].split(", ")[0] for d in frame["Description"].fillna("")]
    frame["query"] = [" ".join(s.split()[:20]) for s in firsts]
    candidates = frame[frame["query"].str.split().str.len() >= 4]
    sample = candidates.sample(
        n=min(args.myntra_queries, len(candidates)), random_state=random.Random(args.seed).randint(0, 999)
    )
    m_ids = frame["ProductID"].astype(str).tolist()
    m_docs = frame["doc"].tolist()
    start = time.perf_counter()
    doc_vectors = cached_embeddings(
        "myntra_title_docs", m_docs, SentenceTransformerEncoder(EncoderConfig(max_seq_length=64))
    )
    encode_s = time.perf_counter() - start
    m_queries = sample["query"].tolist()
    m_rel = [{str(i)} for i in sample["ProductID"]]
    pool = Pool("myntra", m_ids, [[d] for d in m_docs], m_docs, "product")
    runs = run_pool(pool, m_queries, encoder.encode(m_queries), doc_vectors)
    start = time.perf_counter()
    from rank_bm25 import BM25Okapi

    BM25Okapi([re.findall(r"[a-z0-9]+", d.lower()) for d in m_docs])
    rank_bm25_build = time.perf_counter() - start
    start = time.perf_counter()
    bm25_m = bm25_rank(m_docs, m_queries, m_ids, k=50)
    rank_bm25_ms = ((time.perf_counter() - start) - rank_bm25_build) * 1000 / len(m_queries)
    print(
        f"\nBM25 engines over {len(m_ids)} titles: retrieval.hybrid.LexicalIndex (scipy.sparse) built in "
        f"{runs.lexical_build_s:.2f} s, {runs.lexical_query_ms:.2f} ms/query; rank_bm25 built in "
        f"{rank_bm25_build:.2f} s, {rank_bm25_ms:.2f} ms/query"
    )
    order = random.Random(args.seed + 1).sample(range(len(m_queries)), len(m_queries))
    dev, test = sorted(order[: len(order) // 2]), sorted(order[len(order) // 2 :])
    (best_method, best_k, best_w), grid = tune(pool, runs, m_rel, dev, rank_metrics)
    print(f"\nfusion tuned on the Myntra dev half ({len(dev)} queries), top-1 (MRR@10):")
    weights = sorted({g[2] for g in grid})
    print("  fusion \\ lexical w " + " ".join(f"{w:>13g}" for w in weights))
    for method, rrf_k in dict.fromkeys((g[0], g[1]) for g in grid):
        cells = [f"{m['top1']:.3f} ({m['mrr@10']:.3f})" for f, k, _, m in grid if (f, k) == (method, rrf_k)]
        label = f"RRF k={rrf_k:g}" if method == "rrf" else "score"
        print(f"  {label:>19s} " + " ".join(f"{c:>13s}" for c in cells))
    print(
        f"  best on dev: {best_method}, rrf_k={best_k:g}, lexical weight={best_w:g} "
        f"(served: {served.fusion}, {served.rrf_k:g}, {served.lexical_weight:g})"
    )
    report_json["myntra_grid"] = [{"fusion": f, "rrf_k": k, "lexical_weight": w, **m} for f, k, w, m in grid]
    title = (
        f"(b) Myntra known-item: description-sentence queries over {len(m_ids)} titles "
        f"(doc encoding {encode_s:.0f}s incl. cache)"
    )
    # the responder re-ranks the test half only (2 × 500 re-ranks; the CPU is shared)
    m_lists = method_lists(pool, m_queries, runs, served, responder, {"BM25 rank_bm25": bm25_m}, test)
    for split, rows in (("test", test), ("dev", dev), ("all", list(range(len(m_queries))))):
        report_json[f"myntra_{split}"] = compare(m_lists, m_rel, rows)
        report(f"{title}, {split}: {len(rows)} queries", report_json[f"myntra_{split}"])
    (RESULTS / "retrieval_quality.json").write_text(
        json.dumps(report_json, indent=2) + "\n", encoding="utf-8"
    )
    plot(report_json, RESULTS / "retrieval_hybrid.png")


def plot(report_json: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = [s for s in ("kb", "ecommerce_faq", "myntra_test") if s in report_json]
    methods = [m for m in report_json[sets[0]] if "issue 3" not in m]
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / len(methods)
    for n, method in enumerate(methods):
        values = [report_json[s].get(method, {}).get("top1", 0.0) for s in sets]
        ax.bar([x + n * width for x in range(len(sets))], values, width, label=method)
    ax.set_xticks([x + width * (len(methods) - 1) / 2 for x in range(len(sets))], sets)
    ax.set_ylabel("top-1")
    ax.set_title("BM25 vs dense vs hybrid (one run)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
