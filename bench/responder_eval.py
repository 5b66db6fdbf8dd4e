"""Responder benchmark: BM25 vs bi-encoder vs bi-encoder + responder, and re-rank latency fp32 vs bf16 vs int8.

    .venv/app/bin/python -m bench.responder_eval [--data-dir ../shared/data] [--checkpoint var/responder]
        [--responder-data var/responder-data] [--myntra-products 1000] [--myntra-questions 150]

Dev sets, all in one run:
  kb_paraphrases   hand-written shopper questions for the demo KB (bench.retrieval_quality.KB_PARAPHRASES)
                   against every KB entry, each found by its passage or any of its example questions (as the
                   kb index serves them); also reported on the entries in the responder's dev split only
                   (answers it never saw in training);
  ecommerce_faq    the 79 questions of ../shared/data/ecommerce_faq against its 79 answers;
  myntra           known-item product questions written by code (another seed than training) about a sample
                   of ../shared/data/myntra/catalog.csv, against that sample.
Methods: BM25 over the pool; the bi-encoder (all-MiniLM-L6-v2, flat FAISS); the responder re-ranking the
bi-encoder's top-k (k=20). Metrics: top-1, MRR@10, and the answered / clarified / handed-off shares with the
accuracy of each (responder: its fitted thresholds; bi-encoder: retrieval.config's cosine thresholds).
Latency: Responder.score for k = 10/20/50 candidates, p50/p95 over real questions, fp32 vs bf16 weights vs
dynamic int8, and what the action server serves (the ``auto`` precision through torch.compile at the fixed
shape [k=20, max_length]: k=10 is padded to 20 rows, k=50 runs as three chunks), torch on 2 threads (bf16 is only
fast on a CPU with AMX-BF16; the report says which precision ``auto`` serves here). Writes results/responder_eval.json and results/responder_latency.png.
``--gate``: only the gate of issue 15 (bench/responder_gate.py: always re-rank vs gated on the served hybrid
candidates, gate chosen on a dev half, held-out half reported); writes results/responder_gate.json.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from retrieval.responder import Responder
    from retrieval.responder.config import Thresholds

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class DevSet:
    name: str
    queries: list[str]
    answers: list[str]  # the right passage id per query
    pool_ids: list[str]
    pool_texts: list[str]
    product: bool
    pool_keys: list[tuple[str, ...]] | None = None  # more texts each pool item is found by (KB questions)


def pool_similarity(encoder: Any, ds: DevSet) -> np.ndarray:
    """[queries, pool] cosine; an item with ``pool_keys`` scores by its best text, as the kb index folds."""
    qv = encoder.encode(ds.queries)
    sims = qv @ encoder.encode(ds.pool_texts).T
    owners = [j for j, keys in enumerate(ds.pool_keys or []) for _ in keys]
    if owners:  # every key encoded in one batch, then each folded into its item's column
        key_sims = qv @ encoder.encode([k for keys in ds.pool_keys or [] for k in keys]).T
        for column, j in enumerate(owners):
            sims[:, j] = np.maximum(sims[:, j], key_sims[:, column])
    return sims


def bm25_ranks(ds: DevSet) -> list[int | None]:
    from rank_bm25 import BM25Okapi

    def tok(text: str) -> list[str]:
        return re.findall(r"[a-z0-9]+", text.lower())

    bm25 = BM25Okapi([tok(t) for t in ds.pool_texts])
    index = {pid: i for i, pid in enumerate(ds.pool_ids)}
    ranks: list[int | None] = []
    for q, a in zip(ds.queries, ds.answers, strict=True):
        scores = bm25.get_scores(tok(q))
        order = np.argsort(-scores, kind="stable")
        ranks.append(int(np.nonzero(order == index[a])[0][0]) + 1)
    return ranks


def rank_in(ids: Sequence[str], answer: str) -> int | None:
    return ids.index(answer) + 1 if answer in ids else None


def metrics(ranks: Sequence[int | None]) -> dict[str, float]:
    from retrieval.responder.training.metrics import mrr, top1

    return {"top1": round(top1(ranks), 4), "mrr10": round(mrr(ranks, 10), 4)}


def routing(
    probs: list[np.ndarray], positives: list[int], thresholds: Thresholds
) -> dict[str, dict[str, float]]:
    from retrieval.responder.training.metrics import routing as route

    return {
        r.kind: {"share": round(r.share, 3), "accuracy": round(r.accuracy, 3)}
        for r in route(probs, positives, thresholds)
    }


def load_sets(args: argparse.Namespace) -> list[DevSet]:
    from retrieval.responder.training.questions import product_question
    from retrieval.responder.training.sources import (
        kb_passage,
        load_faq,
        load_kb,
        load_myntra,
        product_passage,
    )

    sets: list[DevSet] = []
    kb = load_kb(ROOT / "training_data" / "kb")
    from bench.retrieval_quality import KB_PARAPHRASES

    kb_ids = [f"kb:{e.id}" for e in kb]
    kb_texts = [kb_passage(e) for e in kb]
    pairs = [(q, f"kb:{a}") for q, a in KB_PARAPHRASES if f"kb:{a}" in kb_ids]
    kb_keys = [tuple(dict.fromkeys([e.question, *e.paraphrases])) for e in kb]  # as the kb index holds them
    sets.append(
        DevSet(
            "kb_paraphrases", [q for q, _ in pairs], [a for _, a in pairs], kb_ids, kb_texts, False, kb_keys
        )
    )
    dev_split = _dev_split(args.responder_data)
    if dev_split:
        held = [(q, a) for q, a in pairs if a in dev_split]
        if held:
            sets.append(
                DevSet(
                    "kb_paraphrases_heldout",
                    [q for q, _ in held],
                    [a for _, a in held],
                    kb_ids,
                    kb_texts,
                    False,
                    kb_keys,
                )
            )
    faq_path = args.data_dir / "ecommerce_faq" / "faq.json"
    if faq_path.is_file():
        faq = load_faq(faq_path)
        sets.append(
            DevSet(
                "ecommerce_faq",
                [e.question for e in faq],
                [e.id for e in faq],
                [e.id for e in faq],
                [e.answer for e in faq],
                False,
            )
        )
    else:
        print(f"skipping ecommerce_faq: {faq_path} not found", file=sys.stderr)
    myntra_path = args.data_dir / "myntra" / "catalog.csv"
    if myntra_path.is_file():
        products = load_myntra(myntra_path, limit=args.myntra_products, seed=args.seed)
        rng = random.Random(args.seed + 1000)
        asked = rng.sample(products, min(args.myntra_questions, len(products)))
        sets.append(
            DevSet(
                "myntra_known_item",
                [product_question(p, rng) for p in asked],
                [p.id for p in asked],
                [p.id for p in products],
                [product_passage(p) for p in products],
                True,
            )
        )
    else:
        print(f"skipping myntra: {myntra_path} not found", file=sys.stderr)
    return sets


def _dev_split(data: Path) -> set[str]:
    path = data / "passages.jsonl"
    if not path.is_file():
        return set()
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {r["id"] for r in rows if r["split"] == "dev"}


def evaluate(ds: DevSet, responders: dict[str, Responder], k: int, encoder: Any) -> dict[str, Any]:
    from retrieval.config import RetrievalConfig
    from retrieval.responder.config import Thresholds

    sims = pool_similarity(encoder, ds)
    orders = np.argsort(-sims, axis=1, kind="stable")
    text_of = dict(zip(ds.pool_ids, ds.pool_texts, strict=True))
    bi_ranks, top_ids, top_scores = [], [], []
    for qi, answer in enumerate(ds.answers):
        ids = [ds.pool_ids[j] for j in orders[qi]]
        bi_ranks.append(rank_in(ids, answer))
        top_ids.append(ids[:k])
        top_scores.append(sims[qi, orders[qi][:k]].astype("float32"))
    rank_cfg = RetrievalConfig().product_rank if ds.product else RetrievalConfig().kb_rank
    bi_thresholds = Thresholds(
        answer=rank_cfg.answer,
        clarify=min(rank_cfg.clarify, rank_cfg.answer),
        margin=rank_cfg.margin,
        choice_floor=0.0,
        max_choices=min(3, max(2, rank_cfg.max_choices)),
    )
    positives = [ids.index(a) if a in ids else -1 for ids, a in zip(top_ids, ds.answers, strict=True)]
    out: dict[str, Any] = {
        "questions": len(ds.queries),
        "pool": len(ds.pool_ids),
        "bm25": metrics(bm25_ranks(ds)),
        "bi_encoder": {**metrics(bi_ranks), "routing": routing(top_scores, positives, bi_thresholds)},
        f"recall@{k}": round(float(np.mean([p >= 0 for p in positives])), 4),
    }
    for name, responder in responders.items():
        probs_list, ce_ranks, fused_ranks = [], [], []
        for q, ids, scores, answer in zip(ds.queries, top_ids, top_scores, ds.answers, strict=True):
            texts = [text_of[i] for i in ids]
            logits = responder.logits(
                q, texts
            )  # one forward pass; score() would be the same plus calibration
            probs = np.zeros(len(logits), dtype="float32")
            finite = np.isfinite(logits)
            fusion = responder.calibration.for_kind("product" if ds.product else "kb")
            probs[finite] = fusion(logits[finite], scores[finite])
            probs_list.append(probs)
            fused_ranks.append(rank_in([ids[j] for j in np.argsort(-probs, kind="stable")], answer))
            ce_ranks.append(rank_in([ids[j] for j in np.argsort(-logits, kind="stable")], answer))
        out[f"responder_{name}"] = {
            **metrics(fused_ranks),
            "ce_only": metrics(ce_ranks),
            "routing": routing(probs_list, positives, responder.thresholds),
        }
    return out


def latency(
    responders: dict[str, Responder], ds: DevSet, ks: Sequence[int], runs: int
) -> dict[str, dict[str, float]]:
    rng = random.Random(0)
    out: dict[str, dict[str, float]] = {}
    cases = [(name, k, True) for name in responders for k in ks]
    cases += [(name, 20, False) for name in responders]  # without the retrieval scores: encodes them too
    for name, k, with_prior in cases:
        responder = responders[name]
        times = []
        for i in range(runs + 3):
            q = ds.queries[i % len(ds.queries)]
            texts = rng.sample(ds.pool_texts, min(k, len(ds.pool_texts)))
            prior = np.zeros(len(texts), dtype="float32") if with_prior else None
            started = time.perf_counter()
            responder.score(q, texts, prior=prior)
            if i >= 3:
                times.append((time.perf_counter() - started) * 1000)
        key = f"{name}_k{k}" if with_prior else f"{name}_k{k}_prior_computed"
        out[key] = {
            "p50_ms": round(float(np.percentile(times, 50)), 1),
            "p95_ms": round(float(np.percentile(times, 95)), 1),
        }
    return out


def plot(lat: dict[str, dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(lat)
    fig, ax = plt.subplots(figsize=(8, 4))
    x = np.arange(len(names))
    ax.bar(x - 0.2, [lat[n]["p50_ms"] for n in names], 0.4, label="p50")
    ax.bar(x + 0.2, [lat[n]["p95_ms"] for n in names], 0.4, label="p95")
    ax.axhline(50, color="red", linestyle="--", label="target p95 (k=20)")
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set_ylabel("ms per re-rank")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "var" / "responder")
    parser.add_argument("--responder-data", type=Path, default=ROOT / "var" / "responder-data")
    parser.add_argument("--myntra-products", type=int, default=1000)
    parser.add_argument("--myntra-questions", type=int, default=150)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--latency-runs", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--latency-only", action="store_true", help="skip the quality part")
    parser.add_argument(
        "--gate",
        action="store_true",
        help="only the gate (issue 15): always re-rank vs gated, dev choice, held-out report (bench.responder_gate)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "responder_eval.json")
    args = parser.parse_args(argv)

    import torch

    from retrieval.encoder import shared_encoder
    from retrieval.responder import ResponderConfig, ResponderError, load_responder
    from retrieval.responder.model import PRECISIONS, cpu_has_amx_bf16

    torch.set_num_threads(args.threads)
    if args.gate:
        return gate_main(args)
    try:
        responders = {p: load_responder(args.checkpoint, precision=p) for p in PRECISIONS}
        # what the action server serves: the auto precision, compiled at the shape [k, max_length]
        served = load_responder(args.checkpoint, config=ResponderConfig(compile=True, top_k=args.k))
        auto = served.precision
    except ResponderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    encoder = shared_encoder()
    report: dict[str, object] = {
        "checkpoint": str(args.checkpoint),
        "k": args.k,
        "threads": args.threads,
        "thresholds": responders["fp32"].thresholds.__dict__,
        "auto_precision": auto,
        "cpu_amx_bf16": cpu_has_amx_bf16(),
        "precisions_kept_on_dev": responders["fp32"].meta["serving"].get("precisions_kept"),
        "sets": {},
    }
    sets = load_sets(args)
    for ds in [] if args.latency_only else sets:
        started = time.time()
        result = evaluate(ds, responders, args.k, encoder)
        report["sets"][ds.name] = result  # type: ignore[index]
        print(
            f"\n== {ds.name}: {result['questions']} questions, pool {result['pool']}, "
            f"bi-encoder recall@{args.k} {result[f'recall@{args.k}']} ({time.time() - started:.0f}s)"
        )
        print(f"{'method':28} {'top1':>6} {'MRR@10':>7}   answer (acc)   clarify (acc)   handoff (acc)")
        for method in ("bm25", "bi_encoder", *(f"responder_{p}" for p in PRECISIONS)):
            row = result[method]
            line = f"{method:28} {row['top1']:6.3f} {row['mrr10']:7.3f}"
            if "routing" in row:
                line += "   " + "   ".join(
                    f"{row['routing'][k]['share']:.2f} ({row['routing'][k]['accuracy']:.2f})"
                    for k in ("answer", "clarify", "handoff")
                )
            print(line)
            if "ce_only" in row:
                print(
                    f"{'  (cross-encoder alone)':28} {row['ce_only']['top1']:6.3f} {row['ce_only']['mrr10']:7.3f}"
                )
    lat_set = next((s for s in sets if s.product), sets[0])
    compiled = served.model.fixed_rows is not None
    lat = latency(
        {**responders, f"{auto}+compile" if compiled else f"{auto}(compile failed)": served},
        lat_set,
        (10, 20, 50),
        args.latency_runs,
    )
    report["latency_ms"] = lat
    print(
        f"\n== re-rank latency on {lat_set.name} passages, {args.threads} threads ({args.latency_runs} runs)"
    )
    for name, row in lat.items():
        print(f"{name:24} p50 {row['p50_ms']:7.1f} ms   p95 {row['p95_ms']:7.1f} ms")
    print(
        f"auto serves {auto} here (AMX-BF16: {cpu_has_amx_bf16()}; kept dev quality: "
        f"{', '.join(report['precisions_kept_on_dev'] or ['fp32'])})"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    plot(lat, args.out.with_name("responder_latency.png"))
    print(f"\nwrote {args.out} and {args.out.with_name('responder_latency.png')}")
    return 0


def gate_main(args: argparse.Namespace) -> int:
    """The served precision (``auto``, eager) with and without the gate on the same questions, one run."""
    from bench.responder_gate import evaluate_gate, print_report
    from retrieval.encoder import shared_encoder
    from retrieval.responder import ResponderConfig, ResponderError, load_responder

    try:
        responder = load_responder(args.checkpoint, config=ResponderConfig(top_k=args.k))
    except ResponderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = time.time()
    report = evaluate_gate(load_sets(args), responder, shared_encoder(), args.k, args.seed)
    report |= {"precision": responder.precision, "seconds": round(time.time() - started)}
    print_report(report)
    out = args.out.with_name("responder_gate.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {out} ({report['seconds']} s, {responder.precision})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
