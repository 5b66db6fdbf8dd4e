"""The widget's own websocket ``/widget/ws``: the shopper's typing up to the agents, the agent's typing down.

Same origin as the shop page, Origin checked like the console's (403 for a foreign one). The socket belongs to
one conversation: its first frame must be ``{"type": "hello", "session_id": ...}`` with an id our servers signed
(``bot.widget_session``; the Rasa sender id of the conversation), sent within ``HELLO_TIMEOUT_S`` — a malformed
or missing hello closes it with 4400, a forged id with 4403. Frames are capped (``MAX_WIDGET_FRAME``: aiohttp
closes with 1009 above it), each socket may send ``WIDGET_FRAMES`` frames per window (the next one closes it with
1008) and a conversation may hold ``MAX_SOCKETS_PER_SESSION`` sockets (the next one is closed with 4429).

Only an open handoff has someone to tell: while it is queued, the shopper's typing goes to every console (the
queue list shows it); while it is active, to the owning agent's consoles; otherwise it is dropped without an
answer. When a socket that last said "typing" closes (a closed tab), the agents are told it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from bot.console_frames import FrameError
from bot.hub import Socket
from bot.keys import HUB, SETTINGS, STORE
from bot.ratelimit import RateLimiter
from bot.typing_frames import (
    CLOSE_BAD_HELLO,
    CLOSE_FORGED,
    CLOSE_TOO_MANY,
    HELLO_TIMEOUT_S,
    MAX_SOCKETS_PER_SESSION,
    MAX_WIDGET_FRAME,
    WIDGET_FRAMES,
    parse_json_object,
    to_console,
    typing_flag,
)
from bot.widget_session import SESSION_ID_RE, valid_session_id

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()


class WidgetSockets:
    """The open widget sockets of each conversation (session id), at most ``limit`` per conversation."""

    def __init__(self, limit: int = MAX_SOCKETS_PER_SESSION) -> None:
        self.limit = limit
        self._sessions: dict[str, set[Socket]] = {}

    def __len__(self) -> int:
        return sum(len(sockets) for sockets in self._sessions.values())

    def add(self, session_id: str, socket: Socket) -> bool:
        """False (and not added) when the conversation holds ``limit`` open sockets already."""
        sockets = self._sessions.setdefault(session_id, set())
        sockets -= {s for s in sockets if s.closed}
        if len(sockets) >= self.limit:
            return False
        sockets.add(socket)
        return True

    def remove(self, session_id: str, socket: Socket) -> None:
        sockets = self._sessions.get(session_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._sessions[session_id]

    async def send(self, session_id: str, event: Any) -> int:
        """Sends ``event`` (JSON) to the conversation's widget sockets; how many it reached."""
        sent, data = 0, json.dumps(event)
        for socket in list(self._sessions.get(session_id, ())):
            if socket.closed:
                self.remove(session_id, socket)
                continue
            try:
                await socket.send_str(data)
                sent += 1
            except (ConnectionError, RuntimeError) as error:
                logger.debug("dropping a widget socket: %s", error)
                self.remove(session_id, socket)
        return sent

    async def close_all(self) -> None:
        for sockets in list(self._sessions.values()):
            for socket in list(sockets):
                close = getattr(socket, "close", None)
                if close is not None:
                    with contextlib.suppress(Exception):
                        await close(code=WSCloseCode.GOING_AWAY)
        self._sessions.clear()


WIDGET_SOCKETS = web.AppKey("widget_sockets", WidgetSockets)


async def publish_shopper_typing(app: web.Application, session_id: str, typing: bool) -> str | None:
    """Tells the agents of the conversation's open handoff; its id, or None when there is none (dropped)."""
    handoff = app[STORE].open_handoff_for(session_id)
    if handoff is None:
        return None
    frame = to_console(handoff["id"], typing)
    if handoff["status"] == "active" and handoff["agent_email"]:
        await app[HUB].publish(dict(frame), to={handoff["agent_email"]})
    else:  # queued: every console (the queue list shows who is typing)
        await app[HUB].publish(dict(frame))
    return handoff["id"]


