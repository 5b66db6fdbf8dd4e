from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.errors import FilterError, IndexMetaMismatchError, QueryError
from retrieval.index import Hit
from retrieval.ranker import BiEncoderRanker, ResponderRanker, load_ranker
from retrieval.results import ProductFact, cards
from retrieval.service import RetrievalService
from tests.retrieval.retrieval_fakes import FakeEncoder


def test_search_applies_filters_inside_the_search(service: RetrievalService) -> None:
    result = service.search_products("a black bag under 100")
    assert result.filters.max_price == 100 and result.filters.colors == {"black"}
    assert [h.id for h in result.ranked.hits] == ["P-3"]  # the trolley bag costs 149
    assert result.total_matching == 1


def test_search_finds_by_wording(service: RetrievalService) -> None:
    result = service.search_products("trolley bag with spinner wheels")
    assert result.ranked.kind in {"answer", "clarify"}
    assert result.ranked.hits[0].id == "P-4"


def test_search_in_stock_filter(service: RetrievalService) -> None:
    result = service.search_products("floor lamp in stock")
    assert "P-2" not in [h.id for h in result.ranked.hits]  # stock 0


def test_search_rejects_bad_input(service: RetrievalService) -> None:
    with pytest.raises(FilterError):
        service.search_products("lamps between 9 and 3")
    with pytest.raises(QueryError):
        service.search_products("x" * 10_000)


def test_product_facts(service: RetrievalService) -> None:
    """What the product's data says, as data: the action words it in the conversation's language."""
    price = service.product_fact("P-1", "how much is it?")
    assert (price.field, price.values, price.product["id"]) == ("price", ("€49.00",), "P-1")
    out = service.product_fact("P-2", "is it in stock?")
    assert (out.field, out.stock, out.known) == ("stock", 0, True)
    assert service.product_fact("P-4", "is it in stock?").stock == 5
    sizes = service.product_fact("P-5", "what sizes does it come in?")
    assert (sizes.field, sizes.values) == ("sizes", ("39", "40", "41", "42", "43"))
    assert service.product_fact("P-6", "what colours does it come in?").values == ("cream", "grey")
    assert service.product_fact("P-6", "what material is it?").values == ("merino wool",)
    assert service.product_fact("P-6", "这件是什么材质", "zh").values == ("merino wool",)
    fact = service.product_fact("P-1", "is this lamp dimmable?")
    assert fact.field == "text" and fact.known and len(fact.values) == 1 and "Dimmable" in fact.values[0]


def test_a_product_fact_the_data_does_not_give_is_not_known(service: RetrievalService) -> None:
    record = service.product("P-1")
    assert not ProductFact(record, "stock").known  # the shop keeps no count
    assert not ProductFact(record, "text", score=0.1).known  # no sentence of the product text answers
    assert ProductFact(record, "stock", stock=0).known


def test_identify_product(service: RetrievalService) -> None:
    ranked = service.identify_product("is the aurora desk lamp dimmable")
    assert ranked.hits and ranked.hits[0].id == "P-1"


def test_kb_answers_fold_entries(service: RetrievalService) -> None:
    ranked = service.answer_question("do you deliver to spain")
    assert ranked.kind == "answer" and ranked.hits[0].item["entry_id"] == "ship-countries"
    assert service.answer_question("quantum chromodynamics lecture notes").kind == "handoff"
    assert service.kb_entry("pay-invoice")["answer"].startswith("Business accounts")


def test_service_refuses_index_built_with_another_model(built_index_dir: Path) -> None:
    from retrieval.config import RetrievalConfig

    other = RetrievalService(
        RetrievalConfig(index_dir=built_index_dir), encoder=FakeEncoder(name="other-model")
    )
    with pytest.raises(IndexMetaMismatchError, match="other-model"):
        other.search_products("lamp")


def test_cards_payload_shape(service: RetrievalService) -> None:
    card = cards([service.product("P-1")], {"P-1": "similar to your lamp"})[0]
    assert card == {
        "id": "P-1",
        "title": "Aurora Desk Lamp",
        "price": "49.00",
        "currency": "EUR",
        "price_text": "€49.00",
        "image_url": "/static/products/P-1.svg",
        "url": "/products/P-1",
        "reason": "similar to your lamp",
    }


# ------------------------------------------------------------------ rankers
def hits(*scores: float) -> list[Hit]:
    return [Hit(f"h{i}", s, {}) for i, s in enumerate(scores)]


