"""Typing indicators both ways during a handoff (docs/console/typing.md): ``setup(app)`` wires the feature.

- the shopper's widget talks over ``/widget/ws`` (``bot.typing_widget``): its typing reaches the agents;
- an agent's console sends ``{"type": "typing", "handoff_id", "typing"}`` over the console socket
  (``bot.console_frames``): the agent must own that active handoff, else the console gets an error frame naming
  why; the service sends ``{"type": "typing", "typing", "name": <first name>}`` to that conversation's widgets.

Nothing is stored. Both sides' indicators expire by themselves in the browser (bot/static/widget_typing.js,
bot/static/console_typing.js) when no refresh comes, and go when a message from that side arrives.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from bot import console_frames, typing_widget
from bot.console_frames import FrameError
from bot.errors import HandoffNotFoundError, HandoffStateError
from bot.keys import STORE
from bot.ratelimit import RateLimiter
from bot.settings import Agent
from bot.typing_frames import AGENT_FRAMES, handoff_id_of, to_widget, typing_flag
from bot.typing_widget import WIDGET_SOCKETS, WidgetSockets

logger = logging.getLogger(__name__)

AGENT_TYPING_LIMITER = web.AppKey("agent_typing_limiter", RateLimiter)


def setup(app: web.Application) -> None:
    app[WIDGET_SOCKETS] = WidgetSockets()
    app[AGENT_TYPING_LIMITER] = RateLimiter(*AGENT_FRAMES)
    app.add_routes(typing_widget.routes)
    console_frames.register(app, "typing", agent_typing)
    app.on_shutdown.append(_close_widget_sockets)


async def _close_widget_sockets(app: web.Application) -> None:
    await app[WIDGET_SOCKETS].close_all()


async def agent_typing(request: web.Request, agent: Agent, frame: dict[str, Any]) -> None:
    """An agent typing into a conversation they own: its widget sockets are told (with the agent's first name)."""
    handoff_id = handoff_id_of(frame)
    typing = typing_flag(frame)
    if not request.app[AGENT_TYPING_LIMITER].allow(agent.email):
        limit, window_s = AGENT_FRAMES
        raise FrameError(f"too many typing frames (at most {limit} per {window_s:g} s)")
    try:
        handoff = request.app[STORE].require_owner(handoff_id, agent.email)
    except (HandoffNotFoundError, HandoffStateError) as error:
        raise FrameError(f"typing not sent: {error}") from None
    reached = await request.app[WIDGET_SOCKETS].send(
        handoff["conversation_id"], to_widget(typing, agent.name)
    )
    logger.debug("agent typing=%s in %s reached %d widget socket(s)", typing, handoff_id, reached)
