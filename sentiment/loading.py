"""Load the scorer a process serves with: the fine-tuned model when one is trained, else the lexicon baseline."""

from __future__ import annotations

import logging
from pathlib import Path

from sentiment.lexicon import LexiconScorer
from sentiment.types import Scorer

logger = logging.getLogger(__name__)

MODEL_CONFIG = "config.json"  # written beside the weights by the trainer; its presence marks a trained model


def load_scorer(model_dir: Path | None, *, cache_size: int = 0) -> Scorer:
    """The fine-tuned model in ``model_dir`` (``make sentiment`` writes it), or the lexicon baseline when there is
    none (no review data to train on: docs/sentiment.md). A directory that exists but does not load is an error.
    ``cache_size``: single-text predictions the model keeps (:class:`sentiment.model.FineTunedScorer`)."""
    if model_dir is None or not (model_dir / MODEL_CONFIG).is_file():
        logger.warning("no trained sentiment model in %s: scoring with the lexicon baseline", model_dir)
        return LexiconScorer()
    from sentiment.model import FineTunedScorer  # torch and transformers: only when there is a model

    return FineTunedScorer.load(model_dir, cache_size=cache_size)
