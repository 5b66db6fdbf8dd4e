"""The console's JSON with mood (aiohttp_client, fake Rasa): queue order and badges, the conversation's trend
and driving messages, the live push when a mood changes."""

from __future__ import annotations

import time
from typing import Any

from aiohttp.test_utils import TestClient

from bot.keys import HUB, RASA, SETTINGS, STORE
from bot.sync import TrackerSync
from tests.bot.conftest import FakeRasa, queue_handoff

NOW = round(time.time())  # agents' sessions are real-time: the fake clock stays near it


def set_clock(server: Any, now: float) -> None:
    server.app[STORE].clock = lambda: now


def mood_events(trace: list[tuple[float, float, float]], ts: float) -> list[dict[str, Any]]:
    """The slot events slice mood's action sets: (user ts, score, mood after it) per judged message."""
    points = [
        {"ts": t, "score": score, "label": "negative" if score < -0.05 else "neutral", "mood": mood}
        for t, score, mood in trace
    ]
    return [
        {"event": "slot", "name": "mood", "value": points[-1]["mood"], "timestamp": ts},
        {"event": "slot", "name": "mood_trace", "value": points, "timestamp": ts},
    ]


async def sync(server: Any) -> None:
    app = server.app
    await TrackerSync(app[STORE], app[RASA], app[HUB]).sync_once()


async def test_the_queue_puts_a_sour_shopper_waiting_2_minutes_before_a_calm_one_waiting_5(
    anon: TestClient, alice: tuple[TestClient, str], fake_rasa: FakeRasa, server: Any
) -> None:
    client, _ = alice
    set_clock(server, NOW - 300)
    calm = (await queue_handoff(anon, "calm-shopper"))["handoff_id"]
    set_clock(server, NOW - 120)
    sour = (await queue_handoff(anon, "sour-shopper"))["handoff_id"]
    set_clock(server, NOW - 60)
    fresh = (await queue_handoff(anon, "fresh-shopper"))["handoff_id"]  # no judged message: unknown
    set_clock(server, NOW)
    fake_rasa.trackers["calm-shopper"] = mood_events([(NOW - 400, 0.1, 0.1)], NOW - 399)
    fake_rasa.trackers["sour-shopper"] = mood_events(
        [(NOW - 200, -0.6, -0.6), (NOW - 130, -0.95, -0.8)], NOW - 129
    )
    await sync(server)

    queue = await (await client.get("/api/console/queue")).json()
    waiting = {item["id"]: item for item in queue["queued"]}
    # minutes waited + 5 × max(0, -mood): sour 2 + 4 = 6.0, calm 5 + 0 = 5.0, fresh 1 + 0 = 1.0
    assert [item["id"] for item in queue["queued"]] == [sour, calm, fresh]
    assert [item["position"] for item in queue["queued"]] == [1, 2, 3]
    assert [waiting[h]["priority"] for h in (sour, calm, fresh)] == [6.0, 5.0, 1.0]
    assert (waiting[sour]["mood"], waiting[sour]["mood_label"]) == (-0.8, "negative")
    assert (waiting[calm]["mood"], waiting[calm]["mood_label"]) == (0.1, "neutral")
    assert (waiting[fresh]["mood"], waiting[fresh]["mood_label"]) == (None, "unknown")

    # what the action server is told for a new handoff follows the same order
    late = await queue_handoff(anon, "late-shopper")
    assert late["position"] == 4


async def test_ties_in_the_queue_go_by_arrival(
    anon: TestClient, alice: tuple[TestClient, str], fake_rasa: FakeRasa, server: Any
) -> None:
    client, _ = alice
    set_clock(server, NOW - 120)
    first = (await queue_handoff(anon, "first"))["handoff_id"]
    set_clock(server, NOW - 60)
    second = (await queue_handoff(anon, "second"))["handoff_id"]
    set_clock(server, NOW)
    fake_rasa.trackers["second"] = mood_events([(NOW - 70, -0.2, -0.2)], NOW - 69)  # 1 + 5 × 0.2 = 2.0
    await sync(server)
    queue = await (await client.get("/api/console/queue")).json()
    assert [(item["id"], item["priority"]) for item in queue["queued"]] == [(first, 2.0), (second, 2.0)]


