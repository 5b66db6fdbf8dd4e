"""Configuration objects for serving the responder: serving options and decision thresholds.

Training has its own (``retrieval.responder.training.config.TrainConfig``). Nothing here reads ``os.environ``:
processes build these objects in their settings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from retrieval.responder.errors import ResponderConfigError

DEVICES = ("auto", "cpu", "cuda")
PRECISION_CHOICES = ("auto", "fp32", "bf16", "int8")
THRESHOLD_PROBABILITIES = ("answer", "clarify", "margin", "choice_floor")  # the Thresholds fields in [0, 1]
GATE_KINDS = ("kb", "product")  # the candidate pools the gate may skip the cross-encoder for


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
class Gate:
    """When re-ranking cannot change the answer: the retrieval's first candidate has a bi-encoder cosine at or
    above ``floor`` and beats every other candidate's cosine by ``margin`` or more. The ranker then answers with
    it without running the cross-encoder (:func:`retrieval.ranker.gate_skips`); otherwise it re-ranks as always.
    ``kinds``: the candidate pools (``kb``, ``product``) it applies to. Chosen on dev questions
    (bench/responder_eval.py, docs/benchmarks.md "Action server turn cost (gate)")."""

    # chosen on dev (the most skips with no decision changed): kb 0.12 / 0.6 skipped half the dev questions;
    # product questions skipped 4% at best, so the gate is for the knowledge base only
    margin: float = 0.12
    floor: float = 0.6
    kinds: tuple[str, ...] = ("kb",)

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.margin) <= 2.0:
            raise ResponderConfigError("gate.margin", self.margin, "a cosine difference in [0, 2]")
        if not -1.0 <= float(self.floor) <= 1.0:
            raise ResponderConfigError("gate.floor", self.floor, "a cosine in [-1, 1]")
        unknown = [k for k in self.kinds if k not in GATE_KINDS]
        if unknown or not self.kinds:
            raise ResponderConfigError("gate.kinds", unknown[0] if unknown else self.kinds, GATE_KINDS)


@dataclass(frozen=True)
class ResponderConfig:
    """How the action server runs a trained responder.

    ``precision``: ``auto`` takes the fastest one the checkpoint says kept dev quality on this hardware (bf16
    on a CPU with AMX-BF16, else int8, else fp32; fp32 on CUDA). ``compile``: run the model through
    ``torch.compile`` at one fixed shape (``[top_k, max_length]``); when compiling fails it serves eagerly.
    ``thresholds`` left as None take the ones fitted on dev (``meta.json``); ``threshold_overrides`` then
    replace single fields (``(("answer", 0.5),)``). ``gate``: skip the cross-encoder when the retrieval's first
    candidate is clearly ahead (:class:`Gate`; None: always re-rank). ``expected_base_model`` set: a checkpoint fine-tuned from
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
    gate: Gate | None = field(default_factory=Gate)  # None: the cross-encoder re-ranks every candidate list

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ResponderConfigError("device", self.device, DEVICES)
        if self.precision not in PRECISION_CHOICES:
            raise ResponderConfigError("precision", self.precision, PRECISION_CHOICES)
        if self.top_k < 1:
            raise ResponderConfigError("top_k", self.top_k, "an integer >= 1")
        if self.gate is not None and not isinstance(self.gate, Gate):
            raise ResponderConfigError("gate", self.gate, "a retrieval.responder.config.Gate or None")
        known = {f.name for f in fields(Thresholds)}
        for name, _ in self.threshold_overrides:
            if name not in known:
                raise ResponderConfigError("threshold override", name, sorted(known))
