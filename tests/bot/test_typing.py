"""Typing indicators both ways (bot.typing_indicator, bot.typing_widget): who is told, what travels, and every
refusal — forged or absent session ids, foreign Origins, non-JSON and oversized frames, floods, no handoff,
someone else's conversation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType
from aiohttp.client_ws import ClientWebSocketResponse
from aiohttp.test_utils import TestClient, TestServer

from bot import typing_widget
from bot.keys import SETTINGS
from bot.messages import WIDGET
from bot.typing_frames import (
    AGENT_FRAMES,
    CLOSE_BAD_HELLO,
    CLOSE_FORGED,
    CLOSE_TOO_MANY,
    MAX_SOCKETS_PER_SESSION,
    MAX_WIDGET_FRAME,
    WIDGET_FRAMES,
    first_name,
)
from bot.widget_session import new_session_id
from tests.bot.conftest import claimed, console_socket, queue_handoff

WS = ClientWebSocketResponse
ROOT = Path(__file__).resolve().parents[2]


def origin(server: TestServer) -> dict[str, str]:
    return {"Origin": server.app[SETTINGS].base_url}


def session(server: TestServer) -> str:
    return new_session_id(server.app[SETTINGS].widget_session_secret)


async def widget(client: TestClient, server: TestServer, session_id: str) -> WS:
    socket = await client.ws_connect("/widget/ws", headers=origin(server))
    await socket.send_json({"type": "hello", "session_id": session_id})
    assert await socket.receive_json(timeout=5) == {"type": "ready"}
    return socket


async def until_pong(socket: WS) -> list[dict[str, Any]]:
    """Every frame before the answer to a ping (frames published earlier arrive before it)."""
    await socket.send_str("ping")
    frames = []
    while (frame := await socket.receive_json(timeout=5))["type"] != "pong":
        frames.append(frame)
    return frames


async def typing_frames(socket: WS) -> list[dict[str, Any]]:
    return [f for f in await until_pong(socket) if f["type"] in ("typing", "error")]


async def closed(socket: WS) -> tuple[int | None, list[dict[str, Any]]]:
    """The close code and the frames before it."""
    frames = []
    while True:
        message = await socket.receive(timeout=5)
        if message.type == WSMsgType.TEXT:
            frames.append(json.loads(message.data))
        elif message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
            return socket.close_code, frames
        elif message.type == WSMsgType.ERROR:
            return socket.close_code, frames


@pytest.fixture
async def active(server: TestServer, anon: TestClient, alice: tuple[TestClient, str]) -> tuple[str, str]:
    """(session id, handoff id) of a conversation Alice owns."""
    session_id = session(server)
    return session_id, await claimed(anon, alice, session_id)


@pytest.fixture
async def sockets(
    server: TestServer, anon: TestClient, alice: tuple[TestClient, str], active: tuple[str, str]
) -> tuple[WS, WS, str]:
    """Alice's console socket, then the widget socket of her ``active`` conversation, and its handoff id."""
    session_id, hid = active
    return await console_socket(alice[0]), await widget(anon, server, session_id), hid


# --- shopper → agents --------------------------------------------------------------------------------


async def test_a_queued_shoppers_typing_reaches_every_console_and_only_the_flag_travels(
    server: TestServer, anon: TestClient, alice: tuple[TestClient, str], bob: tuple[TestClient, str]
) -> None:
    session_id = session(server)
    hid = (await queue_handoff(anon, session_id))["handoff_id"]
    a, b = await console_socket(alice[0]), await console_socket(bob[0])
    shopper = await widget(anon, server, session_id)
    await shopper.send_json(
        {"type": "typing", "typing": True, "text": "my secret draft", "handoff_id": "H-x"}
    )
    assert await until_pong(shopper) == []  # no answer to the shopper
    expected = {"type": "typing", "handoff_id": hid, "typing": True}
    assert await typing_frames(a) == [expected]
    assert await typing_frames(b) == [expected]
    await shopper.send_json({"type": "typing", "typing": False})
    await until_pong(shopper)
    assert await typing_frames(a) == [{**expected, "typing": False}]


