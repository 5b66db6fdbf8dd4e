"""NLU benchmark: our hand-written training data vs. the same plus Bitext train, on Bitext validation.

    .venv/rasa/bin/python bench/nlu_eval.py                       # both models
    .venv/rasa/bin/python bench/nlu_eval.py --only ours           # quick iteration on our data
    .venv/rasa/bin/python bench/nlu_eval.py --data-dir ../shared/data --out results/nlu
    .venv/rasa/bin/python bench/nlu_eval.py --only ours --configs configs/nlu_sparse.yml configs/nlu_dense_use.yml
    .venv/rasa/bin/python bench/nlu_eval.py --only ours --heldout eval/nlu_zh/test.yml   # + the Chinese set
    .venv/rasa/bin/python bench/nlu_eval.py --model models/shopdesk.tar.gz --heldout eval/nlu_zh/test.yml

Trains NLU-only models in temporary folders with config.yml (or each of --configs, on the same data and
splits), parses every validation utterance and prints intent accuracy (DIET's top intent, and with the
FallbackClassifier applied: a fallback counts as wrong), macro-F1, the fallback rate, entity recall on the
mapped Bitext entities, the NLU time per message (p50/p95 of one `parse` call: wall clock and process CPU,
with --threads TensorFlow/BLAS threads, 1 by default) and a per-intent report, side by side. With
--conversations (default eval/conversations/dev.yml when present) the user turns of the held-out
conversations that name an intent are scored too. With --heldout, each held-out Rasa NLU YAML file (the Chinese
set eval/nlu_zh/test.yml) is scored as a split of its own, with its own confusion matrix; with --model, an
already trained model is scored on the --heldout files only (no training, no Bitext data needed). Writes
confusion matrices (PNG) and a JSON summary to --out. The Bitext data is converted in a temp folder and never written into the repository.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# custom pipeline components in config.yml (e.g. rasa_addons.*) are imported from the repository root
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from nlu_bitext import BitextError, Example, default_data_dir, read_split, write_yaml
from nlu_heldout import read_heldout

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
FALLBACK = "nlu_fallback"


@dataclass
class Prediction:
    text: str
    gold: str
    top: str  # DIET's best intent, ignoring the fallback
    final: str  # after FallbackClassifier (may be nlu_fallback)
    confidence: float
    entities: list[tuple[str, str]] = field(default_factory=list)
    wall_ms: float = 0.0
    cpu_ms: float = 0.0


@dataclass
class Scores:
    name: str
    n_train: int
    train_seconds: float
    accuracy: float
    accuracy_with_fallback: float
    macro_f1: float
    fallback_rate: float
    entity_recall: float
    entity_total: int
    n_eval: int
    per_intent: dict[str, dict[str, float]]
    ms_p50: float = 0.0  # wall clock per parse
    ms_p95: float = 0.0
    cpu_ms_p50: float = 0.0  # process CPU per parse (all threads)
    cpu_ms_p95: float = 0.0


def _progress(iterable, total: int, desc: str):  # type: ignore[no-untyped-def]
    try:
        from tqdm import tqdm
    except ImportError:  # plain progress lines

        def plain():  # type: ignore[no-untyped-def]
            for i, item in enumerate(iterable, 1):
                if i % 100 == 0 or i == total:
                    print(f"{desc}: {i}/{total}", flush=True)
                yield item

        return plain()
    return tqdm(iterable, total=total, desc=desc, unit="msg")


def count_examples(nlu_dir: Path) -> int:
    from rasa.shared.nlu.training_data.loading import load_data

    return len(load_data(str(nlu_dir)).intent_examples)


def train(config: Path, nlu_dir: Path, out_dir: Path, name: str) -> tuple[Path, float]:
    from rasa.model_training import train_nlu

    print(f"[{name}] training NLU on {nlu_dir} ...", flush=True)
    start = time.perf_counter()
    model = train_nlu(str(config), str(nlu_dir), str(out_dir), fixed_model_name=name)
    took = time.perf_counter() - start
    if not model:
        raise RuntimeError(f"training {name} produced no model (see Rasa's log above)")
    print(f"[{name}] trained in {took:.0f} s -> {model}", flush=True)
    return Path(model), took


async def _parse_all(model: Path, examples: list[Example], name: str) -> list[Prediction]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    preds: list[Prediction] = []
    await agent.parse_message("warm up")  # first call builds TensorFlow's graph
    for ex in _progress(examples, len(examples), f"[{name}] parsing"):
        wall, cpu = time.perf_counter(), time.process_time()
        result = await agent.parse_message(ex.text)
        wall, cpu = (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000
        final = result["intent"]["name"]
        ranking = [r for r in result.get("intent_ranking", []) if r["name"] != FALLBACK]
        top = ranking[0]["name"] if ranking else final
        conf = float(ranking[0]["confidence"]) if ranking else 0.0
        ents = [(e["entity"], str(e.get("value", ""))) for e in result.get("entities", [])]
        preds.append(Prediction(ex.text, ex.intent, top, final, conf, ents, round(wall, 3), round(cpu, 3)))
    return preds


def score(name: str, preds: list[Prediction], examples: list[Example], n_train: int, took: float) -> Scores:
    import numpy as np
    from sklearn.metrics import accuracy_score, classification_report, f1_score

    gold = [p.gold for p in preds]
    top = [p.top for p in preds]
    final = [p.final for p in preds]
    labels = sorted(set(gold))  # macro averages over the gold intents only
    report = classification_report(gold, top, labels=labels, output_dict=True, zero_division=0)
    per_intent = {
        k: {m: round(float(v[m]), 4) for m in ("precision", "recall", "f1-score", "support")}
        for k, v in report.items()
        if isinstance(v, dict) and k not in ("macro avg", "weighted avg", "micro avg")
    }
    found = total = 0
    for pred, ex in zip(preds, examples, strict=True):
        for start, end, ent in ex.entities:
            total += 1
            value = ex.text[start:end].strip().lower()
            if any(e == ent and (v.lower() in value or value in v.lower()) and v for e, v in pred.entities):
                found += 1
    return Scores(
        name=name,
        n_train=n_train,
        train_seconds=round(took, 1),
        accuracy=round(accuracy_score(gold, top), 4),
        accuracy_with_fallback=round(accuracy_score(gold, final), 4),
        macro_f1=round(f1_score(gold, top, labels=labels, average="macro", zero_division=0), 4),
        fallback_rate=round(sum(f == FALLBACK for f in final) / max(len(final), 1), 4),
        entity_recall=round(found / total, 4) if total else 0.0,
        entity_total=total,
        n_eval=len(preds),
        per_intent=per_intent,
        ms_p50=round(float(np.percentile([p.wall_ms for p in preds], 50)), 2) if preds else 0.0,
        ms_p95=round(float(np.percentile([p.wall_ms for p in preds], 95)), 2) if preds else 0.0,
        cpu_ms_p50=round(float(np.percentile([p.cpu_ms for p in preds], 50)), 2) if preds else 0.0,
        cpu_ms_p95=round(float(np.percentile([p.cpu_ms for p in preds], 95)), 2) if preds else 0.0,
    )


def plot_confusion(
    name: str, preds: list[Prediction], out_dir: Path, source: str = "Bitext validation"
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    labels = sorted({p.gold for p in preds} | {p.top for p in preds})
    cm = confusion_matrix([p.gold for p in preds], [p.top for p in preds], labels=labels)
    fig, ax = plt.subplots(figsize=(14, 12))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if cm[i, j]:
                ax.text(
                    j,
                    i,
                    str(cm[i, j]),
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if cm[i, j] > cm.max() / 2 else "black",
                )
    ax.set_xlabel("predicted")
    ax.set_ylabel(f"gold ({source})")
    ax.set_title(f"NLU intent confusion — {name}")
    fig.tight_layout()
    path = out_dir / f"confusion_{name}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def print_side_by_side(results: list[Scores]) -> None:
    names = [r.name for r in results]
    rows = [
        ("training examples", [str(r.n_train) for r in results]),
        ("train time (s)", [f"{r.train_seconds:.0f}" for r in results]),
        ("intent accuracy (top-1)", [f"{r.accuracy:.4f}" for r in results]),
        ("accuracy incl. fallback", [f"{r.accuracy_with_fallback:.4f}" for r in results]),
        ("macro-F1", [f"{r.macro_f1:.4f}" for r in results]),
        ("fallback rate", [f"{r.fallback_rate:.4f}" for r in results]),
        ("entity recall", [f"{r.entity_recall:.4f}" for r in results]),
        ("entities scored", [str(r.entity_total) for r in results]),
        ("utterances scored", [str(r.n_eval) for r in results]),
        ("parse ms p50 / p95 (wall)", [f"{r.ms_p50:.1f}/{r.ms_p95:.1f}" for r in results]),
        ("parse CPU ms p50 / p95", [f"{r.cpu_ms_p50:.1f}/{r.cpu_ms_p95:.1f}" for r in results]),
    ]
    width = max(len(n) for n in names) + 2
    print()
    print("metric".ljust(30) + "".join(n.rjust(max(width, 12)) for n in names))
    for label, vals in rows:
        print(label.ljust(30) + "".join(v.rjust(max(width, 12)) for v in vals))
    print()
    intents = sorted({k for r in results for k in r.per_intent if k != "accuracy"})
    print("per-intent F1".ljust(30) + "".join(n.rjust(max(width, 12)) for n in names))
    for intent in intents:
        vals = [f"{r.per_intent.get(intent, {}).get('f1-score', 0.0):.3f}" for r in results]
        print(intent.ljust(30) + "".join(v.rjust(max(width, 12)) for v in vals))


def prepare_nlu_dirs(nlu_dir: Path, data_dir: Path, tmp: Path, only: str) -> dict[str, Path]:
    """Snapshot the training data once, so every config in one run trains on exactly the same examples."""
    snapshot = tmp / "nlu_ours"
    shutil.copytree(nlu_dir, snapshot)
    dirs: dict[str, Path] = {}
    if only in ("both", "ours"):
        dirs["ours"] = snapshot
    if only in ("both", "bitext"):
        combined = tmp / "nlu_ours_plus_bitext"
        shutil.copytree(snapshot, combined)
        write_yaml(data_dir, "train", combined)
        dirs["ours+bitext"] = combined
    return dirs


def read_conversation_turns(path: Path) -> list[Example]:
    """User turns that name their intent (`user:` + `intent:` in one step) anywhere in a conversation file."""
    import yaml

    found: list[Example] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            user, intent = node.get("user"), node.get("intent")
            if isinstance(user, str) and isinstance(intent, str) and user.strip():
                found.append(Example(user.strip(), intent))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return found


def _single_threaded(threads: int) -> None:
    """Pin TensorFlow's and the BLAS/OpenMP pools before Rasa (and TensorFlow) are imported."""
    for var in (
        "TF_INTRA_OP_PARALLELISM_THREADS",
        "TF_INTER_OP_PARALLELISM_THREADS",
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
    ):
        os.environ[var] = str(threads)


