"""Product, knowledge-base and recommendation actions with a Tracker and a CollectingDispatcher.

The retrieval service is built on a small catalog and knowledge base with a bag-of-words test encoder; the order
store is a stub with two orders.
"""

from __future__ import annotations

import copy
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import products, recommend
from actions.services import Services
from ledger.gateway import LedgerGateway
from retrieval.build import build_catalog, build_kb
from retrieval.catalog import preset
from retrieval.config import IndexConfig, RankConfig, RetrievalConfig
from retrieval.ranker import BiEncoderRanker
from retrieval.service import RetrievalService
from tests.actions.shop_fixtures import load_domain, proven, said
from tests.retrieval.retrieval_fakes import KB_YAML, FakeEncoder, write_demo_csv


@pytest.fixture
def service(tmp_path: Path, install: Any) -> RetrievalService:
    encoder = FakeEncoder()
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "kb.yml").write_text(KB_YAML, encoding="utf-8")
    build_kb(kb, tmp_path / "index", encoder, IndexConfig())
    fmt, mapping = preset("demo")
    build_catalog(
        write_demo_csv(tmp_path / "demo.csv"), fmt, mapping, tmp_path / "index", encoder, IndexConfig()
    )
    config = RetrievalConfig(
        index_dir=tmp_path / "index",
        product_rank=RankConfig(answer=0.5, clarify=0.2),
        kb_rank=RankConfig(answer=0.5, clarify=0.25),
    )
    svc = RetrievalService(config, encoder=encoder, ranker=BiEncoderRanker(config.kb_rank))
    install(retrieval=svc)
    return svc


@dataclass(frozen=True)
class Line:
    order_number: str
    customer_id: str
    product_id: str
    quantity: int = 1
    unit_price_minor: int = 100
    ordered_at: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    status: str = "delivered"


class StubStore:
    lines: ClassVar[list[Line]] = [
        Line("SD-1", "C-1", "P-3"),
        Line("SD-1", "C-1", "P-4"),
        Line("SD-2", "C-2", "P-3"),
        Line("SD-2", "C-2", "P-5"),
        Line("SD-3", "C-3", "P-4"),
        Line("SD-3", "C-3", "P-6"),
    ]

    def all_order_lines(self) -> list[Line]:
        return list(self.lines)

    def purchase_history(self, customer_id: str) -> list[Line]:
        return [line for line in self.lines if line.customer_id == customer_id]


@pytest.fixture
def store(install: Any) -> StubStore:
    stub = StubStore()
    install(store=stub)
    return stub


def tracker(
    text: str, intent: str, entities: list[dict[str, Any]] | None = None, slots: dict[str, Any] | None = None
) -> Tracker:
    return Tracker(
        sender_id="t1",
        slots=slots or {},
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": 0.99},
            "entities": entities or [],
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def run(action: Any, t: Tracker) -> tuple[CollectingDispatcher, list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, load_domain())
    return dispatcher, events


def card_messages(dispatcher: CollectingDispatcher) -> list[dict[str, Any]]:
    return [m["custom"] for m in dispatcher.messages if m.get("custom")]


async def test_search_sends_text_and_cards_and_remembers_the_product(service: RetrievalService) -> None:
    dispatcher, events = await run(
        products.ActionSearchProducts(), tracker("a black bag under 100", "search_products")
    )
    assert said(dispatcher)[0].startswith("Here's what I found (under 100, black")
    payload = card_messages(dispatcher)[0]
    assert payload["type"] == "product_cards" and payload["text"]
    assert [c["id"] for c in payload["cards"]] == ["P-3"]
    assert set(payload["cards"][0]) >= {"id", "title", "price", "currency", "price_text", "image_url", "url"}
    assert events == [SlotSet("shown_product_id", "P-3")]


async def test_search_uses_nlu_entities(service: RetrievalService) -> None:
    t = tracker("shoes please", "search_products", [{"entity": "price", "value": "50"}])
    dispatcher, _ = await run(products.ActionSearchProducts(), t)
    assert "under 50" in said(dispatcher)[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lamps between 9 and 3", "lowest price (9) is above the highest (3)"),
        ("a bag under -5", "can't be negative"),
        ("", "what you're looking for"),
        ("x" * 10_000, "a bit long"),
        ("你们有黑色的背包吗", "only search in English"),
    ],
)
async def test_search_bad_input_gets_a_clear_message(
    service: RetrievalService, text: str, expected: str
) -> None:
    dispatcher, events = await run(products.ActionSearchProducts(), tracker(text, "search_products"))
    assert expected in said(dispatcher)[0] and events == []