async def test_an_active_conversations_typing_reaches_only_its_agent(
    server: TestServer,
    anon: TestClient,
    alice: tuple[TestClient, str],
    bob: tuple[TestClient, str],
    active: tuple[str, str],
) -> None:
    session_id, hid = active
    a, b = await console_socket(alice[0]), await console_socket(bob[0])
    shopper = await widget(anon, server, session_id)
    await shopper.send_json({"type": "typing", "typing": True})
    await until_pong(shopper)
    assert await typing_frames(a) == [{"type": "typing", "handoff_id": hid, "typing": True}]
    assert await typing_frames(b) == []


async def test_typing_outside_a_handoff_is_dropped_silently(
    server: TestServer, anon: TestClient, alice: tuple[TestClient, str]
) -> None:
    a = await console_socket(alice[0])
    shopper = await widget(anon, server, session(server))  # a conversation nobody handed over
    await shopper.send_json({"type": "typing", "typing": True})
    assert await until_pong(shopper) == []
    assert await typing_frames(a) == []


async def test_a_closed_tab_tells_the_agent_the_shopper_stopped(sockets: tuple[WS, WS, str]) -> None:
    a, shopper, hid = sockets
    await shopper.send_json({"type": "typing", "typing": True})
    await until_pong(shopper)
    assert await typing_frames(a) == [{"type": "typing", "handoff_id": hid, "typing": True}]
    await shopper.close()
    while (frame := await a.receive_json(timeout=5))["type"] != "typing":
        pass
    assert frame == {"type": "typing", "handoff_id": hid, "typing": False}


# --- agent → shopper ---------------------------------------------------------------------------------


async def test_the_agents_typing_reaches_that_conversations_widgets_with_the_first_name_only(
    server: TestServer, anon: TestClient, alice: tuple[TestClient, str], active: tuple[str, str]
) -> None:
    session_id, hid = active
    other_id = session(server)
    await queue_handoff(anon, other_id)
    tabs = [await widget(anon, server, session_id), await widget(anon, server, session_id)]
    other = await widget(anon, server, other_id)
    a = await console_socket(alice[0])
    await a.send_json({"type": "typing", "handoff_id": hid, "typing": True, "text": "draft: refund approved"})
    assert await typing_frames(a) == []  # accepted: no error frame
    for tab in tabs:
        assert await typing_frames(tab) == [{"type": "typing", "typing": True, "name": "Alice"}]
    assert await typing_frames(other) == []
    await a.send_json({"type": "typing", "handoff_id": hid, "typing": False})
    await until_pong(a)
    assert await typing_frames(tabs[0]) == [{"type": "typing", "typing": False, "name": "Alice"}]


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        ({"handoff_id": "H-nope", "typing": True}, "typing not sent: unknown conversation 'H-nope'"),
        ({"typing": True}, "handoff_id must be a handoff id like H-…, not null"),
        ({"handoff_id": "x" * 65, "typing": True}, "handoff_id must be a handoff id like H-…"),
        ({"handoff_id": "H-1", "typing": "yes"}, 'typing must be true or false, not "yes"'),
        ({"handoff_id": "H-1", "typing": 1}, "typing must be true or false, not 1"),
    ],
)
async def test_a_malformed_agent_frame_is_refused_with_the_reason(
    server: TestServer, alice: tuple[TestClient, str], frame: dict[str, Any], error: str
) -> None:
    a = await console_socket(alice[0])
    await a.send_json({"type": "typing", **frame})
    [refused] = await typing_frames(a)
    assert refused["type"] == "error" and refused["error"].startswith(error), refused


