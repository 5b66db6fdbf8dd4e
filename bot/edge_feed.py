"""The console's edge feed: a handed-off shopper's line reaches the agents as the proxy relays it (issue 15).

``bot.proxy`` relays the widget's socket.io websocket to Rasa frame by frame; for each browser socket it runs
an ``EdgeTap``. Upstream frames teach the tap the socket's conversation: the channel's ``session_confirm``
(a session id this service's secret signed: the Rasa sender id, exactly what ``bot.rasa_channel`` maps the
socket to). A browser frame that is a socket.io ``user_uttered`` event — engine.io ``4`` + socket.io ``2``,
default namespace, an optional ack id, a JSON array ``["user_uttered", {"message": str, ...}]`` — of a
confirmed conversation is checked the way the channel will check it, in the channel's order (too long; the
client's and the session's rate budgets, mirrored with the same limits; a command payload shoppers may not
send). A line the channel will accept, whose conversation has a queued or active handoff, gets a relay id
(``bot.widget_session.new_relay_id``: signed, bound to the session and the text) stamped into its
``metadata.shopdesk_relay``; the frame goes on to Rasa, then the line is stored under the key
``relay:<id>`` with ``meta.unconfirmed`` — its text redacted as the tracker store redacts it — and published
to the consoles at once. When Rasa's tracker event of the same message arrives (broker feed or poll,
``bot.sync``), its relay id gives the same key: the line is not stored twice, it takes the tracker's text,
``unconfirmed`` is dropped and ``{"type": "confirmed"}`` tells the consoles.

Every other frame — not an event, another namespace, binary, not JSON, over ``MAX_FRAME`` once stamped,
without a handoff — goes on exactly as it came. The tap never raises into the proxy: a failure after the
frame was sent is logged, and the broker/poll still bring the line. docs/handoff.md ("Edge feed").
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.keys import HUB, SETTINGS, STORE
from bot.ratelimit import MessageBudgets
from bot.sync import RELAY_PREFIX
from bot.widget_session import RELAY_KEY, new_relay_id, valid_session_id
from rasa_addons.checks import valid_unicode
from rasa_addons.payloads import SHOPPER_ENTITIES, SHOPPER_INTENTS, command_problem
from rasa_addons.redact import redact_text

logger = logging.getLogger(__name__)

# The channel's limits (bot/rasa_channel.py defaults; credentials.yml sets none of them: a test checks)
MAX_MESSAGE_CHARS = 2000
RATE_LIMIT, RATE_WINDOW_S = 10, 10.0
CLIENT_RATE_LIMIT = 3 * RATE_LIMIT
USER_EVENT = "user_uttered"
CONFIRM_EVENT = "session_confirm"
CONFIRM_PREFIX = '42["session_confirm",'  # how python-socketio sends it on the default namespace
# engine.io message "4", socket.io EVENT "2", then an optional "/namespace," and ack id, then the JSON array
_EVENT_FRAME = re.compile(r"42(?:(/[^,\[]*),)?(\d*)(\[.*)\Z", re.DOTALL)

Send = Callable[[str], Awaitable[None]]


def parse_event(data: str) -> tuple[str, list[Any]] | None:
    """(prefix, JSON array) of a socket.io EVENT frame on the default namespace; None for anything else."""
    match = _EVENT_FRAME.match(data)
    if match is None or match.group(1) not in (None, "/"):
        return None
    try:
        payload = json.loads(match.group(3))
    except ValueError:
        return None
    if not isinstance(payload, list) or not payload or not isinstance(payload[0], str):
        return None
    return data[: match.start(3)], payload


class EdgeLimits(MessageBudgets):
    """The channel's session and client rate budgets, mirrored (one per service, shared by all sockets)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(RATE_LIMIT, CLIENT_RATE_LIMIT, RATE_WINDOW_S, clock)


EDGE_LIMITS = web.AppKey("edge_limits", EdgeLimits)


