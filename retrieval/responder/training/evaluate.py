"""Evaluate re-ranking on the dev split: bi-encoder order vs the base (un-fine-tuned) cross-encoder vs a
trained responder.

    python -m retrieval.responder.training.evaluate --data var/responder-data --checkpoint var/responder [--k 20]
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
from typing import Any

from retrieval.responder.config import PRECISION_CHOICES
from retrieval.responder.errors import ResponderError
from retrieval.responder.training.dataset import read_dataset
from retrieval.responder.training.scoring import (
    bi_encoder_scores,
    group_logits,
    listwise_loss,
    positives,
    ranking_report,
    routing_report,
)

logger = logging.getLogger(__name__)


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
        from retrieval.responder.training.config import TrainConfig
        from retrieval.responder.training.loop import initial_model

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
        prog="python -m retrieval.responder.training.evaluate",
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
