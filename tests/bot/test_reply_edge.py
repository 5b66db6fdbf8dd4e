"""The reply edge (bot.reply_edge): an agent's reply pushed to the shopper's proxied socket, recorded by Rasa once.

The real bot service app and its proxy; upstream a stand-in for Rasa's socket.io channel (tests/bot/
test_edge_feed.py's ``Upstream``) that also plays Rasa's HTTP API: an append with side effects emits the bot
event to the session's sockets, as Rasa's channel does; one without only records it. The frame the edge sends
is compared with what the real channel emits in Rasa's own environment, through python-socketio's encoder.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import subprocess
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.keys import STORE
from bot.reply_edge import BOT_EVENT, SHOPPER_SOCKETS, BrowserSocket, ShopperSockets, bot_uttered_frame
from bot.settings import Settings
from bot.widget_session import new_session_id
from tests.bot.conftest import ALICE, BOB, FakeRasa, console_socket, login, queue_handoff
from tests.bot.rasa_env import RASA_PYTHON, ROOT
from tests.bot.test_edge_feed import Upstream, console_frames, messages

ORIGIN = {"Origin": "http://127.0.0.1:8080"}


class RasaStandIn(Upstream):
    """Rasa's socket.io channel (rooms by session) and its tracker API: ``emit`` sends to the room."""

    def __init__(self, secret: str) -> None:
        super().__init__(secret)
        self.rooms: dict[str, list[web.WebSocketResponse]] = {}

    def app(self) -> web.Application:
        async def socket(request: web.Request) -> web.StreamResponse:
            ws = web.WebSocketResponse(max_msg_size=0)
            await ws.prepare(request)
            async for frame in ws:
                if frame.type == WSMsgType.TEXT and frame.data.startswith('42["session_request"'):
                    session = json.loads(frame.data[2:])[1]["session_id"]
                    self.rooms.setdefault(session, []).append(ws)
                    await ws.send_str("42" + json.dumps(["session_confirm", session]))
            return ws

        app = web.Application()
        app.router.add_route("GET", "/socket.io/", socket)
        return app


class EmittingRasa(FakeRasa):
    """FakeRasa whose appends with side effects emit each bot event to the session's room, as Rasa's channel."""

    def __init__(self, channel: RasaStandIn) -> None:
        super().__init__()
        self.channel = channel

    async def append_events(
        self, conversation_id: str, events: list[dict[str, Any]], emit: bool = True
    ) -> None:
        await super().append_events(conversation_id, events, emit)
        if emit:
            for event in events:
                if event.get("event") == "bot":
                    frame = bot_uttered_frame(event["text"], event.get("metadata") or {})
                    for ws in self.channel.rooms.get(conversation_id, []):
                        if not ws.closed:
                            await ws.send_str(frame)


@dataclasses.dataclass
class Rig:
    client: TestClient
    channel: RasaStandIn
    settings: Settings
    rasa: EmittingRasa


@pytest.fixture
async def rig(settings: Settings, aiohttp_server: Any, aiohttp_client: Any) -> Rig:
    channel = RasaStandIn(settings.widget_session_secret)
    server = await aiohttp_server(channel.app())
    configured = dataclasses.replace(settings, rasa_url=str(server.make_url("")).rstrip("/"))
    rasa = EmittingRasa(channel)
    client = await aiohttp_client(create_app(configured, rasa=rasa, sync=False))
    return Rig(client, channel, configured, rasa)


async def tab(rig: Rig, session: str, direct: bool = False) -> Any:
    """A widget tab: through the proxy (the production path), or ``direct`` to Rasa (``RASA_PUBLIC_URL``)."""
    url = "/socket.io/?EIO=4&transport=websocket"
    if direct:
        ws = await rig.client.session.ws_connect(f"{rig.settings.rasa_url}{url}", headers=ORIGIN)
    else:
        ws = await rig.client.ws_connect(url, headers=ORIGIN)
    await ws.send_str("42" + json.dumps(["session_request", {"session_id": session}]))
    assert (await ws.receive(timeout=5)).data == "42" + json.dumps(["session_confirm", session])
    return ws


async def received(ws: Any, quiet_s: float = 0.4) -> list[str]:
    """Every text frame the tab gets until it has been quiet for ``quiet_s``."""
    frames = []
    while True:
        try:
            frame = await ws.receive(timeout=quiet_s)
        except TimeoutError:
            return frames
        if frame.type != WSMsgType.TEXT:
            return frames
        frames.append(frame.data)


async def active(rig: Rig) -> tuple[str, str, str]:
    """A signed session whose handoff Alice claimed; (session, handoff id, Alice's CSRF token)."""
    session = new_session_id(rig.settings.widget_session_secret)
    csrf = await login(rig.client, ALICE[0], ALICE[2])
    console = await console_socket(rig.client)  # an agent online: the handoff is queued
    handoff_id = (await queue_handoff(rig.client, session))["handoff_id"]
    claim = await rig.client.post(
        f"/api/console/conversations/{handoff_id}/claim", headers={"X-CSRF-Token": csrf}
    )
    assert claim.status == 200, await claim.text()
    await console.close()
    return session, handoff_id, csrf


