"""Feedback themes: the clusters of a small fixture come out as expected, with readable labels; 0-2 texts."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from analytics import schema
from analytics.terms import class_tfidf, words
from analytics.themes import ThemeConfig, default_embedder, refresh_themes, themes_for

DAMAGED = [
    "my parcel arrived damaged and the box was crushed",
    "the package came broken, box smashed",
    "item arrived damaged, the box was torn",
]
LATE = [
    "the delivery is two weeks late",
    "my order still has not arrived, the delivery is late",
    "shipping takes forever, delivery is so late",
]
CHARGED = [
    "I was charged twice for one order",
    "double charge on my credit card, charged twice",
    "you charged my card twice",
]
ZH_DAMAGED = ["包裹到了但是盒子破损了", "快递盒子破损了，东西也碎了", "盒子破损，杯子碎了"]
ZH_SLOW = ["物流太慢了，一个星期还没到", "发货太慢，等了好久还没到", "物流太慢"]


class OneHot:
    """A stand-in embedder: texts sharing their first word share a direction."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        firsts = sorted({t.split()[0] for t in texts})
        return np.asarray(
            [np.eye(max(2, len(firsts)))[firsts.index(t.split()[0])] for t in texts], dtype="float32"
        )


@pytest.fixture(scope="module")
def e5():  # type: ignore[no-untyped-def]
    return default_embedder()


def groups(themes) -> list[set[str]]:  # type: ignore[no-untyped-def]
    return [set(theme.examples) for theme in themes]


def test_english_feedback_falls_into_its_three_themes(e5) -> None:  # type: ignore[no-untyped-def]
    texts = [(t, "complaint") for t in DAMAGED + LATE + CHARGED]
    themes = themes_for(texts, "en", e5, ThemeConfig())
    assert sorted(map(frozenset, groups(themes)), key=sorted) == sorted(
        map(frozenset, [DAMAGED, LATE, CHARGED]), key=sorted
    )
    labels = {frozenset(theme.examples): theme.terms for theme in themes}
    assert "damaged" in labels[frozenset(DAMAGED)]
    assert "late" in labels[frozenset(LATE)]
    assert "charged" in labels[frozenset(CHARGED)]


def test_chinese_feedback_is_clustered_with_jieba_labels(e5) -> None:  # type: ignore[no-untyped-def]
    themes = themes_for([(t, "negative") for t in ZH_DAMAGED + ZH_SLOW], "zh", e5, ThemeConfig())
    assert sorted(map(frozenset, groups(themes)), key=sorted) == sorted(
        map(frozenset, [ZH_DAMAGED, ZH_SLOW]), key=sorted
    )
    labels = {frozenset(theme.examples): theme.terms for theme in themes}
    assert "破损" in labels[frozenset(ZH_DAMAGED)]
    assert "太慢" in labels[frozenset(ZH_SLOW)]
    assert all(theme.sources == {"negative": 3} for theme in themes)


def test_few_texts() -> None:
    config = ThemeConfig()
    assert themes_for([], "en", OneHot(), config) == []
    [one] = themes_for([("broken box", "complaint")], "en", OneHot(), config)
    assert (one.count, one.examples, one.terms) == (1, ["broken box"], ["box", "broken"])
    same = themes_for([("broken box", "complaint"), ("broken lid", "negative")], "en", OneHot(), config)
    assert [theme.count for theme in same] == [2]
    apart = themes_for([("broken box", "complaint"), ("late parcel", "complaint")], "en", OneHot(), config)
    assert [theme.count for theme in apart] == [1, 1]


def test_words_drop_stop_words_in_both_languages() -> None:
    assert words("The box was crushed and I am not happy", "en") == ["box", "crushed", "happy"]
    assert "的" not in words("我的包裹坏了", "zh") and "包裹" in words("我的包裹坏了", "zh")
    assert class_tfidf([["box crushed", "box torn"], ["late parcel"]], "en")[0][0] == "box"


def test_refresh_themes_stores_them_and_replaces_old_ones(tmp_path: Path) -> None:
    db = tmp_path / "analytics.db"
    connection = schema.connect(db)
    with connection:
        connection.executemany(
            "INSERT INTO feedback_texts VALUES ('s', 0, ?, ?, 'en', ?)",
            [
                (1.0, "complaint", "broken box"),
                (2.0, "low_rating", "broken lid"),
                (3.0, "negative", "late parcel"),
            ],
        )
    connection.close()
    refresh_themes(db, OneHot())
    refresh_themes(db, OneHot())
    rows = (
        sqlite3.connect(db)
        .execute("SELECT language, theme_no, count, examples, sources FROM themes")
        .fetchall()
    )
    assert [(r[0], r[1], r[2]) for r in rows] == [("en", 0, 2), ("en", 1, 1)]
    assert json.loads(rows[0][4]) == {"complaint": 1, "low_rating": 1}


def test_no_feedback_no_themes_and_no_model_loaded(tmp_path: Path) -> None:
    class Unusable:
        def encode(self, texts: Sequence[str]) -> np.ndarray:
            raise AssertionError("nothing to embed")

    assert refresh_themes(tmp_path / "analytics.db", Unusable()) == []
