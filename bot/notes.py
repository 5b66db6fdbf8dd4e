"""Internal notes on a conversation: for agents only, never sent to Rasa or the shopper.

``GET  /api/console/conversations/{id}/notes`` → ``{"notes": [...]}`` (oldest first, system notes included)
``POST /api/console/conversations/{id}/notes`` ``{"text": "..."}`` → 201 the note; pushed to every console as
``{"type": "note", "handoff_id", "note"}``. Any agent may add one, in any state (closed included: the notes stay
with the handoff). Text is 1-``MAX_NOTE_CHARS`` characters after trimming; the console shows it as text.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.auth import agent_of, require_agent
from bot.keys import HUB, STORE
from bot.team_store import TEAM_STORE
from bot.validate import bad_request, json_object, text_field

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()
MAX_NOTE_CHARS = 2000


@routes.get("/api/console/conversations/{handoff_id}/notes")
@require_agent
async def list_notes(request: web.Request) -> web.Response:
    handoff = request.app[STORE].get(request.match_info["handoff_id"])  # 404 naming an unknown id
    return web.json_response({"notes": request.app[TEAM_STORE].notes(handoff["id"])})


@routes.post("/api/console/conversations/{handoff_id}/notes")
@require_agent
async def add_note(request: web.Request) -> web.Response:
    handoff = request.app[STORE].get(request.match_info["handoff_id"])
    body = await json_object(request)
    errors: dict[str, str] = {}
    text = text_field(body, "text", errors, max_len=MAX_NOTE_CHARS)
    if errors:
        raise bad_request(errors)
    agent = agent_of(request).agent
    note = request.app[TEAM_STORE].add_note(handoff["id"], "note", text, agent.email, agent.name)
    logger.info("note %s added to %s", note["id"], handoff["id"])
    await request.app[HUB].publish({"type": "note", "handoff_id": handoff["id"], "note": note})
    return web.json_response(note, status=201)
