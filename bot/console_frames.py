"""What an agent's console may send over ``/api/console/ws`` besides ``ping``: JSON frames ``{"type": ...}``.

Feature modules register one handler per frame type on the app (``register``); the socket answers a frame it
cannot take — not JSON, not an object, an unknown type, a handler's ``FrameError`` — with
``{"type": "error", "error": "<what was wrong>"}`` to that socket only, and keeps the socket open.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.settings import Agent

FrameHandler = Callable[[web.Request, Agent, dict[str, Any]], Awaitable[None]]
CONSOLE_FRAMES = web.AppKey("console_frames", dict[str, FrameHandler])


class FrameError(ValueError):
    """A frame the handler refuses; its message goes back to the sending console."""


def register(app: web.Application, frame_type: str, handler: FrameHandler) -> None:
    handlers = app.setdefault(CONSOLE_FRAMES, {})
    if frame_type in handlers or frame_type in ("ping", "error"):
        raise ValueError(f"console frame type {frame_type!r} is already handled")
    handlers[frame_type] = handler


async def dispatch(request: web.Request, agent: Agent, data: str) -> dict[str, str] | None:
    """Runs the frame's handler; returns the error frame to send back, or None."""
    try:
        frame = json.loads(data)
    except ValueError:
        return {"type": "error", "error": f"not JSON: {data[:40]!r}"}
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        return {"type": "error", "error": 'a frame must be an object {"type": ...}'}
    handler = request.app.get(CONSOLE_FRAMES, {}).get(frame["type"])
    if handler is None:
        return {"type": "error", "error": f"unknown frame type {frame['type'][:40]!r}"}
    try:
        await handler(request, agent, frame)
    except FrameError as error:
        return {"type": "error", "error": str(error)}
    return None
