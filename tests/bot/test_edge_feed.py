"""The console's edge feed (bot.edge_feed): a handed-off shopper's line on the consoles as the proxy relays it.

The real bot service app and its proxy; upstream a stand-in for Rasa's socket.io channel that confirms a signed
session and records every frame it receives (the real channel is exercised in Rasa's environment below, and
with the real Rasa in tests/bot/test_edge_live.py). The broker's later event goes through the real BrokerFeed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.broker_feed import BrokerFeed
from bot.edge_feed import (
    CLIENT_RATE_LIMIT,
    MAX_MESSAGE_CHARS,
    RATE_LIMIT,
    RATE_WINDOW_S,
    parse_event,
)
from bot.keys import HUB, STORE
from bot.settings import Settings
from bot.sync import TrackerSync, new_lines
from bot.widget_session import RELAY_KEY, new_relay_id, new_session_id, valid_relay_id
from rasa_addons.redact import redact_text
from tests.bot.conftest import ALICE, FakeRasa, console_socket, login, queue_handoff
from tests.bot.rasa_env import assert_script_passes_in_rasa_env

ROOT = Path(__file__).resolve().parents[2]


class Upstream:
    """Rasa's socket.io channel, as far as the proxy can tell: confirms the session, records the frames."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.frames: list[str | bytes] = []
        self.arrived = asyncio.Event()

    def app(self) -> web.Application:
        async def socket(request: web.Request) -> web.StreamResponse:
            ws = web.WebSocketResponse(max_msg_size=0)
            await ws.prepare(request)
            async for frame in ws:
                if frame.type == WSMsgType.BINARY:
                    self.frames.append(frame.data)
                elif frame.type == WSMsgType.TEXT:
                    self.frames.append(frame.data)
                    if frame.data.startswith('42["session_request"'):
                        session = json.loads(frame.data[2:])[1]["session_id"]
                        await ws.send_str(json.dumps(["session_confirm", session]).join(("42", "")))
                self.arrived.set()
            return ws

        app = web.Application()
        app.router.add_route("GET", "/socket.io/", socket)
        return app

    async def next_frames(self, count: int) -> list[str | bytes]:
        for _ in range(200):
            if len(self.frames) >= count:
                return self.frames[:count]
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), 5)
        raise AssertionError(f"upstream got {len(self.frames)} frames, not {count}")


@dataclasses.dataclass
class Rig:
    client: TestClient
    upstream: Upstream
    settings: Settings
    rasa: FakeRasa


@pytest.fixture
async def rig(settings: Settings, aiohttp_server: Any, aiohttp_client: Any) -> Rig:
    upstream = Upstream(settings.widget_session_secret)
    server = await aiohttp_server(upstream.app())
    configured = dataclasses.replace(settings, rasa_url=str(server.make_url("")).rstrip("/"))
    rasa = FakeRasa()
    client = await aiohttp_client(create_app(configured, rasa=rasa, sync=False))
    return Rig(client, upstream, configured, rasa)


async def shopper(rig: Rig, session: str) -> Any:
    """A widget's websocket through the proxy, its session confirmed (as bot/static/widget.js does)."""
    ws = await rig.client.ws_connect(
        "/socket.io/?EIO=4&transport=websocket", headers={"Origin": "http://127.0.0.1:8080"}
    )
    await ws.send_str("42" + json.dumps(["session_request", {"session_id": session}]))
    confirm = await ws.receive(timeout=5)
    assert confirm.data == "42" + json.dumps(["session_confirm", session])
    return ws


def says(text: str, **extra: Any) -> str:
    return "42" + json.dumps(["user_uttered", {"message": text, **extra}])


async def console_frames(socket: Any, quiet_s: float = 0.4) -> list[dict[str, Any]]:
    """Every frame the console gets until it has been quiet for ``quiet_s``."""
    frames = []
    while True:
        try:
            frames.append(await socket.receive_json(timeout=quiet_s))
        except TimeoutError:
            return frames


def messages(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f["message"] for f in frames if f["type"] == "message"]


async def handed_off(rig: Rig) -> tuple[str, str, Any]:
    """A signed session with a queued handoff; (session, handoff id, Alice's console socket)."""
    session = new_session_id(rig.settings.widget_session_secret)
    await login(rig.client, ALICE[0], ALICE[2])
    console = await console_socket(rig.client)  # an agent online: the handoff is queued
    handoff_id = (await queue_handoff(rig.client, session))["handoff_id"]
    assert handoff_id is not None
    await console_frames(console)  # the queue's news
    return session, handoff_id, console


