"""The fine-tuning loop's parts: seeding, the starting model, hard-negative lists, batches, one optimisation
step, and the dev evaluation after an epoch. :mod:`retrieval.responder.training.train` runs them."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from retrieval.responder.model import CrossEncoder, cpu_has_amx_bf16
from retrieval.responder.training.config import TrainConfig
from retrieval.responder.training.dataset import Dataset, Group
from retrieval.responder.training.scoring import group_logits, listwise_loss, positives, ranking_report

logger = logging.getLogger(__name__)


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
    """The dev metrics after ``epoch`` and the dev logits they were computed from."""
    scores = group_logits(model, dataset, dev, config.eval_k, batch_size=config.eval_batch_size)
    return epoch_result(scores, dev, config, epoch, started), scores


def epoch_result(
    scores: Sequence[np.ndarray], dev: Sequence[Group], config: TrainConfig, epoch: int, started: float
) -> EpochResult:
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