async def test_search_without_matches_offers_a_person(service: RetrievalService) -> None:
    dispatcher, events = await run(
        products.ActionSearchProducts(), tracker("a purple lamp under 5", "search_products")
    )
    assert "couldn't find" in said(dispatcher)[0]
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/contact_human_agent"
    assert events == [SlotSet("shown_product_id", None)]


async def test_product_question_about_the_shown_product(service: RetrievalService) -> None:
    t = tracker("what sizes does it come in?", "product_question", slots={"shown_product_id": "P-5"})
    dispatcher, events = await run(products.ActionAnswerProductQuestion(), t)
    assert said(dispatcher)[0].startswith("Trail Running Shoes comes in sizes 39, 40")
    assert dispatcher.messages[0]["buttons"][0]["payload"] == '/recommend_items{"product":"P-5"}'
    assert SlotSet("shown_product_id", "P-5") in events


async def test_product_question_naming_the_product(service: RetrievalService) -> None:
    dispatcher, _ = await run(
        products.ActionAnswerProductQuestion(),
        tracker("is the aurora desk lamp dimmable", "product_question"),
    )
    assert "Aurora Desk Lamp" in said(dispatcher)[0] and "dimmable" in said(dispatcher)[0].lower()


async def test_product_question_with_a_named_product_entity_answers_the_question(
    service: RetrievalService,
) -> None:
    """NLU tags part of the name as `product` (not an id): the question is still answered, not summarised."""
    dispatcher, _ = await run(
        products.ActionAnswerProductQuestion(),
        tracker(
            "is the aurora desk lamp dimmable", "product_question", [{"entity": "product", "value": "aurora"}]
        ),
    )
    assert "dimmable" in said(dispatcher)[0].lower()


async def test_product_question_via_button_answers_the_pending_question(service: RetrievalService) -> None:
    t = tracker(
        '/product_question{"product":"P-2"}',
        "product_question",
        [{"entity": "product", "value": "P-2"}],
        slots={"pending_product_question": "is it in stock?"},
    )
    dispatcher, events = await run(products.ActionAnswerProductQuestion(), t)
    assert "out of stock" in said(dispatcher)[0]
    assert SlotSet("pending_product_question", None) in events


async def test_product_question_without_a_product_asks_which(service: RetrievalService) -> None:
    dispatcher, events = await run(
        products.ActionAnswerProductQuestion(), tracker("zzz qqq?", "product_question")
    )
    assert "Which product" in said(dispatcher)[0]
    assert events == [SlotSet("pending_product_question", "zzz qqq?")]


async def test_kb_answer_clarify_and_handoff(service: RetrievalService) -> None:
    dispatcher, _ = await run(
        products.ActionAnswerQuestion(), tracker("do you deliver to spain", "ask_question")
    )
    assert said(dispatcher)[0].startswith("We ship to every EU country")
    dispatcher, _ = await run(
        products.ActionAnswerQuestion(), tracker("quantum chromodynamics lecture", "ask_question")
    )
    assert dispatcher.messages[0]["buttons"] == [products.HUMAN_BUTTON]
    t = tracker(
        '/ask_question{"kb_entry":"pay-invoice"}',
        "ask_question",
        [{"entity": "kb_entry", "value": "pay-invoice"}],
    )
    dispatcher, _ = await run(products.ActionAnswerQuestion(), t)
    assert said(dispatcher)[0].startswith("Business accounts")