async def reply(rig: Rig, handoff_id: str, csrf: str, text: str, client: TestClient | None = None) -> Any:
    return await (client or rig.client).post(
        f"/api/console/conversations/{handoff_id}/reply", json={"text": text}, headers={"X-CSRF-Token": csrf}
    )


def agent_frame(text: str, name: str = "Alice") -> str:
    body = {"text": text, "role": "agent", "agent_name": name}
    return "42" + json.dumps(["bot_uttered", body], separators=(",", ":"))


def recorded(rig: Rig, session: str, text: str) -> list[dict[str, Any]]:
    return [e for e in rig.rasa.trackers.get(session, []) if e["event"] == "bot" and e["text"] == text]


async def test_a_reply_reaches_the_proxied_socket_once_and_rasa_records_it_without_emitting(rig: Rig) -> None:
    session, handoff_id, csrf = await active(rig)
    ws = await tab(rig, session)
    response = await reply(rig, handoff_id, csrf, "Hello, I'm looking into it")
    assert response.status == 200
    body = await response.json()
    assert body["recorded"] is True and body["message"]["meta"] == {"agent_name": "Alice"}
    assert await received(ws) == [agent_frame("Hello, I'm looking into it")]  # once: Rasa did not emit it
    assert rig.rasa.silent == [session]
    [event] = recorded(rig, session, "Hello, I'm looking into it")  # the tracker has it once, as before
    assert event["metadata"]["shopdesk_role"] == "agent" and event["metadata"]["agent_name"] == "Alice"
    stored = [m for m in rig.client.server.app[STORE].messages(handoff_id) if m["role"] == "agent"]
    assert [(m["text"], m["id"]) for m in stored] == [("Hello, I'm looking into it", body["message"]["id"])]
    await ws.close()


async def test_two_tabs_both_get_the_reply(rig: Rig) -> None:
    session, handoff_id, csrf = await active(rig)
    tabs = [await tab(rig, session), await tab(rig, session)]
    assert len(rig.client.server.app[SHOPPER_SOCKETS].of(session)) == 2
    assert (await reply(rig, handoff_id, csrf, "both of you")).status == 200
    for ws in tabs:
        assert await received(ws) == [agent_frame("both of you")]
    assert len(recorded(rig, session, "both of you")) == 1
    for ws in tabs:
        await ws.close()


async def test_without_a_proxied_socket_rasa_emits_the_reply_as_before(rig: Rig) -> None:
    session, handoff_id, csrf = await active(rig)
    direct = await tab(rig, session, direct=True)  # RASA_PUBLIC_URL: the widget talks to Rasa itself
    assert (await reply(rig, handoff_id, csrf, "via Rasa")).status == 200
    assert await received(direct) == [agent_frame("via Rasa")]
    assert rig.rasa.silent == [] and len(recorded(rig, session, "via Rasa")) == 1
    await direct.close()
    # the shopper offline: recorded with side effects, as before (the widget loads it from the history)
    assert (await reply(rig, handoff_id, csrf, "nobody here")).status == 200
    assert rig.rasa.silent == [] and len(recorded(rig, session, "nobody here")) == 1


async def test_a_closed_socket_is_dropped_and_the_next_reply_goes_through_rasa(rig: Rig) -> None:
    session, handoff_id, csrf = await active(rig)
    sockets = rig.client.server.app[SHOPPER_SOCKETS]
    ws = await tab(rig, session)
    assert len(sockets) == 1
    await ws.close()
    for _ in range(100):
        if len(sockets) == 0:
            break
        await asyncio.sleep(0.02)
    assert len(sockets) == 0 and sockets.of(session) == []
    assert (await reply(rig, handoff_id, csrf, "after the tab closed")).status == 200
    assert rig.rasa.silent == []


async def test_an_agent_who_does_not_own_the_handoff_still_cannot_reply(
    rig: Rig, aiohttp_client: Any
) -> None:
    session, handoff_id, _ = await active(rig)
    ws = await tab(rig, session)
    bob = await aiohttp_client(rig.client.server)
    bob_csrf = await login(bob, BOB[0], BOB[2])
    response = await reply(rig, handoff_id, bob_csrf, "not mine", client=bob)
    assert response.status == 409
    assert await received(ws) == [] and recorded(rig, session, "not mine") == []
    await ws.close()


