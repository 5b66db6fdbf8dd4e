"""A trained responder on disk: the inputs checksum that decides whether to retrain, the atomic write of
``<out>/model/`` + ``<out>/meta.json``, and the facts about the machine recorded in ``meta.json``."""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
from pathlib import Path
from typing import Any

from retrieval.responder.model import CrossEncoder
from retrieval.responder.training.config import TrainConfig
from retrieval.responder.training.dataset import Dataset

META_FORMAT = 1
RESPONDER_DIR = Path(__file__).resolve().parents[1]
# the code whose change retrains (paths relative to retrieval/responder/): every module the training run's
# computation lives in; not the data set's reader, the configuration (hashed by value) or the errors
CODE_FILES = (
    "training/train.py",
    "training/loop.py",
    "training/scoring.py",
    "training/metrics.py",
    "training/checkpoint.py",
    "training/tuning.py",
    "model.py",
    "calibration.py",
    "decision.py",
)
NOT_CODE = ("training/config.py", "training/dataset.py", "errors.py", "config.py")


def inputs_checksum(dataset: Dataset, config: TrainConfig) -> str:
    digest = hashlib.sha256()
    digest.update(str(dataset.manifest["data_checksum"]).encode())
    digest.update(json.dumps(config.to_dict(), sort_keys=True).encode())
    for name in CODE_FILES:
        digest.update((RESPONDER_DIR / name).read_bytes())
    return digest.hexdigest()


def recorded_checksum(out: Path) -> str | None:
    try:
        return json.loads((out / "meta.json").read_text(encoding="utf-8")).get("inputs_checksum")
    except (OSError, ValueError):
        return None


def device_name(device: str) -> str:
    if device == "cuda":
        import torch

        return str(torch.cuda.get_device_name(0))
    return platform.processor() or platform.machine()


def package_version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def save_checkpoint(model: CrossEncoder, meta: dict[str, Any], out: Path) -> None:
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