HELDOUT = "heldout:"  # prefix of the splits read from --heldout files


def heldout_splits(paths: list[Path]) -> dict[str, list[Example]]:
    """One split per held-out file, named after its folder and stem (eval/nlu_zh/test.yml: heldout:nlu_zh-test)."""
    return {f"{HELDOUT}{p.parent.name}-{p.stem}": read_heldout(p) for p in paths}


def report(name: str, split: str, preds: list[Prediction], scores: Scores, out: Path) -> None:
    """Confusion matrix and errors of a reported split (Bitext validation, held-out files)."""
    slug = name.replace("+", "_plus_").replace(":", "_").replace("@", "_")
    source = "Bitext validation" if split == "validation" else split.removeprefix(HELDOUT)
    png = plot_confusion(slug, preds, out, source)
    print(f"[{name}] accuracy {scores.accuracy:.4f}, macro-F1 {scores.macro_f1:.4f}; -> {png}")
    errors = [asdict(p) for p in preds if p.top != p.gold]
    (out / f"errors_{slug}.json").write_text(json.dumps(errors, indent=1, ensure_ascii=False))


def score_model(
    model: Path, name: str, splits: dict[str, list[Example]], out: Path, n_train: int = 0, took: float = 0.0
) -> list[Scores]:
    """Parse and score every split with one trained model; report validation and held-out splits."""
    results: list[Scores] = []
    for split, examples in splits.items():
        scored = name if split == "validation" else f"{name}@{split}"
        preds = asyncio.run(_parse_all(model, examples, scored))
        scores = score(scored, preds, examples, n_train, took)
        results.append(scores)
        if split == "validation" or split.startswith(HELDOUT):
            report(scored, split, preds, scores, out)
    return results


