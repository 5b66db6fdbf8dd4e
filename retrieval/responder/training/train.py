"""Fine-tune the cross-encoder responder.

    python -m retrieval.responder.train --config cpu_small|gpu_full|path.json --data var/responder-data
        --out var/responder [--force] [--epochs N] [--max-train-queries N] [--max-minutes M]

Seeds everything, trains with AdamW and linear warmup on groups of (question, right answer, hard negatives)
with a listwise softmax loss plus pointwise BCE, evaluates dev top-1 / MRR@10 / loss every epoch (and once
before training: the base model), stops early, keeps the best epoch, calibrates it on dev, picks the
thresholds, checks whether dynamic int8 keeps the quality, and writes ``<out>/model/`` + ``<out>/meta.json``
atomically. CUDA is used when present (bf16 autocast), the CPU otherwise. Skips when ``meta.json`` records
the same inputs checksum (data + configuration + training code), unless --force.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import platform
import random
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
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
from retrieval.responder.config import TrainConfig, load_train_config
from retrieval.responder.dataset import Dataset, Group, read_dataset
from retrieval.responder.errors import ResponderError
from retrieval.responder.evaluate import (
    group_logits,
    listwise_loss,
    positives,
    ranking_report,
    routing_report,
)
from retrieval.responder.model import PRECISIONS, CrossEncoder, cpu_has_amx_bf16, fingerprint, resolve_device
from retrieval.responder.tuning import fit_thresholds

logger = logging.getLogger(__name__)

META_FORMAT = 1
CODE_FILES = ("train.py", "model.py", "calibration.py", "tuning.py", "evaluate.py")


def inputs_checksum(dataset: Dataset, config: TrainConfig) -> str:
    digest = hashlib.sha256()
    digest.update(str(dataset.manifest["data_checksum"]).encode())
    digest.update(json.dumps(config.to_dict(), sort_keys=True).encode())
    for name in CODE_FILES:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()


def recorded_checksum(out: Path) -> str | None:
    try:
        return json.loads((out / "meta.json").read_text(encoding="utf-8")).get("inputs_checksum")
    except (OSError, ValueError):
        return None


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def subsample(groups: list[Group], limit: int | None, seed: int) -> list[Group]:
    if limit is None or len(groups) <= limit:
        return list(groups)
    return random.Random(seed).sample(groups, limit)


def training_lists(
    dataset: Dataset, groups: Sequence[Group], negatives: int, rng: random.Random
) -> list[tuple[list[str], list[float]]]:
    """Per group: ([right answer, hard negatives…], their bi-encoder cosines). Hard negatives are drawn from
    the mined top-2n, topped up with random train passages of the same kind when the pool is small (those get
    the group's lowest cosine, as does a right answer the bi-encoder missed)."""
    by_kind: dict[str, list[str]] = {}
    for p in dataset.passages.values():
        if p.split == "train":
            by_kind.setdefault(p.kind, []).append(p.id)
    lists = []
    for g in groups:
        cosine = dict(zip(g.candidates, g.scores, strict=False))
        floor = min(g.scores) if g.scores else 0.0
        mined = [c for c in g.candidates if c != g.answer_id][: 2 * negatives]
        chosen = rng.sample(mined, min(negatives, len(mined)))
        pool = [c for c in by_kind.get(g.kind, []) if c != g.answer_id and c not in chosen]
        while len(chosen) < negatives and pool:
            chosen.append(pool.pop(rng.randrange(len(pool))))
        ids = [g.answer_id, *chosen]
        lists.append((ids, [float(cosine.get(c, floor)) for c in ids]))
    return lists


def fused_logits(
    logits: Sequence[np.ndarray], priors: Sequence[np.ndarray], weight: float
) -> list[np.ndarray]:
    return [s + weight * p for s, p in zip(logits, priors, strict=True)]


@dataclass
class EpochResult:
    """Dev metrics of the training objective's score (cross-encoder + prior_weight * cosine) and of the
    cross-encoder alone."""

    epoch: int
    top1: float
    mrr10: float
    loss: float
    ce_top1: float
    ce_mrr10: float
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "top1": self.top1,
            "mrr10": self.mrr10,
            "loss": round(self.loss, 4),
            "ce_top1": self.ce_top1,
            "ce_mrr10": self.ce_mrr10,
            "seconds": round(self.seconds, 1),
        }