async def test_a_handed_off_line_is_shown_at_once_and_the_broker_confirms_it_without_a_copy(rig: Rig) -> None:
    session, handoff_id, console = await handed_off(rig)
    ws = await shopper(rig, session)
    texts = ["where is my parcel", "it was due on Monday"]
    for text in texts:
        await ws.send_str(says(text, metadata={"page_language": "en"}))
    shown = messages(await console_frames(console))
    assert [(m["role"], m["text"], m["meta"]) for m in shown] == [
        ("shopper", text, {"unconfirmed": True}) for text in texts
    ]
    # what went on to Rasa: the same frames, with a relay id for exactly this session and text
    forwarded = (await rig.upstream.next_frames(3))[1:]
    relays = []
    for text, frame in zip(texts, forwarded, strict=True):
        assert isinstance(frame, str) and frame.startswith('42["user_uttered"')
        body = json.loads(frame[2:])[1]
        assert body["message"] == text and body["metadata"]["page_language"] == "en"
        assert valid_relay_id(rig.settings.widget_session_secret, session, text, body["metadata"][RELAY_KEY])
        relays.append(body["metadata"][RELAY_KEY])

    # Rasa records them; the broker delivers the tracker events (as the real channel stamps them)
    events = [
        {"event": "user", "text": text, "timestamp": 5000.0 + i, "metadata": {RELAY_KEY: relay}}
        for i, (text, relay) in enumerate(zip(texts, relays, strict=True))
    ]
    rig.rasa.trackers[session] = events
    app = rig.client.server.app
    sync = TrackerSync(app[STORE], rig.rasa, app[HUB])
    feed = BrokerFeed(rig.settings.feed, sync, app[STORE])
    for event in events:
        assert await feed.handle(json.dumps({**event, "sender_id": session}).encode()) == "applied"
    after = await console_frames(console)
    assert messages(after) == []  # confirmed, not shown twice
    ids = [m["id"] for m in shown]
    assert sorted(f["message_id"] for f in after if f["type"] == "confirmed") == ids
    stored = [m for m in app[STORE].messages(handoff_id) if m["role"] == "shopper"][1:]  # after the request
    assert [(m["text"], m["meta"]) for m in stored] == [(text, {}) for text in texts]
    await (
        sync.sync_once()
    )  # the safety pass reads the whole tracker: still nothing new, nothing confirmed again
    assert await console_frames(console) == []
    assert len(app[STORE].messages(handoff_id)) == 3
    await ws.close()


async def test_the_edge_shows_a_line_redacted_as_the_tracker_store_keeps_it(rig: Rig) -> None:
    session, handoff_id, console = await handed_off(rig)
    ws = await shopper(rig, session)
    said = "call me on +49 151 2345678 or ada@example.com"
    await ws.send_str(says(said))
    [shown] = messages(await console_frames(console))
    assert (
        shown["text"] == redact_text(said) and "2345678" not in shown["text"] and "ada@" not in shown["text"]
    )
    relay = json.loads((await rig.upstream.next_frames(2))[1][2:])[1]["metadata"][RELAY_KEY]
    assert valid_relay_id(rig.settings.widget_session_secret, session, said, relay)  # Rasa gets the words
    # the record is the tracker's text (here as a tracker store without redaction keeps it)
    app = rig.client.server.app
    sync = TrackerSync(app[STORE], rig.rasa, app[HUB])
    event = {"event": "user", "text": said, "timestamp": 5000.0, "metadata": {RELAY_KEY: relay}}
    await sync.apply(app[STORE].get(handoff_id), [event])
    [confirmed] = [f for f in await console_frames(console) if f["type"] == "confirmed"]
    assert confirmed["message_id"] == shown["id"] and confirmed["text"] == said
    assert app[STORE].messages(handoff_id)[-1]["text"] == said
    await ws.close()


async def test_a_conversation_without_a_handoff_is_not_shown_and_its_frames_go_on_untouched(rig: Rig) -> None:
    _, _, console = await handed_off(rig)  # someone else's handoff is open
    other = new_session_id(rig.settings.widget_session_secret)
    ws = await shopper(rig, other)
    frame = says("just browsing", metadata={"page_language": "en"})
    await ws.send_str(frame)
    assert (await rig.upstream.next_frames(2))[1] == frame
    assert messages(await console_frames(console)) == []
    await ws.close()


