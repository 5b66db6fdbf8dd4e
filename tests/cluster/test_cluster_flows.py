"""The single-box conversations on the production topology (tests/e2e's flows), through nginx and 2 Rasa
instances: greet, a product question, order status for a verified shopper, handoff to an agent and back; many
conversations at once without cross-talk; one conversation hammered by 10 clients; every event on RabbitMQ
reaches the analytics sink's events table."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
import uuid

import aiohttp
import pytest

from bench.handoff_latency import Agent, hand_off
from bench.handoff_latency import Shopper as WidgetShopper
from scripts.cluster import ClusterStack
from tests.cluster.conftest import tracker_events, user_texts
from tests.e2e.shopper import Shopper, all_text
from tests.e2e.stores import open_store

pytestmark = pytest.mark.cluster


def letters(sender: str) -> str:
    """The hex tail of a sender id as letters (a-p)."""
    return "".join(chr(ord("a") + int(c, 16)) for c in sender[-8:])


def shopper(http: aiohttp.ClientSession, cluster: ClusterStack, prefix: str = "cluster") -> Shopper:
    return Shopper(http, cluster.config.rest_url, sender=f"{prefix}-{uuid.uuid4().hex[:10]}")


def test_every_part_is_up_and_rasa_is_reached_through_nginx(cluster: ClusterStack) -> None:
    names = set(cluster.processes)
    assert {"nginx", "rasa-1", "rasa-2", "actions-1", "actions-2", "redis", "postgres", "rabbitmq"} <= names
    assert all(cluster.alive().values()), cluster.alive()
    assert all(cluster.is_ready(name) for name in cluster.processes)
    assert cluster.config.rasa_port not in cluster.cluster.rasa_ports, "clients reach nginx, not an instance"


async def test_greet(http: aiohttp.ClientSession, cluster: ClusterStack) -> None:
    replies = await shopper(http, cluster).say("hello")
    assert replies and all_text(replies).strip()


async def test_product_question_is_answered_from_the_catalog(
    http: aiohttp.ClientSession, cluster: ClusterStack
) -> None:
    lamp = open_store(cluster.config.shop_db).get_product("P-1031")
    replies = await shopper(http, cluster).say("is the Arc LED desk lamp dimmable?")
    assert "dimmable" in all_text(replies).lower()
    cards = [r["custom"] for r in replies if isinstance(r.get("custom"), dict)]
    assert cards and cards[0]["cards"][0]["id"] == lamp.id


async def test_order_status_for_a_verified_shopper(
    http: aiohttp.ClientSession, cluster: ClusterStack
) -> None:
    order = open_store(cluster.config.shop_db).get_order("SD-100003")
    chat = shopper(http, cluster)
    first = await chat.say("hi, where is my order SD-100003?")
    assert order.tracking_number not in all_text(first), "nothing is revealed before verification"
    told = all_text(await chat.converse("ben.okafor@example.com"))
    assert order.tracking_number in told


async def test_handoff_to_an_agent_and_back_through_the_bot_service(cluster: ClusterStack) -> None:
    """The widget's path (bot service proxy -> nginx, sticky -> one instance) and the console's (its API calls
    Rasa through nginx, whichever instance takes them): the agent's replies reach only their own shopper."""
    config = cluster.config
    agent = Agent(config.bot_url)
    await agent.login("agent@shopdesk.test", "shopdesk-demo")
    shoppers = [WidgetShopper(config.bot_url) for _ in range(3)]
    try:
        await asyncio.gather(*(s.connect() for s in shoppers))
        ids = {}
        for one in shoppers:  # one agent claims each conversation in turn
            ids.update(await hand_off([agent], [one]))
        for index, one in enumerate(shoppers):
            text = f"shopper {index} asks {uuid.uuid4().hex[:6]}"
            await one.say(text)
            await agent.wait_seen(text)
            reply = f"agent answers {index} {uuid.uuid4().hex[:6]}"
            await agent.call(
                "POST", f"/api/console/conversations/{ids[one.session_id]}/reply", {"text": reply}
            )
            await one.wait_for(re.escape(reply))
        for index, one in enumerate(shoppers):  # no cross-talk: each saw its own agent reply only
            seen = [
                str(data.get("text")) for _, data in one.inbox if "agent answers" in str(data.get("text"))
            ]
            assert len(seen) == 1 and seen[0].startswith(f"agent answers {index} "), seen
        first = shoppers[0]
        await agent.call("POST", f"/api/console/conversations/{ids[first.session_id]}/close")
        await first.wait_for("back with the assistant")
        count = len(first.inbox)
        await first.say("hello again")
        deadline = time.monotonic() + 60
        while len(first.inbox) == count:  # the assistant answers again
            assert time.monotonic() < deadline, "no answer from the assistant after the hand-back"
            await asyncio.sleep(0.2)
    finally:
        await asyncio.gather(*(s.client.disconnect() for s in shoppers), return_exceptions=True)
        await agent.close()


