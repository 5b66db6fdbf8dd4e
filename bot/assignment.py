"""Who has a conversation: the claim path (manual and automatic), transfers, returns to the queue.

- ``claim_for`` is THE claim: the console's claim button (``POST …/claim``) and auto-assignment both go
  through it — ``HandoffStore.claim`` (one guarded UPDATE: one winner, the loser gets 409 naming the winner),
  then the "… has joined the chat" notice to the shopper and a queue push to every console.
- ``transfer`` (owner only) to another online agent, or back to the queue, with a reason: a guarded UPDATE
  (``bot.team_store``), a system note, a notice to the shopper in their language, a push to the new agent.
- ``requeue`` returns an active conversation to the queue (transfer to the queue, or its agent went offline).
- ``assign_waiting`` (``AUTO_ASSIGN``): the head of the waiting queue, in the console's order
  (``HandoffStore.queued_by_priority``), to the least busy online agent (``pick_agent``).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass

from aiohttp import web

from bot.auth import agent_of, enabled_agents, find_agent, require_agent
from bot.errors import HandoffStateError
from bot.keys import HUB, RASA, SETTINGS, STORE
from bot.messages import text as shopper_text
from bot.settings import Agent
from bot.team_store import TEAM_STORE, Note
from bot.types import Handoff
from bot.validate import bad_request, json_object, text_field

logger = logging.getLogger(__name__)

MAX_REASON_CHARS = 200
TO_QUEUE = "queue"
routes = web.RouteTableDef()


def first_name(name: str) -> str:
    return name.split()[0] if name else "An agent"


async def send_notice(
    app: web.Application, handoff: Handoff, text: str, event: str, agent_name: str = ""
) -> bool:
    """A notice to the shopper's widget (a bot event with our metadata, as the console's own notices), stored
    in the transcript and pushed to the consoles; False when Rasa could not be reached (nothing stored)."""
    msg_id = uuid.uuid4().hex
    metadata = {"shopdesk_role": "notice", "shopdesk_msg_id": msg_id, "shopdesk_event": event}
    if agent_name:
        metadata["agent_name"] = agent_name
    try:
        await app[RASA].append_events(
            handoff["conversation_id"], [{"event": "bot", "text": text, "metadata": metadata}]
        )
    except Exception:
        logger.warning("could not deliver the notice to %s", handoff["id"], exc_info=True)
        return False
    meta: dict[str, object] = {"agent_name": agent_name} if agent_name else {}
    message = app[STORE].add_message(handoff["id"], "notice", text, time.time(), msg_id, meta)
    if message is not None:
        await app[HUB].publish({"type": "message", "handoff_id": handoff["id"], "message": message})
    return True


async def system_note(app: web.Application, handoff_id: str, text: str) -> Note:
    note = app[TEAM_STORE].add_note(handoff_id, "system", text, None, None)
    await app[HUB].publish({"type": "note", "handoff_id": handoff_id, "note": note})
    return note


async def claim_for(app: web.Application, handoff_id: str, agent: Agent) -> tuple[Handoff, bool]:
    """Claims a waiting conversation for ``agent``; HandoffStateError (409) when someone else has it."""
    handoff = app[STORE].claim(handoff_id, agent.email, agent.name)
    logger.info("%s claimed", handoff["id"])
    team = app[TEAM_STORE]
    state = team.state(agent.email)
    if state is None or state["status"] == "offline":  # taking a conversation is working: online again
        team.set_status(agent.email, "online", "claim")
        await app[HUB].publish({"type": "agents", "agent": agent.email, "status": "online"})
    team.assigned(agent.email)
    name = first_name(agent.name)
    notice = shopper_text(handoff["language"], "agent_joined", name=name)
    delivered = await send_notice(app, handoff, notice, "joined", name)
    await app[HUB].publish({"type": "queue"})
    return handoff, delivered


async def requeue(app: web.Application, handoff_id: str, agent: Agent, why: str) -> bool:
    """Returns ``agent``'s active conversation to the queue (system note ``why``, the shopper told); False when
    it was no longer theirs."""
    if not app[TEAM_STORE].requeue(handoff_id, agent.email):
        return False
    handoff = app[STORE].get(handoff_id)
    logger.info("%s returned to the queue", handoff_id)
    await system_note(app, handoff_id, why)
    await send_notice(app, handoff, shopper_text(handoff["language"], "back_in_queue"), "queued")
    await app[HUB].publish({"type": "queue"})
    return True


def _agent(app: web.Application, email: str) -> Agent | None:
    return find_agent(app, email)


async def transfer(app: web.Application, handoff_id: str, owner: Agent, to: str, reason: str) -> Handoff:
    """Moves ``owner``'s conversation to agent ``to`` (an email) or back to the queue (``to == "queue"``).
    ``reason`` is already validated (1-200 characters); the target is checked here."""
    store, team = app[STORE], app[TEAM_STORE]
    handoff = store.require_owner(handoff_id, owner.email)  # 404 unknown, 409 not active / not yours
    if to == TO_QUEUE:
        if not await requeue(app, handoff_id, owner, f"returned to the queue by {owner.name}: {reason}"):
            store.require_owner(handoff_id, owner.email)  # lost a race: raises the precise error
        return store.get(handoff_id)
    target = _agent(app, to)
    if target is None:
        raise bad_request({"to": f"unknown agent {to[:80]!r}: an agent's email, or {TO_QUEUE!r}"})
    if target.email == owner.email:
        raise bad_request({"to": "this conversation is already yours"})
    state = team.state(target.email)
    status = state["status"] if state else "offline"
    if status != "online":
        raise web.HTTPConflict(
            text=json.dumps(
                {"error": f"{target.email} is {status}", "agent": target.email, "status": status}
            ),
            content_type="application/json",
        )
    if not team.transfer(handoff_id, owner.email, target.email, target.name):
        store.require_owner(handoff_id, owner.email)  # lost a race: raises the precise error
    team.assigned(target.email)
    logger.info("%s transferred", handoff_id)
    await system_note(app, handoff_id, f"transferred from {owner.name} to {target.name}: {reason}")
    name = first_name(target.name)
    notice = shopper_text(handoff["language"], "transferred_to_agent", name=name)
    await send_notice(app, handoff, notice, "joined", name)
    event = {"type": "transfer", "handoff_id": handoff_id, "from": owner.name, "reason": reason}
    await app[HUB].publish(event, to={target.email})
    await app[HUB].publish({"type": "queue"})
    return store.get(handoff_id)


@routes.post("/api/console/conversations/{handoff_id}/transfer")
@require_agent
async def transfer_route(request: web.Request) -> web.Response:
    """``{"to": "<agent email>" | "queue", "reason": "..."}`` (owner only)."""
    body = await json_object(request)
    errors: dict[str, str] = {}
    to = text_field(body, "to", errors, max_len=320).lower()
    reason = text_field(body, "reason", errors, max_len=MAX_REASON_CHARS)
    owner = agent_of(request).agent
    request.app[STORE].require_owner(request.match_info["handoff_id"], owner.email)  # 404 / 409 first
    if errors:
        raise bad_request(errors)
    handoff = await transfer(request.app, request.match_info["handoff_id"], owner, to, reason)
    return web.json_response({"handoff": handoff})


# --- auto-assignment ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    email: str
    load: int  # active conversations
    idle_since: float  # when they last got a conversation (never: when they came online)


def pick_agent(candidates: list[Candidate], max_chats: int) -> str | None:
    """The least busy agent below ``max_chats``; ties: the one idle longest, then by email."""
    eligible = [c for c in candidates if c.load < max_chats]
    if not eligible:
        return None
    return min(eligible, key=lambda c: (c.load, c.idle_since, c.email)).email


def candidates(app: web.Application) -> list[Candidate]:
    """Every configured agent whose status is online, with their load."""
    team = app[TEAM_STORE]
    loads, states = team.loads(), team.states()
    found = []
    for agent in enabled_agents(app):
        state = states.get(agent.email)
        if state is None or state["status"] != "online":
            continue
        idle = state["last_assigned_at"] if state["last_assigned_at"] is not None else state["since"]
        found.append(Candidate(agent.email, loads.get(agent.email, 0), idle))
    return found


async def assign_waiting(app: web.Application) -> list[tuple[str, str]]:
    """Gives waiting conversations, in queue order, to the least busy online agents (never above
    ``AGENT_MAX_CHATS``) through ``claim_for``; returns (handoff id, agent email) per assignment. The team
    loop (``bot.team``) calls it when ``AUTO_ASSIGN`` is on."""
    settings = app[SETTINGS]
    done = []
    for handoff, _ in app[STORE].queued_by_priority():
        email = pick_agent(candidates(app), settings.agent_max_chats)
        if email is None:
            break
        agent = _agent(app, email)
        if agent is None:  # pragma: no cover - candidates() lists configured agents only
            break
        try:
            await claim_for(app, handoff["id"], agent)
        except HandoffStateError:  # claimed by hand (or timed out) meanwhile: the next one
            continue
        logger.info("%s auto-assigned", handoff["id"])
        done.append((handoff["id"], email))
    return done
