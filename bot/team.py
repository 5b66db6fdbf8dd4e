"""The team slice wired into the service (issue 17, docs/console/team.md): notes, transfer, agent status,
auto-assignment. ``setup(app)`` adds the routes, the ``TeamStore`` (its own connection and tables in
``HANDOFF_DB_PATH``) and one background loop.

The loop runs a round — agents without a console for the grace go offline (``bot.agent_status``), then, with
``AUTO_ASSIGN``, waiting conversations go to online agents (``bot.assignment``) — whenever the queue, an
agent's status or a console connection changes (it watches the hub's ``queue`` / ``presence`` / ``agents``
events) and every ``TICK_S`` as a safety net. Rounds never overlap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from bot import agent_status, assignment, notes
from bot.keys import HUB, SETTINGS, STORE
from bot.team_store import TEAM_STORE, TeamStore

logger = logging.getLogger(__name__)

TICK_S = 1.0
WAKE_ON = ("queue", "presence", "agents")


class TeamLoop:
    def __init__(self, app: web.Application, tick_s: float = TICK_S) -> None:
        self.app = app
        self.tick_s = tick_s
        self.wake = asyncio.Event()

    def observe(self, event: dict[str, Any]) -> None:
        if event.get("type") in WAKE_ON:
            self.wake.set()

    async def round(self) -> None:
        await agent_status.check_presence(self.app)
        if self.app[SETTINGS].auto_assign:
            await assignment.assign_waiting(self.app)

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.tick_s)
            self.wake.clear()
            try:
                await self.round()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep going whatever one round did
                logger.exception("team round failed")


TEAM_LOOP = web.AppKey("team_loop", TeamLoop)


def setup(app: web.Application) -> None:
    app.add_routes(notes.routes)
    app.add_routes(assignment.routes)
    app.add_routes(agent_status.routes)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        store = app[STORE]
        app[TEAM_STORE] = TeamStore(app[SETTINGS].db_path, clock=lambda: store.clock())
        loop = app[TEAM_LOOP] = TeamLoop(app)
        app[HUB].observe(loop.observe)
        task = asyncio.create_task(loop.run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        app[TEAM_STORE].shutdown()

    app.cleanup_ctx.append(resources)
