"""rasa_addons.sentence_encoders.CachedEncoder: rows looked up instead of encoded, least recently used out."""

from __future__ import annotations

import numpy as np
import pytest

from rasa_addons.sentence_encoders import CachedEncoder


class CountingEncoder:
    name, dim = "counting", 3

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.array([[len(t), ord(t[0]) if t else 0, 1.0] for t in texts], dtype=np.float32)


def test_rows_equal_the_encoders_and_each_distinct_text_is_encoded_once() -> None:
    inner = CountingEncoder()
    cached = CachedEncoder(inner, capacity=10)
    texts = ["order", "my", "order", "where"]
    np.testing.assert_array_equal(cached.encode(texts), inner.encode(texts))
    assert inner.calls[0] == ["order", "my", "where"]
    inner.calls.clear()
    np.testing.assert_array_equal(
        cached.encode(["where", "is", "my"]), CountingEncoder().encode(["where", "is", "my"])
    )
    assert inner.calls == [["is"]]
    assert (cached.hits, cached.misses) == (3, 4)


def test_the_least_recently_used_text_goes_first_when_full() -> None:
    inner = CountingEncoder()
    cached = CachedEncoder(inner, capacity=2)
    cached.encode(["a"])
    cached.encode(["b"])
    cached.encode(["a"])  # a is now the most recent: b goes when c comes
    cached.encode(["c"])
    inner.calls.clear()
    cached.encode(["a", "c"])
    assert inner.calls == []
    cached.encode(["b"])
    assert inner.calls == [["b"]]


def test_a_returned_row_cannot_change_the_cached_one() -> None:
    cached = CachedEncoder(CountingEncoder(), capacity=4)
    cached.encode(["hello"])[0, 0] = -99.0
    assert cached.encode(["hello"])[0, 0] == 5.0


def test_no_texts_and_a_bad_capacity() -> None:
    assert CachedEncoder(CountingEncoder(), capacity=1).encode([]).shape == (0, 3)
    with pytest.raises(ValueError, match="capacity=0"):
        CachedEncoder(CountingEncoder(), capacity=0)
