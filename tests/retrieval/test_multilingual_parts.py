"""The pieces of the Chinese indexes that need no model: the fused encoder's arithmetic, the Chinese KB index
build (records, fingerprint), the search lane and Chinese lexical tokens."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.build import build_kb
from retrieval.config import EncoderConfig, IndexConfig
from retrieval.errors import EncoderError
from retrieval.index import VectorIndex
from retrieval.lexical import content_words, tokens
from retrieval.multilingual import FusedEncoder
from retrieval.service import search_lane
from tests.retrieval.retrieval_fakes import FakeEncoder


class QueryAware(FakeEncoder):
    """A fake with E5's two entry points: queries get another vector than passages."""

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.encode([f"q {t}" for t in texts])


def test_a_fused_cosine_is_the_weighted_sum_of_the_parts() -> None:
    a, b = QueryAware(dim=64, name="a"), FakeEncoder(dim=32, name="b")
    fused = FusedEncoder(EncoderConfig(model="a+b"), [(a, 2.0), (b, 1.0)])
    docs = ["wool sweater care", "shipping to spain", "pay by invoice"]
    query = ["how to wash wool"]
    got = (fused.encode_queries(query) @ fused.encode(docs).T)[0]
    want = (2 * (a.encode_queries(query) @ a.encode(docs).T) + (b.encode(query) @ b.encode(docs).T))[0] / 3
    assert fused.dim == 96 and got == pytest.approx(want, abs=1e-6)
    assert np.linalg.norm(fused.encode(docs), axis=1) == pytest.approx(np.ones(3), abs=1e-6)
    with pytest.raises(EncoderError, match=r"'a\+b' needs positive weights"):
        FusedEncoder(EncoderConfig(model="a+b"), [(a, 1.0), (b, 0.0)])


def test_the_chinese_kb_index_rebuilds_on_change_and_apart_from_the_english_one(
    kb_dir: Path, tmp_path: Path
) -> None:
    encoder = FakeEncoder()
    both = ("en", "zh")
    first = build_kb(kb_dir, tmp_path / "zh", encoder, IndexConfig(), languages=both)
    assert (
        not first.skipped and first.items == 5 + 9 + 3 * 2
    )  # en questions + zh questions + an "a" per language
    assert build_kb(kb_dir, tmp_path / "zh", encoder, IndexConfig(), languages=both).skipped
    assert not build_kb(
        kb_dir, tmp_path / "zh", encoder, IndexConfig()
    ).skipped  # English-only: another index
    (kb_dir / "test.yml").write_text(
        (kb_dir / "test.yml").read_text(encoding="utf-8").replace("羊毛衫怎么洗？", "羊毛衫该怎么洗？"),
        encoding="utf-8",
    )
    again = build_kb(kb_dir, tmp_path / "zh", encoder, IndexConfig(), languages=both)
    assert not again.skipped
    assert VectorIndex.load(tmp_path / "zh" / "kb").get("care-wool#zh-q0")["text"] == "羊毛衫该怎么洗？"


def test_the_search_lane_follows_the_conversation_and_the_message() -> None:
    assert search_lane("羊毛衫怎么洗", "zh") == "zh"
    assert search_lane("Metro 背包有货吗", "zh") == "zh"
    assert search_lane("is PayPal ok?", "zh") == "en"
    assert search_lane("羊毛衫怎么洗", "en") == "en"
    assert search_lane(None, "zh") == "en"


def test_chinese_tokens_are_words_and_bigrams_not_whitespace() -> None:
    assert tokens("訂單號SD-100042") == [
        "sd-100042",
        "订单号",
        "订单",
        "单号",
    ]  # Traditional read as Simplified
    assert "退货" in tokens("我想退货") and "我" not in tokens("我想退货")
    assert content_words("ＵＳＢ充电器") == ["usb", "充电器"]  # full-width Latin
    assert content_words("哈哈，的了吗？") == []