async def test_kb_clarify_offers_entry_buttons(service: RetrievalService) -> None:
    service.config = RetrievalConfig(index_dir=service.config.index_dir)
    service._ranker = BiEncoderRanker(RankConfig(answer=0.99, clarify=0.1))
    dispatcher, _ = await run(products.ActionAnswerQuestion(), tracker("how do I wash wool", "ask_question"))
    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert payloads[0] == '/ask_question{"kb_entry":"care-wool"}' and payloads[-1] == "/contact_human_agent"


async def test_missing_index_is_a_friendly_message(tmp_path: Path, install: Any) -> None:
    install(retrieval=RetrievalService(RetrievalConfig(index_dir=tmp_path), encoder=FakeEncoder()))
    dispatcher, events = await run(products.ActionSearchProducts(), tracker("a lamp", "search_products"))
    assert "isn't available right now" in said(dispatcher)[0] and events == []


async def test_recommend_similar_and_bought_together(service: RetrievalService, store: StubStore) -> None:
    t = tracker("show me similar items", "recommend_items", slots={"shown_product_id": "P-4"})
    dispatcher, _ = await run(recommend.ActionRecommendItems(), t)
    cards = card_messages(dispatcher)[0]["cards"]
    ids = [c["id"] for c in cards]
    assert "P-4" not in ids and ids[0] in {"P-3", "P-6"}  # bought with P-4 in SD-1 / SD-3
    assert cards[0]["reason"].startswith("often bought with Voyager Trolley Bag")


async def test_shown_recommendations_are_recorded_for_the_audit(
    service: RetrievalService, store: StubStore, services: Services
) -> None:
    dispatcher, _ = await run(recommend.ActionRecommendItems(), tracker("what's popular?", "recommend_items"))
    shown = [c["id"] for c in card_messages(dispatcher)[0]["cards"]]
    with sqlite3.connect(services.ledger.outbox_path) as conn:
        (canonical,) = [json.loads(row[0]) for row in conn.execute("SELECT canonical FROM ledger_rec_lists")]
    assert canonical["product_ids"] == shown and canonical["source"] == "popular"
    assert set(canonical) == {
        "v",
        "list_id",
        "product_ids",
        "shown_at",
        "source",
    }  # nothing about the shopper


async def test_a_failed_audit_still_shows_the_recommendations(
    service: RetrievalService, store: StubStore, services: Services, tmp_path: Path, install: Any
) -> None:
    (tmp_path / "not-a-db").mkdir()
    install(ledger=LedgerGateway(services.ledger.keys, services.ledger.client, tmp_path / "not-a-db"))
    dispatcher, _ = await run(recommend.ActionRecommendItems(), tracker("what's popular?", "recommend_items"))
    assert card_messages(dispatcher)[0]["cards"]


async def test_recommend_personal_excludes_purchases(service: RetrievalService, store: StubStore) -> None:
    t = tracker("any recommendations for me?", "recommend_items", slots=proven("SD-1", "C-1", sender_id="t1"))
    dispatcher, _ = await run(recommend.ActionRecommendItems(), t)
    assert said(dispatcher)[0].startswith("Picked for you")
    cards = card_messages(dispatcher)[0]["cards"]
    assert not {"P-3", "P-4"} & {c["id"] for c in cards}
    assert all(c.get("reason") for c in cards)


async def test_recommend_ignores_a_forged_customer_slot(service: RetrievalService, store: StubStore) -> None:
    # Before: a customer_id slot alone was enough to be shown recommendations built from C-1's purchases.
    t = tracker("any recommendations for me?", "recommend_items", slots={"customer_id": "C-1"})
    dispatcher, _ = await run(recommend.ActionRecommendItems(), t)
    assert said(dispatcher)[0].startswith("Popular with other shoppers")


async def test_recommend_cold_start_is_popular(service: RetrievalService, store: StubStore) -> None:
    dispatcher, _ = await run(recommend.ActionRecommendItems(), tracker("what's popular?", "recommend_items"))
    assert said(dispatcher)[0].startswith("Popular with other shoppers")
    assert card_messages(dispatcher)[0]["cards"][0]["id"] in {"P-3", "P-4"}  # bought twice each


