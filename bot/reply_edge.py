"""The reply edge: an agent's reply reaches the shopper's widget from this service, not after Rasa (issue 15).

The widget's socket.io websocket passes through ``bot.proxy``; once Rasa's channel has confirmed a socket's
session (``bot.edge_feed.EdgeTap``) the proxy registers that browser socket here under the session id — the
Rasa sender id, i.e. the handoff's ``conversation_id``. When an agent replies (``bot.console.reply``):

- the service holds a socket of that conversation: the reply is pushed to every such socket (several tabs) as
  the very frame Rasa's channel would emit for it (``bot_uttered_frame``, byte for byte what
  ``ShopDeskSocketIOOutput.send_text_message`` sends through python-socketio), then appended to Rasa's tracker
  with ``execute_side_effects=false`` — recorded (tracker, broker, analytics) but not emitted a second time;
- it holds none (the widget talks to Rasa directly, ``RASA_PUBLIC_URL``; the shopper is offline; every push
  failed): today's path exactly — the append with ``execute_side_effects=true`` and Rasa's channel emits it.

Frames to one browser socket go out one at a time (``BrowserSocket.send``): a pushed reply and the frames the
proxy relays from Rasa never interleave. A socket leaves the registry when its proxy connection ends.
docs/handoff.md ("Edge feed", the reply direction).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.keys import RASA
from bot.speakers import speaker_fields

logger = logging.getLogger(__name__)

BOT_EVENT = "bot_uttered"  # credentials.yml's bot_message_evt (a test checks)

SendStr = Callable[[str], Awaitable[None]]


def bot_uttered_frame(text: str, metadata: dict[str, Any]) -> str:
    """The websocket frame Rasa's channel emits for a text bot event with ``metadata``: engine.io ``4``,
    socket.io EVENT ``2``, then ``["bot_uttered", {"text", "role", "agent_name", "event"}]`` as python-socketio
    encodes it (``json.dumps`` with compact separators; ``tests/bot/test_reply_edge.py`` compares the two)."""
    body: dict[str, Any] = {"text": text, **speaker_fields(metadata)}
    return "42" + json.dumps([BOT_EVENT, body], separators=(",", ":"))


class BrowserSocket:
    """One proxied browser websocket; ``send`` writes one frame at a time, in call order."""

    def __init__(self, send_str: SendStr, closed: Callable[[], bool]) -> None:
        self._send_str = send_str
        self._closed = closed
        self._lock = asyncio.Lock()

    @property
    def closed(self) -> bool:
        return self._closed()

    async def send(self, data: str) -> None:
        async with self._lock:
            await self._send_str(data)


class ShopperSockets:
    """session id -> the live proxied browser sockets of that conversation, on this service."""

    def __init__(self) -> None:
        self._by_session: dict[str, set[BrowserSocket]] = {}
        self._session_of: dict[BrowserSocket, str] = {}

    def bind(self, socket: BrowserSocket, session_id: str) -> None:
        """``socket`` belongs to ``session_id`` from now on (a socket has one session; a new one replaces it)."""
        if self._session_of.get(socket) == session_id:
            return
        self.drop(socket)
        self._session_of[socket] = session_id
        self._by_session.setdefault(session_id, set()).add(socket)

    def drop(self, socket: BrowserSocket) -> None:
        session_id = self._session_of.pop(socket, None)
        if session_id is None:
            return
        sockets = self._by_session.get(session_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._by_session[session_id]

    def of(self, session_id: str) -> list[BrowserSocket]:
        return [s for s in self._by_session.get(session_id, ()) if not s.closed]

    def __len__(self) -> int:
        return len(self._session_of)


SHOPPER_SOCKETS = web.AppKey("shopper_sockets", ShopperSockets)


async def push(sockets: ShopperSockets, session_id: str, frame: str) -> int:
    """Sends ``frame`` to every live socket of ``session_id``; how many took it (a failing one is dropped)."""
    delivered = 0
    for socket in sockets.of(session_id):
        try:
            await socket.send(frame)
        except (
            ConnectionError,
            RuntimeError,
        ) as error:  # closing under us: Rasa's path covers it if none took it
            logger.info("reply edge: a socket of a conversation was closing (%s)", type(error).__name__)
            sockets.drop(socket)
            continue
        delivered += 1
    return delivered


async def deliver(
    app: web.Application, conversation_id: str, events: list[dict[str, Any]], frame: str
) -> tuple[int, bool]:
    """Sends a bot event to the shopper and records it: (sockets pushed to, whether Rasa recorded it).

    Pushed to at least one socket: then appended without Rasa's emit; a failed append is logged and reported
    (``False``), not raised — the shopper has the line. Pushed to none: today's path, Rasa's channel emits it;
    a failed append raises ``RasaError`` (nothing was sent).
    """
    pushed = await push(app[SHOPPER_SOCKETS], conversation_id, frame)
    if not pushed:
        await app[RASA].append_events(conversation_id, events)
        return 0, True
    try:
        await app[RASA].append_events(conversation_id, events, emit=False)
    except Exception:
        logger.warning("reply edge: the shopper has the line but Rasa did not record it", exc_info=True)
        return pushed, False
    return pushed, True
