"""Fine-tune the sentiment classifier (:mod:`sentiment.model`) on labelled examples, and its named configurations.

``CONFIGS`` (chosen by ``SENTIMENT_CONFIG``):

- ``cpu_ci``: what every fresh-clone CI trains: 168 CPU-seconds measured including the encoder load and the
  dev scoring (~1.5-2 minutes on 2 free cores);
- ``cpu_small``: what ``make run`` trains when there is no model: 659 CPU-seconds measured (13 minutes wall
  on a busy 2-core machine);
- ``gpu_full``: the whole encoder on a CUDA device, all the data, bf16 autocast.

The CPU configurations keep the first ``layers`` encoder layers and fine-tune only the top ``layers -
frozen_layers`` of them with the head: the frozen bottom needs no backward pass, and what is frozen is not
written to the artifact. Training examples are drawn balanced over (language, label) up to ``max_train``, so
the English reviews' many 5-star texts do not drown the rest, and the Chinese (binary) data still counts.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sentiment.e5_bert import load_tokenizer
from sentiment.errors import SentimentError
from sentiment.model import (
    FineTunedScorer,
    SentimentNet,
    artifact_config,
    build_net,
    quantize_int8,
    save_model,
)
from sentiment.types import LABELS, Example, Prediction

logger = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class FinetuneConfig:
    """One training recipe. ``max_train`` caps the examples drawn (balanced over language x label); ``max_steps``
    caps the optimiser steps (0: ``epochs`` over the drawn examples)."""

    name: str
    layers: int = 6  # encoder layers kept (1..12)
    frozen_layers: int = 4  # bottom layers not trained (0..layers-1)
    max_len: int = 64  # tokens per text, prefix and <s> </s> included
    epochs: float = 1.0
    max_steps: int = 0
    max_train: int = 4000
    batch_size: int = 32
    lr: float = 1e-4  # encoder layers
    head_lr: float = 2e-3
    weight_decay: float = 0.01
    warmup: float = 0.06  # share of steps with a linear warm-up
    dropout: float = 0.1
    device: str = "cpu"  # auto | cpu | cuda
    bf16: bool = False  # autocast on CUDA
    quantize: str = "int8"  # how the artifact is served: int8 (dynamic, linear layers) | none
    cache_frozen: bool = True  # run the frozen bottom once and keep its output (float16) for every epoch
    probe_init: bool = True  # start the head from a logistic regression on the pretrained features
    probe_c: float = 1.0
    max_dev: int = 0  # dev texts scored per language after training (0: all); a seeded sample keeps CI short
    seed: int = 13

    def __post_init__(self) -> None:
        if not 1 <= self.layers <= 12:
            raise SentimentError(f"config {self.name}: layers {self.layers} is outside 1..12")
        if not 0 <= self.frozen_layers < self.layers:
            raise SentimentError(
                f"config {self.name}: frozen_layers {self.frozen_layers} is outside 0..{self.layers - 1}"
            )
        if not 8 <= self.max_len <= 512:
            raise SentimentError(f"config {self.name}: max_len {self.max_len} is outside 8..512")
        if self.device not in DEVICES:
            raise SentimentError(
                f"config {self.name}: device {self.device!r} is not one of {', '.join(DEVICES)}"
            )
        if self.quantize not in ("none", "int8"):
            raise SentimentError(f"config {self.name}: quantize {self.quantize!r} is not one of none, int8")
        if self.batch_size < 1 or self.max_train < 1 or self.epochs <= 0 or self.max_steps < 0:
            raise SentimentError(f"config {self.name}: batch_size, max_train, epochs must be positive")


CONFIGS: dict[str, FinetuneConfig] = {
    "cpu_ci": FinetuneConfig(
        "cpu_ci",
        layers=8,
        frozen_layers=7,
        max_len=64,
        max_train=6000,
        epochs=2.0,
        max_dev=300,
        batch_size=32,
    ),
    "cpu_small": FinetuneConfig(
        "cpu_small",
        layers=12,
        frozen_layers=10,
        max_len=96,
        max_train=5000,
        epochs=2.0,
        max_dev=800,
        batch_size=32,
    ),
    "gpu_full": FinetuneConfig(
        "gpu_full",
        layers=12,
        frozen_layers=0,
        max_len=256,
        epochs=3.0,
        max_train=1_000_000,
        batch_size=64,
        lr=3e-5,
        head_lr=1e-3,
        device="cuda",
        bf16=True,
        cache_frozen=False,
        probe_init=False,
    ),
}


def get_config(name: str) -> FinetuneConfig:
    try:
        return CONFIGS[name]
    except KeyError:
        raise SentimentError(f"sentiment config {name!r} is not one of {', '.join(CONFIGS)}") from None


def select_device(config: FinetuneConfig) -> torch.device:
    """``cuda`` / ``cpu`` as configured; ``auto`` picks CUDA when present. CUDA asked for but absent is an error."""
    cuda = torch.cuda.is_available()
    if config.device == "cuda" and not cuda:
        raise SentimentError(
            f"config {config.name} needs a CUDA device and none is available: use cpu_small or cpu_ci"
        )
    return torch.device("cuda" if config.device == "cuda" or (config.device == "auto" and cuda) else "cpu")


def balanced_sample(examples: Sequence[Example], limit: int, seed: int) -> list[Example]:
    """Up to ``limit`` examples, as evenly spread over (language, label) groups as the groups allow."""
    groups: dict[tuple[str, str], list[Example]] = defaultdict(list)
    for ex in examples:
        groups[(ex.language, ex.label)].append(ex)
    rng = random.Random(seed)
    for key in sorted(groups):
        rng.shuffle(groups[key])
    take: dict[tuple[str, str], int] = dict.fromkeys(groups, 0)
    left, open_keys = min(limit, len(examples)), sorted(groups)
    while left > 0 and open_keys:
        share = max(1, left // len(open_keys))
        for key in list(open_keys):
            add = min(share, len(groups[key]) - take[key], left)
            take[key] += add
            left -= add
            if take[key] == len(groups[key]):
                open_keys.remove(key)
            if left == 0:
                break
    chosen = [ex for key in sorted(groups) for ex in groups[key][: take[key]]]
    rng.shuffle(chosen)
    return chosen


def dev_sample(dev: Sequence[Example], per_language: int, seed: int) -> list[Example]:
    """Up to ``per_language`` dev examples of each language (a seeded sample, natural label mix); 0 keeps all."""
    if per_language <= 0:
        return list(dev)
    out: list[Example] = []
    for language in sorted({ex.language for ex in dev}):
        group = [ex for ex in dev if ex.language == language]
        out.extend(random.Random(seed).sample(group, min(per_language, len(group))))
    return out


def _freeze(net: SentimentNet, frozen_layers: int) -> list[nn.Module]:
    """Freeze the embeddings and the bottom layers; return the frozen modules (kept in eval mode: no dropout)."""
    frozen: list[nn.Module] = [net.bert.embeddings, *net.bert.encoder.layer[:frozen_layers]]
    for module in frozen:
        for p in module.parameters():
            p.requires_grad_(False)
    return frozen


def evaluate(predictions: Sequence[Prediction], examples: Sequence[Example]) -> dict[str, dict[str, float]]:
    """Accuracy and macro-F1 (over the labels present in gold or predicted) per language and overall, and binary
    accuracy on the non-neutral gold texts (positive when P(pos) > P(neg), i.e. score > 0)."""
    from sklearn.metrics import accuracy_score, f1_score

    out: dict[str, dict[str, float]] = {}
    langs = sorted({ex.language for ex in examples})
    for lang in [*langs, "all"]:
        idx = [i for i, ex in enumerate(examples) if lang in ("all", ex.language)]
        gold = [examples[i].label for i in idx]
        pred = [predictions[i].label for i in idx]
        polar = [i for i in idx if examples[i].label != "neutral"]
        binary = [(predictions[i].score > 0) == (examples[i].label == "positive") for i in polar]
        out[lang] = {
            "n": len(idx),
            "accuracy": round(float(accuracy_score(gold, pred)), 4),
            "macro_f1": round(float(f1_score(gold, pred, average="macro", zero_division=0)), 4),
            "binary_accuracy": round(sum(binary) / len(binary), 4) if binary else float("nan"),
        }
    return out


@dataclass
class _Batch:
    index: list[int]
    ids: torch.Tensor
    mask: torch.Tensor
    labels: torch.Tensor
    cached: torch.Tensor | None = None  # bottom hidden states (float16), when the config caches them


def _make_batches(
    encoded: list[list[int]], labels: list[int], batch_size: int, pad: int, rng: random.Random
) -> list[_Batch]:
    """Fixed batches of similar length (less padding): sorted within shuffled windows of 50 batches."""
    order = list(range(len(encoded)))
    rng.shuffle(order)
    window = batch_size * 50
    out: list[_Batch] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: len(encoded[i]))
        for b in range(0, len(chunk), batch_size):
            index = chunk[b : b + batch_size]
            width = max(len(encoded[i]) for i in index)
            ids = torch.full((len(index), width), pad, dtype=torch.long)
            mask = torch.zeros((len(index), width), dtype=torch.long)
            for row, i in enumerate(index):
                ids[row, : len(encoded[i])] = torch.tensor(encoded[i])
                mask[row, : len(encoded[i])] = 1
            out.append(_Batch(index, ids, mask, torch.tensor([labels[i] for i in index])))
    return out


def _bottom(net: SentimentNet, batch: _Batch, frozen_layers: int, device: torch.device) -> torch.Tensor:
    if batch.cached is not None:
        return batch.cached.to(device, torch.float32)
    with torch.no_grad():
        return net.bottom(batch.ids.to(device), batch.mask.to(device), frozen_layers)


def _init_head(
    net: SentimentNet, batches: list[_Batch], config: FinetuneConfig, device: torch.device
) -> None:
    """Start the head from a logistic regression on the pretrained model's pooled features (a linear probe):
    fine-tuning then starts from a sensible classifier instead of a random one, which matters with few steps."""
    from sklearn.linear_model import LogisticRegression

    feats, ys = [], []
    net.eval()
    with torch.no_grad():
        for batch in batches:
            hidden = _bottom(net, batch, config.frozen_layers, device)
            feats.append(net.pooled_top(hidden, batch.mask.to(device), config.frozen_layers).float().cpu())
            ys.append(batch.labels)
    x, y = torch.cat(feats).numpy(), torch.cat(ys).numpy()
    if len(set(y.tolist())) < 2:
        return
    clf = LogisticRegression(C=config.probe_c, max_iter=500).fit(x, y)
    weight = torch.zeros_like(net.head.weight)
    bias = torch.full_like(net.head.bias, -10.0)  # a class never seen in training stays improbable
    coef = torch.as_tensor(clf.coef_, dtype=weight.dtype)
    if coef.shape[0] == 1:  # binary: sklearn keeps one row for classes_[1]
        coef = torch.cat([-coef / 2, coef / 2])
        inter = torch.as_tensor([-clf.intercept_[0] / 2, clf.intercept_[0] / 2], dtype=weight.dtype)
    else:
        inter = torch.as_tensor(clf.intercept_, dtype=weight.dtype)
    for row, cls in enumerate(clf.classes_):
        weight[int(cls)] = coef[row]
        bias[int(cls)] = inter[row]
    with torch.no_grad():
        net.head.weight.copy_(weight)
        net.head.bias.copy_(bias)


def train(
    train: Sequence[Example],
    dev: Sequence[Example],
    config: FinetuneConfig,
    out_dir: Path,
    *,
    progress: bool = True,
) -> dict[str, Any]:
    """Fine-tune on ``train``, evaluate the served form (quantised as configured) on ``dev``, write the artifact
    (``out_dir/config.json`` + ``weights.safetensors``) and return ``{"dev": {language: {n, accuracy, macro_f1,
    binary_accuracy}}, "train_seconds", "train_cpu_seconds", "train_examples", "train_counts", "steps", "config"}``."""
    if not train:
        raise SentimentError("no training examples")
    started, cpu_started = time.perf_counter(), time.process_time()
    device = select_device(config)
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    examples = balanced_sample(train, config.max_train, config.seed)
    counts = Counter(f"{ex.language}/{ex.label}" for ex in examples)
    logger.info(
        "training %s on %d examples %s (device %s)",
        config.name,
        len(examples),
        dict(sorted(counts.items())),
        device,
    )

    tokenizer = load_tokenizer()
    encoded = tokenizer(
        [f"query: {ex.text}" for ex in examples], truncation=True, max_length=config.max_len, padding=False
    )["input_ids"]
    batches = _make_batches(
        encoded, [LABELS.index(ex.label) for ex in examples], config.batch_size, tokenizer.pad_token_id, rng
    )
    net = build_net(config.layers, dropout=config.dropout).to(device)
    frozen = _freeze(net, config.frozen_layers)
    if config.cache_frozen:
        net.eval()
        with torch.no_grad():
            for batch in batches:
                batch.cached = net.bottom(
                    batch.ids.to(device), batch.mask.to(device), config.frozen_layers
                ).half()
        logger.info(
            "%s: bottom %d layers cached (%.0fs)",
            config.name,
            config.frozen_layers,
            time.perf_counter() - started,
        )
    if config.probe_init:
        _init_head(net, batches, config, device)
        logger.info(
            "%s: head initialised from a linear probe (%.0fs)", config.name, time.perf_counter() - started
        )

    encoder_params = [p for p in net.bert.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(
        [
            {"params": encoder_params, "lr": config.lr},
            {"params": list(net.head.parameters()), "lr": config.head_lr},
        ],
        weight_decay=config.weight_decay,
    )
    total = config.max_steps or max(1, math.ceil(len(batches) * config.epochs))
    warm = max(1, int(total * config.warmup))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
    )
    loss_fn = nn.CrossEntropyLoss()
    autocast = config.bf16 and device.type == "cuda"
    step, epoch, running = 0, 0, 0.0
    net.train()
    for module in frozen:
        module.eval()
    while step < total:
        rng.shuffle(batches)
        for batch in batches:
            if step >= total:
                break
            mask = batch.mask.to(device)
            hidden = _bottom(net, batch, config.frozen_layers, device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                logits = net.top(hidden, mask, config.frozen_layers)
            loss = loss_fn(logits.float(), batch.labels.to(device))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([*encoder_params, *net.head.parameters()], 1.0)
            optimiser.step()
            scheduler.step()
            step += 1
            value = float(loss.detach())
            running = value if step == 1 else 0.9 * running + 0.1 * value
            if progress and (step % max(1, total // 10) == 0 or step == total):
                logger.info(
                    "%s step %d/%d epoch %d loss %.3f (%.0fs)",
                    config.name,
                    step,
                    total,
                    epoch,
                    running,
                    time.perf_counter() - started,
                )
        epoch += 1
    train_seconds = time.perf_counter() - started
    train_cpu = time.process_time() - cpu_started
    del batches

    net = net.to("cpu").eval()
    served = quantize_int8(net) if config.quantize == "int8" else net
    scorer = FineTunedScorer(served, tokenizer, {"max_len": config.max_len, "prefix": "query: "})
    dev = dev_sample(dev, config.max_dev, config.seed)
    metrics = evaluate(scorer.predict([ex.text for ex in dev]), dev) if dev else {}
    logger.info("%s dev metrics %s", config.name, metrics)
    summary: dict[str, Any] = {
        "dev": metrics,
        "train_seconds": round(train_seconds, 1),
        "train_cpu_seconds": round(train_cpu, 1),
        "train_examples": len(examples),
        "train_counts": dict(sorted(counts.items())),
        "steps": step,
        "config": asdict(config),
    }
    training = {
        **asdict(config),
        **{
            k: summary[k]
            for k in ("train_examples", "train_counts", "steps", "train_seconds", "train_cpu_seconds")
        },
        "device": device.type,
    }
    save_model(
        net,
        artifact_config(
            layers=config.layers,
            frozen_layers=config.frozen_layers,
            max_len=config.max_len,
            quantize=config.quantize,
            training=training,
            metrics=metrics,
        ),
        out_dir,
    )
    return summary


__all__ = ["CONFIGS", "FinetuneConfig", "evaluate", "get_config", "select_device", "train"]
