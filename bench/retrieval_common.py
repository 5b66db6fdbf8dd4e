"""Helpers shared by the benchmarks: data location, cached embeddings, ranking metrics."""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"


def data_dir(cli_value: str | None = None) -> Path:
    return Path(cli_value or os.environ.get("DATA_DIR") or ROOT / ".." / "shared" / "data").resolve()


def require(path: Path) -> Path:
    if not path.exists():
        raise SystemExit(f"skipped: {path} is absent (shared evaluation data; set --data-dir or DATA_DIR)")
    return path


def cached_embeddings(name: str, texts: Sequence[str], encoder, chunk: int = 1024) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Encode once per (texts, model); chunks are saved as they finish, so an interrupted run resumes."""
    digest = hashlib.sha256(
        ("\n".join(texts) + encoder.name + str(getattr(encoder, "config", ""))).encode()
    ).hexdigest()
    path = RESULTS / "cache" / f"{name}-{digest[:12]}.npy"
    if path.exists():
        return np.load(path)
    parts_dir = path.with_suffix(".parts")
    parts_dir.mkdir(parents=True, exist_ok=True)
    blocks = []
    for start in range(0, len(texts), chunk):
        part = parts_dir / f"{start:08d}.npy"
        if part.exists():
            blocks.append(np.load(part))
            continue
        block = encoder.encode(list(texts[start : start + chunk]))
        np.save(part, block)
        blocks.append(block)
        print(f"  encoded {min(start + chunk, len(texts))}/{len(texts)} {name}", flush=True)
    vectors = np.vstack(blocks) if blocks else np.zeros((0, encoder.dim), dtype="float32")
    np.save(path, vectors)
    return vectors


def rank_metrics(
    ranked: Sequence[Sequence[str]], relevant: Sequence[set[str]], k: int = 10
) -> dict[str, float]:
    """top-1, MRR@k, NDCG@k and recall@k averaged over queries."""
    top1 = mrr = ndcg = recall = 0.0
    for items, rel in zip(ranked, relevant, strict=True):
        items = list(items)[:k]
        gains = [1.0 if i in rel else 0.0 for i in items]
        top1 += gains[0] if gains else 0.0
        first = next((n for n, g in enumerate(gains) if g), None)
        mrr += 0.0 if first is None else 1.0 / (first + 1)
        dcg = sum(g / math.log2(n + 2) for n, g in enumerate(gains))
        ideal = sum(1.0 / math.log2(n + 2) for n in range(min(len(rel), k)))
        ndcg += dcg / ideal if ideal else 0.0
        recall += sum(gains) / len(rel) if rel else 0.0
    n = max(len(relevant), 1)
    return {"top1": top1 / n, "mrr@10": mrr / n, "ndcg@10": ndcg / n, "recall@10": recall / n}


def cached_adapted_model(name: str, pairs: Sequence[tuple[str, str]], config: Any) -> Path:
    """Fine-tune once per (pairs, settings) with :func:`retrieval.adapt.adapt_encoder`; the directory is kept
    under results/cache (written to a temporary name first, so an interrupted run leaves no half model)."""
    import json
    import shutil
    from dataclasses import asdict

    from retrieval.adapt import adapt_encoder
    from retrieval.catalog_encoder import ADAPT_META

    digest = hashlib.sha256(
        ("\n".join(f"{a}\t{t}" for a, t in pairs) + json.dumps(asdict(config), sort_keys=True)).encode()
    ).hexdigest()
    path = RESULTS / "cache" / f"{name}-{digest[:12]}"
    lock = path.with_name(path.name + ".lock")  # the pid of a run training this model now: wait for it
    while not (path / ADAPT_META).exists() and lock.exists() and _alive(int(lock.read_text() or 0)):
        time.sleep(10)
    if (path / ADAPT_META).exists():
        return path
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(str(os.getpid()))
    try:
        print(f"  fine-tuning {name} on {len(pairs)} pairs ({config})", flush=True)
        adapt_encoder(pairs, tmp, config, source={"bench": name, "pairs": len(pairs)})
        tmp.rename(path)
    finally:
        lock.unlink(missing_ok=True)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return pid > 0
