"""Agent status: online / away / offline, stored per agent (``bot.team_store``) and shown to every agent.

- Logging in makes an agent online, logging out offline; in the console the agent picks any of the three
  (``POST /api/console/status``); ``GET /api/console/agents`` lists every agent with status and load.
- An agent with no console socket open and no console request for ``AGENT_OFFLINE_GRACE_S`` goes offline
  (cause ``disconnected``); when a console of theirs connects again they are online again (only when it was
  the disconnection, not their own choice or a logout, that made them offline).
- Going offline (any of the three ways) returns each of their active conversations to the queue
  (``bot.assignment.requeue``: a system note with the reason, the shopper told); away keeps them.
- The handoff API's "is anyone there" (``bot.handoff_api.online_agents``) leaves out offline agents: online
  and away agents staff the shop, only online ones get transfers and auto-assignments.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.assignment import requeue
from bot.auth import agent_of, enabled_agents, require_agent
from bot.keys import HUB, SETTINGS, STORE
from bot.settings import Agent
from bot.team_store import STATUSES, TEAM_STORE, Status
from bot.validate import bad_request, json_object

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()
# why an agent went offline, as the system note on each conversation returned to the queue says it
OFFLINE_WHY = {
    "agent": "went offline",
    "logout": "logged out",
    "disconnected": "lost the connection (no console for {grace:.0f} s)",
    "disabled": "was disabled by an admin",
}


def offline_agents(app: web.Application) -> set[str]:
    """Agents whose status is offline (the handoff API does not count them as staffing the shop)."""
    return app[TEAM_STORE].with_status("offline")


async def set_status(app: web.Application, agent: Agent, status: Status, cause: str) -> list[str]:
    """Records ``agent``'s status; going offline returns their active conversations to the queue (their ids)."""
    team = app[TEAM_STORE]
    previous = team.set_status(agent.email, status, cause)
    requeued = []
    if status == "offline":
        why = OFFLINE_WHY.get(cause, "went offline").format(grace=app[SETTINGS].agent_offline_grace_s)
        for handoff_id in team.active_of(agent.email):
            if await requeue(app, handoff_id, agent, f"returned to the queue: {agent.name} {why}"):
                requeued.append(handoff_id)
    if previous != status:
        logger.info("an agent is now %s (%s)", status, cause)
        await app[HUB].publish({"type": "agents", "agent": agent.email, "status": status})
    return requeued


async def signed_in(app: web.Application, agent: Agent) -> None:
    await set_status(app, agent, "online", "login")


async def signed_out(app: web.Application, agent: Agent) -> None:
    await set_status(app, agent, "offline", "logout")


async def check_presence(app: web.Application) -> None:
    """Online / away agents without a console for the grace go offline; an agent the disconnection made
    offline is online again once a console of theirs is connected."""
    store, team, settings = app[STORE], app[TEAM_STORE], app[SETTINGS]
    sockets = app[HUB].online_agents()
    present = sockets | store.agents_seen_since(store.clock() - settings.agent_offline_grace_s)
    states = team.states()
    for agent in enabled_agents(app):
        state = states.get(agent.email)
        if state is None:  # logged in before statuses existed: online once a console of theirs connects
            if agent.email in sockets:
                await set_status(app, agent, "online", "reconnected")
            continue
        if state["status"] != "offline" and agent.email not in present:
            await set_status(app, agent, "offline", "disconnected")
        elif state["status"] == "offline" and state["cause"] == "disconnected" and agent.email in sockets:
            await set_status(app, agent, "online", "reconnected")


@routes.get("/api/console/agents")
@require_agent
async def agents(request: web.Request) -> web.Response:
    """Every agent with their status, since when, and how many conversations they have."""
    team = request.app[TEAM_STORE]
    states, loads = team.states(), team.loads()
    listed = []
    for agent in enabled_agents(request.app):
        state = states.get(agent.email)
        listed.append(
            {
                "email": agent.email,
                "name": agent.name,
                "status": state["status"] if state else "offline",
                "since": state["since"] if state else None,
                "active": loads.get(agent.email, 0),
            }
        )
    return web.json_response({"agents": listed, "me": agent_of(request).agent.email})


@routes.post("/api/console/status")
@require_agent
async def choose_status(request: web.Request) -> web.Response:
    """``{"status": "online" | "away" | "offline"}``: the agent's own status."""
    body = await json_object(request)
    status = body.get("status")
    if status not in STATUSES:
        raise bad_request({"status": f"{str(status)[:40]!r} is not one of {', '.join(STATUSES)}"})
    requeued = await set_status(request.app, agent_of(request).agent, status, "agent")
    return web.json_response({"status": status, "requeued": requeued})