def refusal(text: str, session_id: str, client: str, limits: EdgeLimits) -> str | None:
    """Why the channel will refuse this message (None: it will pass it on), counting it against the budgets."""
    text = valid_unicode(text)  # what the channel checks
    if len(text) > MAX_MESSAGE_CHARS:
        return "too long"
    if not limits.allow(session_id, client):
        return "too fast"
    if command_problem(text, SHOPPER_INTENTS, SHOPPER_ENTITIES) is not None:
        return "command"
    return None


class EdgeTap:
    """One proxied browser socket: learns its conversation from Rasa, shows its handed-off lines at once."""

    def __init__(self, app: web.Application, client: str, max_frame: int) -> None:
        self.app = app
        self.client = client
        self.max_frame = max_frame
        self.session_id: str | None = None

    def from_rasa(self, data: str) -> None:
        """An upstream frame: remembers the session the channel confirmed for this socket."""
        if not data.startswith(CONFIRM_PREFIX):  # the bot's replies are not parsed (product cards are big)
            return
        event = parse_event(data)
        if event is None or event[1][0] != CONFIRM_EVENT or len(event[1]) < 2:
            return
        session_id = event[1][1]
        if valid_session_id(self.app[SETTINGS].widget_session_secret, session_id):
            self.session_id = session_id

    async def from_browser(self, data: str, send: Send) -> None:
        """Sends a browser frame upstream (stamped when the edge feed shows it), then shows the line."""
        try:
            shown = self._stamp(data)
        except Exception:  # never let the tap break the relay: the frame goes on as it came
            logger.exception("edge feed: could not inspect a frame")
            shown = None
        if shown is None:
            await send(data)
            return
        stamped, handoff_id, text, relay = shown
        await send(stamped)
        try:
            await self._show(handoff_id, text, relay)
        except Exception:  # the store or a console failed: the broker / poll bring the line anyway
            logger.exception("edge feed: could not show a line of %s", handoff_id)

    def _stamp(self, data: str) -> tuple[str, str, str, str] | None:
        """(stamped frame, handoff id, text, relay id) when the edge feed shows this frame's line, else None."""
        if self.session_id is None or not data.startswith("42"):
            return None
        event = parse_event(data)
        if event is None or event[1][0] != USER_EVENT or len(event[1]) < 2:
            return None
        prefix, (name, body, *rest) = event
        if not isinstance(body, dict) or not isinstance(body.get("message", ""), str):
            return None  # the channel drops it as malformed
        text = body.get("message", "")
        if refusal(text, self.session_id, self.client, self.app[EDGE_LIMITS]) is not None:
            return None
        if not valid_unicode(text).strip():
            return None
        handoff = self.app[STORE].open_handoff_for(self.session_id)
        if handoff is None:
            return None
        relay = new_relay_id(self.app[SETTINGS].widget_session_secret, self.session_id, text)
        metadata = body.get("metadata")
        if isinstance(metadata, str):  # the channel reads a JSON string too
            try:
                metadata = json.loads(metadata)
            except ValueError:
                metadata = None
        metadata = {**metadata} if isinstance(metadata, dict) else {}
        metadata[RELAY_KEY] = relay
        stamped = prefix + json.dumps([name, {**body, "metadata": metadata}, *rest])
        if len(stamped.encode("utf-8", "surrogatepass")) > self.max_frame:
            return None
        # redacted as the tracker store and the broker redact it (REDACT_TRACKER): the edge shows no more
        return stamped, handoff["id"], redact_text(valid_unicode(text)), relay

    async def _show(self, handoff_id: str, text: str, relay: str) -> None:
        store = self.app[STORE]
        key = RELAY_PREFIX + relay
        message = store.add_message(handoff_id, "shopper", text, time.time(), key, {"unconfirmed": True})
        if message is not None:
            await self.app[HUB].publish({"type": "message", "handoff_id": handoff_id, "message": message})
