"""The responder: a fine-tuned BERT cross-encoder that re-ranks retrieval candidates and decides whether to
answer, ask a clarifying question or hand over to a person.

    from retrieval.responder import load_responder, Responder, Decision

Importing this package is cheap: torch and transformers load when a model does. This package is what the
action server serves with; building data, fine-tuning and evaluating live in
:mod:`retrieval.responder.training`, which this package never imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from retrieval.responder.config import Gate, ResponderConfig, Thresholds
from retrieval.responder.decision import Decision, decide
from retrieval.responder.errors import (
    BaseModelMismatchError,
    CheckpointCorruptError,
    CheckpointMissingError,
    ResponderConfigError,
    ResponderError,
    ResponderInputError,
    TrainingDataError,
)

if TYPE_CHECKING:
    from retrieval.responder.serving import Responder, load_responder

__all__ = [
    "BaseModelMismatchError",
    "CheckpointCorruptError",
    "CheckpointMissingError",
    "Decision",
    "Gate",
    "Responder",
    "ResponderConfig",
    "ResponderConfigError",
    "ResponderError",
    "ResponderInputError",
    "Thresholds",
    "TrainingDataError",
    "decide",
    "load_responder",
]


def __getattr__(name: str) -> Any:  # serving imports numpy at module level; keep package import light
    if name in {"Responder", "load_responder"}:
        from retrieval.responder import serving

        return getattr(serving, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
