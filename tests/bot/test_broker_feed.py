"""The console's broker feed without a broker: messages handed to ``BrokerFeed.handle`` as RabbitMQ would
deliver them (Rasa's event JSON with ``sender_id``), the digest the poll and the feed share, the settings."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.app import create_app
from bot.broker_feed import FEED, BrokerFeed
from bot.errors import ConfigError
from bot.feed_settings import FeedSettings, feed_from_env
from bot.hub import Hub
from bot.keys import STORE
from bot.settings import Settings, from_env
from bot.store import HandoffStore
from bot.sync import TrackerSync
from bot.tracker_digest import TrackerDigest
from scripts.stack import free_port
from tests.bot.conftest import FakeRasa

RECORDED = Path(__file__).parent / "data" / "mood_tracker_events.json"


def recorded_events() -> list[dict[str, Any]]:
    """A real Rasa 3.6 tracker: shopper messages, bot replies, the mood slots (tests/bot/data/README.md)."""
    return list(json.loads(RECORDED.read_text(encoding="utf-8"))["events"])


class RecordingHub(Hub):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []

    async def publish(self, event: dict[str, Any], to: set[str] | None = None) -> None:
        self.events.append(event)

    def lines(self) -> list[str]:
        return [e["message"]["text"] for e in self.events if e["type"] == "message"]


class Setup:
    def __init__(self, tracker: list[dict[str, Any]] | None = None, now: float | None = None) -> None:
        self.store = HandoffStore(":memory:") if now is None else HandoffStore(":memory:", clock=lambda: now)
        self.rasa = FakeRasa()
        self.hub = RecordingHub()
        self.sync = TrackerSync(self.store, self.rasa, self.hub)
        self.feed = BrokerFeed(FeedSettings(mode="broker"), self.sync, self.store)
        self.handoff, _ = self.store.open_handoff("conv-1", "contact_human_agent", [], {})
        self.rasa.trackers["conv-1"] = list(tracker or [])

    async def deliver(self, event: dict[str, Any], sender: str = "conv-1") -> str:
        """Rasa's broker publishes the event (the tracker has it) and the queue delivers it."""
        if sender == "conv-1":
            self.rasa.trackers["conv-1"].append(event)
        return await self.feed.handle(json.dumps({"sender_id": sender, **event}).encode())

    def transcript(self) -> list[tuple[str, str]]:
        return [(m["role"], m["text"]) for m in self.store.messages(self.handoff["id"])]


def user(text: str, ts: float, **extra: Any) -> dict[str, Any]:
    return {"event": "user", "text": text, "timestamp": ts, **extra}


def bot(text: str, ts: float) -> dict[str, Any]:
    return {"event": "bot", "text": text, "timestamp": ts, "metadata": {}}


# --- the handler ---------------------------------------------------------------------------------------


async def test_a_shopper_message_reaches_the_console_at_once_and_is_stored() -> None:
    now = 2_000_000_000.0  # after the handoff's cursor (opened at time.time() - 1)
    setup = Setup()
    assert await setup.deliver(user("where is my parcel?", now)) == "applied"
    assert setup.transcript() == [("shopper", "where is my parcel?")]
    published = [e for e in setup.hub.events if e["type"] == "message"]
    assert published[0]["handoff_id"] == setup.handoff["id"]
    assert published[0]["message"]["text"] == "where is my parcel?"
    assert setup.store.get(setup.handoff["id"])["last_event_ts"] == now


async def test_the_first_event_of_a_handoff_brings_what_came_before_it() -> None:
    now = 2_000_000_000.0
    setup = Setup([user("hello?", now), bot("One moment please.", now + 1)])
    assert await setup.deliver(user("still there?", now + 2)) == "applied"
    assert setup.transcript() == [
        ("shopper", "hello?"),
        ("bot", "One moment please."),
        ("shopper", "still there?"),
    ]
    assert setup.hub.lines() == ["hello?", "One moment please.", "still there?"]