async def test_a_reply_the_shopper_got_but_rasa_did_not_record_is_reported_not_failed(rig: Rig) -> None:
    session, handoff_id, csrf = await active(rig)
    console = await console_socket(rig.client)
    ws = await tab(rig, session)
    rig.rasa.down = True
    response = await reply(rig, handoff_id, csrf, "shown, not recorded")
    assert response.status == 200
    body = await response.json()
    assert body["recorded"] is False and body["message"]["meta"] == {
        "agent_name": "Alice",
        "unconfirmed": True,
    }
    assert await received(ws) == [agent_frame("shown, not recorded")]
    assert [m["meta"] for m in messages(await console_frames(console))] == [body["message"]["meta"]]
    # with no socket the failure is today's: 502, nothing sent, nothing stored
    await ws.close()
    for _ in range(100):
        if not rig.client.server.app[SHOPPER_SOCKETS].of(session):
            break
        await asyncio.sleep(0.02)
    before = len(rig.client.server.app[STORE].messages(handoff_id))
    assert (await reply(rig, handoff_id, csrf, "not sent")).status == 502
    assert len(rig.client.server.app[STORE].messages(handoff_id)) == before


async def test_frames_to_one_browser_go_out_one_at_a_time_in_call_order() -> None:
    sent: list[str] = []
    writing = False

    async def slow_send(data: str) -> None:
        nonlocal writing
        assert not writing, "two frames written at once"
        writing = True
        await asyncio.sleep(0.01)
        sent.append(data)
        writing = False

    socket = BrowserSocket(slow_send, lambda: False)
    await asyncio.gather(*(socket.send(str(i)) for i in range(5)))
    assert sent == [str(i) for i in range(5)]


def test_the_registry_keeps_one_session_per_socket() -> None:
    sockets = ShopperSockets()
    one, two = BrowserSocket(_noop, lambda: False), BrowserSocket(_noop, lambda: True)
    sockets.bind(one, "a")
    sockets.bind(one, "a")
    sockets.bind(two, "a")
    assert sockets.of("a") == [one] and len(sockets) == 2  # a closed socket is never pushed to
    sockets.bind(one, "b")  # the socket's session changed
    assert sockets.of("a") == [] and sockets.of("b") == [one]
    sockets.drop(one)
    sockets.drop(two)
    sockets.drop(two)
    assert len(sockets) == 0 and sockets.of("b") == []


async def _noop(data: str) -> None:
    return None


FRAMES = [
    ("Hello, I'm looking into it", {"shopdesk_role": "agent", "agent_name": "Alice", "shopdesk_msg_id": "m"}),
    ('第二行\n\nsecond "part" <b>&amp;</b> 😀 \u2028', {"shopdesk_role": "agent", "agent_name": "Zoë"}),
    ("Alice has joined", {"shopdesk_role": "notice", "shopdesk_event": "joined", "agent_name": "Alice"}),
    ("waiting", {"shopdesk_role": "notice", "shopdesk_event": "queued"}),
    ("no name", {"shopdesk_role": "agent", "agent_name": ""}),
    ("a bot line", {"shopdesk_event": "left", "other": 1}),
]

CHANNEL_SCRIPT = """
import asyncio, json, os, sys
os.environ["WIDGET_SESSION_SECRET"] = "channel-test-secret-0123456789"
from rasa.shared.core.events import BotUttered
from socketio import packet
from bot.rasa_channel import ShopDeskSocketIOOutput

frames = []

class Sio:
    async def emit(self, event, data=None, room=None, **kwargs):
        frames.append("4" + packet.Packet(packet.EVENT, data=[event, data]).encode())

async def main():
    output = ShopDeskSocketIOOutput(Sio(), "bot_uttered")
    for text, metadata in json.loads(sys.argv[1]):
        before = len(frames)
        # what rasa.core.processor._send_bot_messages does with an appended bot event
        await output.send_response("session", BotUttered(text, metadata=metadata).message())
        assert len(frames) == before + 1, frames
    print(json.dumps(frames))

asyncio.run(main())
print("ok")
"""


def test_the_pushed_frame_is_the_one_rasas_channel_emits() -> None:
    if not RASA_PYTHON.exists():
        pytest.skip("Rasa's environment .venv/rasa is not installed (make setup)")
    done = subprocess.run(
        [str(RASA_PYTHON), "-c", CHANNEL_SCRIPT, json.dumps(FRAMES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    emitted = json.loads(done.stdout.splitlines()[-2])
    assert emitted == [bot_uttered_frame(text, metadata) for text, metadata in FRAMES]


def test_the_event_name_is_the_channels() -> None:
    """credentials.yml names the channel's bot event; the edge pushes under the same name."""
    credentials = (ROOT / "credentials.yml").read_text()
    socket_section = re.split(r"\n\S", credentials.split("bot.rasa_channel.ShopDeskSocketIOInput:")[1])[0]
    assert f"bot_message_evt: {BOT_EVENT}\n" in socket_section
    assert "namespace" not in socket_section  # the default namespace: the frame carries none
