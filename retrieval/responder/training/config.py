"""Configuration of one fine-tuning run: :class:`TrainConfig` and its presets.

Presets are JSON files in ``retrieval/responder/training/configs/`` (``cpu_small``, ``gpu_full``); a path to
another JSON file works too. Nothing here reads ``os.environ``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from retrieval.responder.config import DEVICES, Thresholds
from retrieval.responder.errors import ResponderConfigError
from retrieval.responder.model import PRECISIONS

DEFAULT_BASE_MODEL = "all-MiniLM-L6-v2"
CONFIG_DIR = Path(__file__).parent / "configs"
BF16_TRAINING = ("auto", "on", "off")


def preset_names() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one fine-tuning run (a preset file holds these fields)."""

    name: str = "custom"
    base_model: str = DEFAULT_BASE_MODEL
    layers: int | None = None  # keep the base model's first N transformer layers (None: all)
    max_length: int = 128
    negatives: int = 7  # hard negatives per query in each training group
    groups_per_batch: int = 8
    epochs: int = 3
    lr: float = 5e-5
    head_lr_multiplier: float = 20.0  # the fresh head (pooler + classifier) learns this much faster than BERT
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    bce_weight: float = 0.5  # pointwise BCE added to the listwise loss, keeps logits usable for calibration
    patience: int = 1  # epochs without a lower dev loss before stopping (the best-loss epoch is kept)
    seed: int = 13
    max_train_queries: int | None = None
    max_dev_queries: int | None = None
    eval_k: int = 20  # dev re-ranks the bi-encoder's top eval_k, as serving does
    eval_batch_size: int = 64
    # dev passes on the base model and after every epoch (early stopping, the best epoch kept); False: one dev
    # pass after the last epoch, which is kept (no early stopping: the epoch count decides)
    eval_every_epoch: bool = True
    precisions: tuple[str, ...] = PRECISIONS  # serving precisions scored and calibrated on dev (fp32 always)
    max_minutes: float | None = None  # stop training (and keep the best epoch) when this budget is spent
    device: str = "auto"
    bf16: str = "auto"  # bf16 autocast in training: auto = on CUDA, and on a CPU with AMX-BF16; on; off
    num_threads: int | None = None
    prior_weight: float = (
        10.0  # train the cross-encoder on top of prior_weight * bi-encoder cosine (0: alone)
    )
    fusion: bool = True  # calibrate on (cross-encoder logit, bi-encoder cosine) rather than the logit alone
    target_precision: float = 0.9  # answer threshold: lowest one whose answered share is this accurate on dev
    precision_max_drop: float = (
        0.01  # bf16/int8 serving is allowed when dev top-1 and MRR@10 drop at most this
    )
    default_thresholds: Thresholds = field(default_factory=Thresholds)

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ResponderConfigError("device", self.device, DEVICES)
        if self.bf16 not in BF16_TRAINING:
            raise ResponderConfigError("bf16", self.bf16, BF16_TRAINING)
        for name in ("max_length", "negatives", "groups_per_batch", "epochs", "eval_k", "eval_batch_size"):
            if int(getattr(self, name)) < 1:
                raise ResponderConfigError(name, getattr(self, name), "an integer >= 1")
        if not 0.0 < self.lr < 1.0:
            raise ResponderConfigError("lr", self.lr, "a learning rate in (0, 1)")
        if "fp32" not in self.precisions or not set(self.precisions) <= set(PRECISIONS):
            raise ResponderConfigError("precisions", list(self.precisions), f"fp32 and any of {PRECISIONS}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["default_thresholds"] = self.default_thresholds.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        data = dict(data)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ResponderConfigError("training config field", sorted(unknown)[0], sorted(known))
        if "default_thresholds" in data:
            data["default_thresholds"] = Thresholds.from_dict(data["default_thresholds"])
        if "precisions" in data:
            data["precisions"] = tuple(data["precisions"])
        return cls(**data)

    def with_overrides(self, **overrides: Any) -> TrainConfig:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def load_train_config(name_or_path: str | Path) -> TrainConfig:
    """A preset name (``cpu_small``, ``gpu_full``) or a path to a JSON file with :class:`TrainConfig` fields."""
    path = Path(name_or_path)
    if not path.suffix:
        path = CONFIG_DIR / f"{name_or_path}.json"
    if not path.is_file():
        raise ResponderConfigError("training config", str(name_or_path), [*preset_names(), "<a JSON file>"])
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ResponderConfigError("training config file", str(path), f"readable JSON ({exc})") from exc
    data.setdefault("name", path.stem)
    return TrainConfig.from_dict(data)