async def test_typing_into_someone_elses_or_a_queued_conversation_is_refused(
    server: TestServer,
    anon: TestClient,
    alice: tuple[TestClient, str],
    bob: tuple[TestClient, str],
    active: tuple[str, str],
) -> None:
    session_id, hid = active
    shopper = await widget(anon, server, session_id)
    b = await console_socket(bob[0])
    await b.send_json({"type": "typing", "handoff_id": hid, "typing": True})
    assert await typing_frames(b) == [
        {
            "type": "error",
            "error": f"typing not sent: conversation '{hid}' is claimed by another agent;"
            " this needs one of claimed by you",
        }
    ]
    queued_id = (await queue_handoff(anon, session(server)))["handoff_id"]
    await b.send_json({"type": "typing", "handoff_id": queued_id, "typing": True})
    [refused] = await typing_frames(b)
    assert f"'{queued_id}' is queued" in refused["error"]
    assert await typing_frames(shopper) == []  # nothing reached the shopper


async def test_an_agent_flooding_typing_frames_is_refused(
    server: TestServer, alice: tuple[TestClient, str], active: tuple[str, str]
) -> None:
    _, hid = active
    a = await console_socket(alice[0])
    limit, window_s = AGENT_FRAMES
    for _ in range(limit + 1):
        await a.send_json({"type": "typing", "handoff_id": hid, "typing": True})
    frames = await typing_frames(a)
    assert frames == [
        {"type": "error", "error": f"too many typing frames (at most {limit} per {window_s:g} s)"}
    ]


# --- the widget socket's refusals -------------------------------------------------------------------


