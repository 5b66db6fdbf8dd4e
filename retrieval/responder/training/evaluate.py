"""Evaluate re-ranking on the dev split: bi-encoder order vs the base (un-fine-tuned) cross-encoder vs a
trained responder.

    python -m retrieval.responder.evaluate --data var/responder-data --checkpoint var/responder [--k 20]
        [--base] [--precision auto|fp32|bf16|int8]

Prints top-1, MRR@10, dev loss, and the answered / clarified / handed-off shares with their accuracy.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.responder.config import PRECISION_CHOICES, Thresholds
from retrieval.responder.dataset import Dataset, Group, read_dataset
from retrieval.responder.errors import ResponderError
from retrieval.responder.metrics import mrr, rank_of, routing, top1

if TYPE_CHECKING:
    from retrieval.responder.model import CrossEncoder

logger = logging.getLogger(__name__)


def group_logits(
    model: CrossEncoder, dataset: Dataset, groups: Sequence[Group], k: int, *, batch_size: int = 64
) -> list[np.ndarray]:
    """Cross-encoder logits for each group's first ``k`` candidates (all pairs batched together)."""
    queries: list[str] = []
    passages: list[str] = []
    sizes: list[int] = []
    for g in groups:
        cands = g.candidates[:k]
        sizes.append(len(cands))
        queries.extend([g.query] * len(cands))
        passages.extend(dataset.text(c) for c in cands)
    flat = model.logits(queries, passages, batch_size=batch_size) if queries else np.zeros(0, "float32")
    out, start = [], 0
    for n in sizes:
        out.append(flat[start : start + n])
        start += n
    return out


def positives(groups: Sequence[Group], k: int) -> list[int]:
    return [g.positive_index if 0 <= g.positive_index < k else -1 for g in groups]


def listwise_loss(scores: Sequence[np.ndarray], pos: Sequence[int], bce_weight: float = 0.5) -> float:
    """The training objective on dev: softmax cross-entropy over each list plus weighted pointwise BCE
    (only lists that contain the right answer count)."""
    losses = []
    for s, p in zip(scores, pos, strict=True):
        if p < 0 or len(s) == 0:
            continue
        s = s.astype("float64")
        ce = float(np.logaddexp.reduce(s) - s[p])
        labels = np.zeros_like(s)
        labels[p] = 1.0
        bce = float(np.mean(np.logaddexp(0.0, s) - labels * s))
        losses.append(ce + bce_weight * bce)
    return float(np.mean(losses)) if losses else float("nan")


def ranking_report(scores: Sequence[np.ndarray], pos: Sequence[int]) -> dict[str, float]:
    ranks = [rank_of(s, p) if p >= 0 else None for s, p in zip(scores, pos, strict=True)]
    return {"top1": round(top1(ranks), 4), "mrr10": round(mrr(ranks, 10), 4), "n": len(ranks)}


def bi_encoder_scores(groups: Sequence[Group], k: int) -> list[np.ndarray]:
    return [np.asarray(g.scores[:k], dtype="float32") for g in groups]


def routing_report(probs: Sequence[np.ndarray], pos: Sequence[int], thresholds: Thresholds) -> dict[str, Any]:
    return {
        r.kind: {"share": round(r.share, 4), "accuracy": round(r.accuracy, 4), "count": r.count}
        for r in routing(probs, pos, thresholds)
    }


def evaluate_checkpoint(
    checkpoint: Path, data: Path, *, k: int = 20, precision: str = "auto", with_base: bool = False
) -> dict[str, Any]:
    from retrieval.responder.serving import load_responder, read_meta

    dataset = read_dataset(data)
    groups = dataset.dev
    pos = positives(groups, k)
    report: dict[str, Any] = {
        "k": k,
        "dev_questions": len(groups),
        "bi_encoder": ranking_report(bi_encoder_scores(groups, k), pos),
    }
    if with_base:
        from retrieval.responder.config import TrainConfig
        from retrieval.responder.train import initial_model

        base = initial_model(TrainConfig.from_dict(read_meta(checkpoint)["config"]), "cpu")
        base_scores = group_logits(base, dataset, groups, k)
        report["base_cross_encoder"] = {
            **ranking_report(base_scores, pos),
            "loss": round(listwise_loss(base_scores, pos), 4),
        }
    responder = load_responder(checkpoint, precision=precision)
    logits = group_logits(responder.model, dataset, groups, k)
    priors = bi_encoder_scores(groups, k)
    fusions = [responder.calibration.for_kind(g.kind) for g in groups]
    probs = [f(s, p) for f, s, p in zip(fusions, logits, priors, strict=True)]
    fused = [f.logit(s, p) for f, s, p in zip(fusions, logits, priors, strict=True)]
    report["responder_ce_only"] = ranking_report(logits, pos)
    report["responder"] = {
        **ranking_report(fused, pos),
        "loss": round(listwise_loss(logits, pos), 4),
        "precision": responder.precision,
        "thresholds": asdict(responder.thresholds),
        "routing": routing_report(probs, pos, responder.thresholds),
    }
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m retrieval.responder.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", type=Path, default=Path("var/responder-data"))
    parser.add_argument("--checkpoint", type=Path, default=Path("var/responder"))
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument(
        "--precision",
        choices=PRECISION_CHOICES,
        default="auto",
        help="serving precision (default auto: the fastest the checkpoint says kept dev quality here)",
    )
    parser.add_argument("--base", action="store_true", help="also score the un-fine-tuned base cross-encoder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        report = evaluate_checkpoint(
            args.checkpoint, args.data, k=args.k, precision=args.precision, with_base=args.base
        )
    except ResponderError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