async def _refuse(socket: web.WebSocketResponse, code: int, error: str) -> None:
    with contextlib.suppress(ConnectionError, RuntimeError):
        await socket.send_json({"type": "error", "error": error})
    await socket.close(code=code, message=error[:120].encode())


async def _hello(socket: web.WebSocketResponse, secret: str) -> str | None:
    """The session id of a valid hello; None after closing the socket with the reason."""
    try:
        message = await socket.receive(timeout=HELLO_TIMEOUT_S)
    except asyncio.TimeoutError:
        await _refuse(socket, CLOSE_BAD_HELLO, f"no hello within {HELLO_TIMEOUT_S:g} s")
        return None
    if message.type != WSMsgType.TEXT:  # closed, too big (aiohttp closed it with 1009), binary
        if not socket.closed:
            await _refuse(socket, CLOSE_BAD_HELLO, 'the first frame must be {"type": "hello", ...}')
        return None
    try:
        frame = parse_json_object(message.data)
    except FrameError as error:
        await _refuse(socket, CLOSE_BAD_HELLO, str(error))
        return None
    session_id = frame.get("session_id")
    if frame["type"] != "hello" or not isinstance(session_id, str) or not SESSION_ID_RE.fullmatch(session_id):
        await _refuse(socket, CLOSE_BAD_HELLO, 'the first frame must be {"type": "hello", "session_id": ...}')
        return None
    if not valid_session_id(secret, session_id):
        await _refuse(socket, CLOSE_FORGED, "unknown session; ask for a new one")
        return None
    return session_id


@routes.get("/widget/ws")
async def widget_socket(request: web.Request) -> web.StreamResponse:
    origin = request.headers.get("Origin")
    if origin is None or origin.rstrip("/") not in request.app[SETTINGS].origins:
        logger.warning("widget websocket refused for Origin %r", origin)
        raise web.HTTPForbidden(text='{"error": "foreign Origin"}', content_type="application/json")
    socket = web.WebSocketResponse(heartbeat=30.0, max_msg_size=MAX_WIDGET_FRAME)
    await socket.prepare(request)
    session_id = await _hello(socket, request.app[SETTINGS].widget_session_secret)
    if session_id is None:
        return socket
    registry = request.app[WIDGET_SOCKETS]
    if not registry.add(session_id, socket):
        await _refuse(socket, CLOSE_TOO_MANY, f"too many chat windows open (at most {registry.limit})")
        return socket
    await socket.send_json({"type": "ready"})
    limit, window_s = WIDGET_FRAMES
    frames = RateLimiter(limit, window_s, max_keys=1)
    typing_now = False
    try:
        async for message in socket:
            if message.type == WSMsgType.ERROR:
                break
            if not frames.allow("frames"):
                logger.info("a widget socket sent too many frames; closed")
                await _refuse(
                    socket,
                    WSCloseCode.POLICY_VIOLATION,
                    f"too many frames (at most {limit} per {window_s:g} s)",
                )
                break
            if message.type != WSMsgType.TEXT:
                await socket.send_json({"type": "error", "error": "text frames only"})
                continue
            if message.data == "ping":
                await socket.send_str('{"type": "pong"}')
                continue
            try:
                frame = parse_json_object(message.data)
                if frame["type"] != "typing":
                    raise FrameError(f"unknown frame type {frame['type'][:40]!r}")
                typing = typing_flag(frame)
            except FrameError as error:
                await socket.send_json({"type": "error", "error": str(error)})
                continue
            typing_now = typing
            await publish_shopper_typing(request.app, session_id, typing)
    finally:
        registry.remove(session_id, socket)
        if typing_now:  # a closed tab leaves no "typing…" behind
            try:
                await publish_shopper_typing(request.app, session_id, False)
            except Exception:  # shutting down: the store may be gone; the consoles' indicators expire anyway
                logger.debug("could not tell the agents that the shopper stopped typing", exc_info=True)
    return socket
