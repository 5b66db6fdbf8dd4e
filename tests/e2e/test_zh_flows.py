"""Chinese conversations with the real Rasa server and the real action server, over REST.

The same rules as the English flows (tests/e2e/test_rest_flows.py): nothing about an order before the email
matches; state changes only after a yes. On top, every reply in a Chinese conversation is Chinese: it contains
Han characters and no English word outside what the shop itself names (product titles and brands, ids, emails,
URLs, carriers) — so an English response template or an English string built by an action fails the test.
Nothing here changes an order, so the flows share the demo orders with the other tests: SD-100305 (track),
SD-100002 (cancellation asked, then declined), SD-100005 (return outside the window), SD-100008 (invoice).
"""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
import zhconv

from scripts.stack import ROOT, Stack
from shop.demo.demo_data import DEMO_CUSTOMERS, FIRST_NAMES
from tests.actions.chinese_output import english_words
from tests.e2e.shopper import Shopper, all_text
from tests.e2e.stores import open_store

pytestmark = pytest.mark.integration

HAN = re.compile(r"[\u4e00-\u9fff]")
# Latin-script names a Chinese reply may show besides the catalog's and customers' (the checker of the action
# tests, tests/actions/chinese_output.py, already knows carriers, payment brands, ids, URLs and emails).
SHOP_WORDS = (
    "Hermes",
    "Apple Pay",
    "EUR",
    "PDF",
    "ShopDesk",
    "SKU",
    "ID",
    "OK",
    "DE",
    "EU",
    "UK",
    "CN",
    "FAQ",
)


def _catalog_names() -> list[str]:
    with (ROOT / "training_data" / "catalog" / "demo_products.csv").open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    names = {row["title"] for row in rows} | {row["brand"] for row in rows}
    return sorted(names)


# The demo shop's products, brands and customers' first names ("谢谢您，Milan") are names, not English.
SHOP_NAMES = [
    *_catalog_names(),
    *FIRST_NAMES,
    *(customer.name.split()[0] for customer in DEMO_CUSTOMERS),
    *SHOP_WORDS,
]


def shown_texts(replies: list[dict[str, Any]]) -> Iterator[str]:
    """What a shopper reads: message texts, button titles and the heading of a product-cards payload."""
    for reply in replies:
        if reply.get("text"):
            yield str(reply["text"])
        for button in reply.get("buttons") or []:
            yield str(button.get("title") or "")
        custom = reply.get("custom")
        if isinstance(custom, dict) and custom.get("heading"):
            yield str(custom["heading"])


def english_left(text: str) -> list[str]:
    """The Latin words of `text` once the shop's own names (products, brands, ids, emails, URLs) are taken out."""
    return english_words(text, SHOP_NAMES)


def assert_chinese(replies: list[dict[str, Any]], transcript: Any) -> None:
    texts = [t for t in shown_texts(replies) if t.strip()]
    assert texts, f"no reply at all: {transcript}"
    for text in texts:
        if not HAN.search(text):
            assert not english_left(text), f"an English reply in a Chinese conversation: {text!r}"
            continue
        assert not english_left(text), f"English words {english_left(text)} in {text!r}"
        assert zhconv.convert(text, "zh-hans") == text, f"not Simplified Chinese: {text!r}"


def test_the_checker_catches_an_english_template() -> None:
    """The check above is not vacuous: an English sentence, or English glued into Chinese, fails it."""
    with pytest.raises(AssertionError):
        assert_chinese([{"text": "Sorry, I didn't get that."}], "")
    with pytest.raises(AssertionError):
        assert_chinese([{"text": "好的。", "buttons": [{"title": "Talk to a person", "payload": "/x"}]}], "")
    with pytest.raises(AssertionError):
        assert_chinese([{"text": "您的訂單已發貨"}], "")  # Traditional
    assert_chinese([{"text": "您的订单 SD-100305 已由 DHL 发出，单号 JJD014600003。"}], "")
    assert_chinese([{"text": "为您找到：Metro 20L Laptop Backpack（€89.00）"}], "")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


def shopper(http: aiohttp.ClientSession, live_stack: Stack) -> Shopper:
    return Shopper(http, live_stack.config.rest_url, sender=f"e2e-zh-{uuid.uuid4().hex[:10]}")


async def test_track_an_order_in_chinese(http: aiohttp.ClientSession, live_stack: Stack) -> None:
    order = open_store(live_stack.config.shop_db).get_order("SD-100305")
    assert order.tracking_number
    chat = shopper(http, live_stack)
    first = await chat.say("你好，我的订单SD-100305到哪了？")
    assert order.tracking_number not in all_text(first), "nothing is revealed before verification"
    assert_chinese(first, chat.transcript)
    replies = await chat.say("milan.schmidt@example.com")
    assert order.tracking_number in all_text(replies), chat.transcript
    assert_chinese(replies, chat.transcript)


