"""Claim, reply, hand back; conflicts, unknown ids, Rasa outages, rate limits, live push, no cross-talk."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.keys import HUB, RASA, SETTINGS, STORE
from bot.settings import Settings
from bot.sync import TrackerSync
from tests.bot.conftest import ALICE, FakeRasa, login, queue_handoff


def h(csrf: str) -> dict[str, str]:
    return {"X-CSRF-Token": csrf}


async def test_claim_reply_close_reaches_rasa_with_the_right_events(
    anon: TestClient, alice: tuple[TestClient, str], fake_rasa: FakeRasa
) -> None:
    client, csrf = alice
    handoff = await queue_handoff(anon, "shopper-1")
    hid = handoff["handoff_id"]

    claimed = await client.post(f"/api/console/conversations/{hid}/claim", headers=h(csrf))
    assert claimed.status == 200
    assert (await claimed.json())["notice_delivered"] is True
    conversation_id, events = fake_rasa.appended[-1]
    assert conversation_id == "shopper-1"
    assert events[0]["event"] == "bot"
    assert events[0]["metadata"]["shopdesk_role"] == "notice"
    assert events[0]["metadata"]["shopdesk_event"] == "joined"
    assert "Alice" in events[0]["text"]

    replied = await client.post(
        f"/api/console/conversations/{hid}/reply", json={"text": "Hi, I'm Alice."}, headers=h(csrf)
    )
    assert replied.status == 200
    _, events = fake_rasa.appended[-1]
    assert events == [
        {
            "event": "bot",
            "text": "Hi, I'm Alice.",
            "metadata": {
                "shopdesk_role": "agent",
                "shopdesk_msg_id": events[0]["metadata"]["shopdesk_msg_id"],
                "agent_name": "Alice",
            },
        }
    ]

    closed = await client.post(f"/api/console/conversations/{hid}/close", headers=h(csrf))
    assert closed.status == 200
    _, events = fake_rasa.appended[-1]
    assert [e["event"] for e in events] == ["resume", "bot", "slot", "action"]
    assert events[2] == {"event": "slot", "name": "handoff_status", "value": None}
    assert events[3]["name"] == "action_listen"
    assert "back with the assistant" in events[1]["text"]

    conversation = await (await client.get(f"/api/console/conversations/{hid}")).json()
    assert conversation["status"] == "closed"
    assert [m["role"] for m in conversation["messages"]] == ["shopper", "notice", "agent", "notice"]
    closed_list = await (await client.get("/api/console/closed")).json()
    assert [c["id"] for c in closed_list["closed"]] == [hid]


async def test_one_agent_per_conversation(
    anon: TestClient, alice: tuple[TestClient, str], bob: tuple[TestClient, str]
) -> None:
    (a, a_csrf), (b, b_csrf) = alice, bob
    hid = (await queue_handoff(anon))["handoff_id"]
    first, second = await asyncio.gather(
        a.post(f"/api/console/conversations/{hid}/claim", headers=h(a_csrf)),
        b.post(f"/api/console/conversations/{hid}/claim", headers=h(b_csrf)),
    )
    assert sorted([first.status, second.status]) == [200, 409]
    loser = b if second.status == 409 else a
    loser_csrf = b_csrf if loser is b else a_csrf
    refused = await loser.post(
        f"/api/console/conversations/{hid}/reply", json={"text": "me too"}, headers=h(loser_csrf)
    )
    assert refused.status == 409
    assert "another agent" in (await refused.json())["error"]
    close_refused = await loser.post(f"/api/console/conversations/{hid}/close", headers=h(loser_csrf))
    assert close_refused.status == 409


async def test_unknown_ids_are_404(alice: tuple[TestClient, str]) -> None:
    client, csrf = alice
    for method, path in [
        ("GET", "/api/console/conversations/H-nope"),
        ("POST", "/api/console/conversations/H-nope/claim"),
        ("POST", "/api/console/conversations/H-nope/reply"),
        ("POST", "/api/console/conversations/H-nope/close"),
    ]:
        response = await client.request(method, path, json={"text": "x"}, headers=h(csrf))
        assert response.status == 404, path
        assert "H-nope" in (await response.json())["error"]


async def test_replying_to_a_queued_or_closed_conversation_is_refused(
    anon: TestClient, alice: tuple[TestClient, str]
) -> None:
    client, csrf = alice
    hid = (await queue_handoff(anon))["handoff_id"]
    queued = await client.post(
        f"/api/console/conversations/{hid}/reply", json={"text": "early"}, headers=h(csrf)
    )
    assert queued.status == 409
    await client.post(f"/api/console/conversations/{hid}/claim", headers=h(csrf))
    await client.post(f"/api/console/conversations/{hid}/close", headers=h(csrf))
    late = await client.post(
        f"/api/console/conversations/{hid}/reply", json={"text": "late"}, headers=h(csrf)
    )
    assert late.status == 409
    assert "closed" in (await late.json())["error"]
    reclaim = await client.post(f"/api/console/conversations/{hid}/claim", headers=h(csrf))
    assert reclaim.status == 409


async def test_reply_validation_and_rate_limit(anon: TestClient, alice: tuple[TestClient, str]) -> None:
    client, csrf = alice
    hid = (await queue_handoff(anon))["handoff_id"]
    await client.post(f"/api/console/conversations/{hid}/claim", headers=h(csrf))
    url = f"/api/console/conversations/{hid}/reply"
    for body in ({}, {"text": ""}, {"text": 42}, {"text": "x" * 2001}):
        response = await client.post(url, json=body, headers=h(csrf))
        assert response.status == 400, body
        assert "text" in (await response.json())["fields"]
    malformed = await client.post(url, data=b"{", headers={**h(csrf), "Content-Type": "application/json"})
    assert malformed.status == 400
    statuses = [(await client.post(url, json={"text": f"m{i}"}, headers=h(csrf))).status for i in range(7)]
    assert statuses == [200] * 5 + [429] * 2  # the test settings allow 5 replies per 10 s


async def test_rasa_down_means_a_clear_502_and_nothing_recorded(
    anon: TestClient, alice: tuple[TestClient, str], fake_rasa: FakeRasa
) -> None:
    client, csrf = alice
    hid = (await queue_handoff(anon))["handoff_id"]
    await client.post(f"/api/console/conversations/{hid}/claim", headers=h(csrf))
    fake_rasa.down = True
    response = await client.post(
        f"/api/console/conversations/{hid}/reply", json={"text": "hello?"}, headers=h(csrf)
    )
    assert response.status == 502
    assert "nothing was sent" in (await response.json())["error"]
    close = await client.post(f"/api/console/conversations/{hid}/close", headers=h(csrf))
    assert close.status == 502
    conversation = await (await client.get(f"/api/console/conversations/{hid}")).json()
    assert conversation["status"] == "active"
    assert "hello?" not in [m["text"] for m in conversation["messages"]]


async def test_live_push_to_the_console_socket(
    anon: TestClient, alice: tuple[TestClient, str], fake_rasa: FakeRasa, server: Any
) -> None:
    client, csrf = alice
    socket = await client.ws_connect("/api/console/ws", headers={"Origin": server.app[SETTINGS].base_url})
    assert (await socket.receive_json(timeout=5))["type"] == "hello"
    hid = (await queue_handoff(anon, "shopper-live"))["handoff_id"]
    await client.post(f"/api/console/conversations/{hid}/claim", headers=h(csrf))

    fake_rasa.user_says("shopper-live", "<script>alert(1)</script> are you there?")
    app = server.app
    await TrackerSync(app[STORE], app[RASA], app[HUB]).sync_once()
    seen = []
    while True:
        event = await socket.receive_json(timeout=5)
        if event["type"] == "message" and event["message"]["role"] == "shopper":
            seen.append(event)
            break
    assert seen[0]["handoff_id"] == hid
    assert seen[0]["message"]["text"] == "<script>alert(1)</script> are you there?"
    await socket.close()


async def test_no_cross_talk_between_conversations(
    anon: TestClient,
    alice: tuple[TestClient, str],
    bob: tuple[TestClient, str],
    fake_rasa: FakeRasa,
    server: Any,
) -> None:
    (a, a_csrf), (b, b_csrf) = alice, bob
    one = (await queue_handoff(anon, "shopper-one"))["handoff_id"]
    two = (await queue_handoff(anon, "shopper-two"))["handoff_id"]
    await a.post(f"/api/console/conversations/{one}/claim", headers=h(a_csrf))
    await b.post(f"/api/console/conversations/{two}/claim", headers=h(b_csrf))
    await a.post(f"/api/console/conversations/{one}/reply", json={"text": "for one"}, headers=h(a_csrf))
    await b.post(f"/api/console/conversations/{two}/reply", json={"text": "for two"}, headers=h(b_csrf))
    fake_rasa.user_says("shopper-one", "one speaking")
    fake_rasa.user_says("shopper-two", "two speaking")
    app = server.app
    await TrackerSync(app[STORE], app[RASA], app[HUB]).sync_once()

    sent = {
        cid: [
            e["text"]
            for _, evs in [x for x in fake_rasa.appended if x[0] == cid]
            for e in evs
            if e.get("event") == "bot"
        ]
        for cid in ("shopper-one", "shopper-two")
    }
    assert "for one" in sent["shopper-one"] and "for two" not in sent["shopper-one"]
    assert "for two" in sent["shopper-two"] and "for one" not in sent["shopper-two"]
    texts_one = [
        m["text"] for m in (await (await a.get(f"/api/console/conversations/{one}")).json())["messages"]
    ]
    texts_two = [
        m["text"] for m in (await (await b.get(f"/api/console/conversations/{two}")).json())["messages"]
    ]
    assert "one speaking" in texts_one and "two speaking" not in texts_one
    assert "two speaking" in texts_two and "one speaking" not in texts_two
    assert texts_one.count("for one") == 1  # the reply and its tracker event are stored once


async def test_console_restart_loses_nothing(
    settings: Settings, fake_rasa: FakeRasa, aiohttp_server: Any, aiohttp_client: Any
) -> None:
    """What the shopper writes while the console service is down is in the transcript after it restarts."""
    first = await aiohttp_server(create_app(settings, rasa=fake_rasa, sync=False))
    agent = await aiohttp_client(first)
    csrf = await login(agent, ALICE[0], ALICE[2])
    hid = (await queue_handoff(agent, "shopper-restart"))["handoff_id"]
    await agent.post(f"/api/console/conversations/{hid}/claim", headers=h(csrf))
    fake_rasa.user_says("shopper-restart", "before the restart")
    await TrackerSync(first.app[STORE], fake_rasa, first.app[HUB]).sync_once()
    await agent.close()
    await first.close()

    fake_rasa.user_says("shopper-restart", "while the console was down")

    second = await aiohttp_server(create_app(settings, rasa=fake_rasa, sync=False))
    agent = await aiohttp_client(second)
    csrf = await login(agent, ALICE[0], ALICE[2])
    await TrackerSync(second.app[STORE], fake_rasa, second.app[HUB]).sync_once()
    conversation = await (await agent.get(f"/api/console/conversations/{hid}")).json()
    texts = [m["text"] for m in conversation["messages"]]
    assert texts.count("before the restart") == 1
    assert "while the console was down" in texts
    assert conversation["status"] == "active" and conversation["mine"]
    replied = await agent.post(
        f"/api/console/conversations/{hid}/reply", json={"text": "still here"}, headers=h(csrf)
    )
    assert replied.status == 200


async def test_context_and_order_lookup(
    anon: TestClient, alice: tuple[TestClient, str], settings: Settings
) -> None:
    from shop.demo.seed import open_seeded_store

    client, _ = alice
    hid = (await queue_handoff(anon))["handoff_id"]
    conversation = await (await client.get(f"/api/console/conversations/{hid}")).json()
    assert conversation["context"]["customer"]["id"] == "C-0001"

    unavailable = await client.get("/api/console/orders/SD-100001")
    assert unavailable.status == 503
    shipped = open_seeded_store(settings.shop_db_path).get_order("SD-100003")  # the real schema and seed
    assert shipped.shipment is not None
    found = await client.get("/api/console/orders/sd100003")
    order = await found.json()
    assert (order["number"], order["total"], order["lines"][0]["title"]) == (
        "SD-100003",
        f"{shipped.total_minor / 100:.2f} {shipped.currency}",
        shipped.lines[0].title,
    )
    assert (order["customer_id"], order["customer_email"]) == (shipped.customer.id, shipped.customer.email)
    assert (order["carrier"], order["tracking_number"]) == (shipped.carrier, shipped.tracking_number)
    assert order["estimated_delivery"] == shipped.shipment.estimated_delivery.isoformat()
    assert (await client.get("/api/console/orders/SD-999999")).status == 404
    malformed = await client.get("/api/console/orders/DROP%20TABLE")
    assert malformed.status == 400
    assert json.loads(await malformed.text())["fields"]["order_id"]


async def test_shutting_down_closes_open_consoles_first(alice: tuple[TestClient, str]) -> None:
    """aiohttp waits for open handlers after the shutdown signal: a console left open held the bot service's stop
    (and every test's teardown) for the whole shutdown timeout."""
    from aiohttp import WSMsgType

    from tests.bot.conftest import console_socket

    socket = await console_socket(alice[0])
    assert alice[0].server.app[HUB].online_agents() == {ALICE[0]}
    await alice[0].server.app.shutdown()  # the on_shutdown signal only, as the runner sends it first
    frame = await socket.receive(timeout=5)
    while frame.type == WSMsgType.TEXT:  # presence frames sent before the signal
        frame = await socket.receive(timeout=5)
    assert frame.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
    assert alice[0].server.app[HUB].online_agents() == set()
