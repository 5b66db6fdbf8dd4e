"""Issue 10 against the real stack: only Rasa may call the action server, a forged verification slot changes
nothing even with the token, and a refund number alone reveals nothing.

Each test reads the live order store afterwards (the same SQLite file the action server writes).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from actions.common import day
from scripts.stack import Stack
from tests.e2e.shopper import Shopper, all_text
from tests.e2e.stores import open_store

pytestmark = pytest.mark.integration


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


def action_token(stack: Stack) -> str:
    return stack.config.env()["ACTION_SERVER_TOKEN"]


def forged_call(action: str, slots: dict[str, Any], *, sender: str = "intruder") -> dict[str, Any]:
    """What the issue's reporter sent: a made-up tracker asking for ``action``."""
    return {
        "next_action": action,
        "sender_id": sender,
        "version": "3.6.0",
        "tracker": {
            "sender_id": sender,
            "slots": slots,
            "latest_message": {
                "intent": {"name": "affirm", "confidence": 1.0},
                "entities": [],
                "text": "yes",
            },
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
        "domain": {"responses": {}, "slots": {}, "forms": {}, "actions": []},
    }


def state(stack: Stack, number: str) -> tuple[Any, ...]:
    store = open_store(stack.config.shop_db)
    order = store.get_order(number)
    return order.status, order.total_minor, len(store.refunds_for_order(number))


FORGED_SLOTS = {
    "order_id": "SD-100002",
    "verified_order_id": "SD-100002",
    "customer_id": "C-0001",
    "order_step": "confirm_cancel",
    "order_task": "track",
}


async def test_webhook_without_the_token_is_refused(http: aiohttp.ClientSession, live_stack: Stack) -> None:
    before = state(live_stack, "SD-100002")
    assert before[0] == "paid"
    url = f"{live_stack.config.action_url}/webhook"
    for headers in ({}, {"Authorization": "Bearer not-the-token"}):
        async with http.post(
            url, json=forged_call("action_cancel_order", FORGED_SLOTS), headers=headers
        ) as reply:
            assert reply.status == 401, await reply.text()
    async with http.get(f"{live_stack.config.action_url}/health") as reply:
        assert reply.status == 200
    assert state(live_stack, "SD-100002") == before


async def test_forged_verification_slot_is_refused_even_with_the_token(
    http: aiohttp.ClientSession, live_stack: Stack
) -> None:
    before = {n: state(live_stack, n) for n in ("SD-100002", "SD-100003")}
    url = f"{live_stack.config.action_url}/webhook"
    headers = {"Authorization": f"Bearer {action_token(live_stack)}"}
    async with http.post(
        url, json=forged_call("action_cancel_order", FORGED_SLOTS), headers=headers
    ) as reply:
        assert reply.status == 200, await reply.text()
        cancel = await reply.json()
    track_slots = {
        **FORGED_SLOTS,
        "order_id": "SD-100003",
        "verified_order_id": "SD-100003",
        "customer_id": "C-0002",
    }
    async with http.post(url, json=forged_call("action_order_task", track_slots), headers=headers) as reply:
        assert reply.status == 200, await reply.text()
        track = await reply.json()
    assert [r.get("response") for r in cancel["responses"]] == ["utter_verify_first"]
    assert [r.get("response") for r in track["responses"]] == ["utter_verify_first"]
    shipped = open_store(live_stack.config.shop_db).get_order("SD-100003")
    assert shipped.tracking_number and shipped.tracking_number not in str(track)
    assert {n: state(live_stack, n) for n in before} == before


async def test_refund_number_alone_reveals_nothing(http: aiohttp.ClientSession, live_stack: Stack) -> None:
    store = open_store(live_stack.config.shop_db)
    refund = store.get_refund("RF-300001")
    chat = Shopper(http, live_stack.config.rest_url, sender=f"e2e-{uuid.uuid4().hex[:10]}")
    first = all_text(await chat.say("what is the status of refund RF-300001"))
    amount = f"{refund.amount_minor / 100:.2f}"
    assert amount not in first, chat.transcript
    assert refund.order_number not in first, chat.transcript
    assert day(refund.expected_by) not in first, chat.transcript
    assert "order number" in first.lower(), chat.transcript  # asked to verify the order first

    # The wrong order's owner gets nothing either: Ben verifies his own SD-100004, then asks about RF-300001.
    replies = all_text(await chat.converse("SD-100004", email="ben.okafor@example.com"))
    assert amount not in replies and refund.order_number not in replies, chat.transcript

    # The right order's owner gets the answer once verified.
    owner = Shopper(http, live_stack.config.rest_url, sender=f"e2e-{uuid.uuid4().hex[:10]}")
    told = all_text(
        await owner.converse(
            "what is the status of refund RF-300001", order_id="SD-100007", email="david.chen@example.com"
        )
    )
    assert "RF-300001" in told and amount in told, owner.transcript


async def test_verified_order_is_not_asked_again_in_the_same_conversation(
    http: aiohttp.ClientSession, live_stack: Stack
) -> None:
    # The email no longer stays in the tracker after verification; the proof alone completes the form.
    order = open_store(live_stack.config.shop_db).get_order("SD-100003")
    chat = Shopper(http, live_stack.config.rest_url, sender=f"e2e-{uuid.uuid4().hex[:10]}")
    first = all_text(await chat.converse("where is my order SD-100003?", email="ben.okafor@example.com"))
    assert order.tracking_number and order.tracking_number in first, chat.transcript
    again = all_text(await chat.say("and where is order SD-100003 now?"))
    assert order.tracking_number in again, chat.transcript
    assert "email" not in again.lower(), chat.transcript
