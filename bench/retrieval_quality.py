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

import numpy as np

try:
    from bench.retrieval_common import ROOT, cached_embeddings, data_dir, rank_metrics
except ImportError:  # run as a script: bench/ is on sys.path
    from retrieval_common import ROOT, cached_embeddings, data_dir, rank_metrics  # type: ignore[no-redef]

from retrieval.config import EncoderConfig
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


def rrf(*rankings: list[list[str]], k: int = 10, c: int = 60) -> list[list[str]]:
    """Reciprocal-rank fusion of several rankings per query."""
    out = []
    for rows in zip(*rankings, strict=True):
        scores: dict[str, float] = {}
        for row in rows:
            for rank, item in enumerate(row):
                scores[item] = scores.get(item, 0.0) + 1.0 / (c + rank + 1)
        out.append(sorted(scores, key=lambda i: -scores[i])[:k])
    return out


def dedupe(row: list[str], k: int = 10) -> list[str]:
    return list(dict.fromkeys(row))[:k]


def report(name: str, results: dict[str, dict[str, float]]) -> None:
    print(f"\n{name}")
    print(f"  {'method':38s} {'top-1':>7s} {'MRR@10':>7s} {'NDCG@10':>8s}")
    for method, m in results.items():
        print(f"  {method:38s} {m['top1']:7.3f} {m['mrr@10']:7.3f} {m['ndcg@10']:8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir")
    parser.add_argument("--myntra-queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    encoder = SentenceTransformerEncoder(EncoderConfig())
    shared = data_dir(args.data_dir)

    # (a) demo knowledge base
    entries = load_kb(ROOT / "training_data" / "kb")
    ids = [e.id for e in entries]
    docs = [" ".join([e.title, *e.questions, e.answer]) for e in entries]
    queries = [q for q, _ in KB_PARAPHRASES]
    relevant = [{i} for _, i in KB_PARAPHRASES]
    assert all(i in ids for _, i in KB_PARAPHRASES)
    qv = encoder.encode(queries)
    multi_ids, multi_texts = [], []
    for e in entries:
        for text in [*e.questions, f"{e.title}. {e.answer}"]:
            multi_ids.append(e.id)
            multi_texts.append(text)
    report(
        f"(a) demo KB: {len(queries)} paraphrased questions, {len(entries)} entries",
        {
            "BM25 (title+questions+answer)": rank_metrics(bm25_rank(docs, queries, ids), relevant),
            "bi-encoder, one vector per entry": rank_metrics(
                dense_rank(encoder.encode(docs), qv, ids), relevant
            ),
            "bi-encoder, per question (production)": rank_metrics(
                [dedupe(r) for r in dense_rank(encoder.encode(multi_texts), qv, multi_ids, k=40)], relevant
            ),
        },
    )

    faq_path = shared / "ecommerce_faq" / "faq.json"
    if faq_path.exists():
        faq = json.loads(faq_path.read_text(encoding="utf-8"))["questions"]
        f_ids = [str(n) for n in range(len(faq))]
        answers = [r["answer"] for r in faq]
        f_queries = [r["question"] for r in faq]
        f_rel = [{i} for i in f_ids]
        report(
            f"(a) ecommerce_faq: {len(faq)} questions → their answers",
            {
                "BM25": rank_metrics(bm25_rank(answers, f_queries, f_ids), f_rel),
                "bi-encoder": rank_metrics(
                    dense_rank(encoder.encode(answers), encoder.encode(f_queries), f_ids), f_rel
                ),
            },
        )
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
    start = time.perf_counter()
    doc_vectors = cached_embeddings(
        "myntra_title_docs",
        frame["doc"].tolist(),
        SentenceTransformerEncoder(EncoderConfig(max_seq_length=64)),
    )
    encode_s = time.perf_counter() - start
    m_queries = sample["query"].tolist()
    m_rel = [{str(i)} for i in sample["ProductID"]]
    bm25_m = bm25_rank(frame["doc"].tolist(), m_queries, m_ids, k=50)
    dense_m = dense_rank(doc_vectors, encoder.encode(m_queries), m_ids, k=50)
    report(
        f"(b) Myntra known-item: {len(m_queries)} description-sentence queries over {len(m_ids)} titles "
        f"(doc encoding {encode_s:.0f}s incl. cache)",
        {
            "BM25": rank_metrics(bm25_m, m_rel),
            "bi-encoder": rank_metrics(dense_m, m_rel),
            "hybrid (RRF of both, not in production)": rank_metrics(rrf(bm25_m, dense_m), m_rel),
        },
    )


if __name__ == "__main__":
    main()