async def test_a_duplicate_delivery_is_stored_and_published_once() -> None:
    now = 2_000_000_000.0
    setup = Setup()
    event = user("I was charged twice", now)
    assert await setup.deliver(event) == "applied"
    body = json.dumps({"sender_id": "conv-1", **event}).encode()
    assert await setup.feed.handle(body) == "applied"  # redelivered after a lost acknowledgement
    assert await setup.feed.handle(body) == "applied"
    assert setup.transcript() == [("shopper", "I was charged twice")]
    assert setup.hub.lines() == ["I was charged twice"]


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe binary",
        b"[1, 2, 3]",
        b'"a string"',
        b'{"event": "user", "text": "no sender", "timestamp": 1.0}',
        b'{"sender_id": 42, "event": "user", "text": "sender is a number", "timestamp": 1.0}',
        b'{"sender_id": "conv-1", "text": "no kind"}',
    ],
)
async def test_a_malformed_message_is_dropped_and_the_feed_goes_on(body: bytes) -> None:
    setup = Setup()
    assert await setup.feed.handle(body) == "malformed"
    assert setup.transcript() == []
    assert await setup.deliver(user("after the bad one", 2_000_000_000.0)) == "applied"
    assert setup.transcript() == [("shopper", "after the bad one")]
    assert setup.feed.outcomes == {"malformed": 1, "applied": 1}


async def test_events_of_conversations_without_an_open_handoff_are_ignored() -> None:
    setup = Setup()
    assert (
        await setup.deliver(user("a shopper talking to the bot", 2_000_000_000.0), sender="conv-2")
        == "ignored"
    )
    assert await setup.deliver({"event": "action", "name": "action_listen", "timestamp": 2e9}) == "ignored"
    assert setup.rasa.trackers.get("conv-2") is None and setup.hub.events == []
    assert setup.store.messages(setup.handoff["id"]) == []


async def test_a_closed_handoff_gets_nothing_more() -> None:
    setup = Setup()
    setup.store.claim(setup.handoff["id"], "a@shop.test", "A")
    setup.store.close(setup.handoff["id"], "a@shop.test")
    assert await setup.deliver(user("hello again", 2_000_000_000.0)) == "ignored"
    assert setup.store.messages(setup.handoff["id"]) == []


async def test_a_failing_store_is_logged_and_the_message_still_counts_as_handled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    setup = Setup()

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("disk full")

    setup.store.add_message = broken  # type: ignore[method-assign]
    assert await setup.deliver(user("lost line", 2_000_000_000.0)) == "failed"
    assert "handling a user event failed" in caplog.text
    assert "lost line" not in caplog.text  # shopper text is never logged above DEBUG


async def test_while_rasa_is_unreachable_lines_still_arrive_and_the_catch_up_is_tried_again() -> None:
    setup = Setup([user("before", 2_000_000_000.0)])
    setup.rasa.down = True
    assert await setup.deliver(user("during", 2_000_000_001.0)) == "applied"
    assert setup.transcript() == [("shopper", "during")]
    setup.rasa.down = False
    assert await setup.deliver(user("after", 2_000_000_002.0)) == "applied"
    assert setup.transcript() == [("shopper", "before"), ("shopper", "during"), ("shopper", "after")]


# --- the feed and the poll agree -----------------------------------------------------------------------


async def test_event_by_event_the_feed_ends_where_the_poll_does_on_a_real_tracker() -> None:
    events = recorded_events()
    opened = min(e["timestamp"] for e in events) - 60  # handed off before the recorded messages
    polled = Setup(events, now=opened)
    await polled.sync.sync_once()

    fed = Setup(events[:1], now=opened)  # the handoff's tracker when the first event is delivered
    for event in events[1:]:
        assert await fed.deliver(event) in ("applied", "ignored")
    a, b = polled.store.get(polled.handoff["id"]), fed.store.get(fed.handoff["id"])
    assert fed.transcript() == polled.transcript() and fed.transcript()
    assert (b["mood"], b["language"]) == (a["mood"], a["language"])
    assert a["mood"] is not None
    assert fed.store.mood_trace(fed.handoff["id"]) == polled.store.mood_trace(polled.handoff["id"])
    assert {"type": "mood", "handoff_id": fed.handoff["id"]} in fed.hub.events