async def test_many_conversations_at_once_see_only_their_own_messages(
    http: aiohttp.ClientSession, cluster: ClusterStack
) -> None:
    chats = [shopper(http, cluster, "crosstalk") for _ in range(12)]
    # letters only: a run of digits in a message is redacted as a phone number before it is stored
    sent = {
        chat.sender: [f"hello {letters(chat.sender)} {k}" for k in ("one", "two", "three")] for chat in chats
    }

    async def talk(chat: Shopper) -> None:
        for text in sent[chat.sender]:
            assert await chat.say(text), f"no reply to {text!r}"

    await asyncio.gather(*(talk(chat) for chat in chats))
    for chat in chats:
        assert user_texts(tracker_events(cluster, chat.sender)) == sent[chat.sender]


async def test_ten_clients_hammering_one_conversation_keep_every_message_once_in_order(
    http: aiohttp.ClientSession, cluster: ClusterStack
) -> None:
    """Both instances take messages of the same conversation at once (nginx round-robin): the lock store must
    serialise them. Rasa's `type: redis` lock store lost 6 of these 40 messages (issue 15);
    endpoints.cluster.yml's rasa_addons.lock_store.AtomicRedisLockStore must keep all of them."""
    sender = f"hammer-{uuid.uuid4().hex[:10]}"
    url = cluster.config.rest_url

    async def client(index: int) -> None:
        for k in range(4):
            async with http.post(url, json={"sender": sender, "message": f"hi from {index} {k}"}) as response:
                assert response.status == 200, await response.text()

    await asyncio.gather(*(client(index) for index in range(10)))
    texts = user_texts(tracker_events(cluster, sender))
    assert sorted(texts) == sorted(f"hi from {i} {k}" for i in range(10) for k in range(4)), (
        "each exactly once"
    )
    for index in range(10):
        mine = [text for text in texts if text.startswith(f"hi from {index} ")]
        assert mine == [f"hi from {index} {k}" for k in range(4)], f"client {index}'s messages out of order"


async def test_events_reach_rabbitmq_and_the_analytics_sink_writes_them(
    http: aiohttp.ClientSession, cluster: ClusterStack
) -> None:
    chat = shopper(http, cluster, "analytics")
    await chat.say("hello")
    await chat.say("what is your return policy?")
    database = cluster.config.var_dir / "events.db"
    deadline = time.monotonic() + 30
    while True:
        with sqlite3.connect(database) as connection:
            rows = connection.execute(
                "SELECT data FROM events WHERE sender_id = ? ORDER BY id", (chat.sender,)
            ).fetchall()
        texts = [data for (data,) in rows if '"event": "user"' in data]
        if len(texts) >= 2 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.25)
    assert len(texts) == 2, f"user events in the sink's table: {texts}"
    assert '"return policy' in texts[1] or "return policy" in texts[1]
    assert any('"event": "bot"' in data for (data,) in rows), "the bot's replies are streamed too"
