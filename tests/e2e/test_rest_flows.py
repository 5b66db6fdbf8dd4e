"""Multi-turn conversations with the real Rasa server and the real action server, over REST.

Each test asserts on what the shopper is told and on the resulting state of the order store.
The demo orders are documented in docs/demo-shop.md.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest

from scripts.stack import Stack
from tests.e2e.shopper import Shopper, all_text
from tests.e2e.stores import open_store

pytestmark = pytest.mark.integration


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


def shopper(http: aiohttp.ClientSession, live_stack: Stack) -> Shopper:
    return Shopper(http, live_stack.config.rest_url, sender=f"e2e-{uuid.uuid4().hex[:10]}")


async def test_track_order_after_verification(http: aiohttp.ClientSession, live_stack: Stack) -> None:
    store = open_store(live_stack.config.shop_db)
    order = store.get_order("SD-100003")
    assert order.tracking_number, "the demo order SD-100003 is shipped with a tracking number"

    chat = shopper(http, live_stack)
    first = await chat.say("hi, where is my order SD-100003?")
    assert order.tracking_number not in all_text(first), "nothing is revealed before verification"

    replies = await chat.converse("ben.okafor@example.com")
    told = all_text(replies)
    assert order.tracking_number in told
    assert (order.carrier or "") in told


async def test_wrong_email_reveals_nothing(http: aiohttp.ClientSession, live_stack: Stack) -> None:
    store = open_store(live_stack.config.shop_db)
    order = store.get_order("SD-100003")

    chat = shopper(http, live_stack)
    replies = await chat.converse("track order SD-100003 please", email="anna.berg@example.com")
    told = all_text(replies)
    assert order.tracking_number not in told
    assert "ben.okafor" not in told.lower()
    assert "match" in told.lower()


async def test_cancel_pending_order(http: aiohttp.ClientSession, live_stack: Stack) -> None:
    store = open_store(live_stack.config.shop_db)
    assert store.get_order("SD-100001").status == "pending"

    chat = shopper(http, live_stack)
    replies = await chat.converse(
        "I want to cancel my order SD-100001", email="anna.berg@example.com", confirm=True
    )
    assert store.get_order("SD-100001").status == "cancelled", chat.transcript
    assert "cancel" in all_text(replies).lower()


async def test_cancel_after_shipping_is_refused(http: aiohttp.ClientSession, live_stack: Stack) -> None:
    store = open_store(live_stack.config.shop_db)
    before = store.get_order("SD-100003").status

    chat = shopper(http, live_stack)
    await chat.converse("please cancel order SD-100003", email="ben.okafor@example.com", confirm=True)
    assert store.get_order("SD-100003").status == before == "shipped", chat.transcript


async def test_start_a_return(http: aiohttp.ClientSession, live_stack: Stack) -> None:
    store = open_store(live_stack.config.shop_db)
    assert store.returns_for_order("SD-100004") == []

    chat = shopper(http, live_stack)
    replies = await chat.converse(
        "I'd like to return order SD-100004 and get my money back",
        email="ben.okafor@example.com",
        extra={r"why|reason": "it doesn't fit"},
    )
    returns = store.returns_for_order("SD-100004")
    assert len(returns) == 1, chat.transcript
    assert returns[0].id in all_text(replies)


async def test_return_outside_window_is_refused(http: aiohttp.ClientSession, live_stack: Stack) -> None:
    store = open_store(live_stack.config.shop_db)

    chat = shopper(http, live_stack)
    replies = await chat.converse(
        "i want to return my order SD-100005",
        email="chloe.martin@example.com",
        extra={r"why|reason": "changed my mind"},
    )
    assert store.returns_for_order("SD-100005") == [], chat.transcript
    assert "30 days" in all_text(replies) or "window" in all_text(replies).lower()


async def test_product_question_is_answered_from_the_catalog(
    http: aiohttp.ClientSession, live_stack: Stack
) -> None:
    store = open_store(live_stack.config.shop_db)
    lamp = store.get_product("P-1031")
    assert lamp.attributes.get("dimmable") is True, "the demo lamp P-1031 is dimmable"

    chat = shopper(http, live_stack)
    replies = await chat.say("is the Arc LED desk lamp dimmable?")
    told = all_text(replies)
    assert "dimmable" in told.lower()
    cards = [r["custom"] for r in replies if isinstance(r.get("custom"), dict)]
    assert cards and cards[0]["type"] == "product_cards"
    assert cards[0]["cards"][0]["id"] == lamp.id
    assert cards[0]["cards"][0]["title"] == lamp.title


# --- retrieval before giving up (issue 12) ---------------------------------------------------------------


def _kb_answer(entry_id: str) -> str:
    from retrieval.kb import load_kb
    from scripts.stack import ROOT

    return next(e.answer for e in load_kb(ROOT / "training_data" / "kb") if e.id == entry_id)


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("do you have a physical store?", "shop-stores"),
        ("can I pay on delivery?", "pay-cod"),
        ("do vouchers run out?", "pay-vouchers"),
    ],
)
async def test_policy_question_outside_the_intent_set_gets_its_kb_entry(
    http: aiohttp.ClientSession, live_stack: Stack, question: str, entry_id: str
) -> None:
    """Whatever the NLU makes of it (a policy intent, out_of_scope, ask_question or a fallback), the shopper
    reads the knowledge-base entry that answers the question, not a blurb or "could you rephrase"."""
    chat = shopper(http, live_stack)
    replies = await chat.say(question)
    assert _kb_answer(entry_id) in all_text(replies), chat.transcript


async def test_product_described_by_need_reaches_the_catalog(
    http: aiohttp.ClientSession, live_stack: Stack
) -> None:
    chat = shopper(http, live_stack)
    replies = await chat.say("a charger for my phone")
    told = all_text(replies)
    assert "charg" in told.lower(), chat.transcript  # product cards or "did you mean" buttons with chargers
    assert "rephrase" not in told.lower() and "another way" not in told.lower()