def test_bi_encoder_ranker_moves() -> None:
    from retrieval.config import RankConfig

    ranker = BiEncoderRanker(RankConfig(answer=0.6, clarify=0.4, margin=0.05))
    assert ranker.rank("q", hits(0.8, 0.5), ["a", "b"]).kind == "answer"
    close = ranker.rank("q", hits(0.8, 0.78, 0.5), ["a", "b", "c"])
    assert close.kind == "clarify" and [h.id for h in close.hits] == ["h0", "h1", "h2"]
    assert ranker.rank("q", hits(0.3), ["a"]).kind == "handoff"
    assert ranker.rank("q", [], []).kind == "handoff"


class FakeResponder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, list[str]]] = []

    def score(self, query: str, passages: list[str]) -> np.ndarray:
        self.seen.append((query, passages))
        return np.asarray([0.1, 0.9, 0.2])

    def decide(self, probs: np.ndarray):  # type: ignore[no-untyped-def]
        from types import SimpleNamespace

        return SimpleNamespace(kind="answer", indices=(1,), confidence=0.9)


def test_responder_ranker_reorders_by_its_decision() -> None:
    responder = FakeResponder()
    ranked = ResponderRanker(responder).rank("q", hits(0.9, 0.8, 0.7), ["a", "b", "c"])
    assert ranked.kind == "answer" and [h.id for h in ranked.hits] == ["h1"] and ranked.source == "responder"
    assert responder.seen == [("q", ["a", "b", "c"])]


def test_load_ranker_falls_back_to_bi_encoder(tmp_path: Path, caplog) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="retrieval.ranker")
    ranker = load_ranker(tmp_path / "no-responder-here")
    assert isinstance(ranker, BiEncoderRanker)
    assert "responder: off, bi-encoder only" in caplog.text


class FakeRespondingResponder(FakeResponder):
    def __init__(self) -> None:
        super().__init__()
        self.priors: list[list[float]] = []

    def respond(self, query: str, passages: list[str], *, prior: list[float] | None = None, kind=None):  # type: ignore[no-untyped-def]
        from types import SimpleNamespace

        self.priors.append(list(prior or []))
        return np.asarray([0.5, 0.45, 0.1]), SimpleNamespace(kind="clarify", indices=(0, 1), confidence=0.5)


def test_responder_ranker_prefers_respond_and_passes_bi_encoder_prior() -> None:
    responder = FakeRespondingResponder()
    ranked = ResponderRanker(responder).rank("q", hits(0.9, 0.8, 0.7), ["a", "b", "c"])
    assert ranked.kind == "clarify" and [h.id for h in ranked.hits] == ["h0", "h1"]
    assert responder.priors == [[0.9, 0.8, 0.7]]


class RecordingResponder:
    """Picks the last candidate it is shown (the bi-encoder's worst), so a re-ranked answer is visible."""

    def __init__(self, top_k: int) -> None:
        from types import SimpleNamespace

        self.config = SimpleNamespace(top_k=top_k)
        self.calls: list[tuple[str, list[str], list[float]]] = []
        self.kinds: list[str | None] = []

    def respond(self, query: str, passages: list[str], *, prior: list[float], kind: str | None = None):  # type: ignore[no-untyped-def]
        from types import SimpleNamespace

        self.calls.append((query, list(passages), list(prior)))
        self.kinds.append(kind)
        last = len(passages) - 1
        return np.linspace(0.1, 0.9, len(passages)), SimpleNamespace(
            kind="answer", indices=(last,), confidence=0.9
        )


def test_the_responder_re_ranks_product_questions_with_its_top_k(
    built_index_dir: Path, fake_encoder: FakeEncoder
) -> None:
    from retrieval.config import HybridConfig, RetrievalConfig

    responder = RecordingResponder(top_k=3)
    service = (
        RetrievalService(  # dense-only: the hybrid's fused candidates are tests/retrieval/test_hybrid.py's
            RetrievalConfig(index_dir=built_index_dir, hybrid=HybridConfig(enabled=False)),
            encoder=fake_encoder,
            ranker=ResponderRanker(responder),
        )
    )
    ranked = service.identify_product("something to light a desk at night")
    ((query, passages, prior),) = responder.calls
    assert query == "something to light a desk at night"
    assert len(passages) == 3 and prior == sorted(prior, reverse=True)  # the bi-encoder's top 3, best first
    assert ranked.source == "responder" and ranked.hits[0].item["text"] == passages[-1]
    named = service.identify_product("is the aurora desk lamp dimmable")  # a named product needs no model
    assert named.source == "title-match" and len(responder.calls) == 1
    service.answer_question("do you deliver to spain")
    assert len(responder.calls[-1][1]) <= 3
    assert responder.kinds == ["product", "kb"]  # each pool is scored with its own calibration


def test_without_a_responder_product_questions_use_the_product_thresholds(service: RetrievalService) -> None:
    ranked = service.identify_product("something to light a desk at night")
    assert ranked.source == "bi-encoder"