async def test_card_heading_comes_from_the_domain_and_its_variations(service: RetrievalService) -> None:
    """The heading of the text and of the product_cards payload is the domain's response, so a conditional
    variation (the coming ``language`` slot) reaches both."""
    domain = copy.deepcopy(load_domain())
    domain["responses"]["utter_products_found_filtered"][1:] = [  # in place of the domain's zh variation
        {
            "text": "我找到了（{filters}）：",
            "condition": [{"type": "slot", "name": "language", "value": "zh"}],
        }
    ]
    t = tracker("a black bag under 100", "search_products", slots={"language": "zh"})
    dispatcher = CollectingDispatcher()
    await products.ActionSearchProducts().run(dispatcher, t, domain)
    payload = card_messages(dispatcher)[0]
    assert payload["text"].startswith("我找到了（100以内，黑色")  # filters worded in the shopper's language
    assert dispatcher.messages[0]["text"].splitlines()[0] == payload["text"]


async def test_a_live_import_removes_products_from_search_and_recommendations(
    service: RetrievalService, store: StubStore, tmp_path: Path
) -> None:
    from retrieval.builder import update

    popular = tracker("what's popular?", "recommend_items")
    dispatcher, _ = await run(recommend.ActionRecommendItems(), popular)
    assert {"P-3", "P-4"} <= {c["id"] for c in card_messages(dispatcher)[0]["cards"]}  # the cache is built
    encoder = service.encoder
    update(
        tmp_path / "index" / "catalog", [], encoder, IndexConfig(), kind="catalog", remove_ids=["P-3", "P-4"]
    )
    dispatcher, _ = await run(recommend.ActionRecommendItems(), popular)
    assert not {"P-3", "P-4"} & {c["id"] for c in card_messages(dispatcher)[0]["cards"]}
    similar = tracker("show me similar items", "recommend_items", slots={"shown_product_id": "P-6"})
    dispatcher, _ = await run(recommend.ActionRecommendItems(), similar)
    assert not {"P-3", "P-4"} & {c["id"] for c in card_messages(dispatcher)[0]["cards"]}
    dispatcher, _ = await run(products.ActionSearchProducts(), tracker("trolley bag", "search_products"))
    assert "P-4" not in json.dumps(dispatcher.messages)


def test_recommendations_removed_before_they_are_shown_are_dropped(service: RetrievalService) -> None:
    from retrieval.recommend import Recommendation

    chosen = [Recommendation("P-1", 1.0, "popular", ""), Recommendation("P-gone", 0.9, "popular", "")]
    kept, records = recommend.current_products(service, chosen)
    assert [r.id for r in kept] == ["P-1"] and [r["id"] for r in records] == ["P-1"]


def test_purchase_ages_line_up_with_baskets_and_count_back_from_the_newest_order(install: Any) -> None:
    class DatedStore(StubStore):
        lines: ClassVar[list[Line]] = [
            Line("SD-1", "C-1", "P-3", ordered_at=datetime(2026, 1, 1, tzinfo=UTC)),
            Line("SD-1", "C-1", "P-4", ordered_at=datetime(2026, 1, 1, tzinfo=UTC)),
            Line("SD-2", "C-2", "P-5", ordered_at=datetime(2026, 1, 31, tzinfo=UTC)),
            Line("SD-3", "C-1", "P-6", ordered_at=datetime(2026, 3, 2, tzinfo=UTC)),
        ]

    install(store=DatedStore())
    baskets, histories, basket_ages, history_ages = recommend._baskets()
    assert baskets == [["P-3", "P-4"], ["P-5"], ["P-6"]]
    assert basket_ages == [60.0, 30.0, 0.0], "days before the newest order, whatever today's date is"
    assert histories == [["P-3", "P-4", "P-6"], ["P-5"]]
    assert history_ages == [[60.0, 60.0, 0.0], [30.0]]