def evaluate_config(
    config: Path,
    label: str,
    nlu_dirs: dict[str, Path],
    splits: dict[str, list[Example]],
    tmp: Path,
    out: Path,
) -> list[Scores]:
    """Train one model per training set with `config`, score it on every split."""
    results: list[Scores] = []
    for data_name, nlu_dir in nlu_dirs.items():
        name = data_name if not label else f"{label}:{data_name}"
        slug = name.replace("+", "_plus_").replace(":", "_")
        model, took = train(config, nlu_dir, tmp / "models", slug)
        n_train = count_examples(nlu_dir)
        # Bitext train and the conversation turns score our data alone; validation and held-out files every model
        wanted = {
            k: v
            for k, v in splits.items()
            if k == "validation" or k.startswith(HELDOUT) or data_name == "ours"
        }
        results += score_model(model, name, wanted, out, n_train, took)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="folder holding bitext/ (default ../shared/data)"
    )
    parser.add_argument(
        "--out", type=Path, default=REPO_ROOT / "results" / "nlu", help="PNG/JSON output folder"
    )
    parser.add_argument(
        "--configs",
        "--config",
        type=Path,
        nargs="+",
        default=[REPO_ROOT / "config.yml"],
        help="one model per pipeline config, same data and splits (default config.yml)",
    )
    parser.add_argument("--nlu-dir", type=Path, default=REPO_ROOT / "training_data" / "nlu")
    parser.add_argument("--only", choices=["both", "ours", "bitext"], default="both")
    parser.add_argument(
        "--limit", type=int, default=0, help="evaluate on the first N validation rows (0 = all)"
    )
    parser.add_argument(
        "--skip-train-split",
        action="store_true",
        help="don't also score the 'ours' model on Bitext train.csv (data it never saw, not even for tuning)",
    )
    parser.add_argument(
        "--conversations",
        type=Path,
        default=REPO_ROOT / "eval" / "conversations" / "dev.yml",
        help="held-out conversations whose user turns name an intent (scored when the file exists)",
    )
    parser.add_argument(
        "--heldout",
        type=Path,
        nargs="+",
        default=[],
        help="held-out Rasa NLU YAML files, each scored as a split with a confusion matrix (eval/nlu_zh/test.yml)",
    )
    parser.add_argument(
        "--model", type=Path, default=None, help="score this trained model on --heldout instead of training"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="TensorFlow/BLAS threads for training and parsing"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    missing = [str(c) for c in [*args.configs, *args.heldout, *([args.model] if args.model else [])]]
    missing = [m for m in missing if not Path(m).is_file()]
    if missing:
        print(f"no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.model and not args.heldout:
        print("--model scores the --heldout files: name at least one", file=sys.stderr)
        return 2
    _single_threaded(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    heldout = heldout_splits(args.heldout)
    for split, examples in heldout.items():
        print(f"{split}: {len(examples)} utterances, {len({e.intent for e in examples})} intents")
    if args.model:
        results = score_model(args.model, args.model.name.removesuffix(".tar.gz"), heldout, args.out)
        (args.out / "summary.json").write_text(json.dumps([asdict(r) for r in results], indent=1))
        print_side_by_side(results)
        return 0
    data_dir = args.data_dir or default_data_dir()
    splits: dict[str, list[Example]] = {}
    try:
        splits["validation"] = read_split(data_dir, "validation")[: args.limit or None]
        print(
            f"validation: {len(splits['validation'])} utterances from {data_dir / 'bitext' / 'validation.csv'}"
        )
        if not args.skip_train_split:
            splits["bitext-train"] = read_split(data_dir, "train")
    except BitextError as exc:
        if not heldout:
            print(f"skipping NLU benchmark: {exc}", file=sys.stderr)
            return 2
        print(f"no Bitext data ({exc}): scoring the held-out files only", file=sys.stderr)
        args.only = "ours"  # ours+bitext needs the Bitext train split
    splits.update(heldout)
    if args.conversations.is_file():
        turns = read_conversation_turns(args.conversations)
        print(f"held-out conversations: {len(turns)} user turns with an intent from {args.conversations}")
        if turns:
            splits["conversations-dev"] = turns

    results: list[Scores] = []
    summary = args.out / "summary.json"
    with tempfile.TemporaryDirectory(prefix="shopdesk-nlu-") as tmpname:
        tmp = Path(tmpname)
        nlu_dirs = prepare_nlu_dirs(args.nlu_dir, data_dir, tmp, args.only)
        for config in args.configs:
            label = config.stem if len(args.configs) > 1 else ""
            results += evaluate_config(config, label, nlu_dirs, splits, tmp, args.out)
            summary.write_text(json.dumps([asdict(r) for r in results], indent=1))  # so far

    print_side_by_side(results)
    print(f"\nsummary -> {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