async def test_full_width_order_number_and_email_in_one_message(
    http: aiohttp.ClientSession, live_stack: Stack
) -> None:
    order = open_store(live_stack.config.shop_db).get_order("SD-100305")
    chat = shopper(http, live_stack)
    replies = await chat.say(
        "帮我查下物流，订单号ＳＤ－１００３０５，邮箱ｍｉｌａｎ.ｓｃｈｍｉｄｔ＠ｅｘａｍｐｌｅ.ｃｏｍ"
    )
    assert order.tracking_number in all_text(replies), chat.transcript
    assert_chinese(replies, chat.transcript)


async def test_wrong_email_reveals_nothing_in_chinese(http: aiohttp.ClientSession, live_stack: Stack) -> None:
    order = open_store(live_stack.config.shop_db).get_order("SD-100305")
    chat = shopper(http, live_stack)
    await chat.say("查一下订单SD-100305")
    replies = await chat.say("anna.berg@example.com")
    told = all_text(replies)
    assert order.tracking_number not in told and "milan" not in told.lower(), chat.transcript
    assert_chinese(replies, chat.transcript)


async def test_cancel_asks_first_and_a_no_changes_nothing(
    http: aiohttp.ClientSession, live_stack: Stack
) -> None:
    store = open_store(live_stack.config.shop_db)
    before = store.get_order("SD-100002").status
    chat = shopper(http, live_stack)
    await chat.say("我想取消订单 SD-100002")
    replies = await chat.say("anna.berg@example.com")
    assert_chinese(replies, chat.transcript)
    payloads = [str(b.get("payload")) for r in replies for b in r.get("buttons") or []]
    assert "/deny" in payloads, chat.transcript  # the confirmation, with Chinese button titles
    replies = await chat.say("算了，不取消了")
    assert_chinese(replies, chat.transcript)
    assert store.get_order("SD-100002").status == before


async def test_return_outside_the_window_is_refused_in_chinese(
    http: aiohttp.ClientSession, live_stack: Stack
) -> None:
    store = open_store(live_stack.config.shop_db)
    chat = shopper(http, live_stack)
    every = await chat.converse(
        "订单SD-100005的东西不合适，我要退货",
        extra={"邮箱|电子邮件": "chloe.martin@example.com", "原因|为什么": "尺码太小了"},
    )
    assert_chinese(every, chat.transcript)
    assert store.returns_for_order("SD-100005") == [], chat.transcript
    assert "30" in all_text(every), chat.transcript


async def test_invoice_in_chinese(http: aiohttp.ClientSession, live_stack: Stack) -> None:
    chat = shopper(http, live_stack)
    replies = await chat.say("麻烦把订单100008的发票发我一下，邮箱 david.chen@example.com")
    assert "INV-400008" in all_text(replies), chat.transcript
    assert_chinese(replies, chat.transcript)


@pytest.mark.parametrize(
    "text",
    [
        "我要找人工客服",
        "我要找真人客服，謝謝",  # Traditional: understood, and answered in Simplified (assert_chinese)
    ],
)
async def test_asking_for_a_person_in_chinese_hands_off(
    http: aiohttp.ClientSession, live_stack: Stack, text: str
) -> None:
    chat = shopper(http, live_stack)
    replies = await chat.say(text)
    assert_chinese(replies, chat.transcript)
    assert "人工" in all_text(replies) or "客服" in all_text(replies), chat.transcript


async def test_a_product_wanted_in_chinese_finds_the_english_catalog(
    http: aiohttp.ClientSession, live_stack: Stack
) -> None:
    chat = shopper(http, live_stack)
    replies = await chat.say("我想买一个瑜伽垫")
    cards = [r["custom"] for r in replies if isinstance(r.get("custom"), dict)]
    titles = [c["title"] for card in cards for c in card.get("cards", [])]
    titles += [str(b.get("title")) for r in replies for b in r.get("buttons") or []]
    assert any("yoga mat" in t.lower() for t in titles), chat.transcript
    assert_chinese(replies, chat.transcript)


async def test_a_policy_question_in_chinese_gets_a_chinese_answer(
    http: aiohttp.ClientSession, live_stack: Stack
) -> None:
    chat = shopper(http, live_stack)
    replies = await chat.say("退货的话运费谁出？")
    assert_chinese(replies, chat.transcript)
    assert "30" in all_text(replies) or "免费" in all_text(replies), chat.transcript


async def test_switching_language_back_and_forth(http: aiohttp.ClientSession, live_stack: Stack) -> None:
    chat = shopper(http, live_stack)
    english = await chat.say("hi there")
    assert not HAN.search(all_text(english)), chat.transcript
    chinese = await chat.say("请用中文")
    assert_chinese(chinese, chat.transcript)
    short = await chat.say("SD-100305")  # an id alone keeps the conversation's language
    assert_chinese(short, chat.transcript)
    back = await chat.say("English please")
    assert back and not HAN.search(all_text(back)), chat.transcript


async def test_a_language_we_do_not_speak_gets_a_bilingual_answer(
    http: aiohttp.ClientSession, live_stack: Stack
) -> None:
    chat = shopper(http, live_stack)
    told = all_text(await chat.say("где мой заказ?"))
    assert HAN.search(told) and re.search(r"English", told), chat.transcript