async def test_the_conversation_has_its_trend_and_the_messages_that_drove_it(
    anon: TestClient, alice: tuple[TestClient, str], fake_rasa: FakeRasa, server: Any
) -> None:
    client, _ = alice
    hid = (await queue_handoff(anon, "trend-shopper"))["handoff_id"]
    fake_rasa.user_says("trend-shopper", "hello", ts=2000.0)
    fake_rasa.user_says("trend-shopper", "<b>still</b> no parcel!!", ts=2010.0)
    fake_rasa.user_says("trend-shopper", "ok thanks", ts=2020.0)
    fake_rasa.user_says("trend-shopper", "worst shop ever", ts=2030.0)
    trace = [
        (900.0, -0.7, -0.7),  # before the handoff's transcript: a driver without a line here
        (2000.0, 0.3, -0.4),
        (2010.0, -0.9, -0.65),
        (2020.0, 0.4, -0.3),
        (2030.0, -0.8, -0.55),
    ]
    fake_rasa.trackers["trend-shopper"] += mood_events(trace, 2031.0)
    await sync(server)

    conversation = await (await client.get(f"/api/console/conversations/{hid}")).json()
    assert (conversation["mood"], conversation["mood_label"]) == (-0.55, "negative")
    assert [p["mood"] for p in conversation["mood_trace"]] == [-0.7, -0.4, -0.65, -0.3, -0.55]
    line_id = {m["text"]: m["id"] for m in conversation["messages"] if m["role"] == "shopper"}
    drivers = conversation["mood_drivers"]
    assert [(d["ts"], d["drop"], d["message_id"], d["text"]) for d in drivers] == [
        (900.0, 0.7, None, None),
        (2010.0, 0.25, line_id["<b>still</b> no parcel!!"], "<b>still</b> no parcel!!"),  # equal drops:
        (2030.0, 0.25, line_id["worst shop ever"], "worst shop ever"),  # the older one first
    ]


async def test_a_conversation_without_a_mood_says_unknown(
    anon: TestClient, alice: tuple[TestClient, str], server: Any
) -> None:
    client, _ = alice
    hid = (await queue_handoff(anon, "quiet-shopper"))["handoff_id"]
    await sync(server)
    conversation = await (await client.get(f"/api/console/conversations/{hid}")).json()
    assert (conversation["mood"], conversation["mood_label"]) == (None, "unknown")
    assert conversation["mood_trace"] == [] and conversation["mood_drivers"] == []


async def test_a_mood_change_is_pushed_to_the_consoles(
    anon: TestClient, alice: tuple[TestClient, str], fake_rasa: FakeRasa, server: Any
) -> None:
    client, _ = alice
    socket = await client.ws_connect("/api/console/ws", headers={"Origin": server.app[SETTINGS].base_url})
    assert (await socket.receive_json(timeout=5))["type"] == "hello"
    hid = (await queue_handoff(anon, "pushed-shopper"))["handoff_id"]
    fake_rasa.trackers["pushed-shopper"] = mood_events([(1500.0, -0.9, -0.9)], 1501.0)
    await sync(server)
    while (event := await socket.receive_json(timeout=5))["type"] != "mood":
        pass
    assert event == {"type": "mood", "handoff_id": hid}
    await socket.close()


async def test_a_closed_conversation_keeps_its_trend(
    anon: TestClient, alice: tuple[TestClient, str], fake_rasa: FakeRasa, server: Any
) -> None:
    client, csrf = alice
    hid = (await queue_handoff(anon, "closing-shopper"))["handoff_id"]
    fake_rasa.user_says("closing-shopper", "useless", ts=3000.0)
    fake_rasa.trackers["closing-shopper"] += mood_events([(3000.0, -0.8, -0.8)], 3001.0)
    await sync(server)
    await client.post(f"/api/console/conversations/{hid}/claim", headers={"X-CSRF-Token": csrf})
    await client.post(f"/api/console/conversations/{hid}/close", headers={"X-CSRF-Token": csrf})
    fake_rasa.trackers["closing-shopper"] = []  # the tracker is not read for a closed handoff
    await sync(server)
    conversation = await (await client.get(f"/api/console/conversations/{hid}")).json()
    assert conversation["status"] == "closed"
    assert (conversation["mood"], [p["mood"] for p in conversation["mood_trace"]]) == (-0.8, [-0.8])
    assert [d["text"] for d in conversation["mood_drivers"]] == ["useless"]
