"""Catalog-adapted encoder: fine-tune the bi-encoder on a shop's own (description text -> product) pairs.

    python -m retrieval.adapt --catalog training_data/catalog/demo_products.csv --out var/encoder-adapted

A shop's product descriptions say in shoppers' words what its titles say in catalog words. Each product gives one
training pair: an *anchor* cut from its description (``random_sentence``: one of its sentences, at most
``max_words`` words; ``first_sentence``: the first clause of the first sentence; ``truncated``: the first
``max_words`` words) and its *target*, the text the catalog is searched by (title, brand, colours — never the
description). Training is in-batch contrastive (MultipleNegativesRankingLoss: every other target in the batch is a
negative; a batch never holds the same target twice) on CPU in minutes. The result is a sentence-transformers
directory with ``adapt.json`` beside the weights saying what it was trained on and how it serves (``serving``: the
product thresholds and the catalog's lexical weight, :data:`retrieval.config.ADAPTED_PRODUCT_RANK`).

Serving it (off by default: the packaged all-MiniLM-L6-v2 serves everything):
:func:`retrieval.catalog_encoder.catalog_serving` turns a
:class:`RetrievalConfig` into one whose English *catalog* is built and searched with the adapted model and its
thresholds (``SHOPDESK_CATALOG_ENCODER`` in the action server and the console; ``--catalog-model`` for
``retrieval.build`` / ``retrieval.import_catalog``). The knowledge base keeps the stock encoder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import random
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from retrieval.catalog import Product
from retrieval.catalog_encoder import ADAPT_META, default_serving
from retrieval.config import DEFAULT_MODEL
from retrieval.errors import ConfigError, EncoderError

logger = logging.getLogger(__name__)

PAIR_RULES = ("random_sentence", "first_sentence", "truncated")
_GLUED = re.compile(r"(?<=[a-z0-9])(?=[A-Z][a-z])")  # "…lockOne handle…": sentences glued without a stop


@dataclass(frozen=True)
class AdaptConfig:
    """How the encoder is fine-tuned (the defaults: the ``random_sentence`` setting measured on Myntra,
    docs/benchmarks.md)."""

    base_model: str = DEFAULT_MODEL
    pair_rule: str = "random_sentence"
    max_words: int = 20  # anchor length cap
    min_words: int = 4  # shorter anchors are skipped
    epochs: int = 1
    learning_rate: float = 1e-4
    batch_size: int = 32
    warmup_share: float = 0.1
    scale: float = 20.0  # cosine -> logit, as MultipleNegativesRankingLoss
    max_seq_length: int = 64
    max_pairs: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.pair_rule not in PAIR_RULES:
            raise ConfigError("adapt pair_rule", self.pair_rule, PAIR_RULES)
        for name in ("max_words", "min_words", "epochs", "batch_size", "max_seq_length"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"adapt {name}", value, "a whole number, at least 1")
        if self.batch_size < 2:
            raise ConfigError("adapt batch_size", self.batch_size, "at least 2 (in-batch negatives)")
        if not 0.0 < self.learning_rate < 1.0:
            raise ConfigError("adapt learning_rate", self.learning_rate, "a number between 0 and 1")
        if not 0.0 <= self.warmup_share < 1.0:
            raise ConfigError("adapt warmup_share", self.warmup_share, "a number from 0 to below 1")
        if self.max_pairs is not None and self.max_pairs < 1:
            raise ConfigError("adapt max_pairs", self.max_pairs, "None or a whole number, at least 1")


# ----------------------------------------------------------------------------------------- pairs
def sentences(description: str) -> list[str]:
    """The description's sentences (glued ``wordWord`` boundaries split too), whitespace-normalised."""
    text = _GLUED.sub(". ", description)
    return [" ".join(s.split()) for s in re.split(r"(?<=[.!?])\s+|\.(?=[A-Z])", text) if s.strip()]