async def test_mood_slots_from_the_broker_publish_a_mood_change() -> None:
    setup = Setup([user("hi", 2_000_000_000.0)])
    await setup.deliver(user("this is useless", 2_000_000_001.0))
    setup.hub.events.clear()
    point = {"ts": 2_000_000_001.0, "score": -0.8, "label": "negative", "mood": -0.8}
    await setup.deliver({"event": "slot", "name": "mood", "value": -0.8, "timestamp": 2_000_000_001.5})
    await setup.deliver(
        {"event": "slot", "name": "mood_trace", "value": [point], "timestamp": 2_000_000_001.5}
    )
    assert setup.store.get(setup.handoff["id"])["mood"] == -0.8
    assert [p["score"] for p in setup.store.mood_trace(setup.handoff["id"])] == [-0.8]
    assert (
        setup.hub.events.count({"type": "mood", "handoff_id": setup.handoff["id"]}) == 2
    )  # mood, then trace


async def test_a_language_slot_from_the_broker_updates_the_badge() -> None:
    setup = Setup([user("hi", 2_000_000_000.0)])
    await setup.deliver(user("你好", 2_000_000_001.0))
    await setup.deliver({"event": "slot", "name": "language", "value": "zh", "timestamp": 2_000_000_001.2})
    assert setup.store.get(setup.handoff["id"])["language"] == "zh"
    assert {"type": "queue"} in setup.hub.events


# --- the digest: a full read and single events, in either order -------------------------------------


def slot(name: str, value: Any, ts: float) -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value, "timestamp": ts}


def test_an_event_the_read_already_had_does_not_turn_the_state_back() -> None:
    digest = TrackerDigest()
    digest.replace([slot("mood", -0.2, 1.0), slot("mood", 0.5, 3.0)])
    digest.add([slot("mood", -0.2, 1.0)])  # delivered late, after the read that had it
    assert [e["value"] for e in digest.events] == [0.5]


def test_an_event_the_read_missed_survives_the_read() -> None:
    digest = TrackerDigest()
    digest.replace([slot("mood", 0.1, 1.0)])
    digest.add([slot("mood", -0.7, 5.0)])  # delivered while the next read was in flight
    digest.replace([slot("mood", 0.1, 1.0)])  # that read did not have it yet
    assert [e["value"] for e in digest.events] == [-0.7]


def test_the_digest_keeps_only_the_newest_of_each_kind_after_a_restart() -> None:
    digest = TrackerDigest()
    digest.replace(
        [
            slot("language", "zh", 1.0),
            {"event": "restart", "timestamp": 2.0},
            slot("mood", 0.2, 3.0),
            slot("mood", 0.4, 4.0),
            slot("requested_slot", "email", 4.5),
            slot("language", "xx", 5.0),  # not a language: never decides
        ]
    )
    assert [(e["event"], e.get("value")) for e in digest.events] == [("restart", None), ("slot", 0.4)]


# --- settings ------------------------------------------------------------------------------------------


def test_the_feed_defaults_to_polling_and_needs_no_configuration() -> None:
    feed = from_env({}).feed
    assert (feed.mode, feed.exchange, feed.queue) == ("poll", "shopdesk.events", "shopdesk.console")


def test_broker_settings_are_read() -> None:
    feed = feed_from_env(
        {
            "CONSOLE_FEED": "broker",
            "CONSOLE_BROKER_URL": "amqp://shop:pw@mq.internal:5673/shop",
            "CONSOLE_BROKER_QUEUE": "shopdesk.console.eu",
            "CONSOLE_BROKER_PREFETCH": "20",
            "CONSOLE_BROKER_SAFETY_S": "0",
        }
    )
    assert (feed.mode, feed.broker_url, feed.queue, feed.prefetch, feed.safety_interval_s) == (
        "broker",
        "amqp://shop:pw@mq.internal:5673/shop",
        "shopdesk.console.eu",
        20,
        0.0,
    )
    assert feed.shown_url == "amqp://shop:***@mq.internal:5673/shop"


