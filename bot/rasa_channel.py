"""ShopDesk's socket.io channel for the Rasa server (loaded from credentials.yml, runs in Rasa's Python 3.10).

It imports only Rasa, Sanic, python-socketio, the standard library, five standard-library-only modules of
this package (``bot.ratelimit``, ``bot.widget_session``, ``bot.language``, ``bot.messages``, ``bot.speakers``) and
``rasa_addons.payloads``. Differences from ``rasa.core.channels.socketio``:

- **Origin check**: a browser connection whose ``Origin`` is not in ``allowed_origins`` (patterns such as
  ``http://127.0.0.1:*``; plus ``WIDGET_ALLOWED_ORIGINS``, comma-separated) is refused at connect.
- **Lost replies fixed**: ``enter_room`` is awaited when python-socketio (>= 5.10) makes it a coroutine,
  so bot replies reach the room with ``session_persistence`` on any version.
- **Custom payloads**: ``send_custom_json`` emits ``{"custom": …}`` to the room (Rasa's own channel passes the
  payload as keyword arguments to ``emit``, which breaks for our product-card payload).
- **Who is speaking**: bot events appended by the agent console carry ``metadata.shopdesk_role``
  (``agent`` / ``notice``) and ``agent_name``; they reach the widget as ``role`` / ``agent_name``.
- **Limits**: malformed frames are dropped, messages over ``max_message_chars`` and more than
  ``rate_limit`` messages per ``rate_window_s`` per session (and ``client_rate_limit`` per client address)
  are refused with a notice to that socket, and frames are capped at ``max_frame_bytes``. The limiters keep
  bounded memory (``bot.ratelimit``).
- **Server-issued sessions** (``bot.widget_session``): ``session_request`` accepts only a session id signed
  with ``WIDGET_SESSION_SECRET`` and answers anything else with a fresh signed one; a socket may only write to
  the session it was confirmed for (a ``session_id`` in a message frame is ignored).
- **Who the client is**: every UserMessage carries ``metadata.shopdesk_client``, set here from the remote
  address (or the address the bot service's proxy vouches for with a signed ``X-ShopDesk-Client`` header);
  a client-sent value and any other ``shopdesk_*`` key are dropped; metadata is a small object of scalars.
  The one exception, ``shopdesk_relay`` (the console's edge feed, ``bot.edge_feed``): kept only when it is a
  relay id signed with ``WIDGET_SESSION_SECRET`` for this socket's session and this very message text (the bot
  service's proxy stamps it), so a shopper can neither forge one nor move one onto another line.
- **Command payloads**: ``/restart``, ``/session_start`` and any other payload shoppers may not send
  (``rasa_addons.payloads.command_problem``) are refused with a notice and never reach the dialogue, so a
  shopper cannot un-pause a conversation an agent holds.
- **The conversation's language**: the notices above are in the conversation's language (``bot.language``
  on the tracker in Rasa's tracker store, else the page language the frame's ``metadata.page_language``
  names), from ``bot.messages``; after the dialogue has handled a message the channel emits
  ``shopdesk_language`` ``{"language": "en" | "zh"}`` to the conversation's room, so the widget's own
  strings follow the conversation.
"""

from __future__ import annotations

import fnmatch
import inspect
import json
import logging
import os
from typing import Any, Awaitable, Callable, Iterable  # noqa: UP035

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.language import PAGE_LANGUAGE_KEY, Language, language_newest_first, normalize_language
from bot.messages import text as shopper_text
from bot.ratelimit import MessageBudgets
from bot.speakers import speaker_fields
from bot.widget_session import (
    RELAY_KEY,
    client_id,
    new_session_id,
    secret_from_env,
    valid_relay_id,
    valid_session_id,
    verified_client,
)
from rasa_addons.checks import valid_unicode
from rasa_addons.payloads import SHOPPER_ENTITIES, SHOPPER_INTENTS, command_problem

logger = logging.getLogger(__name__)

MAX_METADATA_KEYS = 16
MAX_METADATA_VALUE_CHARS = 200
DEFAULT_ORIGINS = ("http://127.0.0.1:*", "http://localhost:*")
LANGUAGE_EVENT = "shopdesk_language"
MANAGER_ENV = (
    "SOCKETIO_MANAGER_URL"  # redis://[:password@]host:port/db — set when more than one Rasa instance runs
)
MANAGER_CHANNEL = "shopdesk-socketio"


