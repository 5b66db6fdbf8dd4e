from __future__ import annotations

from bench.sentiment_eval import evaluate, groups, markdown, per_source
from sentiment.lexicon import LexiconScorer
from sentiment.types import Example


def _ex(text: str, label: str, language: str, source: str) -> Example:
    return Example(text, label, language, source)  # type: ignore[arg-type]


EXAMPLES = [
    _ex("I love this wonderful dress", "positive", "en", "womens_reviews"),
    _ex("terrible, awful quality", "negative", "en", "womens_reviews"),
    _ex("it is a dress", "neutral", "en", "womens_reviews"),
    _ex("很好，非常满意", "positive", "zh", "eprstmt"),
    _ex("太差了，很失望", "negative", "zh", "eprstmt"),
]


def test_groups_by_language_source_and_both() -> None:
    rows = groups(EXAMPLES)
    assert rows["en"] == [0, 1, 2] and rows["eprstmt"] == [3, 4] and rows["womens_reviews/en"] == [0, 1, 2]


def test_per_source_caps_each_source() -> None:
    picked = per_source(EXAMPLES, 2, seed=1)
    assert sum(ex.source == "womens_reviews" for ex in picked) <= 2
    assert sum(ex.source == "eprstmt" for ex in picked) == 2


def test_evaluate_reports_per_row_and_the_table_names_each_method() -> None:
    result = evaluate(LexiconScorer(), EXAMPLES, EXAMPLES[:2])
    test = result["test"]
    assert test["all"]["n"] == 5 and test["eprstmt"]["n"] == 2
    assert test["womens_reviews"]["binary_accuracy"] == 1.0  # the neutral review is left out
    assert sum(map(sum, test["all"]["confusion"])) == 5
    assert result["conversational"]["all"]["n"] == 2
    table = markdown({"lexicon": {**result, "latency_ms": {"p50": 1.0, "p95": 2.0}}})
    assert "| EPRSTMT test accuracy |" in table and "1.0 / 2.0" in table