async def test_lines_the_channel_will_refuse_are_not_shown(rig: Rig) -> None:
    session, _, console = await handed_off(rig)
    ws = await shopper(rig, session)
    refused = [says("x" * (MAX_MESSAGE_CHARS + 1)), says("/restart"), says("   ")]
    for frame in refused:
        await ws.send_str(frame)
    assert (await rig.upstream.next_frames(4))[1:] == refused  # passed on as they came: Rasa answers them
    assert messages(await console_frames(console)) == []
    # the session's budget: RATE_LIMIT messages per window, the command and the blank line above counted
    for i in range(RATE_LIMIT + 1):
        await ws.send_str(says(f"line {i}"))
    shown = messages(await console_frames(console))
    assert [m["text"] for m in shown] == [f"line {i}" for i in range(RATE_LIMIT - 2)]
    await ws.close()


MALFORMED = [
    '42["user_uttered"',  # not JSON
    '42["user_uttered","just a string"]',
    '42["user_uttered",{"message":{"nested":true}}]',
    '42/admin,["user_uttered",{"message":"another namespace"}]',
    '42{"message":"an object, not an array"}',
    "42[]",
    "42[7]",
    '451-["user_uttered",{"_placeholder":true,"num":0}]',  # a binary event: its attachment comes next
    '43["user_uttered",{"message":"an ack, not an event"}]',
    "2",
    "3probe",
    "",
    '42["session_confirm","' + "ab" * 32 + '"]',  # the client cannot tell the tap its session
]


async def test_malformed_frames_go_on_exactly_as_before_and_show_nothing(rig: Rig) -> None:
    session, _, console = await handed_off(rig)
    ws = await shopper(rig, session)
    for frame in MALFORMED:
        await ws.send_str(frame)
    await ws.send_bytes(b"\x04binary")
    forwarded = await rig.upstream.next_frames(len(MALFORMED) + 2)
    assert forwarded[1:] == [*MALFORMED, b"\x04binary"]
    assert messages(await console_frames(console)) == []
    await ws.send_str(says("still here"))  # the socket still relays, and the tap still works
    assert [m["text"] for m in messages(await console_frames(console))] == ["still here"]
    await ws.close()


async def test_an_ack_id_is_kept_and_a_client_sent_relay_id_is_replaced(rig: Rig) -> None:
    session, _, console = await handed_off(rig)
    ws = await shopper(rig, session)
    forged = new_relay_id(rig.settings.widget_session_secret, session, "some other line")
    await ws.send_str(
        "427" + json.dumps(["user_uttered", {"message": "hello", "metadata": {RELAY_KEY: forged}}])
    )
    frame = (await rig.upstream.next_frames(2))[1]
    assert isinstance(frame, str) and frame.startswith('427["user_uttered"')
    relay = json.loads(frame[3:])[1]["metadata"][RELAY_KEY]
    assert relay != forged and valid_relay_id(rig.settings.widget_session_secret, session, "hello", relay)
    assert [m["text"] for m in messages(await console_frames(console))] == ["hello"]
    await ws.close()


async def test_an_oversized_frame_is_refused_by_the_proxy_as_before(rig: Rig) -> None:
    session, _, console = await handed_off(rig)
    ws = await shopper(rig, session)
    await ws.send_str(says("y" * (64 * 1024)))
    closed = await ws.receive(timeout=5)
    assert closed.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
    assert messages(await console_frames(console)) == []


def test_a_relay_id_is_bound_to_its_session_and_text() -> None:
    secret, session = "edge-test-secret-0123", new_session_id("edge-test-secret-0123")
    relay = new_relay_id(secret, session, "my order")
    assert valid_relay_id(secret, session, "my order", relay)
    assert not valid_relay_id(secret, session, "my order!", relay)  # moved onto another line
    assert not valid_relay_id(secret, new_session_id(secret), "my order", relay)  # another conversation
    assert not valid_relay_id("another-secret-0123456", session, "my order", relay)
    assert not valid_relay_id(secret, session, "my order", relay[:16] + "a" * 32)  # a guessed tag
    for bad in (None, 7, "", relay.upper(), relay + "a"):
        assert not valid_relay_id(secret, session, "my order", bad)
    assert valid_relay_id(secret, session, "\ud800 lone", new_relay_id(secret, session, "\ud800 lone"))


def test_relay_ids_survive_the_tracker_stores_redaction() -> None:
    secret, session = "edge-test-secret-0123", new_session_id("edge-test-secret-0123")
    for _ in range(2000):
        relay = new_relay_id(secret, session, "t")
        assert redact_text(relay) == relay


