"""Train the sentiment model (``make sentiment``).

    python -m sentiment.train --config cpu_ci|cpu_small|gpu_full --data-dir ../shared/data --out var/sentiment
        [--force] [--no-progress]

Builds the deterministic splits (``sentiment.data``), fine-tunes with ``sentiment.finetune.train`` on train,
early-stopping on dev (test is never seen), and swaps the result into ``--out`` atomically with a
``training.json`` beside it: the inputs checksum (data files + configuration + the package's code), the split
counts and the dev metrics. Skips when ``training.json`` records the same checksum, unless --force.

Without the data folder there is nothing to train on: a message, exit 0, nothing written; the action server and
``make sentiment-predict`` then score with the lexicon baseline. An unknown configuration exits 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sentiment.data import SHOP_NLU_DIR, DataError, input_files, load_splits
from sentiment.loading import MODEL_CONFIG
from sentiment.types import Example

logger = logging.getLogger(__name__)

TRAINING_RECORD = "training.json"
PACKAGE_DIR = Path(__file__).resolve().parent

TrainFn = Callable[..., dict[str, Any]]


def _finetune() -> tuple[Mapping[str, Any], TrainFn]:
    """The fine-tuning configurations and trainer (torch: imported only when training)."""
    from sentiment.finetune import CONFIGS, train

    return CONFIGS, train


def config_dict(config: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    if hasattr(config, "to_dict"):
        return dict(config.to_dict())
    return {"repr": repr(config)}


def inputs_checksum(files: Sequence[Path], config: Any) -> str:
    """sha256 of the data files, the configuration and every module of the sentiment package."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.name).encode())
        digest.update(path.read_bytes())
    digest.update(json.dumps(config_dict(config), sort_keys=True, default=str).encode())
    for path in sorted(PACKAGE_DIR.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def recorded_checksum(out: Path) -> str | None:
    try:
        return json.loads((out / TRAINING_RECORD).read_text(encoding="utf-8")).get("inputs_checksum")
    except (OSError, ValueError):
        return None


def _swap_in(tmp: Path, out: Path) -> None:
    old = out.parent / f".{out.name}.old"
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def train_model(
    config_name: str,
    data_dir: Path,
    out: Path,
    *,
    force: bool = False,
    progress: bool = True,
    nlu_dir: Path = SHOP_NLU_DIR,
) -> dict[str, Any] | None:
    """Train (or keep) the model in ``out``; the training record, or None when there is no data to train on.
    Raises KeyError for an unknown configuration (the message lists the valid ones)."""
    if not data_dir.is_dir():
        return None
    configs, train = _finetune()
    if config_name not in configs:
        raise KeyError(
            f"unknown sentiment config {config_name!r}: choose one of {', '.join(sorted(configs))}"
        )
    config = configs[config_name]
    checksum = inputs_checksum(input_files(data_dir, nlu_dir), config)
    if not force and recorded_checksum(out) == checksum and (out / MODEL_CONFIG).is_file():
        logger.info("sentiment model at %s is up to date (inputs %s…); skipping training", out, checksum[:12])
        return dict(json.loads((out / TRAINING_RECORD).read_text(encoding="utf-8")))
    splits = load_splits(data_dir, nlu_dir)
    train_set: Sequence[Example] = splits.train
    logger.info(
        "training the sentiment model (config %s) on %d examples, dev %d; test %d held out",
        config_name,
        len(splits.train),
        len(splits.dev),
        len(splits.test),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    started = time.time()
    metrics = train(train_set, splits.dev, config, tmp, progress=progress)
    if not (tmp / MODEL_CONFIG).is_file():
        raise RuntimeError(f"the trainer wrote no {MODEL_CONFIG} into {tmp}")
    record = {
        "inputs_checksum": checksum,
        "config_name": config_name,
        "config": config_dict(config),
        "counts": splits.counts(),
        "dropped": {"conflicts": splits.dropped_conflicts, "duplicates": splits.dropped_duplicates},
        "dev_metrics": metrics,
        "seconds": round(time.time() - started, 1),
    }
    (tmp / TRAINING_RECORD).write_text(
        json.dumps(record, indent=2, sort_keys=True, default=str) + "\n", "utf-8"
    )
    _swap_in(tmp, out)
    logger.info("sentiment model written to %s in %.0f s", out, record["seconds"])
    return record


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sentiment.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="cpu_ci | cpu_small | gpu_full")
    parser.add_argument("--data-dir", type=Path, required=True, help="the shared review data (DATA_DIR)")
    parser.add_argument("--out", type=Path, required=True, help="where the model goes (SENTIMENT_DIR)")
    parser.add_argument("--force", action="store_true", help="train even when the inputs did not change")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (CI logs)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not args.data_dir.is_dir():
        print(  # noqa: T201
            f"no sentiment data at {args.data_dir}: not training a sentiment model; the action server and "
            "make sentiment-predict score with the lexicon baseline (set DATA_DIR to train one)",
            file=sys.stderr,
        )
        return 0
    try:
        train_model(args.config, args.data_dir, args.out, force=args.force, progress=not args.no_progress)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)  # noqa: T201
        return 2
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
