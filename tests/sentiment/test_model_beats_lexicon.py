"""The trained model (``make sentiment`` -> SENTIMENT_DIR) beats the lexicon baseline on held-out test data.

Measured here, on the same fixed-size sample of each language's test split (never trained or tuned on): the
model's macro-F1 must be higher than the lexicon's. Skipped with the reason when the model or the data is
missing outside CI; in CI (where ``make test`` trains the model first) a missing model fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sentiment.data import DataError, by_language, load_splits, sample
from sentiment.lexicon import LexiconScorer
from sentiment.loading import MODEL_CONFIG, load_scorer
from sentiment.metrics import macro_f1

ROOT = Path(__file__).resolve().parents[2]
PER_LANGUAGE = 300
SEED = 2026


def _dir(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    path = Path(value) if value else default
    return path if path.is_absolute() else ROOT / path


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI: `make test` runs `make sentiment` first)")
    pytest.skip(reason)


@pytest.mark.slow
@pytest.mark.parametrize("language", ["en", "zh"])
def test_model_beats_lexicon(language: str) -> None:
    model_dir = _dir("SENTIMENT_DIR", Path("var/sentiment"))
    data_dir = _dir("DATA_DIR", ROOT.parent / "shared" / "data")
    if not (model_dir / MODEL_CONFIG).is_file():
        _missing(f"no trained sentiment model in {model_dir}: run `make sentiment`")
    try:
        splits = load_splits(data_dir)
    except DataError as exc:
        _missing(f"no sentiment data: {exc}")
    examples = sample(by_language(splits.test, language), PER_LANGUAGE, seed=SEED)
    assert len(examples) == PER_LANGUAGE
    texts, gold = [ex.text for ex in examples], [ex.label for ex in examples]
    model_f1 = macro_f1(gold, [p.label for p in load_scorer(model_dir).predict(texts)])
    lexicon_f1 = macro_f1(gold, [p.label for p in LexiconScorer().predict(texts)])
    print(f"{language}: model macro-F1 {model_f1:.3f} vs lexicon {lexicon_f1:.3f} on {len(texts)} test texts")
    assert model_f1 > lexicon_f1, (
        f"{language}: model {model_f1:.3f} does not beat the lexicon {lexicon_f1:.3f}"
    )
