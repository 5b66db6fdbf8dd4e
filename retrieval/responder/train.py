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

from retrieval.responder.calibration import Calibration, Fusion, expected_calibration_error, fit_fusion
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
from retrieval.responder.model import CrossEncoder, fingerprint, resolve_device
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
) -> tuple[EpochResult, list[np.ndarray]]:
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
    return result, scores


def train(
    config: TrainConfig, data_dir: Path, out: Path, *, force: bool = False, show_progress: bool = True
) -> dict[str, Any]:
    """Fine-tune, calibrate and save; returns the written (or kept) meta.json."""
    import torch
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

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
    logger.info(
        "training on %d questions, dev %d, device %s, config %s",
        len(train_groups),
        len(dev),
        device,
        config.name,
    )

    started = time.time()
    model = CrossEncoder.from_base(config.base_model, max_length=config.max_length, device=device)
    bi_encoder = ranking_report([np.asarray(g.scores[: config.eval_k]) for g in dev], dev_pos)
    base_result, best_scores = evaluate_dev(model, dataset, dev, config, 0, started)
    history = [base_result.as_dict()]

    steps_per_epoch = max(1, -(-len(train_groups) // config.groups_per_batch))
    head = [p for n, p in model.model.named_parameters() if n.startswith(("classifier", "bert.pooler"))]
    body = [p for n, p in model.model.named_parameters() if not n.startswith(("classifier", "bert.pooler"))]
    optimizer = torch.optim.AdamW(
        [{"params": body, "lr": config.lr}, {"params": head, "lr": config.lr * config.head_lr_multiplier}],
        lr=config.lr,
        weight_decay=config.weight_decay,
    )
    total_steps = steps_per_epoch * config.epochs
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(config.warmup_ratio * total_steps), total_steps
    )
    bce = torch.nn.BCEWithLogitsLoss()
    best = base_result
    best_state = {k: v.detach().cpu().clone() for k, v in model.model.state_dict().items()}
    stale = 0
    out_of_time = False
    budget = config.max_minutes * 60 if config.max_minutes else None
    train_seconds = 0.0
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
            queries: list[str] = []
            passages: list[str] = []
            sizes: list[int] = []
            prior: list[float] = []
            for i in chunk:
                ids, cosines = lists[i]
                queries.extend([train_groups[order[i]].query] * len(ids))
                passages.extend(dataset.text(c) for c in ids)
                prior.extend(cosines)
                sizes.append(len(ids))
            logits = model.forward(queries, passages)
            logits = logits + config.prior_weight * torch.tensor(prior, device=logits.device)
            loss_terms = []
            labels = torch.zeros_like(logits)
            start = 0
            for n in sizes:
                group = logits[start : start + n]
                loss_terms.append(torch.logsumexp(group, 0) - group[0])
                labels[start] = 1.0
                start += n
            loss = torch.stack(loss_terms).mean() + config.bce_weight * bce(logits, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            running = 0.9 * running + 0.1 * loss.item() if step else loss.item()
            bar.set_postfix(loss=f"{running:.3f}")
            if budget is not None and time.time() - started > budget:
                logger.warning(
                    "time budget of %.1f min spent in epoch %d; stopping", config.max_minutes, epoch
                )
                out_of_time = True
                break
        bar.close()
        train_seconds += time.time() - epoch_start
        result, epoch_scores = evaluate_dev(model, dataset, dev, config, epoch, started)
        history.append(result.as_dict())
        if result.loss < best.loss:  # dev loss: smoother than top-1/MRR on a small dev set
            best, stale = result, 0
            best_state = {k: v.detach().cpu().clone() for k, v in model.model.state_dict().items()}
            best_scores = epoch_scores
        else:
            stale += 1
        if out_of_time or stale > config.patience:
            if stale > config.patience:
                logger.info("no lower dev loss for %d epoch(s); early stop", stale)
            break

    model.model.load_state_dict(best_state)
    model.model.eval()
    # calibration (fused with the bi-encoder cosine) and thresholds on the best epoch's dev scores, then the
    # same for int8 on the CPU
    priors = [np.asarray(g.scores[: config.eval_k], dtype="float32") for g in dev]
    scores = best_scores  # the best epoch's dev logits (the weights were just restored to that epoch)
    fusion = _fit(scores, priors, dev_pos, config.fusion)
    probs = [fusion(s, p) for s, p in zip(scores, priors, strict=True)]
    thresholds = fit_thresholds(
        probs, dev_pos, config.default_thresholds, target_precision=config.target_precision
    )
    cpu_model = (
        model
        if device == "cpu"
        else CrossEncoder(_cpu_copy(model.model), model.tokenizer, max_length=model.max_length, device="cpu")
    )
    int8 = cpu_model.quantized()
    int8_scores = group_logits(int8, dataset, dev, config.eval_k, batch_size=config.eval_batch_size)
    int8_fusion = _fit(int8_scores, priors, dev_pos, config.fusion)
    fused_report = ranking_report([fusion.logit(s, p) for s, p in zip(scores, priors, strict=True)], dev_pos)
    int8_report = ranking_report(
        [int8_fusion.logit(s, p) for s, p in zip(int8_scores, priors, strict=True)], dev_pos
    )
    keeps_quality = (
        fused_report["top1"] - int8_report["top1"] <= config.quantize_max_drop
        and fused_report["mrr10"] - int8_report["mrr10"] <= config.quantize_max_drop
    )
    labels_flat = _labels(scores, dev_pos)

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
        "versions": {
            "torch": torch.__version__,
            "transformers": _version("transformers"),
            "python": platform.python_version(),
        },
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "train_seconds": round(train_seconds, 1),
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
            "int8_fused": int8_report,
            "routing": routing_report(probs, dev_pos, thresholds),
            "ece": {
                "raw_sigmoid": round(
                    expected_calibration_error(Calibration()(np.concatenate(scores)), labels_flat), 4
                ),
                "calibrated": round(expected_calibration_error(np.concatenate(probs), labels_flat), 4),
            },
        },
        "calibration": {"fp32": fusion.to_dict(), "int8": int8_fusion.to_dict()},
        "prior_encoder": dataset.manifest.get("settings", {}).get("encoder_model"),
        "thresholds": thresholds.to_dict(),
        "serving": {"quantize_recommended": bool(keeps_quality), "top_k": config.eval_k},
    }
    _save(model, meta, out)
    logger.info(
        "responder saved to %s: dev top1 %.4f (base %.4f, bi-encoder %.4f), mrr@10 %.4f (base %.4f, "
        "bi-encoder %.4f), int8 %s",
        out,
        best.top1,
        base_result.top1,
        bi_encoder["top1"],
        best.mrr10,
        base_result.mrr10,
        bi_encoder["mrr10"],
        "kept quality" if keeps_quality else "lost quality",
    )
    return meta


def _labels(scores: list[np.ndarray], pos: list[int]) -> np.ndarray:
    if not scores:
        return np.zeros(0)
    return np.concatenate(
        [np.eye(len(s))[p] if p >= 0 else np.zeros(len(s)) for s, p in zip(scores, pos, strict=True)]
    )


def _fit(scores: list[np.ndarray], priors: list[np.ndarray], pos: list[int], use_prior: bool) -> Fusion:
    logits = np.concatenate(scores) if scores else np.zeros(0)
    prior = np.concatenate(priors) if priors and use_prior else None
    return fit_fusion(logits, prior, _labels(scores, pos))


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
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_train_config(args.config).with_overrides(
            epochs=args.epochs,
            max_train_queries=args.max_train_queries,
            max_minutes=args.max_minutes,
            device=args.device,
        )
        meta = train(config, args.data, args.out, force=args.force, show_progress=not args.no_progress)
    except ResponderError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    sys.stdout.write(
        json.dumps(
            {
                "out": str(args.out),
                "dev": {k: meta["dev"][k] for k in ("bi_encoder", "base", "best")},
                "train_seconds": meta["train_seconds"],
                "device": meta["device"],
            }
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
