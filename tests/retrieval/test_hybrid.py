"""Hybrid search: BM25 over the indexed texts, filters inside it, reciprocal-rank fusion, and the service using it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from retrieval.config import HybridConfig, RankConfig, RetrievalConfig
from retrieval.errors import ConfigError, QueryError
from retrieval.hybrid import LexicalIndex, fuse, rrf, terms
from retrieval.ranker import BiEncoderRanker
from retrieval.service import RetrievalService
from tests.retrieval.retrieval_fakes import FakeEncoder, index_with

RECORDS = [
    {"id": "a", "label": 1, "text": "Aurora desk lamp, dimmable LED", "color": "black"},
    {"id": "b", "label": 2, "text": "Orbit floor lamp with a linen shade", "color": "white"},
    {"id": "c", "label": 3, "text": "Metro laptop backpack", "color": "black"},
    {"id": "d", "label": 4, "text": "Voyager trolley bag, cabin size", "color": "black"},
]


def keys(hits: Sequence[object]) -> list[str]:
    return [h.key for h in hits]  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------- BM25


def test_bm25_ranks_by_rare_matching_words() -> None:
    lexical = LexicalIndex.from_records(RECORDS)
    assert keys(lexical.search("desk lamp")) == ["a", "b"]  # both lamps; only one is a desk lamp
    assert keys(lexical.search("voyager")) == ["d"]
    assert keys(lexical.search("lamp", k=1)) == ["a"]  # ties: document order
    assert lexical.search("submarine") == []  # no shared word: nothing, not every document at 0
    hits = lexical.search("linen lamp")
    assert hits[0].key == "b" and hits[0].score > hits[1].score > 0


def test_bm25_reads_mixed_chinese_and_traditional_text() -> None:
    lexical = LexicalIndex.from_records(
        [
            {"id": "zh-1", "text": "羊毛衫怎么洗"},
            {"id": "zh-2", "text": "可以先买后付吗"},
            {"id": "en", "text": "wool"},
        ]
    )
    assert keys(lexical.search("羊毛衫可以機洗嗎"))[0] == "zh-1"  # Traditional characters read as Simplified


def test_a_group_of_records_is_one_document() -> None:
    records = [
        {"id": "e1#q0", "entry_id": "e1", "label": 10, "text": "Do you ship to Spain?"},
        {"id": "e1#a", "entry_id": "e1", "label": 11, "text": "Countries. We ship to every EU country."},
        {"id": "e2#a", "entry_id": "e2", "label": 12, "text": "Invoices. Business accounts pay on invoice."},
    ]
    lexical = LexicalIndex.from_records(records, group_by="entry_id")
    assert len(lexical) == 2 and lexical.members("e1") == ["e1#q0", "e1#a"]
    assert keys(lexical.search("ship spain country")) == ["e1"]


def test_filters_apply_inside_the_lexical_search() -> None:
    lexical = LexicalIndex.from_records(RECORDS)
    black = np.asarray([r["label"] for r in RECORDS if r["color"] == "black"])
    assert keys(lexical.search("lamp", allowed_labels=black)) == ["a"]  # the white floor lamp is filtered out
    # the best *allowed* match, however far down the unfiltered list it is
    assert keys(lexical.search("linen lamp", k=1, allowed_labels=np.asarray([1]))) == ["a"]
    assert lexical.search("lamp", allowed_labels=np.asarray([], dtype="int64")) == []
    assert keys(lexical.search("lamp", allowed_keys={"b"})) == ["b"]


@pytest.mark.parametrize("query", ["", "the and of", "🙂🙂🙂", "?!…", "的了吗", "what is it"])
def test_queries_without_search_words_find_nothing_lexically(query: str) -> None:
    lexical = LexicalIndex.from_records(RECORDS)
    assert lexical.search(query) == []


def test_a_very_long_query_and_an_empty_catalog_do_not_crash() -> None:
    lexical = LexicalIndex.from_records(RECORDS)
    assert keys(lexical.search("lamp " * 2_000 + "voyager"))[0] in {"a", "b", "d"}
    assert LexicalIndex.from_records([]).search("lamp") == []
    one = LexicalIndex.from_records(RECORDS[:1])
    assert keys(one.search("aurora")) == ["a"]  # idf stays positive with one document
    assert terms("The Aurora LAMP and the USB-C cable") == ["aurora", "lamp", "usb-c", "cable"]


# ------------------------------------------------------------------------------------------- fusion


def test_rrf_orders_by_summed_reciprocal_ranks() -> None:
    fused = rrf([["a", "b", "c"], ["c", "d", "a"]], k=1)
    assert [item for item, _ in fused] == ["a", "c", "b", "d"]  # a: 1/2+1/4, c: 1/4+1/2 (a first seen first)
    assert fused[0][1] == pytest.approx(0.75)
    assert [i for i, _ in rrf([["a", "b"], ["b", "a"]], weights=[0.0, 1.0])] == ["b", "a"]
    assert [i for i, _ in rrf([["a", "a", "b"]])] == [
        "a",
        "b",
    ]  # a repeated item counts once, at its best rank
    with pytest.raises(ValueError, match="1 weights for 2 rankings"):
        rrf([["a"], ["b"]], weights=[1.0])


def test_fuse_carries_the_dense_score_of_lexical_only_hits() -> None:
    index, vectors = index_with(n=40, d=16)
    records = [dict(r) for r in index.items()]
    records[7]["text"] = "the zanzibar edition"  # only item 7 has the word
    lexical = LexicalIndex.from_records(records)
    query = vectors[3] * 0.9 + vectors[7] * 0.1
    dense = index.search(query, k=5)[0]
    assert "item-7" not in [h.id for h in dense]
    fused = fuse(
        dense,
        lexical.search("zanzibar"),
        index=index,
        lexical_index=lexical,
        query_vector=query,
        rrf_k=60,
        lexical_weight=0.5,
    )
    by_id = {f.hit.id: f for f in fused}
    assert fused[0].hit.id == "item-3"  # first in the dense list and not beaten by a lexical-only hit alone
    seven = by_id["item-7"]
    assert (seven.dense_rank, seven.lexical_rank) == (None, 1)
    assert seven.hit.score == pytest.approx(float(vectors[7] @ query), abs=1e-5)  # its own dense cosine
    assert [f.hit.score for f in fused if f.dense_rank] == pytest.approx([h.score for h in dense])
    # score fusion: (1 - w) * cosine + w * BM25 / best BM25; item 7 has the only BM25 score, so it gains w
    scored = fuse(
        dense,
        lexical.search("zanzibar"),
        index=index,
        lexical_index=lexical,
        query_vector=query,
        lexical_weight=0.5,
        method="score",
    )
    by_id = {f.hit.id: f for f in scored}
    assert by_id["item-7"].fused == pytest.approx(0.5 * float(vectors[7] @ query) + 0.5, abs=1e-5)
    assert by_id["item-3"].fused == pytest.approx(0.5 * dense[0].score, abs=1e-5)
    assert [f.fused for f in scored] == sorted((f.fused for f in scored), reverse=True)
    with pytest.raises(ValueError, match="unknown fusion method 'max'"):
        fuse(dense, [], index=index, lexical_index=lexical, query_vector=query, method="max")


def test_hybrid_settings_name_the_bad_value() -> None:
    for bad, field in (
        ({"rrf_k": 0}, "rrf_k"),
        ({"lexical_weight": 1.5}, "lexical_weight"),
        ({"kb_lexical_weight": -0.1}, "kb_lexical_weight"),
        ({"depth": 0}, "depth"),
        ({"depth": 2.5}, "depth"),
        ({"languages": ("en", "fr")}, "language"),
        ({"fusion": "max"}, "fusion"),
    ):
        with pytest.raises(ConfigError, match=field) as err:
            HybridConfig(**bad)  # type: ignore[arg-type]
        assert repr(next(iter(bad.values()))).strip("()").split(",")[-1].strip() in str(err.value)
    assert HybridConfig().serves("en") and not HybridConfig().serves("zh")
    assert not HybridConfig(enabled=False).serves("en")


# ------------------------------------------------------------------------------------------- the service


class ScriptedEncoder(FakeEncoder):
    """The fake bag-of-words encoder, except for scripted query texts (a dense model that misreads them)."""

    def __init__(self) -> None:
        super().__init__()
        self.scripted: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        out = super().encode(texts)
        for row, text in enumerate(texts):
            if text in self.scripted:
                out[row] = self.scripted[text]
        return out


def _service(index_dir: Path, encoder: FakeEncoder, hybrid: HybridConfig) -> RetrievalService:
    config = RetrievalConfig(
        index_dir=index_dir,
        product_rank=RankConfig(answer=0.5, clarify=0.2),
        kb_rank=RankConfig(answer=0.5, clarify=0.25),
        hybrid=hybrid,
    )
    return RetrievalService(config, encoder=encoder, ranker=BiEncoderRanker(config.kb_rank))


def _misread(service: RetrievalService, encoder: ScriptedEncoder, text: str) -> None:
    """The dense side reads ``text`` as mostly the Metro backpack (P-3) and a little the Voyager bag (P-4)."""
    v3, v4 = service.index("catalog").vectors_for(["P-3", "P-4"])
    vector = 0.8 * v3 + 0.6 * v4
    encoder.scripted[text] = (vector / np.linalg.norm(vector)).astype("float32")


def test_a_known_item_only_the_lexical_search_finds_is_found(built_index_dir: Path) -> None:
    encoder = ScriptedEncoder()
    dense_only = _service(built_index_dir, encoder, HybridConfig(enabled=False))
    hybrid = _service(built_index_dir, encoder, HybridConfig())
    text = "the voyager one"
    _misread(dense_only, encoder, text)
    assert dense_only.identify_product(text).hits[0].id == "P-3"  # the dense search alone picks the wrong bag
    ranked = hybrid.identify_product(text)
    assert ranked.hits[0].id == "P-4" and ranked.kind == "clarify"  # the two disagree: ask, best first
    assert hybrid.search_products(text).ranked.hits[0].id == "P-4"
    # the dense score is carried for routing: P-4's own cosine, not a fused score
    expected = float(hybrid.index("catalog").vectors_for(["P-4"])[0] @ encoder.scripted[text])
    assert ranked.hits[0].score == pytest.approx(expected, abs=1e-5)
    assert ranked.confidence >= expected  # the decision reads dense cosines (the backpack's is higher)


def test_dense_only_matches_are_still_found(built_index_dir: Path) -> None:
    encoder = ScriptedEncoder()
    service = _service(built_index_dir, encoder, HybridConfig())
    text = "something quick for muddy paths"  # no word of it in any product: only the dense side can match
    encoder.scripted[text] = service.index("catalog").vectors_for(["P-5"])[0]
    assert service.lexical("catalog").search(text) == []
    assert service.search_products(text).ranked.hits[0].id == "P-5"
    assert service.identify_product(text).hits[0].id == "P-5"
    assert service.identify_product("is the aurora desk lamp dimmable").hits[0].id == "P-1"
    assert service.answer_question("do you deliver to spain").hits[0].item["entry_id"] == "ship-countries"


def test_the_hybrid_keeps_filters_inside_both_searches(service: RetrievalService) -> None:
    result = service.search_products("a black bag under 100")
    assert [h.id for h in result.ranked.hits] == ["P-3"]  # the Voyager trolley (149) is found by neither
    lexical = service.lexical("catalog")
    assert service.shelf._state.lexical[("en", "catalog")] is lexical  # cached per (lane, name) index
    service.reload()
    assert ("en", "catalog") not in service.shelf._state.lexical  # dropped with the vector index


def test_kb_entries_are_one_lexical_document_and_carry_their_best_dense_score(built_index_dir: Path) -> None:
    encoder = ScriptedEncoder()
    service = _service(built_index_dir, encoder, HybridConfig(kb_lexical_weight=0.5))
    assert sorted(service.lexical("kb").keys) == ["care-wool", "pay-invoice", "ship-countries"]
    text = "wool please"  # the dense side reads it as the shipping answer; only BM25 sees "wool"
    kb = service.index("kb")
    encoder.scripted[text] = kb.vectors_for(["ship-countries#a"])[0]
    hits, lexical_ids = service._candidates("kb", "en", text, encoder.encode([text]), 10)
    # care-wool: first in BM25 and second of three in the dense list beats first in the dense list alone
    assert [h.item["entry_id"] for h in hits][:2] == ["care-wool", "ship-countries"]
    wool = next(h for h in hits if h.item["entry_id"] == "care-wool")
    members = [i for i in kb.ids if i.startswith("care-wool#")]
    assert wool.id in lexical_ids and wool.id in members
    assert wool.score == pytest.approx(float(max(kb.vectors_for(members) @ encoder.scripted[text])), abs=1e-5)
    assert len({h.item["entry_id"] for h in hits}) == len(hits)  # one hit per entry
    assert service.answer_question("how do I wash a wool sweater").hits[0].item["entry_id"] == "care-wool"


@pytest.mark.parametrize(
    ("text", "language", "reason"),
    [
        ("", "en", "empty"),
        ("🙂🙂🙂", "en", "no_letters"),
        ("?!…", "en", "no_letters"),
        ("的了吗", "zh", "no_letters"),
        ("lamp " * 2_000, "en", "too_long"),
    ],
)
def test_bad_queries_are_refused_before_any_search(
    service: RetrievalService, text: str, language: str, reason: str
) -> None:
    with pytest.raises(QueryError) as err:
        service.search_products(text, language=language)
    assert err.value.reason == reason


def test_a_stop_word_query_gets_the_dense_answer(service: RetrievalService) -> None:
    dense_only = RetrievalService(
        replace(service.config, hybrid=HybridConfig(enabled=False)),
        encoder=service.encoder,
        ranker=service.ranker,
    )
    for text in ("the and of", "what is it"):
        hybrid = service.search_products(text).ranked
        plain = dense_only.search_products(text).ranked
        assert (hybrid.kind, [h.id for h in hybrid.hits]) == (plain.kind, [h.id for h in plain.hits])
