"""bot.console_frames: a console's JSON frames reach the handler registered for their type; the rest are refused
with an error that names what was wrong."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web

from bot.console_frames import FrameError, dispatch, register
from bot.settings import Agent

AGENT = Agent(email="a@shop.test", name="Ann Agent", password_hash="x")


def _request() -> tuple[Any, list[dict[str, Any]]]:
    app = web.Application()
    seen: list[dict[str, Any]] = []

    async def typing(request: web.Request, agent: Agent, frame: dict[str, Any]) -> None:
        if "handoff_id" not in frame:
            raise FrameError("typing needs a handoff_id")
        seen.append({"agent": agent.email, **frame})

    register(app, "typing", typing)
    return SimpleNamespace(app=app), seen


def test_a_registered_frame_reaches_its_handler() -> None:
    request, seen = _request()
    assert asyncio.run(dispatch(request, AGENT, '{"type": "typing", "handoff_id": "H-1"}')) is None
    assert seen == [{"agent": "a@shop.test", "type": "typing", "handoff_id": "H-1"}]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ("{not json", "not JSON: '{not json'"),
        ("[1, 2]", 'a frame must be an object {"type": ...}'),
        ('{"type": 5}', 'a frame must be an object {"type": ...}'),
        ('{"type": "shout"}', "unknown frame type 'shout'"),
        ('{"type": "typing"}', "typing needs a handoff_id"),
    ],
)
def test_a_frame_it_cannot_take_is_answered_with_the_reason(data: str, error: str) -> None:
    request, seen = _request()
    assert asyncio.run(dispatch(request, AGENT, data)) == {"type": "error", "error": error}
    assert seen == []


def test_a_frame_type_is_handled_once() -> None:
    request, _ = _request()
    with pytest.raises(ValueError, match="'typing' is already handled"):
        register(request.app, "typing", lambda *_: asyncio.sleep(0))