def test_the_transcript_key_comes_from_a_well_formed_relay_id_only() -> None:
    relay = new_relay_id("s" * 20, new_session_id("s" * 20), "hi")
    good = {"event": "user", "text": "hi", "timestamp": 10.0, "metadata": {RELAY_KEY: relay}}
    bad = {"event": "user", "text": "hi", "timestamp": 11.0, "metadata": {RELAY_KEY: "user:10.0"}}
    bot = {"event": "bot", "text": "ok", "timestamp": 12.0, "metadata": {RELAY_KEY: relay}}
    keys = [key for *_, key, _ in new_lines([good, bad, bot], 0.0)]
    assert keys == [f"relay:{relay}", "user:11.0", "bot:12.0"]


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ('42["user_uttered",{"message":"hi"}]', ("42", ["user_uttered", {"message": "hi"}])),
        ('4213["user_uttered",{}]', ("4213", ["user_uttered", {}])),
        ('42/,["user_uttered",{}]', ("42/,", ["user_uttered", {}])),
        ('42/shop,["user_uttered",{}]', None),
        ('42["user_uttered",', None),
        ('42"user_uttered"', None),
        ("40", None),
    ],
)
def test_event_frames_are_parsed_strictly(frame: str, expected: Any) -> None:
    assert parse_event(frame) == expected


def test_the_mirrored_limits_are_the_channels() -> None:
    """bot.edge_feed mirrors the channel's defaults; credentials.yml must not set other values."""
    source = (ROOT / "bot" / "rasa_channel.py").read_text()
    defaults = dict(re.findall(r'credentials\.get\("(\w+)", ([\d.]+)\)', source))
    assert int(defaults["max_message_chars"]) == MAX_MESSAGE_CHARS
    assert int(defaults["rate_limit"]) == RATE_LIMIT and float(defaults["rate_window_s"]) == RATE_WINDOW_S
    assert "3 * channel.rate_limit" in source and CLIENT_RATE_LIMIT == 3 * RATE_LIMIT
    credentials = (ROOT / "credentials.yml").read_text()
    socket_section = credentials.split("bot.rasa_channel.ShopDeskSocketIOInput:")[1]
    mirrored = (
        "max_message_chars",
        "rate_limit",
        "rate_window_s",
        "client_rate_limit",
        "namespace",
        "metadata_key",
    )
    for key in mirrored:
        assert key not in socket_section, key


CHANNEL_SCRIPT = """
import asyncio, os
os.environ["WIDGET_SESSION_SECRET"] = "channel-test-secret-0123456789"
from bot.rasa_channel import ShopDeskSocketIOInput
from bot.widget_session import RELAY_KEY, new_relay_id, new_session_id

SECRET = os.environ["WIDGET_SESSION_SECRET"]
channel = ShopDeskSocketIOInput.from_credentials({})
received = []

async def on_new_message(message):
    received.append(message)

channel.blueprint(on_new_message)
sio = channel.sio

async def emit(event, data=None, room=None, **kwargs):
    pass

async def enter_room(sid, room, namespace=None):
    pass

sio.emit, sio.enter_room = emit, enter_room
handlers = sio.handlers["/"]

async def main():
    assert await handlers["connect"]("s1", {"REMOTE_ADDR": "203.0.113.5"}, None) is True
    session = new_session_id(SECRET)
    await handlers["session_request"]("s1", {"session_id": session})
    good = new_relay_id(SECRET, session, "hello")
    frames = [
        ("hello", good),  # the proxy's: kept
        ("other text", good),  # replayed onto another line: dropped
        ("hello", new_relay_id(SECRET, new_session_id(SECRET), "hello")),  # another conversation's
        ("hello", new_relay_id("not-the-secret-0123456789", session, "hello")),  # forged
        ("hello", "a" * 48),
        ("hello", 12),
    ]
    for text, relay in frames:
        await handlers["user_uttered"]("s1", {"message": text, "metadata": {RELAY_KEY: relay, "title": "t"}})
    kept = [m.metadata.get(RELAY_KEY) for m in received]
    assert kept == [good, None, None, None, None, None], kept
    assert all(m.metadata["title"] == "t" for m in received)
    await handlers["user_uttered"]("s1", {"message": "x", "metadata": '{"%s": "%s"}' % (RELAY_KEY, good)})
    assert RELAY_KEY not in received[-1].metadata  # a JSON-string metadata never carries one

asyncio.run(main())
print("ok")
"""


def test_the_channel_keeps_only_a_valid_relay_id_for_its_session_and_text() -> None:
    assert_script_passes_in_rasa_env(CHANNEL_SCRIPT)
