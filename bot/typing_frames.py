"""Typing-indicator frames (docs/console/typing.md): what a widget or a console may send, what the service sends.

The service builds every frame it forwards itself, from the one boolean it read (and, towards the shopper, the
agent's first name): whatever else a client puts in a frame (a ``text`` field, a draft) never travels.

Widget → service over ``/widget/ws``: ``{"type": "hello", "session_id": "<signed id>"}`` first, then
``{"type": "typing", "typing": true|false}`` (and the text frame ``ping``). Service → widget:
``{"type": "ready"}``, ``{"type": "typing", "typing": bool, "name": "<agent first name>"}``, ``{"type": "pong"}``,
``{"type": "error", "error": "<what was wrong>"}``.
Console → service over ``/api/console/ws``: ``{"type": "typing", "handoff_id": "H-…", "typing": true|false}``;
service → console: ``{"type": "typing", "handoff_id": "H-…", "typing": bool}``.
"""

from __future__ import annotations

import json
from typing import Any, Literal, TypedDict

from bot.console_frames import FrameError

MAX_WIDGET_FRAME = 512  # bytes: a hello with its 64-character session id is about 100
WIDGET_FRAMES = (20, 10.0)  # per widget socket: more frames than this in the window close it (1008)
MAX_SOCKETS_PER_SESSION = 4  # widget sockets of one conversation (tabs); the next one is refused
HELLO_TIMEOUT_S = 10.0  # a widget socket that has not said hello by then is closed
AGENT_FRAMES = (30, 10.0)  # typing frames per agent (all consoles together) before they are refused
MAX_HANDOFF_ID = 64

# Close codes of the widget socket besides 1008 (policy: flooding) and 1009 (frame too big).
CLOSE_BAD_HELLO = 4400  # the first frame was not a hello with a well-formed session id
CLOSE_FORGED = 4403  # a session id our servers did not sign
CLOSE_TOO_MANY = 4429  # too many widget sockets for this conversation


class WidgetTypingFrame(TypedDict):
    type: Literal["typing"]
    typing: bool
    name: str


class ConsoleTypingFrame(TypedDict):
    type: Literal["typing"]
    handoff_id: str
    typing: bool


def parse_json_object(data: str) -> dict[str, Any]:
    """The frame as an object with a string ``type``; FrameError naming what was wrong otherwise."""
    try:
        frame = json.loads(data)
    except ValueError:
        raise FrameError(f"not JSON: {data[:40]!r}") from None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise FrameError('a frame must be an object {"type": ...}')
    return frame


def typing_flag(frame: dict[str, Any]) -> bool:
    value = frame.get("typing")
    if not isinstance(value, bool):
        raise FrameError(f"typing must be true or false, not {json.dumps(value)[:40]}")
    return value


def handoff_id_of(frame: dict[str, Any]) -> str:
    value = frame.get("handoff_id")
    if not isinstance(value, str) or not value or len(value) > MAX_HANDOFF_ID:
        raise FrameError(f"handoff_id must be a handoff id like H-…, not {json.dumps(value)[:40]}")
    return value


def first_name(name: str | None) -> str:
    """What the shopper sees of the agent: the first word of the name (as the "joined" notice)."""
    return name.split()[0] if name and name.split() else "An agent"


def to_widget(typing: bool, agent_name: str | None) -> WidgetTypingFrame:
    return {"type": "typing", "typing": typing, "name": first_name(agent_name)}


def to_console(handoff_id: str, typing: bool) -> ConsoleTypingFrame:
    return {"type": "typing", "handoff_id": handoff_id, "typing": typing}