def socketio_manager(url: str) -> Any:
    """python-socketio's Redis client manager on ``url`` (rooms across Rasa instances), None for one instance.

    Its messages are pickled: the Redis behind it must be as private as the lock store's (docs/deploy.md)."""
    if not url:
        return None
    if not url.startswith(("redis://", "rediss://")):
        raise ValueError(f"{MANAGER_ENV}={url.split('@')[-1]!r} is not valid: expected redis://host:port/db")
    from socketio import AsyncRedisManager

    return AsyncRedisManager(url, channel=MANAGER_CHANNEL)


def clean_metadata(raw: Any, client: str) -> dict[str, Any]:
    """Client metadata as a small object of scalars, without ``shopdesk_*`` keys, plus ``shopdesk_client``."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = {}
    metadata: dict[str, Any] = {}
    if isinstance(raw, dict):
        for key, value in list(raw.items())[:MAX_METADATA_KEYS]:
            if not isinstance(key, str) or len(key) > 64 or key.startswith("shopdesk_"):
                continue
            if isinstance(value, str):
                metadata[key] = value[:MAX_METADATA_VALUE_CHARS]
            elif value is None or isinstance(value, (bool, int, float)):
                metadata[key] = value
    metadata["shopdesk_client"] = client
    return metadata


def origin_allowed(origin: str | None, patterns: Iterable[str]) -> bool:
    """No Origin header (a non-browser client) is allowed; a browser Origin must match a pattern."""
    if not origin:
        return True
    origin = origin.rstrip("/")
    return any(fnmatch.fnmatchcase(origin, pattern.rstrip("/")) for pattern in patterns)


class ShopDeskSocketIOOutput(SocketIOOutput):
    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send_message(recipient_id, {"text": text, **speaker_fields(kwargs)})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        replies = [
            {"content_type": "text", "title": b.get("title", ""), "payload": b.get("payload", "")}
            for b in buttons
        ]
        await self._send_message(
            recipient_id, {"text": text, "quick_replies": replies, **speaker_fields(kwargs)}
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
        channel.client_rate_limit = int(credentials.get("client_rate_limit", 3 * channel.rate_limit))
        channel.secret = secret_from_env()  # refuses the dev secret in production: Rasa does not start
        return channel

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allowed_origins: tuple = DEFAULT_ORIGINS
        self.max_message_chars = 2000
        self.max_frame_bytes = 64 * 1024
        self.rate_limit = 10
        self.rate_window_s = 10.0
        self.client_rate_limit = 30
        self.secret = secret_from_env()
        # several Rasa instances (issue 15, docs/deploy.md): rooms shared through Redis, so a reply emitted by
        # the instance that took an API call (an agent's message) reaches the socket another instance holds
        self.manager_url = os.environ.get(MANAGER_ENV, "").strip()
        self._budgets: MessageBudgets | None = None
        self._sessions: dict[str, str] = {}  # socket id -> the session it was confirmed for
        self._clients: dict[str, str] = {}  # socket id -> shopdesk_client
        self._app: Any = None  # the Sanic app (its ctx.agent holds the tracker store), seen at connect
        self._languages: dict[str, Language] = {}  # socket id -> its conversation's language, as last read

    async def conversation_language(self, session_id: str, current_page: Language | None) -> Language:
        """``bot.language`` on the session's tracker; the page language when there is none (or no store)."""
        agent = getattr(getattr(self._app, "ctx", None), "agent", None)
        store = getattr(agent, "tracker_store", None)
        tracker = None
        if store is not None:
            try:
                tracker = await store.retrieve(session_id)
            except Exception:  # a tracker store outage must not stop the notice / the conversation
                logger.warning("could not read the tracker for the conversation's language", exc_info=True)
        events = (event.as_dict() for event in reversed(tracker.events)) if tracker is not None else ()
        return language_newest_first(events, current_page)

    async def _socket_language(
        self, sid: str, session_id: str, page: Language | None, refresh: bool = False
    ) -> Language:
        """The conversation's language for a socket: read once, then again only after a handled message, so
        a flood of refused messages costs no tracker reads."""
        if refresh or sid not in self._languages:
            self._languages[sid] = await self.conversation_language(session_id, page)
        return self._languages[sid]

    def get_output_channel(self) -> SocketIOOutput | None:
        if self.sio is None:
            return None
        return ShopDeskSocketIOOutput(self.sio, self.bot_message_evt)

    def _allow_rate(self, session_id: str, client: str) -> bool:
        """Counts one message against the session's and the client address's budgets."""
        if self._budgets is None:  # built on first use: from_credentials sets the limits after __init__
            self._budgets = MessageBudgets(self.rate_limit, self.client_rate_limit, self.rate_window_s)
        return self._budgets.allow(session_id, client)

    def client_of(self, environ: dict[str, Any]) -> str:
        """``shopdesk_client`` for a connection: the proxy's signed client id, else the peer's address."""
        forwarded = verified_client(self.secret, environ.get("HTTP_X_SHOPDESK_CLIENT"))
        if forwarded is not None:
            return forwarded
        request = environ.get("sanic.request")
        address = getattr(request, "ip", None) or environ.get("REMOTE_ADDR") or "?"
        return client_id(self.secret, str(address))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=[],
            max_http_buffer_size=self.max_frame_bytes,
            client_manager=socketio_manager(self.manager_url),
        )
        socketio_webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        namespace = self.namespace

        async def notice(sid: str, session_id: str, page: Language | None, key: str, **values: Any) -> None:
            language = await self._socket_language(sid, session_id, page)
            text = shopper_text(language, key, **values)
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
            self._clients[sid] = self.client_of(environ)
            app = getattr(environ.get("sanic.request"), "app", None)
            if self._app is None and app is not None:
                self._app = app
            return True

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: str) -> None:
            self._clients.pop(sid, None)
            self._sessions.pop(sid, None)
            self._languages.pop(sid, None)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any = None) -> None:
            if not isinstance(data, dict):
                data = {}
            session_id = data.get("session_id")
            if not valid_session_id(self.secret, session_id):
                session_id = new_session_id(self.secret)  # a client-chosen or forged id joins nothing
            previous = self._sessions.get(sid)
            if previous is not None and previous != session_id:
                left = sio.leave_room(sid, previous, namespace=namespace)
                if inspect.isawaitable(left):
                    await left
            self._sessions[sid] = session_id
            self._languages.pop(sid, None)  # read again for this session
            if self.session_persistence:
                entered = sio.enter_room(sid, session_id, namespace=namespace)
                if inspect.isawaitable(entered):  # python-socketio >= 5.10: the lost-replies fix
                    await entered
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any = None) -> None:
            if not isinstance(data, dict) or not isinstance(data.get("message", ""), str):
                logger.info("dropping a malformed frame from %s", sid)
                return
            sender_id = self._sessions.get(sid)
            if sender_id is None:  # no session_request yet: the socket has no conversation
                logger.info("dropping a message from %s before its session was confirmed", sid)
                return
            if data.get("session_id") not in (None, sender_id):
                logger.debug("ignoring the session_id in a frame from %s (not its confirmed session)", sid)
            client = self._clients.get(sid) or "?"
            text = valid_unicode(data.get("message", ""))  # lone surrogates would crash the stores downstream
            raw_metadata = data.get(self.metadata_key)
            metadata = clean_metadata(raw_metadata, client)
            relay = raw_metadata.get(RELAY_KEY) if isinstance(raw_metadata, dict) else None
            if relay is not None and valid_relay_id(self.secret, sender_id, data.get("message", ""), relay):
                metadata[RELAY_KEY] = relay  # the proxy's edge feed showed this line; the tracker confirms it
            page = normalize_language(metadata.get(PAGE_LANGUAGE_KEY))
            if len(text) > self.max_message_chars:
                await notice(sid, sender_id, page, "too_long", size=len(text), limit=self.max_message_chars)
                return
            if not self._allow_rate(sender_id, client):
                await notice(sid, sender_id, page, "too_fast")
                return
            problem = command_problem(text, SHOPPER_INTENTS, SHOPPER_ENTITIES)
            if problem is not None:
                await notice(sid, sender_id, page, "not_allowed", problem=problem)
                return
            output = ShopDeskSocketIOOutput(sio, self.bot_message_evt)
            message = UserMessage(text, output, sender_id, input_channel=self.name(), metadata=metadata)
            await on_new_message(message)
            language = await self._socket_language(sid, sender_id, page, refresh=True)
            await sio.emit(LANGUAGE_EVENT, {"language": language}, room=sender_id, namespace=namespace)

        return socketio_webhook