def evaluate_dev(
    model: CrossEncoder,
    dataset: Dataset,
    dev: Sequence[Group],
    config: TrainConfig,
    epoch: int,
    started: float,
) -> EpochResult:
    scores = group_logits(model, dataset, dev, config.eval_k, batch_size=config.eval_batch_size)
    pos = positives(dev, config.eval_k)
    priors = [np.asarray(g.scores[: config.eval_k], dtype="float32") for g in dev]
    fused = fused_logits(scores, priors, config.prior_weight)
    report = ranking_report(fused, pos)
    ce_report = ranking_report(scores, pos)
    result = EpochResult(
        epoch,
        report["top1"],
        report["mrr10"],
        listwise_loss(fused, pos, config.bce_weight),
        ce_report["top1"],
        ce_report["mrr10"],
        time.time() - started,
    )
    logger.info(
        "dev after epoch %d: top1=%.4f mrr@10=%.4f loss=%.4f", epoch, result.top1, result.mrr10, result.loss
    )
    return result


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

    started = time.time()
    model = initial_model(config, device, autocast=autocast)
    bi_encoder = ranking_report([np.asarray(g.scores[: config.eval_k]) for g in dev], dev_pos)
    base_result = evaluate_dev(model, dataset, dev, config, 0, started)
    history = [base_result.as_dict()]

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
        result = evaluate_dev(model, dataset, dev, config, epoch, started)
        history.append(result.as_dict())
        if result.loss < best.loss:  # dev loss: smoother than top-1/MRR on a small dev set
            best, stale = result, 0
            best_state = {k: v.detach().cpu().clone() for k, v in model.model.state_dict().items()}
        else:
            stale += 1
        if out_of_time or stale > config.patience:
            if stale > config.patience:
                logger.info("no lower dev loss for %d epoch(s); early stop", stale)
            break

    model.model.load_state_dict(best_state)
    model.model.eval()
    # every serving precision scored on the CPU from the best epoch's weights: each gets its own calibration
    # (fused with the bi-encoder cosine) and a verdict on whether it keeps the fp32 quality; the thresholds are
    # fitted on fp32
    priors = [np.asarray(g.scores[: config.eval_k], dtype="float32") for g in dev]
    cpu_model = CrossEncoder(
        model.model if device == "cpu" else _cpu_copy(model.model),
        model.tokenizer,
        max_length=model.max_length,
        device="cpu",
        autocast=False,
    )
    variants = {p: _score_precision(cpu_model, p, dataset, dev, priors, dev_pos, config) for p in PRECISIONS}
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
        "device_name": _device_name(device),
        "threads": torch.get_num_threads(),
        "bf16_autocast": autocast,
        "cpu_amx_bf16": cpu_has_amx_bf16(),
        "versions": {
            "torch": torch.__version__,
            "transformers": _version("transformers"),
            "python": platform.python_version(),
        },
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "train_seconds": round(train_seconds, 1),
        "train_pairs_per_second": round(pairs_seen / train_seconds, 1) if train_seconds else None,
        "total_seconds": round(time.time() - started, 1),
        "stopped": "time_budget" if out_of_time else ("early_stop" if stale > config.patience else "epochs"),
        "dev": {
            "questions": len(dev),
            "k": config.eval_k,
            "bi_encoder": bi_encoder,
            "base": base_result.as_dict(),
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
    _save(model, meta, out)
    logger.info(
        "responder saved to %s: dev top1 %.4f as served (training score %.4f, base %.4f, bi-encoder %.4f), "
        "mrr@10 %.4f (%.4f, %.4f, %.4f), serving precisions that keep the quality: %s",
        out,
        fused_report["top1"],
        best.top1,
        base_result.top1,
        bi_encoder["top1"],
        fused_report["mrr10"],
        best.mrr10,
        base_result.mrr10,
        bi_encoder["mrr10"],
        ", ".join(kept),
    )
    return meta


def initial_model(config: TrainConfig, device: str, *, autocast: bool | None = None) -> CrossEncoder:
    """The un-fine-tuned cross-encoder a run of ``config`` starts from (its base model, layers, length)."""
    return CrossEncoder.from_base(
        config.base_model,
        max_length=config.max_length,
        device=device,
        autocast=autocast,
        layers=config.layers,
    )


def make_optimizer(model: CrossEncoder, config: TrainConfig, total_steps: int) -> tuple[Any, Any]:
    """AdamW (the fresh head at ``head_lr_multiplier`` × the learning rate) with linear warmup and decay."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    named = list(model.model.named_parameters())
    head = [p for n, p in named if n.startswith(("classifier", "bert.pooler"))]
    body = [p for n, p in named if not n.startswith(("classifier", "bert.pooler"))]
    optimizer = torch.optim.AdamW(
        [{"params": body, "lr": config.lr}, {"params": head, "lr": config.lr * config.head_lr_multiplier}],
        lr=config.lr,
        weight_decay=config.weight_decay,
    )
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(config.warmup_ratio * total_steps), total_steps
    )
    return optimizer, scheduler


@dataclass
class Batch:
    """One optimisation step's pairs: groups of (question, right answer first, hard negatives…)."""

    queries: list[str]
    passages: list[str]
    prior: list[float]  # the bi-encoder cosine of each pair
    sizes: list[int]  # pairs per group, in order


def training_batch(
    dataset: Dataset, groups: Sequence[Group], lists: Sequence[tuple[list[str], list[float]]]
) -> Batch:
    """The pairs of ``groups`` with their candidate lists (from :func:`training_lists`), flattened."""
    batch = Batch([], [], [], [])
    for group, (ids, cosines) in zip(groups, lists, strict=True):
        batch.queries.extend([group.query] * len(ids))
        batch.passages.extend(dataset.text(c) for c in ids)
        batch.prior.extend(cosines)
        batch.sizes.append(len(ids))
    return batch


def train_step(
    model: CrossEncoder, optimizer: Any, scheduler: Any, batch: Batch, config: TrainConfig
) -> float:
    """One AdamW step on the listwise softmax loss (right answer vs its negatives, over
    ``logit + prior_weight * cosine``) plus ``bce_weight`` × pointwise BCE; returns the loss."""
    import torch

    logits = model.forward(batch.queries, batch.passages)
    logits = logits + config.prior_weight * torch.tensor(batch.prior, device=logits.device)
    loss_terms = []
    labels = torch.zeros_like(logits)
    start = 0
    for n in batch.sizes:
        group = logits[start : start + n]
        loss_terms.append(torch.logsumexp(group, 0) - group[0])
        labels[start] = 1.0
        start += n
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
    loss = torch.stack(loss_terms).mean() + config.bce_weight * bce
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    return float(loss.item())


def bf16_autocast(setting: str, device: str) -> bool:
    """``auto``: on CUDA, and on a CPU with AMX-BF16 (where it trains about twice as fast as fp32)."""
    if setting in ("on", "off"):
        return setting == "on"
    return device == "cuda" or (device == "cpu" and cpu_has_amx_bf16())


def _score_precision(
    model: CrossEncoder,
    precision: str,
    dataset: Dataset,
    dev: Sequence[Group],
    priors: list[np.ndarray],
    pos: list[int],
    config: TrainConfig,
) -> tuple[list[np.ndarray], FusionByKind, dict[str, float]]:
    """Dev logits of ``model`` converted to ``precision``, their calibration (fitted per candidate pool) and
    the ranking report of the calibrated score."""
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


def _device_name(device: str) -> str:
    if device == "cuda":
        import torch

        return str(torch.cuda.get_device_name(0))
    return platform.processor() or platform.machine()


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def _save(model: CrossEncoder, meta: dict[str, Any], out: Path) -> None:
    """Write next to ``out`` and swap it in, so a crash never leaves half a checkpoint behind."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp"
    old = out.parent / f".{out.name}.old"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save(tmp / "model")
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m retrieval.responder.train",
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
                "device": meta["device"],
            }
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
