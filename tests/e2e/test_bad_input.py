"""Bad input through the REST channel: each gets a clear reply or HTTP error, the servers stay up, and
nothing in the order store changes that should not. One test per rejection."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest

from scripts.stack import Stack
from tests.e2e.shopper import Shopper, all_text
from tests.e2e.stores import open_store

pytestmark = pytest.mark.integration

HOSTILE_ORDER_IDS = [
    "1' OR '1'='1",
    "x'; DROP TABLE orders;--",
    "../../etc/passwd",
    "<script>alert(1)</script>",
]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


def sender() -> str:
    return f"bad-{uuid.uuid4().hex[:10]}"


async def post_raw(http: aiohttp.ClientSession, stack: Stack, body: bytes) -> tuple[int, object]:
    async with http.post(
        stack.config.rest_url, data=body, headers={"Content-Type": "application/json"}
    ) as response:
        try:
            payload: object = await response.json(content_type=None)
        except ValueError:
            payload = await response.text()
        return response.status, payload


async def assert_still_serving(http: aiohttp.ClientSession, stack: Stack) -> None:
    chat = Shopper(http, stack.config.rest_url, sender())
    replies = await chat.say("hello")
    assert replies, "the assistant stopped answering after bad input"
    assert all(stack.alive().values()), stack.alive()


def order_states(stack: Stack) -> dict[str, str]:
    store = open_store(stack.config.shop_db)
    return {number: store.get_order(number).status for number in (f"SD-10000{i}" for i in range(1, 9))}


async def test_empty_message_gets_a_clear_reply(http: aiohttp.ClientSession, live_stack: Stack) -> None:
    status, payload = await post_raw(http, live_stack, b'{"sender": "empty-1", "message": "   "}')
    assert status == 200
    assert isinstance(payload, list) and "empty" in payload[0]["text"].lower()
    await assert_still_serving(http, live_stack)


async def test_100kb_message_is_refused_with_413(http: aiohttp.ClientSession, live_stack: Stack) -> None:
    message = "where is my order " * 6000  # ~108 KB
    status, payload = await post_raw(
        http, live_stack, f'{{"sender": "{sender()}", "message": "{message}"}}'.encode()
    )
    assert status == 413
    assert isinstance(payload, dict) and "limit" in payload["error"]
    await assert_still_serving(http, live_stack)


async def test_invalid_json_is_refused_with_400(http: aiohttp.ClientSession, live_stack: Stack) -> None:
    status, payload = await post_raw(http, live_stack, b'{"sender": "x", "message": "hi"')
    assert status == 400
    assert isinstance(payload, dict) and payload["field"] == "body" and "JSON" in payload["error"]
    await assert_still_serving(http, live_stack)


async def test_invalid_utf8_is_refused_with_400(http: aiohttp.ClientSession, live_stack: Stack) -> None:
    status, payload = await post_raw(http, live_stack, b'{"sender": "x", "message": "caf\xe9 \xff\xfe"}')
    assert status == 400
    assert isinstance(payload, dict) and "UTF-8" in payload["error"]
    await assert_still_serving(http, live_stack)


async def test_missing_sender_is_refused(http: aiohttp.ClientSession, live_stack: Stack) -> None:
    status, payload = await post_raw(http, live_stack, b'{"message": "hello"}')
    assert status == 400
    assert isinstance(payload, dict) and payload["field"] == "sender"


async def test_message_that_is_not_a_string_is_refused(
    http: aiohttp.ClientSession, live_stack: Stack
) -> None:
    status, payload = await post_raw(http, live_stack, b'{"sender": "x", "message": {"$gt": ""}}')
    assert status == 400
    assert isinstance(payload, dict) and payload["field"] == "message"


async def test_lone_surrogate_escape_gets_a_reply(http: aiohttp.ClientSession, live_stack: Stack) -> None:
    # valid JSON that decodes to text no UTF-8 encoder accepts (the sentence encoder used to crash on it)
    body = f'{{"sender": "{sender()}", "message": "\\udfff where is my order \\ud83d SD-100003?"}}'
    status, payload = await post_raw(http, live_stack, body.encode())
    assert status == 200
    assert isinstance(payload, list) and payload and payload[0].get("text"), payload
    await assert_still_serving(http, live_stack)


async def test_lone_surrogates_reach_a_person_intact(http: aiohttp.ClientSession, live_stack: Stack) -> None:
    # the handoff carries the transcript into the bot's inbox (SQLite): a lone surrogate once crashed the write
    body = f'{{"sender": "{sender()}", "message": "\\udfff get me a real person!!! \\ud83d"}}'
    status, payload = await post_raw(http, live_stack, body.encode())
    assert status == 200 and isinstance(payload, list), payload
    told = " ".join(str(m.get("text") or "") for m in payload)
    assert handed_off(told), told
    await assert_still_serving(http, live_stack)


async def test_emoji_only_message_gets_a_reply(http: aiohttp.ClientSession, live_stack: Stack) -> None:
    chat = Shopper(http, live_stack.config.rest_url, sender())
    replies = await chat.say("😀😀🎉")
    assert all_text(replies).strip(), "an emoji-only message must get an answer"


async def test_non_english_message_gets_a_clear_reply(http: aiohttp.ClientSession, live_stack: Stack) -> None:
    chat = Shopper(http, live_stack.config.rest_url, sender())
    # Japanese: since issue 13 Chinese is a language the assistant speaks
    replies = await chat.say("注文はどこですか？")
    told = all_text(replies)
    assert "english" in told.lower() and "中文" in told


@pytest.mark.parametrize("hostile", HOSTILE_ORDER_IDS)
async def test_hostile_order_id_is_rejected(
    http: aiohttp.ClientSession, live_stack: Stack, hostile: str
) -> None:
    before = order_states(live_stack)
    chat = Shopper(http, live_stack.config.rest_url, sender())
    replies = await chat.converse(f"cancel my order {hostile}", email="anna.berg@example.com")
    told = all_text(replies)
    assert told.strip()
    assert "<script" not in told.lower(), "hostile input must not be echoed back as markup"
    assert order_states(live_stack) == before
    await assert_still_serving(http, live_stack)


async def test_email_for_someone_elses_order_reveals_nothing(
    http: aiohttp.ClientSession, live_stack: Stack
) -> None:
    before = order_states(live_stack)
    store = open_store(live_stack.config.shop_db)
    order = store.get_order("SD-100008")
    chat = Shopper(http, live_stack.config.rest_url, sender())
    replies = await chat.converse("cancel order SD-100008", email="anna.berg@example.com")
    told = all_text(replies)
    assert "david" not in told.lower() and order.customer.email not in told
    assert order_states(live_stack) == before


# --- what real shoppers write (issue 12): one-shot tasks, ids in every documented form, two orders, anger ----
def handed_off(told: str) -> bool:
    """action_handoff answered: queued for a person, or nobody available and a message offered."""
    return "connecting you with a person" in told or "support team" in told


async def test_one_message_with_task_number_and_email_is_done_at_once(
    http: aiohttp.ClientSession, live_stack: Stack
) -> None:
    before = order_states(live_stack)
    chat = Shopper(http, live_stack.config.rest_url, sender())
    told = all_text(await chat.say("Please cancel SD-100002, my email is anna.berg@example.com"))
    # verified and the task started in the same turn: the cancellation question, not "what's your order number"
    assert "SD-100002" in told and "Shall I" in told, told
    assert order_states(live_stack) == before  # nothing changes before the explicit yes
    told = all_text(await chat.say("/deny"))
    assert "exactly as it is" in told and order_states(live_stack) == before


@pytest.mark.parametrize("number", ["#100003", "sd100003", "SD 100003", "  SD-100003  "])
async def test_every_documented_order_form_is_tracked(
    http: aiohttp.ClientSession, live_stack: Stack, number: str
) -> None:
    chat = Shopper(http, live_stack.config.rest_url, sender())
    replies = await chat.converse(
        f"where is my order {number}?", email="  BEN.OKAFOR@example.com ", order_id=number, max_turns=3
    )
    told = all_text(replies)
    assert "SD-100003" in told and "on its way" in told, told


async def test_two_order_numbers_in_one_message_are_asked_about(
    http: aiohttp.ClientSession, live_stack: Stack
) -> None:
    before = order_states(live_stack)
    chat = Shopper(http, live_stack.config.rest_url, sender())
    told = all_text(await chat.say("cancel SD-100001 and SD-100002, my email is anna.berg@example.com"))
    assert "more than one order" in told and "SD-100001 or SD-100002" in told, told
    assert "Shall I" not in told  # neither order was picked
    told = all_text(await chat.say("SD-100001"))
    assert "SD-100001" in told and "Shall I" in told, told
    await chat.say("/deny")
    assert order_states(live_stack) == before


async def test_4999_character_message_gets_a_reply(http: aiohttp.ClientSession, live_stack: Stack) -> None:
    message = ("my order has not arrived and I am getting worried about it " * 90)[:4999]
    assert len(message) == 4999
    chat = Shopper(http, live_stack.config.rest_url, sender())
    assert all_text(await chat.say(message)).strip()
    await assert_still_serving(http, live_stack)


async def test_angry_emoji_does_not_confirm_a_cancellation(
    http: aiohttp.ClientSession, live_stack: Stack
) -> None:
    before = order_states(live_stack)
    chat = Shopper(http, live_stack.config.rest_url, sender())
    assert "Shall I" in all_text(await chat.say("cancel SD-100002 anna.berg@example.com"))
    told = all_text(await chat.say("😡😡"))
    assert told.strip() and "is cancelled" not in told
    assert order_states(live_stack) == before


async def test_mixed_language_one_shot_is_understood(http: aiohttp.ClientSession, live_stack: Stack) -> None:
    chat = Shopper(http, live_stack.config.rest_url, sender())
    told = all_text(await chat.say("hola, donde esta my order SD-100003? email ben.okafor@example.com"))
    assert "SD-100003" in told and "on its way" in told, told


@pytest.mark.parametrize(
    "text",
    ["this is useless, put me through to a human", "get me a real person!!!", "humen agent pls"],
)
async def test_angry_or_misspelt_request_for_a_person_is_handed_off(
    http: aiohttp.ClientSession, live_stack: Stack, text: str
) -> None:
    chat = Shopper(http, live_stack.config.rest_url, sender())
    told = all_text(await chat.say(text))
    assert handed_off(told), told
    assert "a bot, not a person" not in told
