"""The hand-written conversational evaluation set (eval/sentiment/): its shape, and that no model trains on it."""

from __future__ import annotations

from collections import Counter

from bench.sentiment_eval import CONVERSATIONAL, load_conversational
from sentiment.data import load_shop_nlu, normalise
from sentiment.text import has_words


def test_about_80_messages_per_language_with_every_label() -> None:
    examples = load_conversational()
    counts = Counter(ex.language for ex in examples)
    assert 75 <= counts["en"] <= 100 and 75 <= counts["zh"] <= 100
    by = Counter((ex.language, ex.label) for ex in examples)
    for language in ("en", "zh"):
        for label in ("negative", "neutral", "positive"):
            assert by[(language, label)] >= 15, (language, label)
    assert len({normalise(ex.text) for ex in examples}) == len(examples)  # no duplicates


def test_it_holds_the_hard_cases_the_brief_names() -> None:
    examples = {ex.text: ex.label for ex in load_conversational()}
    assert examples["my order is late, can you check?"] == "neutral"
    assert examples["cancel it"] == "neutral"
    assert examples["great, another delay"] == "negative"
    assert examples["太好了，又延迟了"] == "negative"
    assert any(not has_words(t) and label == "neutral" for t, label in examples.items())  # emoji-only
    mixed = [
        t
        for t in examples
        if any("\u4e00" <= c <= "\u9fff" for c in t) and any(c.isascii() and c.isalpha() for c in t)
    ]
    assert len(mixed) >= 4


def test_no_message_is_in_the_shop_training_data() -> None:
    shop = {normalise(ex.text) for ex in load_shop_nlu()}
    overlap = [ex.text for ex in load_conversational() if normalise(ex.text) in shop]
    assert overlap == [], f"{CONVERSATIONAL} shares messages with training_data/nlu: {overlap}"
