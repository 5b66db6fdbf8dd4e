"""ShopDesk's socket.io channel for the Rasa server (loaded from credentials.yml, runs in Rasa's Python 3.10).

It imports only Rasa and python-socketio. Differences from ``rasa.core.channels.socketio``:

- **Origin check**: a browser connection whose ``Origin`` is not in ``allowed_origins`` (patterns such as
  ``http://127.0.0.1:*``; plus ``WIDGET_ALLOWED_ORIGINS``, comma-separated) is refused at connect.
- **Lost replies fixed**: ``enter_room`` is awaited when python-socketio (>= 5.10) makes it a coroutine,
  so bot replies reach the room with ``session_persistence`` on any version.
- **Custom payloads**: ``send_custom_json`` emits ``{"custom": …}`` to the room (Rasa's own channel passes the
  payload as keyword arguments to ``emit``, which breaks for our product-card payload).
- **Who is speaking**: bot events appended by the agent console carry ``metadata.shopdesk_role``
  (``agent`` / ``notice``) and ``agent_name``; they reach the widget as ``role`` / ``agent_name``.
- **Limits**: malformed frames are dropped, messages over ``max_message_chars`` and more than
  ``rate_limit`` messages per ``rate_window_s`` per session are refused with a notice to that socket, and
  frames are capped at ``max_frame_bytes``.
"""

from __future__ import annotations

import fnmatch
import inspect
import json
import logging
import os
import re
import time
import uuid
from collections import deque
from typing import Any, Awaitable, Callable, Iterable  # noqa: UP035

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

logger = logging.getLogger(__name__)

SPEAKER_EVENTS = ("queued", "joined", "left")  # the widget's banner: waiting / a person / the bot again
SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
DEFAULT_ORIGINS = ("http://127.0.0.1:*", "http://localhost:*")
TOO_LONG = "That message is too long ({size} characters; the limit is {limit}). Please shorten it."
TOO_FAST = "You are sending messages very quickly. Please wait a moment before sending more."


def origin_allowed(origin: str | None, patterns: Iterable[str]) -> bool:
    """No Origin header (a non-browser client) is allowed; a browser Origin must match a pattern."""
    if not origin:
        return True
    origin = origin.rstrip("/")
    return any(fnmatch.fnmatchcase(origin, pattern.rstrip("/")) for pattern in patterns)


class ShopDeskSocketIOOutput(SocketIOOutput):
    @staticmethod
    def _speaker(kwargs: dict[str, Any]) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if kwargs.get("shopdesk_role") in ("agent", "notice"):
            extra["role"] = kwargs["shopdesk_role"]
            if kwargs.get("agent_name"):
                extra["agent_name"] = str(kwargs["agent_name"])
        if kwargs.get("shopdesk_event") in SPEAKER_EVENTS:
            extra["event"] = kwargs["shopdesk_event"]
        return extra

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send_message(recipient_id, {"text": text, **self._speaker(kwargs)})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        replies = [
            {"content_type": "text", "title": b.get("title", ""), "payload": b.get("payload", "")}
            for b in buttons
        ]
        await self._send_message(
            recipient_id, {"text": text, "quick_replies": replies, **self._speaker(kwargs)}
        )

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies, **kwargs)

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        await self._send_message(recipient_id, {"custom": json_message})


class ShopDeskSocketIOInput(SocketIOInput):
    """Rasa's socket.io input with the checks above; registered under the name ``socketio``."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> "ShopDeskSocketIOInput":  # noqa: UP037
        credentials = credentials or {}
        origins = list(credentials.get("allowed_origins") or DEFAULT_ORIGINS)
        origins += [o.strip() for o in os.environ.get("WIDGET_ALLOWED_ORIGINS", "").split(",") if o.strip()]
        channel = cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            credentials.get("namespace"),
            credentials.get("session_persistence", True),
            credentials.get("socketio_path", "/socket.io"),
            credentials.get("jwt_key"),
            credentials.get("jwt_method", "HS256"),
            credentials.get("metadata_key", "metadata"),
        )
        channel.allowed_origins = tuple(origins)
        channel.max_message_chars = int(credentials.get("max_message_chars", 2000))
        channel.max_frame_bytes = int(credentials.get("max_frame_bytes", 64 * 1024))
        channel.rate_limit = int(credentials.get("rate_limit", 10))
        channel.rate_window_s = float(credentials.get("rate_window_s", 10.0))
        return channel

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allowed_origins: tuple = DEFAULT_ORIGINS
        self.max_message_chars = 2000
        self.max_frame_bytes = 64 * 1024
        self.rate_limit = 10
        self.rate_window_s = 10.0
        self._hits: dict[str, deque[float]] = {}

    def get_output_channel(self) -> SocketIOOutput | None:
        if self.sio is None:
            return None
        return ShopDeskSocketIOOutput(self.sio, self.bot_message_evt)

    def _allow_rate(self, session_id: str) -> bool:
        now = time.monotonic()
        hits = self._hits.setdefault(session_id, deque())
        while hits and hits[0] <= now - self.rate_window_s:
            hits.popleft()
        if len(hits) >= self.rate_limit:
            return False
        hits.append(now)
        if len(self._hits) > 10000:
            for key in [k for k, v in self._hits.items() if not v]:
                del self._hits[key]
        return True

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = AsyncServer(
            async_mode="sanic", cors_allowed_origins=[], max_http_buffer_size=self.max_frame_bytes
        )
        socketio_webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        namespace = self.namespace

        async def notice(sid: str, text: str) -> None:
            await sio.emit(
                self.bot_message_evt, {"text": text, "role": "notice"}, room=sid, namespace=namespace
            )

        @socketio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: dict, auth: dict | None = None) -> bool:
            origin = environ.get("HTTP_ORIGIN")
            if not origin_allowed(origin, self.allowed_origins):
                logger.warning("socket.io connection refused for Origin %r", origin)
                return False
            return True

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any) -> None:
            if not isinstance(data, dict):
                data = {}
            session_id = data.get("session_id")
            if not isinstance(session_id, str) or not SESSION_RE.match(session_id):
                session_id = uuid.uuid4().hex
            if self.session_persistence:
                entered = sio.enter_room(sid, session_id, namespace=namespace)
                if inspect.isawaitable(entered):  # python-socketio >= 5.10: the lost-replies fix
                    await entered
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any) -> None:
            if not isinstance(data, dict) or not isinstance(data.get("message", ""), str):
                logger.info("dropping a malformed frame from %s", sid)
                return
            if self.session_persistence:
                sender_id = data.get("session_id")
                if not isinstance(sender_id, str) or not SESSION_RE.match(sender_id):
                    logger.info("dropping a message without a valid session_id from %s", sid)
                    return
            else:
                sender_id = sid
            text = data.get("message", "")
            if len(text) > self.max_message_chars:
                await notice(sid, TOO_LONG.format(size=len(text), limit=self.max_message_chars))
                return
            if not self._allow_rate(sender_id):
                await notice(sid, TOO_FAST)
                return
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            if not isinstance(metadata, dict):
                metadata = {}
            output = ShopDeskSocketIOOutput(sio, self.bot_message_evt)
            message = UserMessage(text, output, sender_id, input_channel=self.name(), metadata=metadata)
            await on_new_message(message)

        return socketio_webhook