@pytest.mark.parametrize("sent_origin", ["http://evil.test", None])
async def test_a_foreign_or_absent_origin_is_refused(
    server: TestServer, anon: TestClient, sent_origin: str | None
) -> None:
    headers = {"Origin": sent_origin} if sent_origin else {}
    response = await anon.get(
        "/widget/ws",
        headers={
            **headers,
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert response.status == 403
    assert await response.json() == {"error": "foreign Origin"}


@pytest.mark.parametrize(
    ("hello", "code", "error"),
    [
        ({"type": "hello", "session_id": "0" * 64}, CLOSE_FORGED, "unknown session; ask for a new one"),
        ({"type": "hello"}, CLOSE_BAD_HELLO, 'the first frame must be {"type": "hello", "session_id": ...}'),
        ({"type": "hello", "session_id": "shopper-1"}, CLOSE_BAD_HELLO, "the first frame must be"),
        ({"type": "typing", "typing": True}, CLOSE_BAD_HELLO, "the first frame must be"),
        ("hello!", CLOSE_BAD_HELLO, "not JSON: 'hello!'"),
    ],
)
async def test_a_forged_absent_or_malformed_session_is_refused(
    server: TestServer, anon: TestClient, alice: tuple[TestClient, str], hello: Any, code: int, error: str
) -> None:
    a = await console_socket(alice[0])
    socket = await anon.ws_connect("/widget/ws", headers=origin(server))
    await (socket.send_str(hello) if isinstance(hello, str) else socket.send_json(hello))
    close_code, frames = await closed(socket)
    assert close_code == code
    assert frames[0]["type"] == "error" and frames[0]["error"].startswith(error), frames
    assert len(server.app[typing_widget.WIDGET_SOCKETS]) == 0
    assert await typing_frames(a) == []


async def test_no_hello_in_time_closes_the_socket(
    server: TestServer, anon: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(typing_widget, "HELLO_TIMEOUT_S", 0.05)
    socket = await anon.ws_connect("/widget/ws", headers=origin(server))
    close_code, frames = await closed(socket)
    assert close_code == CLOSE_BAD_HELLO
    assert frames == [{"type": "error", "error": "no hello within 0.05 s"}]


async def test_non_json_and_unknown_frames_are_answered_and_the_socket_stays(
    sockets: tuple[WS, WS, str],
) -> None:
    a, shopper, _ = sockets
    await shopper.send_str("{typing")
    await shopper.send_json({"type": "draft", "text": "hello"})
    await shopper.send_json({"type": "typing", "typing": "maybe"})
    await shopper.send_bytes(b"\x00\x01")
    assert await until_pong(shopper) == [
        {"type": "error", "error": "not JSON: '{typing'"},
        {"type": "error", "error": "unknown frame type 'draft'"},
        {"type": "error", "error": 'typing must be true or false, not "maybe"'},
        {"type": "error", "error": "text frames only"},
    ]
    assert await typing_frames(a) == []


async def test_an_oversized_frame_closes_the_socket(server: TestServer, sockets: tuple[WS, WS, str]) -> None:
    a, shopper, _ = sockets
    await shopper.send_json({"type": "typing", "typing": True, "text": "x" * MAX_WIDGET_FRAME})
    close_code, frames = await closed(shopper)
    assert close_code == 1009  # message too big
    assert frames == []
    assert await typing_frames(a) == []  # never forwarded
    assert len(server.app[typing_widget.WIDGET_SOCKETS]) == 0


async def test_a_flooding_widget_is_closed(sockets: tuple[WS, WS, str]) -> None:
    a, shopper, hid = sockets
    limit, window_s = WIDGET_FRAMES
    for i in range(limit + 5):
        await shopper.send_json({"type": "typing", "typing": i % 2 == 0})
    close_code, frames = await closed(shopper)
    assert close_code == 1008
    assert frames[-1] == {"type": "error", "error": f"too many frames (at most {limit} per {window_s:g} s)"}
    received = await typing_frames(a)
    assert len(received) == limit  # the frames within the budget, then nothing
    assert received[-1] == {"type": "typing", "handoff_id": hid, "typing": False}


async def test_too_many_sockets_for_one_conversation_are_refused(
    server: TestServer, anon: TestClient, active: tuple[str, str]
) -> None:
    session_id, _ = active
    tabs = [await widget(anon, server, session_id) for _ in range(MAX_SOCKETS_PER_SESSION)]
    extra = await anon.ws_connect("/widget/ws", headers=origin(server))
    await extra.send_json({"type": "hello", "session_id": session_id})
    close_code, frames = await closed(extra)
    assert close_code == CLOSE_TOO_MANY
    assert frames == [
        {"type": "error", "error": f"too many chat windows open (at most {MAX_SOCKETS_PER_SESSION})"}
    ]
    await tabs[0].close()
    await widget(anon, server, session_id)  # a closed tab frees its place


def test_first_name() -> None:
    assert first_name("Alex (demo agent)") == "Alex"
    assert first_name("  ") == "An agent"
    assert first_name(None) == "An agent"


async def test_the_shop_page_loads_the_typing_script_before_the_widget(anon: TestClient) -> None:
    html = await (await anon.get("/")).text()
    assert html.index("/static/widget_typing.js") < html.index("/static/widget.js")
    assert (await anon.get("/static/widget_typing.js")).status == 200
    console_page = (ROOT / "bot" / "templates" / "console.html").read_text(encoding="utf-8")
    assert '<script src="/static/console_typing.js"></script>' in console_page


def test_every_string_the_widget_typing_uses_is_in_both_languages() -> None:
    source = (ROOT / "bot" / "static" / "widget_typing.js").read_text(encoding="utf-8")
    used = set(re.findall(r"""\bw\.t\("(\w+)"[,)]""", source))
    assert used == {"agent_typing", "agent"}
    assert used <= WIDGET["en"].keys() and used <= WIDGET["zh"].keys()
    assert WIDGET["en"]["agent_typing"].format(name="Alex") == "Alex is typing…"
    assert WIDGET["zh"]["agent_typing"].format(name="Alex") == "Alex正在输入…"
    assert "is typing" not in source  # no shopper-facing English literal in the script