def anchor_text(
    description: str, rule: str, rng: random.Random, max_words: int = 20, min_words: int = 4
) -> str:
    """The anchor ``rule`` cuts from a description ("" when it has too few words)."""
    if rule not in PAIR_RULES:
        raise ConfigError("adapt pair_rule", rule, PAIR_RULES)
    if rule == "first_sentence":  # the benchmark's query rule
        words = _GLUED.sub(". ", description).split(". ")[0].split(", ")[0].split()
    elif rule == "truncated":
        words = _GLUED.sub(". ", description).split()
    else:
        choices = [s.split() for s in sentences(description) if len(s.split()) >= min_words]
        words = rng.choice(choices) if choices else []
    words = words[:max_words]
    return " ".join(words).rstrip(".") if len(words) >= min_words else ""


def target_text(product: Product) -> str:
    """What a product is searched by in the adapted space: title, brand, colours (not the description)."""
    parts = [product.title, product.brand, ", ".join(product.colors)]
    return ". ".join(p.strip() for p in parts if p and p.strip())


def text_pairs(items: Iterable[tuple[str, str]], config: AdaptConfig) -> list[tuple[str, str]]:
    """(anchor, target) from (description, target) items; seeded; at most ``config.max_pairs``."""
    rng = random.Random(config.seed)
    pairs = []
    for description, target in items:
        anchor = anchor_text(description, config.pair_rule, rng, config.max_words, config.min_words)
        if anchor and target.strip():
            pairs.append((anchor, target))
    if config.max_pairs is not None and len(pairs) > config.max_pairs:
        pairs = rng.sample(pairs, config.max_pairs)
    return pairs