@pytest.mark.parametrize(
    ("env", "name", "shown"),
    [
        ({"CONSOLE_FEED": "kafka"}, "CONSOLE_FEED", "'kafka'"),
        (
            {"CONSOLE_FEED": "broker", "CONSOLE_BROKER_URL": "http://u:secret@mq/"},
            "CONSOLE_BROKER_URL",
            "u:***@",
        ),
        ({"CONSOLE_FEED": "broker", "CONSOLE_BROKER_URL": "amqp://"}, "CONSOLE_BROKER_URL", "'amqp://'"),
        (
            {"CONSOLE_FEED": "broker", "CONSOLE_BROKER_URL": "amqp://u:secret@mq:port/"},
            "CONSOLE_BROKER_URL",
            "mq:port",
        ),
        ({"CONSOLE_BROKER_QUEUE": "has space"}, "CONSOLE_BROKER_QUEUE", "'has space'"),
        ({"CONSOLE_BROKER_EXCHANGE": "x" * 256}, "CONSOLE_BROKER_EXCHANGE", "xxx"),
        ({"CONSOLE_BROKER_PREFETCH": "0"}, "CONSOLE_BROKER_PREFETCH", "'0'"),
        ({"CONSOLE_BROKER_PREFETCH": "many"}, "CONSOLE_BROKER_PREFETCH", "'many'"),
        ({"CONSOLE_BROKER_SAFETY_S": "0.5"}, "CONSOLE_BROKER_SAFETY_S", "'0.5'"),
        ({"CONSOLE_BROKER_SAFETY_S": "nan"}, "CONSOLE_BROKER_SAFETY_S", "'nan'"),
        ({"HANDOFF_POLL_INTERVAL_S": "0"}, "HANDOFF_POLL_INTERVAL_S", "0.0"),
    ],
)
def test_a_bad_feed_setting_is_named_with_its_value(env: dict[str, str], name: str, shown: str) -> None:
    with pytest.raises(ConfigError) as caught:
        from_env(env)
    assert caught.value.name == name
    assert shown in str(caught.value)
    assert "secret" not in str(caught.value)


def test_production_refuses_the_guest_account_on_the_broker() -> None:
    with pytest.raises(ConfigError, match="not guest"):
        feed_from_env(
            {"CONSOLE_FEED": "broker", "CONSOLE_BROKER_URL": "amqp://guest:guest@mq/"}, production=True
        )
    assert feed_from_env(
        {"CONSOLE_FEED": "broker", "CONSOLE_BROKER_URL": "amqp://shop:pw@mq/"}, production=True
    )


# --- the service's wiring ------------------------------------------------------------------------------


class CountingRasa(FakeRasa):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    async def tracker_events(self, conversation_id: str) -> list[dict[str, Any]]:
        self.reads += 1
        return await super().tracker_events(conversation_id)


async def wait_until(condition: Any, rounds: int = 400) -> None:
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0.025)
    raise AssertionError("condition never met")


@pytest.mark.parametrize("mode", ["poll", "broker"])
async def test_with_the_broker_feed_the_service_does_not_poll(
    mode: str, settings: Settings, aiohttp_server: Any
) -> None:
    unreachable = f"amqp://guest:guest@127.0.0.1:{free_port()}/"  # nothing listens: the feed keeps retrying
    settings = replace(
        settings,
        poll_interval_s=0.01,
        feed=FeedSettings(mode=mode, broker_url=unreachable, safety_interval_s=0, reconnect_max_s=0.2),
    )
    rasa = CountingRasa()
    server = await aiohttp_server(create_app(settings, rasa=rasa))
    server.app[STORE].open_handoff("conv-1", "contact_human_agent", [], {})
    if mode == "poll":
        await wait_until(lambda: rasa.reads >= 3)
        assert FEED not in server.app
    else:
        feed = server.app[FEED]
        await wait_until(lambda: feed.attempts >= 4)  # the poll would have run dozens of times meanwhile
        assert rasa.reads == 0
        assert feed.connections == 0 and not feed.consuming.is_set()
