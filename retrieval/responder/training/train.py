"""Fine-tune the cross-encoder responder.

    python -m retrieval.responder.training.train --config cpu_small|gpu_full|path.json --data var/responder-data
        --out var/responder [--force] [--epochs N] [--max-train-queries N] [--max-minutes M]

Seeds everything, trains with AdamW and linear warmup on groups of (question, right answer, hard negatives)
with a listwise softmax loss plus pointwise BCE, evaluates dev top-1 / MRR@10 / loss every epoch (and once
before training: the base model), stops early, keeps the best epoch (``eval_every_epoch: false``: one dev pass
after the last epoch, which is kept), calibrates it on dev for each configured serving precision, picks the
thresholds, checks whether bf16 / dynamic int8 keep the quality, and writes ``<out>/model/`` + ``<out>/meta.json``
atomically. CUDA is used when present (bf16 autocast), the CPU otherwise. Skips when ``meta.json`` records
the same inputs checksum (data + configuration + training code), unless --force.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.responder.calibration import (
    Calibration,
    FusionByKind,
    expected_calibration_error,
    fit_fusion_by_kind,
    one_hot_labels,
)
from retrieval.responder.errors import ResponderError
from retrieval.responder.model import PRECISIONS, CrossEncoder, cpu_has_amx_bf16, fingerprint, resolve_device
from retrieval.responder.training.checkpoint import (
    META_FORMAT,
    device_name,
    inputs_checksum,
    package_version,
    recorded_checksum,
    save_checkpoint,
)
from retrieval.responder.training.config import TrainConfig, load_train_config
from retrieval.responder.training.dataset import Dataset, Group, read_dataset
from retrieval.responder.training.loop import (
    EpochResult,
    bf16_autocast,
    evaluate_dev,
    initial_model,
    make_optimizer,
    seed_everything,
    subsample,
    train_step,
    training_batch,
    training_lists,
)
from retrieval.responder.training.scoring import group_logits, positives, ranking_report, routing_report
from retrieval.responder.training.tuning import fit_thresholds

logger = logging.getLogger(__name__)


def train(
    config: TrainConfig, data_dir: Path, out: Path, *, force: bool = False, show_progress: bool = True
) -> dict[str, Any]:
    """Fine-tune, calibrate and save; returns the written (or kept) meta.json."""
    import torch
    from tqdm.auto import tqdm

    dataset = read_dataset(data_dir)
    checksum = inputs_checksum(dataset, config)
    if not force and recorded_checksum(out) == checksum and (out / "model").is_dir():
        logger.info("responder at %s is up to date (inputs %s…); skipping training", out, checksum[:12])
        return json.loads((out / "meta.json").read_text(encoding="utf-8"))
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    seed_everything(config.seed)
    rng = random.Random(config.seed)
    device = resolve_device(config.device)
    train_groups = subsample(dataset.train, config.max_train_queries, config.seed)
    dev = subsample(dataset.dev, config.max_dev_queries, config.seed + 1)
    dev_pos = positives(dev, config.eval_k)
    autocast = bf16_autocast(config.bf16, device)
    logger.info(
        "training on %d questions, dev %d, device %s%s, config %s",
        len(train_groups),
        len(dev),
        device,
        " with bf16 autocast" if autocast else "",
        config.name,
    )

    started, cpu_started = time.time(), time.process_time()
    model = initial_model(config, device, autocast=autocast)
    bi_encoder = ranking_report([np.asarray(g.scores[: config.eval_k]) for g in dev], dev_pos)
    base_result: EpochResult | None = None
    best_scores: list[np.ndarray] = []  # the best epoch's dev logits
    if config.eval_every_epoch:
        base_result, best_scores = evaluate_dev(model, dataset, dev, config, 0, started)
    history = [base_result.as_dict()] if base_result else []

    steps_per_epoch = max(1, -(-len(train_groups) // config.groups_per_batch))
    optimizer, scheduler = make_optimizer(model, config, steps_per_epoch * config.epochs)
    best = base_result
    best_state = {k: v.detach().cpu().clone() for k, v in model.model.state_dict().items()}
    stale = 0
    out_of_time = False
    budget = config.max_minutes * 60 if config.max_minutes else None
    train_seconds = 0.0
    pairs_seen = 0
    for epoch in range(1, config.epochs + 1):
        model.model.train()
        order = list(range(len(train_groups)))
        rng.shuffle(order)
        lists = training_lists(dataset, [train_groups[i] for i in order], config.negatives, rng)
        bar = tqdm(
            range(steps_per_epoch),
            desc=f"epoch {epoch}/{config.epochs}",
            disable=not show_progress,
            unit="batch",
            leave=False,
        )
        running = 0.0
        epoch_start = time.time()
        for step in bar:
            chunk = range(
                step * config.groups_per_batch, min(len(order), (step + 1) * config.groups_per_batch)
            )
            batch = training_batch(
                dataset, [train_groups[order[i]] for i in chunk], [lists[i] for i in chunk]
            )
            loss = train_step(model, optimizer, scheduler, batch, config)
            pairs_seen += len(batch.queries)
            running = 0.9 * running + 0.1 * loss if step else loss
            bar.set_postfix(loss=f"{running:.3f}")
            if budget is not None and time.time() - started > budget:
                logger.warning(
                    "time budget of %.1f min spent in epoch %d; stopping", config.max_minutes, epoch
                )
                out_of_time = True
                break
        bar.close()
        train_seconds += time.time() - epoch_start
        if not (config.eval_every_epoch or out_of_time or epoch == config.epochs):
            continue
        result, scores = evaluate_dev(model, dataset, dev, config, epoch, started)
        history.append(result.as_dict())
        if best is None or result.loss < best.loss:  # dev loss: smoother than top-1/MRR on a small dev set
            best, best_scores, stale = result, scores, 0
            best_state = {k: v.detach().cpu().clone() for k, v in model.model.state_dict().items()}
        else:
            stale += 1
        if out_of_time or stale > config.patience:
            if stale > config.patience:
                logger.info("no lower dev loss for %d epoch(s); early stop", stale)
            break

    assert best is not None  # the last epoch is always evaluated
    model.model.load_state_dict(best_state)
    model.model.eval()
    # every serving precision scored on the CPU from the best epoch's weights: each gets its own calibration
    # (fused with the bi-encoder cosine) and a verdict on whether it keeps the fp32 quality; the thresholds are
    # fitted on fp32. The best epoch's dev logits are the fp32 ones when it was scored on the CPU without autocast
    reuse = best_scores if device == "cpu" and not autocast else None
    priors = [np.asarray(g.scores[: config.eval_k], dtype="float32") for g in dev]
    cpu_model = CrossEncoder(
        model.model if device == "cpu" else _cpu_copy(model.model),
        model.tokenizer,
        max_length=model.max_length,
        device="cpu",
        autocast=False,
    )
    variants = {
        p: _score_precision(
            cpu_model, p, dataset, dev, priors, dev_pos, config, scores=reuse if p == "fp32" else None
        )
        for p in PRECISIONS
        if p in config.precisions
    }
    scores, fusion, fused_report = variants["fp32"]
    probs = [fusion.for_kind(g.kind)(s, p) for s, p, g in zip(scores, priors, dev, strict=True)]
    thresholds = fit_thresholds(
        probs, dev_pos, config.default_thresholds, target_precision=config.target_precision
    )
    kept = [
        name
        for name, (_, _, report) in variants.items()
        if fused_report["top1"] - report["top1"] <= config.precision_max_drop
        and fused_report["mrr10"] - report["mrr10"] <= config.precision_max_drop
    ]
    labels_flat = one_hot_labels(scores, dev_pos)

    meta = {
        "format_version": META_FORMAT,
        "base_model": config.base_model,
        "base_fingerprint": fingerprint(model.model),
        "max_length": config.max_length,
        "inputs_checksum": checksum,
        "data_checksum": dataset.manifest["data_checksum"],
        "data_counts": dataset.manifest.get("counts", {}),
        "config": config.to_dict(),
        "device": device,
        "device_name": device_name(device),
        "threads": torch.get_num_threads(),
        "bf16_autocast": autocast,
        "cpu_amx_bf16": cpu_has_amx_bf16(),
        "versions": {
            "torch": torch.__version__,
            "transformers": package_version("transformers"),
            "python": platform.python_version(),
        },
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "train_seconds": round(train_seconds, 1),
        "train_pairs_per_second": round(pairs_seen / train_seconds, 1) if train_seconds else None,
        "total_seconds": round(time.time() - started, 1),
        "total_cpu_seconds": round(time.process_time() - cpu_started, 1),  # this process, all its threads
        "stopped": "time_budget" if out_of_time else ("early_stop" if stale > config.patience else "epochs"),
        "dev": {
            "questions": len(dev),
            "k": config.eval_k,
            "bi_encoder": bi_encoder,
            "base": base_result.as_dict() if base_result else None,
            "best": best.as_dict(),
            "history": history,
            "ce_only": ranking_report(scores, dev_pos),
            "fused": fused_report,
            "precisions": {name: report for name, (_, _, report) in variants.items()},
            "routing": routing_report(probs, dev_pos, thresholds),
            "ece": {
                "raw_sigmoid": round(
                    expected_calibration_error(Calibration()(np.concatenate(scores)), labels_flat), 4
                ),
                "calibrated": round(expected_calibration_error(np.concatenate(probs), labels_flat), 4),
            },
        },
        "calibration": {name: f.to_dict() for name, (_, f, _) in variants.items()},
        "prior_encoder": dataset.manifest.get("settings", {}).get("encoder_model"),
        "thresholds": thresholds.to_dict(),
        "serving": {"precisions_kept": kept, "top_k": config.eval_k},
    }
    save_checkpoint(model, meta, out)
    logger.info(
        "responder saved to %s: dev top1 %.4f as served (training score %.4f, base %.4f, bi-encoder %.4f), "
        "mrr@10 %.4f (%.4f, %.4f, %.4f), serving precisions that keep the quality: %s",
        out,
        fused_report["top1"],
        best.top1,
        base_result.top1 if base_result else float("nan"),
        bi_encoder["top1"],
        fused_report["mrr10"],
        best.mrr10,
        base_result.mrr10 if base_result else float("nan"),
        bi_encoder["mrr10"],
        ", ".join(kept),
    )
    return meta


def _score_precision(
    model: CrossEncoder,
    precision: str,
    dataset: Dataset,
    dev: Sequence[Group],
    priors: list[np.ndarray],
    pos: list[int],
    config: TrainConfig,
    *,
    scores: list[np.ndarray] | None = None,
) -> tuple[list[np.ndarray], FusionByKind, dict[str, float]]:
    """Dev logits of ``model`` converted to ``precision`` (``scores``: those logits, already computed), their
    calibration (fitted per candidate pool) and the ranking report of the calibrated score."""
    if scores is None:
        scores = group_logits(
            model.converted(precision), dataset, dev, config.eval_k, batch_size=config.eval_batch_size
        )
    kinds = [g.kind for g in dev]
    fusions = fit_fusion_by_kind(scores, priors if config.fusion else None, pos, kinds)
    fused = [fusions.for_kind(k).logit(s, p) for s, p, k in zip(scores, priors, kinds, strict=True)]
    return scores, fusions, ranking_report(fused, pos)


def _cpu_copy(model: Any) -> Any:
    import copy

    return copy.deepcopy(model).to("cpu").float()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m retrieval.responder.training.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config", default="cpu_small", help="preset name (cpu_small, gpu_full) or a JSON file"
    )
    parser.add_argument("--data", type=Path, default=Path("var/responder-data"))
    parser.add_argument("--out", type=Path, default=Path("var/responder"))
    parser.add_argument("--force", action="store_true", help="train even when the inputs are unchanged")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--max-train-queries", type=int)
    parser.add_argument("--max-minutes", type=float)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--bf16", choices=("auto", "on", "off"), help="bf16 autocast in training")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_train_config(args.config).with_overrides(
            epochs=args.epochs,
            max_train_queries=args.max_train_queries,
            max_minutes=args.max_minutes,
            device=args.device,
            bf16=args.bf16,
        )
        meta = train(config, args.data, args.out, force=args.force, show_progress=not args.no_progress)
    except ResponderError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    sys.stdout.write(
        json.dumps(
            {
                "out": str(args.out),
                "dev": {k: meta["dev"][k] for k in ("bi_encoder", "base", "best", "precisions")},
                "train_seconds": meta["train_seconds"],
                "total_cpu_seconds": meta["total_cpu_seconds"],
                "device": meta["device"],
            }
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