def product_pairs(
    products: Iterable[Product], config: AdaptConfig, exclude: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """Training pairs from a catalog, leaving out the products in ``exclude`` entirely (e.g. evaluation items)."""
    skip = set(exclude)
    return text_pairs(((p.description, target_text(p)) for p in products if p.id not in skip), config)


def batches(pairs: Sequence[tuple[str, str]], size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of pair indexes in which no target occurs twice (a repeat waits for a later batch)."""
    order = list(range(len(pairs)))
    rng.shuffle(order)
    out: list[list[int]] = []
    waiting: list[int] = []
    while order or waiting:
        pending, order, waiting = waiting + order, [], []
        batch: list[int] = []
        seen: set[str] = set()
        for i in pending:
            if len(batch) < size and pairs[i][1] not in seen:
                batch.append(i)
                seen.add(pairs[i][1])
            else:
                waiting.append(i)
        out.append(batch)
    return [b for b in out if len(b) > 1]


# ----------------------------------------------------------------------------------------- training
def _embed(model: Any, texts: list[str]) -> Any:
    import torch.nn.functional as F

    prepare = getattr(model, "preprocess", None) or model.tokenize  # sentence-transformers >= 5.2: preprocess
    features = {k: v.to(model.device) if hasattr(v, "to") else v for k, v in prepare(texts).items()}
    return F.normalize(model(features)["sentence_embedding"], dim=-1)


def adapt_encoder(
    pairs: Sequence[tuple[str, str]],
    out_dir: str | Path,
    config: AdaptConfig | None = None,
    *,
    source: dict[str, Any] | None = None,
    device: str = "cpu",
) -> dict[str, Any]:
    """Fine-tune ``config.base_model`` on ``pairs`` and save it to ``out_dir`` with ``adapt.json`` (returned)."""
    import torch
    from sentence_transformers import SentenceTransformer

    from retrieval.encoder import resolve_model_path

    config = config or AdaptConfig()
    if len(pairs) < 2:
        raise ConfigError("adapt training pairs", len(pairs), "at least 2 (in-batch negatives)")
    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    base = resolve_model_path(config.base_model)
    try:
        model = SentenceTransformer(str(base), device=device, local_files_only=True)
    except Exception as exc:  # the library raises many types
        raise EncoderError(f"cannot load base model {config.base_model!r} from {base}: {exc}") from exc
    model.max_seq_length = config.max_seq_length
    plan = [batches(pairs, config.batch_size, rng) for _ in range(config.epochs)]
    total = sum(len(p) for p in plan)
    warmup = max(1, round(total * config.warmup_share))
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
    )
    model.train()
    losses: list[float] = []
    start = time.perf_counter()
    for epoch, epoch_batches in enumerate(plan, start=1):
        for step, batch in enumerate(epoch_batches, start=1):
            anchors = _embed(model, [pairs[i][0] for i in batch])
            targets = _embed(model, [pairs[i][1] for i in batch])
            logits = anchors @ targets.T * config.scale
            loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(batch), device=logits.device))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            losses.append(loss.item())
            if step % 50 == 0 or step == len(epoch_batches):
                logger.info(
                    "epoch %d step %d/%d loss %.4f", epoch, step, len(epoch_batches), _mean(losses[-50:])
                )
    model.eval()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save(str(out), create_model_card=False)
    meta = {
        "kind": "catalog-adapted sentence-transformers encoder (retrieval.adapt)",
        "base_model": config.base_model,
        "config": asdict(config),
        "pairs": len(pairs),
        "pairs_sha256": hashlib.sha256("\n".join(f"{a}\t{t}" for a, t in pairs).encode()).hexdigest(),
        "steps": total,
        # mean loss over the first and the last tenth of the steps (at least 2 steps each)
        "loss_start": _mean(losses[: max(2, total // 10)]),
        "loss_end": _mean(losses[-max(2, total // 10) :]),
        "train_seconds": round(time.perf_counter() - start, 1),
        "source": source or {},
        "serving": default_serving(),
        "versions": {"torch": torch.__version__, "sentence_transformers": _version("sentence_transformers")},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (out / ADAPT_META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    logger.info("adapted encoder saved to %s (%d pairs, %d steps)", out, len(pairs), total)
    return meta


def _mean(values: Sequence[float]) -> float:
    return round(sum(values) / len(values), 4) if values else math.nan


def _version(module: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module.replace("_", "-"))
    except PackageNotFoundError:
        return "unknown"


# ----------------------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    from retrieval.catalog import load_catalog, preset
    from retrieval.cli_common import emit, setup_logging
    from retrieval.errors import RetrievalError

    defaults = AdaptConfig()
    parser = argparse.ArgumentParser(prog="python -m retrieval.adapt", description=__doc__.split("\n\n")[0])
    parser.add_argument("--catalog", default="training_data/catalog/demo_products.csv")
    parser.add_argument(
        "--preset", default="demo", help="catalog column preset (demo, myntra, online_retail)"
    )
    parser.add_argument("--out", default="var/encoder-adapted")
    parser.add_argument("--exclude-ids", help="a file of product ids (one a line) never trained on")
    parser.add_argument("--base-model", default=defaults.base_model)
    parser.add_argument("--pair-rule", default=defaults.pair_rule, choices=PAIR_RULES)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--lr", type=float, default=defaults.learning_rate)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--max-pairs", type=int)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.quiet)
    try:
        config = AdaptConfig(
            base_model=args.base_model,
            pair_rule=args.pair_rule,
            epochs=args.epochs,
            learning_rate=args.lr,
            batch_size=args.batch_size,
            max_pairs=args.max_pairs,
            seed=args.seed,
        )
        exclude = Path(args.exclude_ids).read_text(encoding="utf-8").split() if args.exclude_ids else []
        fmt, mapping = preset(args.preset)
        products = load_catalog(args.catalog, fmt, mapping)
        pairs = product_pairs(products, config, exclude)
        source = {"catalog": str(args.catalog), "products": len(products), "excluded": len(set(exclude))}
        meta = adapt_encoder(pairs, args.out, config, source=source, device=args.device)
    except (RetrievalError, OSError) as exc:
        emit(f"error: {exc}", err=True)
        return 2
    emit(f"{args.out}: {meta['pairs']} pairs, {meta['steps']} steps, {meta['train_seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
