"""Configuration objects for the responder: training presets, serving options and decision thresholds.

Training presets are JSON files in ``retrieval/responder/configs/`` (``cpu_small``, ``gpu_full``); a path to
another JSON file works too. Nothing here reads ``os.environ``: processes build these objects in their settings.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from retrieval.responder.errors import ResponderConfigError

DEFAULT_BASE_MODEL = "all-MiniLM-L6-v2"
CONFIG_DIR = Path(__file__).parent / "configs"
DEVICES = ("auto", "cpu", "cuda")
PRECISION_CHOICES = ("auto", "fp32", "bf16", "int8")
BF16_TRAINING = ("auto", "on", "off")
THRESHOLD_PROBABILITIES = ("answer", "clarify", "margin", "choice_floor")  # the Thresholds fields in [0, 1]


def preset_names() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))


@dataclass(frozen=True)
class Thresholds:
    """Calibrated-probability thresholds that route a ranked list to answer / clarify / hand off.

    answer   the best candidate's probability at or above which the bot answers with it alone,
             provided it beats the runner-up by ``margin``;
    clarify  the best candidate's probability at or above which the bot offers the top ``max_choices``
             (those with probability >= ``choice_floor``, at least two) as buttons; below it, hand off.
    """

    answer: float = 0.6
    clarify: float = 0.15
    margin: float = 0.1
    choice_floor: float = 0.05
    max_choices: int = 3

    def __post_init__(self) -> None:
        for name in THRESHOLD_PROBABILITIES:
            value = getattr(self, name)
            if not 0.0 <= float(value) <= 1.0:
                raise ResponderConfigError(f"thresholds.{name}", value, "a probability in [0, 1]")
        if self.clarify > self.answer:
            raise ResponderConfigError(
                "thresholds.clarify", self.clarify, f"a value <= answer ({self.answer})"
            )
        if self.max_choices not in (2, 3):
            raise ResponderConfigError("thresholds.max_choices", self.max_choices, [2, 3])

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Thresholds:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ResponderConfigError("thresholds field", sorted(unknown)[0], sorted(known))
        return cls(**data)


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


@dataclass(frozen=True)
class ResponderConfig:
    """How the action server runs a trained responder.

    ``precision``: ``auto`` takes the fastest one the checkpoint says kept dev quality on this hardware (bf16
    on a CPU with AMX-BF16, else int8, else fp32; fp32 on CUDA). ``compile``: run the model through
    ``torch.compile`` at one fixed shape (``[top_k, max_length]``); when compiling fails it serves eagerly.
    ``thresholds`` left as None take the ones fitted on dev (``meta.json``); ``threshold_overrides`` then
    replace single fields (``(("answer", 0.5),)``). ``expected_base_model`` set: a checkpoint fine-tuned from
    another base model is refused.
    """

    top_k: int = 20
    precision: str = "auto"
    compile: bool = False  # torch.compile at load (CPU, fp32/bf16): faster re-ranks, seconds more to load
    thresholds: Thresholds | None = None
    threshold_overrides: tuple[tuple[str, float], ...] = ()  # (field, value) pairs over the chosen thresholds
    expected_base_model: str | None = None
    device: str = "auto"
    num_threads: int | None = None
    max_query_chars: int = 1000
    max_passage_chars: int = 2000
    max_passages: int = 200
    max_length: int | None = None  # tokens per (query, passage) pair; None = the checkpoint's training length

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ResponderConfigError("device", self.device, DEVICES)
        if self.precision not in PRECISION_CHOICES:
            raise ResponderConfigError("precision", self.precision, PRECISION_CHOICES)
        if self.top_k < 1:
            raise ResponderConfigError("top_k", self.top_k, "an integer >= 1")
        known = {f.name for f in fields(Thresholds)}
        for name, _ in self.threshold_overrides:
            if name not in known:
                raise ResponderConfigError("threshold override", name, sorted(known))
